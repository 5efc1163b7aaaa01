// NATS request/reply ceiling: round trips per second at a given concurrency against an echo
// responder (same process on its own connection, and a separate process), with bflow-sized payloads.
// The cluster bench compares routed commands against this figure.
// Run: node --import tsx bench/nats-ceiling.ts [--concurrency 64] [--seconds 5] [--mode both|inproc|process] [--async-traces]
//      (BFLOW_TEST_NATS_URL or --url to pick a server; writes bench/results/nats-ceiling.json)
// The requesting connection runs with nats.js `noAsyncTraces` (no Error captured per request) unless
// --async-traces is given: on this kind of host that setting alone is worth ~1.5-2x in round trips/s.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { encodeJson } from '../src/actors/bus/json-codec.ts';
import type { ShardReply, ShardRequest } from '../src/actors/bus/ports.ts';
import { makeRecord } from '../test/fixtures/transition-records.ts';

export interface CeilingOptions {
  url: string;
  /** Requests in flight at once. */
  concurrency: number;
  /** Measured phase length (after a 1 s warm-up). */
  seconds: number;
  /** Where the echo responder runs. */
  responder: 'inproc' | 'process';
  /** Keep nats.js async stack traces on the requesting connection (its default; costly). @default false */
  asyncTraces?: boolean;
}

export interface CeilingResult {
  responder: 'inproc' | 'process';
  concurrency: number;
  asyncTraces: boolean;
  requestBytes: number;
  replyBytes: number;
  roundTrips: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** A typical command and its reply (a realistic runtime state), encoded as the shard bus sends them. */
export function samplePayloads(): { request: Uint8Array; reply: Uint8Array } {
  const request: ShardRequest = {
    kind: 'command',
    tenant: 't1',
    runtimeId: 'rt-000123',
    idempotencyKey: randomUUID(),
    expectedRevision: 4,
    command: { type: 'approve', actor: 'employee-0042', comment: 'approved, within budget' },
  };
  const reply: ShardReply = { ok: true, state: makeRecord({ id: 'rt-000123', base: 4 }).state };
  return { request: encodeJson(request), reply: encodeJson(reply) };
}

/** Echo responder: answers every request on `subject` with `reply`. */
async function serveEcho(nc: NatsConnection, subject: string, reply: Uint8Array): Promise<void> {
  nc.subscribe(subject, { callback: (_err, msg) => void msg.respond(reply) });
  await nc.flush();
}

async function startChildResponder(url: string, subject: string, replyBytes: number): Promise<ChildProcess> {
  const file = fileURLToPath(import.meta.url);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', file, '--serve', subject, '--url', url, '--reply-bytes', String(replyBytes)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`responder exited with ${code}`)));
    lines.on('line', (line) => line === 'ready' && resolve());
  });
  return child;
}

/** Measures round trips per second with `concurrency` lanes, each sending its next request when the previous reply arrives. */
export async function measureNatsCeiling(o: CeilingOptions): Promise<CeilingResult> {
  const { request, reply } = samplePayloads();
  const subject = `bench.${randomUUID().slice(0, 8)}.echo`;
  const client = await connect({ servers: o.url, name: 'bench-client', noAsyncTraces: !o.asyncTraces });
  let responderNc: NatsConnection | undefined;
  let child: ChildProcess | undefined;
  if (o.responder === 'inproc') {
    responderNc = await connect({ servers: o.url, name: 'bench-responder' });
    await serveEcho(responderNc, subject, reply);
  } else {
    child = await startChildResponder(o.url, subject, reply.length);
  }
  try {
    await lanes(client, subject, request, o.concurrency, 1_000, []);
    const latencies: number[] = [];
    const started = performance.now();
    const roundTrips = await lanes(client, subject, request, o.concurrency, o.seconds * 1_000, latencies);
    const ms = performance.now() - started;
    latencies.sort((a, b) => a - b);
    const pct = (p: number): number =>
      round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN);
    return {
      responder: o.responder,
      concurrency: o.concurrency,
      asyncTraces: o.asyncTraces ?? false,
      requestBytes: request.length,
      replyBytes: reply.length,
      roundTrips,
      perSecond: Math.round((roundTrips / ms) * 1_000),
      p50Ms: pct(0.5),
      p99Ms: pct(0.99),
    };
  } finally {
    await client.close();
    await responderNc?.close();
    child?.kill('SIGTERM');
  }
}

async function lanes(
  nc: NatsConnection,
  subject: string,
  data: Uint8Array,
  count: number,
  ms: number,
  latencies: number[],
): Promise<number> {
  const deadline = performance.now() + ms;
  let done = 0;
  await Promise.all(
    Array.from({ length: count }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await nc.request(subject, data, { timeout: 5_000 });
        latencies.push(performance.now() - t0);
        done += 1;
      }
    }),
  );
  return done;
}

const round = (n: number): number => Math.round(n * 100) / 100;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

async function main(): Promise<void> {
  const url = arg('url', process.env.BFLOW_TEST_NATS_URL ?? 'nats://127.0.0.1:4222');
  const serve = arg('serve', '');
  if (serve) {
    const nc = await connect({ servers: url, name: 'bench-responder-process' });
    await serveEcho(nc, serve, new Uint8Array(Number(arg('reply-bytes', '1000'))).fill(0x20));
    process.stdout.write('ready\n');
    process.once('SIGTERM', () => void nc.close().then(() => process.exit(0)));
    return;
  }
  const concurrency = Number(arg('concurrency', '64'));
  const seconds = Number(arg('seconds', '5'));
  const mode = arg('mode', 'both');
  const asyncTraces = process.argv.includes('--async-traces');
  const responders = mode === 'both' ? (['inproc', 'process'] as const) : ([mode as 'inproc' | 'process'] as const);
  const results: CeilingResult[] = [];
  for (const responder of responders) {
    const r = await measureNatsCeiling({ url, concurrency, seconds, responder, asyncTraces });
    results.push(r);
    console.log(
      `NATS request/reply ceiling, responder ${r.responder.padEnd(7)}: ${r.perSecond.toLocaleString('en')} round trips/s ` +
        `at concurrency ${r.concurrency}${r.asyncTraces ? ' with async traces' : ''} (p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms; request ${r.requestBytes} B, reply ${r.replyBytes} B)`,
    );
  }
  await mkdir('bench/results', { recursive: true });
  const out = {
    bench: 'nats-ceiling',
    at: new Date().toISOString(),
    host: { cpus: os.cpus().length, node: process.version, loadavg: os.loadavg().map(round) },
    url,
    results,
  };
  await writeFile('bench/results/nats-ceiling.json', `${JSON.stringify(out, null, 2)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
