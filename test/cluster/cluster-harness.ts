import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { RowDataPacket } from 'mysql2/promise';
import { clusterStreams } from '../../src/actors/events/cluster-streams.ts';
import { NatsShardBus } from '../../src/actors/bus/nats-shard-bus.ts';
import { RoutingClient } from '../../src/actors/bus/routing-client.ts';
import type { ShardReply, ShardRequest } from '../../src/actors/bus/ports.ts';
import type { WorkflowDefinition } from '../../src/engine/index.ts';
import { MySqlDirectoryStore } from '../../src/store/mysql/directory-store.ts';
import { MySqlWorkflowStore } from '../../src/store/mysql/workflow-store.ts';
import { seedTenant } from '../actors/runtime-host/runtime-host-fixture.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';
import { useTestNats, type TestNats } from '../harness/nats-server.ts';
import { waitFor } from '../harness/wait.ts';
import { TEST_MASTER_KEYS } from '../harness/master-keys.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SHARDS = 64;
export const LEASE_TTL_MS = 3000;
export const TENANT = 't-cluster';

/** One `bflow node` process and the shards it says it serves (from its JSON log lines). */
export class NodeProcess {
  readonly held = new Set<number>();
  lost = 0;
  exited = false;
  private buffer = '';

  constructor(
    readonly id: string,
    readonly child: ChildProcess,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => this.read(chunk.toString()));
    child.once('exit', () => (this.exited = true));
  }

  private read(text: string): void {
    this.buffer += text;
    const lines = this.buffer.split('\n');
    this.buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as { change?: string; shard?: number };
      if (entry.shard === undefined || entry.change === undefined) continue;
      if (entry.change === 'acquired') this.held.add(entry.shard);
      else this.held.delete(entry.shard);
      if (entry.change === 'lost') this.lost++;
    }
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM and wait for the process to exit (graceful hand-over). */
  async stop(deadlineMs = 20_000): Promise<number | null> {
    if (this.exited) return this.child.exitCode;
    const exited = new Promise<number | null>((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), deadlineMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * A private cluster for one test file: its own database, NATS buckets, subjects
 * and event stream; node processes started with `bflow node`; a routing client
 * in the test process (what the gateway uses).
 */
export class ClusterHarness {
  readonly nodes = new Map<string, NodeProcess>();
  routing!: RoutingClient;
  private client!: NatsConnection;

  private constructor(
    readonly db: TestDatabase,
    readonly nats: TestNats,
  ) {}

  static async create(name: string): Promise<ClusterHarness> {
    const [db, nats] = await Promise.all([useTestDatabase(name), useTestNats(name)]);
    const harness = new ClusterHarness(db, nats);
    await seedTenant(
      { workflows: new MySqlWorkflowStore(db.pool), directory: new MySqlDirectoryStore(db.pool) },
      TENANT,
    );
    harness.client = await nats.connect('cluster-test-client');
    const bus = new NatsShardBus(harness.client, { prefix: nats.prefix });
    harness.routing = new RoutingClient(bus, { shardCount: SHARDS, tryTimeoutMs: 2000, deadlineMs: 15_000 });
    return harness;
  }

  /** Publishes another workflow and binds its app (apply mode) for the test tenant. */
  async seedWorkflow(id: string, def: WorkflowDefinition): Promise<void> {
    const workflows = new MySqlWorkflowStore(this.db.pool);
    await workflows.createWorkflow(TENANT, id, def, Date.now());
    await workflows.publish(TENANT, id, Date.now());
    await workflows.setAppConfig({ tenant: TENANT, companyId: '', app: def.app, mode: 'apply', workflowId: id });
  }

  get cluster(): string {
    return this.nats.prefix;
  }

  /** Starts `bflow node` (or `verb`: `all` hosts shards and serves the API, with BFLOW_PORT in `extraEnv`). */
  startNode(id: string, extraEnv: Record<string, string> = {}, verb: 'node' | 'all' = 'node'): NodeProcess {
    const env = {
      PATH: process.env.PATH ?? '',
      BFLOW_FROM_SOURCE: '1', // the sources under test, never a dist/ built from an older tree
      BFLOW_MYSQL_URL: this.db.url,
      BFLOW_MASTER_KEYS: TEST_MASTER_KEYS,
      BFLOW_NATS_URL: this.nats.url,
      BFLOW_CLUSTER: this.cluster,
      BFLOW_SHARDS: String(SHARDS),
      BFLOW_LEASE_TTL_MS: String(LEASE_TTL_MS),
      BFLOW_NODE_ID: id,
      BFLOW_LOG_LEVEL: 'info',
      ...extraEnv,
    };
    const child = spawn(process.execPath, ['bin/bflow.js', verb], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const node = new NodeProcess(id, child);
    this.nodes.set(id, node);
    return node;
  }

  live(): NodeProcess[] {
    return [...this.nodes.values()].filter((n) => !n.exited);
  }

  /** Waits until the live nodes serve every shard, each within ±1 of an even share. */
  async waitBalanced(deadlineMs = 30_000): Promise<number[]> {
    return waitFor(
      () => {
        const live = this.live();
        const counts = live.map((n) => n.held.size);
        const total = counts.reduce((a, b) => a + b, 0);
        const even = SHARDS / live.length;
        const balanced = total === SHARDS && counts.every((c) => Math.abs(c - even) <= 1);
        return balanced ? counts : undefined;
      },
      { deadlineMs, what: 'shards balanced across live nodes' },
    );
  }

  send(request: ShardRequest, deadlineMs = 15_000): Promise<ShardReply> {
    return this.routing.send(request, { deadlineMs });
  }

  async query(sql: string, values: unknown[] = []): Promise<RowDataPacket[]> {
    const [rows] = await this.db.pool.query<RowDataPacket[]>(sql, values);
    return rows;
  }

  async cleanup(): Promise<void> {
    for (const node of this.nodes.values()) if (!node.exited) node.signal('SIGKILL');
    await Promise.all(
      [...this.nodes.values()].map((n) => (n.exited ? undefined : new Promise((r) => n.child.once('exit', r)))),
    );
    try {
      const jsm = await jetstreamManager(this.client);
      for (const stream of Object.values(clusterStreams(this.cluster)))
        await jsm.streams.delete(stream).catch(() => undefined);
    } finally {
      await this.nats.cleanup();
      await this.db.drop();
    }
  }
}
