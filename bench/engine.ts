/**
 * bench/engine — pure engine steps per second on one core, and bytes per
 * persisted runtime state, beside a raw XState restore → transition → persist
 * loop measured in the same run (the ceiling).
 *
 *   node --import tsx bench/engine.ts [--seconds 3]
 */
import { readFileSync } from 'node:fs';
import { assign, setup } from 'xstate';
import { inertScope } from '../src/engine/inert-scope.ts';
import { compileWorkflow, start, step, workflowDefinitionSchema, type Command, type RuntimeState } from '../src/engine/index.ts';
import { orgChart } from '../test/fixtures/org-chart.ts';
import { writeResult, printTable, secondsArg } from './report.ts';

const seconds = secondsArg(3);
const def = workflowDefinitionSchema.parse(JSON.parse(readFileSync(new URL('../examples/purchase-order.json', import.meta.url), 'utf8')));
const wf = compileWorkflow(def, 'wf-po', 1);

const doc = {
  amount: 20_000_000,
  currency: 'VND',
  requester: 'alice',
  items: [
    { sku: 'laptop', category: 'capex', total: 15_000_000 },
    { sku: 'paper', category: 'office', total: 5_000_000 },
  ],
  note: 'Quarterly restock for the purchasing team',
  supplier: 'ACME Trading Co.',
};

/** One purchase order's life: submit, manager, 2 of finance. */
const script: Command[] = [
  { type: 'submit', actor: 'alice' },
  { type: 'approve', actor: 'pur-mgr', comment: 'ok' },
  { type: 'approve', actor: 'fin-1' },
  { type: 'approve', actor: 'fin-2' },
];

function startJson(i: number): string {
  const r = start(wf, { id: `rt-${i}`, tenant: 't1', app: def.app, docId: `po-${i}`, workflowId: 'wf-po', version: 1, creator: 'alice', doc }, orgChart, 1_767_000_000_000 + i);
  if (!r.ok) throw r.error;
  return JSON.stringify(r.state);
}

/** restore (JSON.parse) → engine step → persist (JSON.stringify), as an actor activating from a snapshot would. */
function engineLoop(deadline: number): { steps: number; bytes: number[] } {
  let steps = 0;
  const bytes: number[] = [];
  for (let i = 0; performance.now() < deadline; i++) {
    let persisted = startJson(i);
    steps++;
    for (let k = 0; k < script.length; k++) {
      const r = step(wf, JSON.parse(persisted) as RuntimeState, script[k]!, orgChart, 1_767_000_100_000 + i + k);
      if (!r.ok) throw r.error;
      persisted = JSON.stringify(r.state);
      if (i === 0) bytes.push(Buffer.byteLength(persisted));
      steps++;
    }
  }
  return { steps, bytes };
}

/** The ceiling: a plain XState machine with the same number of states, restored, transitioned and persisted. */
function rawXStateLoop(deadline: number): number {
  const machine = setup({
    types: {} as { context: { n: number; doc: typeof doc }; events: { type: 'next' } },
    actions: { count: assign(({ context }) => ({ n: context.n + 1 })) },
  }).createMachine({
    context: { n: 0, doc },
    initial: 's0',
    states: Object.fromEntries(
      def.nodes.map((_, i) => [`s${i}`, { on: { next: { target: `s${(i + 1) % def.nodes.length}`, actions: 'count' } } }]),
    ),
  });
  const scope = inertScope(machine, undefined);
  let persisted = JSON.stringify(machine.getPersistedSnapshot(machine.resolveState({ value: 's0', context: { n: 0, doc } })));
  let steps = 0;
  while (performance.now() < deadline) {
    const restored = machine.resolveState(JSON.parse(persisted) as { value: string; context: { n: number; doc: typeof doc } });
    const next = machine.transition(restored, { type: 'next' }, scope);
    persisted = JSON.stringify({ value: next.value, context: next.context });
    steps++;
  }
  return steps;
}

const ms = seconds * 1000;
rawXStateLoop(performance.now() + 300); // warm-up
engineLoop(performance.now() + 300);
const rawSteps = rawXStateLoop(performance.now() + ms);
const engine = engineLoop(performance.now() + ms);
const rawRate = rawSteps / seconds;
const engineRate = engine.steps / seconds;
const thirdStageBytes = engine.bytes[1]!; // after the manager's approval: the third stage (finance) is open
const ratio = engineRate / rawRate;

printTable('bench/engine (one core)', [
  ['raw XState restore→transition→persist (ceiling)', `${Math.round(rawRate).toLocaleString()} steps/s`, ''],
  ['bflow engine restore→step→persist', `${Math.round(engineRate).toLocaleString()} steps/s`, `${(ratio * 100).toFixed(0)}% of ceiling (goal ≥ 50%): ${ratio >= 0.5 ? 'PASS' : 'FAIL'}`],
  ['state bytes, purchase order at its third stage', `${thirdStageBytes} B`, `goal ≤ 2048 B: ${thirdStageBytes <= 2048 ? 'PASS' : 'FAIL'}`],
  ['state bytes by step (submit…finish)', engine.bytes.join(', '), ''],
]);
writeResult('engine', { seconds, rawStepsPerSecond: rawRate, engineStepsPerSecond: engineRate, ratio, thirdStageBytes, bytesByStep: engine.bytes });
