import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { startPrivateServer, type PrivateServer } from './private-server.ts';

/** A private mariadbd (`url` names no database); see PrivateServer. */
export type PrivateMariaDb = PrivateServer;

const INSTALL_HINT = 'install MariaDB (apt-get install mariadb-server) or set BFLOW_TEST_MYSQL_URL';

function installDataDir(dir: string): void {
  const res = spawnSync(
    'mariadb-install-db',
    [
      '--no-defaults',
      `--datadir=${join(dir, 'data')}`,
      '--skip-test-db',
      '--auth-root-authentication-method=normal',
      ...userArgs(),
    ],
    { encoding: 'utf8' },
  );
  if (res.error) throw new Error(`mariadb-install-db not runnable (${res.error.message}); ${INSTALL_HINT}`);
  if (res.status !== 0) throw new Error(`mariadb-install-db failed: ${res.stderr || res.stdout}`);
}

function userArgs(): string[] {
  return process.getuid?.() === 0 ? ['--user=root'] : [];
}

function serverArgs(dir: string, port: number, settings: Readonly<Record<string, string>>): string[] {
  return [
    '--no-defaults',
    `--datadir=${join(dir, 'data')}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${join(dir, 'mysqld.sock')}`,
    `--pid-file=${join(dir, 'mysqld.pid')}`,
    `--tmpdir=${dir}`,
    '--skip-grant-tables',
    '--skip-log-bin',
    '--innodb-buffer-pool-size=64M',
    '--max-connections=500',
    ...userArgs(),
    // Later options win: these override the defaults above.
    ...Object.entries(settings).map(([name, value]) => `--${name.replaceAll('_', '-')}=${value}`),
  ];
}

async function answers(url: string): Promise<boolean> {
  const conn = await mysql.createConnection({ uri: url, connectTimeout: 1000 });
  try {
    await conn.query('SELECT 1');
    return true;
  } finally {
    await conn.end().catch(() => undefined);
  }
}

/**
 * Starts a throwaway MariaDB in a temp dir on a free port (for crash/outage tests, and the benchmarks' own
 * server). Killed on process exit. `settings` are server variables (`innodb_buffer_pool_size` → `--innodb-buffer-pool-size=…`).
 */
export function startPrivateMariaDb(
  options: { startDeadlineMs?: number; settings?: Readonly<Record<string, string>> } = {},
): Promise<PrivateMariaDb> {
  const { settings = {}, ...rest } = options;
  return startPrivateServer({
    binary: 'mariadbd',
    dirPrefix: 'bflow-mariadb-',
    installHint: INSTALL_HINT,
    url: (port) => `mysql://root@127.0.0.1:${port}`,
    args: (dir, port) => serverArgs(dir, port, settings),
    answers,
    prepare: installDataDir,
    startDeadlineMs: 30_000,
    intervalMs: 100,
    ...rest,
  });
}
