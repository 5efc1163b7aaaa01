import { loadConfig } from '../app/config.ts';
import { runMigrations } from '../store/migrate.ts';
import { createMySqlPool } from '../store/mysql/pool.ts';
import type { CliIo } from './io.ts';

/** `bflow migrate`: applies pending migrations to BFLOW_MYSQL_URL (safe to run from several nodes at once). */
export async function run(
  args: string[],
  io: CliIo,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  if (args.length > 0) {
    io.err(`bflow migrate takes no arguments (got ${args.join(' ')}); it reads BFLOW_MYSQL_URL`);
    return 2;
  }
  const config = loadConfig(env);
  if (config.embedded) {
    io.err(
      'bflow migrate: BFLOW_MYSQL_URL is not set (e.g. mysql://root@127.0.0.1:3306/bflow); the embedded mode needs no migration',
    );
    return 2;
  }
  await createDatabaseIfMissing(config.mysqlUrl);
  const pool = createMySqlPool(config.mysqlUrl);
  try {
    const { applied } = await runMigrations(pool, { info: (_fields, msg) => msg !== undefined && io.out(msg) });
    io.out(applied.length === 0 ? 'schema is up to date' : `applied: ${applied.join(', ')}`);
    return 0;
  } finally {
    await pool.end();
  }
}

/** A newcomer's first `bflow migrate` should not fail on a database that does not exist yet. */
async function createDatabaseIfMissing(url: string): Promise<void> {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database === '') throw new Error(`BFLOW_MYSQL_URL names no database: ${url} (add /bflow)`);
  parsed.pathname = '/';
  const pool = createMySqlPool(parsed.toString(), { connectionLimit: 1 });
  try {
    await pool.query(
      `CREATE DATABASE IF NOT EXISTS \`${database.replaceAll('`', '``')}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    );
  } finally {
    await pool.end();
  }
}
