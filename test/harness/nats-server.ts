import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { assertServicesAllowed } from './no-services.ts';
import { startPrivateServer, type PrivateServer } from './private-server.ts';

/** A private `nats-server -js`; see PrivateServer. */
export type PrivateNats = PrivateServer;

const INSTALL_HINT =
  'install nats-server 2.9+ (apt-get install nats-server) or point BFLOW_TEST_NATS_URL at a server started with -js';

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
export function startPrivateNats(options: { startDeadlineMs?: number } = {}): Promise<PrivateNats> {
  return startPrivateServer({
    binary: 'nats-server',
    dirPrefix: 'bflow-nats-',
    installHint: INSTALL_HINT,
    url: (port) => `nats://127.0.0.1:${port}`,
    args: (dir, port) => ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)],
    answers: (url) => natsAnswers(url, 500),
    ...options,
  });
}

let serverUrl: Promise<string> | undefined;

/** The server tests use: BFLOW_TEST_NATS_URL, else 127.0.0.1:4222, else a private nats-server (once per process). */
export function testNatsUrl(): Promise<string> {
  assertServicesAllowed('NATS');
  serverUrl ??= (async () => {
    const url = process.env.BFLOW_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
    if (await natsAnswers(url)) return url;
    try {
      return (await startPrivateNats()).url;
    } catch (err) {
      throw new Error(`no NATS server with JetStream at ${url} and none could be started: ${INSTALL_HINT}`, {
        cause: err,
      });
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
