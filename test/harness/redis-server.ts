import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

export interface PrivateRedis {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Graceful shutdown (SIGTERM), waits for exit; `start()` brings it back on the same port. */
  stop(): Promise<void>;
  /** (Re)starts the server and waits until it answers PING. */
  start(): Promise<void>;
  /** Stops the server and deletes its directory. */
  destroy(): Promise<void>;
}

const live = new Set<{ child: ChildProcess | undefined; dir: string }>();

process.once('exit', () => {
  for (const s of live) {
    s.child?.kill('SIGKILL');
    rmSync(s.dir, { recursive: true, force: true });
  }
});

/** Sends PING over a raw socket; true on +PONG. */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'));
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
    socket.once('error', () => done(false));
  });
}

/** Starts a throwaway redis-server (no persistence) in a temp dir on a free port. Killed on process exit. */
export async function startPrivateRedis(options: { startDeadlineMs?: number } = {}): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'bflow-redis-'));
  const entry: { child: ChildProcess | undefined; dir: string } = { child: undefined, dir };
  live.add(entry);
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'];
  let output = '';

  const start = async (): Promise<void> => {
    if (entry.child && entry.child.exitCode === null && entry.child.signalCode === null) return;
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    entry.child = child;
    const keep = (d: Buffer): void => void (output = (output + d.toString()).slice(-4000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', (err) => (output += `\nspawn error: ${err.message}`));
    await waitFor(
      () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server exited:\n${output}`);
        return pings(port);
      },
      { deadlineMs: options.startDeadlineMs ?? 15_000, intervalMs: 50, what: `private redis-server on port ${port}` },
    ).catch((err: Error) => {
      child.kill('SIGKILL');
      throw new Error(`${err.message}\n${output}`, { cause: err });
    });
  };

  const stop = async (): Promise<void> => {
    const child = entry.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await exited;
  };

  const destroy = async (): Promise<void> => {
    await stop();
    live.delete(entry);
    rmSync(dir, { recursive: true, force: true });
  };

  await start();
  return { url: `redis://127.0.0.1:${port}`, port, start, stop, destroy };
}
