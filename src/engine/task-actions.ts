import { editableFields } from './access.ts';
import { nodeOf } from './compiled-workflow.ts';
import type { NodeDefinition } from './definition-schema.ts';
import type { DirectoryView } from './directory.ts';
import { applyPatch, type FieldChanges } from './document-patch.ts';
import { EngineError } from './errors.ts';
import type { ActionCommand } from './commands.ts';
import type { EmployeeId, NodeId } from './ids.ts';
import { nextNode } from './routing.ts';
import type { Stage } from './runtime-state.ts';
import { closeStage, enterNode, finish } from './stage-lifecycle.ts';
import type { LogFields, StepBuilder } from './step-builder.ts';

/** Actions that move a stage: submit/resubmit at the initial node, approve/reject/return/complete at a task node. */
export type MovingAction = 'submit' | 'resubmit' | 'approve' | 'reject' | 'return' | 'complete';

/** When every assignee acted and no exit rule was met, the strongest vote decides (ties: this order). */
const DEADLOCK_PRECEDENCE = ['reject', 'return', 'approve', 'complete'] as const;

/**
 * An assignee acts on the open stage. The stage exits when the action's exit
 * rule is met (`>=`); the runtime then moves forward, back, or finishes.
 */
export function act(b: StepBuilder, cmd: ActionCommand & { type: MovingAction }, dir: DirectoryView): void {
  const index = requireOpenStage(b);
  const node = nodeOf(b.wf, b.state.stages[index]!.node);
  checkActionAllowed(b, node, cmd.type);
  requireOpenTask(b, index, cmd.actor);
  if (cmd.type === 'return' && cmd.toNode !== undefined) returnTargetStages(b, index, cmd.toNode);
  if (cmd.nextAssignee !== undefined) requireActiveEmployee(dir, cmd.nextAssignee, 'nextAssignee');
  const changes = cmd.patch ? patchDocument(b, cmd.actor, cmd.patch) : undefined;
  const stage = b.stage(index);
  const task = stage.tasks.find((t) => t.assignee === cmd.actor && t.status === 'open')!;
  task.status = 'done';
  task.action = cmd.type;
  task.at = b.now;
  if (cmd.nextAssignee !== undefined) task.next = cmd.nextAssignee;
  b.taskChanged(index, task);
  b.emit('task.completed', { node: node.id, stage: index, assignee: cmd.actor, action: cmd.type });
  const exit = exitReached(node, stage, cmd.type);
  const toNode = exit === undefined ? undefined : leaveStage(b, index, exit, cmd, dir);
  const entry: LogFields = { action: cmd.type, fromNode: node.id };
  if (toNode !== undefined) entry.toNode = toNode;
  if (cmd.comment) entry.comment = cmd.comment;
  if (changes) entry.changes = changes;
  b.log(entry);
}

function leaveStage(
  b: StepBuilder,
  index: number,
  exit: MovingAction,
  cmd: ActionCommand,
  dir: DirectoryView,
): NodeId | undefined {
  closeStage(b, index, exit);
  const from = b.state.stages[index]!.node;
  if (exit === 'reject') {
    finish(b, 'rejected');
    return undefined;
  }
  if (exit === 'return') {
    const target = cmd.type === 'return' && cmd.toNode !== undefined ? cmd.toNode : b.wf.initial.id;
    const earlier = returnTargetStages(b, index, target);
    enterNode(b, target, dir, assigneesOf(earlier));
    return target;
  }
  const to = nextNode(b.wf, from, b.state.doc);
  enterNode(b, to, dir, outFormChoice(b, to, b.state.stages[index]!, cmd));
  return to;
}

/** Exit rule: the action's count reaches its `min` (or `all`); when nobody is left to act, the deadlock rule. */
export function exitReached(node: NodeDefinition, stage: Stage, action: MovingAction): MovingAction | undefined {
  let live = 0;
  let open = 0;
  for (const t of stage.tasks) {
    if (t.status !== 'skipped') live++;
    if (t.status === 'open') open++;
  }
  const rule = node.exit?.[action];
  const required = rule === 'all' ? live : Math.min(rule ?? 1, live);
  if (votes(stage, action) >= required) return action;
  if (open > 0) return undefined;
  // The most votes win; a tie goes to the earlier action of DEADLOCK_PRECEDENCE, whoever voted last.
  let best: MovingAction = action;
  let most = 0;
  for (const candidate of DEADLOCK_PRECEDENCE) {
    const n = votes(stage, candidate);
    if (n > most) [best, most] = [candidate, n];
  }
  return best;
}

function votes(stage: Stage, action: string): number {
  let n = 0;
  for (const t of stage.tasks) if (t.status === 'done' && t.action === action) n++;
  return n;
}

function checkActionAllowed(b: StepBuilder, node: NodeDefinition, action: MovingAction): void {
  if (node.kind === 'initial') {
    const returned = isReturned(b);
    const expected = returned ? 'resubmit' : 'submit';
    if (action !== expected) {
      const why = returned ? 'the document was returned to you: send resubmit' : 'send submit to start the approval';
      throw new EngineError('action_not_allowed', `"${action}" is not allowed at the initial stage: ${why}`);
    }
    return;
  }
  if (!(node.actions ?? []).includes(action)) {
    throw new EngineError(
      'action_not_allowed',
      `"${action}" is not allowed at node "${node.id}" (allowed: ${(node.actions ?? []).join(', ')})`,
    );
  }
}

/** True when the runtime is at its initial node because a stage returned it there. */
function isReturned(b: StepBuilder): boolean {
  const previous = b.state.stages[b.state.stages.length - 2];
  return previous?.exitAction === 'return';
}

export function requireOpenStage(b: StepBuilder): number {
  const index = b.openStageIndex();
  if (index === undefined || b.state.status === 'failed') {
    throw new EngineError('action_not_allowed', `the runtime is ${b.state.status}: no stage is open for this action`);
  }
  return index;
}

export function requireOpenTask(b: StepBuilder, index: number, actor: EmployeeId): void {
  let acted = false;
  for (const t of b.state.stages[index]!.tasks) {
    if (t.assignee !== actor) continue;
    if (t.status === 'open') return;
    if (t.status === 'done') acted = true;
  }
  if (acted) {
    throw new EngineError(
      'action_not_allowed',
      `you already acted on stage "${b.state.stages[index]!.node}"; each assignee acts once per stage`,
    );
  }
  throw new EngineError('not_assignee', `you have no open task on stage "${b.state.stages[index]!.node}"`);
}

export function requireActiveEmployee(dir: DirectoryView, id: EmployeeId, path: string): void {
  const employee = dir.employee(id);
  if (!employee?.active) {
    throw new EngineError('validation_failed', `${path}: "${id}" is not an active employee`, [
      { path, message: 'not an active employee' },
    ]);
  }
}

export function patchDocument(
  b: StepBuilder,
  actor: EmployeeId,
  patch: Readonly<Record<string, unknown>>,
): FieldChanges | undefined {
  const changes = applyPatch(b, patch, editableFields(b.wf, b.state, actor));
  if (Object.keys(changes).length === 0) return undefined;
  b.emit('document.updated', { fields: Object.keys(changes) });
  return changes;
}

/**
 * Stages of the current round (since the runtime last left its initial node)
 * at `target`, before stage `index`. A return may only go back along the path
 * the document took.
 */
function returnTargetStages(b: StepBuilder, index: number, target: NodeId): Stage[] {
  // A stage of an earlier version (before a migration) may name a node this version does not have.
  if (!b.wf.nodes.has(target))
    throw new EngineError('validation_failed', `toNode "${target}" is not a node of version ${b.wf.version}`, [
      { path: 'toNode', message: 'not a node of this version' },
    ]);
  const stages = b.state.stages;
  let roundStart = index;
  while (roundStart > 0 && stages[roundStart]!.node !== b.wf.initial.id) roundStart--;
  const found = stages.slice(roundStart, index).filter((s) => s.node === target);
  if (found.length === 0) {
    const visited = [...new Set(stages.slice(roundStart, index).map((s) => s.node))];
    throw new EngineError(
      'validation_failed',
      `toNode "${target}" is not an earlier stage of this round (earlier: ${visited.join(', ')})`,
      [{ path: 'toNode', message: 'not an earlier stage' }],
    );
  }
  return found;
}

/** Who held the last visit of a node (reused for out_form nodes on a return). */
function assigneesOf(stages: readonly Stage[]): EmployeeId[] {
  const last = stages[stages.length - 1];
  return last ? last.tasks.filter((t) => t.action !== 'reassign' && !t.escalated).map((t) => t.assignee) : [];
}

/** The out_form choice for `to`: this command's nextAssignee, else the latest one made on the stage. */
function outFormChoice(b: StepBuilder, to: NodeId, stage: Stage, cmd: ActionCommand): EmployeeId[] | undefined {
  if (nodeOf(b.wf, to).collaborators?.type !== 'out_form') return undefined;
  let chosen = cmd.nextAssignee;
  let latest = -Infinity;
  for (const t of stage.tasks) {
    if (cmd.nextAssignee === undefined && t.next !== undefined && (t.at ?? 0) > latest)
      [chosen, latest] = [t.next, t.at ?? 0];
  }
  if (chosen === b.state.runtime.creator && nodeOf(b.wf, to).allowSelfApproval === false) {
    throw new EngineError(
      'validation_failed',
      `the next stage "${to}" does not allow self-approval: name someone other than the creator`,
      [{ path: 'nextAssignee', message: 'the creator cannot approve their own document here' }],
    );
  }
  if (chosen === undefined) {
    throw new EngineError('next_assignee_required', `the next stage "${to}" is assigned by you: send nextAssignee`, [
      { path: 'nextAssignee', message: 'required: the next stage is out_form' },
    ]);
  }
  return [chosen];
}

export function comment(cmd: ActionCommand): { comment?: string } {
  return cmd.comment !== undefined && cmd.comment !== '' ? { comment: cmd.comment } : {};
}
