/**
 * bench/cluster-load — the load generator of bench/cluster, run as its own
 * process so its CPU is not the cluster's: a RoutingClient over NatsShardBus
 * with a fixed number of commands in flight, a warm-up, then a measured window.
 *
 * Mode `po` (the cluster): each of `--concurrency` workers drives purchase
 * orders through start → submit (creator) → comment (creator) → approve
 * (manager), one command at a time: a mix of 1/4 each, every one a committed
 * transition. A worker whose command fails starts a new purchase order.
 * Mode `echo` (the ceiling): the same requests (creator comments) to an echo
 * responder (bench/nats-echo.ts) that answers a canned runtime-state reply.
 *
 *   node --import tsx bench/cluster-load.ts --nats URL --cluster NAME [--mode po|echo]
 *     [--shards 64] [--tenant T] [--concurrency 64] [--warmup 3] [--seconds 10] [--timeline]
 *
 * Prints JSON lines on stdout: {"event":"measuring","at":epochMs} when the
 * warm-up ends, then {"event":"result",...} (a LoadReport) at the end.
 * `spawnLoad` runs it from a parent.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ActorError, BusError } from '../src/actors/errors.ts';
import { connectNats } from '../src/actors/nats/connection.ts';
import { NatsShardBus } from '../src/actors/bus/nats-shard-bus.ts';
import type { ShardReply, ShardRequest } from '../src/actors/bus/ports.ts';
import { RoutingClient } from '../src/actors/bus/routing-client.ts';
import { benchDoc } from './http-load.ts';
import {
  announceMeasuring,
  argOf as arg,
  cpuSeconds,
  exitWithParent,
  numberArg as positive,
  reportAndExit,
  spawnReporting,
  summarise,
  type LatencySummary,
  type ReportingChild,
  type WindowReport,
} from './load-process.ts';

export { exitWithParent, summarise, type LatencySummary };

export type LoadMode = 'po' | 'echo';

export interface LoadOptions {
  natsUrl: string;
  /** BFLOW_CLUSTER of the nodes (subject prefix), or the echo responder's prefix. */
  cluster: string;
  mode: LoadMode;
  tenant: string;
  shards: number;
  concurrency: number;
  warmupSeconds: number;
  seconds: number;
  /** Also report every measured command as [sentAt epoch ms, latency ms, ok 0/1, shard]. */
  timeline?: boolean;
}

export interface LoadReport extends WindowReport<LoadMode> {
  /** [sentAt epoch ms, latency ms, ok 0/1, shard] of every command sent in the window (with --timeline). */
  timeline?: [number, number, number, number][];
}

type Kind = 'start' | 'submit' | 'comment' | 'approve';
const KINDS: readonly Kind[] = ['start', 'submit', 'comment', 'approve'];
export const PO_APP = 'purchase.order';

/** The purchase order the workers start: under 10 M VND, so the manager's approval finishes it. */
const poDoc = (n: number): Record<string, unknown> => benchDoc(5_000_000, n);

function requestFor(kind: Kind, tenant: string, runtimeId: string, key: string): ShardRequest {
  switch (kind) {
    case 'start':
      return {
        kind: 'start',
        tenant,
        runtimeId,
        app: PO_APP,
        docId: `doc-${runtimeId}`,
        creator: 'alice',
        doc: poDoc(0),
        idempotencyKey: key,
      };
    case 'submit':
      return { kind: 'command', tenant, runtimeId, command: { type: 'submit', actor: 'alice' }, idempotencyKey: key };
    case 'comment':
      return {
        kind: 'command',
        tenant,
        runtimeId,
        command: { type: 'comment', actor: 'alice', comment: `please hurry (${key})` },
        idempotencyKey: key,
      };
    case 'approve':
      return {
        kind: 'command',
        tenant,
        runtimeId,
        command: { type: 'approve', actor: 'pur-mgr', comment: 'ok' },
        idempotencyKey: key,
      };
  }
}

function errorCode(err: unknown): string {
  if (err instanceof ActorError || err instanceof BusError) return err.code;
  return err instanceof Error ? err.name : 'unknown';
}

async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const nc = await connectNats({ url: o.natsUrl, name: `bflow-bench-load-${process.pid}` });
  const routing = new RoutingClient(new NatsShardBus(nc, { prefix: o.cluster }), {
    shardCount: o.shards,
    tryTimeoutMs: 2000,
    deadlineMs: 15_000,
  });
  const run = randomBytes(3).toString('hex');
  const started = performance.now();
  const windowStart = started + o.warmupSeconds * 1000;
  const windowEnd = windowStart + o.seconds * 1000;
  const latencies: number[] = [];
  const byKind = new Map<Kind, number[]>(KINDS.map((k) => [k, []]));
  const errorCodes: Record<string, number> = {};
  const timeline: [number, number, number, number][] = [];
  let errors = 0;
  let cpuAtStart = 0;
  let seq = 0;

  const measuring = setTimeout(
    () => {
      cpuAtStart = cpuSeconds();
      announceMeasuring();
    },
    Math.max(0, windowStart - performance.now()),
  );

  /** One command; returns whether it was answered ok. */
  const send = async (kind: Kind, runtimeId: string): Promise<boolean> => {
    const request = requestFor(o.mode === 'echo' ? 'comment' : kind, o.tenant, runtimeId, `b-${run}-${++seq}`);
    const sentAt = performance.now();
    let code: string | undefined;
    try {
      const reply: ShardReply = await routing.send(request);
      if (!reply.ok) code = reply.problem.code;
    } catch (err) {
      code = errorCode(err);
    }
    const done = performance.now();
    const latency = done - sentAt;
    if (code !== undefined) errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    if (done >= windowStart && done < windowEnd) {
      if (code === undefined) {
        latencies.push(latency);
        byKind.get(kind)!.push(latency);
      } else errors++;
    }
    if (o.timeline && sentAt >= windowStart && sentAt < windowEnd) {
      timeline.push([
        Math.round(performance.timeOrigin + sentAt),
        Math.round(latency * 10) / 10,
        code === undefined ? 1 : 0,
        routing.shardFor(runtimeId),
      ]);
    }
    return code === undefined;
  };

  await Promise.all(
    Array.from({ length: o.concurrency }, async (_, w) => {
      for (let po = 0; performance.now() < windowEnd; po++) {
        const runtimeId = `b-${run}-w${w}-${po}`;
        for (const kind of o.mode === 'echo' ? (['comment'] as const) : KINDS) {
          if (performance.now() >= windowEnd) break;
          if (!(await send(kind, runtimeId))) break; // state unknown: start a new purchase order
        }
      }
    }),
  );
  clearTimeout(measuring);
  const cpu = cpuSeconds() - cpuAtStart;
  await nc.drain();
  const windowMs = o.seconds * 1000;
  const report: LoadReport = {
    mode: o.mode,
    concurrency: o.concurrency,
    windowMs,
    ok: latencies.length,
    errors,
    commandsPerSecond: latencies.length / o.seconds,
    latencyMs: summarise(latencies),
    byKind: Object.fromEntries([...byKind].filter(([, l]) => l.length > 0).map(([k, l]) => [k, summarise(l)])),
    errorCodes,
    loadCpuSeconds: cpu,
  };
  if (o.timeline) report.timeline = timeline;
  return report;
}

// ── parent side ──────────────────────────────────────────────────────────────

export type LoadProcess = ReportingChild<LoadReport>;

/** Starts the load generator as a child process (stderr passes through). Kill `child` to stop it early. */
export function spawnLoad(o: LoadOptions): LoadProcess {
  return spawnReporting<LoadReport>(fileURLToPath(import.meta.url), undefined, [
    '--nats',
    o.natsUrl,
    '--cluster',
    o.cluster,
    '--mode',
    o.mode,
    '--tenant',
    o.tenant,
    '--shards',
    String(o.shards),
    '--concurrency',
    String(o.concurrency),
    '--warmup',
    String(o.warmupSeconds),
    '--seconds',
    String(o.seconds),
    ...(o.timeline ? ['--timeline'] : []),
  ]);
}

// ── child side ───────────────────────────────────────────────────────────────

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  exitWithParent();
  const mode = arg('mode', 'po');
  if (mode !== 'po' && mode !== 'echo') throw new Error(`--mode must be po or echo, got ${mode}`);
  const report = await runLoad({
    natsUrl: arg('nats'),
    cluster: arg('cluster'),
    mode,
    tenant: arg('tenant', 't-bench'),
    shards: positive('shards', 64),
    concurrency: positive('concurrency', 64),
    warmupSeconds: positive('warmup', 3),
    seconds: positive('seconds', 10),
    timeline: process.argv.includes('--timeline'),
  });
  reportAndExit(report);
}
