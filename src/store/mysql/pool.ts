import mysql from 'mysql2/promise';

export interface MySqlPoolOptions {
  /** Max open connections. @default 16 */
  connectionLimit?: number;
  /** TCP connect timeout. @default 5000 */
  connectTimeoutMs?: number;
  /** Max queued connection requests before failing fast (0 = unbounded). @default 0 */
  queueLimit?: number;
}

/** Default per-query timeout; pass it as `{ sql, timeout }` on every query. */
export const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

/**
 * A mysql2 pool with the settings every bflow connection needs: UTC, utf8mb4,
 * big numbers as strings when they overflow, one statement per query.
 */
export function createMySqlPool(url: string, options: MySqlPoolOptions = {}): mysql.Pool {
  const u = new URL(url);
  return mysql.createPool({
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    database: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : undefined,
    connectionLimit: options.connectionLimit ?? 16,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    queueLimit: options.queueLimit ?? 0,
    waitForConnections: true,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: false,
    charset: 'utf8mb4_bin',
    multipleStatements: false,
    enableKeepAlive: true,
  });
}

/** Parses a JSON column: MariaDB returns JSON as a string, MySQL 8 as an object. */
export function parseJsonColumn<T = unknown>(value: unknown): T {
  if (value === null || value === undefined) return value as T;
  if (typeof value === 'string') return JSON.parse(value) as T;
  if (Buffer.isBuffer(value)) return JSON.parse(value.toString('utf8')) as T;
  return value as T;
}

/** Same URL pointing at another database (or none when `database` is ''). */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = database ? `/${encodeURIComponent(database)}` : '';
  return u.toString();
}
