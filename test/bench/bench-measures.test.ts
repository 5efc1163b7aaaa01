import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarise } from '../../bench/load-process.ts';
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
});
