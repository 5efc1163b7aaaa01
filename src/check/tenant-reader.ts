import type mysql from 'mysql2/promise';
import type { DomainEvent, RuntimeState, TaskChange } from '../engine/index.ts';
import { AUDIT_LOG_COLUMNS, mergeAuditLog, stepLogEntries, toLogEntry } from '../store/mysql/audit-log.ts';
import { num, openJson, optNum, optStr, selectRows, str, type Row } from '../store/mysql/sql.ts';
import { ENCRYPTED } from '../store/crypto/encrypted-columns.ts';
import { type FieldCipher, PLAINTEXT_CIPHER } from '../store/crypto/field-cipher.ts';
import type { StoredLogEntry } from '../store/ports.ts';
import { stepEvents, type StepBody } from '../store/step-log.ts';
import { openState, openStepBody } from '../store/mysql/sealed-columns.ts';

/**
 * The checker's reads of one tenant, in pages so that a tenant of 10^5
 * runtimes is never loaded by one query: runtimes by id, each page's log and
 * task rows by the same id range (so rows of a runtime that does not exist
 * are seen too), the outbox (the steps with events, after what an upgrade left
 * in the old outbox table) by position. Every query has the given timeout.
 */

/** A task row as the tasks table holds it. */
export type StoredTask = TaskChange;

/** The rows of one runtime id (`state` undefined: log or task rows without a runtime). */
export interface RuntimeRows {
  runtimeId: string;
  state: RuntimeState | undefined;
  log: StoredLogEntry[];
  tasks: StoredTask[];
  /** Its runtime_steps rows (the log-first log), in revision order; `keyCleared`: the row's idempotency key is NULL. */
  steps: { revision: number; position: number; keyCleared: boolean; body: StepBody }[];
}

export interface OutboxRow {
  position: number;
  runtimeId: string;
  seq: number;
  events: DomainEvent[];
  published: boolean;
}

export interface TenantReaderOptions {
  pool: mysql.Pool;
  tenant: string;
  /** Opens the encrypted columns (docs/security.md). @default PLAINTEXT_CIPHER */
  cipher?: FieldCipher;
  timeoutMs: number;
  /** Runtimes per page. */
  pageSize: number;
}

const TASK_COLUMNS = 'runtime_id, stage, assignee, node, status, action, assigned_at, closed_at, due_at';

/** Every runtime id of the tenant with its state, log and tasks, a page at a time, in id order. */
export async function* runtimePages(o: TenantReaderOptions): AsyncGenerator<RuntimeRows[]> {
  let after: string | undefined;
  for (;;) {
    const runtimes = await select(
      o,
      `SELECT id, state FROM runtimes WHERE tenant = ?${after === undefined ? '' : ' AND id > ?'} ORDER BY id LIMIT ?`,
      after === undefined ? [o.tenant, o.pageSize] : [o.tenant, after, o.pageSize],
    );
    const last = runtimes.length === o.pageSize ? str(runtimes[runtimes.length - 1]!.id) : undefined;
    // The id range of this page: (after, last]; the last page is open-ended, so rows past the last runtime are read too.
    const range = idRange(after, last);
    const [log, tasks, steps] = await Promise.all([
      select(
        o,
        `SELECT runtime_id, ${AUDIT_LOG_COLUMNS} FROM runtime_log WHERE tenant = ?${range.sql} ORDER BY runtime_id, seq`,
        [o.tenant, ...range.values],
      ),
      select(o, `SELECT ${TASK_COLUMNS} FROM tasks WHERE tenant = ?${range.sql} ORDER BY runtime_id, stage, assignee`, [
        o.tenant,
        ...range.values,
      ]),
      select(
        o,
        'SELECT runtime_id, revision, position, idem_key IS NULL AS key_cleared, body FROM runtime_steps ' +
          `WHERE tenant = ?${range.sql} ORDER BY runtime_id, revision`,
        [o.tenant, ...range.values],
      ),
    ]);
    yield await assemble(o.tenant, o.cipher ?? PLAINTEXT_CIPHER, runtimes, log, tasks, steps);
    if (last === undefined) return;
    after = last;
  }
}

/**
 * The tenant's outbox in position order, a page at a time: the rows an upgrade left in the old outbox table
 * (published when marked), then its steps with events (published when at or below their shard's published
 * watermark).
 */
export async function* outboxPages(o: TenantReaderOptions & { outboxPageSize: number }): AsyncGenerator<OutboxRow[]> {
  let after = 0;
  for (;;) {
    const rows = await select(
      o,
      'SELECT position, runtime_id, seq, events, published_at FROM outbox WHERE tenant = ? AND position > ? ORDER BY position LIMIT ?',
      [o.tenant, after, o.outboxPageSize],
    );
    yield await Promise.all(
      rows.map(async (r) => ({
        position: num(r.position),
        runtimeId: str(r.runtime_id),
        seq: num(r.seq),
        events: await openJson<DomainEvent[]>(cipherOf(o), o.tenant, ENCRYPTED.outboxEvents, str(r.position), r.events),
        published: r.published_at !== null && r.published_at !== undefined,
      })),
    );
    if (rows.length < o.outboxPageSize) break;
    after = num(rows[rows.length - 1]!.position);
  }
  const marks = await select(o, 'SELECT shard, published_position FROM shard_watermarks', []);
  const published = new Map(marks.map((m) => [num(m.shard), num(m.published_position)]));
  after = 0;
  for (;;) {
    const rows = await select(
      o,
      'SELECT position, shard, runtime_id, revision, body FROM runtime_steps WHERE tenant = ? AND events > 0 AND position > ? ORDER BY position LIMIT ?',
      [o.tenant, after, o.outboxPageSize],
    );
    const bodies = await Promise.all(rows.map((r) => stepBody(cipherOf(o), o.tenant, r)));
    yield rows.map((r, i) => {
      const body = bodies[i]!;
      const position = num(r.position);
      return {
        position,
        runtimeId: str(r.runtime_id),
        seq: body.seq,
        events: stepEvents(o.tenant, str(r.runtime_id), body),
        published: position <= (published.get(num(r.shard)) ?? 0),
      };
    });
    if (rows.length < o.outboxPageSize) return;
    after = num(rows[rows.length - 1]!.position);
  }
}

/**
 * The tenant's idempotency keys (key, runtime), a page at a time in key order: those on its steps, then
 * those committed before migration 004 (the idempotency_keys table).
 */
export async function* idempotencyPages(
  o: TenantReaderOptions & { keyPageSize: number },
): AsyncGenerator<{ key: string; runtimeId: string }[]> {
  for (const table of ['runtime_steps', 'idempotency_keys']) {
    const notNull = table === 'runtime_steps' ? ' AND idem_key IS NOT NULL' : '';
    let after: string | undefined;
    for (;;) {
      const rows = await select(
        o,
        `SELECT idem_key, runtime_id FROM ${table} WHERE tenant = ?${notNull}${after === undefined ? '' : ' AND idem_key > ?'} ORDER BY idem_key LIMIT ?`,
        after === undefined ? [o.tenant, o.keyPageSize] : [o.tenant, after, o.keyPageSize],
      );
      yield rows.map((r) => ({ key: str(r.idem_key), runtimeId: str(r.runtime_id) }));
      if (rows.length < o.keyPageSize) break;
      after = str(rows[rows.length - 1]!.idem_key);
    }
  }
}

/** When the tenant's directory last changed (the newest employee or group `updated_at`), if it has one. */
export async function directoryChangedAt(o: TenantReaderOptions): Promise<number | undefined> {
  const [employees, groups] = await Promise.all([
    select(o, 'SELECT MAX(updated_at) AS at FROM employees WHERE tenant = ?', [o.tenant]),
    select(o, 'SELECT MAX(updated_at) AS at FROM directory_groups WHERE tenant = ?', [o.tenant]),
  ]);
  const times = [optNum(employees[0]?.at), optNum(groups[0]?.at)].filter((t): t is number => t !== undefined);
  return times.length === 0 ? undefined : Math.max(...times);
}

function idRange(after: string | undefined, last: string | undefined): { sql: string; values: string[] } {
  const sql: string[] = [];
  const values: string[] = [];
  if (after !== undefined) {
    sql.push(' AND runtime_id > ?');
    values.push(after);
  }
  if (last !== undefined) {
    sql.push(' AND runtime_id <= ?');
    values.push(last);
  }
  return { sql: sql.join(''), values };
}

const cipherOf = (o: TenantReaderOptions): FieldCipher => o.cipher ?? PLAINTEXT_CIPHER;

/** A runtime_steps row's body (columns `runtime_id`, `revision`, `body`), opened. */
const stepBody = (cipher: FieldCipher, tenant: string, r: Row): Promise<StepBody> =>
  openStepBody(cipher, tenant, str(r.runtime_id), num(r.revision), r.body);

async function assemble(
  tenant: string,
  cipher: FieldCipher,
  runtimes: Row[],
  log: Row[],
  tasks: Row[],
  steps: Row[],
): Promise<RuntimeRows[]> {
  const byId = new Map<string, RuntimeRows>();
  const rowsOf = (id: string): RuntimeRows => {
    let rows = byId.get(id);
    if (!rows) byId.set(id, (rows = { runtimeId: id, state: undefined, log: [], tasks: [], steps: [] }));
    return rows;
  };
  for (const r of runtimes) rowsOf(str(r.id)).state = await openState(cipher, tenant, str(r.id), r.state);
  for (const r of log) rowsOf(str(r.runtime_id)).log.push(await toLogEntry(cipher, tenant, str(r.runtime_id), r));
  for (const r of tasks) rowsOf(str(r.runtime_id)).tasks.push(toTask(r));
  for (const r of steps)
    rowsOf(str(r.runtime_id)).steps.push({
      revision: num(r.revision),
      position: num(r.position),
      keyCleared: num(r.key_cleared) === 1,
      body: await stepBody(cipher, tenant, r),
    });
  // The history (audit-log.ts) as of the runtime row: the steps it holds, not those committed after it, so the
  // row is checked against a replay of exactly its own steps. Without a row, the whole log (it names the runtime).
  for (const rows of byId.values()) {
    const upTo = rows.state?.revision ?? Number.POSITIVE_INFINITY;
    rows.log = mergeAuditLog(rows.log, stepLogEntries(rows.steps.filter((s) => s.revision <= upTo).map((s) => s.body)));
  }
  return [...byId.values()];
}

/** What retention removed for the tenant (docs/operations.md#retention), for the checks to tell from a loss. */
export interface RetentionRecord {
  /**
   * Per runtime it touched: the log seq through which its steps were compacted (their events left the outbox,
   * their idempotency keys went with them), or Infinity when its hot rows were removed; `auditRemoved`: its
   * audit log too.
   */
  runtimes: Map<string, { throughSeq: number; auditRemoved: boolean }>;
  /** Steps at or below this position had their idempotency keys forgotten once old enough (0: none). */
  idempotencyPosition: number;
}

/** The retention ledger's rows of the tenant and the job's idempotency cursor. */
export async function retentionRecord(o: TenantReaderOptions): Promise<RetentionRecord> {
  const [ledger, marks] = await Promise.all([
    select(
      o,
      'SELECT runtime_id, steps_through_seq, removed_at, audit_removed_at FROM retention_ledger WHERE tenant = ?',
      [o.tenant],
    ),
    select(o, "SELECT value FROM retention_marks WHERE name = 'idempotency'", []),
  ]);
  const runtimes = new Map(
    ledger.map((r) => [
      str(r.runtime_id),
      {
        throughSeq: r.removed_at !== null ? Infinity : (optNum(r.steps_through_seq) ?? 0),
        auditRemoved: r.audit_removed_at !== null,
      },
    ]),
  );
  return { runtimes, idempotencyPosition: optNum(marks[0]?.value) ?? 0 };
}

/** The tenant's document slots (active_documents): `app\u0000docId` → the runtime holding it. */
export async function documentSlots(o: TenantReaderOptions): Promise<Map<string, string>> {
  const rows = await select(o, 'SELECT app, doc_id, runtime_id FROM active_documents WHERE tenant = ?', [o.tenant]);
  return new Map(rows.map((r) => [`${str(r.app)}\u0000${str(r.doc_id)}`, str(r.runtime_id)]));
}

function toTask(r: Row): StoredTask {
  const t: StoredTask = {
    stage: num(r.stage),
    node: str(r.node),
    assignee: str(r.assignee),
    status: str(r.status) as StoredTask['status'],
    assignedAt: num(r.assigned_at),
  };
  const action = optStr(r.action);
  const closedAt = optNum(r.closed_at);
  const dueAt = optNum(r.due_at);
  if (action !== undefined) t.action = action;
  if (closedAt !== undefined) t.closedAt = closedAt;
  if (dueAt !== undefined) t.dueAt = dueAt;
  return t;
}

function select(o: TenantReaderOptions, sql: string, values: unknown[]): Promise<Row[]> {
  return selectRows(o.pool, o.timeoutMs, sql, values);
}
