/**
 * bench/http — end-to-end benchmarks over HTTP (issue 6): a `bflow gateway` and
 * `--nodes` `bflow node` processes on this machine's MariaDB, Redis and NATS,
 * loaded from a separate process (bench/http-load.ts) over keep-alive HTTP.
 * (`approve`, all three systems in one run on a private MariaDB, is bench/approve.ts.)
 *
 *   node --import tsx bench/http.ts <mixed|batch|scale> [--seconds 10] [--warmup 10]
 *     [--concurrency 64] [--nodes 1] [--tenants 200] [--no-ceilings] [--no-baseline] [--cpu-prof DIR]
 *
 * - mixed: 3 inbox reads : 2 runtime views : 1 command.
 * - batch: POST /api/v1/actions/batch, 100 comments per request (concurrency default 8).
 * - scale: purchase orders started and driven to `approved` (5 durable commands
 *   each) with 1, 2 and 3 nodes, beside the ceilings — Hono hello-world POST
 *   (bench/hello-server.ts), NATS request/reply (bench/nats-echo.ts), MySQL
 *   single-row commits and multi-row inserts (bench/store.ts), each at the same
 *   concurrency — and the plain baseline (bench/baseline/server.ts) with the same
 *   load driver and flow.
 *
 * `--cpu-prof DIR` runs the nodes and the gateway with --cpu-prof (profiles
 * written to DIR when they stop).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg } from 'node:os';
import { useTestDatabase } from '../test/harness/mysql.ts';
import { testNatsUrl } from '../test/harness/nats-server.ts';
import { startBenchStack, BENCH_SHARDS, type BenchStack } from './bflow-stack.ts';
import type { HttpMode } from './http-load.ts';
import {
  codes,
  lat,
  measureServer,
  measureStack,
  ms,
  passFail,
  rate,
  usageLine,
  type Measured,
  type ReadKind,
} from './measure.ts';
import { measureNatsCeiling, type CeilingReport } from './nats-echo.ts';
import { cleanUpOnInterrupt, reapAll, reaped } from './reaper.ts';
import { intArg, printTable, secondsArg, stringArg, writeResult } from './report.ts';
import { startServerProcess } from './server-process.ts';
import { measureMySqlCeilings, type MySqlCeilings } from './store.ts';

type Scenario = 'mixed' | 'batch' | 'scale';
const SCENARIOS: readonly Scenario[] = ['mixed', 'batch', 'scale'];

const TARGET_RATE = 5000;
const TARGET_P99_MS = 50;
const TARGET_BASELINE_FACTOR = 3;
const TARGET_NATS_SHARE = 0.5;
const TARGET_TX_PER_COMMAND = 1;

/** Reads per command by kind (bench/measure.ts ReadKind). */
function readsNote(k: Record<ReadKind, number>): string {
  return `reads: ${k.runtime.toFixed(3)} runtime, ${k.start.toFixed(3)} start checks, ${k.cache.toFixed(3)} cache loads, ${k.background.toFixed(3)} background`;
}

export interface Ceilings {
  hello: Awaited<ReturnType<typeof measureServer>>;
  nats: CeilingReport;
  mysql: MySqlCeilings;
}

const HELLO = fileURLToPath(new URL('./hello-server.ts', import.meta.url));
const BASELINE = fileURLToPath(new URL('./baseline/server.ts', import.meta.url));

async function ceilings(concurrency: number, seconds: number, warmupSeconds: number): Promise<Ceilings> {
  console.log('ceiling: Hono hello-world POST…');
  const server = await startServerProcess(HELLO);
  reaped(server.child);
  let hello;
  try {
    hello = await measureServer(server.url, server.child.pid, 'hello server', {
      mode: 'hello',
      secret: 'x'.repeat(32),
      tenantPrefix: 't',
      tenants: 1,
      concurrency,
      warmupSeconds,
      seconds,
    });
  } finally {
    server.child.kill('SIGKILL');
  }
  console.log(`  ${rate(hello.load.requestsPerSecond)} req/s, ${lat(hello.load.latencyMs)}; ${usageLine(hello.usage)}`);
  console.log('ceiling: NATS request/reply (echo responder process)…');
  const nats = await measureNatsCeiling({
    natsUrl: await testNatsUrl(),
    concurrency,
    warmupSeconds,
    seconds,
    shards: BENCH_SHARDS,
  });
  console.log(`  ${rate(nats.commandsPerSecond)} req/s, ${lat(nats.latencyMs)}, reply ${nats.replyBytes} B`);
  console.log('ceiling: MySQL single-row commits and multi-row inserts…');
  const mysql = await measureMySqlCeilings({ seconds: Math.min(seconds, 5), concurrency });
  console.log(
    `  single-row autocommit ${rate(mysql.singleRowCommitsPerSec)} commits/s at ${concurrency}; multi-row ×256 ${rate(mysql.multiRowRowsPerSec)} rows/s`,
  );
  return { hello, nats, mysql };
}

async function baseline(concurrency: number, seconds: number, warmupSeconds: number, tenants: number) {
  console.log('baseline: Hono + one MySQL transaction per command (SELECT … FOR UPDATE, UPDATE, INSERT log)…');
  const db = await useTestDatabase('bench_baseline', { migrate: false });
  const unregister = cleanUpOnInterrupt(() => db.drop());
  try {
    const server = await startServerProcess(BASELINE, ['--mysql', db.url]);
    reaped(server.child);
    try {
      const m = await measureServer(server.url, server.child.pid, 'baseline server', {
        mode: 'approve',
        secret: 'x'.repeat(32),
        tenantPrefix: 't-b',
        tenants,
        concurrency,
        warmupSeconds,
        seconds,
      });
      console.log(
        `  ${rate(m.load.commandsPerSecond)} commands/s, ${lat(m.load.latencyMs)}, errors ${m.load.errors} (${codes(m.load.errorCodes)}); ${usageLine(m.usage)}`,
      );
      return m;
    } finally {
      server.child.kill('SIGKILL');
    }
  } finally {
    unregister();
    await db.drop();
  }
}

async function withStack<T>(
  name: string,
  nodes: number,
  tenants: number,
  body: (s: BenchStack) => Promise<T>,
): Promise<T> {
  const profDir = stringArg('--cpu-prof');
  const prof = profDir ? ['--cpu-prof', `--cpu-prof-dir=${resolve(profDir)}`] : [];
  const stack = await startBenchStack({ name, nodes, tenants, nodeArgs: prof, gatewayArgs: prof });
  try {
    return await body(stack);
  } finally {
    await stack.stop().catch((err: unknown) => console.error(`stopping the ${name} stack failed:`, err));
  }
}

function describe(label: string, m: Measured): string {
  const l = m.load;
  return `${label}: ${rate(l.commandsPerSecond)} commands/s (${rate(l.requestsPerSecond)} req/s), ${lat(l.latencyMs)}, errors ${l.errors} (${codes(l.errorCodes)})`;
}

function usageRows(m: { usage: Measured['usage'] }): string[][] {
  return m.usage.map((u) => [
    `  ${u.name}`,
    Number.isFinite(u.cores) ? `${u.cores.toFixed(2)} cores` : 'n/a',
    `RSS ${u.rssMiB.toFixed(0)} MiB (peak ${u.peakRssMiB.toFixed(0)})`,
    '',
  ]);
}

async function main(): Promise<void> {
  const scenario = process.argv[2] as Scenario;
  if (!SCENARIOS.includes(scenario)) throw new Error(`usage: bench/http.ts <${SCENARIOS.join('|')}> [options]`);
  const seconds = secondsArg(10);
  // 10 s: with 3 s, the first uses of 200 tenants' caches on each node and the JIT's warm-up fell in the window (scale: 607/355/256 → 874/579/403 cmd/s for 1/2/3 nodes with 12 s).
  const warmupSeconds = intArg('--warmup', 10);
  const concurrency = intArg('--concurrency', scenario === 'batch' ? 8 : 64);
  const tenants = intArg('--tenants', 200);
  const nodes = intArg('--nodes', 1);
  const withCeilings = !process.argv.includes('--no-ceilings') && scenario === 'scale';
  const withBaseline = !process.argv.includes('--no-baseline') && scenario === 'scale';
  const started = performance.now();
  console.log(
    `bench/http ${scenario}: ${concurrency} in flight, ${warmupSeconds} s warm-up + ${seconds} s measured, ${tenants} tenants, ${BENCH_SHARDS} shards; ${cpus().length} cores, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );

  const ceiling = withCeilings ? await ceilings(concurrency, seconds, warmupSeconds) : undefined;
  const base = withBaseline ? await baseline(concurrency, seconds, warmupSeconds, tenants) : undefined;
  const mode: HttpMode = scenario === 'scale' ? 'approve' : scenario;
  const runs: { nodes: number; m: Measured }[] = [];
  for (const n of scenario === 'scale' ? [1, 2, 3] : [nodes]) {
    console.log(`bflow: gateway + ${n} node${n > 1 ? 's' : ''}, ${mode}…`);
    const m = await withStack(`${scenario}${n}`, n, tenants, (stack) =>
      measureStack(stack, { mode, tenants, concurrency, warmupSeconds, seconds }),
    );
    console.log(`  ${describe(`${n} node${n > 1 ? 's' : ''}`, m)}`);
    console.log(`  ${usageLine(m.usage)}`);
    console.log(
      `  MySQL per command: ${m.mysql.perCommand.statements.toFixed(2)} statements, ${m.mysql.perCommand.transactions.toFixed(3)} transactions, ${readsNote(m.mysql.perCommand.readsByKind)}; writer: ${(m.mysql.writerRecords / m.mysql.writerBatches).toFixed(1)} transitions per group commit, ${ms(m.mysql.writerCommitMs)} per commit`,
    );
    runs.push({ nodes: n, m });
  }

  const best = runs.reduce((a, b) => (b.m.load.commandsPerSecond > a.m.load.commandsPerSecond ? b : a));
  const bf = best.m.load;
  const rows: string[][] = [];
  if (ceiling) {
    rows.push([
      'Hono hello-world POST (ceiling)',
      `${rate(ceiling.hello.load.requestsPerSecond)} req/s`,
      lat(ceiling.hello.load.latencyMs),
      `same driver, ${concurrency} in flight`,
    ]);
    rows.push([
      'NATS request/reply, echo process (ceiling)',
      `${rate(ceiling.nats.commandsPerSecond)} req/s`,
      lat(ceiling.nats.latencyMs),
      `reply ${ceiling.nats.replyBytes} B`,
    ]);
    rows.push([
      'MySQL single-row autocommit (ceiling)',
      `${rate(ceiling.mysql.singleRowCommitsPerSec)} commits/s`,
      '',
      `${concurrency} connections`,
    ]);
    rows.push([
      'MySQL multi-row INSERT ×256 (ceiling)',
      `${rate(ceiling.mysql.multiRowRowsPerSec)} rows/s`,
      '',
      `${rate(ceiling.mysql.multiRowCommitsPerSec)} commits/s, 4 connections`,
    ]);
  }
  if (base) {
    rows.push([
      'baseline: Hono + FOR UPDATE transaction',
      `${rate(base.load.commandsPerSecond)} cmd/s`,
      lat(base.load.latencyMs),
      `errors ${base.load.errors}`,
    ]);
    rows.push(...usageRows(base));
  }
  for (const r of runs) {
    const l = r.m.load;
    const what = scenario === 'batch' ? 'actions/s' : 'cmd/s';
    rows.push([
      `bflow ${mode}, ${r.nodes} node${r.nodes > 1 ? 's' : ''}`,
      `${rate(l.commandsPerSecond)} ${what}`,
      lat(l.latencyMs),
      `${rate(l.requestsPerSecond)} req/s; errors ${l.errors} (${codes(l.errorCodes)})`,
    ]);
    for (const [kind, s] of Object.entries(l.byKind))
      rows.push([`  ${kind}`, `${rate(s.count / seconds)}/s`, lat(s), `max ${ms(s.max)}`]);
    rows.push(...usageRows(r.m));
    rows.push([
      `  MySQL per ${scenario === 'batch' ? 'action' : 'command'}`,
      `${r.m.mysql.perCommand.transactions.toFixed(3)} tx`,
      `${r.m.mysql.perCommand.reads.toFixed(3)} reads`,
      `${readsNote(r.m.mysql.perCommand.readsByKind)}; ${r.m.mysql.perCommand.statements.toFixed(2)} statements`,
    ]);
    rows.push([
      '  group commit',
      `${(r.m.mysql.writerRecords / r.m.mysql.writerBatches).toFixed(1)} per commit`,
      `${ms(r.m.mysql.writerCommitMs)} mean`,
      `${rate(r.m.mysql.writerBatches / seconds)} commits/s`,
    ]);
  }

  const targets: Record<string, { value: string; goal: string; pass: boolean }> = {};
  if (mode === 'approve') {
    targets.rate = {
      value: `${rate(bf.commandsPerSecond)} cmd/s`,
      goal: `≥ ${rate(TARGET_RATE)} durable commands/s`,
      pass: bf.commandsPerSecond >= TARGET_RATE,
    };
    targets.p99 = {
      value: ms(bf.latencyMs.p99),
      goal: `p99 ≤ ${TARGET_P99_MS} ms at ≥ ${rate(TARGET_RATE)}/s`,
      pass: bf.latencyMs.p99 <= TARGET_P99_MS && bf.commandsPerSecond >= TARGET_RATE,
    };
    if (base) {
      const factor = bf.commandsPerSecond / base.load.commandsPerSecond;
      targets.baseline = {
        value: `${factor.toFixed(2)}× (p99 ${ms(bf.latencyMs.p99)} vs ${ms(base.load.latencyMs.p99)})`,
        goal: `≥ ${TARGET_BASELINE_FACTOR}× baseline at ≤ its p99`,
        pass: factor >= TARGET_BASELINE_FACTOR && bf.latencyMs.p99 <= base.load.latencyMs.p99,
      };
    }
    if (ceiling) {
      const share = bf.commandsPerSecond / ceiling.nats.commandsPerSecond;
      targets.nats = {
        value: `${(share * 100).toFixed(0)}%`,
        goal: `≥ ${TARGET_NATS_SHARE * 100}% of the NATS request/reply ceiling`,
        pass: share >= TARGET_NATS_SHARE,
      };
    }
  }
  const mysqlUse = best.m.mysql.perCommand;
  targets.transactions = {
    value: mysqlUse.transactions.toFixed(3),
    goal: `≤ ${TARGET_TX_PER_COMMAND} MySQL transaction per command`,
    pass: mysqlUse.transactions <= TARGET_TX_PER_COMMAND,
  };
  if (mode !== 'mixed') {
    const runtimeReads = mysqlUse.readsByKind.runtime;
    targets.reads = {
      value: `${runtimeReads.toFixed(3)} (all reads ${mysqlUse.reads.toFixed(3)})`,
      goal: '0 MySQL reads per command (active runtime)',
      pass: runtimeReads === 0,
    };
  }
  for (const [, t] of Object.entries(targets)) rows.push([`target: ${t.goal}`, t.value, '', passFail(t.pass)]);

  printTable(
    `bench/http ${scenario} (${concurrency} in flight, ${seconds} s windows, load average ${loadavg()[0]!.toFixed(1)})`,
    [['', 'throughput', 'latency', 'notes'], ...rows],
  );
  console.log(`\n  MySQL reads during the best run, by process and table: ${codes(best.m.mysql.reads)}`);
  const trips = Object.entries(best.m.mysql.roundTrips)
    .sort((a, b) => b[1].count * b[1].meanMs - a[1].count * a[1].meanMs)
    .slice(0, 10);
  console.log(
    `  MySQL round trips (sent → answered, as the process saw them; includes its own event-loop lag): ${trips.map(([k, t]) => `${k} ×${t.count} ${ms(t.meanMs)}`).join(', ')}; pool waits ${best.m.mysql.poolWaits}`,
  );
  console.log(
    `  event-loop lag at the end of the window: ${Object.entries(best.m.eventLoopLag)
      .map(([k, l]) => `${k} p50 ${ms(l.p50)} p99 ${ms(l.p99)}`)
      .join('; ')}`,
  );
  console.log(
    "  MySQL counts: statements each bflow process sent (bflow_mysql_* counters of src/store/mysql/statement-metrics.ts, on with BFLOW_MYSQL_STATEMENT_METRICS=true, on each process's /metrics), window deltas; transactions = START TRANSACTION + autocommit writes.",
  );
  console.log(`  whole run ${((performance.now() - started) / 1000).toFixed(0)} s`);
  writeResult(scenario, {
    scenario,
    seconds,
    warmupSeconds,
    concurrency,
    tenants,
    cores: cpus().length,
    loadAverage: loadavg(),
    ceilings: ceiling,
    baseline: base,
    runs,
    targets,
  });
}

try {
  await main();
} finally {
  reapAll();
}
