/**
 * Per-shard background loops, shared by the timer service and the outbox
 * relay: one loop per open shard runs `pass` again at once while it reports
 * `more` (or was woken meanwhile), every `pollMs` while `idle`, and after an
 * exponential backoff while it reports `failed` (or throws). Closing a shard
 * stops its loop at once; the pass in flight sees `open()` turn false.
 */

/** What one pass over a shard found. */
export type PassResult = 'more' | 'idle' | 'failed';

export interface ShardLoopsOptions {
  /** One pass over a shard; `open()` is false once the shard was closed (stop early). */
  pass: (shard: number, open: () => boolean) => Promise<PassResult>;
  /** Pause between passes that found nothing to do (per shard when a function, asked at each pause). */
  pollMs: number | ((shard: number) => number);
  /** First backoff after a failed pass; doubles per consecutive failure (with jitter). */
  backoffMinMs: number;
  backoffMaxMs: number;
  /** Told about a pass that threw (it counts as failed). */
  onError: (shard: number, err: unknown) => void;
}

interface Loop {
  closed: boolean;
  /** Set by wake(): run another pass right after the one in flight. */
  woken: boolean;
  failures: number;
  /** Ends the current sleep early (the poll sleep only: wake() doesn't cut a backoff short). */
  interrupt: (() => void) | undefined;
  /** Whether the current sleep is a backoff. */
  backingOff: boolean;
  done: Promise<void>;
}

export class ShardLoops {
  private readonly loops = new Map<number, Loop>();
  /** Loops closed whose pass has not ended yet: a reopened shard waits for them (no overlapping passes). */
  private readonly closing = new Map<number, Promise<void>>();

  constructor(private readonly options: ShardLoopsOptions) {}

  /** Starts the shard's loop (no-op while it is open). A shard reopened while closing starts after the old loop ended. */
  open(shard: number): void {
    if (this.loops.has(shard)) return;
    const loop: Loop = {
      closed: false,
      woken: false,
      failures: 0,
      interrupt: undefined,
      backingOff: false,
      done: Promise.resolve(),
    };
    loop.done = (this.closing.get(shard) ?? Promise.resolve()).then(() => this.run(shard, loop));
    this.loops.set(shard, loop);
  }

  /** Stops the shard's loop; resolves when its pass in flight has ended. */
  close(shard: number): Promise<void> {
    const loop = this.loops.get(shard);
    if (!loop) return Promise.resolve();
    this.loops.delete(shard);
    loop.closed = true;
    loop.interrupt?.();
    const done = loop.done.finally(() => {
      if (this.closing.get(shard) === done) this.closing.delete(shard);
    });
    this.closing.set(shard, done);
    return done;
  }

  /** Runs a pass now on `shard` (every open shard when omitted); one in flight is followed by another. */
  wake(shard?: number): void {
    const targets = shard === undefined ? [...this.loops.values()] : [this.loops.get(shard)];
    for (const loop of targets) {
      if (!loop) continue;
      loop.woken = true;
      if (!loop.backingOff) loop.interrupt?.();
    }
  }

  isOpen(shard: number): boolean {
    return this.loops.has(shard);
  }

  shards(): number[] {
    return [...this.loops.keys()].sort((a, b) => a - b);
  }

  /** Closes every shard. */
  async stop(): Promise<void> {
    await Promise.all(this.shards().map((s) => this.close(s)));
  }

  private async run(shard: number, loop: Loop): Promise<void> {
    const open = () => !loop.closed;
    while (!loop.closed) {
      loop.woken = false;
      const result = await this.safePass(shard, open);
      if (loop.closed) return;
      if (result === 'failed') {
        loop.failures += 1;
        await this.sleep(loop, this.backoff(loop.failures), true);
      } else {
        loop.failures = 0;
        // `more` or a wake during the pass: go again, but let other shards' loops and I/O run first.
        if (result === 'more' || loop.woken) await new Promise((r) => setImmediate(r));
        else
          await this.sleep(
            loop,
            typeof this.options.pollMs === 'number' ? this.options.pollMs : this.options.pollMs(shard),
            false,
          );
      }
    }
  }

  private async safePass(shard: number, open: () => boolean): Promise<PassResult> {
    try {
      return await this.options.pass(shard, open);
    } catch (err) {
      this.options.onError(shard, err);
      return 'failed';
    }
  }

  private backoff(failures: number): number {
    const base = Math.min(this.options.backoffMaxMs, this.options.backoffMinMs * 2 ** Math.min(failures - 1, 30));
    return base / 2 + (Math.random() * base) / 2;
  }

  private sleep(loop: Loop, ms: number, backingOff: boolean): Promise<void> {
    if (loop.closed || (!backingOff && loop.woken)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        loop.interrupt = undefined;
        loop.backingOff = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      loop.interrupt = done;
      loop.backingOff = backingOff;
    });
  }
}
