import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertServicesAllowed } from './no-services.ts';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

/** A throwaway server process on a free port in a temp dir, for tests that break services. */
export interface PrivateServer {
  url: string;
  port: number;
  /** Graceful shutdown (SIGTERM, after SIGCONT so a stopped server can act on it); waits for exit. */
  stop(): Promise<void>;
  /** Sends a signal (SIGKILL = crash, SIGSTOP = hang); does not wait. */
  kill(signal?: NodeJS.Signals): void;
  /** (Re)starts the server on the same port and directory; waits until it answers. */
  start(): Promise<void>;
  /** Stops the server and deletes its directory. */
  destroy(): Promise<void>;
}

export interface PrivateServerSpec {
  /** Binary on PATH, e.g. `redis-server`. */
  binary: string;
  /** Temp dir name prefix, e.g. `bflow-redis-`. */
  dirPrefix: string;
  /** What to do when the binary is missing (appended to spawn errors). */
  installHint: string;
  url(port: number): string;
  args(dir: string, port: number): string[];
  /** Resolves true once the server answers at `url`. */
  answers(url: string): Promise<boolean>;
  /** One-time preparation of the directory (e.g. initialising a data dir). */
  prepare?(dir: string): void;
  startDeadlineMs?: number;
  intervalMs?: number;
}

interface Entry {
  child: ChildProcess | undefined;
  dir: string;
}

const live = new Set<Entry>();

process.once('exit', () => {
  for (const s of live) {
    s.child?.kill('SIGKILL');
    rmSync(s.dir, { recursive: true, force: true });
  }
});

const running = (c: ChildProcess | undefined): c is ChildProcess =>
  c !== undefined && c.exitCode === null && c.signalCode === null;

/** Starts a private server per `spec`; it is killed and its directory removed when the test process exits. */
export async function startPrivateServer(spec: PrivateServerSpec): Promise<PrivateServer> {
  assertServicesAllowed(`a private ${spec.binary}`);
  const dir = mkdtempSync(join(tmpdir(), spec.dirPrefix));
  const entry: Entry = { child: undefined, dir };
  live.add(entry);
  spec.prepare?.(dir);
  const port = await freePort();
  const url = spec.url(port);
  let output = '';

  const start = async (): Promise<void> => {
    const prev = entry.child;
    if (running(prev)) {
      if (!prev.killed) return;
      await new Promise<void>((r) => prev.once('exit', () => r())); // a signalled server: let it die first
    }
    const child = spawn(spec.binary, spec.args(dir, port), { stdio: ['ignore', 'pipe', 'pipe'] });
    entry.child = child;
    const keep = (d: Buffer): void => void (output = (output + d.toString()).slice(-4000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', (err) => (output += `\nspawn error: ${err.message}; ${spec.installHint}`));
    // Not signalled by a test: it crashed or was killed from outside. Its last output says why.
    child.once('exit', (code, signal) => {
      if (!child.killed)
        process.stderr.write(
          `private ${spec.binary} on port ${port} exited (${signal ?? `code ${code}`}):\n${output}\n`,
        );
    });
    await waitFor(
      () => {
        if (!running(child)) throw new Error(`${spec.binary} exited:\n${output}`);
        return spec.answers(url).catch(() => false);
      },
      {
        deadlineMs: spec.startDeadlineMs ?? 15_000,
        intervalMs: spec.intervalMs ?? 50,
        what: `private ${spec.binary} on port ${port}`,
      },
    ).catch((err: Error) => {
      child.kill('SIGKILL');
      throw new Error(`${err.message}\n${output}`, { cause: err });
    });
  };

  const stop = async (): Promise<void> => {
    const child = entry.child;
    if (!running(child)) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    await exited;
  };

  const destroy = async (): Promise<void> => {
    await stop();
    live.delete(entry);
    rmSync(dir, { recursive: true, force: true });
  };

  await start();
  return { url, port, start, stop, destroy, kill: (signal = 'SIGKILL') => void entry.child?.kill(signal) };
}
