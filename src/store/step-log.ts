import {
  applyStateChange,
  type DomainEvent,
  type Effects,
  type EventType,
  type LogEntry,
  type RuntimeState,
  type StateChange,
  type TaskChange,
  type TimerSet,
} from '../engine/index.ts';
import type { LoggedCommand } from './ports.ts';

/**
 * The runtime log of the log-first commit (docs/architecture.md "A command's
 * path"): one row per committed step, written in the step's group commit and
 * never updated. It is the source of truth; the runtime row, the inbox rows and
 * the timers are projections of it, and the outbox is read from it.
 *
 * A row's body stores the step compactly: its events without the fields every
 * event of the runtime repeats (tenant, app, document, workflow, version — kept
 * once — and the id, actor and time the step gives them).
 */

/** One committed step, as its host knows it in memory. */
export interface CommittedStep {
  tenant: string;
  runtimeId: string;
  shard: number;
  /** The step's position in its shard's log (per-shard, increasing in commit order). */
  seq: number;
  /** The state after the step (its revision is the step's). */
  state: RuntimeState;
  effects: Effects;
  change: StateChange;
  /** What produced the step, with its idempotency key (absent for timers without one). */
  cause?: LoggedCommand;
}

/** The identity the step's events share. */
interface EventHeader {
  app: string;
  docId: string;
  workflowId: string;
  version: number;
}

/** An event in the body: type and data, plus actor/time only where they differ from the step's. */
interface CompactEvent {
  t: EventType;
  d: Record<string, unknown>;
  a?: string;
  at?: number;
}

/** The JSON body of a runtime_steps row (format version 1). */
export interface StepBody {
  v: 1;
  /**
   * A base step: `change` is `{ init: state }` holding the whole state at this revision, which replaces
   * whatever came before (the baseline migration 004 wrote for each active runtime, or a record committed
   * without its change). Replay may start from it.
   */
  base?: true;
  /** The step's time and actor (the log entry's), the defaults of its events. */
  at: number;
  actor: string;
  /** The state's log seq after the step: its events are `<runtime>:<seq>:<index>`. */
  seq: number;
  cause?: LoggedCommand;
  change: StateChange;
  log?: LogEntry[];
  ev?: EventHeader;
  events?: CompactEvent[];
  tasks?: TaskChange[];
  timersSet?: TimerSet[];
  timersCancelled?: string[];
}

/** The body of a step's row. */
export function encodeStep(
  step: Pick<CommittedStep, 'state' | 'effects' | 'change' | 'cause'> & { base?: boolean },
): StepBody {
  const { state, effects } = step;
  const first = effects.log[0];
  const at = first?.at ?? state.updatedAt;
  const actor = first?.actor ?? effects.events[0]?.actor ?? '';
  const body: StepBody = { v: 1, at, actor, seq: state.seq, change: step.change };
  if (step.base === true) body.base = true;
  if (step.cause !== undefined) body.cause = step.cause;
  if (effects.log.length > 0) body.log = effects.log;
  if (effects.events.length > 0) {
    const rt = state.runtime;
    body.ev = { app: rt.app, docId: rt.docId, workflowId: rt.workflowId, version: rt.version };
    body.events = effects.events.map((e) => {
      const c: CompactEvent = { t: e.type, d: e.data };
      if (e.actor !== actor) c.a = e.actor;
      if (e.at !== at) c.at = e.at;
      return c;
    });
  }
  if (effects.tasks.length > 0) body.tasks = effects.tasks;
  if (effects.timersSet.length > 0) body.timersSet = effects.timersSet;
  if (effects.timersCancelled.length > 0) body.timersCancelled = effects.timersCancelled;
  return body;
}

/** The step's domain events, whole again (ids, tenant and identity restored). */
export function stepEvents(tenant: string, runtimeId: string, body: StepBody): DomainEvent[] {
  const header = body.ev;
  if (body.events === undefined || header === undefined) return [];
  return body.events.map((c, i) => ({
    id: `${runtimeId}:${body.seq}:${i}`,
    type: c.t,
    tenant,
    app: header.app,
    docId: header.docId,
    runtimeId,
    workflowId: header.workflowId,
    version: header.version,
    actor: c.a ?? body.actor,
    at: c.at ?? body.at,
    data: c.d,
  }));
}

/** The step's effects, whole again. */
export function stepEffects(tenant: string, runtimeId: string, body: StepBody): Effects {
  return {
    log: body.log ?? [],
    tasks: body.tasks ?? [],
    events: stepEvents(tenant, runtimeId, body),
    timersSet: body.timersSet ?? [],
    timersCancelled: body.timersCancelled ?? [],
  };
}

/**
 * The state after `bodies` (one runtime's steps in revision order) applied from `from` (undefined: from
 * the runtime's start). A base step replaces the state. The one replay of the log: activation, idempotent
 * replies and the invariant checker all use it. Throws StateChangeError on a gap or reordering.
 */
export function replaySteps(from: RuntimeState | undefined, bodies: Iterable<StepBody>): RuntimeState | undefined {
  let state = from;
  for (const body of bodies) {
    const { change } = body;
    state = body.base === true && 'init' in change ? change.init : applyStateChange(state, change);
  }
  return state;
}

/**
 * The state at `revision` from a runtime's steps at or below it (revision order): replay from the last
 * step that can start one (its start or a base step). Undefined when no such step is there (a runtime
 * older than the log: migration 004 gave a baseline to active runtimes only).
 */
export function stateAtRevision(
  steps: readonly { revision: number; body: StepBody }[],
  revision: number,
): RuntimeState | undefined {
  const upTo = steps.filter((s) => s.revision <= revision);
  let from = -1;
  upTo.forEach((s, i) => {
    if ('init' in s.body.change) from = i;
  });
  if (from === -1) return undefined;
  const state = replaySteps(
    undefined,
    upTo.slice(from).map((s) => s.body),
  );
  return state?.revision === revision ? state : undefined;
}

/**
 * The body of a base step holding `state` whole (`{ init: state }`), with no effects: what retention leaves of a
 * runtime's compacted log (the steps before it removed; their effects are published and projected). `cause`
 * keeps the command the original step logged.
 */
export function baseStepBody(state: RuntimeState, cause?: LoggedCommand): StepBody {
  const body: StepBody = { v: 1, base: true, at: state.updatedAt, actor: '', seq: state.seq, change: { init: state } };
  if (cause !== undefined) body.cause = cause;
  return body;
}
