import type mysql from 'mysql2/promise';
import type { RuntimeState } from '../../engine/index.ts';
import type { InboxItem, Page, ReadModel, RuntimeListFilter, StoredLogEntry } from '../ports.ts';
import { checkLimit, decodeInboxCursor, decodeRuntimeCursor, encodeCursor, toPage } from '../pagination.ts';
import { CoalescedReads } from './coalesced-reads.ts';
import { num, optNum, sqlContext, str, type MySqlRepositoryOptions, type Row, type SqlContext } from './sql.ts';
import { openState, openStepBody } from './sealed-columns.ts';
import { AUDIT_LOG_COLUMNS, mergeAuditLog, stepLogEntries, toLogEntry } from './audit-log.ts';

/** The CQRS read side over MySQL (a read replica is fine). Keyset pagination with opaque cursors. */
export class MySqlReadModel implements ReadModel {
  private readonly ctx: SqlContext;
  /** Inbox pages, and runtimes, asked for in the same turn go to MySQL as one statement each. */
  private readonly inboxReads: CoalescedReads;
  private readonly runtimeReads: CoalescedReads;

  constructor(pool: mysql.Pool, options: MySqlRepositoryOptions = {}) {
    this.ctx = sqlContext(pool, options);
    this.inboxReads = new CoalescedReads((sql, values) => this.ctx.select(sql, values), byInboxOrder);
    this.runtimeReads = new CoalescedReads((sql, values) => this.ctx.select(sql, values), undefined);
  }

  async getRuntime(tenant: string, runtimeId: string): Promise<RuntimeState | undefined> {
    const rows = await this.runtimeReads.query('SELECT state FROM runtimes WHERE tenant = ? AND id = ?', [
      tenant,
      runtimeId,
    ]);
    return rows[0] ? this.state(tenant, runtimeId, rows[0].state) : undefined;
  }

  /** Ordered by id; each filter narrows to an index prefix (`runtimes_by_app_status`, `runtimes_by_status`, `runtimes_by_doc`). */
  async listRuntimes(
    tenant: string,
    filter: RuntimeListFilter,
    limit: number,
    cursor?: string,
  ): Promise<Page<RuntimeState>> {
    checkLimit(limit);
    const where = ['tenant = ?'];
    const values: unknown[] = [tenant];
    for (const [column, value] of [
      ['app', filter.app],
      ['doc_id', filter.docId],
      ['status', filter.status],
    ] as const) {
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      values.push(value);
    }
    if (cursor !== undefined) {
      where.push('id > ?');
      values.push(decodeRuntimeCursor(cursor)[0]);
    }
    const rows = await this.ctx.select(
      `SELECT id, state FROM runtimes WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`,
      [...values, limit + 1],
    );
    const page = toPage(rows, limit, (last) => encodeCursor([str(last.id)]));
    const items = await Promise.all(page.items.map((r) => this.state(tenant, str(r.id), r.state)));
    return { items, nextCursor: page.nextCursor };
  }

  /**
   * The audit log (audit-log.ts): the runtime_log rows (of steps retention removed, or committed before the log
   * held the history), then the entries of the steps in the log. The steps are read first: a retention run
   * between the two reads writes the rows of the steps it removes before it removes them, so an entry shows
   * in both reads, never in neither.
   */
  async runtimeLog(tenant: string, runtimeId: string): Promise<StoredLogEntry[]> {
    const steps = await this.ctx.select(
      'SELECT revision, body FROM runtime_steps WHERE tenant = ? AND runtime_id = ? ORDER BY revision',
      [tenant, runtimeId],
    );
    const rows = await this.ctx.select(
      `SELECT ${AUDIT_LOG_COLUMNS} FROM runtime_log WHERE tenant = ? AND runtime_id = ? ORDER BY seq`,
      [tenant, runtimeId],
    );
    const stored = await Promise.all(rows.map((r) => toLogEntry(this.ctx.cipher, tenant, runtimeId, r)));
    const bodies = await Promise.all(
      steps.map((r) => openStepBody(this.ctx.cipher, tenant, runtimeId, num(r.revision), r.body)),
    );
    return mergeAuditLog(stored, stepLogEntries(bodies));
  }

  /**
   * Keyset over `(assigned_at, runtime_id, stage)`, the tail of `tasks_inbox`. The
   * leading `assigned_at >= ?` keeps the scan a range on that index on both servers.
   * Each task is joined to its runtime by primary key for the pinned workflow version
   * (a LEFT JOIN: the tasks index drives, so the order needs no sort; a task whose runtime row is
   * not projected yet names the version it was written under). Pages asked for
   * in the same turn share one statement (CoalescedReads).
   */
  async inbox(
    tenant: string,
    assignee: string,
    status: 'open' | 'done',
    limit: number,
    cursor?: string,
  ): Promise<Page<InboxItem>> {
    checkLimit(limit);
    let sql =
      'SELECT t.runtime_id, t.app, t.doc_id, COALESCE(r.workflow_id, t.workflow_id) AS workflow_id, ' +
      'COALESCE(r.version, t.version) AS version, t.node, t.stage, t.status, t.assigned_at, t.due_at ' +
      'FROM tasks t LEFT JOIN runtimes r ON r.tenant = t.tenant AND r.id = t.runtime_id ' +
      'WHERE t.tenant = ? AND t.assignee = ? AND t.status = ?';
    const values: unknown[] = [tenant, assignee, status];
    if (cursor !== undefined) {
      const [at, runtimeId, stage] = decodeInboxCursor(cursor);
      sql +=
        ' AND t.assigned_at >= ? AND (t.assigned_at > ? OR t.runtime_id > ? OR (t.runtime_id = ? AND t.stage > ?))';
      values.push(at, at, runtimeId, runtimeId, stage);
    }
    sql += ' ORDER BY t.assigned_at, t.runtime_id, t.stage LIMIT ?';
    const rows = await this.inboxReads.query(sql, [...values, limit + 1]);
    return toPage(rows.map(toInboxItem), limit, (last) => encodeCursor([last.assignedAt, last.runtimeId, last.stage]));
  }

  private state(tenant: string, runtimeId: string, stored: unknown): Promise<RuntimeState> {
    return openState(this.ctx.cipher, tenant, runtimeId, stored);
  }
}

/** The inbox's ORDER BY (assigned_at, runtime_id, stage) in JavaScript: ids are ASCII, so utf8mb4_bin order is code unit order. */
function byInboxOrder(a: Row, b: Row): number {
  const at = num(a.assigned_at) - num(b.assigned_at);
  if (at !== 0) return at;
  const ida = str(a.runtime_id);
  const idb = str(b.runtime_id);
  return ida < idb ? -1 : ida > idb ? 1 : num(a.stage) - num(b.stage);
}

function toInboxItem(r: Row): InboxItem {
  const item: InboxItem = {
    runtimeId: str(r.runtime_id),
    app: str(r.app),
    docId: str(r.doc_id),
    workflowId: str(r.workflow_id),
    version: num(r.version),
    node: str(r.node),
    stage: num(r.stage),
    status: str(r.status) as InboxItem['status'],
    assignedAt: num(r.assigned_at),
  };
  const dueAt = optNum(r.due_at);
  if (dueAt !== undefined) item.dueAt = dueAt;
  return item;
}
