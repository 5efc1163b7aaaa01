import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { clusterStreams, JetStreamEventPublisher, OutboxRelay, registerOutboxMetrics } from '../actors/events/index.ts';
import { connectNats, onTenantChange, type TenantChangeKind } from '../actors/nats/index.ts';
import { NatsLeaseManager } from '../actors/leases/index.ts';
import { ColocatedShardBus, NatsShardBus, RoutingClient, type ShardBus } from '../actors/bus/index.ts';
import { MigrationExecutor, registerMigrationMetrics } from '../actors/migrations/index.ts';
import { MySqlMigrationPlanStore } from '../store/mysql/migration-plan-store.ts';
import { JetStreamWebhookConsumer, WebhookDeliverer, registerWebhookMetrics } from '../actors/webhooks/index.ts';
import { RetentionJob, registerRetentionMetrics } from '../actors/retention/index.ts';
import { RuntimeHost } from '../actors/runtime-host/index.ts';
import { ShardNode } from '../actors/shard-node/index.ts';
import { TimerService, registerTimerMetrics } from '../actors/timers/index.ts';
import { startCipher } from './cipher.ts';
import type { FieldCipher } from '../store/crypto/field-cipher.ts';
import { Closers } from './closers.ts';
import type { ClusterConfig } from './config.ts';
import { CachedRuntimeStore } from '../store/cached-runtime-store.ts';
import { MemorySnapshotCache } from '../store/memory/snapshot-cache.ts';
import { runMigrations } from '../store/migrate.ts';
import { MySqlDirectoryStore } from '../store/mysql/directory-store.ts';
import { createMySqlPool, prewarmPool } from '../store/mysql/pool.ts';
import { registerMySqlStatementMetrics } from '../store/mysql/statement-metrics.ts';
import { MySqlRetentionStore } from '../store/mysql/retention-store.ts';
import { MySqlRuntimeStore } from '../store/mysql/runtime-store.ts';
import { createMySqlTransitionWriter } from '../store/mysql/transition-writer.ts';
import { registerTransitionWriterMetrics } from '../store/mysql/writer-metrics.ts';
import { MySqlWebhookStore } from '../store/mysql/webhook-store.ts';
import { MySqlWorkflowStore } from '../store/mysql/workflow-store.ts';
import type { SnapshotCache } from '../store/ports.ts';
import { RedisSnapshotCache } from '../store/redis/snapshot-cache.ts';
import { shardedWriter } from '../store/sharded-writer.ts';
import { loadTracing, type Tracing } from './tracing.ts';

export interface ClusterNode {
  node: ShardNode;
  host: RuntimeHost;
  /**
   * The node's shard bus: its own shards' requests are calls into `host`, the others go over NATS. `bflow all`
   * routes its gateway's commands through it (in-process routing); it is closed by `stop`.
   */
  bus: ShardBus;
  registry: Registry;
  /** The node's cipher and its data-key cache; `bflow all` shares it with its gateway and notifier. */
  cipher: FieldCipher;
  /** Graceful stop: drain and hand over every shard, flush, close connections. Idempotent. */
  stop(): Promise<void>;
}

/**
 * `bflow node`: a shard host on MySQL (+ Redis) and NATS. Applies migrations
 * (under the named lock), then claims its share of the shards. When a step
 * fails (migrations, NATS, a shard count or lease TTL the cluster refuses),
 * what the earlier steps opened is closed before the error is rethrown.
 */
export async function startClusterNode(config: ClusterConfig, logger: Logger): Promise<ClusterNode> {
  // The node's own loops run outside traces: only the commands the gateway traced are (docs/architecture.md#tracing).
  return startNode(config, logger, await loadTracing(config.nodeId));
}

async function startNode(config: ClusterConfig, logger: Logger, tracing?: Tracing): Promise<ClusterNode> {
  const closers = new Closers(logger);
  return closers.starting(async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const countStatements = config.mysqlStatementMetrics;
    if (countStatements) registerMySqlStatementMetrics(registry);
    // Each writer holds a connection for its batch in flight; the rest serve activations, timers, the outbox and webhooks.
    const pool = closers.add(
      'mysql pool',
      createMySqlPool(config.mysqlUrl, { connectionLimit: 16, countStatements }),
      (p) => p.end(),
    );
    // The writers' own connections take several statements per query: a group commit is two or three round trips.
    const writerPool = closers.add(
      'mysql writer pool',
      // A writer whose projections follow the commit needs a second connection for its projector.
      createMySqlPool(config.mysqlUrl, {
        connectionLimit: config.projectionDelayMs > 0 ? 2 * config.writers : config.writers,
        multipleStatements: true,
        countStatements,
      }),
      (p) => p.end(),
    );
    await runMigrations(pool, logger);
    const cipher = await startCipher(config.encryption, pool, logger);
    // Full speed from the first request: the writers' connections, and a few for activations, open now.
    await Promise.all([prewarmPool(writerPool, config.writers), prewarmPool(pool, 4)]);
    const nc = closers.add(
      'nats connection',
      await connectNats({ url: config.natsUrl, name: `bflow-node-${config.nodeId}`, logger }),
      (c) => c.drain(),
    );
    const cache: SnapshotCache = closers.add(
      'snapshot cache',
      config.redisUrl
        ? await RedisSnapshotCache.create({ url: config.redisUrl, prefix: config.cluster, registry, logger, cipher })
        : new MemorySnapshotCache({ maxEntries: config.maxLiveActors }),
      (c) => c.close(),
    );
    const writerMetrics = registerTransitionWriterMetrics(registry);
    const wake: { relay?: OutboxRelay } = {};
    const mysqlWriter = closers.add(
      'transition writers',
      shardedWriter(
        Array.from({ length: config.writers }, () =>
          createMySqlTransitionWriter(writerPool, {
            metrics: writerMetrics,
            projectionDelayMs: config.projectionDelayMs,
            projectionBacklog: config.projectionBacklog,
            cipher,
            onProjectionError: (err) => logger.warn({ err }, 'projection failed; retrying'),
            // A failed batch that may have committed after all: its shards' events are read from the log.
            onUncertainSettled: (shards) => {
              logger.warn(
                { shards: [...shards] },
                'a failed group commit is settled: its shards are read from the log',
              );
              for (const shard of shards) wake.relay?.fallBehind(shard);
            },
            ...(tracing && { aroundBatch: tracing.aroundBatch }),
          }),
        ),
      ),
      (w) => w.close(),
    );
    const runtimes = new CachedRuntimeStore(new MySqlRuntimeStore(pool, { cipher }), cache, { registry });
    const host = new RuntimeHost(
      {
        runtimes,
        writer: tracing ? tracing.writer(mysqlWriter) : mysqlWriter,
        cache,
        workflows: new MySqlWorkflowStore(pool, { cipher }),
        directory: new MySqlDirectoryStore(pool),
        logger,
        registry,
        ...(tracing && { traceStep: tracing.traceStep, traceScope: tracing.traceScope }),
        // After each commit (docs/architecture.md#8-after-the-commit): publish its events now, not at the next poll.
        onCommitted: (shard, _state, effects, outboxPosition) =>
          wake.relay?.committed(shard, effects.events, outboxPosition),
        onCommitUncertain: (shard) => wake.relay?.fallBehind(shard),
      },
      {
        shardCount: config.shards,
        maxLiveActors: config.maxLiveActors,
        startDefinitionTtlMs: config.startDefinitionTtlMs,
      },
    );
    closers.defer('runtime host', () => host.close());
    const streams = clusterStreams(config.cluster);
    const webhookMetrics = registerWebhookMetrics(registry);
    const deliverer = new WebhookDeliverer({
      webhooks: new MySqlWebhookStore(pool, { cipher }),
      ...config.webhooks,
      metrics: webhookMetrics,
      logger,
    });
    // Events some webhook wants are queued for the webhook consumer too (the deliverer's cached lists decide).
    const publisher = closers.add(
      'event publisher',
      await JetStreamEventPublisher.create(nc, {
        prefix: config.cluster,
        stream: streams.events,
        registry,
        webhookQueue: { stream: streams.webhookQueue, wanted: (tenant, type) => deliverer.wanted(tenant, type) },
      }),
      (p) => p.close(),
    );
    const relay = new OutboxRelay({
      store: runtimes,
      publisher: tracing ? tracing.eventPublisher(publisher) : publisher,
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
    const colocated = new ColocatedShardBus(new NatsShardBus(nc, { prefix: config.cluster, logger }), {
      registry,
      logger,
    });
    // Traced outside the colocated bus: a command for one of this node's own shards keeps its trace as well.
    const bus = closers.add('shard bus', tracing ? tracing.shardBus(colocated) : colocated, (b) => b.close());
    const node = new ShardNode({
      leases,
      bus,
      host,
      timers,
      relay,
      logger,
      ...(config.projectionDelayMs > 0 && { projections: { catchUp: (shard) => mysqlWriter.catchUp!(shard) } }),
    });
    // Nodes drop their cached copies of a tenant's webhooks, directory and start definitions when a gateway changes them.
    closers.defer(
      'change notices',
      noticesOf(nc, config.cluster, {
        webhooks: (tenant) => deliverer.invalidateWebhooks(tenant),
        directory: (tenant) => host.invalidateDirectory(tenant),
        definitions: (tenant) => host.invalidateStartDefinitions(tenant),
      }),
    );
    // Registered before it starts: a start that fails halfway (a refused shard count) still stops its loops.
    closers.defer('shard node', () => node.stop());
    await node.start();
    // Every node pulls from one durable consumer: each queued event is delivered to its webhooks by one node.
    const webhooks = await JetStreamWebhookConsumer.start(nc, deliverer, {
      stream: streams.webhookQueue,
      prefix: config.cluster,
      metrics: webhookMetrics,
      logger,
      ...(tracing && { traceConsume: tracing.traceConsume }),
    });
    closers.defer('webhook consumer', () => webhooks.stop());
    // Every node runs migration plans: one node holds a plan under a lease (as long as a shard's), sending each
    // runtime's migration to the node owning it; a dead node's plan is resumed by another after the lease.
    const migrations = new MigrationExecutor({
      plans: new MySqlMigrationPlanStore(pool, { cipher }),
      router: new RoutingClient(bus, { shardCount: config.shards, registry }),
      owner: config.nodeId,
      leaseMs: config.leaseTtlMs,
      metrics: registerMigrationMetrics(registry),
      logger,
    });
    migrations.start();
    closers.defer('migration executor', () => migrations.stop());
    // The holder of shard 0's lease prunes what retention allows (docs/operations.md#retention).
    const retention = new RetentionJob({
      ...config.retention,
      store: new MySqlRetentionStore(pool, { cipher }),
      leases,
      metrics: registerRetentionMetrics(registry),
      logger,
    });
    retention.start();
    closers.defer('retention job', () => retention.stop());
    return { node, host, bus, registry, cipher, stop: () => closers.close() };
  });
}

/** Subscribes to the tenant change notices; returns how to unsubscribe from all of them. */
function noticesOf(
  nc: NatsConnection,
  cluster: string,
  handlers: Record<TenantChangeKind, (tenant: string) => void>,
): () => void {
  const stops = Object.entries(handlers).map(([kind, changed]) =>
    onTenantChange(nc, cluster, kind as TenantChangeKind, changed),
  );
  return () => {
    for (const stop of stops) stop();
  };
}
