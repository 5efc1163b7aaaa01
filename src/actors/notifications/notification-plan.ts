import type { DomainEvent, RuntimeState } from '../../engine/index.ts';
import type { NotificationKind } from '../../store/notification-ports.ts';

/**
 * Which domain events notify whom (pure). The events of one step come
 * together (`step`), so a reassignment or an escalation notifies once, by its
 * own kind, rather than again as "task assigned". Nobody is notified of their
 * own action.
 */

/** One notification to make: a kind for a recipient, because of an event. */
export interface PlannedNotification {
  event: DomainEvent;
  recipient: string;
  kind: NotificationKind;
}

/** Event types that may notify someone: the notifier reads the runtime only for these. */
export const NOTIFYING_EVENT_TYPES: ReadonlySet<string> = new Set([
  'task.assigned',
  'task.reassigned',
  'sla.reminder',
  'sla.breached',
  'runtime.finished',
  'comment.added',
]);

/** The step an event belongs to: `<runtime>:<seq>` of its id `<runtime>:<seq>:<index>`. */
export function stepOf(event: Pick<DomainEvent, 'id'>): string {
  return event.id.slice(0, event.id.lastIndexOf(':'));
}

/**
 * The notifications of one step's events (in id order), given the runtime's
 * state as read after the step (stages are append-only, so a later state
 * still answers questions about this step).
 */
export function planStep(events: readonly DomainEvent[], state: RuntimeState | undefined): PlannedNotification[] {
  const planned: PlannedNotification[] = [];
  const coveredAssignees = new Set<string>();
  for (const e of events) {
    if (e.type === 'task.reassigned' && typeof e.data.to === 'string') coveredAssignees.add(e.data.to);
    if (e.type === 'sla.breached') for (const id of strings(e.data.escalatedTo)) coveredAssignees.add(id);
  }
  for (const e of events) {
    for (const [recipient, kind] of recipientsOf(e, state, coveredAssignees))
      if (recipient !== e.actor) planned.push({ event: e, recipient, kind });
  }
  return dedupe(planned);
}

function recipientsOf(
  e: DomainEvent,
  state: RuntimeState | undefined,
  covered: ReadonlySet<string>,
): [string, NotificationKind][] {
  const d = e.data;
  switch (e.type) {
    case 'task.assigned': {
      if (typeof d.assignee !== 'string' || covered.has(d.assignee)) return [];
      const stage = typeof d.stage === 'number' ? d.stage : -1;
      const previous = stage > 0 ? state?.stages[stage - 1] : undefined;
      return [[d.assignee, previous?.exitAction === 'return' ? 'returned' : 'task_assigned']];
    }
    case 'task.reassigned':
      return typeof d.to === 'string' ? [[d.to, 'task_reassigned']] : [];
    case 'sla.reminder':
      return strings(d.assignees).map((id) => [id, 'sla_reminder']);
    case 'sla.breached': {
      const stage = typeof d.stage === 'number' ? state?.stages[d.stage] : undefined;
      const open = (stage?.tasks ?? []).filter((t) => t.status === 'open').map((t) => t.assignee);
      return [...new Set([...open, ...strings(d.escalatedTo)])].map((id) => [id, 'sla_breached']);
    }
    case 'runtime.finished': {
      if (state === undefined) return [];
      const kind = finishedKind(d.outcome);
      return kind === undefined ? [] : [[state.runtime.creator, kind]];
    }
    case 'comment.added': {
      if (state === undefined) return [];
      const open = state.stages.at(-1)?.status === 'open' ? (state.stages.at(-1)?.tasks ?? []) : [];
      const people = [state.runtime.creator, ...open.filter((t) => t.status === 'open').map((t) => t.assignee)];
      return [...new Set(people)].map((id) => [id, 'comment_added']);
    }
    default:
      return [];
  }
}

function finishedKind(outcome: unknown): NotificationKind | undefined {
  if (outcome === 'approved' || outcome === 'completed') return 'runtime_approved';
  if (outcome === 'rejected') return 'runtime_rejected';
  if (outcome === 'cancelled') return 'runtime_cancelled';
  return undefined;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** One notification per (event, recipient). */
function dedupe(planned: PlannedNotification[]): PlannedNotification[] {
  const seen = new Set<string>();
  return planned.filter((p) => {
    const key = `${p.event.id}\n${p.recipient}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
