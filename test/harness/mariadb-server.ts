import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

export interface PrivateMariaDb {
  /** `mysql://root@127.0.0.1:<port>` (no database). */
  url: string;
  port: number;
  /** Graceful shutdown (SIGTERM), waits for exit; `start()` brings it back on the same data and port. */
  stop(): Promise<void>;
  /** Sends a signal to the server (SIGKILL = crash); does not wait. */
  kill(signal?: NodeJS.Signals): void;
  /** (Re)starts the server and waits until it answers. */
  start(): Promise<void>;
  /** Stops the server and deletes its data directory. */
  destroy(): Promise<void>;
}

const INSTALL_HINT = 'install MariaDB (apt-get install mariadb-server) or set BFLOW_TEST_MYSQL_URL';
const live = new Set<{ child: ChildProcess | undefined; dir: string }>();

process.once('exit', () => {
  for (const s of live) {
    s.child?.kill('SIGKILL');
    rmSync(s.dir, { recursive: true, force: true });
  }
});

function installDataDir(dir: string): void {
  const res = spawnSync(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${join(dir, 'data')}`, '--skip-test-db', '--auth-root-authentication-method=normal', ...userArgs()],
    { encoding: 'utf8' },
  );
  if (res.error) throw new Error(`mariadb-install-db not runnable (${res.error.message}); ${INSTALL_HINT}`);
  if (res.status !== 0) throw new Error(`mariadb-install-db failed: ${res.stderr || res.stdout}`);
}

function userArgs(): string[] {
  return process.getuid?.() === 0 ? ['--user=root'] : [];
}

function serverArgs(dir: string, port: number): string[] {
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

/** Starts a throwaway MariaDB in a temp dir on a free port (for crash/outage tests). Killed on process exit. */
export async function startPrivateMariaDb(options: { startDeadlineMs?: number } = {}): Promise<PrivateMariaDb> {
  const dir = mkdtempSync(join(tmpdir(), 'bflow-mariadb-'));
  const entry: { child: ChildProcess | undefined; dir: string } = { child: undefined, dir };
  live.add(entry);
  installDataDir(dir);
  const port = await freePort();
  const url = `mysql://root@127.0.0.1:${port}`;
  let stderr = '';

  const start = async (): Promise<void> => {
    const prev = entry.child;
    if (prev && prev.exitCode === null && prev.signalCode === null) {
      if (!prev.killed) return;
      await new Promise<void>((r) => prev.once('exit', () => r())); // a signalled server: let it die first
    }
    const child = spawn('mariadbd', serverArgs(dir, port), { stdio: ['ignore', 'ignore', 'pipe'] });
    entry.child = child;
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('error', (err) => (stderr += `\nspawn error: ${err.message}; ${INSTALL_HINT}`));
    await waitFor(
      () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`mariadbd exited:\n${stderr}`);
        return answers(url);
      },
      { deadlineMs: options.startDeadlineMs ?? 30_000, intervalMs: 100, what: `private mariadbd on port ${port}` },
    ).catch((err: Error) => {
      child.kill('SIGKILL');
      throw new Error(`${err.message}\n${stderr}`, { cause: err });
    });
  };

  const stop = async (): Promise<void> => {
    const child = entry.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    if (!child.killed) child.kill('SIGTERM');
    await exited;
  };

  const destroy = async (): Promise<void> => {
    await stop();
    live.delete(entry);
    rmSync(dir, { recursive: true, force: true });
  };

  await start();
  return { url, port, start, stop, destroy, kill: (signal = 'SIGKILL') => entry.child?.kill(signal) };
}
