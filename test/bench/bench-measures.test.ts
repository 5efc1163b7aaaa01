import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveTargets, type SystemRun } from '../../bench/approve-targets.ts';
import { perCommand, type ServerCounters, STATUS_COUNTERS } from '../../bench/bench-mariadb.ts';
import type { HttpLoadReport } from '../../bench/http-load.ts';
import { summarise } from '../../bench/load-process.ts';
import { growthOf } from '../../bench/memory-growth.ts';
import { allowedMicros, BUDGET_PARTS, cpuBudget } from '../../bench/cpu-budget.ts';
import { machineBusySeconds } from '../../bench/process-stats.ts';
import { warmUpSeconds } from '../../bench/warm-up.ts';
import { readKindOf } from '../../bench/measure.ts';
import { scrape, sumOf } from '../../bench/metrics-scrape.ts';
import { leastSquares, trendOf, type SoakReport } from '../../bench/soak.ts';
import { createMySqlPool } from '../../src/store/mysql/pool.ts';
import { mysqlStatementCounts, registerMySqlStatementMetrics } from '../../src/store/mysql/statement-metrics.ts';
import { startMetricsServer } from '../../src/app/metrics-server.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';

describe('MySQL statement counts (src/store/mysql/statement-metrics.ts)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await useTestDatabase('bench_counts', { migrate: false });
  });
  afterAll(async () => {
    await db.drop();
  });

  const snapshot = () => ({
    ...mysqlStatementCounts,
    reads: new Map(mysqlStatementCounts.reads),
    timings: new Map([...mysqlStatementCounts.timings].map(([k, v]) => [k, [...v] as [number, number]])),
  });

  it('counts transactions (explicit and autocommit writes), commits, writes and reads by table', async () => {
    const pool = createMySqlPool(db.url, { connectionLimit: 2, countStatements: true });
    try {
      await pool.query('CREATE TABLE counted (id INT PRIMARY KEY, v INT NOT NULL)');
      const before = snapshot();
      await pool.query('SELECT 1');
      await pool.query('INSERT INTO counted VALUES (?, ?)', [1, 1]);
      const conn = await pool.getConnection();
      try {
        await conn.beginTransaction();
        await conn.query('SELECT v FROM counted WHERE id = ? FOR UPDATE', [1]);
        await conn.execute('UPDATE counted SET v = ? WHERE id = ?', [2, 1]);
        await conn.query({ sql: 'INSERT INTO `counted` VALUES (2, 2)' });
        await conn.commit();
        await conn.query('START TRANSACTION');
        await conn.query('DELETE FROM counted WHERE id = 2');
        await conn.rollback();
      } finally {
        conn.release();
      }
      const after = mysqlStatementCounts;
      expect(after.transactions - before.transactions).toBe(3); // autocommit INSERT + 2 explicit
      expect(after.commits - before.commits).toBe(1);
      expect(after.rollbacks - before.rollbacks).toBe(1);
      expect(after.writes - before.writes).toBe(4);
      expect(after.statements - before.statements).toBe(10);
      const readsOf = (key: string) => (after.reads.get(key) ?? 0) - (before.reads.get(key) ?? 0);
      expect(readsOf('none')).toBe(1);
      expect(readsOf('counted in_tx')).toBe(1);
      expect(readsOf('counted')).toBe(0);
      const timed = (key: string) => (after.timings.get(key)?.[0] ?? 0) - (before.timings.get(key)?.[0] ?? 0);
      expect([
        timed('INSERT counted'),
        timed('UPDATE counted'),
        timed('DELETE counted'),
        timed('SELECT counted'),
        timed('START'),
        timed('COMMIT'),
      ]).toEqual([2, 1, 1, 1, 2, 1]);
      expect(after.timings.get('COMMIT')![1]).toBeGreaterThan(0);
    } finally {
      await pool.end();
    }
  });

  it('count each statement of a multi-statement query, and the query once as a round trip', async () => {
    const pool = createMySqlPool(db.url, { connectionLimit: 1, multipleStatements: true, countStatements: true });
    try {
      await pool.query('CREATE TABLE counted_multi (id INT PRIMARY KEY, v INT NOT NULL)');
      const before = snapshot();
      await pool.query(
        'START TRANSACTION;\nINSERT INTO counted_multi VALUES (?, ?);\nSELECT v FROM counted_multi WHERE id = ?',
        [1, 1, 1],
      );
      await pool.query('COMMIT');
      const after = mysqlStatementCounts;
      expect(after.queries - before.queries).toBe(2);
      expect(after.statements - before.statements).toBe(4);
      expect(after.transactions - before.transactions).toBe(1);
      expect((after.reads.get('counted_multi in_tx') ?? 0) - (before.reads.get('counted_multi in_tx') ?? 0)).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('a pool counts nothing unless asked to (countStatements is opt-in)', async () => {
    const pool = createMySqlPool(db.url, { connectionLimit: 1 });
    try {
      const before = snapshot();
      await pool.query('SELECT 1');
      await pool.query('SELECT 2');
      expect(snapshot()).toEqual(before);
    } finally {
      await pool.end();
    }
  });

  it('are exposed as Prometheus counters', async () => {
    const registry = new Registry();
    registerMySqlStatementMetrics(registry);
    const server = await startMetricsServer(registry, 0, '127.0.0.1');
    try {
      const samples = await scrape(`http://127.0.0.1:${server.port}/metrics`);
      expect(sumOf(samples, 'bflow_mysql_transactions_total')).toBe(mysqlStatementCounts.transactions);
      expect(sumOf(samples, 'bflow_mysql_reads_total', (l) => l.includes('in_transaction="true"'))).toBe(
        [...mysqlStatementCounts.reads].filter(([k]) => k.endsWith(' in_tx')).reduce((s, [, n]) => s + n, 0),
      );
    } finally {
      await server.close();
    }
  });
});

describe('bench arithmetic', () => {
  it('reads are told apart by what they were for', () => {
    expect(readKindOf('runtimes', false)).toBe('runtime');
    expect(readKindOf('idempotency_keys', false)).toBe('runtime');
    expect(readKindOf('runtimes', true)).toBe('start');
    expect(readKindOf('employees', false)).toBe('cache');
    expect(readKindOf('app_configs', false)).toBe('cache');
    expect(readKindOf('outbox', false)).toBe('background');
    expect(readKindOf('none', false)).toBe('background');
  });

  it('leastSquares fits a line exactly and is flat for a constant', () => {
    const fit = leastSquares([0, 1, 2, 3].map((x) => [x, 10 + 2 * x] as const));
    expect(fit.slope).toBeCloseTo(2);
    expect(fit.intercept).toBeCloseTo(10);
    expect(
      leastSquares([
        [0, 5],
        [1, 5],
        [2, 5],
      ]).slope,
    ).toBe(0);
    expect(Number.isNaN(leastSquares([[0, 1]]).slope)).toBe(true);
  });

  it('the soak trend ignores a GC sawtooth and catches a leak', () => {
    // 10 minutes sampled every 5 s; RSS saws between 200 and 260 MiB every 40 s.
    const saw = (t: number) => 200 + ((t % 40) / 40) * 60;
    const samples = (leakMiBPerMin: number): SoakReport['samples'] =>
      Array.from(
        { length: 121 },
        (_, i) => [i * 5, 'node', saw(i * 5) + (leakMiBPerMin * i * 5) / 60, 10] as [number, string, number, number],
      );
    const flat = trendOf('node', samples(0), 120);
    expect(Math.abs(flat.rssGrowthPer10Min)).toBeLessThan(0.05);
    expect(flat.pass).toEqual({ rss: true, lag: true });
    const leaking = trendOf('node', samples(5), 120); // 50 MiB per 10 min on ~260 MiB peaks
    expect(leaking.rssGrowthPer10Min).toBeGreaterThan(0.15);
    expect(leaking.pass.rss).toBe(false);
  });

  it('the soak lag check is a trend: steady high lag passes, lag that keeps growing fails', () => {
    const samples = (lagAt: (t: number) => number): SoakReport['samples'] =>
      Array.from({ length: 121 }, (_, i) => [i * 5, 'gw', 200, lagAt(i * 5)] as [number, string, number, number]);
    expect(
      trendOf(
        'gw',
        samples((t) => 180 + (t % 20)),
        120,
      ).pass.lag,
    ).toBe(true);
    const growing = trendOf(
      'gw',
      samples((t) => 10 + t / 4),
      120,
    ); // +150 ms over 10 min
    expect(growing.lagLastQuarterMs).toBeGreaterThan(growing.lagFirstQuarterMs + 50);
    expect(growing.pass.lag).toBe(false);
  });

  it('summarise takes nearest-rank percentiles', () => {
    const s = summarise(Array.from({ length: 100 }, (_, i) => 100 - i));
    expect(s).toEqual({ count: 100, p50: 51, p95: 96, p99: 100, max: 100 });
    expect(summarise([]).count).toBe(0);
  });

  it('the warm-up is the start of the first 1 s at ≥ 90% of the steady rate', () => {
    const steady = Array.from({ length: 50 }, () => 100); // 100 per 100 ms = 1,000/s
    expect(warmUpSeconds(steady, 1000)).toBe(0);
    // 3 s at half speed, then full: the first span with ≤ 2 slow buckets starts at 2.8 s.
    const ramp = [...Array.from({ length: 30 }, () => 50), ...steady];
    expect(warmUpSeconds(ramp, 1000)).toBeCloseTo(2.8);
    expect(
      warmUpSeconds(
        Array.from({ length: 50 }, () => 50),
        1000,
      ),
    ).toBeNaN();
    expect(warmUpSeconds(steady, 0)).toBeNaN();
    expect(warmUpSeconds([], 1000)).toBeNaN();
  });

  it('MariaDB figures per command are the status deltas over the commands acknowledged', () => {
    const counters = (k: number, cpuSeconds: number, trx: number): ServerCounters => ({
      ...(Object.fromEntries(STATUS_COUNTERS.map((name) => [name, k])) as Record<
        (typeof STATUS_COUNTERS)[number],
        number
      >),
      trx_rw_commits: trx,
      cpuSeconds,
    });
    const d = perCommand(counters(100, 10, 50), counters(1100, 10.5, 150), 1000);
    expect(d.cpuMicros).toBeCloseTo(500);
    expect(d.statements).toBe(1);
    expect(d.transactions).toBeCloseTo(0.1);
    expect(d.handlerCommits).toBe(1);
    expect(d.byVerb.insert).toBe(3); // insert + insert … select + replace
    expect(d.byVerb.update).toBe(2); // update + multi-table update
    expect(perCommand(counters(0, 0, 0), counters(5, 1, 5), 0).statements).toBeNaN();
  });

  it('memory growth compares the sample at --growth-from with the median of the last three after it', () => {
    const samples = [100, 200, 300, 400, 500, 600, 700].map((k, i) => ({
      runtimes: k * 1000,
      heapUsedMiB: [50, 80, 100, 104, 150, 103, 105][i]!,
      rssMiB: 300,
    }));
    const heap = growthOf(samples, 200_000, 'heapUsedMiB');
    expect(heap).toEqual({ fromMiB: 80, toMiB: 105, growth: 105 / 80 - 1 });
    expect(growthOf(samples, 200_000, 'rssMiB').growth).toBe(0);
    expect(growthOf(samples, 700_000, 'rssMiB').growth).toBeNaN(); // nothing after the reference
    expect(growthOf(samples, 800_000, 'rssMiB').growth).toBeNaN();
  });

  it('the CPU budget sums each process of the machine per command, and the rate that sum allows', () => {
    const usage = [
      { name: 'bflow all', cores: 0.9 },
      { name: 'load (HTTP client)', cores: 0.2 },
      { name: 'mariadbd (private)', cores: 0.2 },
      { name: 'nats-server (shared)', cores: 0.16 },
      { name: 'redis-server (shared)', cores: 0.04 },
      { name: 'gone', cores: Number.NaN },
    ].map((u) => ({ ...u, pid: 1, rssMiB: 1, peakRssMiB: 1 }));
    const b = cpuBudget(usage, 2000, 2, 1.7);
    expect(BUDGET_PARTS.map((p) => p.part)).toEqual(['system', 'load', 'MariaDB', 'NATS', 'Redis']);
    expect(b.parts.map((x) => Math.round(x))).toEqual([450, 100, 100, 80, 20]);
    expect(Math.round(b.totalMicros)).toBe(750);
    expect(Math.round(b.ceiling)).toBe(2667); // 2 cores ÷ 750 µs
    expect(b.machineBusyCores).toBe(1.7);
    expect(allowedMicros(4000, 2)).toBe(500);
    const busy = machineBusySeconds();
    expect(busy).toBeGreaterThan(0);
    expect(machineBusySeconds()).toBeGreaterThanOrEqual(busy);
  });

  it('approve targets: each bflow system against the baseline of the same run', () => {
    const run = (
      system: SystemRun['system'],
      cmdPerSec: number,
      p99: number,
      cpuMicros: number,
      lag?: { p99: number; timeouts: number },
    ): SystemRun => ({
      system,
      label: system,
      usage: [],
      warmUpSeconds: 1,
      serverCpuMicros: 0,
      budget: cpuBudget([], cmdPerSec, 2, 1),
      db: { cpuMicros, statements: 1, transactions: 0.1, handlerCommits: 1, bytesIn: 1000, bytesOut: 100, byVerb: {} },
      load: {
        commandsPerSecond: cmdPerSec,
        latencyMs: { count: 1, p50: p99 / 2, p95: p99, p99, max: p99 },
        ...(lag && {
          inboxLag: {
            lagMs: { count: 100, p50: 1, p95: 1, p99: lag.p99, max: lag.p99 },
            timeouts: lag.timeouts,
            reads: 1,
            failedReads: 0,
          },
        }),
      } as HttpLoadReport,
    });
    const baseline = run('baseline', 1000, 60, 400);
    const good = approveTargets({
      baseline,
      split: run('split', 1300, 100, 130, { p99: 400, timeouts: 0 }),
      colocated: run('colocated', 2100, 55, 120, { p99: 100, timeouts: 0 }),
      'colocated-plain': run('colocated-plain', 2200, 50, 120, { p99: 100, timeouts: 0 }),
    });
    expect(good.map((t) => t.pass)).toEqual([true, true, true, true, true, true, true, true, false, true]);
    expect(good.at(-1)?.value).toBe('0.95× (on 2,100/s p99 55 ms 0 µs bflow CPU/cmd; off 2,200/s p99 50 ms 0 µs)');
    // With an off run before and one after, on is judged against their mean.
    const twice = approveTargets({
      colocated: run('colocated', 2100, 55, 120),
      'colocated-plain': run('colocated-plain', 2600, 50, 120),
      'colocated-plain-after': run('colocated-plain-after', 2000, 60, 120),
    });
    expect(twice.at(-1)).toMatchObject({
      value: '0.91× (on 2,100/s p99 55 ms 0 µs bflow CPU/cmd; off (mean of 2 runs) 2,300/s p99 55 ms 0 µs)',
      pass: true,
    });
    // Co-located: 2.1× but a p99 above the baseline's; split: a lag timeout; MariaDB CPU just above 1/3.
    const bad = approveTargets({
      baseline,
      split: run('split', 1300, 100, 134, { p99: 100, timeouts: 1 }),
      colocated: run('colocated', 2100, 61, 120, { p99: 100, timeouts: 0 }),
      'colocated-plain': run('colocated-plain', 2400, 50, 120, { p99: 100, timeouts: 0 }),
    });
    expect(bad.filter((t) => !t.pass).map((t) => t.goal)).toEqual([
      "split: MariaDB CPU per command ≤ 1/3 of the baseline's",
      'split: inbox lag p99 ≤ 500 ms',
      "co-located: ≥ 2× the baseline's commands/s, p99 ≤ the baseline's",
      expect.stringContaining('longer-term'),
      'encryption at rest: co-located commands/s ≥ 0.90× the same with encryption off',
    ]);
    // A system that did not run fails its targets as "not measured".
    const partial = approveTargets({ baseline });
    expect(partial.every((t) => !t.pass && t.value.includes('not measured'))).toBe(true);
  });
});
