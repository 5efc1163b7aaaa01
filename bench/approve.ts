/**
 * bench/approve — `npm run bench -- approve`: the approve path measured on
 * three systems, one after the other, in one run, on the bench's own private
 * MariaDB (bench/bench-mariadb.ts) and the machine's Redis and NATS:
 *
 * - the CRUD baseline (bench/baseline/server.ts: SELECT … FOR UPDATE, UPDATE,
 *   INSERT per command);
 * - bflow split: one `bflow gateway` and one `bflow node` process;
 * - bflow co-located: one `bflow all` process on the same cluster services;
 * - bflow co-located with encryption at rest off (BFLOW_ENCRYPTION=off), run just before the co-located one and
 *   again just after it: the cost of encryption (docs/security.md) is the co-located run's against their mean.
 *
 * Each is started fresh and loaded by bench/http-load.ts: `--concurrency`
 * clients driving purchase orders start → submit → approve ×3 (five commands,
 * each answered once durable). For each it prints durable commands/s, p50/p99,
 * MariaDB CPU µs, statements and transactions per command, the read model's
 * (inbox) lag p99, and the warm-up (time to 90% of the steady rate, from the
 * first request); the CPU every process on the machine spent per command, and
 * the rate that allows on its cores (bench/cpu-budget.ts: what bounds the
 * throughput targets); then PASS/FAIL per target. The first `--warmup` seconds are
 * excluded from every figure except the warm-up itself.
 *
 *   node --import tsx bench/approve.ts [--seconds 15] [--warmup 8] [--concurrency 64] [--tenants 200]
 *     [--lag-observers 4] [--systems baseline,split,colocated] [--cpu-prof DIR]
 */
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testServerUrl, useTestDatabase } from '../test/harness/mysql.ts';
import { testNatsUrl } from '../test/harness/nats-server.ts';
import { type BenchMariaDb, perCommand, startBenchMariaDb } from './bench-mariadb.ts';
import { BENCH_SHARDS, NO_RATE_LIMIT, startBenchStack } from './bflow-stack.ts';
import { spawnHttpLoad } from './http-load.ts';
import { codes, fixLoadRow, lat, ms, passFail, rate, sleep, usageLine } from './measure.ts';
import { type Samples, scrape, sumOf } from './metrics-scrape.ts';
import { machineBusySeconds, type ProcessUsage, servicePids, UsageWindow } from './process-stats.ts';
import { allowedMicros, BUDGET_PARTS, cpuBudget } from './cpu-budget.ts';
import { reapAll, reaped } from './reaper.ts';
import { intArg, printTable, secondsArg, stringArg, writeResult } from './report.ts';
import { startServerProcess } from './server-process.ts';
import {
  TARGETS,
  approveTargets,
  type SystemName,
  type SystemRun,
  type WriterWindow,
  fixed,
  micros,
  seconds,
} from './approve-targets.ts';
import { TIMELINE_BUCKET_MS, warmUpSeconds } from './warm-up.ts';
import { measureEncryptionCost } from './encryption-cost.ts';

const SYSTEMS: readonly SystemName[] = [
  'baseline',
  'split',
  'colocated-plain',
  'colocated',
  'colocated-plain-after',
  'colocated-2',
];
/** Run when --systems does not say: colocated-2 only on request (it adds a minute). */
const DEFAULT_SYSTEMS = SYSTEMS.filter((s) => s !== 'colocated-2');
const LABEL: Record<SystemName, string> = {
  baseline: 'CRUD baseline (FOR UPDATE transaction)',
  split: 'bflow split (1 gateway + 1 node)',
  'colocated-plain': 'bflow co-located, encryption off',
  'colocated-plain-after': 'bflow co-located, encryption off (again)',
  colocated: 'bflow co-located (bflow all)',
  'colocated-2': 'bflow co-located, 2 processes (requests spread)',
};

/** Each bflow system's database and cluster name (`appr_<name>`). */
const DB_NAME: Record<Exclude<SystemName, 'baseline'>, string> = {
  split: 'split',
  colocated: 'coloc',
  'colocated-plain': 'plain',
  'colocated-plain-after': 'plain2',
  'colocated-2': 'colo2',
};

const BASELINE = fileURLToPath(new URL('./baseline/server.ts', import.meta.url));
const TENANT_PREFIX = 't-b';

interface Options {
  seconds: number;
  warmupSeconds: number;
  concurrency: number;
  tenants: number;
  lagObservers: number;
  cpuProf: string[];
}

type Outcome = SystemRun | { system: SystemName; label: string; failed: string };
const failed = (o: Outcome): o is Extract<Outcome, { failed: string }> => 'failed' in o;

/** Loads the system at `url` and measures the window: the load's report, CPU/RSS of `processes`, the private server's counters. */
async function measure(
  system: SystemName,
  target: { url: string; secret: string; processes: { name: string; pid: number | undefined; metricsUrl?: string }[] },
  mariadb: BenchMariaDb,
  o: Options,
): Promise<SystemRun> {
  const p = spawnHttpLoad({
    url: target.url,
    mode: 'approve',
    secret: target.secret,
    tenantPrefix: TENANT_PREFIX,
    tenants: o.tenants,
    concurrency: o.concurrency,
    warmupSeconds: o.warmupSeconds,
    seconds: o.seconds,
    lagObservers: system === 'baseline' ? 0 : o.lagObservers,
  });
  reaped(p.child);
  const shared =
    system === 'baseline'
      ? []
      : servicePids({
          mysql: mariadb.url,
          redis: process.env.BFLOW_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
          nats: await testNatsUrl(),
        })
          .filter((s) => s.name !== 'mariadbd')
          .map((s) => ({ ...s, name: `${s.name} (shared)` }));
  const window = new UsageWindow(() => [
    ...target.processes,
    { name: 'load (HTTP client)', pid: p.child.pid },
    { name: 'mariadbd (private)', pid: mariadb.pid },
    ...shared,
  ]);
  await p.measuring;
  const metricsUrls = target.processes.flatMap((t) => (t.metricsUrl === undefined ? [] : [t.metricsUrl]));
  const [before, metricsBefore] = await Promise.all([mariadb.counters(), scrapeAll(metricsUrls)]);
  window.start();
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  await sleep(o.seconds * 1000);
  const usage = window.stop();
  const machineBusyCores = (machineBusySeconds() - busy0) / ((performance.now() - t0) / 1000);
  const [after, metricsAfter] = await Promise.all([mariadb.counters(), scrapeAll(metricsUrls)]);
  const load = await p.result;
  fixLoadRow(usage, load, o.seconds);
  return {
    system,
    label: LABEL[system],
    load,
    usage,
    db: perCommand(before, after, load.commandsPerSecond * o.seconds),
    warmUpSeconds: warmUpSeconds(load.timeline, load.commandsPerSecond),
    serverCpuMicros: (1e6 * coresOf(usage, target.processes)) / load.commandsPerSecond,
    budget: cpuBudget(usage, load.commandsPerSecond, cpus().length, machineBusyCores),
    ...(metricsUrls.length > 0 && { writer: writerWindow(metricsBefore, metricsAfter, o.seconds) }),
  };
}

/** The cores `processes` (by name) used over the window. */
function coresOf(usage: readonly ProcessUsage[], processes: readonly { name: string }[]): number {
  const names = new Set(processes.map((p) => p.name));
  return usage.filter((u) => names.has(u.name)).reduce((sum, u) => sum + u.cores, 0);
}

/** Every endpoint's samples; an endpoint that does not answer counts as empty. */
async function scrapeAll(urls: readonly string[]): Promise<Samples[]> {
  return Promise.all(urls.map((u) => scrape(u).catch(() => new Map() as Samples)));
}

/** The group commits and node-side command time between two scrapes of the same endpoints. */
function writerWindow(before: readonly Samples[], after: readonly Samples[], seconds: number): WriterWindow {
  const delta = (name: string) =>
    after.reduce((sum, s, i) => sum + sumOf(s, name) - sumOf(before[i] ?? new Map(), name), 0);
  const batches = delta('bflow_store_writer_batch_size_count');
  const commands = delta('bflow_command_duration_seconds_count');
  return {
    batchesPerSecond: batches / seconds,
    meanBatch: delta('bflow_store_writer_batch_size_sum') / batches,
    meanCommitMs: (1000 * delta('bflow_store_writer_commit_duration_seconds_sum')) / batches,
    meanCommandMs: (1000 * delta('bflow_command_duration_seconds_sum')) / commands,
  };
}

async function runBaseline(mariadb: BenchMariaDb, o: Options): Promise<SystemRun> {
  const db = await useTestDatabase('bench_appr_base', { migrate: false, server: mariadb.url });
  try {
    const server = await startServerProcess(BASELINE, ['--mysql', db.url]);
    reaped(server.child);
    try {
      return await measure(
        'baseline',
        { url: server.url, secret: 'x'.repeat(32), processes: [{ name: 'baseline server', pid: server.child.pid }] },
        mariadb,
        o,
      );
    } finally {
      server.child.kill('SIGKILL');
    }
  } finally {
    await db.drop();
  }
}

async function runBflow(
  system: Exclude<SystemName, 'baseline'>,
  mariadb: BenchMariaDb,
  o: Options,
): Promise<SystemRun> {
  const plain = system === 'colocated-plain' || system === 'colocated-plain-after';
  const stack = await startBenchStack({
    name: `appr_${DB_NAME[system]}`,
    topology: system === 'split' ? 'split' : 'colocated',
    nodes: system === 'colocated-2' ? 2 : 1,
    tenants: o.tenants,
    tenantPrefix: TENANT_PREFIX,
    mysqlServer: mariadb.url,
    // bflow as deployed: the client-side statement counters cost CPU; the server's own counters are read instead.
    statementMetrics: false,
    // The observers read the approver's inbox every 20 ms, far above one (tenant, user)'s default limit.
    env: { ...NO_RATE_LIMIT, ...(plain && { BFLOW_ENCRYPTION: 'off' }) },
    nodeArgs: o.cpuProf,
    gatewayArgs: o.cpuProf,
  });
  try {
    const processes = stack.services().map((s) => ({ name: s.name, pid: s.pid, metricsUrl: s.metricsUrl }));
    // Requests go to each process in turn, as a load balancer would spread them; a process forwards a command
    // for a shard it does not hold to its holder over NATS.
    return await measure(system, { url: stack.urls.join(','), secret: stack.secret, processes }, mariadb, o);
  } finally {
    await stack.stop().catch((err: unknown) => console.error(`stopping the ${system} stack failed:`, err));
  }
}

/** Commands answered per second over the first `n` seconds. */
function perSecond(timeline: readonly number[], n: number): string {
  const per = 1000 / TIMELINE_BUCKET_MS;
  return Array.from({ length: n }, (_, s) => timeline.slice(s * per, (s + 1) * per).reduce((a, b) => a + b, 0)).join(
    ' ',
  );
}

function summaryLines(r: SystemRun): string[] {
  const l = r.load;
  const lag = l.inboxLag;
  return [
    `  ${rate(l.commandsPerSecond)} commands/s, ${lat(l.latencyMs)}, errors ${l.errors} (${codes(l.errorCodes)})`,
    `  MariaDB per command: ${micros(r.db.cpuMicros)} CPU, ${fixed(r.db.statements)} statements (${Object.entries(
      r.db.byVerb,
    )
      .map(([k, v]) => `${k} ${fixed(v)}`)
      .join(
        ', ',
      )}), ${fixed(r.db.transactions, 3)} transactions, ${fixed(r.db.handlerCommits)} Handler_commit, ${Math.round(r.db.bytesIn)} bytes in / ${Math.round(r.db.bytesOut)} out`,
    lag
      ? `  inbox lag: p50 ${ms(lag.lagMs.p50)}, p99 ${ms(lag.lagMs.p99)}, max ${ms(lag.lagMs.max)} over ${lag.lagMs.count} submits; ${lag.timeouts} not shown within 10 s; ${lag.reads} inbox reads (${lag.failedReads} failed)`
      : '  inbox lag: not measured (no inbox)',
    ...(r.writer
      ? [
          `  group commits: ${fixed(r.writer.batchesPerSecond, 0)}/s of ${fixed(r.writer.meanBatch, 1)} commands, ${fixed(r.writer.meanCommitMs, 1)} ms each (mean); a command takes ${fixed(r.writer.meanCommandMs, 1)} ms in the node (mailbox, step, commit), of ${ms(l.latencyMs.p50)} p50 at the client`,
        ]
      : []),
    `  warm-up ${seconds(r.warmUpSeconds)}; commands per second over the first 10 s: ${perSecond(l.timeline, 10)}`,
    `  ${usageLine(r.usage)}`,
  ];
}

/** `--lag-observers N`: 0 or more, 4 by default (at 64 clients, 1 purchase order in 16). */
function lagObserversArg(): number {
  const i = process.argv.indexOf('--lag-observers');
  const value = i >= 0 ? Number(process.argv[i + 1]) : 4;
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`--lag-observers must be a non-negative integer, got ${process.argv[i + 1]}`);
  return value;
}

function systemsArg(): SystemName[] {
  const list = (stringArg('--systems') ?? DEFAULT_SYSTEMS.join(',')).split(',');
  const bad = list.filter((s) => !SYSTEMS.includes(s as SystemName));
  if (bad.length > 0) throw new Error(`--systems takes ${SYSTEMS.join(', ')}; got ${bad.join(', ')}`);
  return SYSTEMS.filter((s) => list.includes(s));
}

function optionsArg(): Options {
  const profDir = stringArg('--cpu-prof');
  return {
    seconds: secondsArg(15),
    warmupSeconds: intArg('--warmup', 8),
    concurrency: intArg('--concurrency', 64),
    tenants: intArg('--tenants', 200),
    lagObservers: lagObserversArg(),
    cpuProf: profDir ? ['--cpu-prof', `--cpu-prof-dir=${resolve(profDir)}`] : [],
  };
}

/** Runs each system in turn; one that fails is reported as failed and the others still run. */
async function runAll(systems: readonly SystemName[], mariadb: BenchMariaDb, o: Options): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const system of systems) {
    console.log(`${LABEL[system]}…`);
    try {
      const r = system === 'baseline' ? await runBaseline(mariadb, o) : await runBflow(system, mariadb, o);
      for (const line of summaryLines(r)) console.log(line);
      outcomes.push(r);
    } catch (err) {
      console.error(`  ${system} failed:`, err);
      outcomes.push({ system, label: LABEL[system], failed: err instanceof Error ? err.message : String(err) });
    }
  }
  return outcomes;
}

function resultRows(outcomes: readonly Outcome[]): string[][] {
  const rows: string[][] = [
    [
      'system',
      'cmd/s',
      'p50',
      'p99',
      'errors',
      'server CPU/cmd',
      'MariaDB CPU/cmd',
      'stmts/cmd',
      'tx/cmd',
      'inbox lag p99',
      'warm-up',
    ],
  ];
  for (const r of outcomes) {
    if (failed(r)) {
      rows.push([r.label, 'failed', '', '', '', '', '', '', '', '', '']);
      continue;
    }
    const l = r.load;
    rows.push([
      r.label,
      rate(l.commandsPerSecond),
      ms(l.latencyMs.p50),
      ms(l.latencyMs.p99),
      String(l.errors),
      micros(r.serverCpuMicros),
      micros(r.db.cpuMicros),
      fixed(r.db.statements),
      fixed(r.db.transactions, 3),
      l.inboxLag ? ms(l.inboxLag.lagMs.p99) : '—',
      seconds(r.warmUpSeconds),
    ]);
  }
  return rows;
}

/** Each system's CPU per command by process, their sum, and the rate it allows on this machine's cores. */
function budgetRows(runs: readonly SystemRun[]): string[][] {
  return [
    ['system', ...BUDGET_PARTS.map((p) => p.part), 'total', `ceiling on ${cpus().length} cores`, 'machine busy'],
    ...runs.map((r) => [
      r.label,
      ...r.budget.parts.map((x) => (x > 0 ? micros(x) : '—')),
      micros(r.budget.totalMicros),
      `${rate(r.budget.ceiling)}/s`,
      `${fixed(r.budget.machineBusyCores)} cores`,
    ]),
  ];
}

/** What the throughput targets leave per command on this machine, beside what the co-located system spent. */
function budgetNote(runs: Partial<Record<SystemName, SystemRun>>): string | undefined {
  const base = runs.baseline;
  const co = runs.colocated;
  if (!base || !co) return undefined;
  const cores = cpus().length;
  const need = (factor: number) => {
    const target = factor * base.load.commandsPerSecond;
    return `${factor}× (${rate(target)}/s) allows ${micros(allowedMicros(target, cores))}`;
  };
  const [system, loadPart, mariadb] = co.budget.parts;
  return `  the targets on ${cores} cores, every process included: ${need(TARGETS.splitFactor)}, ${need(TARGETS.colocatedFactor)}, ${need(TARGETS.goalFactor)} per command; co-located spent ${micros(co.budget.totalMicros)}, of which the load ${micros(loadPart!)} and MariaDB ${micros(mariadb!)} alone, bflow ${micros(system!)}`;
}

/** The options, or exit 2 with a message naming the bad one. */
function parseArgs(): { o: Options; systems: SystemName[] } {
  try {
    return { o: optionsArg(), systems: systemsArg() };
  } catch (err) {
    console.error(`bench/approve: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const { o, systems } = parseArgs();
  const started = performance.now();
  const load0 = loadavg();
  console.log(
    `bench/approve: ${systems.join(', ')}; ${o.concurrency} clients (${o.lagObservers} of them watch the inbox), ${o.warmupSeconds} s warm-up + ${o.seconds} s measured each, ${o.tenants} tenants, ${BENCH_SHARDS} shards; ${cpus().length} cores, load average ${load0.map((x) => x.toFixed(1)).join(' ')}`,
  );
  console.log('private MariaDB: mariadb-install-db into a temp dir…');
  const mariadb = await startBenchMariaDb(await testServerUrl());
  let outcomes: Outcome[];
  try {
    console.log(
      `  ${mariadb.url} (pid ${mariadb.pid}), settings of the shared server: ${
        Object.entries(mariadb.settings)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ') || 'none (it did not answer): mariadbd defaults'
      }`,
    );
    outcomes = await runAll(systems, mariadb, o);
  } finally {
    await mariadb.destroy();
  }

  const runs: Partial<Record<SystemName, SystemRun>> = {};
  for (const r of outcomes) if (!failed(r)) runs[r.system] = r;
  const load1 = loadavg();
  printTable(
    `bench/approve (${o.concurrency} clients, ${o.seconds} s windows after ${o.warmupSeconds} s, load average ${load0[0]!.toFixed(1)} → ${load1[0]!.toFixed(1)})`,
    resultRows(outcomes),
  );
  const late = Object.values(runs).filter((r) => !(r.warmUpSeconds < o.warmupSeconds));
  console.log(
    `\n  warm-up (from the first request to the first 1 s at ≥ 90% of the window's rate; excluded from the figures above): ${Object.values(
      runs,
    )
      .map((r) => `${r.system} ${seconds(r.warmUpSeconds)}`)
      .join(
        ', ',
      )}${late.length > 0 ? `; WARNING: ${late.map((r) => r.system).join(', ')} still warming up when the window began (raise --warmup)` : ''}`,
  );
  console.log(
    '  MariaDB: a private mariadbd for this run alone. CPU = its utime + stime (/proc/<pid>/stat) over the window ÷ commands acknowledged in it; statements = SHOW GLOBAL STATUS Questions; transactions = InnoDB read-write commits (INNODB_METRICS trx_rw_commits), autocommits included.',
  );
  console.log(
    `  inbox lag: ${o.lagObservers} of the clients, after each submit, read the manager's inbox every 20 ms until the task shows; lag = submit answered → that read answered.`,
  );
  const measured = Object.values(runs);
  if (measured.length > 0) {
    printTable(
      'CPU per command, every process on the machine (its cores over the window ÷ commands/s; machine busy: /proc/stat, other work included)',
      budgetRows(measured),
    );
    const note = budgetNote(runs);
    if (note) console.log(note);
  }
  // The writer's encryption CPU, measured in process (a loaded machine moves the rates above far more than it).
  const encryption = systems.includes('colocated') ? await measureEncryptionCost() : undefined;
  if (encryption)
    console.log(
      `  encryption at rest in the writer (bench/encryption-cost.ts, in process): ${encryption.plainMicros.toFixed(1)} µs per command to build its rows plain, ${encryption.sealedMicros.toFixed(1)} µs sealed: +${encryption.addedMicros.toFixed(1)} µs; encrypted columns ${encryption.plainBytes.toFixed(0)} → ${encryption.sealedBytes.toFixed(0)} bytes per command`,
    );
  const targets = approveTargets(runs);
  printTable('targets', [['target', 'value', ''], ...targets.map((t) => [t.goal, t.value, passFail(t.pass)])]);
  console.log(`\n  whole run ${((performance.now() - started) / 1000).toFixed(0)} s`);
  writeResult('approve', {
    scenario: 'approve',
    ...o,
    cores: cpus().length,
    loadAverage: { before: load0, after: load1 },
    mariadbSettings: mariadb.settings,
    systems: outcomes,
    ...(encryption && { encryption }),
    targets,
  });
}

try {
  await main();
} finally {
  reapAll();
}
