import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

export interface PrivateNats {
  /** `nats://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Graceful shutdown (SIGTERM), waits for exit; `start()` brings it back on the same store and port. */
  stop(): Promise<void>;
  /** Sends a signal to the server (SIGKILL = crash, SIGSTOP = hang); does not wait. */
  kill(signal?: NodeJS.Signals): void;
  /** (Re)starts the server and waits until JetStream answers. */
  start(): Promise<void>;
  /** Stops the server and deletes its store directory. */
  destroy(): Promise<void>;
}

const INSTALL_HINT =
  'install nats-server 2.9+ (https://github.com/nats-io/nats-server/releases, or `go install github.com/nats-io/nats-server/v2@latest`) ' +
  'or point BFLOW_TEST_NATS_URL at a server started with -js';
const live = new Set<{ child: ChildProcess | undefined; dir: string }>();

process.once('exit', () => {
  for (const s of live) {
    s.child?.kill('SIGKILL');
    rmSync(s.dir, { recursive: true, force: true });
  }
});

/** True when `url` answers and has JetStream enabled. */
export async function natsAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({ servers: url, timeout: timeoutMs, reconnect: false });
    await (await jetstreamManager(nc, { timeout: timeoutMs })).getAccountInfo();
    return true;
  } catch {
    return false;
  } finally {
    await nc?.close().catch(() => undefined);
  }
}

/** Starts a throwaway `nats-server -js` in a temp dir on a free port (for outage tests). Killed on process exit. */
export async function startPrivateNats(options: { startDeadlineMs?: number } = {}): Promise<PrivateNats> {
  const dir = mkdtempSync(join(tmpdir(), 'bflow-nats-'));
  const entry: { child: ChildProcess | undefined; dir: string } = { child: undefined, dir };
  live.add(entry);
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  let output = '';
  const running = (c: ChildProcess | undefined): c is ChildProcess => c !== undefined && c.exitCode === null && c.signalCode === null;

  const start = async (): Promise<void> => {
    const prev = entry.child;
    if (running(prev)) {
      if (!prev.killed) return;
      await new Promise<void>((r) => prev.once('exit', () => r()));
    }
    const child = spawn('nats-server', ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    entry.child = child;
    child.stderr?.on('data', (d: Buffer) => void (output = (output + d.toString()).slice(-4000)));
    child.on('error', (err) => (output += `\nspawn error: ${err.message}; ${INSTALL_HINT}`));
    await waitFor(
      () => {
        if (!running(child)) throw new Error(`nats-server exited:\n${output}`);
        return natsAnswers(url, 500);
      },
      { deadlineMs: options.startDeadlineMs ?? 15_000, intervalMs: 50, what: `private nats-server on port ${port}` },
    ).catch((err: Error) => {
      child.kill('SIGKILL');
      throw new Error(`${err.message}\n${output}`, { cause: err });
    });
  };

  const stop = async (): Promise<void> => {
    const child = entry.child;
    if (!running(child)) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGCONT'); // a stopped server cannot act on SIGTERM
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

let serverUrl: Promise<string> | undefined;

/** The server tests use: BFLOW_TEST_NATS_URL, else 127.0.0.1:4222, else a private nats-server (once per process). */
export function testNatsUrl(): Promise<string> {
  serverUrl ??= (async () => {
    const url = process.env.BFLOW_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
    if (await natsAnswers(url)) return url;
    try {
      return (await startPrivateNats()).url;
    } catch (err) {
      throw new Error(`no NATS server with JetStream at ${url} and none could be started: ${INSTALL_HINT}`, { cause: err });
    }
  })();
  return serverUrl;
}

export interface TestNats {
  url: string;
  /** A unique name `t_<prefix>_<random>` for KV buckets and clusters; buckets starting with it are deleted by `cleanup`. */
  prefix: string;
  /** A new connection (closed by `cleanup` unless closed before). */
  connect(name?: string, url?: string): Promise<NatsConnection>;
  /** Closes the connections and deletes every KV bucket whose name starts with `prefix`. */
  cleanup(): Promise<void>;
}

/** Per-test-file NATS access: unique bucket prefix, tracked connections, cleanup. */
export async function useTestNats(prefix: string): Promise<TestNats> {
  const url = await testNatsUrl();
  const unique = `t_${prefix.replace(/[^\w]/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const conns = new Set<NatsConnection>();
  const open = async (name = unique, at = url): Promise<NatsConnection> => {
    const nc = await connect({ servers: at, name, timeout: 2000, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    conns.add(nc);
    return nc;
  };
  const cleanup = async (): Promise<void> => {
    await Promise.all([...conns].map((nc) => nc.close().catch(() => undefined)));
    conns.clear();
    const nc = await connect({ servers: url, timeout: 2000 });
    try {
      const jsm = await jetstreamManager(nc, { timeout: 5000 });
      for await (const name of jsm.streams.names()) {
        if (name.startsWith(`KV_${unique}`)) await jsm.streams.delete(name);
      }
    } finally {
      await nc.close();
    }
  };
  return { url, prefix: unique, connect: open, cleanup };
}
