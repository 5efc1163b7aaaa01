import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type mysql from 'mysql2/promise';
import { StoreError } from './errors.ts';
import { checkOptions, nonNegative, resolveOptions, type OptionDefaults } from '../shared/options.ts';

/** The logging subset the runner uses (pino's `Logger` satisfies it). */
export interface MigrationLogger {
  info(obj: object, msg?: string): void;
}

export interface Migration {
  version: string;
  file: string;
  checksum: string;
  statements: string[];
}

export interface MigrateOptions {
  /** Folder of `NNN_name.sql` files. @default src/store/migrations */
  dir?: string;
  /** How long to wait for another node's migration lock. @default 60 */
  lockTimeoutSeconds?: number;
}

const DEFAULT_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const FILE_RE = /^(\d{3,})_[\w-]+\.sql$/;

/** Reads the migration files in version order. */
export async function loadMigrations(dir = DEFAULT_DIR): Promise<Migration[]> {
  const versionOf = (file: string) => Number(FILE_RE.exec(file)![1]);
  // By number, not by name: `1000_x.sql` comes after `999_y.sql`.
  const files = (await readdir(dir))
    .filter((f) => FILE_RE.test(f))
    .sort((a, b) => versionOf(a) - versionOf(b) || a.localeCompare(b));
  return Promise.all(
    files.map(async (file) => {
      const text = await readFile(`${dir.replace(/\/$/, '')}/${file}`, 'utf8');
      return {
        version: FILE_RE.exec(file)![1]!,
        file,
        checksum: createHash('sha256').update(text).digest('hex'),
        statements: splitStatements(text),
      };
    }),
  );
}

/** Drops `--` comment lines, then splits on `;` at a line end (files hold no procedures). */
export function splitStatements(text: string): string[] {
  return text
    .split(/\r?\n/)
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .split(/;[ \t]*(?:\n|$)/)
    .map((chunk) => chunk.trim())
    .filter((chunk) => chunk !== '');
}

export const DEFAULT_MIGRATE_OPTIONS = Object.freeze({
  dir: DEFAULT_DIR,
  lockTimeoutSeconds: 60,
} satisfies OptionDefaults<MigrateOptions>);

/**
 * Applies pending migrations under a MySQL named lock so nodes starting together
 * don't race. An applied migration whose file changed is refused (`migration_modified`).
 */
export async function runMigrations(
  pool: mysql.Pool,
  logger?: MigrationLogger,
  given: MigrateOptions = {},
): Promise<{ applied: string[] }> {
  const options = resolveOptions(DEFAULT_MIGRATE_OPTIONS, given);
  checkOptions('runMigrations', options, { lockTimeoutSeconds: nonNegative });
  const migrations = await loadMigrations(options.dir);
  const conn = await pool.getConnection();
  try {
    const lock = await acquireLock(conn, options.lockTimeoutSeconds);
    try {
      return { applied: await applyPending(conn, migrations, logger) };
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [lock]);
    }
  } finally {
    conn.release();
  }
}

async function acquireLock(conn: mysql.PoolConnection, timeoutSeconds: number): Promise<string> {
  // Scoped to the database: migrating two databases on one server need not serialise.
  const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT DATABASE() AS db');
  const lock = `bflow_migrate:${String(rows[0]?.db ?? '')}`.slice(0, 64);
  const [got] = await conn.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS ok', [lock, timeoutSeconds]);
  if (Number(got[0]?.ok) !== 1) {
    throw new StoreError('store_unavailable', `could not get migration lock ${lock} within ${timeoutSeconds}s`);
  }
  return lock;
}

async function applyPending(
  conn: mysql.PoolConnection,
  migrations: Migration[],
  logger?: MigrationLogger,
): Promise<string[]> {
  await conn.query(
    `CREATE TABLE IF NOT EXISTS schema_migrations (
       version VARCHAR(32) NOT NULL PRIMARY KEY,
       checksum CHAR(64) NOT NULL,
       applied_at BIGINT NOT NULL
     ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  );
  const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT version, checksum FROM schema_migrations');
  const done = new Map(rows.map((r) => [String(r.version), String(r.checksum)]));
  const applied: string[] = [];
  for (const m of migrations) {
    const checksum = done.get(m.version);
    if (checksum !== undefined) {
      if (checksum !== m.checksum) {
        throw new StoreError(
          'migration_modified',
          `applied migration ${m.file} was modified; add a new migration instead`,
        );
      }
      continue;
    }
    await applyOne(conn, m);
    logger?.info({ migration: m.file }, 'migration applied');
    applied.push(m.file);
  }
  return applied;
}

async function applyOne(conn: mysql.PoolConnection, m: Migration): Promise<void> {
  for (const [i, sql] of m.statements.entries()) {
    try {
      await conn.query({ sql, timeout: 120_000 });
    } catch (err) {
      // DDL commits implicitly in MySQL: the migration is not recorded, so fix the database by hand.
      throw new StoreError('migration_failed', `${m.file} statement ${i + 1} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  await conn.query('INSERT INTO schema_migrations (version, checksum, applied_at) VALUES (?, ?, ?)', [
    m.version,
    m.checksum,
    Date.now(),
  ]);
}
