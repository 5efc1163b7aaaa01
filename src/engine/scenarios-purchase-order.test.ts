import { describe, expect, it } from 'vitest';
import { EngineDriver, loadExample } from '../../test/fixtures/engine-driver.ts';
import { orgChart } from '../../test/fixtures/org-chart.ts';
import { poDoc } from '../../test/fixtures/purchase-order-doc.ts';
import { redactDocument, editableFields } from './access.ts';
import { MAX_DOCUMENT_BYTES } from './document-patch.ts';
import { step } from './step.ts';

const po = loadExample('purchase-order');
const doc = poDoc;

describe('purchase order - routing by amount', () => {
  it('starts at the initial stage assigned to the creator', () => {
    const d = new EngineDriver(po, 'alice', doc(1000));
    expect(d.status).toBe('created');
    expect(d.node).toBe('start');
    expect(d.open).toEqual(['alice']);
    expect(d.eventTypes()).toEqual(['runtime.started', 'stage.entered', 'task.assigned']);
  });

  it('a small order goes manager → approved (else branch)', () => {
    const d = new EngineDriver(po, 'alice', doc(5_000_000)).do('alice', 'submit');
    expect(d.status).toBe('in_progress');
    expect(d.open).toEqual(['pur-mgr']); // manager_1 of alice
    d.do('pur-mgr', 'approve', { comment: 'ok' });
    expect(d.status).toBe('approved');
    expect(d.path).toEqual(['start', 'manager', 'approved']);
    expect(d.log.map((l) => [l.action, l.fromNode, l.toNode])).toEqual([
      ['start', 'start', undefined],
      ['submit', 'start', 'manager'],
      ['approve', 'manager', 'approved'],
    ]);
    expect(d.events.at(-1)).toMatchObject({ type: 'runtime.finished', data: { outcome: 'approved' } });
  });

  it('a mid-size order needs 2 of the finance committee; the others are skipped', () => {
    const d = new EngineDriver(po, 'alice', doc(20_000_000)).do('alice', 'submit').do('pur-mgr', 'approve');
    expect(d.node).toBe('finance');
    expect(d.open).toEqual(['fin-1', 'fin-2', 'fin-3', 'fin-head']); // old-fin is inactive
    d.do('fin-1', 'approve');
    expect(d.node).toBe('finance');
    expect(d.status).toBe('in_progress');
    d.refused('fin-1', 'approve', 'action_not_allowed'); // acts once per stage
    d.do('fin-3', 'approve');
    expect(d.status).toBe('approved');
    const finance = d.state.stages[2]!;
    expect(finance.exitAction).toBe('approve');
    expect(Object.fromEntries(finance.tasks.map((t) => [t.assignee, t.status]))).toEqual({
      'fin-head': 'skipped',
      'fin-1': 'done',
      'fin-2': 'skipped',
      'fin-3': 'done',
    });
  });

  it('a large order goes to the CEO (group_level:0) and skips finance', () => {
    const d = new EngineDriver(po, 'alice', doc(600_000_000)).do('alice', 'submit').do('pur-mgr', 'approve');
    expect(d.node).toBe('ceo');
    expect(d.open).toEqual(['ceo']);
    d.do('ceo', 'approve');
    expect(d.path).toEqual(['start', 'manager', 'ceo', 'approved']);
  });

  it('capex items over 100M go to the CEO through sumItemIf even for a small amount', () => {
    const items = [
      { sku: 'server', category: 'capex', total: 70_000_000 },
      { sku: 'rack', category: 'capex', total: 40_000_000 },
      { sku: 'paper', category: 'office', total: 900_000_000 },
    ];
    const d = new EngineDriver(po, 'alice', doc(5_000_000, { items })).do('alice', 'submit').do('pur-mgr', 'approve');
    expect(d.node).toBe('ceo');
  });

  it('capex at exactly 100M does not (the rule is strictly greater)', () => {
    const items = [{ sku: 'server', category: 'capex', total: 100_000_000 }];
    const d = new EngineDriver(po, 'alice', doc(5_000_000, { items })).do('alice', 'submit').do('pur-mgr', 'approve');
    expect(d.status).toBe('approved');
  });
});

describe('purchase order - reject, return, resubmit', () => {
  it('one finance reject finishes the runtime rejected', () => {
    const d = new EngineDriver(po, 'alice', doc(20_000_000)).do('alice', 'submit').do('pur-mgr', 'approve');
    d.do('fin-1', 'approve').do('fin-2', 'reject', { comment: 'over budget' });
    expect(d.status).toBe('rejected');
    expect(d.open).toEqual([]);
    d.refused('fin-3', 'approve', 'action_not_allowed');
    d.refused('alice', 'withdraw', 'action_not_allowed');
  });

  it('return to the creator, then resubmit goes through the manager again', () => {
    const d = new EngineDriver(po, 'alice', doc(5_000_000)).do('alice', 'submit');
    d.do('pur-mgr', 'return', { comment: 'add the quote' });
    expect(d.node).toBe('start');
    expect(d.open).toEqual(['alice']);
    expect(d.status).toBe('in_progress');
    d.refused('alice', 'submit', 'action_not_allowed');
    d.do('alice', 'resubmit', { patch: { note: 'quote attached' } });
    expect(d.node).toBe('manager');
    expect(d.log.at(-1)).toMatchObject({ action: 'resubmit', changes: { note: ['urgent', 'quote attached'] } });
    d.do('pur-mgr', 'approve');
    expect(d.path).toEqual(['start', 'manager', 'start', 'manager', 'approved']);
  });

  it('finance returns to the named manager stage; the manager approves again', () => {
    const d = new EngineDriver(po, 'alice', doc(20_000_000)).do('alice', 'submit').do('pur-mgr', 'approve');
    d.do('fin-1', 'return', { toNode: 'manager' });
    expect(d.node).toBe('manager');
    expect(d.open).toEqual(['pur-mgr']);
    d.do('pur-mgr', 'approve');
    expect(d.node).toBe('finance');
    expect(d.open).toEqual(['fin-1', 'fin-2', 'fin-3', 'fin-head']);
  });

  it('return to a node that is not an earlier stage is refused', () => {
    const d = new EngineDriver(po, 'alice', doc(20_000_000)).do('alice', 'submit').do('pur-mgr', 'approve');
    expect(d.refused('fin-1', 'return', 'validation_failed', { toNode: 'ceo' })).toContain('not an earlier stage');
  });
});

describe('purchase order - positions and assignees', () => {
  it('a manager who raises a request for himself goes to his own manager (self-managed group)', () => {
    const d = new EngineDriver(po, 'pur-mgr', doc(5_000_000, { requester: 'pur-mgr' })).do('pur-mgr', 'submit');
    expect(d.open).toEqual(['ops-head']);
  });

  it('no assignee left (self-approval off) → failed with a reason naming the node; an admin reassigns', () => {
    const d = new EngineDriver(po, 'pur-mgr', doc(5_000_000, { requester: 'alice' })).do('pur-mgr', 'submit');
    expect(d.status).toBe('failed');
    expect(d.state.failure).toMatchObject({ code: 'no_assignee', node: 'manager' });
    expect(d.state.failure!.message).toContain('"manager"');
    expect(d.events.at(-1)!.type).toBe('runtime.failed');
    d.refused('pur-mgr', 'approve', 'action_not_allowed');
    d.refused('bob', 'reassign', 'action_not_allowed', { toEmployee: 'ops-head' });
    d.do('admin-1', 'reassign', { toEmployee: 'ops-head', admin: true });
    expect(d.status).toBe('in_progress');
    expect(d.state.failure).toBeUndefined();
    d.do('ops-head', 'approve');
    expect(d.status).toBe('approved');
  });

  it('the beneficiary field decides the positions, not the creator', () => {
    const d = new EngineDriver(po, 'bob', doc(5_000_000, { requester: 'fin-1' })).do('bob', 'submit');
    expect(d.open).toEqual(['fin-head']);
  });
});

describe('purchase order - zones', () => {
  it('finance may edit pricing but not notes, and does not see notes', () => {
    const d = new EngineDriver(po, 'alice', doc(20_000_000)).do('alice', 'submit').do('pur-mgr', 'approve');
    d.do('fin-1', 'update', { patch: { amount: 19_000_000 } });
    expect(d.state.doc.amount).toBe(19_000_000);
    expect(d.log.at(-1)).toMatchObject({ action: 'update', changes: { amount: [20_000_000, 19_000_000] } });
    expect(d.refused('fin-2', 'update', 'fields_not_editable', { patch: { note: 'x', amount: 1 } })).toContain('note');
    expect(d.refused('fin-2', 'approve', 'fields_not_editable', { patch: { note: 'x' } })).toContain('note');
    expect(redactDocument(d.wf, d.state, 'fin-2')).not.toHaveProperty('note');
    expect(redactDocument(d.wf, d.state, 'fin-2')).toHaveProperty('amount');
    expect(redactDocument(d.wf, d.state, 'alice')).toHaveProperty('note');
    expect(redactDocument(d.wf, d.state, 'pur-mgr')).toHaveProperty('note');
  });

  it('the manager may edit notes only; unknown or mistyped fields are named', () => {
    const d = new EngineDriver(po, 'alice', doc(5_000_000)).do('alice', 'submit');
    expect([...(editableFields(d.wf, d.state, 'pur-mgr') as Set<string>)]).toEqual(['note']);
    d.do('pur-mgr', 'update', { patch: { note: 'checked' } });
    d.refused('pur-mgr', 'update', 'fields_not_editable', { patch: { amount: 1 } });
    d.refused('pur-mgr', 'update', 'validation_failed', { patch: { nope: 1 } });
    d.refused('pur-mgr', 'update', 'validation_failed', { patch: { note: 42 } });
    d.refused('bob', 'update', 'not_assignee', { patch: { note: 'x' } });
  });

  it('a patch that would make the document larger than MAX_DOCUMENT_BYTES is refused, naming the patch; up to it is fine', () => {
    const d = new EngineDriver(po, 'alice', doc(5_000_000, { note: '' })).do('alice', 'submit');
    const room = MAX_DOCUMENT_BYTES - new TextEncoder().encode(JSON.stringify(d.state.doc)).length;
    d.do('pur-mgr', 'update', { patch: { note: 'n'.repeat(room) } });
    const message = d.refused('pur-mgr', 'update', 'validation_failed', { patch: { note: 'é'.repeat(room / 2 + 1) } });
    expect(message).toContain(`more than ${MAX_DOCUMENT_BYTES}`);
    expect(d.state.doc.note).toBe('n'.repeat(room));
  });
});

describe('purchase order - other actions', () => {
  it('withdraw brings the document back to its creator as a draft', () => {
    const d = new EngineDriver(po, 'alice', doc(5_000_000)).do('alice', 'submit');
    d.refused('bob', 'withdraw', 'not_assignee');
    d.do('alice', 'withdraw');
    expect(d.status).toBe('created');
    expect(d.node).toBe('start');
    expect(d.state.stages[1]).toMatchObject({
      exitAction: 'withdraw',
      tasks: [{ assignee: 'pur-mgr', status: 'skipped' }],
    });
    d.do('alice', 'submit');
    expect(d.open).toEqual(['pur-mgr']);
  });

  it('comment logs without changing the workflow; strangers may not comment', () => {
    const d = new EngineDriver(po, 'alice', doc(5_000_000)).do('alice', 'submit');
    const stages = JSON.stringify(d.state.stages);
    d.do('pur-mgr', 'comment', { comment: 'looking at it' });
    expect(JSON.stringify(d.state.stages)).toBe(stages);
    expect(d.log.at(-1)).toMatchObject({ action: 'comment', comment: 'looking at it', fromNode: 'manager' });
    d.refused('carol', 'comment', 'not_assignee', { comment: 'hi' });
    d.refused('alice', 'comment', 'validation_failed', { comment: '  ' });
  });

  it('reassign hands the task over; the new assignee acts', () => {
    const d = new EngineDriver(po, 'alice', doc(5_000_000)).do('alice', 'submit');
    d.refused('pur-mgr', 'reassign', 'validation_failed', { toEmployee: 'old-fin' });
    d.refused('pur-mgr', 'reassign', 'validation_failed', {});
    d.do('pur-mgr', 'reassign', { toEmployee: 'ops-head' });
    expect(d.open).toEqual(['ops-head']);
    d.refused('pur-mgr', 'approve', 'not_assignee');
    expect(d.events.some((e) => e.type === 'task.reassigned' && e.data.to === 'ops-head')).toBe(true);
    d.do('ops-head', 'approve');
    expect(d.status).toBe('approved');
  });

  it('change_request reopens a finished runtime; cancel ends it for good', () => {
    const d = new EngineDriver(po, 'alice', doc(5_000_000)).do('alice', 'submit').do('pur-mgr', 'approve');
    d.refused('alice', 'approve', 'action_not_allowed');
    d.refused('bob', 'change_request', 'not_assignee');
    d.do('alice', 'change_request', { comment: 'wrong supplier' });
    expect(d.status).toBe('created');
    expect(d.node).toBe('start');
    d.do('alice', 'submit').do('pur-mgr', 'approve');
    d.do('alice', 'cancel');
    expect(d.status).toBe('cancelled');
    for (const action of ['approve', 'change_request', 'cancel', 'submit'] as const)
      d.refused('alice', action, 'action_not_allowed');
    d.do('alice', 'comment', { comment: 'archived' });
  });

  it('cancel is refused while in progress', () => {
    const d = new EngineDriver(po, 'alice', doc(5_000_000)).do('alice', 'submit');
    d.refused('alice', 'cancel', 'action_not_allowed');
  });

  it('strangers get not_assignee; actions outside the node are refused', () => {
    const d = new EngineDriver(po, 'alice', doc(5_000_000)).do('alice', 'submit');
    d.refused('bob', 'approve', 'not_assignee');
    d.refused('pur-mgr', 'complete', 'action_not_allowed');
    d.refused('pur-mgr', 'submit', 'action_not_allowed');
  });
});

describe('purchase order - SLA', () => {
  it('a breached SLA escalates to manager_2 and reminds; timers die with the stage', () => {
    const d = new EngineDriver(po, 'alice', doc(5_000_000)).do('alice', 'submit');
    const due = d.state.stages[1]!.dueAt!;
    expect(due).toBe(d.now + 24 * 3_600_000);
    d.fire('rt-1:1:sla');
    expect(d.open).toEqual(['ops-head', 'pur-mgr']);
    expect(d.events.find((e) => e.type === 'sla.breached')).toMatchObject({
      data: { node: 'manager', escalatedTo: ['ops-head'] },
    });
    expect(d.timers.get('rt-1:1:remind')!.dueAt).toBe(d.now + 8 * 3_600_000);
    d.fire('rt-1:1:remind');
    expect(d.eventTypes()).toContain('sla.reminder');
    d.do('ops-head', 'approve');
    expect(d.status).toBe('approved');
    expect(d.timers.size).toBe(0);
  });

  it('a timer for a stage that has closed does nothing', () => {
    const d = new EngineDriver(po, 'alice', doc(5_000_000)).do('alice', 'submit').do('pur-mgr', 'approve');
    const result = step(
      d.wf,
      d.state,
      { type: 'timer', timerId: 'rt-1:1:sla', kind: 'sla_due', stage: 1 },
      orgChart,
      d.now,
    );
    expect(result).toMatchObject({ ok: true, changed: false, state: d.state });
    expect(result.ok && result.effects.log).toEqual([]);
  });
});

describe('purchase order - regressions', () => {
  it('a returned document can be cancelled by its creator', () => {
    const d = new EngineDriver(po, 'alice', doc(5_000_000)).do('alice', 'submit').do('pur-mgr', 'return');
    d.do('alice', 'cancel');
    expect(d.status).toBe('cancelled');
  });

  it('the creator cannot hand the initial stage to someone else', () => {
    const d = new EngineDriver(po, 'alice', doc(5_000_000));
    d.refused('alice', 'reassign', 'action_not_allowed', { toEmployee: 'bob' });
  });
});
