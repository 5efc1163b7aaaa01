/**
 * bench/inbox — inbox read latency at scale: `--runtimes` (default 1,000,000)
 * purchase orders with 5 log rows each (5,000,000) and 2 task rows each, seeded
 * straight into MySQL (bench/inbox-seed.ts), then GET /api/v1/tasks?status=open
 * &limit=50 as random users of 1,000 through a gateway + 1 node, from a separate
 * load process. Goal: p99 ≤ 20 ms.
 *
 *   node --import tsx bench/inbox.ts [--runtimes 1000000] [--users 1000] [--seconds 10] [--concurrency 16]
 *   BENCH_KEEP_DB=1 …   keeps (and reuses) database bflow_bench_inbox: seeded once
 *   --cpu-prof DIR      profiles the gateway and the node (bench/profile-summary.ts)
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { cpus, loadavg } from 'node:os';
import type mysql from 'mysql2/promise';
import { startBenchStack, BENCH_SHARDS } from './bflow-stack.ts';
import { seedInbox, type SeedReport } from './inbox-seed.ts';
import { codes, lat, measureStack, ms, passFail, rate, usageLine } from './measure.ts';
import { reapAll } from './reaper.ts';
import { intArg, printTable, secondsArg, stringArg, writeResult } from './report.ts';

const TARGET_P99_MS = 20;
const TENANT_PREFIX = 't-inbox';
const TENANT = `${TENANT_PREFIX}-0`;

async function tableSizes(pool: mysql.Pool): Promise<Record<string, string>> {
  await pool.query({ sql: 'ANALYZE TABLE runtimes, runtime_log, tasks', timeout: 120_000 });
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    "SELECT table_name AS t, ROUND((data_length + index_length) / 1048576) AS mib FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN ('runtimes', 'runtime_log', 'tasks')",
  );
  return Object.fromEntries(rows.map((r) => [String(r.t), `${String(r.mib)} MiB`]));
}

async function main(): Promise<void> {
  const runtimes = intArg('--runtimes', 1_000_000);
  const users = intArg('--users', 1000);
  const seconds = secondsArg(10);
  const warmupSeconds = intArg('--warmup', 3);
  const concurrency = intArg('--concurrency', 16);
  const keep = process.env.BENCH_KEEP_DB === '1';
  const profDir = stringArg('--cpu-prof');
  const prof = profDir ? ['--cpu-prof', `--cpu-prof-dir=${resolve(profDir)}`] : [];
  console.log(
    `bench/inbox: ${runtimes.toLocaleString('en')} runtimes, ${(runtimes * 5).toLocaleString('en')} log rows, ${users} users, ${concurrency} reads in flight; ${cpus().length} cores, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    `disk before seeding (df -h /work):\n${spawnSync('df', ['-h', '/work'], { encoding: 'utf8' }).stdout.trimEnd()}`,
  );
  console.log(
    keep
      ? 'BENCH_KEEP_DB=1: database bflow_bench_inbox is kept (and reused when already seeded)'
      : 'fresh database, dropped at the end (BENCH_KEEP_DB=1 keeps it for the next run)',
  );
  let seed: SeedReport | undefined;
  let sizes: Record<string, string> = {};
  const stack = await startBenchStack({
    name: 'inbox',
    nodes: 1,
    tenants: 1,
    tenantPrefix: TENANT_PREFIX,
    keepDatabase: keep,
    nodeArgs: prof,
    gatewayArgs: prof,
    prepare: async (db) => {
      seed = await seedInbox(db.pool, { tenant: TENANT, runtimes, users, shards: BENCH_SHARDS }, (line) =>
        console.log(line),
      );
      console.log(seed.seeded ? `  seeded in ${seed.seconds.toFixed(0)} s` : '  already seeded (kept database)');
      sizes = await tableSizes(db.pool);
      console.log(
        `  table sizes: ${Object.entries(sizes)
          .map(([t, s]) => `${t} ${s}`)
          .join(', ')}`,
      );
    },
  });
  try {
    const m = await measureStack(stack, {
      mode: 'inbox',
      tenants: 1,
      concurrency,
      warmupSeconds,
      seconds,
      inboxTenant: TENANT,
      inboxUsers: users,
    });
    const l = m.load;
    const pass = l.latencyMs.p99 <= TARGET_P99_MS;
    console.log(
      `  ${rate(l.requestsPerSecond)} inbox reads/s, ${lat(l.latencyMs)}, errors ${l.errors} (${codes(l.errorCodes)})`,
    );
    console.log(`  ${usageLine(m.usage)}`);
    printTable(
      `bench/inbox (${runtimes.toLocaleString('en')} runtimes, ${(runtimes * 5).toLocaleString('en')} log rows, ${concurrency} in flight, ${seconds} s, load average ${loadavg()[0]!.toFixed(1)})`,
      [
        ['', 'throughput', 'latency', 'notes'],
        [
          'GET /api/v1/tasks?status=open&limit=50',
          `${rate(l.requestsPerSecond)} req/s`,
          lat(l.latencyMs),
          `max ${ms(l.latencyMs.max)}; errors ${l.errors}`,
        ],
        ...m.usage.map((u) => [`  ${u.name}`, `${u.cores.toFixed(2)} cores`, `RSS ${u.rssMiB.toFixed(0)} MiB`, '']),
        ['  MySQL reads per inbox read', m.mysql.perCommand.reads.toFixed(2), '', codes(m.mysql.reads)],
        [`target: inbox read p99 ≤ ${TARGET_P99_MS} ms`, ms(l.latencyMs.p99), '', passFail(pass)],
      ],
    );
    writeResult('inbox', {
      runtimes,
      logRows: runtimes * 5,
      users,
      seconds,
      warmupSeconds,
      concurrency,
      keptDatabase: keep,
      seed,
      tableSizes: sizes,
      loadAverage: loadavg(),
      measured: m,
      target: { p99Ms: TARGET_P99_MS, pass },
    });
  } finally {
    await stack.stop().catch((err: unknown) => console.error('stopping the stack failed:', err));
  }
}

try {
  await main();
} finally {
  reapAll();
}
