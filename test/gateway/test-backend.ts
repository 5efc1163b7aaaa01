import type { RetentionStore } from '../../src/store/retention-ports.ts';
import { MySqlRetentionStore } from '../../src/store/mysql/retention-store.ts';
import { sign } from 'hono/jwt';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { ClusterView } from '../../src/actors/leases/ports.ts';
import { RuntimeHost } from '../../src/actors/runtime-host/runtime-host.ts';
import { createApp } from '../../src/gateway/app.ts';
import type { GatewayDeps } from '../../src/gateway/gateway-deps.ts';
import type { Role } from '../../src/gateway/gateway-env.ts';
import { invalidatingWorkflows } from '../../src/store/invalidating-workflows.ts';
import { MemoryStore } from '../../src/store/memory/memory-store.ts';
import type { MigrationPlanStore } from '../../src/store/migration-ports.ts';
import { MySqlMigrationPlanStore } from '../../src/store/mysql/migration-plan-store.ts';
import { MemorySnapshotCache } from '../../src/store/memory/snapshot-cache.ts';
import { MySqlDirectoryStore } from '../../src/store/mysql/directory-store.ts';
import { MySqlReadModel } from '../../src/store/mysql/read-model.ts';
import { MySqlRuntimeStore } from '../../src/store/mysql/runtime-store.ts';
import { MySqlTransitionWriter } from '../../src/store/mysql/transition-writer.ts';
import { MySqlAnalyticsReader } from '../../src/store/mysql/analytics-reader.ts';
import type { NotificationStore } from '../../src/store/notification-ports.ts';
import { MySqlNotificationStore } from '../../src/store/mysql/notification-store.ts';
import { MySqlWebhookStore } from '../../src/store/mysql/webhook-store.ts';
import { MySqlWorkflowStore } from '../../src/store/mysql/workflow-store.ts';
import type { AnalyticsReader } from '../../src/store/analytics-ports.ts';
import type { WebhookStore } from '../../src/store/webhook-ports.ts';
import type {
  DirectoryStore,
  ReadModel,
  RuntimeStore,
  TransitionWriter,
  WorkflowStore,
} from '../../src/store/ports.ts';
import type { TestDatabase } from '../harness/mysql.ts';
import { poDoc, seedTenant, TestClock } from '../actors/runtime-host/runtime-host-fixture.ts';

export { PO_APP, PO_WORKFLOW, T0 } from '../actors/runtime-host/runtime-host-fixture.ts';
export { poDoc };

/** The store ports a test gateway runs on. */
interface Stores {
  runtimes: RuntimeStore;
  writer: TransitionWriter;
  workflows: WorkflowStore;
  directory: DirectoryStore;
  read: ReadModel;
  webhooks: WebhookStore;
  analytics: AnalyticsReader;
  notifications: NotificationStore;
  migrations: MigrationPlanStore;
  retention: RetentionStore;
}

function memoryStores(): Stores {
  const store = new MemoryStore();
  return {
    runtimes: store.runtimes,
    writer: store.writer,
    workflows: store.workflows,
    directory: store.directory,
    read: store.read,
    webhooks: store.webhooks,
    analytics: store.analytics,
    notifications: store.notifications,
    migrations: store.migrations,
    retention: store.retention,
  };
}

/** The MySQL repositories and a group-commit writer on `pool` (the cluster's read side and write path). */
function mysqlStores(pool: TestDatabase['pool']): Stores {
  return {
    runtimes: new MySqlRuntimeStore(pool),
    writer: new MySqlTransitionWriter(pool),
    workflows: new MySqlWorkflowStore(pool),
    directory: new MySqlDirectoryStore(pool),
    read: new MySqlReadModel(pool),
    webhooks: new MySqlWebhookStore(pool),
    analytics: new MySqlAnalyticsReader(pool),
    notifications: new MySqlNotificationStore(pool),
    migrations: new MySqlMigrationPlanStore(pool),
    retention: new MySqlRetentionStore(pool),
  };
}

export interface TestGatewayOptions {
  /** Run on the MySQL repositories of this database (its tables empty) instead of the in-process store. */
  mysql?: TestDatabase['pool'];
  /** The gateway's and the runtime host's logger. @default silent */
  logger?: Logger;
}

/** Tenants seeded with the org chart and the published purchase-order workflow (app config `apply`). */
export const TENANT_A = 'tenant-a';
export const TENANT_B = 'tenant-b';
/** The HS256 secret the test gateway verifies tokens with (forgery tests sign with it or around it). */
export const SECRET = 'gateway-api-tests-secret-0123456789abcdef';
const SHARDS = 4;

export interface Caller {
  tenant: string;
  employee: string;
  roles: Role[];
  companyId?: string;
}

export const member = (employee: string, tenant = TENANT_A): Caller => ({ tenant, employee, roles: ['member'] });
export const designer = (tenant = TENANT_A): Caller => ({ tenant, employee: 'dee', roles: ['designer'] });
export const admin = (tenant = TENANT_A): Caller => ({ tenant, employee: 'root', roles: ['admin'] });
export const integration = (tenant = TENANT_A): Caller => ({ tenant, employee: 'erp', roles: ['integration'] });

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * The real gateway app (createApp: auth, error handler, validation hook) over
 * the in-process backend: MemoryStore + a RuntimeHost holding every shard,
 * the router calling the host directly (or, with `mysql`, the MySQL
 * repositories and writer: what a cluster's nodes and gateways use). Clock
 * and ids are deterministic.
 */
export async function testGateway(options: TestGatewayOptions = {}) {
  const store = options.mysql === undefined ? memoryStores() : mysqlStores(options.mysql);
  const clock = new TestClock();
  const host = new RuntimeHost(
    {
      runtimes: store.runtimes,
      writer: store.writer,
      cache: new MemorySnapshotCache(),
      workflows: store.workflows,
      directory: store.directory,
      clock,
      ...(options.logger && { logger: options.logger }),
    },
    { shardCount: SHARDS, sweepIntervalMs: 0, directoryTtlMs: 0 },
  );
  for (let s = 0; s < SHARDS; s++) host.openShard(s, 1);
  await seedTenant(store, TENANT_A);
  await seedTenant(store, TENANT_B);
  let ids = 0;
  const sent: unknown[] = [];
  const deps: GatewayDeps = {
    router: { send: (request) => (sent.push(request), host.handle(request)) },
    read: store.read,
    // As embedded: a config change or a publish reaches the host's start cache at once.
    workflows: invalidatingWorkflows(store.workflows, (tenant) => host.invalidateStartDefinitions(tenant)),
    directory: store.directory,
    webhooks: store.webhooks,
    analytics: store.analytics,
    notifications: store.notifications,
    migrations: store.migrations,
    retention: store.retention,
    cluster: async (): Promise<ClusterView> => ({
      shardCount: SHARDS,
      nodes: [{ id: 'node-1', lastSeen: clock.now(), shards: SHARDS }],
      shards: [],
    }),
    readiness: async () => ({ store: true }),
    registry: new Registry(),
    logger: options.logger ?? pino({ level: 'silent' }),
    now: () => clock.now(),
    newId: () => `id-${++ids}`,
  };
  const app = createApp(deps, { auth: { secret: SECRET }, rateLimit: { perMinute: 1_000_000, burst: 1_000_000 } });

  async function call<T = any>(caller: Caller, method: string, path: string, o: CallOptions = {}): Promise<Reply<T>> {
    const claims = {
      sub: caller.employee,
      tid: caller.tenant,
      roles: caller.roles,
      exp: Math.floor(clock.now() / 1000) + 3600,
      ...(caller.companyId && { cid: caller.companyId }),
    };
    const headers: Record<string, string> = {
      Authorization: `Bearer ${await sign(claims, SECRET, 'HS256')}`,
      ...o.headers,
    };
    const init: RequestInit = { method, headers };
    if (o.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(o.body);
    }
    const res = await app.request(path, init);
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
  }

  const close = async (): Promise<void> => {
    host.close();
    await store.writer.close();
  };
  return { app, store, host, clock, deps, sent, call, close };
}

export type TestGateway = Awaited<ReturnType<typeof testGateway>>;

/** Starts a purchase order as `creator` and returns its view. */
export async function startPo(gw: TestGateway, docId: string, amount = 5_000_000, creator = member('alice')) {
  const res = await gw.call(creator, 'POST', '/api/v1/runtimes', {
    body: { app: 'purchase.order', docId, doc: poDoc(amount) },
  });
  if (res.status !== 201) throw new Error(`start ${docId}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Sends one action and returns the reply. */
export function act(
  gw: TestGateway,
  caller: Caller,
  runtimeId: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  return gw.call(caller, 'POST', `/api/v1/runtimes/${runtimeId}/actions`, { body, headers });
}
