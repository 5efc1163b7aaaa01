import { afterAll, describe, expect, it } from 'vitest';
import type { LeaseChange, LeaseManager, ShardDrainer } from '../../../src/actors/leases/ports.ts';
import { waitFor } from '../../harness/wait.ts';

/** What the contract needs from an adapter's test file. */
export interface LeaseHarness {
  /** A manager of a fresh cluster of its own (nothing else holds its shards). */
  create(options: { nodeId: string; shardCount: number }): Promise<LeaseManager>;
  /** Managers that share one fresh cluster. */
  createPeers(options: { nodeIds: string[]; shardCount: number }): Promise<LeaseManager[]>;
  /** Releases what the harness opened (connections, buckets). */
  cleanup(): Promise<void>;
  /** How long a lone node may take to hold every shard. */
  acquireDeadlineMs: number;
}

/** Records changes, and drains that are awaited (each takes `drainMs`). */
export function recorder(
  manager: LeaseManager,
  drainMs = 0,
): { changes: LeaseChange[]; log: string[]; drainer: ShardDrainer } {
  const changes: LeaseChange[] = [];
  const log: string[] = [];
  manager.onChange((c) => {
    changes.push(c);
    log.push(`${c.type}:${c.shard}`);
  });
  const drainer: ShardDrainer = {
    drain: async (shard) => {
      log.push(`drain:${shard}`);
      if (drainMs > 0) await new Promise((r) => setTimeout(r, drainMs));
      log.push(`drained:${shard}`);
    },
  };
  return { changes, log, drainer };
}

/** The changes and drains of several managers, in one order: `<node> <what>:<shard>`. */
function sharedLog(managers: LeaseManager[]): { log: string[]; drainers: ShardDrainer[] } {
  const log: string[] = [];
  const drainers = managers.map((m) => {
    m.onChange((c) => log.push(`${m.nodeId} ${c.type}:${c.shard}`));
    return {
      drain: async (shard: number) => {
        log.push(`${m.nodeId} drain:${shard}`);
        await new Promise((r) => setTimeout(r, 5));
        log.push(`${m.nodeId} drained:${shard}`);
      },
    };
  });
  return { log, drainers };
}

/** One contract suite for every LeaseManager adapter. */
export function leaseManagerContract(name: string, h: LeaseHarness): void {
  describe(`${name} - lease manager contract`, () => {
    const running: LeaseManager[] = [];
    const open = async (nodeId: string, shardCount = 8): Promise<LeaseManager> => {
      const m = await h.create({ nodeId, shardCount });
      running.push(m);
      return m;
    };
    afterAll(async () => {
      await Promise.all(running.map((m) => m.stop()));
      await h.cleanup();
    });

    it(`${name} - a lone node acquires every shard, once each`, async () => {
      const m = await open('solo-1');
      const { changes, drainer } = recorder(m);
      await m.start(drainer);
      await waitFor(() => m.held().length === 8, { deadlineMs: h.acquireDeadlineMs, what: 'all 8 shards held' });
      const acquired = changes.filter((c) => c.type === 'acquired').map((c) => c.shard);
      expect(acquired.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(m.nodeId).toBe('solo-1');
      expect(m.shardCount).toBe(8);
    });

    it(`${name} - holds and held agree, epochs fence`, async () => {
      const m = await open('solo-2');
      const { changes, drainer } = recorder(m);
      await m.start(drainer);
      await waitFor(() => m.held().length === 8, { deadlineMs: h.acquireDeadlineMs, what: 'all 8 shards held' });
      for (const { shard, epoch } of m.held()) {
        expect(m.holds(shard)).toBe(true);
        expect(m.holds(shard, epoch)).toBe(true);
        expect(m.holds(shard, epoch + 1_000_000)).toBe(false);
        expect(changes).toContainEqual({ type: 'acquired', shard, epoch });
      }
      expect(m.holds(8)).toBe(false);
      const view = await m.view();
      expect(view.shardCount).toBe(8);
      expect(view.nodes.map((n) => n.id)).toContain('solo-2');
      expect(view.shards.every((s) => s.node === 'solo-2')).toBe(true);
      expect(view.shards.map((s) => s.epoch)).toEqual(
        [...m.held()].sort((a, b) => a.shard - b.shard).map((s) => s.epoch),
      );
    });

    it(`${name} - stop drains, then releases every shard`, async () => {
      const m = await open('solo-3');
      const { changes, log, drainer } = recorder(m, 20);
      await m.start(drainer);
      await waitFor(() => m.held().length === 8, { deadlineMs: h.acquireDeadlineMs, what: 'all 8 shards held' });
      await m.stop();
      expect(m.held()).toEqual([]);
      expect(m.holds(0)).toBe(false);
      const released = changes.filter((c) => c.type === 'released').map((c) => c.shard);
      expect(released.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      for (let s = 0; s < 8; s++) expect(log.indexOf(`drained:${s}`)).toBeLessThan(log.indexOf(`released:${s}`));
      expect(changes.some((c) => c.type === 'lost')).toBe(false);
    });

    it(`${name} - stop hands each shard to a live peer: drained here, claimed there, then released here`, async () => {
      const [a, b] = await h.createPeers({ nodeIds: ['pass-a', 'pass-b'], shardCount: 8 });
      running.push(a!, b!);
      const { log, drainers } = sharedLog([a!, b!]);
      await a!.start(drainers[0]!);
      await waitFor(() => a!.held().length === 8, { deadlineMs: h.acquireDeadlineMs, what: 'pass-a holds all 8' });
      await b!.start(drainers[1]!);
      await waitFor(async () => (await a!.view()).nodes.some((n) => n.id === 'pass-b'), {
        deadlineMs: h.acquireDeadlineMs,
        what: 'pass-a sees pass-b',
      });
      await waitFor(() => a!.held().length + b!.held().length === 8, {
        deadlineMs: h.acquireDeadlineMs,
        what: 'every shard held once',
      });
      const passed = a!.held().map((s) => s.shard);
      const epochs = new Map(a!.held().map((s) => [s.shard, s.epoch]));
      await a!.stop();
      // Handed over, not released to be claimed later: the stopped node already saw the peer own every shard.
      expect((await a!.view()).shards.map((s) => s.node)).toEqual(Array(8).fill('pass-b'));
      expect(a!.held()).toEqual([]);
      // (Over NATS the peer hears its claim's answer on its own connection, possibly a moment after.)
      await waitFor(() => b!.held().length === 8, { deadlineMs: 1000, what: 'pass-b holds all 8' });
      for (const shard of passed) {
        const drained = log.indexOf(`pass-a drained:${shard}`);
        const acquired = log.lastIndexOf(`pass-b acquired:${shard}`);
        const released = log.lastIndexOf(`pass-a released:${shard}`);
        expect(drained, `shard ${shard}: ${log.join(', ')}`).toBeGreaterThanOrEqual(0);
        expect(acquired, `shard ${shard} acquired by the peer after the drain`).toBeGreaterThan(drained);
        expect(released, `shard ${shard} released after the drain`).toBeGreaterThan(drained);
        const epoch = b!.held().find((s) => s.shard === shard)!.epoch;
        expect(epoch, 'the new tenure fences the old one').toBeGreaterThan(epochs.get(shard)!);
      }
      expect(log.filter((line) => line.includes(' lost:'))).toEqual([]);
      await b!.stop();
    });

    it(`${name} - peers stopping together hand nothing to each other for good: every shard released, none lost`, async () => {
      const [a, b] = await h.createPeers({ nodeIds: ['last-a', 'last-b'], shardCount: 8 });
      running.push(a!, b!);
      const { log, drainers } = sharedLog([a!, b!]);
      await a!.start(drainers[0]!);
      await waitFor(() => a!.held().length === 8, { deadlineMs: h.acquireDeadlineMs, what: 'last-a holds all 8' });
      await b!.start(drainers[1]!);
      await waitFor(async () => (await a!.view()).nodes.some((n) => n.id === 'last-b'), {
        deadlineMs: h.acquireDeadlineMs,
        what: 'last-a sees last-b',
      });
      await Promise.all([a!.stop(), b!.stop()]);
      expect([...a!.held(), ...b!.held()]).toEqual([]);
      expect(log.filter((line) => line.includes(' lost:'))).toEqual([]);
      for (let s = 0; s < 8; s++) {
        const acquired = log.filter((line) => line.endsWith(` acquired:${s}`)).length;
        expect(log.filter((line) => line.endsWith(` released:${s}`)).length, `shard ${s}`).toBe(acquired);
      }
    });

    it(`${name} - an unsubscribed listener hears nothing more`, async () => {
      const m = await open('solo-4');
      const heard: LeaseChange[] = [];
      const off = m.onChange((c) => heard.push(c));
      off();
      const { drainer } = recorder(m);
      await m.start(drainer);
      await waitFor(() => m.held().length === 8, { deadlineMs: h.acquireDeadlineMs, what: 'all 8 shards held' });
      expect(heard).toEqual([]);
    });

    it(`${name} - a throwing listener does not stop the others`, async () => {
      const m = await open('solo-5');
      m.onChange(() => {
        throw new Error('listener bug');
      });
      const { changes, drainer } = recorder(m);
      await m.start(drainer);
      await waitFor(() => changes.length === 8, { deadlineMs: h.acquireDeadlineMs, what: '8 acquired events' });
    });
  });
}
