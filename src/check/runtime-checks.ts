import { FINISHED_STATUSES, type RuntimeState, type TaskChange } from '../engine/index.ts';
import { stateAtRevision } from '../store/step-log.ts';
import { asStored, firstDifference } from './json-diff.ts';
import type { ReplayMismatch, TaskClosedTwice, TaskMismatch } from './report.ts';
import type { ReplayResult, ReplayedStep } from './replay.ts';
import type { RuntimeRows, StoredTask } from './tenant-reader.ts';

/** What one runtime's rows violate. */
export interface RuntimeViolations {
  replay: ReplayMismatch[];
  closedTwice: TaskClosedTwice[];
  tasks: TaskMismatch[];
}

const CLOSED = new Set(['done', 'skipped']);
const taskKey = (stage: number, assignee: string): string => `${stage}\u0000${assignee}`;

/** Compares a runtime's stored state, log and task rows with the replay of its log. */
export function checkRuntime(rows: RuntimeRows, replay: ReplayResult | undefined): RuntimeViolations {
  const v: RuntimeViolations = { replay: [], closedTwice: [], tasks: [] };
  const id = rows.runtimeId;
  if (rows.state === undefined) {
    v.replay.push({ runtimeId: id, reason: 'log or task rows of a runtime that does not exist', path: 'runtime' });
    v.tasks.push(
      ...rows.tasks.map(
        (t): TaskMismatch => ({ runtimeId: id, stage: t.stage, assignee: t.assignee, problem: 'stray' }),
      ),
    );
    return v;
  }
  v.closedTwice.push(...votedTwice(id, rows.state));
  if (!replay) return v;
  if (!replay.ok) {
    v.replay.push({ runtimeId: id, reason: replay.reason, path: replay.path, seq: replay.seq });
    return v;
  }
  const stateDiff = firstDifference(asStored(replay.state), rows.state, 'state');
  if (stateDiff) v.replay.push({ runtimeId: id, reason: 'state differs', ...stateDiff });
  const logDiff = firstDifference(
    asStored(replay.log),
    rows.log.map(({ command: _c, ...entry }) => entry),
    'log',
  );
  if (logDiff) v.replay.push({ runtimeId: id, reason: 'log differs', ...logDiff });
  const { expected, closedTwice } = foldTasks(id, replay.steps);
  v.closedTwice.push(...closedTwice);
  v.tasks.push(...compareTasks(id, expected, rows.tasks));
  return v;
}

/**
 * The task rows the replayed steps wrote (upserts by stage and assignee, as the
 * writer does), and the tasks closed again by a later step without being reopened.
 */
function foldTasks(
  runtimeId: string,
  steps: readonly ReplayedStep[],
): { expected: Map<string, TaskChange>; closedTwice: TaskClosedTwice[] } {
  const expected = new Map<string, TaskChange>();
  const closedBy = new Map<string, number[]>();
  for (const s of steps) {
    for (const t of s.tasks) {
      const key = taskKey(t.stage, t.assignee);
      const before = expected.get(key);
      const reclosed =
        CLOSED.has(t.status) &&
        before !== undefined &&
        CLOSED.has(before.status) &&
        firstDifference(asStored(before), asStored(t)) !== undefined;
      if (CLOSED.has(t.status)) closedBy.set(key, reclosed ? [...(closedBy.get(key) ?? []), s.seq] : [s.seq]);
      else closedBy.delete(key);
      expected.set(key, t);
    }
  }
  const closedTwice: TaskClosedTwice[] = [];
  for (const [key, seqs] of closedBy) {
    if (seqs.length < 2) continue;
    const t = expected.get(key)!;
    closedTwice.push({ runtimeId, stage: t.stage, assignee: t.assignee, source: 'replay', detail: seqs });
  }
  return { expected, closedTwice };
}

function compareTasks(
  runtimeId: string,
  expected: Map<string, TaskChange>,
  stored: readonly StoredTask[],
): TaskMismatch[] {
  const out: TaskMismatch[] = [];
  const seen = new Set<string>();
  for (const row of stored) {
    const key = taskKey(row.stage, row.assignee);
    seen.add(key);
    const want = expected.get(key);
    const where = { runtimeId, stage: row.stage, assignee: row.assignee };
    if (!want) {
      out.push({ ...where, problem: 'stray', actual: row });
      continue;
    }
    const d = firstDifference(asStored(want), row);
    if (d) out.push({ ...where, problem: 'differs', field: d.path, expected: d.expected, actual: d.actual });
  }
  for (const [key, want] of expected) {
    if (!seen.has(key))
      out.push({ runtimeId, stage: want.stage, assignee: want.assignee, problem: 'missing', expected: want });
  }
  return out;
}

/** Two closed votes (done, not handed on by reassign) of one assignee at one stage of the stored state. */
function votedTwice(runtimeId: string, state: RuntimeState): TaskClosedTwice[] {
  const out: TaskClosedTwice[] = [];
  state.stages.forEach((stage, index) => {
    const votes = new Map<string, string[]>();
    for (const t of stage.tasks) {
      if (t.status !== 'done' || t.action === 'reassign') continue;
      votes.set(t.assignee, [...(votes.get(t.assignee) ?? []), t.action ?? '(none)']);
    }
    for (const [assignee, actions] of votes) {
      if (actions.length > 1) out.push({ runtimeId, stage: index, assignee, source: 'state', detail: actions });
    }
  });
  return out;
}

/**
 * The runtime's runtime_steps replayed (the store's replay, as activation runs it) against its stored state.
 * A runtime older than the log (no steps: finished before migration 004) is not checked here.
 */
export function checkStepLog(rows: RuntimeRows): ReplayMismatch[] {
  const last = rows.steps[rows.steps.length - 1];
  if (last === undefined || rows.state === undefined) return [];
  const id = rows.runtimeId;
  let replayed: RuntimeState | undefined;
  try {
    replayed = stateAtRevision(rows.steps, last.revision);
  } catch (err) {
    return [{ runtimeId: id, reason: `runtime_steps do not replay: ${(err as Error).message}`, path: 'runtime_steps' }];
  }
  if (!replayed) {
    return [
      {
        runtimeId: id,
        reason: 'runtime_steps cannot rebuild the last revision',
        path: 'runtime_steps',
        seq: last.revision,
      },
    ];
  }
  if (rows.state.revision !== last.revision) {
    return [
      {
        runtimeId: id,
        reason: 'the runtime row is not at the revision of its last step',
        path: 'state.revision',
        expected: last.revision,
        actual: rows.state.revision,
      },
    ];
  }
  const diff = firstDifference(asStored(replayed), rows.state, 'state');
  return diff ? [{ runtimeId: id, reason: 'runtime_steps replay differs', ...diff }] : [];
}

const slotKey = (state: RuntimeState): string => `${state.runtime.app}\u0000${state.runtime.docId}`;

/** An active runtime holds its document's slot; `slots` loses each slot matched (what remains is checked last). */
export function checkSlot(rows: RuntimeRows, slots: Map<string, string>): ReplayMismatch[] {
  const state = rows.state;
  if (state === undefined || FINISHED_STATUSES.has(state.status)) return [];
  const holder = slots.get(slotKey(state));
  if (holder === rows.runtimeId) {
    slots.delete(slotKey(state));
    return [];
  }
  return [
    {
      runtimeId: rows.runtimeId,
      reason: 'active runtime without its document slot',
      path: 'active_documents',
      expected: rows.runtimeId,
      actual: holder,
    },
  ];
}

/** Slots left after every runtime was checked: held by a runtime that is finished or does not exist. */
export function straySlots(slots: ReadonlyMap<string, string>): ReplayMismatch[] {
  return [...slots].map(([doc, runtimeId]) => ({
    runtimeId,
    reason: 'document slot held by a runtime that is not active',
    path: `active_documents[${doc.replace('\u0000', '/')}]`,
  }));
}
