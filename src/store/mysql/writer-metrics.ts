import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface TransitionWriterMetrics {
  /** Records per flushed batch. */
  batchSize: Histogram;
  /** Seconds from a batch's start to its COMMIT returning (or failing). */
  commitDuration: Histogram;
  /** Records by outcome: ok, conflict, duplicate_runtime, duplicate_idempotency_key, store_unavailable. */
  outcomes: Counter<'outcome'>;
  /** Transactions attempted, by path: fast, slow (after a lost race), retry (after a deadlock). */
  transactions: Counter<'path'>;
  /** Committed steps handed to the projectors and not projected yet (BFLOW_PROJECTION_DELAY_MS > 0). */
  projectionBacklog: Gauge;
  /** Projection transactions by result: ok, failed (retried with a backoff). */
  projections: Counter<'result'>;
  /** Seconds from the commit of the oldest step a projection wrote to the projection's commit. */
  projectionLag: Histogram;
}

/** Creates the group-commit writer's metrics on `registry` (call once per registry; share among writers). */
export function registerTransitionWriterMetrics(
  registry: Registry,
  prefix = 'bflow_store_writer_',
): TransitionWriterMetrics {
  const registers = [registry];
  return {
    batchSize: new Histogram({
      name: `${prefix}batch_size`,
      help: 'Records per group-commit batch',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    }),
    commitDuration: new Histogram({
      name: `${prefix}commit_duration_seconds`,
      help: 'Duration of one group-commit transaction',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    outcomes: new Counter({
      name: `${prefix}outcomes_total`,
      help: 'Committed records by outcome',
      labelNames: ['outcome'],
      registers,
    }),
    transactions: new Counter({
      name: `${prefix}transactions_total`,
      help: 'Transactions by path',
      labelNames: ['path'],
      registers,
    }),
    projectionBacklog: new Gauge({
      name: `${prefix}projection_backlog_steps`,
      help: 'Committed steps waiting to be projected (runtime rows, inbox rows, timers); commits wait above BFLOW_PROJECTION_BACKLOG',
      registers,
    }),
    projections: initialised(
      new Counter({
        name: `${prefix}projections_total`,
        help: 'Projection transactions (runtime rows, inbox rows, timers of committed steps) by result: ok, failed (retried)',
        labelNames: ['result'],
        registers,
      }),
    ),
    projectionLag: new Histogram({
      name: `${prefix}projection_lag_seconds`,
      help: "Seconds from the commit of the oldest step a projection wrote to the projection's commit: how stale the inbox got",
      buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    }),
  };
}

/** Both results at 0 from the start, so a rate over them is 0 rather than no data until the first failure. */
function initialised(counter: Counter<'result'>): Counter<'result'> {
  for (const result of ['ok', 'failed']) counter.inc({ result }, 0);
  return counter;
}
