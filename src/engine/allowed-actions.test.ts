import { describe, expect, it } from 'vitest';
import { EngineDriver, loadExample } from '../../test/fixtures/engine-driver.ts';
import { allowedActions, type Viewer } from './access.ts';
import type { ActionCommand } from './commands.ts';

const po = loadExample('purchase-order');
const doc = (amount: number) => ({
  amount,
  currency: 'VND',
  requester: 'alice',
  items: [],
  note: 'n',
  supplier: 'ACME',
});
const allowed = (d: EngineDriver, employee: string, admin = false) =>
  allowedActions(d.wf, d.state, { employee, admin });

/** Parameters that make an allowed action acceptable, so the list can be checked against the engine itself. */
function withParams(d: EngineDriver, type: ActionCommand['type']): Omit<ActionCommand, 'type' | 'actor'> {
  if (type === 'comment') return { comment: 'checked' };
  if (type === 'reassign') return { toEmployee: 'carol' };
  if (type === 'update')
    return { patch: d.node === 'start' ? { note: 'edited' } : d.node === 'manager' ? { note: 'x' } : { amount: 1 } };
  return {};
}

/** Every action listed for the viewer is accepted by the engine (each tried on the same state). */
function expectAccepted(d: EngineDriver, viewer: Viewer): void {
  const saved = d.state;
  for (const type of allowedActions(d.wf, d.state, viewer)) {
    const result = d.try(viewer.employee, type, { ...withParams(d, type), admin: viewer.admin ?? false });
    expect(result.ok, `${viewer.employee} ${type}: ${result.ok ? '' : result.error.message}`).toBe(true);
    d.state = saved;
  }
}

describe('allowed actions - what each viewer may do now', () => {
  it('draft: the creator submits, updates, comments or cancels; others only an admin comments', () => {
    const d = new EngineDriver(po, 'alice', doc(5_000_000));
    expect(allowed(d, 'alice')).toEqual(['submit', 'comment', 'update', 'cancel']);
    expect(allowed(d, 'bob')).toEqual([]);
    expect(allowed(d, 'root', true)).toEqual(['comment', 'cancel']);
    expectAccepted(d, { employee: 'alice' });
    expectAccepted(d, { employee: 'root', admin: true });
  });

  it('at a task node: assignees get the node actions, reassign and update; the creator may withdraw', () => {
    const d = new EngineDriver(po, 'alice', doc(5_000_000)).do('alice', 'submit');
    expect(allowed(d, 'pur-mgr')).toEqual(['approve', 'reject', 'return', 'reassign', 'comment', 'update']);
    expect(allowed(d, 'alice')).toEqual(['withdraw', 'comment']);
    expect(allowed(d, 'carol')).toEqual([]);
    expect(allowed(d, 'root', true)).toEqual(['reassign', 'withdraw', 'comment']);
    for (const employee of ['pur-mgr', 'alice']) expectAccepted(d, { employee });
  });

  it('after acting, an assignee of a quorum stage may only comment', () => {
    const d = new EngineDriver(po, 'alice', doc(20_000_000))
      .do('alice', 'submit')
      .do('pur-mgr', 'approve')
      .do('fin-1', 'approve');
    expect(allowed(d, 'fin-1')).toEqual(['comment']);
    expect(allowed(d, 'fin-2')).toEqual(['approve', 'reject', 'return', 'reassign', 'comment', 'update']);
    expectAccepted(d, { employee: 'fin-2' });
  });

  it('returned: the creator resubmits; finished: change_request and cancel; cancelled: comments only', () => {
    const d = new EngineDriver(po, 'alice', doc(5_000_000)).do('alice', 'submit').do('pur-mgr', 'return');
    expect(allowed(d, 'alice')).toEqual(['resubmit', 'comment', 'update', 'cancel']);
    expectAccepted(d, { employee: 'alice' });
    d.do('alice', 'resubmit').do('pur-mgr', 'approve');
    expect(allowed(d, 'alice')).toEqual(['comment', 'change_request', 'cancel']);
    expect(allowed(d, 'pur-mgr')).toEqual(['comment']);
    expectAccepted(d, { employee: 'alice' });
    d.do('alice', 'cancel');
    expect(allowed(d, 'alice')).toEqual(['comment']);
  });

  it('failed: an admin reassigns; the creator withdraws or cancels', () => {
    const d = new EngineDriver(po, 'pur-mgr', { ...doc(5_000_000), requester: 'alice' }).do('pur-mgr', 'submit');
    expect(d.status).toBe('failed');
    expect(allowed(d, 'pur-mgr')).toEqual(['withdraw', 'comment', 'cancel']);
    expect(allowed(d, 'root', true)).toEqual(['reassign', 'withdraw', 'comment', 'cancel']);
    expectAccepted(d, { employee: 'root', admin: true });
    expectAccepted(d, { employee: 'pur-mgr' });
  });
});
