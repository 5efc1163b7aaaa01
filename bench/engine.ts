/**
 * bench/engine — pure engine steps per second on one core, and bytes per
 * persisted runtime state, beside a raw XState restore → transition → persist
 * loop measured in the same run (the ceiling).
 *
 *   node --import tsx bench/engine.ts [--seconds 7]
 */
import { readFileSync } from 'node:fs';
import { assign, setup } from 'xstate';
import { inertScope } from '../src/engine/inert-scope.ts';
import {
  compileWorkflow,
  start,
  step,
  workflowDefinitionSchema,
  type Command,
  type RuntimeState,
} from '../src/engine/index.ts';
import { orgChart } from '../test/fixtures/org-chart.ts';
import { writeResult, printTable, secondsArg } from './report.ts';

const seconds = secondsArg(7);
const def = workflowDefinitionSchema.parse(
  JSON.parse(readFileSync(new URL('../examples/purchase-order.json', import.meta.url), 'utf8')),
);
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
  const r = start(
    wf,
    {
      id: `rt-${i}`,
      tenant: 't1',
      app: def.app,
      docId: `po-${i}`,
      workflowId: 'wf-po',
      version: 1,
      creator: 'alice',
      doc,
    },
    orgChart,
    1_767_000_000_000 + i,
  );
  if (!r.ok) throw r.error;
  return JSON.stringify(r.state);
}

/** The purchase order at its third stage (finance open): the ceiling loop's context. */
const typicalState: RuntimeState = (() => {
  let state = JSON.parse(startJson(0)) as RuntimeState;
  for (const command of script.slice(0, 2)) {
    const r = step(wf, state, command, orgChart, 1_767_000_100_000);
    if (!r.ok) throw r.error;
    state = r.state;
  }
  return state;
})();

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

/**
 * The ceiling: a plain XState machine with the same number of states whose
 * context is a real runtime state (the purchase order at its third stage), so
 * both loops restore and persist the same bytes; each step bumps a counter.
 */
function rawXStateLoop(deadline: number): number {
  const machine = setup({
    types: {} as { context: RuntimeState; events: { type: 'next' } },
    actions: { count: assign(({ context }) => ({ seq: context.seq + 1 })) },
  }).createMachine({
    context: typicalState,
    initial: 's0',
    states: Object.fromEntries(
      def.nodes.map((_, i) => [
        `s${i}`,
        { on: { next: { target: `s${(i + 1) % def.nodes.length}`, actions: 'count' } } },
      ]),
    ),
  });
  const scope = inertScope(machine, undefined);
  let persisted = JSON.stringify({ value: 's0', context: typicalState });
  let steps = 0;
  while (performance.now() < deadline) {
    const restored = machine.resolveState(JSON.parse(persisted) as { value: string; context: RuntimeState });
    const next = machine.transition(restored, { type: 'next' }, scope);
    persisted = JSON.stringify({ value: next.value, context: next.context });
    steps++;
  }
  return steps;
}

// Interleaved rounds, median rate of each: load on a shared machine hits both loops alike.
const ROUNDS = 7;
const roundMs = (seconds * 1000) / ROUNDS;
rawXStateLoop(performance.now() + 300); // warm-up
engineLoop(performance.now() + 300);
const rawRates: number[] = [];
const engineRates: number[] = [];
let engine = engineLoop(performance.now() + 1);
for (let r = 0; r < ROUNDS; r++) {
  rawRates.push(rawXStateLoop(performance.now() + roundMs) / (roundMs / 1000));
  engine = engineLoop(performance.now() + roundMs);
  engineRates.push(engine.steps / (roundMs / 1000));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rawRate = median(rawRates);
const engineRate = median(engineRates);
// Each round's pair ran back to back under the same load: the median of the paired ratios is the figure.
const ratio = median(engineRates.map((rate, i) => rate / rawRates[i]!));
const thirdStageBytes = engine.bytes[1]!; // after the manager's approval: the third stage (finance) is open

printTable('bench/engine (one core)', [
  ['raw XState restore→transition→persist (ceiling)', `${Math.round(rawRate).toLocaleString()} steps/s`, ''],
  [
    'bflow engine restore→step→persist',
    `${Math.round(engineRate).toLocaleString()} steps/s`,
    `${(ratio * 100).toFixed(0)}% of ceiling, median of paired rounds (goal ≥ 50%): ${ratio >= 0.5 ? 'PASS' : 'FAIL'}`,
  ],
  [
    'state bytes, purchase order at its third stage',
    `${thirdStageBytes} B`,
    `goal ≤ 2048 B: ${thirdStageBytes <= 2048 ? 'PASS' : 'FAIL'}`,
  ],
  ['state bytes by step (submit…finish)', engine.bytes.join(', '), ''],
]);
writeResult('engine', {
  seconds,
  rounds: ROUNDS,
  rawRates,
  engineRates,
  rawStepsPerSecond: rawRate,
  engineStepsPerSecond: engineRate,
  ratio,
  thirdStageBytes,
  bytesByStep: engine.bytes,
});
