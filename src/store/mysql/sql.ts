import type mysql from 'mysql2/promise';
import { StoreError } from '../errors.ts';
import { type FieldCipher, isSealed, PLAINTEXT_CIPHER } from '../crypto/field-cipher.ts';
import { DEFAULT_QUERY_TIMEOUT_MS } from './pool.ts';
import { checkOptions, positive, resolveOptions, type OptionDefaults } from '../../shared/options.ts';

/** Options shared by the MySQL repositories. */
export interface MySqlRepositoryOptions {
  /** Client-side timeout of every query. @default 10000 */
  queryTimeoutMs?: number;
  /** Clock for the times the store sets itself (e.g. `published_at`). @default Date.now */
  now?: () => number;
  /** Seals the encrypted columns (docs/security.md) on write and opens them on read. @default PLAINTEXT_CIPHER (no keys) */
  cipher?: FieldCipher;
}

export const DEFAULT_MYSQL_REPOSITORY_OPTIONS = Object.freeze({
  queryTimeoutMs: DEFAULT_QUERY_TIMEOUT_MS,
  now: Date.now,
  cipher: PLAINTEXT_CIPHER,
} satisfies OptionDefaults<MySqlRepositoryOptions>);

/** A pool or one of its connections (inside a transaction). */
export type Queryable = Pick<mysql.Pool, 'query'> | mysql.PoolConnection;
export type Row = Record<string, unknown>;

/** The repositories' normalised options plus the pool they query. */
export interface SqlContext {
  db: mysql.Pool;
  timeout: number;
  now: () => number;
  cipher: FieldCipher;
  /** selectRows on the pool, with the context's timeout. */
  select(sql: string, values?: unknown[]): Promise<Row[]>;
  /** execute on the pool, with the context's timeout. */
  exec(sql: string, values?: unknown[]): Promise<mysql.ResultSetHeader>;
}

export function sqlContext(db: mysql.Pool, options: MySqlRepositoryOptions = {}): SqlContext {
  const { queryTimeoutMs, now, cipher } = resolveOptions(DEFAULT_MYSQL_REPOSITORY_OPTIONS, options);
  checkOptions('MySqlRepository', { queryTimeoutMs }, { queryTimeoutMs: positive });
  return {
    db,
    timeout: queryTimeoutMs,
    now,
    cipher,
    select: (sql, values) => selectRows(db, queryTimeoutMs, sql, values),
    exec: (sql, values) => execute(db, queryTimeoutMs, sql, values),
  };
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

/**
 * Whether `err` is MySQL being unavailable (connection loss, a timeout, a lock wait), as opposed to a statement
 * the server refused for what it holds (a constraint, a value, a trigger): the first passes, the second repeats.
 */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreError) return err.code === 'store_unavailable';
  const e = err as { code?: string; fatal?: boolean } | null;
  return !!e && (e.fatal === true || (e.code !== undefined && UNAVAILABLE.has(e.code)));
}

/** Connection loss, timeouts and lock waits become a retryable `store_unavailable`; other errors pass through. */
function toStoreError(err: unknown): unknown {
  const e = err as { message?: string; code?: string };
  if (!(err instanceof StoreError) && isUnavailable(err)) {
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

const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : undefined;

/** The JSON text of `value` as an encrypted text column stores it (sealed for its tenant, column and row). */
export function sealJson(cipher: FieldCipher, tenant: string, column: string, rowId: string, value: unknown): string {
  return cipher.seal(tenant, column, rowId, JSON.stringify(value));
}

/** Parses an encrypted text column: opened first when sealed; a value written before encryption parses as it is. */
export async function openJson<T>(
  cipher: FieldCipher,
  tenant: string,
  column: string,
  rowId: string,
  value: unknown,
): Promise<T> {
  const stored = text(value);
  if (stored === undefined) return value as T;
  return JSON.parse(await cipher.open(tenant, column, rowId, stored)) as T;
}

/**
 * A column of the JSON type (which must hold valid JSON) stores its sealed text as a JSON string; a value
 * written before encryption is the JSON itself.
 */
export function sealJsonColumn(
  cipher: FieldCipher,
  tenant: string,
  column: string,
  rowId: string,
  value: unknown,
): string {
  const json = JSON.stringify(value);
  return cipher.encrypts ? JSON.stringify(cipher.seal(tenant, column, rowId, json)) : json;
}

export async function openJsonColumn<T>(
  cipher: FieldCipher,
  tenant: string,
  column: string,
  rowId: string,
  value: unknown,
): Promise<T> {
  const parsed = readJson<unknown>(value);
  if (typeof parsed !== 'string' || !isSealed(parsed)) return parsed as T;
  return JSON.parse(await cipher.open(tenant, column, rowId, parsed)) as T;
}

export const str = (value: unknown): string => String(value);
export const num = (value: unknown): number => Number(value);
/** A nullable column as an optional field value. */
export const optStr = (value: unknown): string | undefined =>
  value === null || value === undefined ? undefined : String(value);
export const optNum = (value: unknown): number | undefined =>
  value === null || value === undefined ? undefined : Number(value);
