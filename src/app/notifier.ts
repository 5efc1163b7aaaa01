import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { clusterStreams, JetStreamEventPublisher } from '../actors/events/index.ts';
import { connectNats, onTenantChange } from '../actors/nats/index.ts';
import {
  JetStreamNotificationConsumer,
  NatsNotificationSignal,
  NotificationBatcher,
  Notifier,
  ProviderChannel,
  pushSender,
  registerNotificationMetrics,
  smsSender,
  smtpSender,
  type NotificationMetrics,
  type NotifierOptions,
} from '../actors/notifications/index.ts';
import type { ExternalChannel } from '../store/notification-ports.ts';
import { runMigrations } from '../store/migrate.ts';
import { MySqlDirectoryStore } from '../store/mysql/directory-store.ts';
import { MySqlNotificationStore } from '../store/mysql/notification-store.ts';
import { createMySqlPool } from '../store/mysql/pool.ts';
import { startCipher } from './cipher.ts';
import type { FieldCipher } from '../store/crypto/field-cipher.ts';
import { MySqlRuntimeStore } from '../store/mysql/runtime-store.ts';
import { registerMySqlStatementMetrics } from '../store/mysql/statement-metrics.ts';
import { MySqlWorkflowStore } from '../store/mysql/workflow-store.ts';
import { Closers } from './closers.ts';
import type { ClusterConfig, NotificationsConfig } from './config.ts';
import { loadTracing, type Tracing } from './tracing.ts';

/** The providers configured, each behind its breaker; `close` ends the SMTP pool. */
export function providerChannels(
  config: NotificationsConfig,
  metrics: NotificationMetrics,
  logger: Logger,
): { channels: Partial<Record<ExternalChannel, ProviderChannel>>; close(): void } {
  const channels: Partial<Record<ExternalChannel, ProviderChannel>> = {};
  let closeSmtp = (): void => undefined;
  if (config.smtp) {
    const smtp = smtpSender(config.smtp);
    closeSmtp = smtp.close;
    channels.email = new ProviderChannel('email', smtp.send, {}, metrics, logger);
  }
  if (config.sms) channels.sms = new ProviderChannel('sms', smsSender(config.sms), {}, metrics, logger);
  if (config.push) channels.push = new ProviderChannel('push', pushSender(config.push), {}, metrics, logger);
  return { channels, close: closeSmtp };
}

export interface ClusterNotifier {
  registry: Registry;
  stop(): Promise<void>;
}

/**
 * `bflow notifier` (and the notifier of `bflow all` on a cluster): a replica
 * of the durable consumer `<cluster>_notifier` on BFLOW_EVENTS. It reads
 * runtimes, versions, the directory and preferences from MySQL, writes the
 * notifications there, and wakes the gateways' SSE streams over NATS.
 */
export async function startClusterNotifier(
  config: ClusterConfig,
  logger: Logger,
  options: NotifierStartOptions = {},
): Promise<ClusterNotifier> {
  // Outside traces, but for each event's handling (linked to the command that caused it).
  return startNotifier(config, logger, options, await loadTracing(config.nodeId));
}

/** Options of startClusterNotifier. */
export interface NotifierStartOptions {
  registry?: Registry;
  /** `bflow all` passes its node's, so a tenant's data keys are read and cached once per process. @default its own */
  cipher?: FieldCipher;
  overrides?: Partial<NotifierOptions>;
}

async function startNotifier(
  config: ClusterConfig,
  logger: Logger,
  options: NotifierStartOptions,
  tracing: Tracing | undefined,
): Promise<ClusterNotifier> {
  const closers = new Closers(logger);
  return closers.starting(async () => {
    const registry = options.registry ?? new Registry();
    if (options.registry === undefined) {
      collectDefaultMetrics({ register: registry });
      if (config.mysqlStatementMetrics) registerMySqlStatementMetrics(registry);
    }
    const pool = closers.add(
      'mysql pool',
      createMySqlPool(config.mysqlUrl, { connectionLimit: 8, countStatements: config.mysqlStatementMetrics }),
      (p) => p.end(),
    );
    await runMigrations(pool, logger);
    const cipher = options.cipher ?? (await startCipher(config.encryption, pool, logger));
    const nc = closers.add(
      'nats connection',
      await connectNats({ url: config.natsUrl, name: `bflow-notifier-${config.nodeId}`, logger }),
      (c) => c.drain().catch(() => undefined),
    );
    const streams = clusterStreams(config.cluster);
    // The stream exists before the consumer is added, whichever of node and notifier starts first.
    (await JetStreamEventPublisher.create(nc, { prefix: config.cluster, stream: streams.events })).close();
    const metrics = registerNotificationMetrics(registry);
    const providers = providerChannels(config.notifications, metrics, logger);
    closers.defer('smtp pool', () => providers.close());
    const signal = new NatsNotificationSignal(nc, config.cluster);
    const notifier = new Notifier({
      store: new MySqlNotificationStore(pool, { cipher }),
      runtimes: new MySqlRuntimeStore(pool, { cipher }),
      workflows: new MySqlWorkflowStore(pool, { cipher }),
      directory: new MySqlDirectoryStore(pool),
      channels: providers.channels,
      signal,
      owner: config.nodeId,
      linkBase: config.notifications.linkBase,
      claimMs: 2 * config.notifications.ackWaitMs,
      metrics,
      logger,
      ...options.overrides,
    });
    closers.defer('notifier', () => notifier.stop());
    closers.defer(
      'directory notices',
      onTenantChange(nc, config.cluster, 'directory', (tenant) => notifier.invalidate(tenant)),
    );
    const batcher = new NotificationBatcher(notifier, { metrics, logger });
    const consumer = await JetStreamNotificationConsumer.start(nc, batcher, {
      stream: streams.events,
      prefix: config.cluster,
      ackWaitMs: config.notifications.ackWaitMs,
      logger,
      ...(tracing && { traceConsume: tracing.traceConsume }),
    });
    closers.defer('notification consumer', () => consumer.stop());
    logger.info({ channels: ['in_app', ...Object.keys(providers.channels)] }, 'notifier started');
    return { registry, stop: () => closers.close() };
  });
}
