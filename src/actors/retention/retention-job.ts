import { pino, type Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { systemClock, type Clock } from '../clock.ts';
import type { LeaseManager } from '../leases/ports.ts';
import {
  checkOptions,
  integer,
  nonNegative,
  positive,
  resolveOptions,
  type OptionDefaults,
  type Resolved,
} from '../../shared/options.ts';
import { DAY_MS, type RetentionBatch, type RetentionMode, type RetentionStore } from '../../store/retention-ports.ts';

/** The job runs on the node holding this shard's lease: one node of the cluster at a time. */
export const RETENTION_LEASE_SHARD = 0;

export interface RetentionMetrics {
  rows: Counter<'table'>;
  runs: Counter<'result'>;
  duration: Histogram;
  lastSuccess: Gauge;
}

export function registerRetentionMetrics(registry: Registry): RetentionMetrics {
  const registers = [registry];
  const metrics: RetentionMetrics = {
    rows: new Counter({
      name: 'bflow_retention_rows_total',
      help: 'Rows retention removed (or idempotency keys it forgot), by table',
      labelNames: ['table'],
      registers,
    }),
    runs: new Counter({
      name: 'bflow_retention_runs_total',
      help: 'Retention runs by result: done, partial (time budget spent or lease lost; the next run goes on), failed',
      labelNames: ['result'],
      registers,
    }),
    duration: new Histogram({
      name: 'bflow_retention_run_duration_seconds',
      help: 'Duration of one retention run',
      buckets: [0.01, 0.05, 0.25, 1, 5, 15, 60, 300, 900],
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'bflow_retention_last_success_timestamp_seconds',
      help: 'When the last retention run finished everything it had to do (epoch seconds)',
      registers,
    }),
  };
  // Every result has a series from the start, so rates and alerts (retention_stalled) see 0 before the first run.
  for (const result of ['done', 'partial', 'failed']) metrics.runs.inc({ result }, 0);
  return metrics;
}

/** How long each kind of row is kept; 0 keeps it for ever. */
export interface RetentionSettings {
  /** Days an idempotency key answers retries (BFLOW_RETENTION_IDEMPOTENCY_DAYS). @default 30 */
  idempotencyDays?: number;
  /** Days published events stay on the log's steps and in the old outbox (BFLOW_RETENTION_EVENTS_DAYS). @default 30 */
  eventsDays?: number;
  /** Days a finished runtime keeps its hot rows (BFLOW_RETENTION_FINISHED_DAYS). @default 365 */
  finishedDays?: number;
  /** Removed rows are moved to the archive tables, or deleted (BFLOW_RETENTION_MODE). @default 'archive' */
  mode?: RetentionMode;
  /**
   * Between runs (BFLOW_RETENTION_INTERVAL_MS), the first one at most a minute after `start`; 0: no run on a
   * timer (`runOnce` only). @default 3_600_000
   */
  intervalMs?: number;
  /** Rows per batch: each batch is a short transaction or a bounded statement (BFLOW_RETENTION_BATCH). @default 500 */
  batchSize?: number;
  /** A run stops starting batches after this long; the next run goes on (BFLOW_RETENTION_RUN_TIMEOUT_MS). @default 300_000 */
  runTimeoutMs?: number;
}

export interface RetentionJobOptions extends RetentionSettings {
  store: RetentionStore;
  /** Whose lease says which node runs the job. */
  leases: Pick<LeaseManager, 'holds'>;
  /** The cut-offs' time (tests move it). @default systemClock */
  clock?: Clock;
  /** @default none */
  metrics?: RetentionMetrics;
  /** @default a silent logger */
  logger?: Logger;
}

export const DEFAULT_RETENTION_OPTIONS = Object.freeze({
  idempotencyDays: 30,
  eventsDays: 30,
  finishedDays: 365,
  mode: 'archive',
  intervalMs: 3_600_000,
  batchSize: 500,
  runTimeoutMs: 300_000,
  clock: systemClock,
  logger: pino({ level: 'silent' }),
} satisfies OptionDefaults<RetentionJobOptions>);

/** The first run after a start comes this soon at the latest. */
const FIRST_RUN_AFTER_MS = 60_000;

/** What one run did. */
export interface RetentionRun {
  /** `skipped`: this node does not hold the lease. `partial`: the time budget ran out or the lease went. */
  result: 'done' | 'partial' | 'skipped';
  rows: Partial<Record<string, number>>;
}

/**
 * Retention (docs/operations.md#retention): every `intervalMs`, on the node that holds the lease of shard
 * {@link RETENTION_LEASE_SHARD} (NATS KV in a cluster; in process embedded, where the one node holds them
 * all), it forgets old idempotency keys, prunes published events, compacts old log steps, removes finished
 * runtimes' hot rows and, by each tenant's policy, their audit logs — in bounded batches, checking the lease
 * and the run's time budget before each one. Two nodes running a batch at once (a lease moving) is safe: each
 * batch re-checks its rows under row locks; the lease only keeps the work from being done twice.
 */
export class RetentionJob {
  readonly #o: Resolved<RetentionJobOptions, typeof DEFAULT_RETENTION_OPTIONS>;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<RetentionRun> | undefined;
  #stopped = false;

  constructor(options: RetentionJobOptions) {
    this.#o = resolveOptions(DEFAULT_RETENTION_OPTIONS, options);
    checkOptions('RetentionJob', this.#o, {
      idempotencyDays: nonNegative,
      eventsDays: nonNegative,
      finishedDays: nonNegative,
      intervalMs: nonNegative,
      batchSize: integer(1, 100_000),
      runTimeoutMs: positive,
    });
  }

  /**
   * Runs every `intervalMs`, the first time after at most a minute (a node restarted more often than the
   * interval still runs it).
   */
  start(): void {
    if (this.#o.intervalMs === 0 || this.#timer !== undefined || this.#stopped) return;
    const tick = (delay: number): void => {
      this.#timer = setTimeout(() => {
        if (this.#running === undefined) void this.runOnce().catch(() => undefined); // logged and counted there
        tick(this.#o.intervalMs);
      }, delay);
      this.#timer.unref();
    };
    tick(Math.min(this.#o.intervalMs, FIRST_RUN_AFTER_MS));
  }

  /** No new run; waits for the one in flight (it stops at its next batch). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  /** One run now (when this node holds the lease); a run already going is joined. */
  runOnce(): Promise<RetentionRun> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #run(): Promise<RetentionRun> {
    const o = this.#o;
    if (!o.leases.holds(RETENTION_LEASE_SHARD)) return { result: 'skipped', rows: {} };
    const started = performance.now();
    const now = o.clock.now();
    const cut = (days: number): number => now - days * DAY_MS;
    const kinds: [string, number, () => Promise<RetentionBatch>][] = [
      ['idempotency', o.idempotencyDays, () => o.store.forgetIdempotencyKeys(cut(o.idempotencyDays), o.batchSize)],
      ['outbox', o.eventsDays, () => o.store.prunePublishedOutbox(cut(o.eventsDays), o.batchSize)],
      ['steps', o.eventsDays, () => o.store.compactSteps(cut(o.eventsDays), o.batchSize, o.mode, now)],
      ['finished', o.finishedDays, () => o.store.removeFinishedRuntimes(cut(o.finishedDays), o.batchSize, o.mode, now)],
      ['audit', 1, () => o.store.pruneAuditLogs(now, o.batchSize)],
    ];
    const rows: Record<string, number> = {};
    let result: RetentionRun['result'] = 'done';
    try {
      runs: for (const [, days, batch] of kinds) {
        if (days === 0) continue;
        for (;;) {
          if (this.#stopped || !o.leases.holds(RETENTION_LEASE_SHARD) || performance.now() - started > o.runTimeoutMs) {
            result = 'partial';
            break runs;
          }
          const done = await batch();
          for (const [table, n] of Object.entries(done.rows)) {
            if (n === 0) continue;
            rows[table] = (rows[table] ?? 0) + n;
            o.metrics?.rows.inc({ table }, n);
          }
          if (!done.more) break;
        }
      }
    } catch (err) {
      o.metrics?.runs.inc({ result: 'failed' });
      o.logger.warn({ err, rows }, 'retention run failed; the next run goes on from where it stopped');
      throw err;
    } finally {
      o.metrics?.duration.observe((performance.now() - started) / 1000);
    }
    o.metrics?.runs.inc({ result });
    if (result === 'done') o.metrics?.lastSuccess.set(o.clock.now() / 1000);
    o.logger.info({ rows, result, ms: Math.round(performance.now() - started) }, 'retention run');
    return { result, rows };
  }
}
