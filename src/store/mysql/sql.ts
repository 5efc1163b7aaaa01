import type mysql from 'mysql2/promise';
import { StoreError } from '../errors.ts';
import { DEFAULT_QUERY_TIMEOUT_MS } from './pool.ts';
import { checkOptions, positive, resolveOptions, type OptionDefaults } from '../../shared/options.ts';

/** Options shared by the MySQL repositories. */
export interface MySqlRepositoryOptions {
  /** Client-side timeout of every query. @default 10000 */
  queryTimeoutMs?: number;
  /** Clock for the times the store sets itself (e.g. `published_at`). @default Date.now */
  now?: () => number;
}

export const DEFAULT_MYSQL_REPOSITORY_OPTIONS = Object.freeze({
  queryTimeoutMs: DEFAULT_QUERY_TIMEOUT_MS,
  now: Date.now,
} satisfies OptionDefaults<MySqlRepositoryOptions>);

/** A pool or one of its connections (inside a transaction). */
export type Queryable = Pick<mysql.Pool, 'query'> | mysql.PoolConnection;
export type Row = Record<string, unknown>;

/** The repositories' normalised options plus the pool they query. */
export interface SqlContext {
  db: mysql.Pool;
  timeout: number;
  now: () => number;
}

export function sqlContext(db: mysql.Pool, options: MySqlRepositoryOptions = {}): SqlContext {
  const { queryTimeoutMs, now } = resolveOptions(DEFAULT_MYSQL_REPOSITORY_OPTIONS, options);
  checkOptions('MySqlRepository', { queryTimeoutMs }, { queryTimeoutMs: positive });
  return { db, timeout: queryTimeoutMs, now };
}

/**
 * JSON columns come back as their text: MySQL 8 reports the JSON type and
 * MariaDB the `json` extended format, and mysql2 would parse both, which makes a
 * stored JSON string indistinguishable from JSON text. `readJson` parses once.
 */
const jsonAsText: mysql.TypeCast = (field, next) =>
  field.type === 'JSON' || field.extendedFormat === 'json' ? field.string('utf8') : next();

const UNAVAILABLE = new Set([
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_CONNECTION_LOST',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'POOL_CLOSED',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_CON_COUNT_ERROR',
]);

/** Connection loss, timeouts and lock waits become a retryable `store_unavailable`; other errors pass through. */
function toStoreError(err: unknown): unknown {
  const e = err as { code?: string; fatal?: boolean; message?: string };
  if (e && (e.fatal === true || (e.code !== undefined && UNAVAILABLE.has(e.code)))) {
    return new StoreError('store_unavailable', `MySQL unavailable: ${e.message ?? e.code}`, { cause: err });
  }
  return err;
}

/** Runs a SELECT with the context's timeout. */
export async function selectRows(db: Queryable, timeout: number, sql: string, values: unknown[] = []): Promise<Row[]> {
  try {
    const [rows] = await db.query<mysql.RowDataPacket[]>({ sql, values, timeout, typeCast: jsonAsText });
    return rows as Row[];
  } catch (err) {
    throw toStoreError(err);
  }
}

/** Runs an INSERT/UPDATE/DELETE with the context's timeout. */
export async function execute(
  db: Queryable,
  timeout: number,
  sql: string,
  values: unknown[] = [],
): Promise<mysql.ResultSetHeader> {
  try {
    const [result] = await db.query<mysql.ResultSetHeader>({ sql, values, timeout });
    return result;
  } catch (err) {
    throw toStoreError(err);
  }
}

/**
 * Runs `body` in a transaction on one connection: commit on success, rollback on any error. `isolation` sets
 * the level of this transaction only (the server's default otherwise).
 */
export async function inTransaction<T>(
  ctx: SqlContext,
  body: (conn: mysql.PoolConnection) => Promise<T>,
  isolation?: 'READ COMMITTED',
): Promise<T> {
  let conn: mysql.PoolConnection;
  try {
    conn = await ctx.db.getConnection();
  } catch (err) {
    throw toStoreError(err);
  }
  try {
    if (isolation !== undefined) await execute(conn, ctx.timeout, `SET TRANSACTION ISOLATION LEVEL ${isolation}`);
    await execute(conn, ctx.timeout, 'START TRANSACTION');
    const result = await body(conn);
    await execute(conn, ctx.timeout, 'COMMIT');
    return result;
  } catch (err) {
    await conn.query({ sql: 'ROLLBACK', timeout: ctx.timeout }).catch(() => undefined);
    throw err;
  } finally {
    conn.release();
  }
}

/** Parses a JSON column read through `selectRows` (text); tolerates an already-parsed value. */
export function readJson<T>(value: unknown): T {
  if (typeof value === 'string') return JSON.parse(value) as T;
  if (Buffer.isBuffer(value)) return JSON.parse(value.toString('utf8')) as T;
  return value as T;
}

export const str = (value: unknown): string => String(value);
export const num = (value: unknown): number => Number(value);
/** A nullable column as an optional field value. */
export const optStr = (value: unknown): string | undefined =>
  value === null || value === undefined ? undefined : String(value);
export const optNum = (value: unknown): number | undefined =>
  value === null || value === undefined ? undefined : Number(value);
