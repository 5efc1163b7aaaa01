import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { clusterStreams, JetStreamEventPublisher, OutboxRelay, registerOutboxMetrics } from '../actors/events/index.ts';
import { connectNats, onTenantChange } from '../actors/nats/index.ts';
import { NatsLeaseManager } from '../actors/leases/index.ts';
import { NatsShardBus } from '../actors/bus/index.ts';
import { JetStreamWebhookConsumer, WebhookDeliverer, registerWebhookMetrics } from '../actors/webhooks/index.ts';
import { RuntimeHost } from '../actors/runtime-host/index.ts';
import { ShardNode } from '../actors/shard-node/index.ts';
import { TimerService, registerTimerMetrics } from '../actors/timers/index.ts';
import type { BflowConfig } from './config.ts';
import { startMetricsServer } from './metrics-server.ts';
import { CachedRuntimeStore } from '../store/cached-runtime-store.ts';
import { MemorySnapshotCache } from '../store/memory/snapshot-cache.ts';
import { runMigrations } from '../store/migrate.ts';
import { MySqlDirectoryStore } from '../store/mysql/directory-store.ts';
import { createMySqlPool } from '../store/mysql/pool.ts';
import { registerMySqlStatementMetrics } from '../store/mysql/statement-metrics.ts';
import { MySqlRuntimeStore } from '../store/mysql/runtime-store.ts';
import { createMySqlTransitionWriter } from '../store/mysql/transition-writer.ts';
import { registerTransitionWriterMetrics } from '../store/mysql/writer-metrics.ts';
import { MySqlWebhookStore } from '../store/mysql/webhook-store.ts';
import { MySqlWorkflowStore } from '../store/mysql/workflow-store.ts';
import type { SnapshotCache } from '../store/ports.ts';
import { RedisSnapshotCache } from '../store/redis/snapshot-cache.ts';
import { shardedWriter } from '../store/sharded-writer.ts';

export interface ClusterNode {
  node: ShardNode;
  host: RuntimeHost;
  registry: Registry;
  /** Graceful stop: drain and hand over every shard, flush, close connections. */
  stop(): Promise<void>;
}

/**
 * `bflow node`: a shard host on MySQL (+ Redis) and NATS. Applies migrations
 * (under the named lock), then claims its share of the shards.
 */
export async function startClusterNode(config: BflowConfig, logger: Logger): Promise<ClusterNode> {
  if (config.mysqlUrl === undefined || config.natsUrl === undefined)
    throw new Error('a cluster node needs BFLOW_MYSQL_URL and BFLOW_NATS_URL');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const countStatements = config.mysqlStatementMetrics;
  if (countStatements) registerMySqlStatementMetrics(registry);
  // Each writer holds a connection for its batch in flight; the rest serve activations, timers, the outbox and webhooks.
  const pool = createMySqlPool(config.mysqlUrl, { connectionLimit: 16, countStatements });
  // The writers' own connections take several statements per query: a group commit is two or three round trips.
  const writerPool = createMySqlPool(config.mysqlUrl, {
    connectionLimit: config.writers,
    multipleStatements: true,
    countStatements,
  });
  await runMigrations(pool, logger);
  const cache: SnapshotCache = config.redisUrl
    ? await RedisSnapshotCache.create({ url: config.redisUrl, prefix: config.cluster, registry, logger })
    : new MemorySnapshotCache({ maxEntries: config.maxLiveActors });
  const nc = await connectNats({ url: config.natsUrl, name: `bflow-node-${config.nodeId}`, logger });
  const writerMetrics = registerTransitionWriterMetrics(registry);
  const mysqlWriter = shardedWriter(
    Array.from({ length: config.writers }, () => createMySqlTransitionWriter(writerPool, { metrics: writerMetrics })),
  );
  const runtimes = new CachedRuntimeStore(new MySqlRuntimeStore(pool), cache, { registry });
  const wake: { relay?: OutboxRelay } = {};
  const host = new RuntimeHost(
    {
      runtimes,
      writer: mysqlWriter,
      cache,
      workflows: new MySqlWorkflowStore(pool),
      directory: new MySqlDirectoryStore(pool),
      logger,
      registry,
      // After each commit (docs/architecture.md#8-after-the-commit): publish its events now, not at the next poll.
      onCommitted: (shard, _state, effects, outboxPosition) =>
        wake.relay?.committed(shard, effects.events, outboxPosition),
    },
    {
      shardCount: config.shards,
      maxLiveActors: config.maxLiveActors,
      startDefinitionTtlMs: config.startDefinitionTtlMs,
    },
  );
  const streams = clusterStreams(config.cluster);
  const webhookMetrics = registerWebhookMetrics(registry);
  const deliverer = new WebhookDeliverer({
    webhooks: new MySqlWebhookStore(pool),
    ...config.webhooks,
    metrics: webhookMetrics,
    logger,
  });
  const stopWebhookNotices = onTenantChange(nc, config.cluster, 'webhooks', (tenant) =>
    deliverer.invalidateWebhooks(tenant),
  );
  // Events some webhook wants are queued for the webhook consumer too (the deliverer's cached lists decide).
  const publisher = await JetStreamEventPublisher.create(nc, {
    prefix: config.cluster,
    stream: streams.events,
    registry,
    webhookQueue: { stream: streams.webhookQueue, wanted: (tenant, type) => deliverer.wanted(tenant, type) },
  });
  const relay = new OutboxRelay({
    store: runtimes,
    publisher,
    prefix: config.cluster,
    metrics: registerOutboxMetrics(registry),
    logger,
  });
  wake.relay = relay;
  const timers = new TimerService({
    store: runtimes,
    deliver: (t) => host.deliverTimer(t.tenant, t.runtimeId, t),
    metrics: registerTimerMetrics(registry),
    logger,
  });
  const leases = new NatsLeaseManager({
    nc,
    nodeId: config.nodeId,
    shardCount: config.shards,
    cluster: config.cluster,
    ttlMs: config.leaseTtlMs,
    registry,
    logger,
  });
  const bus = new NatsShardBus(nc, { prefix: config.cluster, logger });
  const node = new ShardNode({ leases, bus, host, timers, relay, logger });
  const stopDirectoryNotices = onTenantChange(nc, config.cluster, 'directory', (tenant) =>
    host.invalidateDirectory(tenant),
  );
  const stopDefinitionNotices = onTenantChange(nc, config.cluster, 'definitions', (tenant) =>
    host.invalidateStartDefinitions(tenant),
  );
  await node.start();
  // Every node pulls from one durable consumer: each queued event is delivered to its webhooks by one node.
  const webhooks = await JetStreamWebhookConsumer.start(nc, deliverer, {
    stream: streams.webhookQueue,
    prefix: config.cluster,
    metrics: webhookMetrics,
    logger,
  });
  const ops = config.metricsPort === undefined ? undefined : await startMetricsServer(registry, config.metricsPort);
  if (ops) logger.info({ port: ops.port }, 'metrics on /metrics');
  return {
    node,
    host,
    registry,
    async stop() {
      await ops?.close();
      stopDirectoryNotices();
      stopDefinitionNotices();
      stopWebhookNotices();
      await webhooks.stop();
      await node.stop();
      publisher.close();
      await bus.close();
      await mysqlWriter.close();
      await cache.close();
      await nc.drain();
      await writerPool.end();
      await pool.end();
    },
  };
}
