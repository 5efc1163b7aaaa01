import { FINISHED_STATUSES } from '../../engine/index.ts';
import {
  DAY_MS,
  type RetentionBatch,
  type RetentionMode,
  type RetentionPolicy,
  type RetentionStore,
  type StoredRetentionPolicy,
} from '../retention-ports.ts';
import { baseStepBody, stateAtRevision } from '../step-log.ts';
import { getOrCreate, key, type MemoryTables, type RetentionLedgerRow, type StepRow } from './tables.ts';

/**
 * The twin of the MySQL retention store over the in-process tables: the same rules (a step is compacted or a
 * runtime removed only once its events are published; the audit log goes only by its tenant's policy), the
 * archive as maps. The embedded mode's retention job runs on it.
 */
export class MemoryRetentionStore implements RetentionStore {
  constructor(private readonly t: MemoryTables) {}

  async forgetIdempotencyKeys(before: number, limit: number): Promise<RetentionBatch> {
    let forgotten = 0;
    for (const [k, ref] of this.t.idempotency) {
      if (forgotten >= limit) break;
      if (ref.createdAt >= before) continue;
      this.t.idempotency.delete(k);
      const tenant = k.slice(0, k.indexOf('\u0000'));
      const step = this.t.steps.get(key(tenant, ref.runtimeId))?.find((s) => s.revision === ref.revision);
      if (step) delete step.idemKey;
      forgotten += 1;
    }
    return { rows: { 'runtime_steps.idem_key': forgotten }, more: forgotten >= limit };
  }

  /** The twin has no pre-004 outbox table. */
  async prunePublishedOutbox(): Promise<RetentionBatch> {
    return { rows: { outbox: 0 }, more: false };
  }

  async compactSteps(before: number, limit: number, mode: RetentionMode): Promise<RetentionBatch> {
    let removed = 0;
    for (const [k, steps] of this.t.steps) {
      if (removed >= limit) break;
      const old = leading(steps, (s) => s.createdAt < before && this.published(s));
      const newest = old[old.length - 1];
      if (newest === undefined || old.length < 2) continue;
      const state = stateAtRevision(old, newest.revision);
      if (state === undefined) continue;
      if (mode === 'archive') this.archiveSteps(k, old);
      steps.splice(0, old.length - 1);
      steps[0] = { ...newest, body: baseStepBody(state, newest.body.cause) };
      removed += old.length - 1;
      for (const s of old.slice(0, -1)) this.forgetKey(k, s);
      getOrCreate<string, RetentionLedgerRow>(this.t.retentionLedger, k, () => ({})).stepsThroughRevision =
        newest.revision;
    }
    return { rows: { runtime_steps: removed }, more: removed >= limit };
  }

  async removeFinishedRuntimes(
    finishedBefore: number,
    limit: number,
    mode: RetentionMode,
    now: number,
  ): Promise<RetentionBatch> {
    const rows = { runtimes: 0, runtime_steps: 0, tasks: 0 };
    let candidates = 0;
    for (const [k, row] of this.t.runtimes) {
      const { state } = row;
      if (!FINISHED_STATUSES.has(state.status) || state.updatedAt >= finishedBefore) continue;
      if (++candidates > limit) break;
      const steps = this.t.steps.get(k) ?? [];
      if (!steps.every((s) => this.published(s))) continue;
      const tenant = k.slice(0, k.indexOf('\u0000'));
      const tasks = [...this.t.tasks.values()].filter((t) => t.tenant === tenant && t.runtimeId === state.runtime.id);
      if (mode === 'archive') {
        this.t.archive.runtimes.set(k, row);
        this.archiveSteps(k, steps);
        this.t.archive.tasks.set(k, tasks);
      }
      for (const s of steps) this.forgetKey(k, s);
      for (const task of tasks) {
        this.t.tasks.delete(key(tenant, task.runtimeId, task.stage, task.assignee));
        this.t.inbox(tenant, task.assignee, task.status).remove(task);
      }
      this.t.steps.delete(k);
      this.t.runtimes.delete(k);
      this.t.tenantRuntimeIds(tenant).remove(state.runtime.id);
      Object.assign(
        getOrCreate<string, RetentionLedgerRow>(this.t.retentionLedger, k, () => ({})),
        {
          finishedAt: state.updatedAt,
          removedAt: now,
        },
      );
      rows.runtimes += 1;
      rows.runtime_steps += steps.length;
      rows.tasks += tasks.length;
    }
    // As MySQL: a batch that removed nothing ends the run (what it found waits for its events to be published).
    return { rows, more: rows.runtimes > 0 && candidates > limit };
  }

  async pruneAuditLogs(now: number, limit: number): Promise<RetentionBatch> {
    let runtimes = 0;
    let deleted = 0;
    for (const [k, entry] of this.t.retentionLedger) {
      if (runtimes >= limit) break;
      const days = this.t.retentionPolicies.get(k.slice(0, k.indexOf('\u0000')))?.auditLogDays ?? null;
      if (days === null || entry.removedAt === undefined || entry.auditRemovedAt !== undefined) continue;
      if ((entry.finishedAt ?? Infinity) >= now - days * DAY_MS) continue;
      deleted += this.t.logs.get(k)?.length ?? 0;
      this.t.logs.delete(k);
      entry.auditRemovedAt = now;
      runtimes += 1;
    }
    return { rows: { runtime_log: deleted }, more: runtimes >= limit };
  }

  async getPolicy(tenant: string): Promise<StoredRetentionPolicy | undefined> {
    const policy = this.t.retentionPolicies.get(tenant);
    return policy && { tenant, ...policy };
  }

  async setPolicy(tenant: string, policy: RetentionPolicy, now: number): Promise<StoredRetentionPolicy> {
    this.t.retentionPolicies.set(tenant, { auditLogDays: policy.auditLogDays, updatedAt: now });
    return { tenant, auditLogDays: policy.auditLogDays, updatedAt: now };
  }

  /** Its events left the relay (or it had none). */
  private published(s: StepRow): boolean {
    return !this.t.unpublished.get(s.shard)?.has(s.position);
  }

  /** A removed step's idempotency key goes with it. */
  private forgetKey(runtimeKey: string, s: StepRow): void {
    if (s.idemKey === undefined) return;
    const tenant = runtimeKey.slice(0, runtimeKey.indexOf('\u0000'));
    this.t.idempotency.delete(key(tenant, s.idemKey));
  }

  /** A step archived before keeps its first copy (as MySQL's archive). */
  private archiveSteps(runtimeKey: string, steps: readonly StepRow[]): void {
    const archived = getOrCreate(this.t.archive.steps, runtimeKey, () => []);
    for (const s of steps) if (!archived.some((a) => a.revision === s.revision)) archived.push(s);
  }
}

/** The leading items for which `ok` holds. */
function leading<T>(items: readonly T[], ok: (item: T) => boolean): T[] {
  const i = items.findIndex((item) => !ok(item));
  return i === -1 ? [...items] : items.slice(0, i);
}
