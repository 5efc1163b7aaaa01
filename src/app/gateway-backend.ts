import { Redis } from 'ioredis';
import type mysql from 'mysql2/promise';
import type { Logger } from 'pino';
import { NatsNotificationSignal } from '../actors/notifications/index.ts';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { LeaseBucketReader } from '../actors/leases/index.ts';
import { connectNats, announceTenantChange } from '../actors/nats/index.ts';
import { NatsShardBus, RoutingClient, type ShardBus } from '../actors/bus/index.ts';
import { startCipher } from './cipher.ts';
import type { FieldCipher } from '../store/crypto/field-cipher.ts';
import { Closers } from './closers.ts';
import type { ClusterConfig } from './config.ts';
import type { CompiledVersions, GatewayDeps } from '../gateway/gateway-deps.ts';
import { MySqlDirectoryStore } from '../store/mysql/directory-store.ts';
import { invalidatingDirectory } from '../store/invalidating-directory.ts';
import { invalidatingWebhooks } from '../store/invalidating-webhooks.ts';
import { invalidatingWorkflows } from '../store/invalidating-workflows.ts';
import { createMySqlPool } from '../store/mysql/pool.ts';
import { registerMySqlStatementMetrics } from '../store/mysql/statement-metrics.ts';
import { MySqlAnalyticsReader } from '../store/mysql/analytics-reader.ts';
import { MySqlMigrationPlanStore } from '../store/mysql/migration-plan-store.ts';
import { MySqlRetentionStore } from '../store/mysql/retention-store.ts';
import { MySqlReadModel } from '../store/mysql/read-model.ts';
import { MySqlNotificationStore } from '../store/mysql/notification-store.ts';
import { MySqlWebhookStore } from '../store/mysql/webhook-store.ts';
import { MySqlWorkflowStore } from '../store/mysql/workflow-store.ts';
import { loadTracing } from './tracing.ts';

/**
 * What `bflow gateway` / `bflow all` serve HTTP from: the gateway's
 * dependencies and how to release them. Embedded (startEmbedded) or on a
 * cluster ({@link connectGatewayBackend}).
 */
export interface GatewayBackend {
  deps: GatewayDeps;
  /** Stops taking work, finishes what is in flight, closes every connection. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link connectGatewayBackend}; every field has a default. */
export interface GatewayBackendOptions {
  /** Where the metrics go; `bflow all` passes the node's, so one /metrics shows both. @default a new registry with the default process metrics */
  registry?: Registry;
  /** Budget of each readiness check (MySQL ping, NATS round trip, Redis ping, shard map read). @default 1000 */
  probeTimeoutMs?: number;
  /**
   * The shard bus commands are routed through. `bflow all` passes its node's, so that the node's own shards
   * are called in process (its owner closes it). @default a NatsShardBus on the gateway's own connection
   */
  bus?: ShardBus;
  /** Compiled workflow versions for views; `bflow all` passes its host's. @default the gateway's own cache */
  compiledVersions?: CompiledVersions;
  /** `bflow all` passes its node's, so a tenant's data keys are read and cached once per process. @default its own */
  cipher?: FieldCipher;
}

/** The cluster gateway's backend; `redis` is the connection a Redis rate-limit store should use (when configured). */
export interface ClusterGatewayBackend extends GatewayBackend {
  redis?: Redis;
}

/**
 * `bflow gateway` in a cluster: the read side on `BFLOW_MYSQL_READ_URL`
 * (directory, workflow and app-config writes on `BFLOW_MYSQL_URL`), commands
 * routed over NATS to the node holding each runtime's shard, shard ownership
 * read from the lease buckets. Connects without waiting for the nodes: until
 * they have recorded the shard map, `/ready` says `shardMap: false`.
 */
export async function connectGatewayBackend(
  config: ClusterConfig,
  logger: Logger,
  options: GatewayBackendOptions = {},
): Promise<ClusterGatewayBackend> {
  const closers = new Closers(logger);
  return closers.starting(async () => {
    const countStatements = config.mysqlStatementMetrics;
    const registry = options.registry ?? defaultRegistry(countStatements);
    const probeMs = options.probeTimeoutMs ?? 1000;
    const writePool = closers.add(
      'mysql pool',
      createMySqlPool(config.mysqlUrl, { connectionLimit: 4, countStatements }),
      (p) => p.end(),
    );
    const readPool =
      config.mysqlReadUrl === config.mysqlUrl
        ? writePool
        : closers.add('mysql read pool', createMySqlPool(config.mysqlReadUrl, { countStatements }), (p) => p.end());
    // The data keys on the primary: a tenant's first key is created there.
    const cipher = options.cipher ?? (await startCipher(config.encryption, writePool, logger));
    const redis =
      config.redisUrl === undefined
        ? undefined
        : closers.add('redis', connectRedis(config.redisUrl, logger), (r) => r.disconnect());
    const nc = closers.add(
      'nats connection',
      await connectNats({ url: config.natsUrl, name: `bflow-gateway-${config.nodeId}`, logger }),
      // A connection lost in an outage has nothing to drain.
      (c) => c.drain().catch(() => undefined),
    );
    // `bflow all` passes its node's bus, traced already.
    const tracing = options.bus ? undefined : await loadTracing(config.nodeId);
    const natsBus = (): ShardBus => {
      const bus = new NatsShardBus(nc, { prefix: config.cluster, logger });
      return tracing ? tracing.shardBus(bus) : bus;
    };
    const bus = options.bus ?? closers.add('shard bus', natsBus(), (b) => b.close());
    const router = new RoutingClient(bus, { shardCount: config.shards, registry });
    const leases = new LeaseBucketReader(nc, { cluster: config.cluster, timeoutMs: probeMs });
    const shardMap = shardMapCheck(leases, config, logger);
    const deps: GatewayDeps = {
      router,
      read: new MySqlReadModel(readPool, { cipher }),
      // Nodes drop their cached copy of a tenant's app configs and workflows, and of its directory, as soon as they change.
      workflows: invalidatingWorkflows(new MySqlWorkflowStore(writePool, { cipher }), (tenant) =>
        announceTenantChange(nc, config.cluster, 'definitions', tenant),
      ),
      directory: invalidatingDirectory(new MySqlDirectoryStore(writePool), (tenant) =>
        announceTenantChange(nc, config.cluster, 'directory', tenant),
      ),
      // Registrations on the primary (a create is read back at once), announced to the nodes' deliverers; the analytics read on the replica.
      webhooks: invalidatingWebhooks(new MySqlWebhookStore(writePool, { cipher }), (tenant) =>
        announceTenantChange(nc, config.cluster, 'webhooks', tenant),
      ),
      webhookAllowPrivate: config.webhooks.allowPrivate,
      analytics: new MySqlAnalyticsReader(readPool, { cipher }),
      // Plans on the primary: a created plan is read back at once, and its counts come from the log.
      migrations: new MySqlMigrationPlanStore(writePool, { cipher }),
      retention: new MySqlRetentionStore(writePool, { cipher }),
      // The inbox is read on the primary: a notification the SSE stream was woken for is there at once.
      notifications: new MySqlNotificationStore(writePool, { cipher }),
      notificationSignal: new NatsNotificationSignal(nc, config.cluster),
      cluster: () => leases.view(config.shards),
      readiness: async () => {
        const checks: Record<string, Promise<unknown>> = {
          mysql: Promise.all([ping(writePool, probeMs), readPool === writePool ? undefined : ping(readPool, probeMs)]),
          nats: nc.isClosed() ? Promise.reject(new Error('closed')) : nc.flush(),
          shardMap: shardMap().then((ok) => ok || Promise.reject(new Error('shard map unknown'))),
        };
        if (redis) checks.redis = redis.ping();
        return settleWithin(checks, probeMs);
      },
      registry,
      logger,
      ...(options.compiledVersions && { compiledVersions: options.compiledVersions }),
    };
    const stop = () => closers.close();
    return redis ? { deps, stop, redis } : { deps, stop };
  });
}

function defaultRegistry(withStatementMetrics: boolean): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (withStatementMetrics) registerMySqlStatementMetrics(registry);
  return registry;
}

function connectRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    commandTimeout: 1000,
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    // Commands issued in one turn of the event loop go out in one write (one syscall, not one per request).
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
  redis.on('error', (err: Error) => logger.debug({ err }, 'gateway: redis error'));
  return redis;
}

function ping(pool: mysql.Pool, timeoutMs: number): Promise<unknown> {
  return pool.query({ sql: 'SELECT 1', timeout: timeoutMs });
}

/**
 * The shard map is known once the nodes recorded the cluster's shard count
 * and it matches ours (another count would route runtimes to the wrong shards),
 * and every shard has had a holder: in a fresh cluster the nodes claim their
 * shards a heartbeat after they start, and until then a command for an unheld
 * shard would wait out its retries (a `bflow all` would be ready holding
 * nothing). Checked until it first holds, then kept: a failover later must not
 * take every gateway out of the load balancer.
 */
function shardMapCheck(leases: LeaseBucketReader, config: ClusterConfig, logger: Logger): () => Promise<boolean> {
  let known = false;
  let warned = false;
  return async () => {
    if (known) return true;
    const recorded = await leases.shardCount();
    if (recorded !== undefined && recorded !== config.shards && !warned) {
      warned = true;
      logger.error(
        { recorded, configured: config.shards },
        `cluster '${config.cluster}' has ${recorded} shards; start the gateway with BFLOW_SHARDS=${recorded}`,
      );
    }
    if (recorded !== config.shards) return false;
    known = (await leases.view(config.shards)).shards.every((s) => s.node !== null);
    return known;
  };
}

/** Each check's outcome: true when it resolved within `timeoutMs`. */
async function settleWithin(
  checks: Record<string, Promise<unknown>>,
  timeoutMs: number,
): Promise<Record<string, boolean>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
      const ok = await Promise.race([
        check.then(
          () => true,
          () => false,
        ),
        late,
      ]);
      clearTimeout(timer);
      return [name, ok] as const;
    }),
  );
  return Object.fromEntries(entries);
}
