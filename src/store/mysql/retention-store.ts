import type mysql from 'mysql2/promise';
import type {
  RetentionBatch,
  RetentionMode,
  RetentionPolicy,
  RetentionStore,
  StoredRetentionPolicy,
} from '../retention-ports.ts';
import { DAY_MS } from '../retention-ports.ts';
import { ENCRYPTED, pairId } from '../crypto/encrypted-columns.ts';
import { baseStepBody, stateAtRevision, type StepBody } from '../step-log.ts';
import { auditLogRows, INSERT_AUDIT_LOG, stepLogEntries } from './audit-log.ts';
import { openStepBody } from './sealed-columns.ts';
import {
  execute,
  inTransaction,
  num,
  optNum,
  selectRows,
  sqlContext,
  str,
  type MySqlRepositoryOptions,
  type Queryable,
  type Row,
  type SqlContext,
} from './sql.ts';

const STEP_COLS = 'tenant, runtime_id, revision, position, shard, idem_key, events, body, created_at';
const RUNTIME_COLS =
  'tenant, id, app, doc_id, company_id, workflow_id, version, status, current_node, state, revision, shard, created_at, updated_at';
const TASK_COLS =
  'tenant, runtime_id, stage, assignee, node, app, doc_id, status, action, assigned_at, closed_at, due_at';

/** A shard's watermarks. */
interface Marks {
  published: number;
  projected: number;
}

/**
 * Retention over MySQL. Every call is one bounded batch: a scan of at most `limit` rows by an index, and
 * short transactions of one runtime each (READ COMMITTED, so they take no gap locks in front of the writers),
 * every statement under the query timeout. The job's cursors over runtime_steps positions live in
 * `retention_marks`; what was removed per runtime is in `retention_ledger`, which `bflow check` reads.
 */
export class MySqlRetentionStore implements RetentionStore {
  private readonly ctx: SqlContext;

  constructor(pool: mysql.Pool, options: MySqlRepositoryOptions = {}) {
    this.ctx = sqlContext(pool, options);
  }

  async forgetIdempotencyKeys(before: number, limit: number): Promise<RetentionBatch> {
    const legacy = await this.transaction((conn) =>
      this.run(conn, 'DELETE FROM idempotency_keys WHERE created_at < ? LIMIT ?', [before, limit]),
    );
    const after = await this.mark('idempotency');
    const steps = await this.ctx.select(
      'SELECT position, created_at FROM runtime_steps WHERE position > ? ORDER BY position LIMIT ?',
      [after, limit],
    );
    const old = prefix(steps, (r) => num(r.created_at) < before);
    let cleared = 0;
    if (old.length > 0) {
      const upTo = num(old[old.length - 1]!.position);
      cleared = await this.transaction((conn) =>
        this.run(
          conn,
          'UPDATE runtime_steps SET idem_key = NULL WHERE position > ? AND position <= ? AND idem_key IS NOT NULL',
          [after, upTo],
        ),
      );
      await this.setMark('idempotency', upTo);
    }
    return {
      rows: { idempotency_keys: legacy, 'runtime_steps.idem_key': cleared },
      more: legacy === limit || (old.length === steps.length && steps.length === limit),
    };
  }

  async prunePublishedOutbox(before: number, limit: number): Promise<RetentionBatch> {
    const deleted = await this.transaction((conn) =>
      this.run(conn, 'DELETE FROM outbox WHERE published_at IS NOT NULL AND created_at < ? LIMIT ?', [before, limit]),
    );
    return { rows: { outbox: deleted }, more: deleted === limit };
  }

  async compactSteps(before: number, limit: number, mode: RetentionMode, now: number): Promise<RetentionBatch> {
    const after = await this.mark('steps');
    const [steps, marks] = await Promise.all([
      this.ctx.select(
        'SELECT tenant, runtime_id, revision, position, shard, events, created_at FROM runtime_steps ' +
          'WHERE position > ? ORDER BY position LIMIT ?',
        [after, limit],
      ),
      this.watermarks(),
    ]);
    // Steps in position order, as long as each is old enough, published (or without events) and projected: the
    // cursor stops at the first that is not, so it never passes a step it may need to come back to.
    const done = prefix(steps, (r) => {
      const m = marks.get(num(r.shard));
      const position = num(r.position);
      return (
        m !== undefined &&
        num(r.created_at) < before &&
        position <= m.projected &&
        (num(r.events) === 0 || position <= m.published)
      );
    });
    const newest = new Map<string, { tenant: string; runtimeId: string; revision: number }>();
    for (const r of done) {
      const key = `${str(r.tenant)}\u0000${str(r.runtime_id)}`;
      const revision = num(r.revision);
      if ((newest.get(key)?.revision ?? -1) < revision)
        newest.set(key, { tenant: str(r.tenant), runtimeId: str(r.runtime_id), revision });
    }
    let removed = 0;
    for (const { tenant, runtimeId, revision } of newest.values()) {
      removed += await this.transaction((conn) => this.compactRuntime(conn, tenant, runtimeId, revision, mode, now));
    }
    if (done.length > 0) await this.setMark('steps', num(done[done.length - 1]!.position));
    return { rows: { runtime_steps: removed }, more: done.length === steps.length && steps.length === limit };
  }

  /** Removes the runtime's steps below `revision` and makes the step at it a base step; the steps removed. */
  private async compactRuntime(
    conn: Queryable,
    tenant: string,
    runtimeId: string,
    revision: number,
    mode: RetentionMode,
    now: number,
  ): Promise<number> {
    const rows = await selectRows(
      conn,
      this.ctx.timeout,
      'SELECT revision, body FROM runtime_steps WHERE tenant = ? AND runtime_id = ? AND revision <= ? ' +
        'ORDER BY revision FOR UPDATE',
      [tenant, runtimeId, revision],
    );
    if (rows.length < 2) return 0; // nothing below it (its only step, or compacted before)
    const steps = await Promise.all(
      rows.map(async (r) => ({
        revision: num(r.revision),
        body: await openStepBody(this.ctx.cipher, tenant, runtimeId, num(r.revision), r.body),
      })),
    );
    const state = stateAtRevision(steps, revision);
    if (state === undefined) return 0; // a log older than migration 004 without a base: left as it is
    const key = [tenant, runtimeId];
    await this.ctx.cipher.ready([tenant]);
    // Their history stays: the audit rows of every step whose body goes (the one at revision becomes a base).
    await this.keepHistory(
      conn,
      tenant,
      runtimeId,
      steps.map((s) => s.body),
    );
    if (mode === 'archive') await this.archiveSteps(conn, tenant, runtimeId, revision, now);
    const removed = await this.run(
      conn,
      'DELETE FROM runtime_steps WHERE tenant = ? AND runtime_id = ? AND revision < ?',
      [...key, revision],
    );
    const last = steps[steps.length - 1]!.body;
    const base = JSON.stringify(baseStepBody(state, last.cause));
    await this.run(
      conn,
      'UPDATE runtime_steps SET body = ?, events = 0 WHERE tenant = ? AND runtime_id = ? AND revision = ?',
      [this.ctx.cipher.seal(tenant, ENCRYPTED.stepBody, pairId(runtimeId, revision), base), ...key, revision],
    );
    await this.run(
      conn,
      'INSERT INTO retention_ledger (tenant, runtime_id, steps_through_revision, steps_through_seq, updated_at) ' +
        'VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE steps_through_revision = VALUES(steps_through_revision), ' +
        'steps_through_seq = VALUES(steps_through_seq), updated_at = VALUES(updated_at)',
      [...key, revision, state.seq, now],
    );
    return removed;
  }

  async removeFinishedRuntimes(
    finishedBefore: number,
    limit: number,
    mode: RetentionMode,
    now: number,
  ): Promise<RetentionBatch> {
    const candidates = await this.ctx.select(
      'SELECT tenant, id FROM runtimes WHERE finished_at < ? ORDER BY finished_at LIMIT ?',
      [finishedBefore, limit],
    );
    const rows: Record<'runtimes' | 'runtime_steps' | 'tasks', number> = { runtimes: 0, runtime_steps: 0, tasks: 0 };
    for (const c of candidates) {
      const r = await this.transaction((conn) =>
        this.removeRuntime(conn, str(c.tenant), str(c.id), finishedBefore, mode, now),
      );
      if (r === undefined) continue;
      rows.runtimes += r.runtimes;
      rows.runtime_steps += r.runtime_steps;
      rows.tasks += r.tasks;
    }
    // A batch that removed nothing ends the run: what it found waits for its events to be published (the next
    // run looks again), and must not be read again and again now.
    return { rows, more: rows.runtimes > 0 && candidates.length === limit };
  }

  /** Archives or deletes one finished runtime's hot rows; undefined when it is not (or no longer) removable. */
  private async removeRuntime(
    conn: Queryable,
    tenant: string,
    runtimeId: string,
    finishedBefore: number,
    mode: RetentionMode,
    now: number,
  ): Promise<Record<'runtimes' | 'runtime_steps' | 'tasks', number> | undefined> {
    const key = [tenant, runtimeId];
    const [runtime] = await selectRows(
      conn,
      this.ctx.timeout,
      'SELECT revision, shard, finished_at FROM runtimes WHERE tenant = ? AND id = ? FOR UPDATE',
      key,
    );
    const finishedAt = optNum(runtime?.finished_at);
    if (runtime === undefined || finishedAt === undefined || finishedAt >= finishedBefore) return undefined;
    // Every step projected (the row is at the last one) and its events published: nothing is left to do for it.
    const [last] = await selectRows(
      conn,
      this.ctx.timeout,
      'SELECT MAX(revision) AS revision, MAX(IF(events > 0, position, 0)) AS evented FROM runtime_steps ' +
        'WHERE tenant = ? AND runtime_id = ? FOR UPDATE',
      key,
    );
    const marks = (await this.watermarks(conn)).get(num(runtime.shard));
    const lastRevision = optNum(last?.revision);
    if (lastRevision !== undefined && lastRevision !== num(runtime.revision)) return undefined;
    if (num(last?.evented ?? 0) > (marks?.published ?? 0)) return undefined;
    // The audit log outlives the hot rows (pruneAuditLogs): the steps' history is written out first.
    const steps = await selectRows(
      conn,
      this.ctx.timeout,
      'SELECT revision, body FROM runtime_steps WHERE tenant = ? AND runtime_id = ?',
      key,
    );
    await this.ctx.cipher.ready([tenant]);
    await this.keepHistory(
      conn,
      tenant,
      runtimeId,
      await Promise.all(steps.map((r) => openStepBody(this.ctx.cipher, tenant, runtimeId, num(r.revision), r.body))),
    );
    if (mode === 'archive') {
      await this.archiveSteps(conn, tenant, runtimeId, Number.MAX_SAFE_INTEGER, now);
      await this.run(
        conn,
        `INSERT INTO runtimes_archive (${RUNTIME_COLS}, archived_at) SELECT ${RUNTIME_COLS}, ? FROM runtimes ` +
          'WHERE tenant = ? AND id = ? ON DUPLICATE KEY UPDATE archived_at = VALUES(archived_at)',
        [now, ...key],
      );
      await this.run(
        conn,
        `INSERT INTO tasks_archive (${TASK_COLS}, archived_at) SELECT ${TASK_COLS}, ? FROM tasks ` +
          'WHERE tenant = ? AND runtime_id = ? ON DUPLICATE KEY UPDATE archived_at = VALUES(archived_at)',
        [now, ...key],
      );
    }
    const removed = {
      runtime_steps: await this.run(conn, 'DELETE FROM runtime_steps WHERE tenant = ? AND runtime_id = ?', key),
      tasks: await this.run(conn, 'DELETE FROM tasks WHERE tenant = ? AND runtime_id = ?', key),
      runtimes: await this.run(conn, 'DELETE FROM runtimes WHERE tenant = ? AND id = ?', key),
    };
    await this.run(
      conn,
      'INSERT INTO retention_ledger (tenant, runtime_id, finished_at, removed_at, removed_mode, updated_at) ' +
        'VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE finished_at = VALUES(finished_at), ' +
        'removed_at = VALUES(removed_at), removed_mode = VALUES(removed_mode), updated_at = VALUES(updated_at)',
      [...key, finishedAt, now, mode, now],
    );
    return removed;
  }

  /**
   * Writes the audit rows (runtime_log) of steps about to be removed or made a base step: the history is read
   * from the log (audit-log.ts), so the entries of steps that leave it are kept as rows. The cipher is ready.
   */
  private async keepHistory(conn: Queryable, tenant: string, runtimeId: string, bodies: StepBody[]): Promise<void> {
    const rows = auditLogRows(tenant, runtimeId, stepLogEntries(bodies), this.ctx.cipher);
    if (rows.length > 0) await this.run(conn, INSERT_AUDIT_LOG, [rows]);
  }

  /** Copies the runtime's steps at or below `revision` to the archive (a step archived before keeps its first copy). */
  private async archiveSteps(
    conn: Queryable,
    tenant: string,
    runtimeId: string,
    revision: number,
    now: number,
  ): Promise<void> {
    await this.run(
      conn,
      `INSERT INTO runtime_steps_archive (${STEP_COLS}, archived_at) SELECT ${STEP_COLS}, ? FROM runtime_steps ` +
        'WHERE tenant = ? AND runtime_id = ? AND revision <= ? ' +
        'ON DUPLICATE KEY UPDATE archived_at = runtime_steps_archive.archived_at',
      [now, tenant, runtimeId, revision],
    );
  }

  async pruneAuditLogs(now: number, limit: number): Promise<RetentionBatch> {
    const policies = await this.ctx.select(
      'SELECT tenant, audit_log_days FROM retention_policies WHERE audit_log_days IS NOT NULL ORDER BY tenant',
      [],
    );
    let deleted = 0;
    let runtimes = 0;
    for (const p of policies) {
      if (runtimes >= limit) break;
      const tenant = str(p.tenant);
      const due = await this.ctx.select(
        'SELECT runtime_id FROM retention_ledger WHERE tenant = ? AND audit_removed_at IS NULL ' +
          'AND finished_at < ? AND removed_at IS NOT NULL LIMIT ?',
        [tenant, now - num(p.audit_log_days) * DAY_MS, limit - runtimes],
      );
      for (const r of due) {
        const key = [tenant, str(r.runtime_id)];
        deleted += await this.transaction(async (conn) => {
          const n = await this.run(conn, 'DELETE FROM runtime_log WHERE tenant = ? AND runtime_id = ?', key);
          await this.run(
            conn,
            'UPDATE retention_ledger SET audit_removed_at = ?, updated_at = ? WHERE tenant = ? AND runtime_id = ?',
            [now, now, ...key],
          );
          return n;
        });
        runtimes += 1;
      }
    }
    return { rows: { runtime_log: deleted }, more: runtimes >= limit };
  }

  async getPolicy(tenant: string): Promise<StoredRetentionPolicy | undefined> {
    const [row] = await this.ctx.select(
      'SELECT tenant, audit_log_days, updated_at FROM retention_policies WHERE tenant = ?',
      [tenant],
    );
    return row && { tenant, auditLogDays: optNum(row.audit_log_days) ?? null, updatedAt: num(row.updated_at) };
  }

  async setPolicy(tenant: string, policy: RetentionPolicy, now: number): Promise<StoredRetentionPolicy> {
    await this.run(
      this.ctx.db,
      'INSERT INTO retention_policies (tenant, audit_log_days, updated_at) VALUES (?, ?, ?) ' +
        'ON DUPLICATE KEY UPDATE audit_log_days = VALUES(audit_log_days), updated_at = VALUES(updated_at)',
      [tenant, policy.auditLogDays, now],
    );
    return { tenant, auditLogDays: policy.auditLogDays, updatedAt: now };
  }

  private async watermarks(db: Queryable = this.ctx.db): Promise<Map<number, Marks>> {
    const rows = await selectRows(
      db,
      this.ctx.timeout,
      'SELECT shard, published_position, projected_position FROM shard_watermarks',
    );
    return new Map(
      rows.map((r) => [num(r.shard), { published: num(r.published_position), projected: num(r.projected_position) }]),
    );
  }

  private async mark(name: string): Promise<number> {
    const [row] = await this.ctx.select('SELECT value FROM retention_marks WHERE name = ?', [name]);
    return num(row?.value ?? 0);
  }

  private async setMark(name: string, value: number): Promise<void> {
    await this.run(
      this.ctx.db,
      'INSERT INTO retention_marks (name, value, updated_at) VALUES (?, ?, ?) ' +
        'ON DUPLICATE KEY UPDATE value = GREATEST(value, VALUES(value)), updated_at = VALUES(updated_at)',
      [name, value, this.ctx.now()],
    );
  }

  /**
   * One short transaction at READ COMMITTED: row locks only, no gap locks in front of the writers' inserts
   * (under REPEATABLE READ, clearing keys locked the gaps of runtime_steps_idem that new steps insert into).
   */
  private transaction<T>(body: (conn: mysql.PoolConnection) => Promise<T>): Promise<T> {
    return inTransaction(this.ctx, body, 'READ COMMITTED');
  }

  private async run(db: Queryable, sql: string, values: unknown[]): Promise<number> {
    return (await execute(db, this.ctx.timeout, sql, values)).affectedRows;
  }
}

/** The leading rows for which `ok` holds. */
function prefix(rows: readonly Row[], ok: (r: Row) => boolean): Row[] {
  const i = rows.findIndex((r) => !ok(r));
  return i === -1 ? [...rows] : rows.slice(0, i);
}
