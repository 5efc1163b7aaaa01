import { Counter, Registry } from 'prom-client';
import type { RuntimeState } from '../engine/index.ts';
import type { DueTimer, OutboxEvent, PublishedMark, RuntimeStore, SnapshotCache, StoredIdempotency } from './ports.ts';

/** Options of {@link CachedRuntimeStore}. */
export interface CachedRuntimeStoreOptions {
  /** Where the activation counter is registered. @default a private registry (metric not exported) */
  registry?: Registry;
}

const ACTIVATIONS = 'bflow_runtime_activations_total';

/**
 * A RuntimeStore that reads runtime states from the snapshot cache first and
 * falls back to the durable store, refilling the cache. The cache never fails
 * a call (its adapters swallow errors), so neither does this decorator; every
 * other method goes straight to the durable store.
 */
export class CachedRuntimeStore implements RuntimeStore {
  private readonly activations: Counter<'source'>;

  constructor(
    private readonly inner: RuntimeStore,
    private readonly cache: SnapshotCache,
    options: CachedRuntimeStoreOptions = {},
  ) {
    this.activations = activationCounter(options.registry ?? new Registry());
  }

  /**
   * The snapshot, brought up to date by replaying the log's steps after its revision (one read of the
   * steps, usually none: a snapshot older than the log, e.g. its owner died before refreshing it, is caught
   * here); without a snapshot, the durable store.
   */
  async loadRuntime(tenant: string, runtimeId: string): Promise<RuntimeState | undefined> {
    const cached = await this.cache.get(tenant, runtimeId);
    if (cached) {
      this.activations.inc({ source: 'redis' });
      const state = await this.inner.loadRuntime(tenant, runtimeId, cached);
      if (state && state.revision > cached.revision) await this.cache.setMany([{ tenant, state }]);
      return state;
    }
    return this.loadFromStore(tenant, runtimeId);
  }

  /**
   * Reads the durable store, bypassing the cache, and refills the cache.
   * Use it after a version conflict: the cache may hold an older revision
   * when a snapshot refresh was lost, and newer-revision-wins lets this
   * refill replace it.
   */
  async loadFromStore(tenant: string, runtimeId: string): Promise<RuntimeState | undefined> {
    const state = await this.inner.loadRuntime(tenant, runtimeId);
    if (!state) return undefined;
    this.activations.inc({ source: 'mysql' });
    await this.cache.setMany([{ tenant, state }]);
    return state;
  }

  findActiveRuntime(tenant: string, app: string, docId: string): Promise<RuntimeState | undefined> {
    return this.inner.findActiveRuntime(tenant, app, docId);
  }

  findIdempotency(tenant: string, key: string): Promise<StoredIdempotency | undefined> {
    return this.inner.findIdempotency(tenant, key);
  }

  dueTimers(shard: number, now: number, limit: number): Promise<DueTimer[]> {
    return this.inner.dueTimers(shard, now, limit);
  }

  deleteTimer(tenant: string, timerId: string, dueAt?: number): Promise<void> {
    return this.inner.deleteTimer(tenant, timerId, dueAt);
  }

  shardsWithDueTimers(shards: readonly number[], now: number): Promise<number[]> {
    return this.inner.shardsWithDueTimers(shards, now);
  }

  unpublishedEvents(shard: number, limit: number): Promise<OutboxEvent[]> {
    return this.inner.unpublishedEvents(shard, limit);
  }

  markPublished(marks: readonly PublishedMark[]): Promise<void> {
    return this.inner.markPublished(marks);
  }
}

function activationCounter(registry: Registry): Counter<'source'> {
  const existing = registry.getSingleMetric(ACTIVATIONS);
  if (existing) return existing as Counter<'source'>;
  return new Counter({
    name: ACTIVATIONS,
    help: 'Runtime states loaded for activation, by source (redis = cache, mysql = durable store)',
    labelNames: ['source'],
    registers: [registry],
  });
}
