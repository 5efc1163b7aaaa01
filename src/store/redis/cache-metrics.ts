import { Counter, Gauge, type Registry } from 'prom-client';

/** Breaker states as the `bflow_snapshot_cache_breaker_state` gauge reports them. */
export const BREAKER_STATE = { closed: 0, halfOpen: 1, open: 2 } as const;

export type CacheOp = 'get' | 'set' | 'delete';

/** Metrics of the snapshot cache; every cache on one registry shares them. */
export interface SnapshotCacheMetrics {
  hits: Counter;
  misses: Counter;
  /** Calls that reached Redis and failed or timed out. */
  errors: Counter<'op'>;
  /** Calls skipped without touching Redis because the breaker was open. */
  skipped: Counter<'op'>;
  /** Writes refused because the cache already held a newer revision. */
  staleWrites: Counter;
  breakerState: Gauge;
}

/** Registers the cache metrics on `registry`, reusing any already registered there. */
export function snapshotCacheMetrics(registry: Registry): SnapshotCacheMetrics {
  return {
    hits: counter(registry, 'bflow_snapshot_cache_hits_total', 'Snapshot cache reads that found a state'),
    misses: counter(registry, 'bflow_snapshot_cache_misses_total', 'Snapshot cache reads that found no state'),
    errors: counter(registry, 'bflow_snapshot_cache_errors_total', 'Snapshot cache calls that failed or timed out', [
      'op',
    ]),
    skipped: counter(
      registry,
      'bflow_snapshot_cache_skipped_total',
      'Snapshot cache calls skipped by the open breaker',
      ['op'],
    ),
    staleWrites: counter(
      registry,
      'bflow_snapshot_cache_stale_writes_total',
      'Snapshot writes refused: a newer revision was cached',
    ),
    breakerState: gauge(
      registry,
      'bflow_snapshot_cache_breaker_state',
      'Snapshot cache breaker: 0 closed, 1 half-open, 2 open',
    ),
  };
}

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[] = []): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

function gauge(registry: Registry, name: string, help: string): Gauge {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge;
  return new Gauge({ name, help, registers: [registry] });
}
