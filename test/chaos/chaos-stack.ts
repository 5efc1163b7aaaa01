import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { clusterStreams } from '../../src/actors/events/cluster-streams.ts';
import { runMigrations } from '../../src/store/migrate.ts';
import { withDatabase } from '../../src/store/mysql/mysql-url.ts';
import { createMySqlPool } from '../../src/store/mysql/pool.ts';
import { NodeProcess } from '../cluster/cluster-harness.ts';
import { BflowProcess, spawnBflow, waitReady, type Stack } from '../e2e/stack.ts';
import { startPrivateMariaDb, type PrivateMariaDb } from '../harness/mariadb-server.ts';
import { startPrivateNats, type PrivateNats } from '../harness/nats-server.ts';
import { freePort } from '../harness/ports.ts';
import type { PrivateServer } from '../harness/private-server.ts';
import { startPrivateRedis, type PrivateRedis } from '../harness/redis-server.ts';
import { waitFor } from '../harness/wait.ts';
import { TEST_MASTER_KEYS } from '../harness/master-keys.ts';

/** Options of {@link ChaosStack.start}; every field has a default. */
export interface ChaosStackOptions {
  /** `bflow node` processes at the start. @default 2 */
  nodes?: number;
  /** @default 16 */
  shards?: number;
  /** BFLOW_LEASE_TTL_MS of every node. @default 3000 */
  leaseTtlMs?: number;
  /** Directory the processes' logs are written to (one file each); none when unset. */
  logDir?: string;
  /** More environment for every bflow process (e.g. BFLOW_PROJECTION_DELAY_MS). @default none */
  env?: Record<string, string>;
}

/** The three services a chaos scenario may break: private instances on free ports, never the machine's shared ones. */
export interface ChaosServices {
  mysql: PrivateMariaDb;
  redis: PrivateRedis;
  nats: PrivateNats;
}

const CLUSTER = 'chaos';
const DATABASE = 'bflow';

/**
 * A real cluster for chaos scenarios: private mariadbd, redis-server and
 * nats-server (so a scenario may stop, kill or restart them), one `bflow
 * gateway` on a fixed port (a replacement binds the same one) and `bflow node`
 * processes that can be killed, frozen and replaced. The database and
 * directory stay the same for the whole run (the invariant checker replays
 * against them).
 */
export class ChaosStack implements Stack {
  readonly nodes = new Map<string, NodeProcess>();
  readonly url: string;
  readonly secret = randomBytes(32).toString('hex');
  /** A pool on the scenario's database, for the invariant checker (created lazily: MySQL may be down). */
  readonly mysqlUrl: string;
  gateway!: BflowProcess;
  private generation = 0;
  private readonly logs = new Set<WriteStream>();

  private constructor(
    readonly services: ChaosServices,
    readonly port: number,
    readonly options: Required<Omit<ChaosStackOptions, 'logDir'>> & { logDir?: string },
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.mysqlUrl = withDatabase(services.mysql.url, DATABASE);
  }

  /** Starts the services, migrates, then the gateway and the nodes; ready once every shard is held. */
  static async start(options: ChaosStackOptions = {}): Promise<ChaosStack> {
    const services = await startServices();
    const port = await freePort(); // once the servers hold theirs
    const o = {
      nodes: options.nodes ?? 2,
      shards: options.shards ?? 16,
      leaseTtlMs: options.leaseTtlMs ?? 3000,
      logDir: options.logDir,
      env: options.env ?? {},
    };
    const stack = new ChaosStack(services, port, o);
    try {
      await stack.createDatabase();
      stack.startGateway();
      for (let i = 1; i <= o.nodes; i++) stack.startNode(`n${i}`);
      await waitReady(stack.url, stack.gateway);
      await stack.waitAllShardsHeld();
    } catch (err) {
      await stack.stop().catch(() => undefined);
      throw err;
    }
    return stack;
  }

  get cluster(): string {
    return CLUSTER;
  }

  /** The JetStream stream the nodes publish committed events to. */
  get eventStream(): string {
    return clusterStreams(CLUSTER).events;
  }

  /** Environment of every bflow process of the stack. */
  env(): Record<string, string> {
    return {
      BFLOW_MYSQL_URL: this.mysqlUrl,
      BFLOW_MASTER_KEYS: TEST_MASTER_KEYS,
      BFLOW_NATS_URL: this.services.nats.url,
      BFLOW_REDIS_URL: this.services.redis.url,
      BFLOW_CLUSTER: CLUSTER,
      BFLOW_SHARDS: String(this.options.shards),
      BFLOW_LEASE_TTL_MS: String(this.options.leaseTtlMs),
      BFLOW_JWT_SECRET: this.secret,
      BFLOW_LOG_LEVEL: 'info',
      // Every client of the stack is 127.0.0.1: the per-IP failed-authentication limit would answer the load's
      // good tokens 429 once the bad inputs (no token, forged ones) emptied the address's bucket.
      BFLOW_AUTH_FAILURES_BURST: '1000000',
      BFLOW_AUTH_FAILURES_PER_MINUTE: '1000000',
      ...this.options.env,
    };
  }

  /** Spawns `bflow gateway` on the stack's port (again, after a kill); does not wait for /ready. */
  startGateway(): BflowProcess {
    const name = `gw${++this.generation}`;
    this.gateway = new BflowProcess(
      spawnBflow('gateway', { ...this.env(), BFLOW_PORT: String(this.port), BFLOW_NODE_ID: `${CLUSTER}-${name}` }),
    );
    this.keepLog(name, this.gateway.child.stderr);
    return this.gateway;
  }

  /** Spawns a `bflow node` (a fresh process identity, as a restarted host would have a new pid). */
  startNode(name: string): NodeProcess {
    const child = spawnBflow('node', { ...this.env(), BFLOW_NODE_ID: `${CLUSTER}-${name}` });
    child.stdout?.resume();
    const node = new NodeProcess(name, child);
    this.nodes.set(name, node);
    this.keepLog(name, child.stderr);
    return node;
  }

  /** The nodes still running. */
  live(): NodeProcess[] {
    return [...this.nodes.values()].filter((n) => !n.exited);
  }

  /** Waits until the live nodes say they hold every shard between them. */
  async waitAllShardsHeld(deadlineMs = 45_000): Promise<void> {
    await waitFor(() => new Set(this.live().flatMap((n) => [...n.held])).size === this.options.shards, {
      deadlineMs,
      intervalMs: 50,
      what: `every one of ${this.options.shards} shards held by a live node`,
    });
  }

  /** Opens a connection pool on the scenario's database (the caller ends it). */
  pool(): mysql.Pool {
    return createMySqlPool(this.mysqlUrl, { connectionLimit: 4, connectTimeoutMs: 2000 });
  }

  /** Stops every bflow process (SIGKILL: a chaos run needs no graceful exit), then the services; removes their directories. */
  async stop(): Promise<void> {
    const procs = [...this.nodes.values()]
      .filter((n) => !n.exited)
      .map((n) => new Promise((r) => (n.signal('SIGCONT'), n.signal('SIGKILL'), n.child.once('exit', r))));
    if (this.gateway?.running) {
      this.gateway.child.kill('SIGKILL');
      procs.push(this.gateway.exited);
    }
    await Promise.all(procs);
    for (const log of this.logs) log.end();
    await Promise.all([this.services.mysql.destroy(), this.services.redis.destroy(), this.services.nats.destroy()]);
  }

  private async createDatabase(): Promise<void> {
    const admin = await mysql.createConnection({ uri: this.services.mysql.url, connectTimeout: 5000 });
    try {
      await admin.query(`CREATE DATABASE \`${DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    } finally {
      await admin.end();
    }
    const pool = this.pool();
    try {
      await runMigrations(pool);
    } finally {
      await pool.end();
    }
  }

  private keepLog(name: string, stream: NodeJS.ReadableStream | null | undefined): void {
    if (this.options.logDir === undefined || !stream) return;
    mkdirSync(this.options.logDir, { recursive: true });
    const file = createWriteStream(join(this.options.logDir, `${name}.log`), { flags: 'w' });
    this.logs.add(file);
    stream.on('data', (d: Buffer) => file.write(d));
  }
}

/** Starts the three private servers; when one fails, stops the others and rethrows. */
async function startServices(): Promise<ChaosServices> {
  const started = await Promise.allSettled([startPrivateMariaDb(), startPrivateRedis(), startPrivateNats()]);
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.destroy() : undefined)));
    throw failed.reason;
  }
  const [mysql, redis, nats] = started.map((r) => (r as PromiseFulfilledResult<PrivateServer>).value) as [
    PrivateServer,
    PrivateServer,
    PrivateServer,
  ];
  return { mysql, redis, nats };
}
