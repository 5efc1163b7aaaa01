import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimeState } from '../../src/engine/index.ts';
import { CachedRuntimeStore } from '../../src/store/cached-runtime-store.ts';
import type { RuntimeStore } from '../../src/store/ports.ts';
import { RedisSnapshotCache } from '../../src/store/redis/snapshot-cache.ts';
import { startPrivateRedis, type PrivateRedis } from '../harness/redis-server.ts';
import { waitFor } from '../harness/wait.ts';
import { snapshotState } from './snapshot-fixture.ts';

const TENANT = 'tenant-outage';
const IDS = Array.from({ length: 12 }, (_, i) => `rt-outage-${i}`);
/** Far above every bound configured below (command 150 ms, call 300 ms): a call past it hung. */
const DEADLINE_MS = 5_000;

// TODO(durable store): replace with MySqlRuntimeStore + the group-commit writer once they land.
class DurableFake {
  private readonly rows = new Map<string, RuntimeState>();
  readonly store = {
    loadRuntime: async (_t: string, id: string) => structuredClone(this.rows.get(id)),
  } as unknown as RuntimeStore;
  async commit(state: RuntimeState): Promise<void> {
    this.rows.set(state.runtime.id, structuredClone(state));
  }
  async drop(): Promise<void> {}
}

let redis: PrivateRedis;
let durable: DurableFake;
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

/** One step per runtime: commit revision+1 durably, then refresh the cache, as the actor host does. */
async function stepAll(): Promise<void> {
  for (const id of IDS) {
    const next = snapshotState(TENANT, id, (latest.get(id)?.revision ?? 0) + 1);
    await durable.commit(next);
    latest.set(id, next);
    await bounded(cache.setMany([{ tenant: TENANT, state: next }]));
  }
}

async function loadAll(): Promise<(RuntimeState | undefined)[]> {
  return Promise.all(IDS.map((id) => bounded(store.loadRuntime(TENANT, id))));
}

beforeAll(async () => {
  redis = await startPrivateRedis();
  durable = new DurableFake();
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
  store = new CachedRuntimeStore(durable.store, cache, { registry });
});

afterAll(async () => {
  await cache?.close();
  await redis?.destroy();
  await durable?.drop();
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
    const next = snapshotState(TENANT, id, latest.get(id)!.revision + 1);
    await durable.commit(next);
    latest.set(id, next);
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
