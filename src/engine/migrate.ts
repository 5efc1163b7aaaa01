import { resolveAssignees } from './assignees.ts';
import { isTerminal, type WorkflowIndex } from './compiled-workflow.ts';
import type { NodeDefinition } from './definition-schema.ts';
import type { DirectoryView } from './directory.ts';
import { documentErrors } from './document-patch.ts';
import { durationMs } from './duration.ts';
import type { Effects } from './effects.ts';
import type { EmployeeId } from './ids.ts';
import { targetNode, type MigrationBlock, type MigrationMapping } from './migration-rules.ts';
import { FINISHED_STATUSES, type RuntimeState, type Stage, type Task } from './runtime-state.ts';
import { assignTask, enterNode, reminderTimerId, slaTimerId } from './stage-lifecycle.ts';
import { StepBuilder } from './step-builder.ts';

/** Moves one runtime to another version of its workflow: a `migrate` entry of its log (docs/domain.md#migrating-runtimes). */
export interface MigrateCommand extends MigrationMapping {
  type: 'migrate';
  /** The plan the migration belongs to (its event and log entry name it). */
  planId: string;
  /** Who asked for the plan (`system` for autoMigrate). */
  actor: EmployeeId;
}

export type MigrationResult =
  | { ok: true; state: RuntimeState; effects: Effects }
  | { ok: false; block: MigrationBlock; message: string };

const blocked = (block: MigrationBlock, message: string): MigrationResult => ({ ok: false, block, message });

/**
 * The pure migration step: `(source version, target version, state, command, directory, now) → the state on
 * the target version + effects`, or why the runtime cannot move (nothing changed). The open stage moves to its
 * mapped node; closed stages of mapped nodes are renamed too (so `return` finds them). When the node's
 * collaborators differ, the open tasks are reconciled with the assignees resolved now (tasks of people no
 * longer assigned are skipped, new ones open); the SLA is recomputed from the stage's entry time. A node
 * mapped into an end node closes the stage and finishes the runtime.
 */
export function migrate(
  from: WorkflowIndex,
  to: WorkflowIndex,
  state: RuntimeState,
  cmd: MigrateCommand,
  dir: DirectoryView,
  now: number,
): MigrationResult {
  const rt = state.runtime;
  if (rt.workflowId !== to.workflowId || from.workflowId !== to.workflowId)
    return blocked('other_workflow', `the runtime runs workflow ${rt.workflowId}, not ${to.workflowId}`);
  if (rt.version !== cmd.fromVersion || from.version !== cmd.fromVersion || to.version !== cmd.toVersion)
    return blocked('not_on_version', `the runtime is on version ${rt.version}, not ${cmd.fromVersion}`);
  if (FINISHED_STATUSES.has(state.status)) return blocked('finished', `the runtime is ${state.status}`);
  if (state.status === 'failed')
    return blocked('failed', 'the runtime failed (no assignee): rescue it with an admin reassign first');
  const index = state.stages.length - 1;
  const open = state.stages[index];
  if (open?.status !== 'open') return blocked('finished', 'the runtime has no open stage');
  const target = targetNode(from, to, cmd, open.node);
  if (!target.ok) return blocked(target.block, target.message);
  const docErrors = documentErrors(to.fields, state.doc);
  if (docErrors.length > 0)
    return blocked('document_invalid', `the document does not fit version ${to.version}: ${docErrors[0]!.message}`);

  const b = new StepBuilder(to, state, cmd.actor, now);
  b.state.runtime = { ...rt, version: to.version };
  renameClosedStages(b, from, to, cmd);
  const toNode = target.node;
  if (isTerminal(toNode)) {
    endStage(b, index, open);
    enterNode(b, toNode.id, dir);
  } else {
    const moved = moveOpenStage(b, index, from.nodes.get(open.node), toNode, dir);
    if (!moved.ok) return moved;
  }
  b.emit('runtime.migrated', {
    planId: cmd.planId,
    fromVersion: cmd.fromVersion,
    toVersion: cmd.toVersion,
    fromNode: open.node,
    toNode: toNode.id,
  });
  b.log({
    action: 'migrate',
    fromNode: open.node,
    toNode: toNode.id,
    comment: `version ${cmd.fromVersion} → ${cmd.toVersion}`,
  });
  return { ok: true, state: b.state, effects: b.effects };
}

/** Closed stages at explicitly mapped nodes take the target's ids (history keeps its meaning; `return` finds them). */
function renameClosedStages(b: StepBuilder, from: WorkflowIndex, to: WorkflowIndex, cmd: MigrateCommand): void {
  const last = b.state.stages.length - 1;
  b.state.stages.forEach((stage, i) => {
    if (i === last || !Object.hasOwn(cmd.nodeMap, stage.node)) return;
    const id = cmd.nodeMap[stage.node]!;
    if (id !== stage.node && from.nodes.has(stage.node) && to.nodes.has(id)) b.stage(i).node = id;
  });
}

/** Closes the open stage (its open tasks skipped, its timers cancelled) before the runtime ends. */
function endStage(b: StepBuilder, index: number, open: Stage): void {
  const stage = b.stage(index);
  stage.status = 'closed';
  stage.exitedAt = b.now;
  stage.exitAction = 'migrate';
  for (const task of stage.tasks) {
    if (task.status !== 'open') continue;
    task.status = 'skipped';
    task.action = 'migrate';
    task.at = b.now;
    b.taskChanged(index, task);
  }
  if (open.dueAt !== undefined) cancelTimers(b, index);
  b.emit('stage.exited', { node: open.node, stage: index, action: 'migrate' });
}

function cancelTimers(b: StepBuilder, index: number): void {
  const id = b.state.runtime.id;
  b.effects.timersCancelled.push(slaTimerId(id, index), reminderTimerId(id, index));
}

const sameAssignment = (a: NodeDefinition | undefined, b: NodeDefinition): boolean =>
  a !== undefined &&
  JSON.stringify(a.collaborators) === JSON.stringify(b.collaborators) &&
  a.allowSelfApproval === b.allowSelfApproval;

/** The open stage at its new node: tasks reconciled when the assignment rules changed, the SLA recomputed. */
function moveOpenStage(
  b: StepBuilder,
  index: number,
  source: NodeDefinition | undefined,
  node: NodeDefinition,
  dir: DirectoryView,
): { ok: true } | Extract<MigrationResult, { ok: false }> {
  const stage = b.stage(index);
  const renamed = stage.node !== node.id;
  stage.node = node.id;
  const changed = new Set<Task>();
  if (node.kind === 'task' && !sameAssignment(source, node)) {
    const current = stage.tasks.filter((t) => t.status === 'open' && !t.escalated).map((t) => t.assignee);
    const { doc, runtime } = b.state;
    const resolved = resolveAssignees({ def: b.wf.def, node, doc, creator: runtime.creator, dir, chosen: current });
    if (!resolved.ok) return { ok: false, block: 'no_assignee', message: resolved.reason };
    const wanted = new Set(resolved.assignees);
    for (const task of stage.tasks) {
      if (task.status !== 'open' || task.escalated || wanted.has(task.assignee)) continue;
      task.status = 'skipped';
      task.action = 'migrate';
      task.at = b.now;
      changed.add(task);
    }
    const opened: Task[] = [];
    for (const assignee of wanted) {
      if (stage.tasks.some((t) => t.assignee === assignee && (t.status === 'open' || t.status === 'done'))) continue;
      const task: Task = { assignee, status: 'open' };
      stage.tasks.push(task);
      opened.push(task);
    }
    const slaMoved = recomputeSla(b, index, stage, node);
    for (const task of stage.tasks) {
      if (opened.includes(task)) continue;
      if (changed.has(task) || renamed || slaMoved) b.taskChanged(index, task);
    }
    for (const task of opened) assignTask(b, index, task);
    return { ok: true };
  }
  const slaMoved = recomputeSla(b, index, stage, node);
  if (renamed || slaMoved) for (const task of stage.tasks) b.taskChanged(index, task);
  return { ok: true };
}

/** The stage's SLA under the new node, counted from when the stage was entered; true when its due time moved. */
function recomputeSla(b: StepBuilder, index: number, stage: Stage, node: NodeDefinition): boolean {
  const dueAt = node.sla ? stage.enteredAt + durationMs(node.sla.due) : undefined;
  if (dueAt === stage.dueAt) return false;
  const id = b.state.runtime.id;
  if (dueAt === undefined) {
    cancelTimers(b, index);
    delete stage.dueAt;
    if (stage.breached) delete stage.breached;
    return true;
  }
  // The due timer is replaced by id; a reminder of the old SLA goes (the due timer re-arms reminders).
  if (stage.dueAt !== undefined) b.effects.timersCancelled.push(reminderTimerId(id, index));
  stage.dueAt = dueAt;
  if (stage.breached && dueAt > b.now) delete stage.breached;
  if (!stage.breached) b.effects.timersSet.push({ id: slaTimerId(id, index), kind: 'sla_due', dueAt, stage: index });
  return true;
}
