import { describe, expect, it } from 'vitest';
import { EngineDriver, loadExample } from '../../test/fixtures/engine-driver.ts';

const leave = loadExample('leave-request');
const doc = (days: number, type = 'annual', extra: Record<string, unknown> = {}) => ({
  days,
  type,
  approver: 'pur-mgr',
  handover: 'bob',
  reason: 'family',
  ...extra,
});

describe('leave request - in_form and out_form', () => {
  it('a short leave goes approver (in_form) → handover (to-do) → completed', () => {
    const d = new EngineDriver(leave, 'alice', doc(3)).do('alice', 'submit');
    expect(d.node).toBe('approver');
    expect(d.open).toEqual(['pur-mgr']);
    d.do('pur-mgr', 'approve');
    expect(d.node).toBe('handover');
    expect(d.open).toEqual(['bob']);
    d.refused('bob', 'approve', 'action_not_allowed');
    d.do('bob', 'complete');
    expect(d.status).toBe('completed');
    expect(d.path).toEqual(['start', 'approver', 'handover', 'done']);
  });

  it('a long annual leave goes to HR, who names the reviewer (out_form)', () => {
    const d = new EngineDriver(leave, 'alice', doc(10)).do('alice', 'submit').do('pur-mgr', 'approve');
    expect(d.node).toBe('hr');
    expect(d.open).toEqual(['hr-1', 'hr-2', 'hr-head']);
    expect(d.refused('hr-1', 'approve', 'next_assignee_required')).toContain('nextAssignee');
    d.refused('hr-1', 'approve', 'validation_failed', { nextAssignee: 'nobody' });
    d.do('hr-1', 'approve', { nextAssignee: 'lee' });
    expect(d.node).toBe('reviewer');
    expect(d.open).toEqual(['lee']);
    d.do('lee', 'approve');
    expect(d.node).toBe('handover');
  });

  it('a long sick leave skips HR (and-condition false → else)', () => {
    const d = new EngineDriver(leave, 'alice', doc(10, 'sick')).do('alice', 'submit').do('pur-mgr', 'approve');
    expect(d.node).toBe('handover');
  });

  it('the reviewer returns to HR: the same HR group is assigned; returning to the reviewer reuses the choice', () => {
    const d = new EngineDriver(leave, 'alice', doc(10)).do('alice', 'submit').do('pur-mgr', 'approve');
    d.do('hr-2', 'approve', { nextAssignee: 'lee' });
    d.do('lee', 'return', { toNode: 'approver' });
    expect(d.node).toBe('approver');
    d.do('pur-mgr', 'approve');
    d.do('hr-head', 'approve', { nextAssignee: 'lena' });
    expect(d.open).toEqual(['lena']);
  });

  it('the approver edits days (dates zone) but not the reason', () => {
    const d = new EngineDriver(leave, 'alice', doc(3)).do('alice', 'submit');
    d.do('pur-mgr', 'approve', { patch: { days: 2 } });
    expect(d.state.doc.days).toBe(2);
    expect(d.log.at(-1)!.changes).toEqual({ days: [3, 2] });
  });

  it('an empty in_form field leaves nobody → failed naming the node', () => {
    const d = new EngineDriver(leave, 'alice', doc(3, 'annual', { approver: null })).do('alice', 'submit');
    expect(d.status).toBe('failed');
    expect(d.state.failure).toMatchObject({ node: 'approver' });
    expect(d.state.failure!.message).toContain('in_form field "approver"');
  });

  it('an inactive in_form employee is skipped → failed', () => {
    const d = new EngineDriver(leave, 'alice', doc(3, 'annual', { approver: 'old-fin' })).do('alice', 'submit');
    expect(d.status).toBe('failed');
  });

  it('a start document with a mistyped declared field is refused with its path', () => {
    expect(() => new EngineDriver(leave, 'alice', doc(3, 'annual', { days: 'three' }))).toThrow(/invalid fields/);
  });

  it('a document whose condition field has the wrong type gets a clear condition_error, nothing changes', () => {
    const d = new EngineDriver(leave, 'alice', doc(3, 'annual', { type: 'annual' })).do('alice', 'submit');
    // days is declared number; force a bad value past the patch checks to simulate old data
    d.state = { ...d.state, doc: { ...d.state.doc, days: 'ten' } };
    expect(d.refused('pur-mgr', 'approve', 'condition_error')).toMatch(/associations\[1\]\.condition.*days/);
  });
});
