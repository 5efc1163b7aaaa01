import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import {
  MemoryNotificationFeed,
  MemoryNotificationSignal,
  NotificationBatcher,
  Notifier,
  registerNotificationMetrics,
} from '../actors/notifications/index.ts';
import { providerChannels } from './notifier.ts';
import { MemoryEventPublisher, OutboxRelay, registerOutboxMetrics, eventFilter } from '../actors/events/index.ts';
import { MemoryLeaseManager } from '../actors/leases/index.ts';
import { ColocatedShardBus, MemoryShardBus, RoutingClient } from '../actors/bus/index.ts';
import { MigrationExecutor, registerMigrationMetrics } from '../actors/migrations/index.ts';
import { RetentionJob, registerRetentionMetrics } from '../actors/retention/index.ts';
import { RuntimeHost } from '../actors/runtime-host/index.ts';
import { ShardNode } from '../actors/shard-node/index.ts';
import { TimerService, registerTimerMetrics } from '../actors/timers/index.ts';
import { WebhookDeliverer, registerWebhookMetrics, WebhookQueue } from '../actors/webhooks/index.ts';
import { Closers } from './closers.ts';
import type { BflowConfig } from './config.ts';
import type { GatewayBackend } from './gateway-backend.ts';
import type { GatewayDeps } from '../gateway/gateway-deps.ts';
import { MemoryStore } from '../store/memory/memory-store.ts';
import { MemorySnapshotCache } from '../store/memory/snapshot-cache.ts';
import { invalidatingDirectory } from '../store/invalidating-directory.ts';
import { invalidatingWebhooks } from '../store/invalidating-webhooks.ts';
import { invalidatingWorkflows } from '../store/invalidating-workflows.ts';
import { loadTracing } from './tracing.ts';

/** The embedded backend also exposes its parts (the demo seed writes to the store; tests read events). */
export interface EmbeddedBackend extends GatewayBackend {
  store: MemoryStore;
  events: MemoryEventPublisher;
  node: ShardNode;
  /** Retention's job (tests run it with `runOnce`). */
  retention: RetentionJob;
  /** Feeds the stored events to the webhook deliverer (`idle()` in tests). */
  webhooks: WebhookQueue;
  /** Feeds the stored events to the notifier (`idle()` in tests); absent with BFLOW_NOTIFIER=false. */
  notifications?: MemoryNotificationFeed;
}

/**
 * The whole backend in one process with no external service (`npm start`):
 * the in-process twins of MySQL (MemoryStore), Redis (MemorySnapshotCache),
 * the NATS leases (one node holding every shard), the shard bus and the event
 * stream, behind the same RuntimeHost, timers, outbox relay and ShardNode as a
 * cluster node. Data lives as long as the process.
 *
 * @example
 * const backend = await startEmbedded(loadConfig({}), logger);
 * const app = createApp(backend.deps, options);
 */
export async function startEmbedded(config: BflowConfig, logger: Logger): Promise<EmbeddedBackend> {
  const closers = new Closers(logger);
  return closers.starting(async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    if (config.encryption.source === 'generated')
      logger.info(
        { activeKey: config.encryption.keys?.active.id },
        'encryption at rest: generated a master key for this process (set BFLOW_MASTER_KEYS to keep one); the embedded store holds its data in memory only',
      );
    const store = closers.add('store', new MemoryStore(), (s) => s.close());
    const cache = closers.add('snapshot cache', new MemorySnapshotCache({ maxEntries: config.maxLiveActors }), (c) =>
      c.close(),
    );
    const wake: { relay?: OutboxRelay } = {};
    // Traced like a cluster: the gateway → host hop, the engine step, the commit (no SQL: the store is in process).
    const tracing = await loadTracing(config.nodeId);
    const host = new RuntimeHost(
      {
        runtimes: store.runtimes,
        writer: tracing ? tracing.writer(store.writer) : store.writer,
        cache,
        workflows: store.workflows,
        directory: store.directory,
        logger,
        registry,
        ...(tracing && { traceStep: tracing.traceStep, traceScope: tracing.traceScope }),
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
    const events = new MemoryEventPublisher({ prefix: config.cluster });
    const relay = new OutboxRelay({
      store: store.runtimes,
      publisher: events,
      prefix: config.cluster,
      metrics: registerOutboxMetrics(registry),
      logger,
    });
    wake.relay = relay;
    const timers = new TimerService({
      store: store.runtimes,
      deliver: (t) => host.deliverTimer(t.tenant, t.runtimeId, t),
      metrics: registerTimerMetrics(registry),
      logger,
    });
    const leases = new MemoryLeaseManager({ nodeId: config.nodeId, shardCount: config.shards, registry });
    // One process holds every shard: every command is a call into the host (no copy through JSON).
    const colocated = new ColocatedShardBus(new MemoryShardBus({ logger }), { registry, logger });
    const bus = closers.add('shard bus', tracing ? tracing.shardBus(colocated) : colocated, (b) => b.close());
    const webhookMetrics = registerWebhookMetrics(registry);
    const deliverer = new WebhookDeliverer({
      webhooks: store.webhooks,
      ...config.webhooks,
      metrics: webhookMetrics,
      logger,
    });
    const webhooks = closers.add(
      'webhook queue',
      new WebhookQueue(deliverer, { metrics: webhookMetrics, logger }),
      (q) => q.stop(),
    );
    closers.defer(
      'event subscription',
      events.subscribe(eventFilter(config.cluster), (e) => webhooks.push(e.payload)),
    );
    // One node holds every shard for the process's life: 64 "shard acquired" lines at info would only bury the banner.
    const shardLog =
      logger.isLevelEnabled('info') && !logger.isLevelEnabled('debug') ? logger.child({}, { level: 'warn' }) : logger;
    const node = new ShardNode({ leases, bus, host, timers, relay, logger: shardLog });
    closers.defer('shard node', () => node.stop());
    await node.start();
    await whenSettled(() => node.served().length === config.shards);
    // The one node holds every shard's lease: retention runs in process, over the in-process store.
    const retention = new RetentionJob({
      ...config.retention,
      store: store.retention,
      leases,
      metrics: registerRetentionMetrics(registry),
      logger,
    });
    retention.start();
    closers.defer('retention job', () => retention.stop());
    const notifications = config.notifications.enabled
      ? startEmbeddedNotifier(config, store, events, registry, logger, closers)
      : undefined;
    const signal = notifications?.signal ?? new MemoryNotificationSignal();
    const router = new RoutingClient(bus, { shardCount: config.shards, registry });
    const migrations = new MigrationExecutor({
      plans: store.migrations,
      router,
      owner: config.nodeId,
      leaseMs: config.leaseTtlMs,
      metrics: registerMigrationMetrics(registry),
      logger,
    });
    migrations.start();
    closers.defer('migration executor', () => migrations.stop());
    let stopping = false;
    closers.defer('readiness', () => (stopping = true));
    const deps: GatewayDeps = {
      router,
      read: store.read,
      // One process: a config change, a publish, a directory or webhook change reaches the node at once, not after its cache TTL.
      workflows: invalidatingWorkflows(store.workflows, (tenant) => host.invalidateStartDefinitions(tenant)),
      directory: invalidatingDirectory(store.directory, (tenant) => {
        host.invalidateDirectory(tenant);
        notifications?.notifier.invalidate(tenant);
      }),
      webhooks: invalidatingWebhooks(store.webhooks, (tenant) => deliverer.invalidateWebhooks(tenant)),
      webhookAllowPrivate: config.webhooks.allowPrivate,
      analytics: store.analytics,
      migrations: store.migrations,
      retention: store.retention,
      notifications: store.notifications,
      notificationSignal: signal,
      onNotificationSettingsChanged: (tenant) => notifications?.notifier.invalidate(tenant),
      cluster: () => leases.view(),
      readiness: async () => ({
        store: true,
        bus: true,
        shardMap: !stopping && node.served().length === config.shards,
      }),
      registry,
      logger,
      compiledVersions: host.compiledVersions,
    };
    const backend: EmbeddedBackend = { deps, stop: () => closers.close(), store, events, node, webhooks, retention };
    if (notifications) backend.notifications = notifications.feed;
    return backend;
  });
}

/** The in-process notifier: the embedded event stream feeds it; the providers are those configured. */
function startEmbeddedNotifier(
  config: BflowConfig,
  store: MemoryStore,
  events: MemoryEventPublisher,
  registry: Registry,
  logger: Logger,
  closers: Closers,
): { feed: MemoryNotificationFeed; notifier: Notifier; signal: MemoryNotificationSignal } {
  const metrics = registerNotificationMetrics(registry);
  const providers = providerChannels(config.notifications, metrics, logger);
  closers.defer('smtp pool', () => providers.close());
  const signal = new MemoryNotificationSignal();
  const notifier = new Notifier({
    store: store.notifications,
    runtimes: store.runtimes,
    workflows: store.workflows,
    directory: store.directory,
    channels: providers.channels,
    signal,
    owner: config.nodeId,
    linkBase: config.notifications.linkBase,
    metrics,
    logger,
  });
  closers.defer('notifier', () => notifier.stop());
  const feed = closers.add(
    'notification feed',
    new MemoryNotificationFeed(new NotificationBatcher(notifier, { metrics, logger }), 50, logger),
    (f) => f.stop(),
  );
  closers.defer(
    'notification subscription',
    events.subscribe(eventFilter(config.cluster), (e) => feed.push(e.payload)),
  );
  return { feed, notifier, signal };
}

/** The memory lease manager opens its shards through the node's per-shard chains; wait for them to settle. */
async function whenSettled(done: () => boolean, deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`embedded node did not open its shards within ${deadlineMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
