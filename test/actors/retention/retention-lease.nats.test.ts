import { afterAll, describe, expect, it } from 'vitest';
import { NatsLeaseManager } from '../../../src/actors/leases/nats-lease-manager.ts';
import { RetentionJob, RETENTION_LEASE_SHARD } from '../../../src/actors/retention/index.ts';
import { MemoryStore } from '../../../src/store/memory/memory-store.ts';
import { useTestNats, type TestNats } from '../../harness/nats-server.ts';
import { waitFor } from '../../harness/wait.ts';

let nats: TestNats | undefined;
afterAll(async () => nats?.cleanup());

describe('retention job under NATS KV leases', () => {
  it('retention lease - of two nodes only the holder of shard 0 runs the job; when it stops, the other takes over', async () => {
    nats = await useTestNats('retention_lease');
    const cluster = `${nats.prefix}_retention`;
    const manager = async (nodeId: string) =>
      new NatsLeaseManager({
        nc: await nats!.connect(nodeId),
        nodeId,
        shardCount: 4,
        cluster,
        ttlMs: 3000,
        settleMs: 100,
      });
    const [a, b] = [await manager('node-a'), await manager('node-b')];
    const drainer = { drain: async () => undefined };
    await Promise.all([a.start(drainer), b.start(drainer)]);
    await waitFor(async () => a.held().length + b.held().length === 4 && a.held().length === 2, {
      deadlineMs: 15_000,
      what: 'the shards spread over both nodes',
    });
    const store = new MemoryStore();
    const jobs = new Map(
      [a, b].map((m) => [m, new RetentionJob({ store: store.retention, leases: m, intervalMs: 0 })]),
    );
    const [holder, other] = a.holds(RETENTION_LEASE_SHARD) ? [a, b] : [b, a];
    expect((await jobs.get(holder)!.runOnce()).result).toBe('done');
    expect((await jobs.get(other)!.runOnce()).result).toBe('skipped');

    await holder.stop(); // hands its shards over
    await waitFor(async () => other.holds(RETENTION_LEASE_SHARD), { deadlineMs: 15_000, what: 'shard 0 handed over' });
    expect((await jobs.get(other)!.runOnce()).result).toBe('done');
    await other.stop();
  }, 60_000);
});
