/**
 * bench/measure — one measured load against a running bflow stack: the load
 * process's report, CPU and RSS of every bflow process and of the machine's
 * MariaDB, Redis and NATS over the window, and the MySQL statements each bflow
 * process sent during it (the bflow_mysql_* counters of
 * src/store/mysql/statement-metrics.ts on each process's metrics endpoint, which
 * bench/bflow-stack.ts turns on with BFLOW_MYSQL_STATEMENT_METRICS=true), per
 * durable command.
 */
import type { BenchStack, BflowService } from './bflow-stack.ts';
import { spawnHttpLoad, type HttpLoadOptions, type HttpLoadReport } from './http-load.ts';
import type { LatencySummary } from './load-process.ts';
import { scrape, sumOf, type Samples } from './metrics-scrape.ts';
import { UsageWindow, servicePids, type ProcessUsage } from './process-stats.ts';
import { reaped } from './reaper.ts';

/**
 * What a SELECT was for, by its table (and whether it ran inside a transaction):
 * - `runtime`: what a command on a runtime may read — its activation (state), an idempotency look-up, the
 *   log or tasks. 0 per command once the runtimes are live actors (issue 6's target).
 * - `start`: a start's check, inside its group commit, of which documents already have an active runtime.
 * - `cache`: per-tenant caches — directory, start definitions, workflow versions, webhook lists — loaded
 *   cold, after a change notice, or refreshed in the background after their TTL.
 * - `background`: the nodes' loops (outbox relay, timer service), and connection set-up.
 */
export type ReadKind = 'runtime' | 'start' | 'cache' | 'background';

export function readKindOf(table: string, inTransaction: boolean): ReadKind {
  if (table === 'outbox' || table === 'timers' || table === 'none') return 'background';
  if (table === 'runtimes' && inTransaction) return 'start';
  if (['runtimes', 'idempotency_keys', 'runtime_log', 'tasks'].includes(table)) return 'runtime';
  return 'cache';
}

export interface MySqlUse {
  /** Statements the bflow processes sent. */
  statements: number;
  /** Group commits of the nodes' transition writers, and the records (transitions) they carried. */
  writerBatches: number;
  writerRecords: number;
  /** Mean writer commit duration, ms. */
  writerCommitMs: number;
  /** Transactions begun (START TRANSACTION or an autocommit write) by the bflow processes. */
  transactions: number;
  commits: number;
  writes: number;
  /** SELECTs by `table` (suffix ` in_tx` inside a transaction) and process. */
  reads: Record<string, number>;
  /** SELECTs by what they were for (see ReadKind). */
  readsByKind: Record<ReadKind, number>;
  perCommand: { transactions: number; reads: number; readsByKind: Record<ReadKind, number>; statements: number };
  /** `process: VERB table` → statements in the window and their mean time from sent to answered, ms. */
  roundTrips: Record<string, { count: number; meanMs: number }>;
  /** Connection requests that waited for a free pool connection. */
  poolWaits: number;
}

export interface Measured {
  load: HttpLoadReport;
  usage: ProcessUsage[];
  mysql: MySqlUse;
  /** Each bflow process's event-loop lag (prom-client, since its previous scrape ≈ the window), ms. */
  eventLoopLag: Record<string, { p50: number; p99: number }>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const MEASURED_METRICS = ['bflow_mysql_', 'bflow_store_writer_', 'nodejs_eventloop_lag_'];

/** Each process's MySQL statement counts, (nodes) writer metrics and event-loop lag, from its metrics endpoint. */
async function probeAll(services: readonly BflowService[]): Promise<Map<string, Samples>> {
  const out = new Map<string, Samples>();
  await Promise.all(
    services.map(async (s) => {
      const metrics = await scrape(s.metricsUrl).catch((): Samples => new Map());
      out.set(s.name, new Map([...metrics].filter(([k]) => MEASURED_METRICS.some((prefix) => k.startsWith(prefix)))));
    }),
  );
  return out;
}

function readsOf(samples: Samples): Map<string, number> {
  const reads = new Map<string, number>();
  for (const [key, value] of samples) {
    const m = /^bflow_mysql_reads_total\{table="([^"]*)",in_transaction="(true|false)"\}$/.exec(key);
    if (m) reads.set(`${m[1]}${m[2] === 'true' ? ' in_tx' : ''}`, value);
  }
  return reads;
}

function mysqlDelta(before: Map<string, Samples>, after: Map<string, Samples>, commands: number): MySqlUse {
  const use: MySqlUse = {
    statements: 0,
    writerBatches: 0,
    writerRecords: 0,
    writerCommitMs: NaN,
    transactions: 0,
    commits: 0,
    writes: 0,
    reads: {},
    roundTrips: {},
    poolWaits: 0,
    readsByKind: { runtime: 0, start: 0, cache: 0, background: 0 },
    perCommand: {
      transactions: NaN,
      reads: NaN,
      readsByKind: { runtime: NaN, start: NaN, cache: NaN, background: NaN },
      statements: NaN,
    },
  };
  let commitSeconds = 0;
  for (const [name, a] of after) {
    const b = before.get(name) ?? new Map();
    const d = (metric: string) => sumOf(a, metric) - sumOf(b, metric);
    use.statements += d('bflow_mysql_statements_total');
    use.poolWaits += d('bflow_mysql_pool_waits_total');
    for (const [key, n] of a) {
      const m = /^bflow_mysql_statements_by_kind_total\{statement="([^"]*)"\}$/.exec(key);
      if (!m) continue;
      const count = n - (b.get(key) ?? 0);
      const secondsKey = `bflow_mysql_statement_seconds_total{statement="${m[1]}"}`;
      const seconds = (a.get(secondsKey) ?? 0) - (b.get(secondsKey) ?? 0);
      if (count > 0) use.roundTrips[`${name}: ${m[1]}`] = { count, meanMs: (seconds / count) * 1000 };
    }
    use.writerBatches += d('bflow_store_writer_batch_size_count');
    use.writerRecords += d('bflow_store_writer_batch_size_sum');
    commitSeconds += d('bflow_store_writer_commit_duration_seconds_sum');
    use.transactions += d('bflow_mysql_transactions_total');
    use.commits += d('bflow_mysql_commits_total');
    use.writes += d('bflow_mysql_writes_total');
    const ra = readsOf(a);
    const rb = readsOf(b);
    for (const [key, value] of ra) {
      const delta = value - (rb.get(key) ?? 0);
      if (delta === 0) continue;
      use.reads[`${name}: ${key}`] = delta;
      const [table = 'none', tx] = key.split(' ');
      use.readsByKind[readKindOf(table, tx === 'in_tx')] += delta;
    }
  }
  const per = (n: number) => (commands > 0 ? n / commands : NaN);
  use.writerCommitMs = (commitSeconds / use.writerBatches) * 1000;
  const k = use.readsByKind;
  use.perCommand = {
    transactions: per(use.transactions),
    reads: per(k.runtime + k.start + k.cache + k.background),
    readsByKind: { runtime: per(k.runtime), start: per(k.start), cache: per(k.cache), background: per(k.background) },
    statements: per(use.statements),
  };
  return use;
}

/** The load process may exit before its row is read: its own CPU figure is exact. */
export function fixLoadRow(usage: ProcessUsage[], report: HttpLoadReport, seconds: number): void {
  const row = usage.find((u) => u.name.startsWith('load'));
  if (row && !Number.isFinite(row.cores)) row.cores = report.loadCpuSeconds / seconds;
  if (row && !Number.isFinite(row.rssMiB)) row.rssMiB = row.peakRssMiB;
}

/** Runs the HTTP load against `stack` and measures the window. */
export async function measureStack(
  stack: BenchStack,
  load: Omit<HttpLoadOptions, 'url' | 'secret' | 'tenantPrefix'>,
): Promise<Measured> {
  const p = spawnHttpLoad({ ...load, url: stack.url, secret: stack.secret, tenantPrefix: stack.tenantPrefix });
  reaped(p.child);
  const services = stack.services();
  const shared = servicePids({
    mysql: stack.mysqlUrl,
    redis: process.env.BFLOW_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    nats: 'nats://127.0.0.1:4222',
  });
  const window = new UsageWindow(() => [...services, { name: 'load (HTTP client)', pid: p.child.pid }, ...shared]);
  await p.measuring;
  const before = await probeAll(services);
  window.start();
  await sleep(load.seconds * 1000);
  const usage = window.stop();
  const after = await probeAll(services);
  const eventLoopLag: Measured['eventLoopLag'] = {};
  for (const s of services) {
    const m = after.get(s.name) ?? new Map();
    eventLoopLag[s.name] = {
      p50: sumOf(m, 'nodejs_eventloop_lag_p50_seconds') * 1000,
      p99: sumOf(m, 'nodejs_eventloop_lag_p99_seconds') * 1000,
    };
  }
  const report = await p.result;
  fixLoadRow(usage, report, load.seconds);
  // Per durable command; a read-only load (inbox) per request.
  const units = (report.commandsPerSecond > 0 ? report.commandsPerSecond : report.requestsPerSecond) * load.seconds;
  return { load: report, usage, mysql: mysqlDelta(before, after, units), eventLoopLag };
}

/** Runs the HTTP load against a plain server process (baseline, hello) and measures it and the machine's services. */
export async function measureServer(
  url: string,
  serverPid: number | undefined,
  serverName: string,
  load: Omit<HttpLoadOptions, 'url'>,
): Promise<{ load: HttpLoadReport; usage: ProcessUsage[] }> {
  const p = spawnHttpLoad({ ...load, url });
  reaped(p.child);
  const shared = servicePids({
    mysql: 'mysql://127.0.0.1:3306',
    redis: 'redis://127.0.0.1:6379',
    nats: 'nats://127.0.0.1:4222',
  }).filter((s) => s.name === 'mariadbd');
  const window = new UsageWindow(() => [
    { name: serverName, pid: serverPid },
    { name: 'load (HTTP client)', pid: p.child.pid },
    ...shared,
  ]);
  await p.measuring;
  window.start();
  await sleep(load.seconds * 1000);
  const usage = window.stop();
  const report = await p.result;
  fixLoadRow(usage, report, load.seconds);
  return { load: report, usage };
}

// ── formatting ───────────────────────────────────────────────────────────────

export const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(x < 10 ? 1 : 0)} ms` : 'n/a');
export const lat = (l: LatencySummary) => `p50 ${ms(l.p50)}  p95 ${ms(l.p95)}  p99 ${ms(l.p99)}`;
export const rate = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en') : 'n/a');
export const codes = (c: Record<string, number>) =>
  Object.entries(c)
    .map(([k, n]) => `${k}×${n}`)
    .join(', ') || 'none';
export const usageLine = (u: readonly ProcessUsage[]) =>
  u
    .map(
      (p) =>
        `${p.name} ${Number.isFinite(p.cores) ? p.cores.toFixed(2) : 'n/a'} cores ${(Number.isFinite(p.rssMiB) ? p.rssMiB : p.peakRssMiB).toFixed(0)} MiB`,
    )
    .join('; ');
export const passFail = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
