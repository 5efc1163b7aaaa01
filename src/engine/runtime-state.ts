import type { EmployeeId, NodeId } from './ids.ts';

export const RUNTIME_STATUSES = [
  'created',
  'in_progress',
  'approved',
  'completed',
  'rejected',
  'cancelled',
  'failed',
] as const;
export type RuntimeStatus = (typeof RUNTIME_STATUSES)[number];

/** Statuses in which the workflow has ended (only change_request / cancel / comment may follow). */
export const FINISHED_STATUSES: ReadonlySet<RuntimeStatus> = new Set([
  'approved',
  'completed',
  'rejected',
  'cancelled',
]);

export type TaskStatus = 'open' | 'done' | 'skipped';

/** One assignee's piece of a stage. `action` is what they did (or `reassign` when handed on). */
export interface Task {
  assignee: EmployeeId;
  status: TaskStatus;
  action?: string;
  /** When the task was closed (epoch ms). */
  at?: number;
  /** The out_form choice this assignee made, if any. */
  next?: EmployeeId;
  /** Added by SLA escalation rather than by the node's collaborators. */
  escalated?: true;
}

/** One visit of a node. */
export interface Stage {
  node: NodeId;
  status: 'open' | 'closed';
  enteredAt: number;
  exitedAt?: number;
  exitAction?: string;
  tasks: Task[];
  /** When this stage's SLA falls due (epoch ms), if its node has one. */
  dueAt?: number;
  /** Set when the SLA was breached (escalated); a redelivered due timer then does nothing. */
  breached?: true;
}

export interface RuntimeFailure {
  code: string;
  message: string;
  node: NodeId;
}

/** Who the runtime is and what it is about: set once at start. */
export interface RuntimeIdentity {
  id: string;
  tenant: string;
  app: string;
  docId: string;
  companyId?: string;
  workflowId: string;
  version: number;
  creator: EmployeeId;
  createdAt: number;
}

/**
 * A runtime's whole state: plain JSON, persisted as is and restored with
 * identical behaviour. `stages` lists every stage in order of entry; at most one
 * is open (the last) while the runtime is in progress.
 */
export interface RuntimeState {
  /** Format version of this object, for future migrations. */
  v: 1;
  runtime: RuntimeIdentity;
  status: RuntimeStatus;
  doc: Record<string, unknown>;
  stages: Stage[];
  /** Sequence number of the last log entry written. */
  seq: number;
  /** Commit revision: +1 per state-changing step. */
  revision: number;
  updatedAt: number;
  failure?: RuntimeFailure;
}

/** The open stage, if any. */
export function currentStage(state: RuntimeState): Stage | undefined {
  const last = state.stages[state.stages.length - 1];
  return last?.status === 'open' ? last : undefined;
}

/** The node the runtime is at: the last stage's node. */
export function currentNode(state: RuntimeState): NodeId {
  const last = state.stages[state.stages.length - 1];
  if (!last) throw new Error('runtime state has no stage');
  return last.node;
}
