import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeaseChange } from '../../../src/actors/leases/ports.ts';
import { reapChildren, spawnTsx } from '../../harness/child.ts';
import { useTestNats, type TestNats } from '../../harness/nats-server.ts';
import { waitFor } from '../../harness/wait.ts';

const TTL = 3000;
const SHARDS = 64;

interface Proc {
  id: string;
  child: ChildProcess;
  events: (LeaseChange & { t: number })[];
  held: Map<number, number>;
  ready: boolean;
}

/** Starts a lease-node child and follows its JSON lines. */
function spawnNode(url: string, cluster: string, id: string): Proc {
  const child = spawnTsx('test/fixtures/lease-node.ts', [url, cluster, id, String(SHARDS), String(TTL)]);
  const p: Proc = { id, child, events: [], held: new Map(), ready: false };
  let buffer = '';
  child.stdout?.on('data', (d: Buffer) => {
    buffer += d.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      const e = JSON.parse(line) as LeaseChange | { type: 'ready' | 'stopped' };
      if (e.type === 'ready') p.ready = true;
      if (e.type === 'acquired') p.held.set(e.shard, e.epoch);
      if (e.type === 'lost' || e.type === 'released') p.held.delete(e.shard);
      if (e.type === 'acquired' || e.type === 'lost' || e.type === 'released') p.events.push({ ...e, t: Date.now() });
    }
  });
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[${id}] ${d.toString()}`));
  return p;
}

/** Every shard held by exactly one of `group`, counts within ±1. */
function balanced(group: Proc[]): boolean {
  const counts = group.map((p) => p.held.size);
  const all = new Set(group.flatMap((p) => [...p.held.keys()]));
  return (
    all.size === SHARDS &&
    counts.reduce((a, b) => a + b, 0) === SHARDS &&
    Math.max(...counts) - Math.min(...counts) <= 1
  );
}

describe('leases across processes', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await useTestNats('lease_procs');
  });
  afterAll(async () => {
    reapChildren();
    await nats.cleanup();
  });

  it('leases - SIGKILLed node: shards re-served within TTL + 2 s; SIGSTOPped node: reports lost on SIGCONT and renews nothing', async () => {
    const cluster = `${nats.prefix}_p`;
    const [a, b, c] = ['p1', 'p2', 'p3'].map((id) => spawnNode(nats.url, cluster, id)) as [Proc, Proc, Proc];
    await waitFor(() => balanced([a, b, c]), { deadlineMs: 20_000, what: '3 processes at 21/21/22' });

    const killedAt = Date.now();
    c.child.kill('SIGKILL');
    await waitFor(() => balanced([a, b]), { deadlineMs: TTL + 2000, what: 'shards of the killed process re-served' });
    expect(Date.now() - killedAt).toBeLessThanOrEqual(TTL + 2000);

    const frozen = new Map(b.held);
    b.child.kill('SIGSTOP');
    await waitFor(() => a.held.size === SHARDS, {
      deadlineMs: TTL + 3000,
      what: 'the running process holds every shard',
    });
    const takenAt = Date.now();
    b.child.kill('SIGCONT');
    await waitFor(
      () => [...frozen.keys()].every((s) => b.events.some((e) => e.type === 'lost' && e.shard === s && e.t >= takenAt)),
      {
        deadlineMs: 3000,
        what: 'the resumed process reports lost for every shard it held',
      },
    );
    for (const [shard, epoch] of frozen) {
      const after = b.events.filter((e) => e.shard === shard && e.t >= takenAt);
      expect(after[0]?.type, `first event for shard ${shard} after SIGCONT`).toBe('lost');
      for (const e of after) if (e.type === 'acquired') expect(e.epoch).toBeGreaterThan(epoch);
    }
    // A stale renewal that got through would have overwritten a's lease, and a would have lost it.
    expect(a.events.filter((e) => e.type === 'lost')).toEqual([]);
    await waitFor(() => balanced([a, b]), { deadlineMs: 10_000, what: 'the resumed process rejoins at 32/32' });
    expect(a.events.filter((e) => e.type === 'lost')).toEqual([]);

    // SIGTERM: the node drains and releases everything, so the survivor takes over without waiting for a TTL.
    const exited = new Promise<number | null>((r) => b.child.once('exit', (code) => r(code)));
    const termAt = Date.now();
    b.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(b.held.size).toBe(0);
    await waitFor(() => a.held.size === SHARDS, { deadlineMs: TTL, what: 'survivor holds every shard after SIGTERM' });
    expect(Date.now() - termAt).toBeLessThan(TTL);
  }, 40_000);
});
