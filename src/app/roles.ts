import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createApp } from '../gateway/app.ts';
import type { GatewayDeps } from '../gateway/gateway-deps.ts';
import { Closers } from './closers.ts';
import { startClusterNode } from './cluster-node.ts';
import { startClusterNotifier } from './notifier.ts';
import type { ServerConfig } from './config.ts';
import { type DemoSeed, seedDemo } from './demo/demo-seed.ts';
import { demoDevUsers } from './demo/dev-users.ts';
import { startEmbedded } from './embedded.ts';
import { connectGatewayBackend } from './gateway-backend.ts';
import { gatewayOptionsFor, type RunningServer, serveHttp } from './gateway-server.ts';
import { startMetricsServer } from './metrics-server.ts';
import { loadTracing } from './tracing.ts';

/** A running `bflow all | node | gateway | notifier` process. */
export interface RunningRole {
  /** The HTTP API (`bflow all`, `bflow gateway`). */
  api?: RunningServer;
  /** The port of /metrics and /health, when BFLOW_METRICS_PORT is set. */
  metricsPort?: number;
  /** The demo tenant `bflow all` seeds in the embedded mode. */
  demo?: DemoSeed;
  /** Graceful stop: the API stops accepting and finishes its requests, shards are handed over, connections closed. */
  stop(): Promise<void>;
}

/** What a role serves from: the metrics registry and, for a role with the API, the gateway's dependencies. */
interface Backend {
  registry: Registry;
  deps?: GatewayDeps;
  demo?: DemoSeed;
}

/**
 * Starts the process `config` describes, every part from that one resolved
 * object: `node` a shard host; `gateway` the API of a cluster; `all` both in
 * one process (in-process services and a demo tenant when embedded). Each
 * serves /metrics and /health on BFLOW_METRICS_PORT when set. A step that
 * fails closes what the earlier ones opened before the error is rethrown.
 */
export async function startRole(config: ServerConfig, logger: Logger): Promise<RunningRole> {
  if (config.unused.length > 0)
    logger.info({ unused: config.unused }, `these variables are not read by bflow ${config.role}`);
  const closers = new Closers(logger);
  return closers.starting(async () => {
    const backend = await startBackend(config, logger, closers);
    const running: RunningRole = { stop: () => closers.close() };
    if (backend.demo !== undefined) running.demo = backend.demo;
    if (backend.deps !== undefined && config.role !== 'node' && config.role !== 'notifier') {
      const { options, rateLimitStore } = await gatewayOptionsFor(config);
      if (rateLimitStore !== undefined) closers.add('rate limit store', rateLimitStore, (s) => s.close());
      const auth = config.auth;
      // The console's dev sign-in: only with the embedded demo tenant, whose tokens `bflow all` prints anyway.
      if (config.embedded && auth.kind === 'secret') options.console = { devUsers: () => demoDevUsers(auth.secret) };
      const tracing = await loadTracing(config.nodeId);
      const app = createApp(tracing ? { ...backend.deps, traceOf: tracing.requestTrace } : backend.deps, options);
      const fetch = tracing ? tracing.httpHandler(app.fetch) : app.fetch;
      running.api = closers.add('http server', await serveHttp(fetch, config.port, logger), (s) => s.close());
    }
    if (config.metricsPort !== undefined) {
      const ops = await startMetricsServer(backend.registry, config.metricsPort);
      closers.add('metrics server', ops, (s) => s.close());
      running.metricsPort = ops.port;
      logger.info({ port: ops.port }, 'metrics on /metrics');
    }
    return running;
  });
}

async function startBackend(config: ServerConfig, logger: Logger, closers: Closers): Promise<Backend> {
  if (config.embedded) {
    const backend = closers.add('embedded backend', await startEmbedded(config, logger), (b) => b.stop());
    return { registry: backend.deps.registry, deps: backend.deps, demo: await seedDemo(backend.deps) };
  }
  if (config.role === 'notifier') {
    const notifier = closers.add('notifier', await startClusterNotifier(config, logger), (n) => n.stop());
    return { registry: notifier.registry };
  }
  if (config.role === 'gateway') {
    const backend = closers.add('gateway backend', await connectGatewayBackend(config, logger), (b) => b.stop());
    return { registry: backend.deps.registry, deps: backend.deps };
  }
  const node = closers.add('cluster node', await startClusterNode(config, logger), (n) => n.stop());
  if (config.role === 'node') return { registry: node.registry };
  // One registry: /metrics shows the node's, the gateway's and the notifier's metrics together. One bus: commands
  // for the node's own shards are calls into its host, with no NATS hop (docs/architecture.md#in-process-routing).
  const backend = closers.add(
    'gateway backend',
    await connectGatewayBackend(config, logger, {
      registry: node.registry,
      bus: node.bus,
      compiledVersions: node.host.compiledVersions,
      cipher: node.cipher,
    }),
    (b) => b.stop(),
  );
  if (config.notifications.enabled)
    closers.add(
      'notifier',
      await startClusterNotifier(config, logger, { registry: node.registry, cipher: node.cipher }),
      (n) => n.stop(),
    );
  return { registry: node.registry, deps: backend.deps };
}
