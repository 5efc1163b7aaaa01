import type { RuntimeState, TaskChange } from '../engine/index.ts';
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
