import type { RuntimeState, RuntimeStatus } from '../../engine/index.ts';
import { loggedCommand } from '../logged-command.ts';
import type { CommitOutcome, TransitionRecord } from '../ports.ts';
import { encodeStep } from '../step-log.ts';
import { ENCRYPTED, pairId } from '../crypto/encrypted-columns.ts';
import { type FieldCipher, PLAINTEXT_CIPHER } from '../crypto/field-cipher.ts';

/**
 * Pure part of a group commit: given a batch and what the database holds for its
 * runtimes, decide each record's outcome (in batch order, so chained records see
 * their predecessors) and build the rows of the winners.
 */

/** Statuses that hold the document's slot (active_documents). */
const ACTIVE: ReadonlySet<RuntimeStatus> = new Set(['created', 'in_progress', 'failed']);
export const isActiveStatus = (s: RuntimeStatus): boolean => ACTIVE.has(s);

/** Whether `r` claims its document's slot: a start of an active runtime, or a step that reopens a finished one. */
export const claimsSlot = (r: TransitionRecord): boolean =>
  isActiveStatus(r.state.status) && (r.baseRevision === 0 || r.reopens === true);

const SEP = '\u0000';
export const runtimeKey = (tenant: string, id: string): string => `${tenant}${SEP}${id}`;
export const docKey = (tenant: string, app: string, docId: string): string => `${tenant}${SEP}${app}${SEP}${docId}`;
export const idemKey = (tenant: string, key: string): string => `${tenant}${SEP}${key}`;

/** What the database holds for the batch's keys (read inside the batch's transaction). */
export interface BatchSnapshot {
  /** runtimeKey → committed revision (absent = no row). */
  revisions: ReadonlyMap<string, number>;
  /** docKey → runtimeKey of the runtime that holds the document's slot in active_documents. */
  activeDocs: ReadonlyMap<string, string>;
  /** idemKey of the keys already committed (on a step, or in the pre-004 idempotency_keys table). */
  idempotencyKeys: ReadonlySet<string>;
}

type Row = unknown[];

/** Rows to write, one array per statement; column order matches the SQL in batch-sql.ts. */
export interface BatchRows {
  /** The log: one runtime_steps row per winner, in batch order. */
  steps: Row[];
  /** The record of each step row, same order (to tell each caller its step's position). */
  stepOwners: TransitionRecord[];
  /** Document slots claimed by starts (active_documents rows). */
  claims: Row[];
  /** Slots released by finishing steps: deleted before the claims, so a slot freed in the batch can be claimed. */
  releases: { tenant: string; app: string; docId: string; runtimeId: string }[];
  // Projections, written in the same transaction or by the projector after it, coalesced per runtime.
  /** The inbox rows: the last version of each task over the batch (or the projector's window). */
  tasks: Row[];
  runtimeUpdates: Row[];
  runtimeInserts: Row[];
  timersSet: Row[];
  timersDeleted: { tenant: string; id: string }[];
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
  /** docKey → the slot's change over the batch: the holder found in the store released, a claim made. */
  slots: Map<string, SlotChange>;
}

interface SlotChange {
  tenant: string;
  app: string;
  docId: string;
  /** Runtime id of the stored holder this batch released. */
  released?: string;
  /** Runtime id of the holder this batch claimed for (undefined once released again in the batch). */
  claimed?: string;
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
  // The key first: a retry of a committed command is answered its first reply, whatever else it would hit.
  if (r.idempotency && ps.idem.has(idemKey(r.tenant, r.idempotency.key))) {
    return fail('duplicate_idempotency_key', `idempotency key ${r.idempotency.key} was already committed`);
  }
  const rt = r.state.runtime;
  const key = runtimeKey(r.tenant, rt.id);
  const current = ps.rev.get(key) ?? 0;
  if (r.baseRevision === 0 && current !== 0) return fail('conflict', `runtime ${rt.id} already exists`);
  if (r.baseRevision !== 0 && current !== r.baseRevision) {
    return fail('conflict', `runtime ${rt.id}: expected revision ${r.baseRevision}, found ${current}`);
  }
  if (claimsSlot(r)) {
    const holder = ps.docs.get(docKey(r.tenant, rt.app, rt.docId));
    if (holder !== undefined && holder !== key && (ps.active.get(holder) ?? true)) {
      return fail('duplicate_runtime', `document ${rt.app}/${rt.docId} already has an active runtime`);
    }
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
  if (r.idempotency) ps.idem.add(idemKey(r.tenant, r.idempotency.key));
  const doc = docKey(r.tenant, rt.app, rt.docId);
  const slot = (): SlotChange => {
    let change = ps.slots.get(doc);
    if (!change) ps.slots.set(doc, (change = { tenant: r.tenant, app: rt.app, docId: rt.docId }));
    return change;
  };
  if (claimsSlot(r)) {
    ps.docs.set(doc, key);
    slot().claimed = rt.id;
  } else if (!active && r.baseRevision > 0) {
    // Released whether or not the plan knows the holder (the fast path reads slots for starts only): the
    // DELETE names this runtime, so it frees the slot only if this runtime holds it.
    if (ps.docs.get(doc) === key) ps.docs.delete(doc);
    const change = slot();
    if (change.claimed === rt.id) change.claimed = undefined;
    else change.released = rt.id;
  }
}

/**
 * Decides every record's outcome in order and builds the winners' rows: their steps and document slots, and
 * with `project` their projections too (written in the same transaction). The encrypted columns are
 * sealed with `cipher` (its tenants ready).
 */
export function planBatch(
  records: readonly TransitionRecord[],
  snapshot: BatchSnapshot,
  now: number,
  project = true,
  cipher: FieldCipher = PLAINTEXT_CIPHER,
): BatchPlan {
  const ps: PlanState = {
    rev: new Map(snapshot.revisions),
    created: new Set(),
    active: new Map(),
    docs: new Map(snapshot.activeDocs),
    idem: new Set(snapshot.idempotencyKeys),
    slots: new Map(),
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
  const rows = buildRows(winners, ps.created, now, project, cipher);
  for (const slot of ps.slots.values()) {
    if (slot.released !== undefined) rows.releases.push({ ...slot, runtimeId: slot.released });
    if (slot.claimed !== undefined) rows.claims.push([slot.tenant, slot.app, slot.docId, slot.claimed]);
  }
  return { outcomes, rows };
}

/** A winner's runtime_steps row: its key, shard, idempotency key, event count and StepBody (step-log.ts). */
function stepRow(r: TransitionRecord, now: number, cipher: FieldCipher): Row {
  const base = r.change === undefined && r.baseRevision > 0;
  const body = encodeStep({
    state: r.state,
    effects: r.effects,
    change: r.change ?? { init: r.state },
    cause: loggedCommand(r),
    base,
  });
  const rt = r.state.runtime;
  return [
    r.tenant,
    rt.id,
    r.state.revision,
    r.shard,
    r.idempotency?.key ?? null,
    r.effects.events.length,
    cipher.seal(r.tenant, ENCRYPTED.stepBody, pairId(rt.id, r.state.revision), JSON.stringify(body)),
    now,
  ];
}

function currentNodeOf(state: RuntimeState): string {
  return state.stages[state.stages.length - 1]?.node ?? '';
}

function runtimeRow(r: TransitionRecord, cipher: FieldCipher): Row {
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
    cipher.seal(r.tenant, ENCRYPTED.runtimeState, rt.id, JSON.stringify(s)),
    s.revision,
    r.shard,
    rt.createdAt,
    s.updatedAt,
  ];
}

/** The projection rows of committed steps: see {@link projectionRows}. */
export type ProjectionRows = Pick<
  BatchRows,
  'runtimeUpdates' | 'runtimeInserts' | 'timersSet' | 'timersDeleted' | 'tasks'
>;

/** The winners' log rows and document slots, and their projections when the batch writes them (`project`). */
function buildRows(
  winners: readonly TransitionRecord[],
  created: ReadonlySet<string>,
  now: number,
  project: boolean,
  cipher: FieldCipher,
): BatchRows {
  const rows: BatchRows = {
    steps: winners.map((r) => stepRow(r, now, cipher)),
    stepOwners: [...winners],
    claims: [],
    releases: [],
    ...(project ? projectionRows(winners, created, cipher) : emptyProjection()),
  };
  return rows;
}

function emptyProjection(): ProjectionRows {
  return { runtimeUpdates: [], runtimeInserts: [], timersSet: [], timersDeleted: [], tasks: [] };
}

/**
 * The inbox rows of committed steps (in commit order): the last version of each task, so a task opened and
 * closed within one window is one write. Written with the other projections: in the commit, or by the projector
 * (which projects a shard's steps in log order under its watermark's lock, so an older version never lands
 * after a newer one).
 */
function taskRows(winners: readonly TransitionRecord[]): Row[] {
  const tasks = new Map<string, Row>();
  for (const r of winners) {
    const rt = r.state.runtime;
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
        rt.workflowId,
        rt.version,
      ]);
    }
  }
  return [...tasks.values()];
}

/**
 * The projections of committed steps (in commit order), coalesced: the last state per runtime (an insert for
 * the runtimes in `created`, else an upsert), the last version of each task and the final state of each timer. (The
 * history is read from the log itself: audit-log.ts.)
 */
export function projectionRows(
  winners: readonly TransitionRecord[],
  created: ReadonlySet<string>,
  cipher: FieldCipher = PLAINTEXT_CIPHER,
): ProjectionRows {
  const lastState = new Map<string, TransitionRecord>();
  const timers = new Map<string, { tenant: string; id: string; row: Row | undefined }>();
  const rows = emptyProjection();
  rows.tasks = taskRows(winners);
  for (const r of winners) {
    const rt = r.state.runtime;
    lastState.set(runtimeKey(r.tenant, rt.id), r);
    for (const id of r.effects.timersCancelled)
      timers.set(runtimeKey(r.tenant, id), { tenant: r.tenant, id, row: undefined });
    for (const t of r.effects.timersSet) {
      timers.set(runtimeKey(r.tenant, t.id), {
        tenant: r.tenant,
        id: t.id,
        row: [r.tenant, t.id, rt.id, t.kind, t.stage, r.shard, t.dueAt],
      });
    }
  }
  for (const [key, r] of lastState)
    (created.has(key) ? rows.runtimeInserts : rows.runtimeUpdates).push(runtimeRow(r, cipher));
  for (const t of timers.values()) {
    if (t.row) rows.timersSet.push(t.row);
    else rows.timersDeleted.push({ tenant: t.tenant, id: t.id });
  }
  return rows;
}
