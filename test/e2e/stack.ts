import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { Redis } from 'ioredis';
import { clusterStreams } from '../../src/actors/events/cluster-streams.ts';
import { NodeProcess } from '../cluster/cluster-harness.ts';
import { useTestDatabase } from '../harness/mysql.ts';
import { useTestNats } from '../harness/nats-server.ts';
import { freePort } from '../harness/ports.ts';
import { waitFor } from '../harness/wait.ts';
import { TEST_MASTER_KEYS } from '../harness/master-keys.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A running bflow behind a real HTTP port, as the scenario suite sees it. */
export interface Stack {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** HS256 secret the gateway verifies tokens with. */
  secret: string;
  /** SIGTERM every process (SIGKILL after a grace period), wait for them, remove the test's data. */
  stop(): Promise<void>;
}

/** One bflow process with its output kept (stdout for the banner, stderr for the logs of a failure). */
export class BflowProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-20_000)));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  async stop(graceMs = 15_000): Promise<number | null> {
    if (!this.running) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

const spawned = new Set<ChildProcess>();
// Backstop: a test worker that dies without its afterAll leaves no bflow process behind.
process.once('exit', () => {
  for (const child of spawned) child.kill('SIGKILL');
});

/** `node bin/bflow.js <verb>` with only PATH and the given BFLOW_* variables (no inherited service URLs). */
export function spawnBflow(verb: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['bin/bflow.js', verb], {
    cwd: ROOT,
    // BFLOW_FROM_SOURCE: the sources under test, never a dist/ built from an older tree.
    env: { PATH: process.env.PATH ?? '', BFLOW_FROM_SOURCE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  return child;
}

/** Waits until `GET /ready` answers 200; fails at once if the process exits first. */
export async function waitReady(url: string, process: BflowProcess, deadlineMs = 60_000): Promise<void> {
  const outcome = await waitFor(
    async () => {
      if (!process.running) return 'exited';
      const res = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2000) });
      return res.status === 200 ? 'ready' : undefined;
    },
    { deadlineMs, intervalMs: 100, what: `${url}/ready` },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${process.stderr.slice(-4000)}`, { cause: err });
  });
  if (outcome === 'exited') {
    const code = await process.exited;
    throw new Error(
      `${url}: the process exited (${code}) before it was ready:\n${process.stdout.slice(-2000)}\n${process.stderr.slice(-4000)}`,
    );
  }
}

/** `bflow all` with no MySQL/NATS/Redis: the embedded mode, dev secret generated and printed. */
export async function startEmbeddedStack(): Promise<Stack & { process: BflowProcess }> {
  const port = await freePort();
  const proc = new BflowProcess(spawnBflow('all', { BFLOW_PORT: String(port), BFLOW_LOG_LEVEL: 'warn' }));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, proc);
    // The banner may reach us in several chunks, after /ready already answers.
    const secret = await waitFor(() => /dev JWT secret[^:]*: (\S+)/.exec(proc.stdout)?.[1], {
      deadlineMs: 10_000,
      what: 'the dev secret in the banner',
    }).catch(() => {
      throw new Error(`no dev secret in the banner:\n${proc.stdout}`);
    });
    return { url, secret, process: proc, stop: async () => void (await proc.stop()) };
  } catch (err) {
    proc.child.kill('SIGKILL');
    throw err;
  }
}

export const CLUSTER_SHARDS = 16;

export interface ClusterStack extends Stack {
  gateway: BflowProcess;
  nodes: NodeProcess[];
  /** BFLOW_CLUSTER: prefix of the KV buckets, subjects, stream and Redis keys. */
  cluster: string;
  redisUrl: string;
  /** What `/ready` answered once the gateway was up and before any node had started. */
  readyBeforeNodes: { status: number; body: unknown };
}

/** More variables for the processes of a cluster stack: every process's (`env`), the gateway's (`gateway`). */
export interface ClusterStackEnv {
  env?: Record<string, string>;
  gateway?: Record<string, string>;
}

/**
 * A real stack: a fresh database, unique cluster name (KV buckets, subjects,
 * stream, Redis keys), two `bflow node` processes and one `bflow gateway` on a
 * free port. Ready once the gateway's /ready is 200 and the nodes hold every shard.
 */
export async function startClusterStack(name: string, more: ClusterStackEnv = {}): Promise<ClusterStack> {
  const [db, nats, port] = await Promise.all([useTestDatabase(name), useTestNats(name), freePort()]);
  const redisUrl = process.env.BFLOW_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const secret = randomBytes(32).toString('hex');
  const env = {
    BFLOW_MYSQL_URL: db.url,
    BFLOW_MASTER_KEYS: TEST_MASTER_KEYS,
    BFLOW_NATS_URL: nats.url,
    BFLOW_REDIS_URL: redisUrl,
    BFLOW_CLUSTER: nats.prefix,
    BFLOW_SHARDS: String(CLUSTER_SHARDS),
    BFLOW_LEASE_TTL_MS: '3000',
    // Far beyond any test: a config change or a publish reaches the nodes by its change notice, or not at all.
    BFLOW_START_DEFINITION_TTL_MS: '600000',
    BFLOW_WEBHOOK_CACHE_MS: '600000',
    BFLOW_JWT_SECRET: secret,
    // The e2e receivers listen on 127.0.0.1, which a cluster refuses by default.
    BFLOW_WEBHOOK_ALLOW_PRIVATE: 'true',
    BFLOW_LOG_LEVEL: 'info',
    ...more.env,
  };
  // The gateway first: it must start (and say it is not ready) before any node has created the lease buckets.
  const gateway = new BflowProcess(
    spawnBflow('gateway', {
      ...env,
      BFLOW_PORT: String(port),
      BFLOW_NODE_ID: `${nats.prefix}-gw`,
      BFLOW_LOG_LEVEL: 'warn',
      ...more.gateway,
    }),
  );
  const nodes: NodeProcess[] = [];
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await Promise.all([gateway.stop(), ...nodes.map((n) => n.stop(15_000))]);
    try {
      await cleanupCluster(nats.prefix, await nats.connect('e2e-cleanup'), redisUrl);
    } finally {
      await nats.cleanup();
      await db.drop();
    }
  };
  let readyBeforeNodes: { status: number; body: unknown } | undefined;
  try {
    await waitFor(async () => !gateway.running || (await fetch(`${url}/health`)).status === 200, {
      deadlineMs: 60_000,
      what: 'gateway /health',
    });
    const early = await fetch(`${url}/ready`);
    readyBeforeNodes = { status: early.status, body: await early.json() };
    for (const id of ['n1', 'n2']) {
      const child = spawnBflow('node', { ...env, BFLOW_NODE_ID: `${nats.prefix}-${id}` });
      child.stdout?.resume();
      nodes.push(new NodeProcess(id, child));
    }
    await waitReady(url, gateway);
    await waitFor(
      () => nodes.reduce((n, p) => n + p.held.size, 0) === CLUSTER_SHARDS && nodes.every((p) => p.held.size > 0),
      {
        deadlineMs: 30_000,
        what: 'two nodes holding every shard',
      },
    );
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { url, secret, gateway, nodes, stop, cluster: nats.prefix, redisUrl, readyBeforeNodes: readyBeforeNodes! };
}

export async function cleanupCluster(
  cluster: string,
  nc: Awaited<ReturnType<Awaited<ReturnType<typeof useTestNats>>['connect']>>,
  redisUrl: string,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const stream of Object.values(clusterStreams(cluster))) await jsm.streams.delete(stream).catch(() => undefined);
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for (let cursor = '0'; ; ) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${cluster}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      if (next === '0') break;
      cursor = next;
    }
  } finally {
    redis.disconnect();
  }
}
