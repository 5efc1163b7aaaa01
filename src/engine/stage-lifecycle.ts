import { resolveAssignees } from './assignees.ts';
import { isTerminal, nodeOf } from './compiled-workflow.ts';
import type { DirectoryView } from './directory.ts';
import { durationMs } from './duration.ts';
import type { EmployeeId, NodeId } from './ids.ts';
import type { Stage, Task } from './runtime-state.ts';
import type { StepBuilder } from './step-builder.ts';

export const slaTimerId = (runtimeId: string, stage: number) => `${runtimeId}:${stage}:sla`;
export const reminderTimerId = (runtimeId: string, stage: number) => `${runtimeId}:${stage}:remind`;

/**
 * Enters a node: a new stage with its tasks. A terminal node finishes the
 * runtime; a task node with nobody to assign fails it with a reason naming the node.
 * `chosen` is the out_form choice (or the assignees of the earlier visit on a return).
 */
export function enterNode(b: StepBuilder, nodeId: NodeId, dir: DirectoryView, chosen?: readonly EmployeeId[]): void {
  const node = nodeOf(b.wf, nodeId);
  const stage: Stage = { node: node.id, status: 'open', enteredAt: b.now, tasks: [] };
  if (isTerminal(node)) {
    Object.assign(stage, { status: 'closed', exitedAt: b.now });
    const index = b.addStage(stage);
    b.emit('stage.entered', { node: node.id, stage: index });
    finish(b, node.kind as 'approved' | 'completed');
    return;
  }
  const assignees = assigneesFor(b, nodeId, dir, chosen);
  if (!assignees.ok) {
    const index = b.addStage(stage);
    b.emit('stage.entered', { node: node.id, stage: index });
    fail(b, node.id, assignees.reason);
    return;
  }
  if (node.sla) stage.dueAt = b.now + durationMs(node.sla.due);
  stage.tasks = assignees.assignees.map((assignee): Task => ({ assignee, status: 'open' }));
  const index = b.addStage(stage);
  if (node.kind === 'task') b.state.status = 'in_progress';
  b.emit('stage.entered', { node: node.id, stage: index });
  for (const task of stage.tasks) assignTask(b, index, task);
  if (stage.dueAt !== undefined) {
    b.effects.timersSet.push({
      id: slaTimerId(b.state.runtime.id, index),
      kind: 'sla_due',
      dueAt: stage.dueAt,
      stage: index,
    });
  }
}

function assigneesFor(b: StepBuilder, nodeId: NodeId, dir: DirectoryView, chosen?: readonly EmployeeId[]) {
  const node = nodeOf(b.wf, nodeId);
  const { doc, runtime } = b.state;
  if (node.kind === 'initial') return { ok: true as const, assignees: [runtime.creator] };
  return resolveAssignees({ def: b.wf.def, node, doc, creator: runtime.creator, dir, chosen });
}

/** Opens a task row and announces it. */
export function assignTask(b: StepBuilder, stageIndex: number, task: Task): void {
  b.taskChanged(stageIndex, task);
  const stage = b.state.stages[stageIndex]!;
  b.emit('task.assigned', {
    node: stage.node,
    stage: stageIndex,
    assignee: task.assignee,
    ...(stage.dueAt !== undefined && { dueAt: stage.dueAt }),
  });
}

/** Closes a stage: open tasks become skipped, its timers are cancelled. */
export function closeStage(b: StepBuilder, index: number, exitAction: string): void {
  const stage = b.stage(index);
  stage.status = 'closed';
  stage.exitedAt = b.now;
  stage.exitAction = exitAction;
  for (const task of stage.tasks) {
    if (task.status !== 'open') continue;
    task.status = 'skipped';
    task.at = b.now;
    b.taskChanged(index, task);
  }
  if (nodeOf(b.wf, stage.node).sla) {
    b.effects.timersCancelled.push(slaTimerId(b.state.runtime.id, index), reminderTimerId(b.state.runtime.id, index));
  }
  b.emit('stage.exited', { node: stage.node, stage: index, action: exitAction });
}

export function finish(b: StepBuilder, outcome: 'approved' | 'completed' | 'rejected' | 'cancelled'): void {
  b.state.status = outcome;
  b.clearFailure();
  b.emit('runtime.finished', { outcome });
}

export function fail(b: StepBuilder, node: NodeId, message: string): void {
  b.state.status = 'failed';
  b.state.failure = { code: 'no_assignee', message, node };
  b.emit('runtime.failed', { code: 'no_assignee', message, node });
}
