import type mysql from 'mysql2/promise';
import type { TraceScope } from '../../shared/trace-scope.ts';
import type { FieldCipher } from '../crypto/field-cipher.ts';
import type { CommitOutcome, TransitionRecord } from '../ports.ts';
import {
  claimsSlot,
  docKey,
  idemKey,
  planBatch,
  runtimeKey,
  type BatchRows,
  type BatchSnapshot,
  type ProjectionRows,
} from './batch-plan.ts';

/** SQL of one group commit, run inside a transaction the writer opened. */

export interface SqlContext {
  conn: mysql.PoolConnection;
  /** The batch's trace, if it carries a traced command: its statements run in it (see AroundBatch). */
  scope: TraceScope;
  timeoutMs: number;
  /**
   * The step between the auto-increment ids of one multi-row INSERT when the server allocates them
   * consecutively (innodb_autoinc_lock_mode 0 or 1: `auto_increment_increment`); undefined when it may
   * interleave them (mode 2), and step positions are then not reported.
   */
  autoIncrementStep?: number;
  /** The connection takes several statements per query: the fast path's writes go in one round trip. */
  multipleStatements?: boolean;
  /** `START TRANSACTION` is owed: sent with the next query (multipleStatements only), saving a round trip. */
  startPending?: boolean;
  /** The batch writes the log and the document slots only; a projector writes the projections after it. */
  projectLater?: boolean;
  /**
   * The fast path may end its round trip with `COMMIT` (MariaDB, multipleStatements, and every step position
   * known from the insert ids when a projector needs them): the revision guards then fail inside SQL, so no
   * statement after a failed guard runs. Set by the writer for its transaction.
   */
  commitWithWrites?: boolean;
  /** Set once the fast path sent `COMMIT` with its writes: the transaction is over. */
  committed?: boolean;
  /** Seals the encrypted columns; the batch's tenants are ready. @default PLAINTEXT_CIPHER */
  cipher?: FieldCipher;
}

/** The log position of each record's step, when the context knows how ids are allocated. */
export type StepPositions = Map<TransitionRecord, number>;

const ER_DUP_ENTRY = 1062;
/** The error a revision guard signals inside SQL (a user-defined error number, above MariaDB's own). */
const ER_STALE_REVISION = 30001;
/** Rows per multi-row statement: stays well under 65535 placeholders and max_allowed_packet. */
const CHUNK = 500;

/** The optimistic fast path met what it did not assume: the batch is rolled back and redone record by record. */
export class LostRaceError extends Error {}

/** A duplicate-key error raised by one of the batch's statements, tagged with its table. */
export class DuplicateKeyError extends LostRaceError {
  override readonly name = 'DuplicateKeyError';
  constructor(
    readonly table: string,
    cause: unknown,
  ) {
    super(`duplicate key in ${table}: ${(cause as Error).message}`, { cause });
  }
}

/** A runtime's stored revision was not the one the batch built on (another owner committed first). */
export class StaleRevisionError extends LostRaceError {
  override readonly name = 'StaleRevisionError';
}

export function errnoOf(err: unknown): number | undefined {
  const errno = (err as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

/** Sends `sqls` as one query, preceded by an owed START TRANSACTION (see SqlContext.startPending); returns each one's result. */
async function queryAfterStart(ctx: SqlContext, sqls: readonly string[], values?: unknown[]): Promise<unknown[]> {
  const all = ctx.startPending ? ['START TRANSACTION', ...sqls] : sqls;
  ctx.startPending = false;
  const [res] = await ctx.scope(() =>
    ctx.conn.query<mysql.QueryResult>({ sql: all.join(';\n'), values, timeout: ctx.timeoutMs }),
  );
  // Several statements answer an array of results; one answers its own result (rows are an array too).
  return all.length > 1 ? (res as unknown[]).slice(all.length - sqls.length) : [res];
}

async function q<T extends mysql.QueryResult = mysql.RowDataPacket[]>(
  ctx: SqlContext,
  sql: string,
  values?: unknown[],
): Promise<T> {
  return (await queryAfterStart(ctx, [sql], values))[0] as T;
}

/** `(tenant = ? AND col IN (?)) OR …` over keys grouped by their prefix columns. */
function orGroups(groups: Map<string, { head: unknown[]; ids: Set<string> }>, headCols: string[], col: string) {
  const clauses: string[] = [];
  const values: unknown[] = [];
  for (const g of groups.values()) {
    clauses.push(`(${headCols.map((c) => `${c} = ?`).join(' AND ')} AND ${col} IN (?))`);
    values.push(...g.head, [...g.ids].sort());
  }
  return { where: clauses.join(' OR '), values };
}

function group(items: Iterable<{ head: unknown[]; id: string }>) {
  const groups = new Map<string, { head: unknown[]; ids: Set<string> }>();
  for (const { head, id } of items) {
    const k = head.join('\u0000');
    const g = groups.get(k) ?? { head, ids: new Set<string>() };
    g.ids.add(id);
    groups.set(k, g);
  }
  return groups;
}

async function lockRevisions(ctx: SqlContext, records: readonly TransitionRecord[]): Promise<Map<string, number>> {
  const { where, values } = orGroups(
    group(records.map((r) => ({ head: [r.tenant], id: r.state.runtime.id }))),
    ['tenant'],
    'id',
  );
  const rows = await q(ctx, `SELECT tenant, id, revision FROM runtimes WHERE ${where} FOR UPDATE`, values);
  const revisions = new Map(rows.map((r) => [runtimeKey(String(r.tenant), String(r.id)), Number(r.revision)]));
  if (ctx.projectLater) {
    // The runtime rows may lag the log: the last step decides (a runtime older than the log has only its row).
    const byRuntime = orGroups(
      group(records.map((r) => ({ head: [r.tenant], id: r.state.runtime.id }))),
      ['tenant'],
      'runtime_id',
    );
    const logged = await q(
      ctx,
      `SELECT tenant, runtime_id AS id, MAX(revision) AS revision FROM runtime_steps WHERE ${byRuntime.where} GROUP BY tenant, runtime_id`,
      byRuntime.values,
    );
    for (const r of logged) {
      const key = runtimeKey(String(r.tenant), String(r.id));
      revisions.set(key, Math.max(revisions.get(key) ?? 0, Number(r.revision)));
    }
  }
  return revisions;
}

async function readActiveDocs(ctx: SqlContext, records: readonly TransitionRecord[]): Promise<Map<string, string>> {
  const fresh = records.filter(claimsSlot);
  if (fresh.length === 0) return new Map();
  const items = fresh.map((r) => ({ head: [r.tenant, r.state.runtime.app], id: r.state.runtime.docId }));
  const { where, values } = orGroups(group(items), ['tenant', 'app'], 'doc_id');
  // A hint only: a runtime committed after this read makes the INSERT fail, and the slow path sorts it out.
  const rows = await q(ctx, `SELECT tenant, app, doc_id, runtime_id FROM active_documents WHERE ${where}`, values);
  return new Map(
    rows.map((r) => [
      docKey(String(r.tenant), String(r.app), String(r.doc_id)),
      runtimeKey(String(r.tenant), String(r.runtime_id)),
    ]),
  );
}

async function readIdempotencyKeys(ctx: SqlContext, records: readonly TransitionRecord[]): Promise<Set<string>> {
  const items = records.flatMap((r) => (r.idempotency ? [{ head: [r.tenant], id: r.idempotency.key }] : []));
  if (items.length === 0) return new Set();
  const { where, values } = orGroups(group(items), ['tenant'], 'idem_key');
  // Keys live on the steps; those committed before migration 004 in idempotency_keys.
  const rows = await q(
    ctx,
    `SELECT tenant, idem_key FROM runtime_steps WHERE ${where} UNION ALL SELECT tenant, idem_key FROM idempotency_keys WHERE ${where}`,
    [...values, ...values],
  );
  return new Set(rows.map((r) => idemKey(String(r.tenant), String(r.idem_key))));
}

/** Locks the batch's runtime rows and reads what decides each record's outcome. */
async function readSnapshot(ctx: SqlContext, records: readonly TransitionRecord[]): Promise<BatchSnapshot> {
  const revisions = await lockRevisions(ctx, records);
  const activeDocs = await readActiveDocs(ctx, records);
  const idempotencyKeys = await readIdempotencyKeys(ctx, records);
  return { revisions, activeDocs, idempotencyKeys };
}

/**
 * What the fast path assumes instead of reading: each runtime is stored at the base revision of its first
 * record in the batch, no idempotency key is stored yet, and no document a start claims is taken. The writes
 * check all three (the guarded update, the unique keys of runtime_steps and active_documents), so a batch
 * costs no read: a wrong assumption (a start of a document with an active runtime) sends that batch alone
 * down the slow path, which reads and refuses the start alone.
 */
function assumeSnapshot(records: readonly TransitionRecord[]): BatchSnapshot {
  const revisions = new Map<string, number>();
  for (const r of records) {
    const key = runtimeKey(r.tenant, r.state.runtime.id);
    if (r.baseRevision > 0 && !revisions.has(key)) revisions.set(key, r.baseRevision);
  }
  return { revisions, activeDocs: new Map(), idempotencyKeys: new Set() };
}

const RUNTIME_COLS =
  'tenant, id, app, doc_id, company_id, workflow_id, version, status, current_node, state, revision, shard, created_at, updated_at';

const STATEMENTS: {
  key: Exclude<keyof BatchRows, 'timersDeleted' | 'stepOwners' | 'releases'>;
  table: string;
  sql: string;
}[] = [
  {
    key: 'steps',
    table: 'runtime_steps',
    sql: 'INSERT INTO runtime_steps (tenant, runtime_id, revision, shard, idem_key, events, body, created_at) VALUES ?',
  },
  {
    key: 'claims',
    table: 'active_documents',
    sql: 'INSERT INTO active_documents (tenant, app, doc_id, runtime_id) VALUES ?',
  },
  {
    key: 'runtimeUpdates',
    table: 'runtimes',
    // Safe as an upsert: every row exists and is locked by readSnapshot's FOR UPDATE.
    sql: `INSERT INTO runtimes (${RUNTIME_COLS}) VALUES ? ON DUPLICATE KEY UPDATE state = VALUES(state), version = VALUES(version),
          status = VALUES(status), current_node = VALUES(current_node), revision = VALUES(revision), updated_at = VALUES(updated_at)`,
  },
  { key: 'runtimeInserts', table: 'runtimes', sql: `INSERT INTO runtimes (${RUNTIME_COLS}) VALUES ?` },
  {
    key: 'tasks',
    table: 'tasks',
    sql: `INSERT INTO tasks (tenant, runtime_id, stage, assignee, node, app, doc_id, status, action, assigned_at, closed_at, due_at,
          workflow_id, version) VALUES ? ON DUPLICATE KEY UPDATE node = VALUES(node), status = VALUES(status), action = VALUES(action),
          assigned_at = VALUES(assigned_at), closed_at = VALUES(closed_at), due_at = VALUES(due_at),
          workflow_id = VALUES(workflow_id), version = VALUES(version)`,
  },
  {
    key: 'timersSet',
    table: 'timers',
    sql: `INSERT INTO timers (tenant, id, runtime_id, kind, stage, shard, due_at) VALUES ? ON DUPLICATE KEY UPDATE
          runtime_id = VALUES(runtime_id), kind = VALUES(kind), stage = VALUES(stage), shard = VALUES(shard), due_at = VALUES(due_at)`,
  },
];

/** One write of a group commit. */
interface Statement {
  sql: string;
  values: unknown[];
  /** The table written (names a DuplicateKeyError). */
  table: string;
  /** Rows a guarded update must change; fewer means a runtime was not at the revision the batch built on. */
  mustAffect?: number;
  /** The record of each step row this statement inserts, in order (their positions follow its insertId). */
  stepOwners?: readonly TransitionRecord[];
}

/**
 * Updates the runtime rows only where they still hold the revision the batch built on, in one statement:
 * a multi-table UPDATE joined to the new values; `mustAffect` checks that every row matched.
 */
function guardedRuntimeUpdate(chunk: readonly unknown[][], stored: ReadonlyMap<string, number>): Statement {
  const values: unknown[] = [];
  const selects = chunk.map((row, j) => {
    const [tenant, id] = row as [string, string];
    // Column order of runtimeRow: … 6 version, 7 status, 8 current_node, 9 state, 10 revision, 11 shard, 12 created_at, 13 updated_at.
    values.push(tenant, id, stored.get(runtimeKey(tenant, id)) ?? -1, row[6], row[7], row[8], row[9], row[10], row[13]);
    return j === 0
      ? 'SELECT ? AS tenant, ? AS id, ? AS base, ? AS version, ? AS status, ? AS current_node, ? AS state, ? AS revision, ? AS updated_at'
      : 'SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?';
  });
  return {
    sql: `UPDATE runtimes r JOIN (${selects.join(' UNION ALL ')}) v ON r.tenant = v.tenant AND r.id = v.id AND r.revision = v.base
          SET r.version = v.version, r.status = v.status, r.current_node = v.current_node, r.state = v.state, r.revision = v.revision, r.updated_at = v.updated_at`,
    values,
    // A duplicate key here: a finished runtime made active again while another holds its document.
    table: 'runtimes',
    mustAffect: chunk.length,
  };
}

/**
 * The winners' writes in order: the log (steps), slot releases before claims and runtime updates before
 * inserts, so a document freed in this batch can be claimed; one multi-row statement per table (per CHUNK
 * rows). With `guard` (the revisions the batch assumed), runtime updates are guarded rather than upserted
 * over rows locked by readSnapshot.
 */
function writeStatements(rows: BatchRows, guard?: ReadonlyMap<string, number>): Statement[] {
  const out: Statement[] = [];
  if (rows.releases.length > 0) {
    out.push({
      sql: `DELETE FROM active_documents WHERE ${rows.releases.map(() => '(tenant = ? AND app = ? AND doc_id = ? AND runtime_id = ?)').join(' OR ')}`,
      values: rows.releases.flatMap((r) => [r.tenant, r.app, r.docId, r.runtimeId]),
      table: 'active_documents',
    });
  }
  if (rows.timersDeleted.length > 0) {
    const { where, values } = orGroups(
      group(rows.timersDeleted.map((t) => ({ head: [t.tenant], id: t.id }))),
      ['tenant'],
      'id',
    );
    out.push({ sql: `DELETE FROM timers WHERE ${where}`, values, table: 'timers' });
  }
  for (const s of STATEMENTS) {
    const batchRows = rows[s.key];
    for (let i = 0; i < batchRows.length; i += CHUNK) {
      const chunk = batchRows.slice(i, i + CHUNK);
      if (s.key === 'runtimeUpdates' && guard) out.push(guardedRuntimeUpdate(chunk, guard));
      else
        out.push({
          sql: s.sql,
          values: [chunk],
          table: s.table,
          ...(s.key === 'steps' && { stepOwners: rows.stepOwners.slice(i, i + CHUNK) }),
        });
    }
  }
  return out;
}

/**
 * A batch that writes its projections itself marks its shards projected up to their last step (one index
 * dive per shard: one writer owns a shard, so its last step is this batch's), so a projector started later
 * (projectionDelayMs raised) resumes after them instead of projecting them again.
 */
function markProjected(rows: BatchRows, now: number): Statement[] {
  const shards = [...new Set(rows.stepOwners.map((r) => r.shard))];
  if (shards.length === 0) return [];
  return [
    {
      sql:
        'INSERT INTO shard_watermarks (shard, published_position, projected_position, updated_at) ' +
        'SELECT shard, 0, MAX(position), ? FROM runtime_steps WHERE shard IN (?) GROUP BY shard ' +
        'ON DUPLICATE KEY UPDATE projected_position = GREATEST(projected_position, VALUES(projected_position)), ' +
        'updated_at = VALUES(updated_at)',
      values: [now, shards],
      table: 'shard_watermarks',
    },
  ];
}

const asDuplicate = (table: string, err: unknown): unknown =>
  errnoOf(err) === ER_DUP_ENTRY ? new DuplicateKeyError(table, err) : err;

/**
 * A guarded update's check done by the server, right after it: fewer rows than `mustAffect` signals
 * ER_STALE_REVISION, which stops a multi-statement query there (nothing after it runs, `COMMIT` included).
 */
function revisionGuard(mustAffect: number): Statement {
  return {
    sql: `BEGIN NOT ATOMIC IF ROW_COUNT() <> ${mustAffect} THEN SIGNAL SQLSTATE '45000' SET MYSQL_ERRNO = ${ER_STALE_REVISION}, MESSAGE_TEXT = 'a runtime was not at the revision the batch built on'; END IF; END`,
    values: [],
    table: 'runtimes',
  };
}

/** `statements` checked by the server and committed in the same query (see SqlContext.commitWithWrites). */
function committedTogether(statements: readonly Statement[]): Statement[] {
  const out = statements.flatMap(({ mustAffect, ...st }) =>
    mustAffect === undefined ? [st] : [st, revisionGuard(mustAffect)],
  );
  out.push({ sql: 'COMMIT', values: [], table: 'transaction' });
  return out;
}

/** Sends `statements` as one query (one round trip; a pending START TRANSACTION first); returns each result. */
async function sendTogether(ctx: SqlContext, statements: readonly Statement[]): Promise<mysql.ResultSetHeader[]> {
  try {
    return (await queryAfterStart(
      ctx,
      statements.map((st) => st.sql),
      statements.flatMap((st) => st.values),
    )) as mysql.ResultSetHeader[];
  } catch (err) {
    if (errnoOf(err) === ER_STALE_REVISION) throw new StaleRevisionError((err as Error).message, { cause: err });
    // The server stopped at the failing statement; which one is not reported (the slow path, one by one, tells).
    throw asDuplicate(statements.map((st) => st.table).join(','), err);
  }
}

async function sendOneByOne(ctx: SqlContext, statements: readonly Statement[]): Promise<mysql.ResultSetHeader[]> {
  const results: mysql.ResultSetHeader[] = [];
  for (const st of statements) {
    try {
      results.push(await q<mysql.ResultSetHeader>(ctx, st.sql, st.values));
    } catch (err) {
      throw asDuplicate(st.table, err);
    }
  }
  return results;
}

/**
 * Runs the writes: in one round trip when the connection takes several statements and `together`, else one by
 * one. Throws StaleRevisionError when a guarded update missed a row (after the round trip: the transaction
 * is rolled back). Returns the step positions it knows (see SqlContext.autoIncrementStep).
 */
async function runWrites(ctx: SqlContext, statements: readonly Statement[], together: boolean): Promise<StepPositions> {
  if (statements.length === 0) return new Map(); // every record refused by the plan: nothing to send
  const results =
    together && ctx.multipleStatements ? await sendTogether(ctx, statements) : await sendOneByOne(ctx, statements);
  const positions: StepPositions = new Map();
  statements.forEach((st, i) => {
    const res = results[i];
    if (st.mustAffect !== undefined && res?.affectedRows !== st.mustAffect) {
      throw new StaleRevisionError(
        `${st.mustAffect - (res?.affectedRows ?? 0)} of ${st.mustAffect} runtimes were not at the revision the batch built on`,
      );
    }
    const step = ctx.autoIncrementStep;
    if (st.stepOwners && step !== undefined && res)
      st.stepOwners.forEach((r, j) => positions.set(r, Number(res.insertId) + j * step));
  });
  return positions;
}

const projectedMark = (ctx: SqlContext, rows: BatchRows, now: number): Statement[] =>
  ctx.projectLater ? [] : markProjected(rows, now);

/** Each winner's outcome with its step's position, when known. */
function withPositions(
  outcomes: readonly CommitOutcome[],
  records: readonly TransitionRecord[],
  positions: StepPositions,
): CommitOutcome[] {
  return outcomes.map((o, i) => {
    const outboxPosition = o.ok ? positions.get(records[i]!) : undefined;
    return outboxPosition === undefined ? o : { ok: true, outboxPosition };
  });
}

/**
 * Common case, no reads for commands: plan on the assumed snapshot, write with guarded updates, one
 * multi-row statement per table, and `COMMIT` in the same round trip where the context allows it
 * (SqlContext.commitWithWrites; `ctx.committed` then says it was sent). Throws LostRaceError (stale
 * revision, duplicate key) when an assumption was wrong, with nothing committed; the writer then rolls back
 * and takes commitSlow.
 */
export async function commitFast(
  ctx: SqlContext,
  records: readonly TransitionRecord[],
  now: number,
): Promise<CommitOutcome[]> {
  const assumed = assumeSnapshot(records);
  const plan = planBatch(records, assumed, now, !ctx.projectLater, ctx.cipher);
  const writes = [...writeStatements(plan.rows, assumed.revisions), ...projectedMark(ctx, plan.rows, now)];
  // With something to write, the writes and COMMIT go in one round trip when the context allows it.
  const inline = ctx.commitWithWrites === true && ctx.multipleStatements === true && writes.length > 0;
  const positions = await runWrites(ctx, inline ? committedTogether(writes) : writes, true);
  if (inline) ctx.committed = true;
  return withPositions(plan.outcomes, records, positions);
}

/** One snapshot read under locks, one plan, one multi-row statement per table. Throws DuplicateKeyError on a lost race. */
async function commitChecked(
  ctx: SqlContext,
  records: readonly TransitionRecord[],
  now: number,
): Promise<CommitOutcome[]> {
  const plan = planBatch(records, await readSnapshot(ctx, records), now, !ctx.projectLater, ctx.cipher);
  return withPositions(
    plan.outcomes,
    records,
    await runWrites(ctx, [...writeStatements(plan.rows), ...projectedMark(ctx, plan.rows, now)], false),
  );
}

function duplicateOutcome(err: DuplicateKeyError): CommitOutcome {
  const message = (err.cause as Error).message;
  if (err.table === 'active_documents') {
    return { ok: false, code: 'duplicate_runtime', message: 'the document already has an active runtime' };
  }
  if (err.table === 'runtime_steps' && message.includes('runtime_steps_idem'))
    return { ok: false, code: 'duplicate_idempotency_key', message: 'idempotency key already committed' };
  return { ok: false, code: 'conflict', message: `lost a race writing ${err.table}` };
}

/** After a lost race: record by record, each under a savepoint, so a loser fails alone. */
export async function commitSlow(
  ctx: SqlContext,
  records: readonly TransitionRecord[],
  now: number,
): Promise<CommitOutcome[]> {
  const outcomes: CommitOutcome[] = [];
  for (const r of records) {
    await q(ctx, 'SAVEPOINT bflow_record');
    try {
      const [outcome] = (await commitChecked(ctx, [r], now)) as [CommitOutcome];
      outcomes.push(outcome);
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
      await q(ctx, 'ROLLBACK TO SAVEPOINT bflow_record');
      outcomes.push(duplicateOutcome(err));
    }
  }
  return outcomes;
}

/**
 * The positions of committed records' steps that the writes could not tell (innodb_autoinc_lock_mode 2), read
 * back inside the transaction: the projector needs every step's position.
 */
export async function completePositions(
  ctx: SqlContext,
  records: readonly TransitionRecord[],
  outcomes: CommitOutcome[],
): Promise<CommitOutcome[]> {
  const missing = records.filter((_, i) => {
    const o = outcomes[i];
    return o?.ok === true && o.outboxPosition === undefined;
  });
  if (missing.length === 0) return outcomes;
  const rows = await q(
    ctx,
    `SELECT tenant, runtime_id, revision, position FROM runtime_steps WHERE ${missing.map(() => '(tenant = ? AND runtime_id = ? AND revision = ?)').join(' OR ')}`,
    missing.flatMap((r) => [r.tenant, r.state.runtime.id, r.state.revision]),
  );
  const found = new Map(rows.map((r) => [`${r.tenant}\u0000${r.runtime_id}\u0000${r.revision}`, Number(r.position)]));
  return outcomes.map((o, i) => {
    const r = records[i]!;
    if (!o.ok || o.outboxPosition !== undefined) return o;
    const position = found.get(`${r.tenant}\u0000${r.state.runtime.id}\u0000${r.state.revision}`);
    return position === undefined ? o : { ok: true, outboxPosition: position };
  });
}

/**
 * Writes projections of steps committed before (the projector's transaction): runtime rows as upserts that
 * never move a row back to an older revision, inbox rows and timers as the commit writes them. Multi-row statements; one round trip on a multipleStatements connection.
 */
export async function writeProjections(ctx: SqlContext, rows: ProjectionRows): Promise<void> {
  const statements = writeStatements({ ...rows, steps: [], stepOwners: [], claims: [], releases: [] }).map((st) =>
    st.table === 'runtimes' ? { ...st, sql: GUARDED_RUNTIME_UPSERT } : st,
  );
  await runWrites(ctx, statements, true);
}

const newer = (col: string): string => `${col} = IF(VALUES(revision) > revision, VALUES(${col}), ${col})`;

/** An upsert of runtime rows that keeps a row at a newer revision (revision is assigned last: MySQL assigns in order). */
const GUARDED_RUNTIME_UPSERT = `INSERT INTO runtimes (${RUNTIME_COLS}) VALUES ? ON DUPLICATE KEY UPDATE ${[
  'state',
  'version',
  'status',
  'current_node',
  'updated_at',
]
  .map(newer)
  .join(', ')}, revision = GREATEST(revision, VALUES(revision))`;
