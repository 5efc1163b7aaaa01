import { describe, expect, it } from 'vitest';
import { EngineDriver, loadExample } from '../../test/fixtures/engine-driver.ts';
import { editableFields, redactDocument } from './access.ts';

const expense = loadExample('expense-claim');
const contract = loadExample('contract-review');

const claim = (amount: number, extra: Record<string, unknown> = {}) => ({
  claimant: 'alice',
  amount,
  advance: amount,
  currency: 'VND',
  lines: [{ category: 'travel', amount }],
  project: 'INT-7',
  trip_date: '2026-01-02',
  receipts_complete: true,
  bank_account: '0123',
  audit_note: 'none',
  ...extra,
});

describe('expense claim - quorum, all, positions', () => {
  it('small claim: manager → finance 2-of-N (group plus a fixed employee) → payment (complete) → approved', () => {
    const d = new EngineDriver(expense, 'alice', claim(1_000_000)).do('alice', 'submit');
    expect(d.open).toEqual(['pur-mgr']);
    d.do('pur-mgr', 'approve');
    expect(d.node).toBe('finance');
    expect(d.open).toEqual(['e-cfo', 'fin-1', 'fin-2', 'fin-3', 'fin-head']);
    d.do('e-cfo', 'approve').do('fin-2', 'approve');
    expect(d.node).toBe('payment');
    d.do('treasurer', 'complete', { patch: { bank_account: '999' } });
    expect(d.status).toBe('approved');
  });

  it('entertainment lines over 5M go to the division head (group_level:1)', () => {
    const lines = [{ category: 'entertainment', amount: 6_000_000 }];
    const d = new EngineDriver(expense, 'alice', claim(6_000_000, { lines }))
      .do('alice', 'submit')
      .do('pur-mgr', 'approve');
    expect(d.node).toBe('division_head');
    expect(d.open).toEqual(['ops-head']);
  });

  it('incomplete receipts go to audit, which needs every auditor ("all")', () => {
    const d = new EngineDriver(expense, 'alice', claim(1_000_000, { receipts_complete: false }))
      .do('alice', 'submit')
      .do('pur-mgr', 'approve');
    d.do('fin-1', 'approve').do('fin-3', 'approve');
    expect(d.node).toBe('audit');
    expect(d.open).toEqual(['e-auditor-1', 'e-auditor-2']);
    d.do('e-auditor-1', 'approve');
    expect(d.node).toBe('audit');
    d.do('e-auditor-2', 'approve');
    expect(d.node).toBe('payment');
  });

  it('manager SLA escalates to upper_manager', () => {
    const d = new EngineDriver(expense, 'alice', claim(1_000_000)).do('alice', 'submit');
    d.fire('rt-1:1:sla');
    expect(d.open).toEqual(['ops-head', 'pur-mgr']);
  });

  it('the claimant may not see or edit audit notes; the manager does not see payment details', () => {
    const d = new EngineDriver(expense, 'alice', claim(1_000_000));
    expect(redactDocument(d.wf, d.state, 'alice')).not.toHaveProperty('audit_note');
    expect([...(editableFields(d.wf, d.state, 'alice') as Set<string>)]).toContain('bank_account');
    d.refused('alice', 'update', 'fields_not_editable', { patch: { audit_note: 'x' } });
    d.do('alice', 'submit');
    expect(redactDocument(d.wf, d.state, 'pur-mgr')).not.toHaveProperty('bank_account');
    expect(redactDocument(d.wf, d.state, 'pur-mgr')).toHaveProperty('amount');
  });
});

describe('contract review - out_form, manager_2, to-do node', () => {
  const terms = (extra: Record<string, unknown> = {}) => ({
    owner: 'bob',
    counterparty: 'Globex',
    contract_type: 'MSA',
    value: 5_000_000,
    term_months: 12,
    auto_renew: false,
    clauses: ['liability'],
    ...extra,
  });

  it('owner confirms, legal intake names the reviewer, the owner signs → completed', () => {
    const d = new EngineDriver(contract, 'alice', terms()).do('alice', 'submit');
    expect(d.open).toEqual(['bob']);
    d.do('bob', 'approve');
    expect(d.open).toEqual(['lee', 'lena']);
    d.do('lena', 'approve', { nextAssignee: 'lee' });
    expect(d.open).toEqual(['lee']);
    d.do('lee', 'approve', { patch: { legal_opinion: 'fine' } });
    expect(d.node).toBe('signing');
    d.do('bob', 'complete', { patch: { signed_copy: 's3://x', signed_on: '2026-02-01' } });
    expect(d.status).toBe('completed');
  });

  it('long terms go to the owner’s manager_2', () => {
    const d = new EngineDriver(contract, 'alice', terms({ term_months: 36 }))
      .do('alice', 'submit')
      .do('bob', 'approve');
    d.do('lee', 'approve', { nextAssignee: 'lena' }).do('lena', 'approve');
    expect(d.node).toBe('senior_manager');
    expect(d.open).toEqual(['ops-head']);
  });

  it('signing returns to the legal reviewer chosen earlier', () => {
    const d = new EngineDriver(contract, 'alice', terms()).do('alice', 'submit').do('bob', 'approve');
    d.do('lee', 'approve', { nextAssignee: 'lena' }).do('lena', 'approve');
    d.do('bob', 'return', { toNode: 'legal_review' });
    expect(d.node).toBe('legal_review');
    expect(d.open).toEqual(['lena']);
  });

  it('the creator does not see legal opinions at the draft stage', () => {
    const d = new EngineDriver(contract, 'alice', terms({ legal_opinion: 'secret' }));
    expect(redactDocument(d.wf, d.state, 'alice')).not.toHaveProperty('legal_opinion');
  });
});
