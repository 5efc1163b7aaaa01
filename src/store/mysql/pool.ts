import mysql from 'mysql2/promise';
import { checkOptions, integer, nonNegative, resolveOptions, type OptionDefaults } from '../../shared/options.ts';
import { parseMySqlUrl } from './mysql-url.ts';
import { formatSql } from './sql-format.ts';
import { countStatements } from './statement-metrics.ts';

/** Options of {@link createMySqlPool}; every field has a default. */
export interface MySqlPoolOptions {
  /** Max open connections. @default 16 */
  connectionLimit?: number;
  /** TCP connect timeout. @default 5000 */
  connectTimeoutMs?: number;
  /** Max queued connection requests before failing fast (0 = unbounded). @default 0 */
  queueLimit?: number;
  /**
   * Allow several statements in one query (one round trip). Only for a pool whose every query is built from
   * placeholders (the transition writer's): it widens what an injected string could do. @default false
   */
  multipleStatements?: boolean;
  /**
   * Count and time the statements this pool sends (the bflow_mysql_* metrics of statement-metrics.ts, which
   * the benchmarks read): a diagnostic costing a regex and a timer per query. @default false
   */
  countStatements?: boolean;
}

export const DEFAULT_MYSQL_POOL_OPTIONS = Object.freeze({
  connectionLimit: 16,
  connectTimeoutMs: 5000,
  queueLimit: 0,
  multipleStatements: false,
  countStatements: false,
} satisfies OptionDefaults<MySqlPoolOptions>);

const multiStatementPools = new WeakSet<object>();

/** Whether `pool` was created with `multipleStatements` (its queries may hold several statements). */
export function allowsMultipleStatements(pool: object): boolean {
  return multiStatementPools.has(pool);
}

/** Default per-query timeout; pass it as `{ sql, timeout }` on every query. */
export const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

/**
 * A mysql2 pool with the settings every bflow connection needs: UTC, utf8mb4,
 * big numbers as strings when they overflow, one statement per query unless
 * `multipleStatements`, placeholders filled by {@link formatSql}.
 */
export function createMySqlPool(url: string, given: MySqlPoolOptions = {}): mysql.Pool {
  const options = resolveOptions(DEFAULT_MYSQL_POOL_OPTIONS, given);
  checkOptions('createMySqlPool', options, {
    connectionLimit: integer(1),
    connectTimeoutMs: nonNegative,
    queueLimit: integer(0),
  });
  const pool = mysql.createPool({
    ...parseMySqlUrl(url),
    connectionLimit: options.connectionLimit,
    connectTimeout: options.connectTimeoutMs,
    queueLimit: options.queueLimit,
    waitForConnections: true,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: false,
    charset: 'utf8mb4_bin',
    multipleStatements: options.multipleStatements,
    enableKeepAlive: true,
    // No async stack capture per query (~15 µs of client CPU each): our errors carry their own context.
    trace: false,
    queryFormat: (sql: string, values: unknown) => formatSql(sql, values, 'Z'),
  });
  if (options.countStatements) countStatements(pool);
  if (options.multipleStatements) multiStatementPools.add(pool);
  return pool;
}

/**
 * Opens `count` connections of `pool` now (and returns them to it), so that the first seconds of load do not
 * pay a connection handshake per new connection as the pool grows. A failure is only a cold pool: the
 * connections are opened on demand as before, so it resolves either way (with how many opened).
 */
export async function prewarmPool(pool: mysql.Pool, count: number): Promise<number> {
  const opened = await Promise.allSettled(Array.from({ length: count }, () => pool.getConnection()));
  for (const c of opened) if (c.status === 'fulfilled') c.value.release();
  return opened.filter((c) => c.status === 'fulfilled').length;
}
