import type { RuntimeState, Stage } from './runtime-state.ts';

/**
 * What one committed step changed in a runtime's state: enough to rebuild the
 * state after the step from the state before it, with no workflow, directory
 * or clock. The runtime log stores one per step, so a runtime is recovered by
 * applying its logged changes in order — exactly the states that were
 * acknowledged, even when the directory has changed since (re-running the
 * commands would resolve assignees against today's org chart).
 *
 * A start stores the whole first state (`init`); every later step a diff:
 * - `set`: the top-level fields whose value changed (status, seq, revision, updatedAt, failure, …);
 * - `unset`: top-level fields the step removed (e.g. a cleared `failure`);
 * - `stagesFrom` + `stages`: the stages from that index on (the step changed or appended them);
 * - `docSet` / `docUnset`: the document's top-level fields it set or removed.
 */
export type StateChange = { init: RuntimeState } | StateDiff;

export interface StateDiff {
  set?: Record<string, unknown>;
  unset?: string[];
  stagesFrom?: number;
  stages?: Stage[];
  docSet?: Record<string, unknown>;
  docUnset?: string[];
}

/** Raised when a change does not apply to the state it is given (a gap or a reordering in the log). */
export class StateChangeError extends Error {
  override readonly name = 'StateChangeError';
  readonly code = 'state_change_mismatch';
}

const SPECIAL = new Set(['stages', 'doc']);

/**
 * The change from `prev` to `next` (`prev` undefined: a start). Cheap on the
 * engine's copy-on-write states: unchanged stages and fields keep their
 * identity, so they are compared by reference. A value compared unequal by
 * reference but equal in content is only stored once more, never wrongly.
 */
export function diffState(prev: RuntimeState | undefined, next: RuntimeState): StateChange {
  if (prev === undefined) return { init: next };
  const diff: StateDiff = {};
  const p = prev as unknown as Record<string, unknown>;
  const n = next as unknown as Record<string, unknown>;
  for (const key of Object.keys(n)) {
    if (SPECIAL.has(key) || p[key] === n[key]) continue;
    (diff.set ??= {})[key] = n[key];
  }
  for (const key of Object.keys(p)) {
    if (!SPECIAL.has(key) && !Object.hasOwn(n, key)) (diff.unset ??= []).push(key);
  }
  const from = firstChangedStage(prev.stages, next.stages);
  if (from < next.stages.length || next.stages.length !== prev.stages.length) {
    diff.stagesFrom = from;
    diff.stages = next.stages.slice(from);
  }
  if (prev.doc !== next.doc) diffDocument(prev.doc, next.doc, diff);
  return diff;
}

function firstChangedStage(prev: readonly Stage[], next: readonly Stage[]): number {
  const common = Math.min(prev.length, next.length);
  for (let i = 0; i < common; i++) if (prev[i] !== next[i]) return i;
  return common;
}

function diffDocument(prev: Record<string, unknown>, next: Record<string, unknown>, diff: StateDiff): void {
  for (const key of Object.keys(next)) {
    if (!Object.hasOwn(prev, key) || prev[key] !== next[key]) (diff.docSet ??= {})[key] = next[key];
  }
  for (const key of Object.keys(prev)) if (!Object.hasOwn(next, key)) (diff.docUnset ??= []).push(key);
}

/**
 * The state after a logged change. `prev` is the state before it (undefined
 * only for a start) and is never modified: the result shares what did not
 * change. Throws StateChangeError when the change cannot follow `prev` — a
 * start on a state, a diff without one, or a revision that does not follow.
 */
export function applyStateChange(prev: RuntimeState | undefined, change: StateChange): RuntimeState {
  if ('init' in change) {
    if (prev !== undefined) throw new StateChangeError(`a start logged on runtime ${prev.runtime.id}, already started`);
    return change.init;
  }
  if (prev === undefined) throw new StateChangeError('a step logged before the runtime was started');
  // Spread, not Object.assign: a parsed key named __proto__ stays a plain property.
  const next = { ...prev, ...change.set } as unknown as Record<string, unknown>;
  for (const key of change.unset ?? []) delete next[key];
  const state = next as unknown as RuntimeState;
  if (state.revision !== prev.revision + 1) {
    throw new StateChangeError(
      `runtime ${prev.runtime.id}: a change to revision ${state.revision} does not follow revision ${prev.revision}`,
    );
  }
  if (change.stagesFrom !== undefined) {
    if (change.stagesFrom > prev.stages.length) {
      throw new StateChangeError(`runtime ${prev.runtime.id}: stages from ${change.stagesFrom} leave a gap`);
    }
    state.stages = [...prev.stages.slice(0, change.stagesFrom), ...(change.stages ?? [])];
  }
  if (change.docSet !== undefined || change.docUnset !== undefined) {
    const doc = { ...prev.doc, ...change.docSet };
    for (const key of change.docUnset ?? []) delete doc[key];
    state.doc = doc;
  }
  return state;
}

/** The state after a runtime's logged changes, applied in order from `base` (undefined: from its start). */
export function replayStateChanges(
  base: RuntimeState | undefined,
  changes: Iterable<StateChange>,
): RuntimeState | undefined {
  let state = base;
  for (const change of changes) state = applyStateChange(state, change);
  return state;
}
