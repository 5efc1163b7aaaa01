import { beneficiaryOf, resolveMember } from './assignees.ts';
import type { TimerCommand } from './commands.ts';
import { nodeOf } from './compiled-workflow.ts';
import type { DirectoryView } from './directory.ts';
import { durationMs } from './duration.ts';
import type { Task } from './runtime-state.ts';
import { assignTask, reminderTimerId } from './stage-lifecycle.ts';
import type { StepBuilder } from './step-builder.ts';

/** The actor recorded for steps the runtime takes by itself. */
export const SYSTEM_ACTOR = 'system';

/**
 * A durable timer fired. Timers are delivered at least once, so a timer for a
 * stage that is no longer open, or a due timer for a stage already breached, does nothing.
 */
export function fireTimer(b: StepBuilder, cmd: TimerCommand, dir: DirectoryView): void {
  const index = b.openStageIndex();
  if (index !== cmd.stage || b.state.status !== 'in_progress') return;
  const stage = b.state.stages[index]!;
  const sla = nodeOf(b.wf, stage.node).sla;
  if (!sla || (cmd.kind === 'sla_due' && stage.breached)) return;
  if (cmd.kind === 'sla_due') escalate(b, index, dir);
  else b.emit('sla.reminder', { node: stage.node, stage: index, assignees: openAssignees(b, index) });
  if (sla.remindEvery !== undefined) {
    const dueAt = b.now + durationMs(sla.remindEvery);
    b.effects.timersSet.push({ id: reminderTimerId(b.state.runtime.id, index), kind: 'reminder', dueAt, stage: index });
  }
  b.log({ action: cmd.kind === 'sla_due' ? 'sla_breach' : 'sla_reminder', fromNode: stage.node });
}

function escalate(b: StepBuilder, index: number, dir: DirectoryView): void {
  const stage = b.stage(index);
  stage.breached = true;
  const node = nodeOf(b.wf, stage.node);
  const escalateTo = node.sla?.escalateTo;
  const added: string[] = [];
  if (escalateTo) {
    const { creator } = b.state.runtime;
    const beneficiary = beneficiaryOf(b.wf.def, b.state.doc, creator);
    for (const id of resolveMember(dir, escalateTo, beneficiary)) {
      if (!dir.employee(id)?.active || stage.tasks.some((t) => t.assignee === id)) continue;
      if (id === creator && node.allowSelfApproval === false) continue;
      const task: Task = { assignee: id, status: 'open', escalated: true };
      stage.tasks.push(task);
      assignTask(b, index, task);
      added.push(id);
    }
  }
  b.emit('sla.breached', { node: stage.node, stage: index, dueAt: stage.dueAt, escalatedTo: added });
}

function openAssignees(b: StepBuilder, index: number): string[] {
  return b.state.stages[index]!.tasks.filter((t) => t.status === 'open').map((t) => t.assignee);
}
