import { describe, expect, it } from 'vitest';
import { MemorySnapshotCache } from '../../src/store/memory/snapshot-cache.ts';
import { snapshotCacheContract, snapshotState } from './contract/snapshot-cache.contract.ts';

let clock = 1_700_000_000_000;
const now = (): number => clock;

snapshotCacheContract('memory cache', {
  create: async ({ ttlMs }) => new MemorySnapshotCache({ ttlMs, now }),
  ttlMs: 60_000,
  elapse: (ms) => {
    clock += ms;
  },
});

describe('memory cache - bounds', () => {
  it('memory cache - an entry lives exactly ttlMs on the injected clock', async () => {
    let t = 0;
    const cache = new MemorySnapshotCache({ ttlMs: 1_000, now: () => t });
    await cache.setMany([{ tenant: 't', state: snapshotState('t', 'a', 1) }]);
    t = 999;
    expect(await cache.get('t', 'a')).toBeDefined();
    t = 1_000;
    expect(await cache.get('t', 'a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('memory cache - a write refreshes the ttl', async () => {
    let t = 0;
    const cache = new MemorySnapshotCache({ ttlMs: 1_000, now: () => t });
    await cache.setMany([{ tenant: 't', state: snapshotState('t', 'a', 1) }]);
    t = 900;
    await cache.setMany([{ tenant: 't', state: snapshotState('t', 'a', 2) }]);
    t = 1_500;
    expect((await cache.get('t', 'a'))?.revision).toBe(2);
  });

  it('memory cache - an expired newer entry no longer blocks an older write', async () => {
    let t = 0;
    const cache = new MemorySnapshotCache({ ttlMs: 1_000, now: () => t });
    await cache.setMany([{ tenant: 't', state: snapshotState('t', 'a', 5) }]);
    t = 2_000;
    await cache.setMany([{ tenant: 't', state: snapshotState('t', 'a', 3) }]);
    expect((await cache.get('t', 'a'))?.revision).toBe(3);
  });

  it('memory cache - maxEntries evicts the least recently used', async () => {
    const cache = new MemorySnapshotCache({ maxEntries: 3 });
    const put = (id: string) => cache.setMany([{ tenant: 't', state: snapshotState('t', id, 1) }]);
    await put('a');
    await put('b');
    await put('c');
    await cache.get('t', 'a');
    await put('d');
    expect(cache.size).toBe(3);
    expect(await cache.get('t', 'b')).toBeUndefined();
    expect(await cache.get('t', 'a')).toBeDefined();
    expect(await cache.get('t', 'd')).toBeDefined();
  });

  it('memory cache - ids containing separators do not collide across tenants', async () => {
    const cache = new MemorySnapshotCache();
    await cache.setMany([{ tenant: 'a:b', state: snapshotState('a:b', 'c', 1) }]);
    expect(await cache.get('a', 'b:c')).toBeUndefined();
  });
});
