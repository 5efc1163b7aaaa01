// Store benchmark: raw MySQL commit ceilings vs durable transitions through the group-commit writer.
// Run: node --import tsx bench/store.ts   (BFLOW_TEST_MYSQL_URL to pick a server; writes bench/results/store.json)
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import type mysql from 'mysql2/promise';
import { createMySqlPool } from '../src/store/mysql/pool.ts';
import { MySqlTransitionWriter, type TransitionWriterOptions } from '../src/store/mysql/transition-writer.ts';
import { makeRecord } from '../test/fixtures/transition-records.ts';
import { useTestDatabase } from '../test/harness/mysql.ts';
import { cleanUpOnInterrupt } from './reaper.ts';

const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 5000);
/** Phases (a) and (c) alternate this many times so a noisy neighbour hurts both alike; means are compared. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const GOAL_FACTOR = 3;

const LOG_LIKE = `CREATE TABLE bench_log (
  tenant VARCHAR(64) NOT NULL, runtime_id VARCHAR(64) NOT NULL, seq INT NOT NULL, at BIGINT NOT NULL,
  actor VARCHAR(100) NOT NULL, action VARCHAR(32) NOT NULL, from_node VARCHAR(100) NOT NULL, to_node VARCHAR(100) NULL,
  comment TEXT NULL, changes JSON NULL, PRIMARY KEY (tenant, runtime_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

const logRow = (lane: string, seq: number): unknown[] => [
  't1',
  `lane-${lane}`,
  seq,
  Date.now(),
  'alice',
  'approve',
  'n1',
  'n2',
  'looks good',
  '{"amount":[0,100]}',
];

let serverPid: number | undefined;

/** CPU seconds used so far by the MySQL server (when it runs on this machine) and by this process. */
async function cpuNow(): Promise<{ server: number; client: number }> {
  const client = (process.cpuUsage().user + process.cpuUsage().system) / 1e6;
  if (serverPid === undefined) return { server: NaN, client };
  try {
    const fields = (await readFile(`/proc/${serverPid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    return { server: (Number(fields[11]) + Number(fields[12])) / 100, client };
  } catch {
    return { server: NaN, client };
  }
}

/** Runs `lanes` loops of `op` for PHASE_MS; returns operations completed per lane. */
interface PhaseResult {
  ops: number;
  ms: number;
  serverCpuUsPerOp: number;
  clientCpuUsPerOp: number;
}

async function lanes(
  count: number,
  op: (lane: number, i: number) => Promise<void>,
  phaseMs = PHASE_MS,
): Promise<PhaseResult> {
  const deadline = performance.now() + phaseMs;
  const started = performance.now();
  const cpu0 = await cpuNow();
  let ops = 0;
  await Promise.all(
    Array.from({ length: count }, async (_, lane) => {
      for (let i = 0; performance.now() < deadline; i++) {
        await op(lane, i);
        ops += 1;
      }
    }),
  );
  const cpu1 = await cpuNow();
  const perOpUs = (sec: number) => Math.round((sec / Math.max(1, ops)) * 1e6);
  return {
    ops,
    ms: performance.now() - started,
    serverCpuUsPerOp: perOpUs(cpu1.server - cpu0.server),
    clientCpuUsPerOp: perOpUs(cpu1.client - cpu0.client),
  };
}

async function rawSingleRow(pool: mysql.Pool, round: number, concurrency: number, phaseMs = PHASE_MS) {
  const r = await lanes(
    concurrency,
    (lane, i) =>
      pool
        .query({ sql: 'INSERT INTO bench_log VALUES (?)', values: [logRow(`${round}-${lane}`, i)], timeout: 10_000 })
        .then(() => undefined),
    phaseMs,
  );
  return { concurrency, rowsPerSec: (r.ops / r.ms) * 1000, serverCpuUsPerRow: r.serverCpuUsPerOp };
}

async function rawMultiRow(pool: mysql.Pool, concurrency: number, batch: number, phaseMs = PHASE_MS) {
  const r = await lanes(
    concurrency,
    (lane, i) => {
      const rows = Array.from({ length: batch }, (_, j) => logRow(`multi-${lane}`, i * batch + j));
      return pool
        .query({ sql: 'INSERT INTO bench_log VALUES ?', values: [rows], timeout: 10_000 })
        .then(() => undefined);
    },
    phaseMs,
  );
  return {
    concurrency,
    batch,
    rowsPerSec: ((r.ops * batch) / r.ms) * 1000,
    commitsPerSec: (r.ops / r.ms) * 1000,
    serverCpuUsPerRow: r.serverCpuUsPerOp / batch,
  };
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/** `writers` writers (one per shard, as the actors use them), callers spread evenly over them. */
async function writerPhase(
  pool: mysql.Pool,
  round: number,
  callers: number,
  writers: number,
  options: TransitionWriterOptions,
) {
  const all = Array.from({ length: writers }, () => new MySqlTransitionWriter(pool, options));
  const latencies: number[] = [];
  const revs = new Array<number>(callers).fill(0);
  const r = await lanes(callers, async (lane) => {
    const base = revs[lane] ?? 0;
    const record = makeRecord({ id: `w${round}-${lane}`, base, timers: 'none', tasks: 2, events: 2 });
    const t0 = performance.now();
    const outcome = await all[lane % writers]!.commit(record);
    latencies.push(performance.now() - t0);
    if (!outcome.ok) throw new Error(`writer bench: ${outcome.code} ${outcome.message}`);
    revs[lane] = base + 1;
  });
  await Promise.all(all.map((w) => w.close()));
  latencies.sort((a, b) => a - b);
  const s = { records: 0, batches: 0, transactions: 0 };
  for (const w of all) {
    s.records += w.stats.records;
    s.batches += w.stats.batches;
    s.transactions += w.stats.transactions;
  }
  return {
    callers,
    writers,
    options,
    transitionsPerSec: (r.ops / r.ms) * 1000,
    serverCpuUsPerTransition: r.serverCpuUsPerOp,
    clientCpuUsPerTransition: r.clientCpuUsPerOp,
    avgBatch: s.records / Math.max(1, s.batches),
    transactions: s.transactions,
    p50Ms: pct(latencies, 50),
    p99Ms: pct(latencies, 99),
  };
}

/** Field-wise mean of numeric fields (non-numbers taken from the first run). */
function meanOf<T extends object>(runs: T[]): T {
  const out = { ...runs[0]! } as Record<string, unknown>;
  for (const [k, v] of Object.entries(out)) {
    if (typeof v === 'number')
      out[k] = runs.reduce((a, r) => a + Number((r as Record<string, unknown>)[k]), 0) / runs.length;
  }
  return out as T;
}

async function serverInfo(pool: mysql.Pool): Promise<Record<string, unknown>> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    'SELECT VERSION() AS version, @@innodb_flush_log_at_trx_commit AS flush, @@sync_binlog AS sync_binlog, @@log_bin AS log_bin, @@pid_file AS pid_file',
  );
  serverPid = await readFile(String(rows[0]?.pid_file), 'utf8').then(
    (t) => Number(t.trim()),
    () => undefined,
  );
  const { pid_file: _, ...info } = (rows[0] ?? {}) as Record<string, unknown>;
  return info;
}

export interface MySqlCeilings {
  /** Single-row autocommit INSERTs (each its own durable commit) at `concurrency`. */
  singleRowCommitsPerSec: number;
  /** Rows per second of 256-row INSERTs from 4 connections. */
  multiRowRowsPerSec: number;
  multiRowCommitsPerSec: number;
  concurrency: number;
}

/** The MySQL ceilings (a) and (b) of this benchmark, on a fresh database, for other benchmarks' tables. */
export async function measureMySqlCeilings(o: { seconds: number; concurrency: number }): Promise<MySqlCeilings> {
  const db = await useTestDatabase('bench_ceiling', { migrate: false });
  const unregister = cleanUpOnInterrupt(() => db.drop());
  const pool = createMySqlPool(db.url, { connectionLimit: Math.max(8, o.concurrency) });
  try {
    await pool.query(LOG_LIKE);
    const single = await rawSingleRow(pool, 0, o.concurrency, o.seconds * 1000);
    const multi = await rawMultiRow(pool, 4, 256, o.seconds * 1000);
    return {
      singleRowCommitsPerSec: single.rowsPerSec,
      multiRowRowsPerSec: multi.rowsPerSec,
      multiRowCommitsPerSec: multi.commitsPerSec,
      concurrency: o.concurrency,
    };
  } finally {
    unregister();
    await pool.end();
    await db.drop();
  }
}

async function main(): Promise<void> {
  const db = await useTestDatabase('bench');
  const pool = createMySqlPool(db.url, { connectionLimit: 40 });
  // The writers' connections as a node has them: several statements per query (a group commit in 2–3 round trips).
  const writerPool = createMySqlPool(db.url, { connectionLimit: 40, multipleStatements: true });
  try {
    await pool.query(LOG_LIKE);
    const server = await serverInfo(pool);
    const writers = Number(process.env.BENCH_WRITERS ?? 2); // sharded writers side by side (a node's: BFLOW_WRITERS)
    const singles = [];
    const writerRuns = [];
    for (let round = 0; round < ROUNDS; round++) {
      singles.push(await rawSingleRow(pool, round, 32));
      writerRuns.push(await writerPhase(writerPool, round, 256, writers, { maxBatch: 256, maxDelayMs: 2 }));
    }
    const multi = await rawMultiRow(pool, 4, 256);
    // What a team would write without group commit: the same rows, one transaction per transition.
    const perTransition = await writerPhase(writerPool, ROUNDS, 32, 32, { maxBatch: 1, maxDelayMs: 0 });
    const single = meanOf(singles);
    const writer = meanOf(writerRuns);
    const ratio = writer.transitionsPerSec / single.rowsPerSec;
    const pass = ratio >= GOAL_FACTOR;
    const f = (n: number) => n.toFixed(0).padStart(9);
    console.log(
      `server ${String(server.version)}  innodb_flush_log_at_trx_commit=${String(server.flush)}  sync_binlog=${String(server.sync_binlog)}  log_bin=${String(server.log_bin)}`,
    );
    console.log(
      `phase length ${PHASE_MS} ms, ${ROUNDS} alternating rounds of (a) and (c), means shown; load average ${os.loadavg()[0]?.toFixed(1)}\n`,
    );
    console.log('measurement                                          per second');
    console.log(
      `(a) raw single-row autocommit INSERT, concurrency 32  ${f(single.rowsPerSec)} rows  (ceiling: one fsync'd commit per row; server CPU ${single.serverCpuUsPerRow.toFixed(0)} us/row)`,
    );
    console.log(
      `(b) raw multi-row INSERT x256, concurrency 4          ${f(multi.rowsPerSec)} rows  (${multi.commitsPerSec.toFixed(0)} commits; server CPU ${multi.serverCpuUsPerRow.toFixed(1)} us/row)`,
    );
    console.log(
      `(c) writer transitions, 256 callers, ${String(writers).padEnd(2)} writers       ${f(writer.transitionsPerSec)} transitions`,
    );
    console.log(
      `    each = runtime update + 1 log + 2 tasks + 2 outbox events; avg batch ${writer.avgBatch.toFixed(1)},` +
        ` commit latency p50 ${writer.p50Ms.toFixed(1)} ms p99 ${writer.p99Ms.toFixed(1)} ms`,
    );
    console.log(
      `    CPU per transition: server ${writer.serverCpuUsPerTransition.toFixed(0)} us, client ${writer.clientCpuUsPerTransition.toFixed(0)} us`,
    );
    console.log(
      `(d) same transitions, one transaction each, 32 callers ${f(perTransition.transitionsPerSec)} transitions` +
        `  (server CPU ${perTransition.serverCpuUsPerTransition.toFixed(0)} us each; (c) is ${(writer.transitionsPerSec / perTransition.transitionsPerSec).toFixed(2)}x this)`,
    );
    // A transition writes 6 rows; even at the raw multi-row rate of simple rows that caps (c) here.
    const rowCeiling = multi.rowsPerSec / 6;
    console.log(
      `    ceiling from (b): ${rowCeiling.toFixed(0)} transitions/s (6 simple rows each) = ${(rowCeiling / single.rowsPerSec).toFixed(2)}x (a)`,
    );
    console.log(
      `\ngoal: writer >= ${GOAL_FACTOR}x raw single-row rate: ${ratio.toFixed(2)}x  ${pass ? 'PASS' : 'FAIL'}`,
    );
    await mkdir(new URL('./results/', import.meta.url), { recursive: true });
    const result = {
      at: new Date().toISOString(),
      server,
      phaseMs: PHASE_MS,
      rawSingleRow: single,
      rawMultiRow: multi,
      writer,
      perTransitionCommits: perTransition,
      rounds: { rawSingleRow: singles, writer: writerRuns },
      goal: { factor: GOAL_FACTOR, ratio, pass, ceilingFromMultiRow: rowCeiling / single.rowsPerSec },
    };
    await writeFile(new URL('./results/store.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
    process.exitCode = pass ? 0 : 1;
  } finally {
    await writerPool.end();
    await pool.end();
    await db.drop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
