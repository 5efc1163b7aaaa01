import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseError } from '../../../src/actors/leases/lease-errors.ts';
import { NatsLeaseManager, type NatsLeaseManagerOptions } from '../../../src/actors/leases/nats-lease-manager.ts';
import type { LeaseChange, ShardDrainer } from '../../../src/actors/leases/ports.ts';
import { useTestNats, type TestNats } from '../../harness/nats-server.ts';
import { startTcpProxy, type TcpProxy } from '../../harness/tcp-proxy.ts';
import { waitFor } from '../../harness/wait.ts';

const TTL = 3000;

interface Node {
  id: string;
  m: NatsLeaseManager;
  nc: NatsConnection;
  changes: (LeaseChange & { t: number })[];
  log: string[];
}

describe('leases on NATS', () => {
  let nats: TestNats;
  const nodes: Node[] = [];
  const proxies: TcpProxy[] = [];
  let clusterSeq = 0;

  beforeAll(async () => {
    nats = await useTestNats('leases');
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.m.stop().catch(() => undefined)));
    await Promise.all(proxies.map((p) => p.close()));
    await nats.cleanup();
  });

  const cluster = (): string => `${nats.prefix}_c${++clusterSeq}`;

  const node = async (
    c: string,
    id: string,
    extra: Partial<NatsLeaseManagerOptions> & { url?: string; drainMs?: number } = {},
  ): Promise<Node> => {
    const nc = await nats.connect(id, extra.url);
    const m = new NatsLeaseManager({ nc, nodeId: id, cluster: c, shardCount: 64, ttlMs: TTL, ...extra });
    const n: Node = { id, m, nc, changes: [], log: [] };
    m.onChange((ch) => {
      n.changes.push({ ...ch, t: Date.now() });
      n.log.push(`${ch.type}:${ch.shard}`);
    });
    nodes.push(n);
    return n;
  };
  const drainer = (n: Node, ms = 0): ShardDrainer => ({
    drain: async (shard) => {
      n.log.push(`drain:${shard}`);
      if (ms) await new Promise((r) => setTimeout(r, ms));
      n.log.push(`drained:${shard}`);
    },
  });
  const start = async (n: Node, drainMs = 0): Promise<Node> => (await n.m.start(drainer(n, drainMs)), n);

  /** Every shard held by exactly one of `group`, counts within ±1 of each other. */
  const balanced = (group: Node[], shards = 64): boolean => {
    const counts = group.map((n) => n.m.held().length);
    const all = new Set(group.flatMap((n) => n.m.held().map((h) => h.shard)));
    return (
      all.size === shards &&
      counts.reduce((a, b) => a + b, 0) === shards &&
      Math.max(...counts) - Math.min(...counts) <= 1
    );
  };
  const lost = (group: Node[]): number =>
    group.reduce((a, n) => a + n.changes.filter((c) => c.type === 'lost').length, 0);
  const drainedBeforeReleased = (n: Node): void => {
    for (const entry of n.log.filter((l) => l.startsWith('released:'))) {
      const shard = entry.slice('released:'.length);
      const at = n.log.indexOf(entry);
      expect(n.log.lastIndexOf(`drained:${shard}`, at)).toBeGreaterThan(n.log.lastIndexOf(`drain:${shard}`, at));
      expect(n.log.lastIndexOf(`drain:${shard}`, at)).toBeGreaterThanOrEqual(0);
    }
  };

  it('leases - a node started with another shard count is refused, naming both counts', async () => {
    const c = cluster();
    await start(await node(c, 'count-a', { shardCount: 8 }));
    const b = await node(c, 'count-b', { shardCount: 16 });
    const err = await b.m.start(drainer(b)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LeaseError);
    expect((err as LeaseError).code).toBe('shard_count_mismatch');
    expect((err as Error).message).toMatch(/created with 8 shards.*started with 16.*BFLOW_SHARDS=8/);
  });

  it('leases - three nodes share 64 shards within ±1; a fourth gets its share; a stopped one hands its shards over', async () => {
    const c = cluster();
    const three = await Promise.all(['n1', 'n2', 'n3'].map(async (id) => node(c, id)));
    await Promise.all(three.map((n) => start(n, 30)));
    await waitFor(() => balanced(three), { deadlineMs: 10_000, what: '3 nodes at 21/21/22' });

    const fourth = await start(await node(c, 'n4'));
    const four = [...three, fourth];
    await waitFor(() => balanced(four), { deadlineMs: 10_000, what: '4 nodes at 16 each' });
    for (const n of three) drainedBeforeReleased(n);
    const released = three.flatMap((n) => n.changes.filter((ch) => ch.type === 'released').map((ch) => ch.shard));
    expect(new Set(fourth.m.held().map((h) => h.shard))).toEqual(new Set(released));

    await fourth.m.stop();
    expect(fourth.m.held()).toEqual([]);
    await waitFor(() => balanced(three), { deadlineMs: 10_000, what: 'n4 shards taken by the other three' });
    drainedBeforeReleased(fourth);
    expect(lost(four)).toBe(0);
    // The view follows the node bucket: n4's deregistration reaches n1 a moment after n4 stopped.
    await waitFor(
      async () =>
        (await three[0]!.m.view()).nodes
          .map((n) => n.id)
          .sort()
          .join() === 'n1,n2,n3',
      {
        deadlineMs: 2000,
        what: 'n4 gone from the view',
      },
    );
    const view = await three[0]!.m.view();
    expect(view.shards.every((s) => s.node !== null && s.node !== 'n4')).toBe(true);
  });

  it('leases - shards of a node whose connection dies are served again within TTL + 2 s', async () => {
    const c = cluster();
    const [a, b, dead] = await Promise.all(['k1', 'k2', 'k3'].map(async (id) => node(c, id)));
    await Promise.all([a!, b!, dead!].map((n) => start(n)));
    await waitFor(() => balanced([a!, b!, dead!]), { deadlineMs: 10_000, what: '3 nodes balanced' });
    const orphaned = dead!.m.held().map((h) => h.shard);

    const killedAt = Date.now();
    await dead!.nc.close();
    await waitFor(() => balanced([a!, b!]), { deadlineMs: TTL + 2000, what: `${orphaned.length} shards re-served` });
    expect(Date.now() - killedAt).toBeLessThanOrEqual(TTL + 2000);
    await waitFor(() => dead!.m.held().length === 0, { deadlineMs: 1000, what: 'dead node holds nothing' });
    expect(
      dead!.changes
        .filter((ch) => ch.type === 'lost')
        .map((ch) => ch.shard)
        .sort(),
    ).toEqual(orphaned.sort());
  });

  it('leases - fencing: a stalled node reports lost before another claims, and its stale epochs never renew', async () => {
    const c = cluster();
    const proxy = await startTcpProxy(Number(new URL(nats.url).port));
    proxies.push(proxy);
    const stalled = await start(await node(c, 'f1', { url: `nats://127.0.0.1:${proxy.port}`, shardCount: 16 }));
    const healthy = await start(await node(c, 'f2', { shardCount: 16 }));
    await waitFor(() => balanced([stalled, healthy], 16), { deadlineMs: 10_000, what: '8/8' });
    const before = new Map(stalled.m.held().map((h) => [h.shard, h.epoch]));

    proxy.pause();
    await waitFor(() => healthy.m.held().length === 16, { deadlineMs: TTL + 3000, what: 'healthy node holds all 16' });
    for (const [shard, epoch] of before) {
      const lostAt = stalled.changes.find((ch) => ch.type === 'lost' && ch.shard === shard)?.t;
      const takenAt = healthy.changes.find((ch) => ch.type === 'acquired' && ch.shard === shard)?.t;
      expect(lostAt, `shard ${shard} reported lost`).toBeDefined();
      expect(lostAt!).toBeLessThan(takenAt!);
      expect(stalled.m.holds(shard, epoch)).toBe(false);
    }

    proxy.resume(); // the stalled node's queued renewals reach the server now, naming stale revisions
    await waitFor(() => balanced([stalled, healthy], 16), { deadlineMs: 10_000, what: 'back to 8/8' });
    expect(lost([healthy])).toBe(0); // a stale renewal that succeeded would have cost the healthy node its lease
    const newest = Math.max(
      ...healthy.changes.filter((ch) => ch.type === 'acquired').map((ch) => (ch.type === 'acquired' ? ch.epoch : 0)),
    );
    for (const h of stalled.m.held()) {
      expect(before.get(h.shard) === h.epoch).toBe(false);
      if (before.has(h.shard)) expect(h.epoch).toBeGreaterThan(before.get(h.shard)!);
    }
    expect(newest).toBeGreaterThan(Math.max(...before.values()));
  });

  it('leases - holds() turns false at the local deadline even when no tick could run', async () => {
    const c = cluster();
    let offset = 0;
    const clock = { now: () => Date.now() + offset };
    const n = await start(await node(c, 'clock-1', { shardCount: 4, clock }));
    await waitFor(() => n.m.held().length === 4, { deadlineMs: 5000, what: '4 shards' });
    const [first] = n.m.held();
    offset = TTL; // as if the process had been paused for a whole TTL
    expect(n.m.holds(first!.shard, first!.epoch)).toBe(false);
    expect(n.m.held()).toEqual([]);
    await waitFor(() => n.changes.filter((ch) => ch.type === 'lost').length === 4, {
      deadlineMs: 2000,
      what: '4 lost',
    });
  });
});
