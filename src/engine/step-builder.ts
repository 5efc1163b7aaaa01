import type { DomainEvent, Effects, EventType, LogEntry, TaskChange } from './effects.ts';
import { emptyEffects } from './effects.ts';
import type { WorkflowIndex } from './compiled-workflow.ts';
import type { EmployeeId } from './ids.ts';
import type { RuntimeState, Stage, Task } from './runtime-state.ts';

export type LogFields = Omit<LogEntry, 'seq' | 'at' | 'actor'>;

/**
 * The working copy of one step: a copy-on-write draft of the state plus the
 * effects collected so far. Handlers mutate the draft through it; the previous
 * state is never touched, so a refused command leaves nothing behind.
 */
export class StepBuilder {
  readonly state: RuntimeState;
  readonly effects: Effects = emptyEffects();
  /** Sequence number of this step's log entry and the prefix of its event ids. */
  readonly seq: number;
  private readonly copied = new Set<number>();

  constructor(
    readonly wf: WorkflowIndex,
    prev: RuntimeState,
    readonly actor: EmployeeId,
    readonly now: number,
  ) {
    this.state = {
      ...prev,
      stages: prev.stages.slice(),
      seq: prev.seq + 1,
      revision: prev.revision + 1,
      updatedAt: now,
    };
    this.seq = this.state.seq;
  }

  /** The stage at `index`, copied before its first change in this step. */
  stage(index: number): Stage {
    const stage = this.state.stages[index];
    if (!stage) throw new Error(`no stage ${index}`);
    if (this.copied.has(index)) return stage;
    const copy: Stage = { ...stage, tasks: stage.tasks.map((t) => ({ ...t })) };
    this.state.stages[index] = copy;
    this.copied.add(index);
    return copy;
  }

  /** Drops the failure record. Only when present: `delete` turns the object into a slow dictionary. */
  clearFailure(): void {
    if (this.state.failure !== undefined) delete this.state.failure;
  }

  /** Index of the open stage, if any. */
  openStageIndex(): number | undefined {
    const last = this.state.stages.length - 1;
    return this.state.stages[last]?.status === 'open' ? last : undefined;
  }

  addStage(stage: Stage): number {
    this.state.stages.push(stage);
    const index = this.state.stages.length - 1;
    this.copied.add(index);
    return index;
  }

  /** Records the current row of a task for the inbox read model. */
  taskChanged(stageIndex: number, task: Task): void {
    const stage = this.state.stages[stageIndex]!;
    // Built field by field: conditional spreads are measurably slower on this hot path.
    const row: TaskChange = {
      stage: stageIndex,
      node: stage.node,
      assignee: task.assignee,
      status: task.status,
      assignedAt: stage.enteredAt,
    };
    if (task.action !== undefined) row.action = task.action;
    if (task.at !== undefined) row.closedAt = task.at;
    if (stage.dueAt !== undefined) row.dueAt = stage.dueAt;
    this.effects.tasks.push(row);
  }

  emit(type: EventType, data: Record<string, unknown>, actor: EmployeeId = this.actor): void {
    const rt = this.state.runtime;
    const event: DomainEvent = {
      id: `${rt.id}:${this.seq}:${this.effects.events.length}`,
      type,
      tenant: rt.tenant,
      app: rt.app,
      docId: rt.docId,
      runtimeId: rt.id,
      workflowId: rt.workflowId,
      version: rt.version,
      actor,
      at: this.now,
      data,
    };
    this.effects.events.push(event);
  }

  /** Writes this step's one log entry. */
  log(fields: LogFields): void {
    const entry: LogEntry = {
      seq: this.seq,
      at: this.now,
      actor: this.actor,
      action: fields.action,
      fromNode: fields.fromNode,
    };
    if (fields.toNode !== undefined) entry.toNode = fields.toNode;
    if (fields.comment !== undefined) entry.comment = fields.comment;
    if (fields.changes !== undefined) entry.changes = fields.changes;
    this.effects.log.push(entry);
  }
}
