/**
 * bench/cluster — commands per second through 1, 2 and 3 `bflow node`
 * processes on this machine (each phase on a fresh database and cluster name),
 * the failover time when one of 3 nodes is SIGKILLed under load, and the NATS
 * request/reply ceiling measured in the same run (bench/nats-echo.ts).
 *
 * Load comes from a separate process (bench/cluster-load.ts): a RoutingClient
 * over NatsShardBus keeping `--concurrency` commands in flight, a mix of
 * start / submit / creator comment / manager approve, 1/4 each, every one
 * committed in MySQL before it is answered.
 *
 *   node --import tsx bench/cluster.ts [--seconds 10] [--concurrency 64]
 *
 * Nodes run with 64 shards and a 3 s lease TTL (as test/cluster does); every
 * process started here is SIGKILLed on the way out, error or not.
 */
import { loadavg } from 'node:os';
import { ClusterHarness, LEASE_TTL_MS, SHARDS, TENANT, type NodeProcess } from '../test/cluster/cluster-harness.ts';
import { testNatsUrl } from '../test/harness/nats-server.ts';
import { spawnLoad, type LatencySummary, type LoadReport } from './cluster-load.ts';
import { measureNatsCeiling as measureRawNatsCeiling } from './nats-ceiling.ts';
import { measureNatsCeiling, type CeilingReport } from './nats-echo.ts';
import { cpuOf } from './process-stats.ts';
import { cleanUpOnInterrupt, reapAll, reaped } from './reaper.ts';
import { intArg, printTable, secondsArg, writeResult } from './report.ts';

const seconds = secondsArg(10);
const concurrency = intArg('--concurrency', 64);
const WARMUP_S = 3;
const FAILOVER_LOAD_S = 16;
const KILL_AFTER_S = 3;
/** Failover goal: the dead node's shards are served again within the lease TTL + 2 s (the cluster test's bound). */
const FAILOVER_GOAL_MS = LEASE_TTL_MS + 2000;
/** Scaling goal: 3 nodes on this 2-core machine do no worse than 1 (they share the same cores, MySQL and NATS). */
const SCALE_GOAL = 0.9;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(x < 10 ? 1 : 0)} ms` : 'n/a');
const lat = (l: LatencySummary) => `p50 ${ms(l.p50)}  p95 ${ms(l.p95)}  p99 ${ms(l.p99)}  max ${ms(l.max)}`;
const codes = (c: Record<string, number>) =>
  Object.entries(c)
    .map(([k, n]) => `${k}×${n}`)
    .join(', ') || 'none';

async function withCluster<T>(
  label: string,
  nodes: number,
  body: (h: ClusterHarness, nodes: NodeProcess[]) => Promise<T>,
): Promise<T> {
  const h = await ClusterHarness.create(label);
  const unregister = cleanUpOnInterrupt(() => h.cleanup());
  try {
    const started = Array.from({ length: nodes }, (_, i) => h.startNode(`${label}-n${i + 1}`));
    for (const n of started) reaped(n.child);
    await h.waitBalanced(60_000);
    return await body(h, started);
  } finally {
    unregister();
    await h.cleanup().catch((err: unknown) => console.error(`cleanup of ${label} failed:`, err));
  }
}

function load(h: ClusterHarness, o: { seconds: number; timeline?: boolean }) {
  const p = spawnLoad({
    natsUrl: h.nats.url,
    cluster: h.cluster,
    mode: 'po',
    tenant: TENANT,
    shards: SHARDS,
    concurrency,
    warmupSeconds: WARMUP_S,
    seconds: o.seconds,
    timeline: o.timeline ?? false,
  });
  reaped(p.child);
  return p;
}

interface Phase {
  nodes: number;
  report: LoadReport;
  /** CPU seconds per second of the nodes (together) over the window: 2.0 = both cores. */
  nodeCores: number;
  loadCores: number;
}

async function throughputPhase(n: number): Promise<Phase> {
  return withCluster(`bench_c${n}`, n, async (_h, nodes) => {
    const p = load(_h, { seconds });
    await p.measuring;
    const cpu0 = nodes.reduce((s, x) => s + cpuOf(x.child.pid), 0);
    await sleep(seconds * 1000);
    const cpu1 = nodes.reduce((s, x) => s + cpuOf(x.child.pid), 0);
    const report = await p.result;
    const phase = { nodes: n, report, nodeCores: (cpu1 - cpu0) / seconds, loadCores: report.loadCpuSeconds / seconds };
    console.log(
      `  ${n} node${n > 1 ? 's' : ' '}: ${Math.round(report.commandsPerSecond).toLocaleString()} commands/s, ${lat(report.latencyMs)}, errors ${report.errors} (${codes(report.errorCodes)}); nodes use ${phase.nodeCores.toFixed(2)} cores, load ${phase.loadCores.toFixed(2)}`,
    );
    return phase;
  });
}

interface Failover {
  victim: string;
  shards: number;
  /** SIGKILL → every one of its shards acquired by a survivor (from the nodes' log lines). */
  failoverMs: number;
  /** Longest latency of a command in flight at any time between the kill and the re-serve. */
  stallMs: number;
  /** Commands to the dead node's shards in flight during the window, and the longest of them. */
  orphanedCommands: number;
  orphanedStallMs: number;
  errorsInWindow: number;
  report: LoadReport;
  /** Commands answered per 500 ms around the kill (t = 0 at the kill). */
  answeredPer500ms: { t: number; ok: number; errors: number }[];
  reServedBy: Record<string, number>;
}

async function failoverPhase(): Promise<Failover> {
  return withCluster('bench_fo', 3, async (h, nodes) => {
    const p = load(h, { seconds: FAILOVER_LOAD_S, timeline: true });
    await p.measuring;
    await sleep(KILL_AFTER_S * 1000);
    const victim = nodes[0]!;
    const survivors = nodes.slice(1);
    const orphaned = [...victim.held];
    const killedAt = Date.now();
    victim.signal('SIGKILL');
    let reServedAt = NaN;
    const deadline = killedAt + (FAILOVER_LOAD_S - KILL_AFTER_S - 1) * 1000;
    while (Date.now() < deadline) {
      if (orphaned.every((s) => survivors.some((n) => n.held.has(s)))) {
        reServedAt = Date.now();
        break;
      }
      await sleep(10);
    }
    const report = await p.result;
    const timeline = report.timeline ?? [];
    delete report.timeline; // kept out of the JSON result: tens of thousands of rows
    const until = Number.isFinite(reServedAt) ? reServedAt : deadline;
    const overlapping = timeline.filter(([sentAt, latency]) => sentAt <= until && sentAt + latency >= killedAt);
    const orphanedSet = new Set(orphaned);
    const toOrphans = overlapping.filter(([, , , shard]) => orphanedSet.has(shard));
    const answeredPer500ms: Failover['answeredPer500ms'] = [];
    for (let t = -2000; t < until - killedAt + 3000; t += 500) {
      const inBucket = timeline.filter(
        ([sentAt, latency]) => sentAt + latency >= killedAt + t && sentAt + latency < killedAt + t + 500,
      );
      answeredPer500ms.push({
        t,
        ok: inBucket.filter((x) => x[2] === 1).length,
        errors: inBucket.filter((x) => x[2] === 0).length,
      });
    }
    const reServedBy = Object.fromEntries(survivors.map((n) => [n.id, orphaned.filter((s) => n.held.has(s)).length]));
    return {
      victim: victim.id,
      shards: orphaned.length,
      failoverMs: reServedAt - killedAt,
      stallMs: Math.max(0, ...overlapping.map(([, latency]) => latency)),
      orphanedCommands: toOrphans.length,
      orphanedStallMs: Math.max(0, ...toOrphans.map(([, latency]) => latency)),
      errorsInWindow: overlapping.filter((x) => x[2] === 0).length,
      report,
      answeredPer500ms,
      reServedBy,
    };
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(
    `bench/cluster: ${concurrency} commands in flight, ${WARMUP_S} s warm-up + ${seconds} s per phase, ${SHARDS} shards, lease TTL ${LEASE_TTL_MS} ms`,
  );
  const natsUrl = await testNatsUrl();
  console.log('NATS request/reply ceiling (echo responder process, canned reply)…');
  const ceiling: CeilingReport = await measureNatsCeiling({
    natsUrl,
    concurrency,
    warmupSeconds: WARMUP_S,
    seconds,
    shards: SHARDS,
  });
  console.log(
    `  ${Math.round(ceiling.commandsPerSecond).toLocaleString()} requests/s, ${lat(ceiling.latencyMs)}, reply ${ceiling.replyBytes} B, load ${(ceiling.loadCpuSeconds / seconds).toFixed(2)} cores`,
  );
  // bench/nats-ceiling's raw figure (plain nc.request from this process, no RoutingClient), for reference.
  const raw = await measureRawNatsCeiling({
    url: natsUrl,
    concurrency,
    seconds: Math.min(seconds, 5),
    responder: 'process',
  });
  console.log(
    `  raw nc.request (bench/nats-ceiling): ${raw.perSecond.toLocaleString()} requests/s, p50 ${raw.p50Ms} ms, p99 ${raw.p99Ms} ms`,
  );
  const phases: Phase[] = [];
  for (const n of [1, 2, 3]) {
    console.log(`cluster of ${n}…`);
    phases.push(await throughputPhase(n));
  }
  console.log('failover: 3 nodes under load, SIGKILL one…');
  const fo = await failoverPhase();
  console.log(
    `  ${fo.victim} (${fo.shards} shards) killed; re-served in ${ms(fo.failoverMs)} by ${codes(fo.reServedBy)}; longest command in the window ${ms(fo.stallMs)}`,
  );

  const pct = (x: number) => `${((x / ceiling.commandsPerSecond) * 100).toFixed(0)}% of ceiling`;
  const one = phases[0]!.report.commandsPerSecond;
  const three = phases[2]!.report.commandsPerSecond;
  const totalErrors = phases.reduce((s, p) => s + p.report.errors, 0);
  const failoverPass = Number.isFinite(fo.failoverMs) && fo.failoverMs <= FAILOVER_GOAL_MS;
  printTable(
    `bench/cluster (${concurrency} in flight, ${seconds} s windows; mix start/submit/comment/approve 1:1:1:1, all durable)`,
    [
      [
        'NATS request/reply, echo responder (ceiling)',
        `${Math.round(ceiling.commandsPerSecond).toLocaleString()} req/s`,
        lat(ceiling.latencyMs),
        'RoutingClient over NatsShardBus, load process',
      ],
      [
        'raw nc.request, echo (bench/nats-ceiling)',
        `${raw.perSecond.toLocaleString()} req/s`,
        `p50 ${raw.p50Ms} ms  p99 ${raw.p99Ms} ms`,
        'reference: no routing client, no async traces',
      ],
      ...phases.map((p) => [
        `${p.nodes} bflow node${p.nodes > 1 ? 's' : ''}`,
        `${Math.round(p.report.commandsPerSecond).toLocaleString()} cmd/s`,
        lat(p.report.latencyMs),
        `${pct(p.report.commandsPerSecond)}; errors ${p.report.errors}; node CPU ${p.nodeCores.toFixed(2)} cores`,
      ]),
      [
        '3 nodes vs 1',
        `${(three / one).toFixed(2)}×`,
        '',
        `goal ≥ ${SCALE_GOAL}× on 2 shared cores: ${three / one >= SCALE_GOAL ? 'PASS' : 'FAIL'}`,
      ],
      ['errors over the three phases', String(totalErrors), '', `goal 0: ${totalErrors === 0 ? 'PASS' : 'FAIL'}`],
      [
        `failover: SIGKILL 1 of 3 (${fo.shards} shards)`,
        ms(fo.failoverMs),
        'kill → all its shards acquired again',
        `goal ≤ TTL + 2 s = ${FAILOVER_GOAL_MS} ms: ${failoverPass ? 'PASS' : 'FAIL'}`,
      ],
      [
        'stall during failover',
        ms(fo.stallMs),
        `max latency of commands in flight during it (${fo.orphanedCommands} to its shards)`,
        `errors ${fo.errorsInWindow}: ${fo.errorsInWindow === 0 ? 'PASS' : 'FAIL'}`,
      ],
      [
        'failover run overall',
        `${Math.round(fo.report.commandsPerSecond).toLocaleString()} cmd/s`,
        lat(fo.report.latencyMs),
        `errors ${fo.report.errors} (${codes(fo.report.errorCodes)})`,
      ],
    ],
  );
  console.log(
    `\n  answered per 500 ms around the kill (t = 0): ${fo.answeredPer500ms.map((b) => `${b.t / 1000}s:${b.ok}${b.errors ? `/${b.errors}err` : ''}`).join(' ')}`,
  );
  console.log(
    `  whole run ${((performance.now() - started) / 1000).toFixed(0)} s; machine load average now ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} (shared: other work lowers every figure, the ceiling included)`,
  );
  writeResult('cluster', {
    seconds,
    warmupSeconds: WARMUP_S,
    concurrency,
    loadAverage: loadavg(),
    shards: SHARDS,
    leaseTtlMs: LEASE_TTL_MS,
    mix: 'start/submit/comment(creator)/approve(manager) 1:1:1:1',
    ceiling,
    rawNatsCeiling: raw,
    phases,
    scale3over1: three / one,
    failover: fo,
    goals: { failoverMs: FAILOVER_GOAL_MS, scale3over1: SCALE_GOAL, errors: 0 },
    pass: {
      failover: failoverPass,
      scale: three / one >= SCALE_GOAL,
      errors: totalErrors === 0,
      failoverErrors: fo.errorsInWindow === 0,
    },
  });
}

try {
  await main();
} finally {
  reapAll();
}
