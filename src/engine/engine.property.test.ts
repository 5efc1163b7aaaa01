import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ADMIN,
  ACTOR_IDS,
  FIELDS,
  commandPlanArb,
  creatorArb,
  definitionArb,
  documentArb,
  openAssignees,
  resolveAction,
  resolveTimer,
  type PlannedCommand,
} from '../../test/fixtures/arbitraries.ts';
import { orgChart } from '../../test/fixtures/org-chart.ts';
import {
  compileWorkflow,
  editableFields,
  emptyEffects,
  hiddenFields,
  redactDocument,
  start,
  step,
  validateDefinition,
  type Command,
  type CompiledWorkflow,
  type Effects,
  type RuntimeState,
  type StepResult,
  type TaskStatus,
  type TimerSet,
  type WorkflowDefinitionInput,
} from './index.ts';
import { applyStateChange, diffState, replayStateChanges, type StateChange } from './state-change.ts';

/**
 * Property tests of the pure engine: random valid definitions driven by random
 * command sequences keep the runtime's invariants. A failure shrinks to a small
 * definition and command list; rerun one with BFLOW_FC_SEED=<seed> to
 * reproduce it.
 */

const SEED = process.env['BFLOW_FC_SEED'];
/** BFLOW_FC_SCALE=20 multiplies the runs, for a longer local or nightly search. */
const SCALE = Number(process.env['BFLOW_FC_SCALE'] ?? 1);
const TIMEOUT = 60_000 * Math.max(SCALE, 1);
const options = (numRuns: number) => ({
  numRuns: Math.round(numRuns * SCALE),
  ...(SEED !== undefined && { seed: Number(SEED) }),
});

const T0 = Date.UTC(2026, 0, 5, 9);
const AFTER_FINISH = new Set(['change_request', 'cancel', 'comment']);
const DECLARED = new Set(Object.keys(FIELDS));

let workflowCounter = 0;

/** Validates (the generator must only produce valid definitions) and compiles. */
function compile(input: WorkflowDefinitionInput): CompiledWorkflow {
  const validation = validateDefinition(input);
  if (!validation.ok) throw new Error(`generated an invalid definition: ${JSON.stringify(validation.errors, null, 1)}`);
  return compileWorkflow(validation.definition, `wf-prop-${++workflowCounter}`, 1);
}

/** One runtime driven through a plan: `states[i]` is the state `commands[i]` was sent to. */
interface Run {
  wf: CompiledWorkflow;
  states: RuntimeState[];
  commands: Command[];
  nows: number[];
  results: StepResult[];
}

interface Scenario {
  def: WorkflowDefinitionInput;
  creator: string;
  doc: Record<string, unknown>;
  plan: PlannedCommand[];
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  def: definitionArb,
  creator: creatorArb,
  doc: documentArb,
  plan: commandPlanArb,
});

/** Drives the scenario, checking every invariant after every step (see InvariantChecker). */
function drive({ def, creator, doc, plan }: Scenario): Run {
  const wf = compile(def);
  const input = {
    id: 'rt-1',
    tenant: 't1',
    app: 'prop.test',
    docId: 'doc-1',
    workflowId: wf.workflowId,
    version: 1,
    creator,
    doc,
  };
  const started = start(wf, input, orgChart, T0);
  if (!started.ok) throw new Error(`start refused: ${started.error.code} ${started.error.message}`);
  const checker = new InvariantChecker(wf);
  checker.started(started.state, started.effects);
  const run: Run = { wf, states: [], commands: [], nows: [], results: [] };
  let state = started.state;
  let now = T0;
  for (const p of plan) {
    let command: Command;
    if (p.kind === 'timer') {
      const timer = resolveTimer(p, checker.timers);
      if (!timer) continue;
      now = Math.max(now + p.wait, timer.dueAt);
      command = { type: 'timer', timerId: timer.id, kind: timer.kind, stage: timer.stage };
    } else {
      now += p.wait;
      command = resolveAction(wf, state, p);
    }
    deepFreeze(state);
    deepFreeze(command);
    const before = JSON.stringify(state);
    const result = step(wf, state, command, orgChart, now);
    checker.stepped(state, before, command, now, result);
    run.states.push(state);
    run.commands.push(command);
    run.nows.push(now);
    run.results.push(result);
    if (result.ok) state = result.state;
  }
  run.states.push(state);
  return run;
}

/** Follows one run's effects and states and asserts the engine's invariants at each step. */
class InvariantChecker {
  /** Every timer set so far, in order. */
  readonly timers: TimerSet[] = [];
  /** The inbox read model as the TaskChange stream builds it: `stage|node|assignee` → status. */
  private readonly rows = new Map<string, TaskStatus>();
  private readonly eventIds = new Set<string>();
  /** Timers set and neither cancelled nor fired: id → stage. */
  private readonly live = new Map<string, number>();
  private seq = 0;

  constructor(private readonly wf: CompiledWorkflow) {}

  started(state: RuntimeState, effects: Effects): void {
    expect(state.status).toBe('created');
    this.absorb(state, effects);
    checkState(this.wf, state);
  }

  stepped(prev: RuntimeState, before: string, cmd: Command, now: number, r: StepResult): void {
    const ctx = () => `${JSON.stringify(cmd)} at ${prev.status} on ${prev.stages.at(-1)?.node}`;
    if (cmd.type === 'timer') {
      const openIndex = prev.stages.at(-1)?.status === 'open' ? prev.stages.length - 1 : -1;
      if (prev.status !== 'in_progress' || openIndex !== cmd.stage)
        expect(r.ok && !r.changed, `stale timer ${ctx()}`).toBe(true);
    } else {
      const refusedWhenFinished =
        prev.status === 'cancelled' ? cmd.type !== 'comment' : isFinished(prev) && !AFTER_FINISH.has(cmd.type);
      if (refusedWhenFinished) expect(r.ok ? 'accepted' : r.error.code, ctx()).toBe('action_not_allowed');
      if (r.ok) expect(r.changed, `an accepted action is logged: ${ctx()}`).toBe(true);
      checkEditableAgreement(this.wf, prev, cmd, r);
      if (r.ok) checkExitRule(this.wf, prev, cmd, r.state);
    }
    expect(JSON.stringify(prev), `the input state is untouched: ${ctx()}`).toBe(before);
    if (!r.ok) return;
    if (!r.changed) {
      expect(r.state).toBe(prev);
      expect(r.effects).toStrictEqual(emptyEffects());
      return;
    }
    checkChange(prev, r.state, r.effects, cmd, now);
    if (cmd.type === 'timer') this.live.delete(cmd.timerId);
    this.absorb(r.state, r.effects);
    checkState(this.wf, r.state);
  }

  private absorb(state: RuntimeState, effects: Effects): void {
    for (const entry of effects.log) expect(entry.seq, 'log seq +1 per entry').toBe(++this.seq);
    expect(state.seq).toBe(this.seq);
    for (const entry of effects.log) {
      for (const node of [entry.fromNode, entry.toNode ?? entry.fromNode])
        expect(this.wf.nodes.has(node), `log names node ${node}`).toBe(true);
    }
    const { id, tenant, app, docId, workflowId, version } = state.runtime;
    for (const event of effects.events) {
      expect(this.eventIds.has(event.id), `event id ${event.id} is unique`).toBe(false);
      this.eventIds.add(event.id);
      expect(event).toMatchObject({ runtimeId: id, tenant, app, docId, workflowId, version });
    }
    for (const t of effects.tasks) {
      const key = `${t.stage}|${t.node}|${t.assignee}`;
      const was = this.rows.get(key);
      if (t.status === 'open') expect(was, `task ${key} opened once`).toBeUndefined();
      else expect(was, `task ${key} closed (${t.status}) at most once, after being opened`).toBe('open');
      this.rows.set(key, t.status);
    }
    this.timers.push(...effects.timersSet);
    for (const t of effects.timersSet) this.live.set(t.id, t.stage);
    for (const id of effects.timersCancelled) this.live.delete(id);
    const open = state.stages.at(-1)?.status === 'open' ? state.stages.length - 1 : -1;
    for (const [timer, stage] of this.live) expect(stage, `live timer ${timer} is for the open stage`).toBe(open);
    checkRowsMatchState(this.rows, state);
  }
}

/** Status changes a single step may make. */
const NEXT_STATUS: Record<RuntimeState['status'], RuntimeState['status'][]> = {
  created: ['created', 'in_progress', 'failed', 'approved', 'completed', 'cancelled'],
  // in_progress → cancelled: only a returned draft, back with its creator (checked in checkChange).
  in_progress: ['in_progress', 'created', 'failed', 'approved', 'completed', 'rejected', 'cancelled'],
  failed: ['failed', 'in_progress', 'created', 'cancelled'],
  approved: ['approved', 'created', 'cancelled'],
  completed: ['completed', 'created', 'cancelled'],
  rejected: ['rejected', 'created', 'cancelled'],
  cancelled: ['cancelled'],
};

const isFinished = (s: RuntimeState) => s.status === 'approved' || s.status === 'completed' || s.status === 'rejected';

/** A changed step: +1 seq and revision, one log line, closed stages never rewritten. */
function checkChange(prev: RuntimeState, next: RuntimeState, effects: Effects, cmd: Command, now: number): void {
  expect(NEXT_STATUS[prev.status], `${prev.status} → ${next.status} by ${cmd.type}`).toContain(next.status);
  if (prev.status === 'in_progress' && next.status === 'cancelled') {
    const last = prev.stages[prev.stages.length - 1]!;
    expect(cmd.type, 'only cancel ends a runtime in progress').toBe('cancel');
    expect([last.status, last.node], 'cancelled in progress only when returned to the creator').toEqual([
      'open',
      prev.stages[0]!.node,
    ]);
  }
  expect(next.seq).toBe(prev.seq + 1);
  expect(next.revision).toBe(prev.revision + 1);
  expect(next.updatedAt).toBe(now);
  expect(effects.log).toHaveLength(1);
  expect(effects.log[0]!.seq).toBe(next.seq);
  expect(next.runtime).toStrictEqual(prev.runtime);
  expect(next.stages.length).toBeGreaterThanOrEqual(prev.stages.length);
  prev.stages.forEach((stage, i) => {
    if (stage.status === 'closed') expect(next.stages[i], `closed stage ${i} is never rewritten`).toStrictEqual(stage);
  });
  if (prev.status === 'cancelled' || cmd.type === 'comment') {
    expect({ status: next.status, stages: next.stages, doc: next.doc }).toStrictEqual({
      status: prev.status,
      stages: prev.stages,
      doc: prev.doc,
    });
  }
}

/** An accepted update only changed fields editableFields allowed; a fields_not_editable refusal names one it did not. */
function checkEditableAgreement(wf: CompiledWorkflow, prev: RuntimeState, cmd: Command, r: StepResult): void {
  if (cmd.type !== 'update' || cmd.patch === undefined) return;
  const editable = editableFields(wf, prev, cmd.actor);
  const allowed = (f: string) => editable === 'all' || editable.has(f);
  if (r.ok)
    for (const f of Object.keys(r.effects.log[0]?.changes ?? {}))
      expect(allowed(f), `update of ${f} was allowed`).toBe(true);
  else if (r.error.code === 'fields_not_editable') expect(Object.keys(cmd.patch).some((f) => !allowed(f))).toBe(true);
}

const TASK_ACTIONS: readonly string[] = ['approve', 'reject', 'return', 'complete'];
/** Deadlock precedence (docs/domain.md#exit-rules; task-actions.ts): the most votes win, ties in this order. */
const PRECEDENCE = ['reject', 'return', 'approve', 'complete'];

/**
 * An independent oracle for exit rules: after an assignee acts on a task node,
 * the stage exits with that action when its count reaches `min` (or `all`) of
 * the live assignees; when nobody is left to act, with the most-voted action,
 * ties broken by precedence; otherwise it stays open.
 */
function checkExitRule(wf: CompiledWorkflow, prev: RuntimeState, cmd: Command, next: RuntimeState): void {
  const index = prev.stages.length - 1;
  const node = wf.nodes.get(prev.stages[index]!.node)!;
  if (cmd.type === 'timer' || node.kind !== 'task' || !TASK_ACTIONS.includes(cmd.type)) return;
  const stage = next.stages[index]!;
  // Tasks handed on by reassign do not count; those skipped by the exit itself were still pending.
  const live = stage.tasks.filter((t) => t.action !== 'reassign');
  const votes = (a: string) => live.filter((t) => t.status === 'done' && t.action === a).length;
  const rule = node.exit?.[cmd.type];
  const required = rule === 'all' ? live.length : Math.min(rule ?? 1, live.length);
  let expected: string | undefined;
  if (votes(cmd.type) >= required) expected = cmd.type;
  else if (live.every((t) => t.status === 'done'))
    expected = PRECEDENCE.reduce((best, a) => (votes(a) > votes(best) ? a : best));
  const votesByAction = Object.fromEntries(TASK_ACTIONS.map((a) => [a, votes(a)]));
  expect(
    stage.status === 'open' ? undefined : stage.exitAction,
    `exit of "${node.id}" after ${cmd.type} ${JSON.stringify({ votesByAction, rule })}`,
  ).toBe(expected);
}

/** The TaskChange stream and the state agree on every task; so they agree on the open ones. */
function checkRowsMatchState(rows: ReadonlyMap<string, TaskStatus>, state: RuntimeState): void {
  let tasks = 0;
  state.stages.forEach((stage, i) => {
    for (const task of stage.tasks) {
      tasks++;
      expect(rows.get(`${i}|${stage.node}|${task.assignee}`), `row ${i}|${task.assignee}`).toBe(task.status);
    }
  });
  expect(rows.size).toBe(tasks);
}

/** Where the runtime is: nodes of its definition, at most one open stage (the last), status consistent with it. */
function checkState(wf: CompiledWorkflow, s: RuntimeState): void {
  expect(s.stages.length).toBeGreaterThan(0);
  s.stages.forEach((stage, i) => {
    expect(wf.nodes.has(stage.node), `stage ${i} at a node of the definition`).toBe(true);
    if (i < s.stages.length - 1) expect(stage.status, `stage ${i} before the last is closed`).toBe('closed');
    if (stage.status === 'closed') expect(stage.tasks.filter((t) => t.status === 'open')).toEqual([]);
    expect(new Set(stage.tasks.map((t) => t.assignee)).size, `one task per assignee on stage ${i}`).toBe(
      stage.tasks.length,
    );
    if (wf.nodes.get(stage.node)?.allowSelfApproval === false) {
      expect(
        stage.tasks.map((t) => t.assignee),
        `allowSelfApproval: false at "${stage.node}"`,
      ).not.toContain(s.runtime.creator);
    }
  });
  const last = s.stages.at(-1)!;
  const kind = wf.nodes.get(last.node)!.kind;
  const open = openAssignees(s).length;
  const where = { status: s.status, lastStatus: last.status, kind, open, exitAction: last.exitAction };
  // A return to the creator keeps the runtime in progress (awaiting resubmit) at the initial node.
  const returned = s.stages.at(-2)?.exitAction === 'return';
  const expected: Record<RuntimeState['status'], Partial<typeof where>> = {
    created: { lastStatus: 'open', kind: 'initial' },
    in_progress: { lastStatus: 'open', kind: kind === 'initial' && returned ? 'initial' : 'task' },
    failed: { lastStatus: 'open', kind: 'task', open: 0 },
    approved: { lastStatus: 'closed', kind: 'approved', open: 0 },
    completed: { lastStatus: 'closed', kind: 'completed', open: 0 },
    rejected: { lastStatus: 'closed', kind: 'task', open: 0, exitAction: 'reject' },
    cancelled: { lastStatus: 'closed', open: 0 },
  };
  expect(where).toMatchObject({ status: s.status, ...expected[s.status] });
  if (s.status === 'created' || s.status === 'in_progress')
    expect(open, 'an open stage has someone to act').toBeGreaterThan(0);
  expect(s.failure !== undefined, 'a failure is recorded exactly when failed').toBe(s.status === 'failed');
}

/** Replays `commands[k..]` from a JSON copy of `states[k]` and expects exactly what the in-memory run produced. */
function checkJsonRoundTrip(run: Run, k: number): void {
  let state = JSON.parse(JSON.stringify(run.states[k])) as RuntimeState;
  for (let i = k; i < run.commands.length; i++) {
    const replayed = step(run.wf, state, run.commands[i]!, orgChart, run.nows[i]!);
    expect(comparable(replayed), `step ${i} after a JSON round trip at ${k}`).toStrictEqual(
      comparable(run.results[i]!),
    );
    if (replayed.ok) state = replayed.state;
  }
}

function comparable(r: StepResult) {
  return r.ok
    ? { ok: true, changed: r.changed, state: r.state, effects: r.effects }
    : { ok: false, code: r.error.code, message: r.error.message, errors: r.error.errors };
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}

describe('engine properties - random definitions and command sequences', () => {
  it(
    'the generator only produces definitions the validator accepts',
    () => {
      fc.assert(
        fc.property(definitionArb, (def) => {
          const validation = validateDefinition(def);
          expect(validation.ok ? [] : validation.errors).toEqual([]);
        }),
        options(500),
      );
    },
    TIMEOUT,
  );

  it(
    'every step keeps the invariants, and a JSON round trip at any step changes nothing that follows',
    () => {
      fc.assert(
        fc.property(scenarioArb, fc.nat(), (scenario, at) => {
          const run = drive(scenario);
          checkJsonRoundTrip(run, at % run.states.length);
        }),
        options(200),
      );
    },
    TIMEOUT,
  );

  it(
    "each step's logged state change (through JSON) rebuilds the state after it, and replaying them all from the start rebuilds the last state",
    () => {
      fc.assert(
        fc.property(scenarioArb, (scenario) => {
          const run = drive(scenario);
          const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
          const changes: StateChange[] = [json(diffState(undefined, run.states[0]!))];
          run.results.forEach((r, i) => {
            if (!r.ok || !r.changed) return;
            const change = json(diffState(run.states[i], r.state));
            expect(applyStateChange(json(run.states[i]!), change)).toEqual(json(r.state));
            changes.push(change);
          });
          expect(replayStateChanges(undefined, changes)).toEqual(json(run.states.at(-1)));
        }),
        options(200),
      );
    },
    TIMEOUT,
  );

  it(
    'viewer helpers (redactDocument, editableFields, hiddenFields) never throw and agree with each other',
    () => {
      fc.assert(
        fc.property(scenarioArb, fc.nat(), fc.constantFrom(...ACTOR_IDS, ADMIN), (scenario, at, other) => {
          const run = drive(scenario);
          const state = run.states[at % run.states.length]!;
          for (const viewer of new Set([state.runtime.creator, ...openAssignees(state), other]))
            checkViewer(run.wf, state, viewer);
        }),
        options(100),
      );
    },
    TIMEOUT,
  );
});

function checkViewer(wf: CompiledWorkflow, state: RuntimeState, viewer: string): void {
  const hidden = hiddenFields(wf, state, viewer);
  const editable = editableFields(wf, state, viewer);
  const redacted = redactDocument(wf, state, viewer);
  for (const f of hidden) expect(DECLARED.has(f)).toBe(true);
  expect(Object.keys(redacted).sort()).toEqual(
    Object.keys(state.doc)
      .filter((f) => !hidden.has(f))
      .sort(),
  );
  const hasOpenTask = openAssignees(state).includes(viewer);
  if (editable === 'all') {
    expect(hasOpenTask && wf.nodes.get(state.stages.at(-1)!.node)!.kind === 'initial').toBe(true);
  } else {
    for (const f of editable) expect(DECLARED.has(f)).toBe(true);
    if (!hasOpenTask) expect(editable.size).toBe(0);
  }
}
