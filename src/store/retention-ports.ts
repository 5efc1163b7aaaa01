/**
 * Ports of retention (docs/operations.md#retention): what the retention job asks of the store, one bounded
 * batch per call, and the tenants' audit-log policies. The MySQL adapter and the in-process twin implement it;
 * one contract suite runs against both (test/store/contract/retention.case.ts).
 */

/** What happens to a finished runtime's hot rows (and to compacted steps): moved to the archive tables, or deleted. */
export type RetentionMode = 'archive' | 'delete';

/**
 * The tables retention removes rows from; `runtime_steps.idem_key` counts the steps whose idempotency key it
 * forgot (the row stays).
 */
export type RetentionTable =
  | 'idempotency_keys'
  | 'outbox'
  | 'runtime_steps'
  | 'runtime_steps.idem_key'
  | 'runtimes'
  | 'tasks'
  | 'runtime_log';

/** One batch: rows removed (or keys forgotten) per table, and whether the same call would find more now. */
export interface RetentionBatch {
  rows: Partial<Record<RetentionTable, number>>;
  more: boolean;
}

/** A tenant's retention policy. */
export interface RetentionPolicy {
  /**
   * Days a finished runtime's audit log (its history) is kept after the runtime finished, once the runtime's
   * other rows are removed; null keeps it for ever (the default).
   */
  auditLogDays: number | null;
}

/** A tenant's policy as stored. */
export interface StoredRetentionPolicy extends RetentionPolicy {
  tenant: string;
  updatedAt: number;
}

export interface RetentionStore {
  /**
   * Forgets the idempotency keys committed before `before` (epoch ms), up to `limit` rows: deletes rows of the
   * pre-004 idempotency_keys table, and clears the key of log steps (the step stays). A retry with a forgotten
   * key runs as a new command.
   */
  forgetIdempotencyKeys(before: number, limit: number): Promise<RetentionBatch>;
  /** Deletes published rows of the pre-004 outbox table created before `before`, up to `limit`. */
  prunePublishedOutbox(before: number, limit: number): Promise<RetentionBatch>;
  /**
   * Compacts the log of runtimes whose steps were committed before `before`, published and projected (at or
   * below their shard's watermarks): up to `limit` steps are looked at; a runtime's steps below the newest such
   * step are removed (archived or deleted) and that step becomes a base step holding the whole state, so
   * activation, idempotent replies and replay still work. Recorded in the retention ledger.
   */
  compactSteps(before: number, limit: number, mode: RetentionMode, now: number): Promise<RetentionBatch>;
  /**
   * Removes (archives or deletes) the hot rows — runtime row, log steps, tasks — of up to `limit` runtimes that
   * finished before `finishedBefore` and whose steps are all published and projected. Their audit log stays.
   * Recorded in the retention ledger.
   */
  removeFinishedRuntimes(
    finishedBefore: number,
    limit: number,
    mode: RetentionMode,
    now: number,
  ): Promise<RetentionBatch>;
  /**
   * Deletes the audit log of removed runtimes whose tenant's policy sets `auditLogDays` and that finished more
   * than that many days before `now`, up to `limit` runtimes.
   */
  pruneAuditLogs(now: number, limit: number): Promise<RetentionBatch>;
  getPolicy(tenant: string): Promise<StoredRetentionPolicy | undefined>;
  setPolicy(tenant: string, policy: RetentionPolicy, now: number): Promise<StoredRetentionPolicy>;
}

export const DAY_MS = 86_400_000;
