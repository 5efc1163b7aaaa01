/**
 * bench/bflow-stack — a real bflow for the HTTP benchmarks: one `bflow gateway`
 * and N `bflow node` processes (`split`), or one `bflow all` process on the
 * cluster's services (`colocated`), against the machine's MariaDB (or the one
 * at `mysqlServer`), Redis and NATS,
 * on a fresh database (or a kept one), a unique cluster name (KV buckets,
 * subjects, event stream, Redis keys), `tenants` tenants each seeded with the
 * purchase-order workflow and the demo org chart. Each bflow process serves its
 * MySQL statement counts (bflow_mysql_*) with its other metrics unless
 * `statementMetrics` is false.
 *
 * `stop()` SIGTERMs every process (SIGKILL after 15 s; a --cpu-prof profile is
 * written on that graceful exit), deletes the stream, Redis keys and buckets,
 * and drops the database unless it is kept.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { runMigrations } from '../src/store/migrate.ts';
import { MySqlDirectoryStore } from '../src/store/mysql/directory-store.ts';
import { withDatabase } from '../src/store/mysql/mysql-url.ts';
import { createMySqlPool } from '../src/store/mysql/pool.ts';
import { MySqlWorkflowStore } from '../src/store/mysql/workflow-store.ts';
import { seedTenant } from '../test/actors/runtime-host/runtime-host-fixture.ts';
import { NodeProcess } from '../test/cluster/cluster-harness.ts';
import { BflowProcess, cleanupCluster, waitReady } from '../test/e2e/stack.ts';
import { testServerUrl, useTestDatabase } from '../test/harness/mysql.ts';
import { useTestNats } from '../test/harness/nats-server.ts';
import { freePort } from '../test/harness/ports.ts';
import { waitFor } from '../test/harness/wait.ts';
import { cleanUpOnInterrupt, reaped } from './reaper.ts';
import { TEST_MASTER_KEYS } from '../test/harness/master-keys.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const BENCH_SHARDS = 64;
/** Rate limits no bench load meets: for loads that put one (tenant, user) far above a person's pace. */
export const NO_RATE_LIMIT = { BFLOW_RATE_LIMIT_PER_MINUTE: '10000000', BFLOW_RATE_LIMIT_BURST: '1000000' } as const;

export interface StackOptions {
  /** Names the database and cluster (letters, digits, _; short). */
  name: string;
  /** `split`: a gateway and `nodes` node processes; `colocated`: `nodes` processes of `bflow all`. @default split */
  topology?: 'split' | 'colocated';
  nodes: number;
  /** The MySQL server (URL naming no database) the fresh database is created on. @default the tests' server */
  mysqlServer?: string;
  /** BFLOW_MYSQL_STATEMENT_METRICS of the processes (bench/measure.ts reads the counts). @default true */
  statementMetrics?: boolean;
  /** false: no BFLOW_REDIS_URL (snapshots in each node's bounded in-process cache). @default true */
  redis?: boolean;
  /** More variables for every bflow process (e.g. BFLOW_RATE_LIMIT_PER_MINUTE). */
  env?: Readonly<Record<string, string>>;
  /** Tenants `${tenantPrefix}-0` … seeded with the purchase-order workflow. */
  tenants: number;
  tenantPrefix?: string;
  /** Use (and keep) database `bflow_bench_<name>` instead of a fresh one dropped at stop. */
  keepDatabase?: boolean;
  /** Extra node options for the node processes and the gateway (e.g. --cpu-prof). */
  nodeArgs?: readonly string[];
  gatewayArgs?: readonly string[];
  /** BFLOW_LOG_LEVEL of the nodes (info: their shard lines are read). @default info */
  nodeLogLevel?: string;
  /** Runs on the (migrated) database before any bflow process starts, e.g. to seed it. */
  prepare?: (db: { url: string; pool: mysql.Pool }) => Promise<void>;
}

export interface BflowService {
  name: string;
  pid: number | undefined;
  /** Prometheus endpoint of the process (node metrics port, gateway /metrics). */
  metricsUrl: string;
}

export interface BenchStack {
  topology: 'split' | 'colocated';
  /** The HTTP API: the gateway's, or the first `bflow all`'s. */
  url: string;
  /** Every process's HTTP API: the gateway's, or each `bflow all`'s. */
  urls: string[];
  secret: string;
  cluster: string;
  tenantPrefix: string;
  /** The database URL (with its name). */
  mysqlUrl: string;
  /** The process serving HTTP: the gateway, or the first `bflow all`. */
  gateway: BflowProcess;
  /** The shard hosts: the nodes, or each `bflow all` (the first is `gateway`). */
  nodes: NodeProcess[];
  services(): BflowService[];
  stop(): Promise<void>;
}

interface Db {
  url: string;
  pool: mysql.Pool;
  drop(): Promise<void>;
}

/** A kept database: created (and migrated) when missing, never dropped. */
async function keptDatabase(name: string): Promise<Db> {
  const server = await testServerUrl();
  const database = `bflow_bench_${name}`;
  const admin = await mysql.createConnection({ uri: server, connectTimeout: 5000 });
  try {
    await admin.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(server, database);
  const pool = createMySqlPool(url, { connectionLimit: 8 });
  await runMigrations(pool);
  return { url, pool, drop: () => pool.end() };
}

/** Seeds tenants that have no purchase-order workflow yet (a kept database keeps its tenants). */
async function seedTenants(pool: mysql.Pool, prefix: string, count: number): Promise<void> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>('SELECT tenant FROM workflows WHERE id = ?', ['wf-po']);
  const seeded = new Set(rows.map((r) => String(r.tenant)));
  const stores = { workflows: new MySqlWorkflowStore(pool), directory: new MySqlDirectoryStore(pool) };
  const missing = Array.from({ length: count }, (_, i) => `${prefix}-${i}`).filter((t) => !seeded.has(t));
  for (let i = 0; i < missing.length; i += 8)
    await Promise.all(missing.slice(i, i + 8).map((t) => seedTenant(stores, t)));
}

/**
 * BFLOW_* settings from the bench's own environment (e.g. `BFLOW_PROJECTION_DELAY_MS=0 npm run bench -- approve`),
 * so a run can measure a setting; the stack's own variables (services, cluster, secret) override them.
 */
function tuning(): Record<string, string> {
  const passed = Object.entries(process.env).filter(
    ([k]) => k.startsWith('BFLOW_') && !k.startsWith('BFLOW_BENCH_') && !k.startsWith('BFLOW_TEST_'),
  );
  return Object.fromEntries(passed.map(([k, v]) => [k, v ?? '']));
}

/**
 * Node's flags in every deployment (deploy/docker/Dockerfile, deploy/systemd, `npm start`): a larger young
 * generation, so the objects of the commands in flight die there instead of being promoted (docs/operations.md).
 */
const PRODUCTION_NODE_FLAGS = ['--max-semi-space-size=64'];
/** The environment every deployment sets for glibc's malloc (docs/operations.md, Node's flags). */
const PRODUCTION_ENV = { MALLOC_ARENA_MAX: '2' };

/**
 * The bflow processes run the compiled build, as production does (`npm run bench` builds dist/ first), unless
 * BFLOW_BENCH_FROM_SOURCE=1 asks for the sources through tsx (or there is no complete build).
 * BFLOW_BENCH_NODE_FLAGS (space-separated) adds Node or V8 flags after the production ones, to measure one.
 */
function spawnService(verb: 'node' | 'gateway' | 'all', env: Record<string, string>, nodeArgs: readonly string[]) {
  const fromSource = process.env.BFLOW_BENCH_FROM_SOURCE === '1' || !existsSync(join(ROOT, 'dist', 'build.json'));
  const extraFlags = (process.env.BFLOW_BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
  const args = [
    ...PRODUCTION_NODE_FLAGS,
    ...extraFlags,
    ...nodeArgs,
    ...(fromSource ? ['--import', 'tsx'] : []),
    'bin/bflow.js',
    verb,
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      ...PRODUCTION_ENV,
      ...tuning(),
      ...(fromSource && { BFLOW_FROM_SOURCE: '1' }),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return reaped(child);
}

export async function startBenchStack(o: StackOptions): Promise<BenchStack> {
  const tenantPrefix = o.tenantPrefix ?? 't-b';
  const [db, nats] = await Promise.all([
    o.keepDatabase
      ? keptDatabase(o.name)
      : useTestDatabase(`bench_${o.name}`, o.mysqlServer === undefined ? {} : { server: o.mysqlServer }),
    useTestNats(o.name.slice(0, 16)),
  ]);
  const redisUrl = process.env.BFLOW_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const secret = randomBytes(32).toString('hex');
  const env = {
    BFLOW_MYSQL_URL: db.url,
    BFLOW_MASTER_KEYS: TEST_MASTER_KEYS,
    BFLOW_NATS_URL: nats.url,
    ...(o.redis === false ? {} : { BFLOW_REDIS_URL: redisUrl }),
    BFLOW_CLUSTER: nats.prefix,
    BFLOW_SHARDS: String(BENCH_SHARDS),
    BFLOW_LEASE_TTL_MS: '5000',
    BFLOW_JWT_SECRET: secret,
    // The bflow_mysql_* statement counts bench/measure.ts reads are opt-in.
    BFLOW_MYSQL_STATEMENT_METRICS: String(o.statementMetrics ?? true),
    ...o.env,
  };
  const topology = o.topology ?? 'split';
  const nodes: NodeProcess[] = [];
  const metricsPorts = new Map<string, number>();
  let gateway: BflowProcess | undefined;
  const removeData = async (): Promise<void> => {
    try {
      await cleanupCluster(nats.prefix, await nats.connect('bench-cleanup'), redisUrl);
    } finally {
      await nats.cleanup();
      await db.drop();
    }
  };
  const unregister = cleanUpOnInterrupt(removeData);
  /** Co-located, every `bflow all` but the first (which is `gateway`). */
  const moreColocated: BflowProcess[] = [];
  const stop = async (): Promise<void> => {
    // Co-located, `bflow all` is both: one SIGTERM (a second one could cut its drain short).
    await Promise.all([
      gateway?.stop(15_000),
      ...moreColocated.map((p) => p.stop(15_000)),
      ...(topology === 'split' ? nodes.map((n) => n.stop(15_000)) : []),
    ]);
    unregister();
    await removeData();
  };
  try {
    await seedTenants(db.pool, tenantPrefix, o.tenants);
    await o.prepare?.(db);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const urls = [url];
    // Co-located: `o.nodes` processes of `bflow all`, each serving HTTP on its own port and holding its share.
    for (let i = 1; topology === 'colocated' && i <= o.nodes; i++) {
      const id = o.nodes === 1 ? 'all' : `all${i}`;
      const ownPort = i === 1 ? port : await freePort();
      if (i > 1) urls.push(`http://127.0.0.1:${ownPort}`);
      const child = spawnService(
        'all',
        {
          ...env,
          BFLOW_PORT: String(ownPort),
          BFLOW_NODE_ID: `${nats.prefix}-${id}`,
          // The command path alone, like split (no notifier there): the notifier's cost is bench notifications'.
          BFLOW_NOTIFIER: process.env.BFLOW_NOTIFIER ?? 'false',
          // info: its shard lines are read.
          BFLOW_LOG_LEVEL: o.nodeLogLevel ?? 'info',
        },
        [...new Set([...(o.nodeArgs ?? []), ...(o.gatewayArgs ?? [])])],
      );
      const process_ = new BflowProcess(child);
      if (i === 1) gateway = process_;
      else moreColocated.push(process_);
      nodes.push(new NodeProcess(id, child));
    }
    for (let i = 1; topology === 'split' && i <= o.nodes; i++) {
      const id = `n${i}`;
      const metricsPort = await freePort();
      metricsPorts.set(id, metricsPort);
      const child = spawnService(
        'node',
        {
          ...env,
          BFLOW_NODE_ID: `${nats.prefix}-${id}`,
          BFLOW_METRICS_PORT: String(metricsPort),
          BFLOW_LOG_LEVEL: o.nodeLogLevel ?? 'info',
        },
        o.nodeArgs ?? [],
      );
      child.stdout?.resume();
      nodes.push(new NodeProcess(id, child));
    }
    gateway ??= new BflowProcess(
      spawnService(
        'gateway',
        { ...env, BFLOW_PORT: String(port), BFLOW_NODE_ID: `${nats.prefix}-gw`, BFLOW_LOG_LEVEL: 'warn' },
        o.gatewayArgs ?? [],
      ),
    );
    await waitFor(
      () => {
        const counts = nodes.map((n) => n.held.size);
        const even = BENCH_SHARDS / nodes.length;
        if (nodes.some((n) => n.exited)) throw new Error('a node exited while starting');
        return counts.reduce((a, b) => a + b, 0) === BENCH_SHARDS && counts.every((c) => Math.abs(c - even) <= 1);
      },
      {
        deadlineMs: 60_000,
        intervalMs: 100,
        what: `${nodes.length} shard host${nodes.length > 1 ? 's' : ''} holding an even share of ${BENCH_SHARDS} shards`,
      },
    );
    await waitReady(url, gateway);
    for (const [i, more] of moreColocated.entries()) await waitReady(urls[i + 1]!, more);
    const gw = gateway;
    return {
      topology,
      url,
      urls,
      secret,
      cluster: nats.prefix,
      tenantPrefix,
      mysqlUrl: db.url,
      gateway: gw,
      nodes,
      services: () => [
        ...(topology === 'colocated'
          ? nodes.map((n, i) => ({
              name: nodes.length === 1 ? 'bflow all' : `bflow all ${i + 1}`,
              pid: n.child.pid,
              metricsUrl: `${urls[i]}/metrics`,
            }))
          : [{ name: 'gateway', pid: gw.child.pid, metricsUrl: `${url}/metrics` }]),
        ...(topology === 'colocated' ? [] : nodes).map((n) => ({
          name: `node ${n.id}`,
          pid: n.child.pid,
          metricsUrl: `http://127.0.0.1:${metricsPorts.get(n.id)}/metrics`,
        })),
      ],
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
