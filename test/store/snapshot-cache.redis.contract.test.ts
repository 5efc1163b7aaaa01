import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisSnapshotCache, type RedisSnapshotCacheOptions } from '../../src/store/redis/snapshot-cache.ts';
import { EnvelopeCipher } from '../../src/store/crypto/field-cipher.ts';
import { generateMasterKey, keyRing } from '../../src/store/crypto/key-ring.ts';
import { MemoryDataKeyStore } from '../../src/store/memory/memory-data-key-store.ts';
import { snapshotCacheContract, snapshotState } from './contract/snapshot-cache.contract.ts';

const URL = process.env.BFLOW_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
// The shared server: a unique prefix per run, and only our keys are deleted afterwards.
const PREFIX = `bflow-test-${randomBytes(6).toString('hex')}`;
const admin = new Redis(URL, { lazyConnect: true, maxRetriesPerRequest: 1 });

const create = (options: RedisSnapshotCacheOptions = {}) =>
  RedisSnapshotCache.create({ url: URL, prefix: PREFIX, ...options });

afterAll(async () => {
  // SCAN, not KEYS: the server is shared and KEYS blocks it.
  for await (const keys of admin.scanStream({ match: `${PREFIX}:*`, count: 500 })) {
    if ((keys as string[]).length > 0) await admin.del(...(keys as string[]));
  }
  admin.disconnect();
});

snapshotCacheContract('redis cache', {
  create: ({ ttlMs }) => create({ ttlMs }),
  ttlMs: 300,
  elapse: () => undefined,
});

// Sealed snapshots (docs/security.md), as a cluster writes them: the same contract holds.
const cipher = new EnvelopeCipher(keyRing([generateMasterKey('k1')]), new MemoryDataKeyStore());
snapshotCacheContract('redis cache (encrypted)', {
  // Keys of its own (`<PREFIX>:enc:rt:…`, still deleted at the end): the suites reuse runtime ids.
  create: ({ ttlMs }) => create({ ttlMs, cipher, prefix: `${PREFIX}:enc` }),
  ttlMs: 300,
  elapse: () => undefined,
});

describe('redis cache - storage format and metrics', () => {
  it('redis cache - stores `<revision>|<json>` under <prefix>:rt:<tenant>:<id> with the 24 h default ttl', async () => {
    const cache = await create();
    const state = snapshotState('t1', 'rt-format', 42);
    await cache.setMany([{ tenant: 't1', state }]);
    const key = `${PREFIX}:rt:t1:rt-format`;
    expect(await admin.get(key)).toBe(`42|${JSON.stringify(state)}`);
    const pttl = await admin.pttl(key);
    expect(pttl).toBeGreaterThan(23 * 3_600_000);
    expect(pttl).toBeLessThanOrEqual(24 * 3_600_000);
    await cache.close();
  });

  it('redis cache - counts hits, misses and refused stale writes; the breaker stays closed', async () => {
    const registry = new Registry();
    const cache = await create({ registry });
    await cache.setMany([{ tenant: 't1', state: snapshotState('t1', 'rt-metrics', 3) }]);
    await cache.setMany([{ tenant: 't1', state: snapshotState('t1', 'rt-metrics', 2) }]);
    await cache.get('t1', 'rt-metrics');
    await cache.get('t1', 'rt-metrics-absent');
    const text = await registry.metrics();
    expect(text).toContain('bflow_snapshot_cache_hits_total 1');
    expect(text).toContain('bflow_snapshot_cache_misses_total 1');
    expect(text).toContain('bflow_snapshot_cache_stale_writes_total 1');
    expect(text).toContain('bflow_snapshot_cache_breaker_state 0');
    expect(cache.breakerState).toBe('closed');
    await cache.close();
  });

  it('redis cache - a value that is not a snapshot reads as a miss', async () => {
    const cache = await create();
    await admin.set(`${PREFIX}:rt:t1:rt-garbage`, '7|{not json', 'PX', 60_000);
    await admin.set(
      `${PREFIX}:rt:t1:rt-other`,
      `1|${JSON.stringify(snapshotState('t1', 'someone-else', 1))}`,
      'PX',
      60_000,
    );
    expect(await cache.get('t1', 'rt-garbage')).toBeUndefined();
    expect(await cache.get('t1', 'rt-other')).toBeUndefined();
    await cache.close();
  });
});
