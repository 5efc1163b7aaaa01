import { describe, expect, it } from 'vitest';
import { loadExample } from '../../test/fixtures/engine-driver.ts';
import { orgChart } from '../../test/fixtures/org-chart.ts';
import { poDoc } from '../../test/fixtures/purchase-order-doc.ts';
import {
  applyStateChange,
  compileWorkflow,
  diffState,
  start,
  step,
  type ActionCommand,
  type RuntimeState,
  type StepResult,
} from '../engine/index.ts';
import { encodeStep, stepEffects, type StepBody } from './step-log.ts';

const wf = compileWorkflow(loadExample('purchase-order'), 'wf-po', 1);
const T0 = Date.UTC(2026, 0, 5, 9);

/** A purchase order through its finance committee: every step's state, effects and change. */
function purchaseOrderSteps(): { prev: RuntimeState | undefined; result: Extract<StepResult, { ok: true }> }[] {
  const input = {
    id: 'rt-1',
    tenant: 't1',
    app: 'purchase.order',
    docId: 'PO-1',
    workflowId: 'wf-po',
    version: 1,
    creator: 'alice',
    doc: poDoc(20_000_000),
  };
  const started = start(wf, input, orgChart, T0);
  if (!started.ok) throw started.error;
  const steps = [{ prev: undefined as RuntimeState | undefined, result: started }];
  const actions: [string, ActionCommand['type']][] = [
    ['alice', 'submit'],
    ['pur-mgr', 'approve'],
    ['fin-1', 'comment'],
    ['fin-1', 'approve'],
    ['fin-2', 'approve'],
  ];
  let state = started.state;
  actions.forEach(([actor, type], i) => {
    const r = step(wf, state, { type, actor, comment: 'ok' }, orgChart, T0 + (i + 1) * 60_000);
    if (!r.ok) throw r.error;
    steps.push({ prev: state, result: r });
    state = r.state;
  });
  return steps;
}

describe('step log', () => {
  it('step log - a body through JSON gives back the step: its events, log, tasks and timers, and its state change', () => {
    for (const { prev, result } of purchaseOrderSteps()) {
      const change = diffState(prev, result.state);
      const body = JSON.parse(
        JSON.stringify(encodeStep({ state: result.state, effects: result.effects, change })),
      ) as StepBody;
      expect(stepEffects('t1', 'rt-1', body)).toEqual(JSON.parse(JSON.stringify(result.effects)));
      expect(applyStateChange(prev && structuredClone(prev), body.change)).toEqual(
        JSON.parse(JSON.stringify(result.state)),
      );
    }
  });

  it('step log - a step stores less than its state and events written whole', () => {
    const [, ...commands] = purchaseOrderSteps();
    for (const { prev, result } of commands) {
      const body = encodeStep({ state: result.state, effects: result.effects, change: diffState(prev, result.state) });
      const whole = JSON.stringify(result.state).length + JSON.stringify(result.effects).length;
      expect(JSON.stringify(body).length).toBeLessThan(whole * 0.7);
    }
  });
});
