import { describe, expect, it } from 'vitest';
import type { RuntimeState } from './runtime-state.ts';
import { applyStateChange, diffState, replayStateChanges, StateChangeError } from './state-change.ts';

const base: RuntimeState = {
  v: 1,
  runtime: {
    id: 'rt-1',
    tenant: 't',
    app: 'po',
    docId: 'PO-1',
    workflowId: 'wf',
    version: 1,
    creator: 'alice',
    createdAt: 1,
  },
  status: 'created',
  doc: { amount: 10, note: 'x' },
  stages: [{ node: 'draft', status: 'open', enteredAt: 1, tasks: [{ assignee: 'alice', status: 'open' }] }],
  seq: 1,
  revision: 1,
  updatedAt: 1,
};

const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('state change', () => {
  it('state change - a start stores the whole state; a step stores only what changed', () => {
    expect(diffState(undefined, base)).toEqual({ init: base });
    const closed = { ...base.stages[0]!, status: 'closed' as const, exitedAt: 2 };
    const next: RuntimeState = {
      ...base,
      status: 'in_progress',
      stages: [closed, { node: 'mgr', status: 'open', enteredAt: 2, tasks: [{ assignee: 'bob', status: 'open' }] }],
      seq: 2,
      revision: 2,
      updatedAt: 2,
    };
    const change = diffState(base, next);
    expect(change).toEqual({
      set: { status: 'in_progress', seq: 2, revision: 2, updatedAt: 2 },
      stagesFrom: 0,
      stages: next.stages,
    });
    expect(applyStateChange(base, json(change))).toEqual(next);
  });

  it('state change - document fields set and removed, a failure cleared; the state before is not modified', () => {
    const failed: RuntimeState = { ...base, failure: { code: 'no_assignee', message: 'm', node: 'draft' } };
    const next: RuntimeState = { ...base, doc: { amount: 20 }, seq: 2, revision: 2 };
    const change = diffState(failed, next);
    expect(change).toEqual({
      set: { seq: 2, revision: 2 },
      unset: ['failure'],
      docSet: { amount: 20 },
      docUnset: ['note'],
    });
    const frozen = structuredClone(failed);
    expect(applyStateChange(failed, json(change))).toEqual(next);
    expect(failed).toEqual(frozen);
  });

  it('state change - a key named __proto__ in a logged document stays a plain field', () => {
    const change = JSON.parse('{"set":{"seq":2,"revision":2},"docSet":{"__proto__":{"polluted":true}}}');
    const next = applyStateChange(base, change);
    expect(Object.getPrototypeOf(next.doc)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('state change - refuses a change that cannot follow the state: a second start, a step before the start, a revision gap, a stage gap', () => {
    expect(() => applyStateChange(base, { init: base })).toThrow(StateChangeError);
    expect(() => applyStateChange(undefined, { set: { revision: 1 } })).toThrow(StateChangeError);
    expect(() => applyStateChange(base, { set: { revision: 3 } })).toThrow(/does not follow revision 1/);
    expect(() => applyStateChange(base, { set: { revision: 2 }, stagesFrom: 5, stages: [] })).toThrow(/gap/);
  });

  it('state change - replay from the start applies each change in order', () => {
    const next: RuntimeState = { ...base, status: 'cancelled', seq: 2, revision: 2, updatedAt: 5 };
    expect(replayStateChanges(undefined, [diffState(undefined, base), diffState(base, next)])).toEqual(next);
    expect(replayStateChanges(base, [])).toBe(base);
  });
});
