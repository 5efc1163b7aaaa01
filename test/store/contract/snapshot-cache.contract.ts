import { afterAll, describe, expect, it } from 'vitest';
import type { RuntimeState } from '../../../src/engine/index.ts';
import type { SnapshotCache } from '../../../src/store/ports.ts';
import { waitFor } from '../../harness/wait.ts';
import { runtimeState, T0 } from '../fixtures.ts';

/** A runtime state at `revision` (the store fixtures' shape). */
export function snapshotState(tenant: string, id: string, revision: number): RuntimeState {
  return runtimeState({ tenant, id, revision, at: T0 + 1000 * revision });
}

/** What the contract needs from an adapter's test file. */
export interface SnapshotCacheHarness {
  create(options: { ttlMs?: number }): Promise<SnapshotCache>;
  /** Entry lifetime used by the TTL case (short for a real server, anything for a fake clock). */
  ttlMs: number;
  /** Moves the adapter's clock forward; a no-op for a real server (the case then waits). */
  elapse(ms: number): void;
}

/** One contract suite for every SnapshotCache adapter. */
export function snapshotCacheContract(name: string, h: SnapshotCacheHarness): void {
  describe(`${name} - snapshot cache contract`, () => {
    const opened: SnapshotCache[] = [];
    const open = async (options: { ttlMs?: number } = {}): Promise<SnapshotCache> => {
      const cache = await h.create(options);
      opened.push(cache);
      return cache;
    };
    afterAll(async () => {
      await Promise.all(opened.map((c) => c.close()));
    });

    it(`${name} - get misses an unknown runtime`, async () => {
      const cache = await open();
      expect(await cache.get('t1', 'nope')).toBeUndefined();
    });

    it(`${name} - setMany then get returns an equal state`, async () => {
      const cache = await open();
      const state = snapshotState('t1', 'rt-roundtrip', 3);
      state.doc.note = 'pipes | inside | json';
      await cache.setMany([{ tenant: 't1', state }]);
      expect(await cache.get('t1', 'rt-roundtrip')).toEqual(state);
    });

    it(`${name} - a returned state is a copy`, async () => {
      const cache = await open();
      await cache.setMany([{ tenant: 't1', state: snapshotState('t1', 'rt-copy', 1) }]);
      const first = await cache.get('t1', 'rt-copy');
      first!.status = 'cancelled';
      expect((await cache.get('t1', 'rt-copy'))?.status).toBe('in_progress');
    });

    it(`${name} - setMany writes many runtimes at once`, async () => {
      const cache = await open();
      const states = Array.from({ length: 50 }, (_, i) => snapshotState('t1', `rt-many-${i}`, i + 1));
      await cache.setMany(states.map((state) => ({ tenant: 't1', state })));
      const read = await Promise.all(states.map((s) => cache.get('t1', s.runtime.id)));
      expect(read).toEqual(states);
    });

    it(`${name} - an older revision never overwrites a newer one`, async () => {
      const cache = await open();
      const id = 'rt-newer';
      await cache.setMany([{ tenant: 't1', state: snapshotState('t1', id, 5) }]);
      await cache.setMany([{ tenant: 't1', state: snapshotState('t1', id, 4) }]);
      expect((await cache.get('t1', id))?.revision).toBe(5);
      await cache.setMany([{ tenant: 't1', state: snapshotState('t1', id, 12) }]);
      expect((await cache.get('t1', id))?.revision).toBe(12);
    });

    it(`${name} - within one batch the newest revision wins whatever the order`, async () => {
      const cache = await open();
      const id = 'rt-batch';
      const revisions = [7, 9, 8, 2];
      await cache.setMany(revisions.map((r) => ({ tenant: 't1', state: snapshotState('t1', id, r) })));
      expect((await cache.get('t1', id))?.revision).toBe(9);
    });

    it(`${name} - entries expire after the ttl`, async () => {
      const cache = await open({ ttlMs: h.ttlMs });
      await cache.setMany([{ tenant: 't1', state: snapshotState('t1', 'rt-ttl', 1) }]);
      expect((await cache.get('t1', 'rt-ttl'))?.revision).toBe(1);
      h.elapse(h.ttlMs + 1);
      await waitFor(async () => (await cache.get('t1', 'rt-ttl')) === undefined, { deadlineMs: 5_000, what: 'expiry' });
    });

    it(`${name} - delete removes the entry and a later write starts afresh`, async () => {
      const cache = await open();
      await cache.setMany([{ tenant: 't1', state: snapshotState('t1', 'rt-del', 6) }]);
      await cache.delete('t1', 'rt-del');
      expect(await cache.get('t1', 'rt-del')).toBeUndefined();
      await cache.delete('t1', 'rt-del');
      await cache.setMany([{ tenant: 't1', state: snapshotState('t1', 'rt-del', 1) }]);
      expect((await cache.get('t1', 'rt-del'))?.revision).toBe(1);
    });

    it(`${name} - tenants are separate`, async () => {
      const cache = await open();
      await cache.setMany([
        { tenant: 'ta', state: snapshotState('ta', 'rt-same', 1) },
        { tenant: 'tb', state: snapshotState('tb', 'rt-same', 9) },
      ]);
      expect((await cache.get('ta', 'rt-same'))?.runtime.tenant).toBe('ta');
      expect((await cache.get('tb', 'rt-same'))?.revision).toBe(9);
      await cache.delete('ta', 'rt-same');
      expect(await cache.get('ta', 'rt-same')).toBeUndefined();
      expect((await cache.get('tb', 'rt-same'))?.revision).toBe(9);
      expect(await cache.get('tc', 'rt-same')).toBeUndefined();
    });

    it(`${name} - setMany of nothing is a no-op`, async () => {
      const cache = await open();
      await expect(cache.setMany([])).resolves.toBeUndefined();
    });
  });
}
