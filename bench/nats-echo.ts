/**
 * bench/nats-echo — the NATS request/reply ceiling of bench/cluster: an echo
 * responder in its own process answers every shard subject with a canned reply
 * the size of a real one (a purchase order's runtime state after submit and a
 * comment), while bench/cluster-load (mode `echo`) drives it exactly as it
 * drives the cluster: RoutingClient over NatsShardBus, same concurrency, same
 * request shape. Nothing is committed: this is what NATS, the codec and the
 * client cost on this machine, the most the cluster could do through them.
 *
 *   node --import tsx bench/nats-echo.ts --serve --nats URL --prefix P   (the responder)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connectNats } from '../src/actors/nats/connection.ts';
import { encodeJson } from '../src/actors/bus/json-codec.ts';
import type { ShardReply } from '../src/actors/bus/ports.ts';
import { compileWorkflow, start, step, workflowDefinitionSchema, type RuntimeState } from '../src/engine/index.ts';
import { orgChart } from '../test/fixtures/org-chart.ts';
import { exitWithParent, spawnLoad, type LoadReport } from './cluster-load.ts';
import { benchDoc } from './http-load.ts';
import { readyLine } from './server-process.ts';

export interface CeilingOptions {
  natsUrl: string;
  concurrency: number;
  warmupSeconds: number;
  seconds: number;
  shards?: number;
}

export interface CeilingReport extends LoadReport {
  /** Bytes of the canned reply. */
  replyBytes: number;
}

/** A reply like the cluster's: the purchase order's state after submit and a creator comment. */
export function cannedReply(): Uint8Array {
  const def = workflowDefinitionSchema.parse(
    JSON.parse(readFileSync(new URL('../examples/purchase-order.json', import.meta.url), 'utf8')),
  );
  const wf = compileWorkflow(def, 'wf-po', 1);
  const doc = benchDoc(5_000_000, 0);
  const t0 = Date.UTC(2026, 0, 5, 9);
  const started = start(
    wf,
    {
      id: 'rt-echo',
      tenant: 't-bench',
      app: def.app,
      docId: 'doc-echo',
      workflowId: 'wf-po',
      version: 1,
      creator: 'alice',
      doc,
    },
    orgChart,
    t0,
  );
  if (!started.ok) throw started.error;
  let state: RuntimeState = started.state;
  for (const command of [
    { type: 'submit', actor: 'alice' },
    { type: 'comment', actor: 'alice', comment: 'please hurry (b-000000-1)' },
  ] as const) {
    const r = step(wf, state, command, orgChart, t0 + 1000);
    if (!r.ok) throw r.error;
    state = r.state;
  }
  const reply: ShardReply = { ok: true, state };
  return encodeJson(reply);
}

/**
 * Starts an echo responder process and a load process against it, returns the
 * load's report. Both processes are SIGKILLed on the way out, error or not.
 */
export async function measureNatsCeiling(o: CeilingOptions): Promise<CeilingReport> {
  const prefix = `bench_echo_${randomBytes(4).toString('hex')}`;
  const responder = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', '--nats', o.natsUrl, '--prefix', prefix],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  let load: ReturnType<typeof spawnLoad> | undefined;
  try {
    const { replyBytes } = await readyLine<{ replyBytes: number }>(responder, 'echo responder');
    load = spawnLoad({
      natsUrl: o.natsUrl,
      cluster: prefix,
      mode: 'echo',
      tenant: 't-bench',
      shards: o.shards ?? 64,
      concurrency: o.concurrency,
      warmupSeconds: o.warmupSeconds,
      seconds: o.seconds,
    });
    return { ...(await load.result), replyBytes };
  } finally {
    load?.child.kill('SIGKILL');
    responder.kill('SIGKILL');
  }
}

if (
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(process.argv[1]).href &&
  process.argv.includes('--serve')
) {
  const at = (name: string) => {
    const v = process.argv[process.argv.indexOf(name) + 1];
    if (v === undefined) throw new Error(`${name} is required`);
    return v;
  };
  exitWithParent();
  const reply = cannedReply();
  const nc = await connectNats({ url: at('--nats'), name: `bflow-bench-echo-${process.pid}` });
  nc.subscribe(`${at('--prefix')}.shard.*`, { callback: (err, msg) => void (err ? undefined : msg.respond(reply)) });
  await nc.flush();
  process.stdout.write(`${JSON.stringify({ event: 'ready', replyBytes: reply.byteLength })}\n`);
}
