import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimeState } from '../../src/engine/index.ts';
import { CachedRuntimeStore } from '../../src/store/cached-runtime-store.ts';
import { MySqlRuntimeStore } from '../../src/store/mysql/runtime-store.ts';
import { createMySqlTransitionWriter, type MySqlTransitionWriter } from '../../src/store/mysql/transition-writer.ts';
import { RedisSnapshotCache } from '../../src/store/redis/snapshot-cache.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';
import { startPrivateRedis, type PrivateRedis } from '../harness/redis-server.ts';
import { waitFor } from '../harness/wait.ts';
import { step, uniqueTenant } from './fixtures.ts';

const TENANT = uniqueTenant('outage');
const IDS = Array.from({ length: 12 }, (_, i) => `rt-outage-${i}`);
/** Far above every bound configured below (command 150 ms, call 300 ms): a call past it hung. */
const DEADLINE_MS = 5_000;

let redis: PrivateRedis;
let db: TestDatabase;
let writer: MySqlTransitionWriter;
let cache: RedisSnapshotCache;
let store: CachedRuntimeStore;
const registry = new Registry();
const latest = new Map<string, RuntimeState>();
let overdue = 0;

/** Resolves what `call` resolves, counting calls that outlive DEADLINE_MS (they still finish). */
async function bounded<T>(call: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((r) => (timer = setTimeout(r, DEADLINE_MS))).then(() => overdue++);
  try {
    return await call;
  } finally {
    clearTimeout(timer);
    void late;
  }
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const json = await registry.getMetricsAsJSON();
  const values = json.find((m) => m.name === name)?.values ?? [];
  const match = values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return match.reduce((sum, v) => sum + v.value, 0);
}

/** Commits the next revision of a runtime to MySQL; returns the new state. */
async function commit(id: string): Promise<RuntimeState> {
  const record = step({ tenant: TENANT, id, baseRevision: latest.get(id)?.revision ?? 0 });
  expect(await writer.commit(record)).toMatchObject({ ok: true });
  latest.set(id, record.state);
  return record.state;
}

/** One step per runtime, as the actor host does it: group commit to MySQL, then refresh the cache. */
async function stepAll(): Promise<void> {
  const states = await Promise.all(IDS.map(commit));
  await bounded(cache.setMany(states.map((state) => ({ tenant: TENANT, state }))));
}

async function loadAll(): Promise<(RuntimeState | undefined)[]> {
  return Promise.all(IDS.map((id) => bounded(store.loadRuntime(TENANT, id))));
}

beforeAll(async () => {
  redis = await startPrivateRedis();
  db = await useTestDatabase('redis_outage');
  writer = createMySqlTransitionWriter(db.pool);
  cache = await RedisSnapshotCache.create({
    url: redis.url,
    prefix: 'bflow-outage',
    commandTimeoutMs: 150,
    connectTimeoutMs: 300,
    callTimeoutMs: 300,
    resetTimeoutMs: 400,
    maxReconnectDelayMs: 200,
    volumeThreshold: 3,
    registry,
  });
  store = new CachedRuntimeStore(new MySqlRuntimeStore(db.pool), cache, { registry });
});

afterAll(async () => {
  await cache?.close();
  await redis?.destroy();
  await writer?.close();
  await db?.drop();
});

describe('redis outage', () => {
  it('redis outage - activations come from redis once the cache is warm', async () => {
    await stepAll();
    expect(await loadAll()).toEqual(IDS.map((id) => latest.get(id)));
    expect(await metric('bflow_runtime_activations_total', { source: 'redis' })).toBe(IDS.length);
    expect(await metric('bflow_runtime_activations_total', { source: 'mysql' })).toBe(0);
  });

  it('redis outage - reads and writes continue from MySQL while redis is down', async () => {
    await redis.stop();
    const fromMysql = await metric('bflow_runtime_activations_total', { source: 'mysql' });
    for (let round = 0; round < 3; round++) {
      await stepAll();
      expect(await loadAll()).toEqual(IDS.map((id) => latest.get(id)));
    }
    expect(overdue).toBe(0);
    expect(await metric('bflow_runtime_activations_total', { source: 'mysql' })).toBe(fromMysql + 3 * IDS.length);
    // The breaker opened: most calls never reached Redis.
    expect(await metric('bflow_snapshot_cache_skipped_total')).toBeGreaterThan(0);
    expect(await metric('bflow_snapshot_cache_errors_total')).toBeGreaterThan(0);
    expect(cache.breakerState).not.toBe('closed');
  });

  it('redis outage - cache hits resume after redis returns', async () => {
    await redis.start();
    const id = IDS[0]!;
    await waitFor(
      async () => {
        const before = await metric('bflow_runtime_activations_total', { source: 'redis' });
        const state = await bounded(store.loadRuntime(TENANT, id));
        expect(state).toEqual(latest.get(id));
        return (await metric('bflow_runtime_activations_total', { source: 'redis' })) > before;
      },
      { deadlineMs: 15_000, what: 'a cache hit after redis restarted' },
    );
    expect(cache.breakerState).toBe('closed');
    await loadAll();
    expect(await loadAll()).toEqual(IDS.map((i) => latest.get(i)));
    expect(overdue).toBe(0);
  });

  it('redis outage - a snapshot write lost while reads still work is never served stale', async () => {
    const id = IDS[1]!;
    expect((await store.loadRuntime(TENANT, id))?.revision).toBe(latest.get(id)?.revision);
    // Redis refuses writes (out of memory) but still answers reads: the refresh is lost, the old snapshot stays.
    await configSet('maxmemory', '1');
    const next = await commit(id);
    await bounded(cache.setMany([{ tenant: TENANT, state: next }]));
    expect(await bounded(store.loadRuntime(TENANT, id))).toEqual(next);
    await configSet('maxmemory', '0');
    // Activations keep going to MySQL, and refill the cache once writes pass again.
    await waitFor(
      async () => {
        expect(await bounded(store.loadRuntime(TENANT, id))).toEqual(next);
        return (await cache.get(TENANT, id))?.revision === next.revision;
      },
      { deadlineMs: 15_000, what: 'the newer snapshot refilled after writes resumed' },
    );
  });
});

async function configSet(name: string, value: string): Promise<void> {
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    await admin.config('SET', name, value);
  } finally {
    admin.disconnect();
  }
}
