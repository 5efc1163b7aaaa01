import { describe, expect, it } from 'vitest';
import { EngineDriver } from '../../test/fixtures/engine-driver.ts';
import { validateDefinition, type NodeDefinition, type WorkflowDefinition } from './index.ts';

/** Regressions found by engine.property.test.ts, each reduced to its smallest definition. */

/** start → m (the given task node) → ok. */
function oneTask(
  app: string,
  node: Omit<NodeDefinition, 'id' | 'kind' | 'title'>,
  fields: Record<string, string> = {},
): WorkflowDefinition {
  const validation = validateDefinition({
    app,
    name: app,
    fields,
    nodes: [
      { id: 'start', kind: 'initial', title: 'Creator' },
      { id: 'm', kind: 'task', title: 'Task', ...node },
      { id: 'ok', kind: 'approved', title: 'Approved' },
    ],
    associations: [
      { from: 'start', to: 'm' },
      { from: 'm', to: 'ok' },
    ],
  });
  if (!validation.ok) throw new Error(JSON.stringify(validation.errors));
  return validation.definition;
}

describe('engine regressions - deadlock ties follow the precedence, not the last voter', () => {
  const committee = oneTask('reg.tie', {
    actions: ['approve', 'reject'],
    collaborators: { type: 'in_workflow', members: [{ employee: 'fin-1' }, { employee: 'fin-2' }] },
    exit: { approve: 'all', reject: 2 },
  });

  it.each([
    ['reject', 'approve'],
    ['approve', 'reject'],
  ] as const)('a 1–1 tie (%s then %s) is a reject', (first, second) => {
    const d = new EngineDriver(committee, 'alice', {}).do('alice', 'submit').do('fin-1', first).do('fin-2', second);
    expect(d.state.stages[1]!.exitAction).toBe('reject');
    expect(d.status).toBe('rejected');
  });

  it('approve beats complete on a tie whoever acts last', () => {
    const todo = oneTask('reg.tie2', {
      actions: ['approve', 'complete'],
      collaborators: { type: 'in_workflow', members: [{ employee: 'fin-1' }, { employee: 'fin-2' }] },
      exit: { approve: 'all', complete: 2 },
    });
    const d = new EngineDriver(todo, 'alice', {}).do('alice', 'submit').do('fin-1', 'approve').do('fin-2', 'complete');
    expect(d.state.stages[1]!.exitAction).toBe('approve');
  });
});

describe('engine regressions - allowSelfApproval: false keeps the creator off the stage', () => {
  it('a reassign to the creator is refused', () => {
    const def = oneTask('reg.self1', {
      actions: ['approve'],
      collaborators: { type: 'in_workflow', members: [{ employee: 'pur-mgr' }] },
      allowSelfApproval: false,
    });
    const d = new EngineDriver(def, 'alice', {}).do('alice', 'submit');
    expect(d.refused('pur-mgr', 'reassign', 'action_not_allowed', { toEmployee: 'alice' })).toContain('self-approval');
    d.refused('it-admin', 'reassign', 'action_not_allowed', {
      toEmployee: 'alice',
      fromEmployee: 'pur-mgr',
      admin: true,
    });
    d.do('pur-mgr', 'reassign', { toEmployee: 'bob' });
    expect(d.open).toEqual(['bob']);
  });

  it('an admin cannot rescue a failed stage by assigning it to the creator', () => {
    const node = {
      actions: ['approve'],
      collaborators: { type: 'in_form' as const, field: 'approver' },
      allowSelfApproval: false,
    };
    const def = oneTask('reg.self2', node, { approver: 'employee' });
    const d = new EngineDriver(def, 'alice', { approver: 'alice' }).do('alice', 'submit');
    expect(d.status).toBe('failed');
    d.refused('it-admin', 'reassign', 'action_not_allowed', { toEmployee: 'alice', admin: true });
    d.do('it-admin', 'reassign', { toEmployee: 'bob', admin: true });
    expect(d.open).toEqual(['bob']);
  });

  it('SLA escalation skips the creator', () => {
    const def = oneTask('reg.self3', {
      actions: ['approve'],
      collaborators: { type: 'in_workflow', members: [{ employee: 'fin-1' }] },
      allowSelfApproval: false,
      sla: { due: 'PT1H', escalateTo: { group: 'g-purchasing' } },
    });
    const d = new EngineDriver(def, 'alice', {}).do('alice', 'submit');
    d.fire('rt-1:1:sla');
    expect(d.open).toEqual(['bob', 'fin-1', 'pur-mgr']);
    d.refused('alice', 'approve', 'not_assignee');
  });
});

describe('engine regressions - timers are delivered at least once', () => {
  // Known bug, not fixed here (it needs a breach marker in the stage state):
  // fireTimer's comment says an already escalated stage ignores its sla_due
  // timer, but a redelivery still logs "sla_breach", bumps the revision and
  // re-arms the reminder; with no escalateTo it also re-emits sla.breached.
  it('a redelivered sla_due timer changes nothing', () => {
    const def = oneTask('reg.timer', {
      actions: ['approve'],
      collaborators: { type: 'in_workflow', members: [{ employee: 'pur-mgr' }] },
      sla: { due: 'PT1H', escalateTo: { employee: 'ceo' }, remindEvery: 'PT2H' },
    });
    const d = new EngineDriver(def, 'alice', {}).do('alice', 'submit');
    const timer = d.timers.get('rt-1:1:sla')!;
    d.fire(timer.id);
    const before = JSON.stringify(d.state);
    d.timers.set(timer.id, timer); // the timer service delivers it again
    const again = d.fire(timer.id);
    expect(again.ok && again.changed).toBe(false);
    expect(JSON.stringify(d.state)).toBe(before);
  });
});
