import { describe, expect, it } from 'vitest';
import { TenantTtlCache } from './tenant-ttl-cache.ts';

/** A cache on a hand-moved clock and a loader returning `v<n>` for its n-th call (or failing when told). */
function setup(refreshAhead: boolean) {
  let now = 0;
  const cache = new TenantTtlCache<string>(1_000, () => now, 100, refreshAhead);
  const loader = { calls: 0, fail: false };
  const load = async () => {
    loader.calls += 1;
    if (loader.fail) throw new Error('store down');
    return `v${loader.calls}`;
  };
  const get = () => cache.get('t1', 'k', load);
  return { cache, loader, get, advance: (ms: number) => (now += ms) };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('tenant TTL cache', () => {
  it('tenant ttl cache - fresh reads share one load; past the TTL a plain cache waits for a new one', async () => {
    const { loader, get, advance } = setup(false);
    expect(await Promise.all([get(), get()])).toEqual(['v1', 'v1']);
    advance(999);
    expect(await get()).toBe('v1');
    advance(1);
    expect(await get()).toBe('v2');
    expect(loader.calls).toBe(2);
  });

  it('tenant ttl cache - refresh-ahead serves the old value past the TTL while one background load replaces it', async () => {
    const { loader, get, advance } = setup(true);
    expect(await get()).toBe('v1');
    advance(1_500);
    expect(await Promise.all([get(), get()])).toEqual(['v1', 'v1']);
    await settle();
    expect(loader.calls).toBe(2);
    expect(await get()).toBe('v2');
  });

  it('tenant ttl cache - refresh-ahead: a failed refresh keeps the old value and is retried; past twice the TTL a read waits', async () => {
    const { loader, get, advance } = setup(true);
    expect(await get()).toBe('v1');
    advance(1_200);
    loader.fail = true;
    expect(await get()).toBe('v1');
    await settle();
    expect(await get()).toBe('v1'); // retried: still failing, still served
    await settle();
    expect(loader.calls).toBe(3);
    loader.fail = false;
    advance(900); // 2,100 ms old: too stale to serve
    expect(await get()).toBe('v4');
  });

  it('tenant ttl cache - invalidate makes the next read wait for a fresh load, refresh-ahead or not', async () => {
    for (const refreshAhead of [false, true]) {
      const { cache, get, advance } = setup(refreshAhead);
      expect(await get()).toBe('v1');
      advance(1_500);
      cache.invalidate('t1');
      expect(await get()).toBe('v2');
    }
  });
});
