// Retention benchmark: the group-commit writer's throughput and commit latency while the retention job prunes
// a backlog of old rows, against the same load without it, in alternating phases (a noisy neighbour hurts both).
// Run: npm run bench -- retention [--seconds N] [--seed N]   (writes bench/results/retention.json)
import os from 'node:os';
import type mysql from 'mysql2/promise';
import { RetentionJob } from '../src/actors/retention/index.ts';
import { MySqlRetentionStore } from '../src/store/mysql/retention-store.ts';
import { MySqlTransitionWriter } from '../src/store/mysql/transition-writer.ts';
import { DAY_MS } from '../src/store/retention-ports.ts';
import { makeRecord } from '../test/fixtures/transition-records.ts';
import { useTestDatabase } from '../test/harness/mysql.ts';
import { cleanUpOnInterrupt } from './reaper.ts';
import { intArg, printTable, secondsArg, writeResult } from './report.ts';

const PHASE_SECONDS = secondsArg(5);
const SEED_RUNTIMES = intArg('--seed', 15000);
const STEPS = 4;
const ROUNDS = 2;
const CALLERS = 64;
/** Targets: the load keeps 80% of its throughput, and its p99 commit latency stays within 2x (+5 ms). */
const MIN_THROUGHPUT_RATIO = 0.8;
const MAX_P99_RATIO = 2;

const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/** Old finished runtimes (STEPS steps each, committed 400 days ago), every event published. */
async function seed(pool: mysql.Pool, writer: MySqlTransitionWriter): Promise<void> {
  const chunk = 500;
  for (let from = 0; from < SEED_RUNTIMES; from += chunk) {
    await Promise.all(
      Array.from({ length: Math.min(chunk, SEED_RUNTIMES - from) }, async (_, i) => {
        for (let base = 0; base < STEPS; base++) {
          const record = makeRecord({
            id: `old-${from + i}`,
            base,
            shard: (from + i) % 8,
            status: base === STEPS - 1 ? 'completed' : 'in_progress',
            idempotencyKey: `old-${from + i}-${base}`,
            at: Date.now() - 400 * DAY_MS,
          });
          const outcome = await writer.commit(record);
          if (!outcome.ok) throw new Error(`seed: ${outcome.code} ${outcome.message}`);
        }
      }),
    );
  }
  await pool.query('UPDATE shard_watermarks SET published_position = (SELECT MAX(position) FROM runtime_steps)');
}

interface Phase {
  commitsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  retentionRows: number;
  /** Time spent in retention runs that removed something. */
  retentionBusyMs: number;
}

/** CALLERS lanes commit steps of live runtimes for a phase; with `job`, retention runs alongside, run after run. */
async function phase(writer: MySqlTransitionWriter, round: string, job?: RetentionJob): Promise<Phase> {
  const deadline = performance.now() + PHASE_SECONDS * 1000;
  const latencies: number[] = [];
  let retentionRows = 0;
  let retentionBusyMs = 0;
  const retention = (async () => {
    while (job && performance.now() < deadline) {
      const t0 = performance.now();
      const run = await job.runOnce();
      const rows = Object.values(run.rows).reduce<number>((a, n) => a + (n ?? 0), 0);
      retentionRows += rows;
      if (rows > 0) retentionBusyMs += performance.now() - t0;
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, lane) => {
      for (let base = 0; performance.now() < deadline; base++) {
        const record = makeRecord({ id: `live-${round}-${lane}`, base, shard: lane % 8, timers: 'none', events: 2 });
        const t0 = performance.now();
        const outcome = await writer.commit(record);
        latencies.push(performance.now() - t0);
        if (!outcome.ok) throw new Error(`load: ${outcome.code} ${outcome.message}`);
      }
    }),
  );
  const ms = performance.now() - started;
  await retention;
  latencies.sort((a, b) => a - b);
  return {
    commitsPerSec: (latencies.length / ms) * 1000,
    p50Ms: pct(latencies, 50),
    p99Ms: pct(latencies, 99),
    maxMs: latencies[latencies.length - 1] ?? 0,
    retentionRows,
    retentionBusyMs,
  };
}

const mean = (xs: Phase[], key: keyof Phase): number => xs.reduce((a, x) => a + x[key], 0) / xs.length;

async function main(): Promise<void> {
  const db = await useTestDatabase('bench_retention');
  const stop = cleanUpOnInterrupt(() => db.drop());
  const writer = new MySqlTransitionWriter(db.pool);
  try {
    const seeded = performance.now();
    await seed(db.pool, writer);
    console.log(
      `seeded ${SEED_RUNTIMES} finished runtimes x ${STEPS} steps in ${((performance.now() - seeded) / 1000).toFixed(1)} s`,
    );
    const job = new RetentionJob({
      store: new MySqlRetentionStore(db.pool),
      leases: { holds: () => true },
      intervalMs: 0,
      idempotencyDays: 30,
      eventsDays: 30,
      finishedDays: 30,
      mode: 'archive',
      runTimeoutMs: 1000, // short runs, one after the other, that end with the phase
    });
    await phase(writer, 'warm-up'); // connections, buffer pool, JIT: neither side pays for them
    const without: Phase[] = [];
    const withRetention: Phase[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      without.push(await phase(writer, `a${round}`));
      withRetention.push(await phase(writer, `b${round}`, job));
    }
    const left = await db.pool.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM runtimes WHERE id LIKE 'old-%'");
    const throughputRatio = mean(withRetention, 'commitsPerSec') / mean(without, 'commitsPerSec');
    const p99Limit = MAX_P99_RATIO * mean(without, 'p99Ms') + 5;
    const pass = throughputRatio >= MIN_THROUGHPUT_RATIO && mean(withRetention, 'p99Ms') <= p99Limit;
    const row = (label: string, p: Phase) => [
      label,
      p.commitsPerSec.toFixed(0),
      p.p50Ms.toFixed(1),
      p.p99Ms.toFixed(1),
      p.maxMs.toFixed(1),
      p.retentionRows === 0 ? '-' : `${p.retentionRows} in ${(p.retentionBusyMs / 1000).toFixed(1)} s`,
    ];
    printTable(
      `${CALLERS} callers committing, ${ROUNDS} alternating ${PHASE_SECONDS} s phases; load average ${os.loadavg()[0]?.toFixed(1)}`,
      [
        ['phase', 'commits/s', 'p50 ms', 'p99 ms', 'max ms', 'rows retention removed'],
        ...without.flatMap((a, i) => [
          row(`(a${i + 1}) no retention`, a),
          row(`(b${i + 1}) retention running (archive)`, withRetention[i]!),
        ]),
      ],
    );
    const busy = withRetention.reduce((a, p) => a + p.retentionBusyMs, 0) / 1000;
    const rows = withRetention.reduce((a, p) => a + p.retentionRows, 0);
    console.log(
      `\nold runtimes left: ${String(left[0][0]?.n)} of ${SEED_RUNTIMES}; retention removed ${rows} rows (keys forgotten ` +
        `included) in ${busy.toFixed(1)} s of runs: ${(rows / busy).toFixed(0)} rows/s beside the load`,
    );
    console.log(
      `means: (a) ${mean(without, 'commitsPerSec').toFixed(0)} commits/s p99 ${mean(without, 'p99Ms').toFixed(1)} ms; ` +
        `(b) ${mean(withRetention, 'commitsPerSec').toFixed(0)} commits/s p99 ${mean(withRetention, 'p99Ms').toFixed(1)} ms`,
    );
    console.log(
      `goal: (b) keeps >= ${MIN_THROUGHPUT_RATIO * 100}% of (a)'s commits/s: ${(throughputRatio * 100).toFixed(0)}%; ` +
        `(b) p99 <= ${MAX_P99_RATIO}x (a) + 5 ms = ${p99Limit.toFixed(1)} ms: ${mean(withRetention, 'p99Ms').toFixed(1)} ms  ${pass ? 'PASS' : 'FAIL'}`,
    );
    writeResult('retention', {
      seed: SEED_RUNTIMES,
      steps: STEPS,
      phaseSeconds: PHASE_SECONDS,
      without,
      withRetention,
      throughputRatio,
      pass,
    });
    process.exitCode = pass ? 0 : 1;
  } finally {
    await writer.close();
    await db.drop();
    stop();
  }
}

await main();
