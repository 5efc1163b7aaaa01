import type { ActionCommand } from './commands.ts';
import { nodeOf } from './compiled-workflow.ts';
import type { DirectoryView } from './directory.ts';
import { EngineError } from './errors.ts';
import type { EmployeeId } from './ids.ts';
import { currentNode, type Task } from './runtime-state.ts';
import { assignTask, closeStage, enterNode, finish, slaTimerId } from './stage-lifecycle.ts';
import type { StepBuilder } from './step-builder.ts';
import { comment, patchDocument, requireActiveEmployee, requireOpenStage, requireOpenTask } from './task-actions.ts';
import { durationMs } from './duration.ts';

/** Hands a task to someone else. An admin may also move any open task, or rescue a failed runtime. */
export function reassign(b: StepBuilder, cmd: ActionCommand, dir: DirectoryView): void {
  const to = cmd.toEmployee;
  if (to === undefined)
    throw new EngineError('validation_failed', 'reassign needs toEmployee', [
      { path: 'toEmployee', message: 'required' },
    ]);
  requireActiveEmployee(dir, to, 'toEmployee');
  refuseSelfApproval(b, to);
  if (b.state.status === 'failed') return rescueFailed(b, cmd, to);
  const index = requireOpenStage(b);
  if (b.state.stages[index]!.node === b.wf.initial.id) {
    throw new EngineError('action_not_allowed', 'the initial stage belongs to the creator and cannot be reassigned');
  }
  const from = reassignedTask(b, index, cmd);
  const stage = b.stage(index);
  if (stage.tasks.some((t) => t.assignee === to)) {
    throw new EngineError('action_not_allowed', `"${to}" already has a task on stage "${stage.node}"`);
  }
  const old = stage.tasks.find((t) => t.assignee === from && t.status === 'open')!;
  Object.assign(old, { status: 'skipped', action: 'reassign', at: b.now });
  b.taskChanged(index, old);
  const task: Task = { assignee: to, status: 'open' };
  stage.tasks.push(task);
  assignTask(b, index, task);
  b.emit('task.reassigned', { node: stage.node, stage: index, from, to });
  b.log({ action: 'reassign', fromNode: stage.node, ...comment(cmd) });
}

/** `allowSelfApproval: false` keeps the creator off the stage, whoever hands the task on. */
function refuseSelfApproval(b: StepBuilder, to: EmployeeId): void {
  const last = b.state.stages[b.state.stages.length - 1];
  if (last === undefined || to !== b.state.runtime.creator || nodeOf(b.wf, last.node).allowSelfApproval !== false)
    return;
  throw new EngineError(
    'action_not_allowed',
    `"${to}" created this document and node "${last.node}" does not allow self-approval`,
  );
}

function reassignedTask(b: StepBuilder, index: number, cmd: ActionCommand): EmployeeId {
  const open = b.state.stages[index]!.tasks.filter((t) => t.status === 'open');
  if (!cmd.admin || open.some((t) => t.assignee === cmd.actor)) {
    requireOpenTask(b, index, cmd.actor);
    return cmd.actor;
  }
  const from = cmd.fromEmployee ?? (open.length === 1 ? open[0]!.assignee : undefined);
  if (from === undefined || !open.some((t) => t.assignee === from)) {
    throw new EngineError('validation_failed', 'fromEmployee must name an open task of the current stage', [
      { path: 'fromEmployee', message: `one of: ${open.map((t) => t.assignee).join(', ')}` },
    ]);
  }
  return from;
}

/** A failed runtime (nobody could be assigned) gets the admin's chosen assignee and goes on. */
function rescueFailed(b: StepBuilder, cmd: ActionCommand, to: EmployeeId): void {
  if (!cmd.admin) throw new EngineError('action_not_allowed', 'only an admin can reassign a failed runtime');
  const index = b.state.stages.length - 1;
  const stage = b.stage(index);
  const node = nodeOf(b.wf, stage.node);
  const task: Task = { assignee: to, status: 'open' };
  stage.tasks.push(task);
  if (node.sla) {
    stage.dueAt = b.now + durationMs(node.sla.due);
    b.effects.timersSet.push({
      id: slaTimerId(b.state.runtime.id, index),
      kind: 'sla_due',
      dueAt: stage.dueAt,
      stage: index,
    });
  }
  b.state.status = node.kind === 'initial' ? 'created' : 'in_progress';
  b.clearFailure();
  assignTask(b, index, task);
  b.log({ action: 'reassign', fromNode: stage.node, ...comment(cmd) });
}

/** The creator pulls the document back to the initial stage (to edit and submit again). */
export function withdraw(b: StepBuilder, cmd: ActionCommand, dir: DirectoryView): void {
  requireCreator(b, cmd, 'withdraw');
  const index = b.openStageIndex();
  const atInitial = index !== undefined && b.state.stages[index]!.node === b.wf.initial.id;
  if (index === undefined || atInitial || !['in_progress', 'failed'].includes(b.state.status)) {
    throw new EngineError(
      'action_not_allowed',
      `nothing to withdraw: the runtime is ${b.state.status}${atInitial ? ' and already with its creator' : ''}`,
    );
  }
  const from = b.state.stages[index]!.node;
  closeStage(b, index, 'withdraw');
  backToCreator(b, dir);
  b.log({ action: 'withdraw', fromNode: from, toNode: b.wf.initial.id, ...comment(cmd) });
}

/** Adds a comment to the log; no state changes. Open to the creator, anyone who held a task, and admins. */
export function addComment(b: StepBuilder, cmd: ActionCommand): void {
  if (cmd.comment === undefined || cmd.comment.trim() === '') {
    throw new EngineError('validation_failed', 'comment needs a non-empty comment', [
      { path: 'comment', message: 'required' },
    ]);
  }
  const involved =
    cmd.actor === b.state.runtime.creator || b.state.stages.some((s) => s.tasks.some((t) => t.assignee === cmd.actor));
  if (!involved && !cmd.admin)
    throw new EngineError('not_assignee', 'only the creator, its assignees and admins can comment on this runtime');
  b.emit('comment.added', { comment: cmd.comment });
  b.log({ action: 'comment', fromNode: currentNode(b.state), comment: cmd.comment });
}

/** Edits document fields inside the actor's editable zones. */
export function update(b: StepBuilder, cmd: ActionCommand): void {
  if (cmd.patch === undefined || Object.keys(cmd.patch).length === 0) {
    throw new EngineError('validation_failed', 'update needs a non-empty patch', [
      { path: 'patch', message: 'required' },
    ]);
  }
  const index = requireOpenStage(b);
  requireOpenTask(b, index, cmd.actor);
  const changes = patchDocument(b, cmd.actor, cmd.patch);
  b.log({ action: 'update', fromNode: b.state.stages[index]!.node, ...comment(cmd), ...(changes && { changes }) });
}

/** After a finish, the creator (or an admin) reopens the document at the initial stage. */
export function changeRequest(b: StepBuilder, cmd: ActionCommand, dir: DirectoryView): void {
  requireCreator(b, cmd, 'change_request');
  if (!['approved', 'completed', 'rejected'].includes(b.state.status)) {
    throw new EngineError(
      'action_not_allowed',
      `change_request is for a finished runtime; this one is ${b.state.status}`,
    );
  }
  const from = currentNode(b.state);
  backToCreator(b, dir);
  b.log({ action: 'change_request', fromNode: from, toNode: b.wf.initial.id, ...comment(cmd) });
}

/** Cancels a draft, a finished or a failed runtime. Nothing but comments follows. */
export function cancel(b: StepBuilder, cmd: ActionCommand): void {
  requireCreator(b, cmd, 'cancel');
  const open = b.openStageIndex();
  const withCreator = open !== undefined && b.state.stages[open]!.node === b.wf.initial.id;
  if (!withCreator && !['created', 'approved', 'completed', 'rejected', 'failed'].includes(b.state.status)) {
    throw new EngineError(
      'action_not_allowed',
      `cancel is not allowed while the runtime is ${b.state.status} with approvers; withdraw it first`,
    );
  }
  const index = b.openStageIndex();
  if (index !== undefined) closeStage(b, index, 'cancel');
  finish(b, 'cancelled');
  b.log({ action: 'cancel', fromNode: currentNode(b.state), ...comment(cmd) });
}

function requireCreator(b: StepBuilder, cmd: ActionCommand, action: string): void {
  if (cmd.actor !== b.state.runtime.creator && !cmd.admin) {
    throw new EngineError('not_assignee', `only the creator or an admin can ${action} this runtime`);
  }
}

function backToCreator(b: StepBuilder, dir: DirectoryView): void {
  enterNode(b, b.wf.initial.id, dir);
  b.state.status = 'created';
  b.clearFailure();
}
