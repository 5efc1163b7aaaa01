import { randomBytes } from 'node:crypto';
import { type TestDatabase, useTestDatabase } from '../harness/mysql.ts';
import type { TestNats } from '../harness/nats-server.ts';
import { freePort } from '../harness/ports.ts';
import { BflowProcess, type JwksServer, spawnBflow, waitReady } from './roles-fixture.ts';
import { TEST_MASTER_KEYS } from '../harness/master-keys.ts';

/**
 * The processes of test/app/roles-config.test.ts, each started through
 * bin/bflow.js with the variables its role reads set to values other than
 * their defaults.
 */

export const REDIS_URL = process.env.BFLOW_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Requests per caller before a 429; perMinute 1 refills none while the file runs (every other caller stays below). */
export const BURST = 20;
/** Failed authentications per client IP before a 429 (the roles' other tests fail a token or two from 127.0.0.1). */
export const AUTH_FAILURES_BURST = 5;
export const MAX_LIVE_ACTORS = 2;

export interface EmbeddedRole {
  process: BflowProcess;
  api: string;
  metrics: string;
  id: string;
}

export interface ClusterRoles {
  label: string;
  cluster: string;
  shards: number;
  leaseTtlMs: number;
  secret: string;
  db: TestDatabase;
  readUser: string;
  api: string;
  /** The process hosting runtimes, and the one serving the API (the same one for `bflow all`). */
  node: { process: BflowProcess; id: string; metrics: string; logLevel: string };
  gateway: { process: BflowProcess; id: string; metrics: string };
}

/** A user that may only read `db`, and the URL the gateway's read side connects with. */
async function readOnlyUrl(db: TestDatabase): Promise<{ user: string; url: string }> {
  const user = `bflow_ro_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(8).toString('hex');
  const name = new URL(db.url).pathname.slice(1);
  await db.pool.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
  await db.pool.query(`GRANT SELECT ON \`${name}\`.* TO '${user}'@'%'`);
  const url = new URL(db.url);
  url.username = user;
  url.password = password;
  return { user, url: url.toString() };
}

/** The webhook and retention settings every role stack runs with: short timeouts, a retention job every 300 ms. */
const WEBHOOK_AND_RETENTION_ENV = {
  BFLOW_WEBHOOK_TIMEOUT_MS: '300',
  BFLOW_WEBHOOK_MAX_ATTEMPTS: '2',
  BFLOW_WEBHOOK_CACHE_MS: '0',
  BFLOW_RETENTION_INTERVAL_MS: '300',
  BFLOW_RETENTION_IDEMPOTENCY_DAYS: '7',
  BFLOW_RETENTION_EVENTS_DAYS: '10',
  BFLOW_RETENTION_FINISHED_DAYS: '20',
  BFLOW_RETENTION_MODE: 'delete',
  BFLOW_RETENTION_BATCH: '50',
  BFLOW_RETENTION_RUN_TIMEOUT_MS: '5000',
} as const;

export async function startEmbeddedAll(jwks: JwksServer): Promise<EmbeddedRole> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const id = `emb-${randomBytes(3).toString('hex')}`;
  const process = new BflowProcess(
    spawnBflow('all', {
      BFLOW_PORT: String(port),
      BFLOW_JWKS_URL: jwks.url,
      BFLOW_NODE_ID: id,
      BFLOW_LOG_LEVEL: 'debug',
      BFLOW_METRICS_PORT: String(metricsPort),
      BFLOW_SHARDS: '5',
      BFLOW_CLUSTER: 'roles-embedded',
      BFLOW_MAX_LIVE_ACTORS: String(MAX_LIVE_ACTORS),
      BFLOW_START_DEFINITION_TTL_MS: '0',
      BFLOW_RATE_LIMIT_PER_MINUTE: '1',
      BFLOW_RATE_LIMIT_BURST: String(BURST),
      BFLOW_WEBHOOK_ALLOW_PRIVATE: 'false',
      ...WEBHOOK_AND_RETENTION_ENV,
      BFLOW_AUTH_FAILURES_PER_MINUTE: '1',
      BFLOW_AUTH_FAILURES_BURST: String(AUTH_FAILURES_BURST),
      BFLOW_TRUSTED_PROXY_HOPS: '1',
      // Not read embedded: reported as unused.
      BFLOW_WRITERS: '3',
      BFLOW_LEASE_TTL_MS: '4000',
    }),
  );
  const api = `http://127.0.0.1:${port}`;
  await readyOrKilled(api, process, [process]);
  return { process, api, metrics: `http://127.0.0.1:${metricsPort}/metrics`, id };
}

/** What the node part of a cluster role reads. */
function nodeEnv(
  nats: TestNats,
  cluster: string,
  db: TestDatabase,
  shards: number,
  leaseTtlMs: number,
): Record<string, string> {
  return {
    BFLOW_MYSQL_URL: db.url,
    BFLOW_MASTER_KEYS: TEST_MASTER_KEYS,
    BFLOW_NATS_URL: nats.url,
    BFLOW_REDIS_URL: REDIS_URL,
    BFLOW_CLUSTER: cluster,
    BFLOW_SHARDS: String(shards),
    BFLOW_LEASE_TTL_MS: String(leaseTtlMs),
    BFLOW_MAX_LIVE_ACTORS: String(MAX_LIVE_ACTORS),
    BFLOW_START_DEFINITION_TTL_MS: '0',
    BFLOW_WRITERS: '3',
    // 127.0.0.1 receivers, which a cluster refuses by default.
    BFLOW_WEBHOOK_ALLOW_PRIVATE: 'true',
    ...WEBHOOK_AND_RETENTION_ENV,
  };
}

/** What the gateway part of a cluster role reads. */
function gatewayEnv(
  nats: TestNats,
  cluster: string,
  db: TestDatabase,
  shards: number,
  secret: string,
  readUrl: string,
) {
  return {
    BFLOW_MYSQL_URL: db.url,
    BFLOW_MASTER_KEYS: TEST_MASTER_KEYS,
    BFLOW_MYSQL_READ_URL: readUrl,
    BFLOW_NATS_URL: nats.url,
    BFLOW_REDIS_URL: REDIS_URL,
    BFLOW_CLUSTER: cluster,
    BFLOW_SHARDS: String(shards),
    BFLOW_JWT_SECRET: secret,
    BFLOW_RATE_LIMIT_PER_MINUTE: '1',
    BFLOW_RATE_LIMIT_BURST: String(BURST),
    BFLOW_WEBHOOK_ALLOW_PRIVATE: 'true',
    BFLOW_AUTH_FAILURES_PER_MINUTE: '1',
    BFLOW_AUTH_FAILURES_BURST: String(AUTH_FAILURES_BURST),
    BFLOW_TRUSTED_PROXY_HOPS: '1',
  };
}

export async function startClusterAll(nats: TestNats, cluster: string): Promise<ClusterRoles> {
  const db = await useTestDatabase('roles_all');
  const read = await readOnlyUrl(db);
  const [port, metricsPort] = [await freePort(), await freePort()];
  const [shards, leaseTtlMs, secret, id] = [8, 4000, randomBytes(32).toString('hex'), `${cluster}-n`];
  const process = new BflowProcess(
    spawnBflow('all', {
      ...nodeEnv(nats, cluster, db, shards, leaseTtlMs),
      ...gatewayEnv(nats, cluster, db, shards, secret, read.url),
      BFLOW_PORT: String(port),
      BFLOW_NODE_ID: id,
      BFLOW_LOG_LEVEL: 'debug',
      BFLOW_METRICS_PORT: String(metricsPort),
    }),
  );
  const api = `http://127.0.0.1:${port}`;
  await readyOrKilled(api, process, [process]);
  const metrics = `http://127.0.0.1:${metricsPort}/metrics`;
  return {
    label: 'bflow all on a cluster',
    cluster,
    shards,
    leaseTtlMs,
    secret,
    db,
    readUser: read.user,
    api,
    node: { process, id, metrics, logLevel: 'debug' },
    gateway: { process, id, metrics },
  };
}

export async function startNodeAndGateway(nats: TestNats, cluster: string): Promise<ClusterRoles> {
  const db = await useTestDatabase('roles_ng');
  const read = await readOnlyUrl(db);
  const [port, nodeMetrics, gatewayMetrics] = [await freePort(), await freePort(), await freePort()];
  const [shards, leaseTtlMs, secret] = [6, 5000, randomBytes(32).toString('hex')];
  const [nodeId, gatewayId] = [`${cluster}-node`, `${cluster}-gw`];
  const node = new BflowProcess(
    spawnBflow('node', {
      ...nodeEnv(nats, cluster, db, shards, leaseTtlMs),
      BFLOW_NODE_ID: nodeId,
      BFLOW_LOG_LEVEL: 'warn',
      BFLOW_METRICS_PORT: String(nodeMetrics),
    }),
  );
  const gateway = new BflowProcess(
    spawnBflow('gateway', {
      ...gatewayEnv(nats, cluster, db, shards, secret, read.url),
      BFLOW_PORT: String(port),
      BFLOW_NODE_ID: gatewayId,
      BFLOW_LOG_LEVEL: 'debug',
      BFLOW_METRICS_PORT: String(gatewayMetrics),
    }),
  );
  const api = `http://127.0.0.1:${port}`;
  await readyOrKilled(api, gateway, [node, gateway]);
  return {
    label: 'bflow node + bflow gateway',
    cluster,
    shards,
    leaseTtlMs,
    secret,
    db,
    readUser: read.user,
    api,
    node: { process: node, id: nodeId, metrics: `http://127.0.0.1:${nodeMetrics}/metrics`, logLevel: 'warn' },
    gateway: { process: gateway, id: gatewayId, metrics: `http://127.0.0.1:${gatewayMetrics}/metrics` },
  };
}

/** Waits for `/ready`; when it never comes, kills the processes (nothing else would: they are not recorded yet). */
async function readyOrKilled(api: string, serving: BflowProcess, processes: BflowProcess[]): Promise<void> {
  try {
    await waitReady(api, serving);
  } catch (err) {
    for (const p of processes) p.child.kill('SIGKILL');
    throw err;
  }
}
