import type { Gauge } from 'prom-client';

interface Box {
  /** Settles when the last task queued so far has finished. */
  tail: Promise<void>;
  /** Tasks queued or running. */
  depth: number;
}

interface ShardWork {
  pending: number;
  idle: (() => void)[];
}

/**
 * One mailbox per runtime: tasks for the same key run strictly one at a time,
 * in arrival order; tasks for different keys run concurrently. Also counts the
 * work queued per shard so a drain can wait for it.
 */
export class Mailboxes {
  private readonly boxes = new Map<string, Box>();
  private readonly shards = new Map<number, ShardWork>();

  constructor(private readonly depthGauge?: Gauge) {}

  /** Runs `task` after every task queued before it for `key`; its result (or rejection) is passed through. */
  run<T>(key: string, shard: number, task: () => Promise<T>): Promise<T> {
    let box = this.boxes.get(key);
    if (!box) {
      box = { tail: Promise.resolve(), depth: 0 };
      this.boxes.set(key, box);
    }
    box.depth += 1;
    this.depthGauge?.inc();
    this.shardWork(shard).pending += 1;
    const result = box.tail.then(task);
    const settled = result.then(noop, noop);
    box.tail = settled;
    void settled.then(() => this.finish(key, box, shard));
    return result;
  }

  /** Tasks queued or running for `key`. */
  depth(key: string): number {
    return this.boxes.get(key)?.depth ?? 0;
  }

  /** Tasks queued or running for runtimes of `shard`. */
  pending(shard: number): number {
    return this.shards.get(shard)?.pending ?? 0;
  }

  /** Resolves once no task of `shard` is queued or running (tasks queued meanwhile are waited for too). */
  whenIdle(shard: number): Promise<void> {
    const work = this.shards.get(shard);
    if (!work || work.pending === 0) return Promise.resolve();
    return new Promise((resolve) => work.idle.push(resolve));
  }

  private shardWork(shard: number): ShardWork {
    let work = this.shards.get(shard);
    if (!work) {
      work = { pending: 0, idle: [] };
      this.shards.set(shard, work);
    }
    return work;
  }

  private finish(key: string, box: Box, shard: number): void {
    box.depth -= 1;
    this.depthGauge?.dec();
    if (box.depth === 0 && this.boxes.get(key) === box) this.boxes.delete(key);
    const work = this.shards.get(shard);
    if (!work) return;
    work.pending -= 1;
    if (work.pending > 0) return;
    this.shards.delete(shard);
    for (const resolve of work.idle) resolve();
  }
}

function noop(): void {}
