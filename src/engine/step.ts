import type { ActionCommand, Command, StartInput } from './commands.ts';
import type { CompiledWorkflow } from './compile.ts';
import type { DirectoryView } from './directory.ts';
import { documentErrors } from './document-patch.ts';
import { emptyEffects, type Effects } from './effects.ts';
import { EngineError } from './errors.ts';
import { FINISHED_STATUSES, currentNode, type RuntimeState } from './runtime-state.ts';
import { addComment, cancel, changeRequest, reassign, update, withdraw } from './runtime-actions.ts';
import { enterNode } from './stage-lifecycle.ts';
import { StepBuilder } from './step-builder.ts';
import { act, type MovingAction } from './task-actions.ts';
import { SYSTEM_ACTOR, fireTimer } from './timers.ts';

export type StepResult =
  | { ok: true; state: RuntimeState; effects: Effects; changed: boolean }
  | { ok: false; error: EngineError };

/** Actions a finished runtime still takes: change_request, cancel and comment (docs/domain.md#statuses). */
const AFTER_FINISH = new Set(['change_request', 'cancel', 'comment']);

/**
 * The pure step: `(workflow, state, command, directory, now) → next state + effects`.
 * Nothing is executed; a refused command returns its error and the state is untouched.
 */
export function step(
  wf: CompiledWorkflow,
  state: RuntimeState,
  command: Command,
  dir: DirectoryView,
  now: number,
): StepResult {
  const actor = command.type === 'timer' ? SYSTEM_ACTOR : command.actor;
  const b = new StepBuilder(wf, state, actor, now);
  try {
    if (command.type === 'timer') fireTimer(b, command, dir);
    else dispatch(b, command, dir);
  } catch (error) {
    if (error instanceof EngineError) return { ok: false, error };
    throw error;
  }
  if (b.effects.log.length === 0) return { ok: true, state, effects: emptyEffects(), changed: false };
  return { ok: true, state: advance(wf, state, b.state), effects: b.effects, changed: true };
}

/** A new runtime at its initial stage, assigned to its creator. */
export function start(wf: CompiledWorkflow, input: StartInput, dir: DirectoryView, now: number): StepResult {
  const runtime: RuntimeState['runtime'] = {
    id: input.id,
    tenant: input.tenant,
    app: input.app,
    docId: input.docId,
    workflowId: input.workflowId,
    version: input.version,
    creator: input.creator,
    createdAt: now,
  };
  if (input.companyId !== undefined) runtime.companyId = input.companyId;
  const blank: RuntimeState = {
    v: 1,
    runtime,
    status: 'created',
    doc: {},
    stages: [],
    seq: 0,
    revision: 0,
    updatedAt: now,
  };
  const b = new StepBuilder(wf, blank, input.creator, now);
  try {
    b.state.doc = checkedDocument(input.doc, b);
    b.emit('runtime.started', { creator: input.creator });
    enterNode(b, wf.initial.id, dir);
    b.state.status = 'created';
    b.log({ action: 'start', fromNode: wf.initial.id });
  } catch (error) {
    if (error instanceof EngineError) return { ok: false, error };
    throw error;
  }
  const snapshot = wf.machine.getInitialSnapshot(wf.scope, b.state);
  return { ok: true, state: snapshot.context as RuntimeState, effects: b.effects, changed: true };
}

function dispatch(b: StepBuilder, cmd: ActionCommand, dir: DirectoryView): void {
  const status = b.state.status;
  if (status === 'cancelled' && cmd.type !== 'comment') {
    throw new EngineError('action_not_allowed', `the runtime is cancelled: only comments are accepted`);
  }
  if (FINISHED_STATUSES.has(status) && !AFTER_FINISH.has(cmd.type)) {
    throw new EngineError(
      'action_not_allowed',
      `the runtime is ${status}: "${cmd.type}" is not allowed (change_request, cancel and comment are)`,
    );
  }
  switch (cmd.type) {
    case 'submit':
    case 'resubmit':
    case 'approve':
    case 'reject':
    case 'return':
    case 'complete':
      return act(b, cmd as ActionCommand & { type: MovingAction }, dir);
    case 'reassign':
      return reassign(b, cmd, dir);
    case 'withdraw':
      return withdraw(b, cmd, dir);
    case 'comment':
      return addComment(b, cmd);
    case 'update':
      return update(b, cmd);
    case 'change_request':
      return changeRequest(b, cmd, dir);
    case 'cancel':
      return cancel(b, cmd);
    default:
      throw new EngineError('invalid_command', `unknown action "${(cmd as { type: string }).type}"`);
  }
}

/**
 * Runs the decided state through the compiled machine (restore → transition):
 * the machine only moves along edges of the definition, so a decision that
 * would leave the graph is caught here rather than persisted.
 */
function advance(wf: CompiledWorkflow, prev: RuntimeState, next: RuntimeState): RuntimeState {
  const snapshot = wf.machine.resolveState({ value: wf.stateKeys.get(currentNode(prev))!, context: prev });
  const after = wf.machine.transition(snapshot, { type: 'advance', state: next }, wf.scope);
  const expected = wf.stateKeys.get(currentNode(next));
  if (after.value !== expected) {
    throw new Error(`engine invariant: ${wf.key} has no edge from "${currentNode(prev)}" to "${currentNode(next)}"`);
  }
  return next;
}

function checkedDocument(doc: Readonly<Record<string, unknown>>, b: StepBuilder): Record<string, unknown> {
  const errors = documentErrors(b.wf.fields, doc);
  if (errors.length > 0) throw new EngineError('validation_failed', 'the document has invalid fields', errors);
  return { ...doc };
}
