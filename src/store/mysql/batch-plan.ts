import type { RuntimeState, RuntimeStatus } from '../../engine/index.ts';
import { loggedCommand } from '../logged-command.ts';
import type { CommitOutcome, TransitionRecord } from '../ports.ts';

/**
 * Pure part of a group commit: given a batch and what the database holds for its
 * runtimes, decide each record's outcome (in batch order, so chained records see
 * their predecessors) and build the rows of the winners.
 */

/** Statuses that occupy the runtimes_one_active_per_doc key (the generated `active_doc` column). */
const ACTIVE: ReadonlySet<RuntimeStatus> = new Set(['created', 'in_progress', 'failed']);
export const isActiveStatus = (s: RuntimeStatus): boolean => ACTIVE.has(s);

const SEP = '\u0000';
export const runtimeKey = (tenant: string, id: string): string => `${tenant}${SEP}${id}`;
export const docKey = (tenant: string, app: string, docId: string): string => `${tenant}${SEP}${app}${SEP}${docId}`;
export const idemKey = (tenant: string, key: string): string => `${tenant}${SEP}${key}`;

/** What the database holds for the batch's keys (read inside the batch's transaction). */
export interface BatchSnapshot {
  /** runtimeKey → committed revision (absent = no row). */
  revisions: ReadonlyMap<string, number>;
  /** docKey → runtimeKey of the runtime that holds the document's active slot. */
  activeDocs: ReadonlyMap<string, string>;
  /** idemKey of the keys already stored. */
  idempotencyKeys: ReadonlySet<string>;
}

type Row = unknown[];

/** Rows to write, one array per statement; column order matches the SQL in batch-sql.ts. */
export interface BatchRows {
  runtimeUpdates: Row[];
  runtimeInserts: Row[];
  log: Row[];
  tasks: Row[];
  outbox: Row[];
  /** The record of each outbox row, same order (to tell each caller its row's position). */
  outboxOwners: TransitionRecord[];
  timersSet: Row[];
  timersDeleted: { tenant: string; id: string }[];
  idempotency: Row[];
}

export interface BatchPlan {
  /** One per record, same order; ok means "will be written if the transaction commits". */
  outcomes: CommitOutcome[];
  rows: BatchRows;
}

interface PlanState {
  rev: Map<string, number>;
  created: Set<string>;
  active: Map<string, boolean>;
  docs: Map<string, string>;
  idem: Set<string>;
}

const fail = (
  code: 'conflict' | 'duplicate_runtime' | 'duplicate_idempotency_key',
  message: string,
): CommitOutcome => ({
  ok: false,
  code,
  message,
});

function judge(r: TransitionRecord, ps: PlanState): CommitOutcome {
  const rt = r.state.runtime;
  const key = runtimeKey(r.tenant, rt.id);
  const current = ps.rev.get(key) ?? 0;
  if (r.baseRevision === 0 && current !== 0) return fail('conflict', `runtime ${rt.id} already exists`);
  if (r.baseRevision !== 0 && current !== r.baseRevision) {
    return fail('conflict', `runtime ${rt.id}: expected revision ${r.baseRevision}, found ${current}`);
  }
  if (r.baseRevision === 0 && isActiveStatus(r.state.status)) {
    const holder = ps.docs.get(docKey(r.tenant, rt.app, rt.docId));
    if (holder !== undefined && holder !== key && (ps.active.get(holder) ?? true)) {
      return fail('duplicate_runtime', `document ${rt.app}/${rt.docId} already has an active runtime`);
    }
  }
  if (r.idempotency && ps.idem.has(idemKey(r.tenant, r.idempotency.key))) {
    return fail('duplicate_idempotency_key', `idempotency key ${r.idempotency.key} was already committed`);
  }
  return { ok: true };
}

function accept(r: TransitionRecord, ps: PlanState): void {
  const rt = r.state.runtime;
  const key = runtimeKey(r.tenant, rt.id);
  const active = isActiveStatus(r.state.status);
  ps.rev.set(key, r.state.revision);
  ps.active.set(key, active);
  if (r.baseRevision === 0) ps.created.add(key);
  if (r.baseRevision === 0 && active) ps.docs.set(docKey(r.tenant, rt.app, rt.docId), key);
  if (r.idempotency) ps.idem.add(idemKey(r.tenant, r.idempotency.key));
}

/** Decides every record's outcome in order and builds the winners' rows. */
export function planBatch(records: readonly TransitionRecord[], snapshot: BatchSnapshot, now: number): BatchPlan {
  const ps: PlanState = {
    rev: new Map(snapshot.revisions),
    created: new Set(),
    active: new Map(),
    docs: new Map(snapshot.activeDocs),
    idem: new Set(snapshot.idempotencyKeys),
  };
  const winners: TransitionRecord[] = [];
  const outcomes = records.map((r) => {
    const outcome = judge(r, ps);
    if (outcome.ok) {
      accept(r, ps);
      winners.push(r);
    }
    return outcome;
  });
  return { outcomes, rows: buildRows(winners, ps.created, now) };
}

function currentNodeOf(state: RuntimeState): string {
  return state.stages[state.stages.length - 1]?.node ?? '';
}

function runtimeRow(r: TransitionRecord): Row {
  const s = r.state;
  const rt = s.runtime;
  return [
    r.tenant,
    rt.id,
    rt.app,
    rt.docId,
    rt.companyId ?? null,
    rt.workflowId,
    rt.version,
    s.status,
    currentNodeOf(s),
    JSON.stringify(s),
    s.revision,
    r.shard,
    rt.createdAt,
    s.updatedAt,
  ];
}

/** Rows of the winners: the last state per runtime, the last version of each task, the final state of each timer. */
function buildRows(winners: readonly TransitionRecord[], created: ReadonlySet<string>, now: number): BatchRows {
  const lastState = new Map<string, TransitionRecord>();
  const tasks = new Map<string, Row>();
  const timers = new Map<string, { tenant: string; id: string; row: Row | undefined }>();
  const rows: BatchRows = {
    runtimeUpdates: [],
    runtimeInserts: [],
    log: [],
    tasks: [],
    outbox: [],
    outboxOwners: [],
    timersSet: [],
    timersDeleted: [],
    idempotency: [],
  };
  for (const r of winners) {
    const rt = r.state.runtime;
    lastState.set(runtimeKey(r.tenant, rt.id), r);
    const command = loggedCommand(r);
    r.effects.log.forEach((l, i) => {
      rows.log.push([
        r.tenant,
        rt.id,
        l.seq,
        l.at,
        l.actor,
        l.action,
        l.fromNode,
        l.toNode ?? null,
        l.comment ?? null,
        l.changes === undefined ? null : JSON.stringify(l.changes),
        i === 0 && command ? JSON.stringify(command) : null,
      ]);
    });
    for (const t of r.effects.tasks) {
      tasks.set(`${runtimeKey(r.tenant, rt.id)}\u0000${t.stage}\u0000${t.assignee}`, [
        r.tenant,
        rt.id,
        t.stage,
        t.assignee,
        t.node,
        rt.app,
        rt.docId,
        t.status,
        t.action ?? null,
        t.assignedAt,
        t.closedAt ?? null,
        t.dueAt ?? null,
      ]);
    }
    if (r.effects.events.length > 0) {
      rows.outbox.push([r.shard, r.tenant, rt.id, r.state.seq, JSON.stringify(r.effects.events), now]);
      rows.outboxOwners.push(r);
    }
    for (const id of r.effects.timersCancelled)
      timers.set(runtimeKey(r.tenant, id), { tenant: r.tenant, id, row: undefined });
    for (const t of r.effects.timersSet) {
      timers.set(runtimeKey(r.tenant, t.id), {
        tenant: r.tenant,
        id: t.id,
        row: [r.tenant, t.id, rt.id, t.kind, t.stage, r.shard, t.dueAt],
      });
    }
    if (r.idempotency) {
      rows.idempotency.push([r.tenant, r.idempotency.key, rt.id, JSON.stringify(r.idempotency.response ?? null), now]);
    }
  }
  for (const [key, r] of lastState) (created.has(key) ? rows.runtimeInserts : rows.runtimeUpdates).push(runtimeRow(r));
  rows.tasks = [...tasks.values()];
  for (const t of timers.values()) {
    if (t.row) rows.timersSet.push(t.row);
    else rows.timersDeleted.push({ tenant: t.tenant, id: t.id });
  }
  return rows;
}
