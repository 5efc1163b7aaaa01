import type { EmployeeId, NodeId } from './ids.ts';
import type { TaskStatus } from './runtime-state.ts';

/** One line of the runtime's append-only audit log. */
export interface LogEntry {
  seq: number;
  at: number;
  actor: EmployeeId;
  action: string;
  fromNode: NodeId;
  toNode?: NodeId;
  comment?: string;
  /** Document fields the command changed: `{field: [before, after]}`. */
  changes?: Record<string, [unknown, unknown]>;
}

/** A task row of the inbox read model, as it now stands. Keyed by (runtime, stage, assignee). */
export interface TaskChange {
  stage: number;
  node: NodeId;
  assignee: EmployeeId;
  status: TaskStatus;
  action?: string;
  assignedAt: number;
  closedAt?: number;
  dueAt?: number;
}

export const EVENT_TYPES = [
  'runtime.started',
  'stage.entered',
  'task.assigned',
  'task.completed',
  'task.reassigned',
  'stage.exited',
  'document.updated',
  'comment.added',
  'sla.breached',
  'sla.reminder',
  'runtime.finished',
  'runtime.failed',
  'runtime.migrated',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** A domain event for the outbox. `id` is stable: replaying the same step yields the same ids. */
export interface DomainEvent {
  id: string;
  type: EventType;
  tenant: string;
  app: string;
  docId: string;
  runtimeId: string;
  workflowId: string;
  version: number;
  actor: EmployeeId;
  at: number;
  data: Record<string, unknown>;
}

/** A durable timer to set (or replace, by id). */
export interface TimerSet {
  id: string;
  kind: 'sla_due' | 'reminder';
  dueAt: number;
  stage: number;
}

/** Everything a step asks its host to do; data only. */
export interface Effects {
  log: LogEntry[];
  tasks: TaskChange[];
  events: DomainEvent[];
  timersSet: TimerSet[];
  timersCancelled: string[];
}

export function emptyEffects(): Effects {
  return { log: [], tasks: [], events: [], timersSet: [], timersCancelled: [] };
}
