/**
 * bench/encryption-cost — what encryption at rest adds to a command's CPU in the writer, measured in process
 * where a loaded machine moves it least: the group commit's rows (`planBatch`: the step's log row and the
 * projections — runtime row, log entries) built for a purchase order's five commands (start, submit,
 * approve ×3, as bench/approve drives them), with the store's cipher and without, in interleaved rounds
 * (median of each). The Redis snapshot, sealed when an actor leaves memory, is one more state-sized value.
 */
import { readFileSync } from 'node:fs';
import {
  type Command,
  compileWorkflow,
  diffState,
  type RuntimeState,
  start,
  step,
  workflowDefinitionSchema,
} from '../src/engine/index.ts';
import { EnvelopeCipher, type FieldCipher, PLAINTEXT_CIPHER } from '../src/store/crypto/field-cipher.ts';
import { generateMasterKey, keyRing } from '../src/store/crypto/key-ring.ts';
import { MemoryDataKeyStore } from '../src/store/memory/memory-data-key-store.ts';
import { planBatch } from '../src/store/mysql/batch-plan.ts';
import type { TransitionRecord } from '../src/store/ports.ts';
import { orgChart } from '../test/fixtures/org-chart.ts';
import { writeResult } from './report.ts';

const def = workflowDefinitionSchema.parse(
  JSON.parse(readFileSync(new URL('../examples/purchase-order.json', import.meta.url), 'utf8')),
);
const wf = compileWorkflow(def, 'wf-po', 1);
const T0 = 1_767_000_000_000;

/** One purchase order's five commits, as the writer receives them. */
function purchaseOrder(i: number): TransitionRecord[] {
  const doc = { amount: 20_000_000, currency: 'VND', requester: 'alice', note: 'restock', supplier: 'ACME', items: [] };
  const input = {
    id: `rt-${i}`,
    tenant: 't1',
    app: def.app,
    docId: `po-${i}`,
    workflowId: 'wf-po',
    version: 1,
    creator: 'alice',
    doc,
  };
  const script: Command[] = [
    { type: 'submit', actor: 'alice' },
    { type: 'approve', actor: 'pur-mgr', comment: 'ok' },
    { type: 'approve', actor: 'fin-1' },
    { type: 'approve', actor: 'fin-2' },
  ];
  const records: TransitionRecord[] = [];
  let r = start(wf, input, orgChart, T0);
  let before: RuntimeState | undefined;
  for (let k = 0; ; k++) {
    if (!r.ok) throw r.error;
    records.push({
      tenant: 't1',
      shard: 0,
      baseRevision: r.state.revision - 1,
      state: r.state,
      effects: r.effects,
      change: diffState(before, r.state),
      idempotency: { key: `k-${i}-${k}` },
      cause: k === 0 ? { start: input } : { command: script[k - 1]! },
    });
    const command = script[k];
    if (command === undefined) return records;
    before = r.state;
    r = step(wf, r.state, command, orgChart, T0 + k + 1);
  }
}

function rowsPerSecond(records: readonly TransitionRecord[], cipher: FieldCipher, ms: number): number {
  const deadline = performance.now() + ms;
  let n = 0;
  while (performance.now() < deadline) {
    for (const r of records)
      planBatch([r], { revisions: new Map(), activeDocs: new Map(), idempotencyKeys: new Set() }, T0, true, cipher);
    n += records.length;
  }
  return n / (ms / 1000);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface EncryptionCost {
  /** µs of CPU per command building its rows without encryption, and with it. */
  plainMicros: number;
  sealedMicros: number;
  /** The difference: what encryption adds per command in the writer. */
  addedMicros: number;
  /** Bytes a command writes to the encrypted columns, as plaintext and sealed (base64 adds a third). */
  plainBytes: number;
  sealedBytes: number;
}

export async function measureEncryptionCost(roundMs = 300, rounds = 7): Promise<EncryptionCost> {
  const cipher = new EnvelopeCipher(keyRing([generateMasterKey('bench')]), new MemoryDataKeyStore());
  await cipher.ready(['t1']);
  const records = Array.from({ length: 4 }, (_, i) => purchaseOrder(i)).flat();
  const sizes = (c: FieldCipher) => {
    const rows = planBatch(
      records,
      { revisions: new Map(), activeDocs: new Map(), idempotencyKeys: new Set() },
      T0,
      true,
      c,
    ).rows;
    const text = [...rows.steps.map((s) => s[6]), ...rows.runtimeInserts.map((s) => s[9])];
    return text.reduce((sum: number, v) => sum + (typeof v === 'string' ? v.length : 0), 0) / records.length;
  };
  rowsPerSecond(records, cipher, roundMs); // warm-up
  rowsPerSecond(records, PLAINTEXT_CIPHER, roundMs);
  const plain: number[] = [];
  const sealed: number[] = [];
  for (let i = 0; i < rounds; i++) {
    plain.push(rowsPerSecond(records, PLAINTEXT_CIPHER, roundMs));
    sealed.push(rowsPerSecond(records, cipher, roundMs));
  }
  const plainMicros = 1e6 / median(plain);
  const sealedMicros = 1e6 / median(sealed);
  return {
    plainMicros,
    sealedMicros,
    addedMicros: sealedMicros - plainMicros,
    plainBytes: sizes(PLAINTEXT_CIPHER),
    sealedBytes: sizes(cipher),
  };
}

/**
 * The budget of `npm run bench -- encryption`: 10% of the ~0.6 ms of bflow CPU (gateway and node) a command
 * costs on the approve path (docs/benchmarks.md#approve).
 */
export const ADDED_MICROS_BUDGET = 60;

if (import.meta.url === `file://${process.argv[1]}`) {
  const c = await measureEncryptionCost();
  console.log(
    `writer rows per command: ${c.plainMicros.toFixed(1)} µs plain, ${c.sealedMicros.toFixed(1)} µs sealed: +${c.addedMicros.toFixed(1)} µs; ${c.plainBytes.toFixed(0)} → ${c.sealedBytes.toFixed(0)} bytes in encrypted columns`,
  );
  const pass = c.addedMicros <= ADDED_MICROS_BUDGET;
  console.log(`target: encryption adds ≤ ${ADDED_MICROS_BUDGET} µs of CPU per command  ${pass ? 'PASS' : 'FAIL'}`);
  writeResult('encryption', { scenario: 'encryption', ...c, budgetMicros: ADDED_MICROS_BUDGET, pass });
}
