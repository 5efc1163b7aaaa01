import type { EmployeeId, NodeId } from './ids.ts';
import type { RuntimeIdentity } from './runtime-state.ts';

/** Actions a person may send to a running workflow (the `action` of docs/api.md#runtimes). */
export const ACTIONS = [
  'submit',
  'approve',
  'reject',
  'return',
  'resubmit',
  'complete',
  'reassign',
  'withdraw',
  'comment',
  'update',
  'change_request',
  'cancel',
] as const;
export type ActionName = (typeof ACTIONS)[number];

/** A person's command. The gateway has authenticated `actor`; `admin` is true for the admin role. */
export interface ActionCommand {
  type: ActionName;
  actor: EmployeeId;
  admin?: boolean;
  comment?: string;
  /** `return`: the earlier stage's node to go back to (default: the creator). */
  toNode?: NodeId;
  /** `reassign`: who takes the task over. */
  toEmployee?: EmployeeId;
  /** `reassign` by an admin: whose task moves (default: the only open task). */
  fromEmployee?: EmployeeId;
  /** Choice of the next stage's assignee when that node's collaborators are `out_form`. */
  nextAssignee?: EmployeeId;
  /** Document fields to change; allowed only inside the actor's editable zones. */
  patch?: Record<string, unknown>;
}

/** A durable timer firing (SLA due or reminder), sent by the timer service of the shard's owner. */
export interface TimerCommand {
  type: 'timer';
  timerId: string;
  kind: 'sla_due' | 'reminder';
  /** Index of the stage the timer was set for; a timer for a stage that has closed does nothing. */
  stage: number;
}

export type Command = ActionCommand | TimerCommand;

/** What starting a runtime needs: who it is (all but the start time, which is the step's `now`) and the document. */
export type StartInput = Omit<RuntimeIdentity, 'createdAt'> & { doc: Record<string, unknown> };
