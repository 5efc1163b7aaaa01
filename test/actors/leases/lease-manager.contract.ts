import { afterAll, describe, expect, it } from 'vitest';
import type { LeaseChange, LeaseManager, ShardDrainer } from '../../../src/actors/leases/ports.ts';
import { waitFor } from '../../harness/wait.ts';

/** What the contract needs from an adapter's test file. */
export interface LeaseHarness {
  /** A manager of a fresh cluster of its own (nothing else holds its shards). */
  create(options: { nodeId: string; shardCount: number }): Promise<LeaseManager>;
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
