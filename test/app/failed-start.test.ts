import { createServer, type Server } from 'node:net';
import mysql, { type RowDataPacket } from 'mysql2/promise';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkShardCount, openLeaseBuckets } from '../../src/actors/leases/lease-buckets.ts';
import { startClusterNode } from '../../src/app/cluster-node.ts';
import { loadServerConfig } from '../../src/app/config.ts';
import { cleanupCluster } from '../e2e/stack.ts';
import { type TestDatabase, testServerUrl, useTestDatabase } from '../harness/mysql.ts';
import { type TestNats, useTestNats } from '../harness/nats-server.ts';
import { freePort } from '../harness/ports.ts';
import { waitFor } from '../harness/wait.ts';
import { BflowProcess, exitOf, spawnBflow } from './roles-fixture.ts';
import { TEST_MASTER_KEYS, testKeyRing } from '../harness/master-keys.ts';
import { newDataKey } from '../../src/store/crypto/data-keys.ts';
import { runMigrations } from '../../src/store/migrate.ts';
import { MySqlDataKeyStore } from '../../src/store/mysql/data-key-store.ts';
import { createMySqlPool } from '../../src/store/mysql/pool.ts';

/**
 * A start that fails part way closes what it had opened: the MySQL pools
 * (counted in the server's process list), and in a process every pool,
 * connection and server, so that `bflow …` prints its error and exits (code
 * 70) instead of hanging with its event loop held open. Regression: a node
 * whose NATS was unreachable, or whose cluster has another shard count,
 * stayed up with its pools and NATS connection after the error.
 */

const REDIS_URL = process.env.BFLOW_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = 'failed-start-secret-0123456789abcdef';
const logger = pino({ level: 'silent' });
/** A cluster that recorded 3 shards: a node or gateway started with another count is refused. */
const RECORDED_SHARDS = 3;

let db: TestDatabase;
let nats: TestNats;
let admin: mysql.Connection;
let taken: Server;
let takenPort: number;
let unreachableNats: string;

beforeAll(async () => {
  [db, nats] = await Promise.all([useTestDatabase('failed_start', { migrate: false }), useTestNats('failed_start')]);
  // The database's own pool stays unused: every connection to it in the process list is the code under test's.
  admin = await mysql.createConnection({ uri: await testServerUrl() });
  unreachableNats = `nats://127.0.0.1:${await freePort()}`;
  const buckets = await openLeaseBuckets(await nats.connect('recorder'), {
    cluster: nats.prefix,
    ttlMs: 10_000,
    timeoutMs: 5_000,
  });
  await checkShardCount(buckets.meta, nats.prefix, RECORDED_SHARDS, 5_000);
  // Held on every interface, as the servers under test bind.
  taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, resolve));
  takenPort = (taken.address() as { port: number }).port;
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => taken?.close(resolve));
  await cleanupCluster(nats.prefix, await nats.connect('cleanup'), REDIS_URL).catch(() => undefined);
  await nats?.cleanup();
  await admin?.end();
  await db?.drop();
});

/** Connections to the test database, as the server lists them. */
async function connectionsToDb(): Promise<number> {
  const name = new URL(db.url).pathname.slice(1);
  const [rows] = await admin.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ?',
    [name],
  );
  return Number(rows[0]?.n);
}

const clusterEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  BFLOW_MYSQL_URL: db.url,
  BFLOW_MASTER_KEYS: TEST_MASTER_KEYS,
  BFLOW_NATS_URL: nats.url,
  BFLOW_CLUSTER: nats.prefix,
  BFLOW_SHARDS: String(RECORDED_SHARDS),
  BFLOW_LOG_LEVEL: 'error',
  ...extra,
});

describe('failed start - in process', () => {
  it('failed start - startClusterNode with NATS unreachable after the migrations: its MySQL pools are closed', async () => {
    const config = loadServerConfig(clusterEnv({ BFLOW_NATS_URL: unreachableNats }), 'node');
    await expect(startClusterNode(config, logger)).rejects.toThrow();
    await waitFor(async () => (await connectionsToDb()) === 0, { what: 'no connection to the database left' });
  });

  it('failed start - startClusterNode refused by the cluster (another shard count): pools, cache and NATS closed', async () => {
    const config = loadServerConfig(clusterEnv({ BFLOW_SHARDS: '4', BFLOW_REDIS_URL: REDIS_URL }), 'node');
    await expect(startClusterNode(config, logger)).rejects.toMatchObject({ code: 'shard_count_mismatch' });
    await waitFor(async () => (await connectionsToDb()) === 0, { what: 'no connection to the database left' });
  });
});

describe('failed start - bflow processes exit instead of hanging', () => {
  const started: BflowProcess[] = [];
  const run = (verb: string, env: Record<string, string>): BflowProcess => {
    const process = new BflowProcess(spawnBflow(verb, env));
    started.push(process);
    return process;
  };
  afterAll(async () => {
    for (const process of started) process.child.kill('SIGKILL');
  });

  it('failed start - bflow node on a cluster with another shard count: the error, exit 70', async () => {
    const node = run('node', clusterEnv({ BFLOW_SHARDS: '4', BFLOW_REDIS_URL: REDIS_URL }));
    expect(await exitOf(node)).toBe(70);
    expect(node.stderr).toContain(`BFLOW_SHARDS=${RECORDED_SHARDS}`);
  });

  // connectGatewayBackend opens no MySQL connection before NATS: its Redis connection is what held the process.
  it('failed start - bflow gateway with NATS unreachable (pools and Redis already open): exit 70', async () => {
    const env = clusterEnv({ BFLOW_NATS_URL: unreachableNats, BFLOW_JWT_SECRET: SECRET, BFLOW_REDIS_URL: REDIS_URL });
    expect(await exitOf(run('gateway', env))).toBe(70);
  });

  it('failed start - bflow all on a cluster whose BFLOW_PORT is taken (node, backend and rate limit store running): exit 70', async () => {
    const env = clusterEnv({ BFLOW_PORT: String(takenPort), BFLOW_JWT_SECRET: SECRET, BFLOW_REDIS_URL: REDIS_URL });
    const all = run('all', env);
    expect(await exitOf(all)).toBe(70);
    expect(all.stderr).toContain('EADDRINUSE');
  });

  it('failed start - bflow node whose BFLOW_METRICS_PORT is taken, the last step: exit 70', async () => {
    const node = run('node', clusterEnv({ BFLOW_METRICS_PORT: String(takenPort) }));
    expect(await exitOf(node)).toBe(70);
    expect(node.stderr).toContain('EADDRINUSE');
  });

  it('failed start - bflow all embedded whose BFLOW_PORT is taken: exit 70', async () => {
    expect(await exitOf(run('all', { BFLOW_PORT: String(takenPort), BFLOW_LOG_LEVEL: 'error' }))).toBe(70);
  });

  it('failed start - a cluster role without a way to verify tokens is refused before it opens anything: exit 2, naming the variables', async () => {
    for (const verb of ['gateway', 'all']) {
      const refused = run(verb, clusterEnv());
      expect(await exitOf(refused)).toBe(2);
      expect(refused.stderr).toMatch(/needs BFLOW_JWT_SECRET or BFLOW_JWKS_URL to verify tokens/);
    }
    const node = run('node', { BFLOW_LOG_LEVEL: 'error' });
    expect(await exitOf(node)).toBe(2);
    expect(node.stderr).toContain('bflow node needs BFLOW_MYSQL_URL and BFLOW_NATS_URL');
  });

  it('failed start - a cluster role without master keys is refused before it opens anything: exit 2, naming the variables', async () => {
    for (const verb of ['node', 'notifier']) {
      const refused = run(verb, clusterEnv({ BFLOW_MASTER_KEYS: '' }));
      expect(await exitOf(refused)).toBe(2);
      expect(refused.stderr).toContain(`bflow ${verb} needs BFLOW_MASTER_KEYS or BFLOW_MASTER_KEY_FILE`);
    }
  });

  it('failed start - bflow node restarted with the wrong key ring: the error names the key id, exit 70', async () => {
    // The cluster's data: one data key wrapped with the ring the stack runs with (TEST_MASTER_KEYS).
    // Its own pool, ended at once: the connections other tests count are the code under test's.
    const pool = createMySqlPool(db.url, { connectionLimit: 1 });
    const ring = testKeyRing();
    try {
      await runMigrations(pool);
      await new MySqlDataKeyStore(pool).insert(newDataKey(ring.active, 'failed-start', 1, 1).stored);
    } finally {
      await pool.end();
    }
    const wrong = run(
      'node',
      clusterEnv({ BFLOW_MASTER_KEYS: `${ring.active.id}:${Buffer.alloc(32, 9).toString('base64')}` }),
    );
    expect(await exitOf(wrong)).toBe(70);
    expect(wrong.stderr).toContain(`master key "${ring.active.id}" does not unwrap data key 1 of tenant failed-start`);
    const missing = run('node', clusterEnv({ BFLOW_MASTER_KEYS: `other:${Buffer.alloc(32, 9).toString('base64')}` }));
    expect(await exitOf(missing)).toBe(70);
    expect(missing.stderr).toContain(
      `wrapped with master key "${ring.active.id}", which the key ring (other) does not hold`,
    );
  });
});
