import { describe, expect, it } from 'vitest';
import type { DomainEvent, RuntimeState } from '../../engine/index.ts';
import { planStep } from './notification-plan.ts';

const event = (
  index: number,
  type: DomainEvent['type'],
  data: Record<string, unknown>,
  actor = 'alice',
): DomainEvent => ({
  id: `rt:5:${index}`,
  type,
  tenant: 't',
  app: 'po',
  docId: 'PO-1',
  runtimeId: 'rt',
  workflowId: 'wf',
  version: 1,
  actor,
  at: 0,
  data,
});

const state = (stages: Partial<RuntimeState['stages'][number]>[]): RuntimeState =>
  ({
    runtime: { creator: 'alice' },
    stages: stages.map((s) => ({ node: 'n', status: 'closed', enteredAt: 0, tasks: [], ...s })),
  }) as unknown as RuntimeState;

const plan = (events: DomainEvent[], s?: RuntimeState) => planStep(events, s).map((p) => `${p.kind}:${p.recipient}`);

describe('notification plan', () => {
  it('plan - task assigned goes to each assignee but never to the actor', () => {
    const events = [
      event(0, 'task.assigned', { stage: 1, assignee: 'bob' }),
      event(1, 'task.assigned', { stage: 1, assignee: 'carol' }),
      event(2, 'task.assigned', { stage: 1, assignee: 'alice' }),
    ];
    expect(plan(events, state([{ exitAction: 'submit' }, { status: 'open' }]))).toEqual([
      'task_assigned:bob',
      'task_assigned:carol',
    ]);
  });

  it('plan - a task after a return is "returned" to its assignee', () => {
    const s = state([{}, { exitAction: 'return' }, { status: 'open' }]);
    expect(plan([event(0, 'task.assigned', { stage: 2, assignee: 'alice' }, 'bob')], s)).toEqual(['returned:alice']);
  });

  it('plan - a reassignment notifies the new assignee once, as reassigned', () => {
    const events = [
      event(0, 'task.reassigned', { stage: 1, from: 'bob', to: 'carol' }, 'bob'),
      event(1, 'task.assigned', { stage: 1, assignee: 'carol' }, 'bob'),
    ];
    expect(plan(events, state([{}, { status: 'open' }]))).toEqual(['task_reassigned:carol']);
  });

  it('plan - a breach goes to the open assignees and the escalation assignees, once each', () => {
    const s = state([
      {},
      {
        status: 'open',
        tasks: [
          { assignee: 'bob', status: 'open' },
          { assignee: 'dan', status: 'done' },
        ],
      },
    ]);
    const events = [
      event(0, 'sla.breached', { stage: 1, escalatedTo: ['lead'] }, 'system'),
      event(1, 'task.assigned', { stage: 1, assignee: 'lead' }, 'system'),
    ];
    expect(plan(events, s)).toEqual(['sla_breached:bob', 'sla_breached:lead']);
    expect(plan([event(0, 'sla.reminder', { stage: 1, assignees: ['bob', 'lead'] }, 'system')], s)).toEqual([
      'sla_reminder:bob',
      'sla_reminder:lead',
    ]);
  });

  it('plan - outcomes go to the creator, unless the creator did it', () => {
    const s = state([{}]);
    expect(plan([event(0, 'runtime.finished', { outcome: 'approved' }, 'bob')], s)).toEqual(['runtime_approved:alice']);
    expect(plan([event(0, 'runtime.finished', { outcome: 'completed' }, 'bob')], s)).toEqual([
      'runtime_approved:alice',
    ]);
    expect(plan([event(0, 'runtime.finished', { outcome: 'rejected' }, 'bob')], s)).toEqual(['runtime_rejected:alice']);
    expect(plan([event(0, 'runtime.finished', { outcome: 'cancelled' }, 'admin')], s)).toEqual([
      'runtime_cancelled:alice',
    ]);
    expect(plan([event(0, 'runtime.finished', { outcome: 'cancelled' }, 'alice')], s)).toEqual([]);
  });

  it('plan - a comment goes to the creator and the open assignees, not the commenter', () => {
    const s = state([
      {},
      {
        status: 'open',
        tasks: [
          { assignee: 'bob', status: 'open' },
          { assignee: 'carol', status: 'open' },
        ],
      },
    ]);
    expect(plan([event(0, 'comment.added', { comment: 'hi' }, 'bob')], s)).toEqual([
      'comment_added:alice',
      'comment_added:carol',
    ]);
  });

  it('plan - other events notify nobody', () => {
    const s = state([{}]);
    for (const type of [
      'runtime.started',
      'stage.entered',
      'task.completed',
      'stage.exited',
      'document.updated',
    ] as const)
      expect(plan([event(0, type, { stage: 0, assignee: 'bob' }, 'bob')], s)).toEqual([]);
  });
});
