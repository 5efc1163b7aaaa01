import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { runMigrations } from '../../src/store/migrate.ts';
import { withDatabase } from '../../src/store/mysql/mysql-url.ts';
import { createMySqlPool } from '../../src/store/mysql/pool.ts';
import { startPrivateMariaDb, type PrivateMariaDb } from './mariadb-server.ts';
import { assertServicesAllowed } from './no-services.ts';

export { startPrivateMariaDb, type PrivateMariaDb } from './mariadb-server.ts';

export interface TestDatabase {
  /** URL including the database name. */
  url: string;
  pool: mysql.Pool;
  /** Drops the database and ends the pool. */
  drop(): Promise<void>;
}

const DEFAULT_URL = 'mysql://root@127.0.0.1:3306';
let serverUrl: Promise<string> | undefined;
let privateServer: PrivateMariaDb | undefined;

async function reachable(url: string): Promise<boolean> {
  try {
    const conn = await mysql.createConnection({ uri: withDatabase(url, ''), connectTimeout: 2000 });
    await conn.end();
    return true;
  } catch {
    return false;
  }
}

/** The server tests use: BFLOW_TEST_MYSQL_URL, else local 3306, else a private mariadbd (once per process). */
export function testServerUrl(): Promise<string> {
  assertServicesAllowed('MariaDB/MySQL');
  serverUrl ??= (async () => {
    const url = process.env.BFLOW_TEST_MYSQL_URL ?? DEFAULT_URL;
    if (await reachable(url)) return withDatabase(url, '');
    privateServer = await startPrivateMariaDb();
    return privateServer.url;
  })();
  return serverUrl;
}

/** A fresh database `bflow_t_<prefix>_<random>` with all migrations applied, on `options.server` (a URL naming no database) or testServerUrl(). */
export async function useTestDatabase(
  prefix: string,
  options: { migrate?: boolean; server?: string } = {},
): Promise<TestDatabase> {
  const server = options.server ?? (await testServerUrl());
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 40);
  const name = `bflow_t_${clean}_${randomBytes(5).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: server, connectTimeout: 5000 });
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(server, name);
  // Counted, so tests can check how many statements a call sent (mysqlStatementCounts).
  const pool = createMySqlPool(url, { connectionLimit: 16, countStatements: true });
  if (options.migrate !== false) await runMigrations(pool);
  let dropped = false;
  const drop = async (): Promise<void> => {
    if (dropped) return;
    dropped = true;
    await pool.end().catch(() => undefined);
    const conn = await mysql.createConnection({ uri: server, connectTimeout: 5000 });
    try {
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
    } finally {
      await conn.end();
    }
  };
  return { url, pool, drop };
}
