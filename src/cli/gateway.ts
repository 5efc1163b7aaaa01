import { loadConfig } from '../app/config.ts';
import { createApp } from '../gateway/app.ts';
import { connectGatewayBackend } from '../app/gateway-backend.ts';
import { gatewayOptionsFor, serveHttp } from '../app/gateway-server.ts';
import { untilSignal } from '../app/signals.ts';
import { createLogger } from '../app/logger.ts';
import type { CliIo } from './io.ts';

/** `bflow gateway`: the HTTP API of a cluster; SIGTERM/SIGINT stop accepting, finish requests in flight, then exit. */
export async function run(args: string[], io: CliIo): Promise<number> {
  if (args.length > 0) {
    io.err(`bflow gateway takes no arguments (got ${args.join(' ')}); it is configured by BFLOW_* variables`);
    return 2;
  }
  const config = loadConfig(process.env);
  if (config.embedded) {
    io.err('bflow gateway needs BFLOW_MYSQL_URL and BFLOW_NATS_URL (for one process with no services, run bflow all)');
    return 2;
  }
  const auth =
    config.jwtSecret !== undefined
      ? { secret: config.jwtSecret }
      : config.jwksUrl !== undefined
        ? { jwksUrl: config.jwksUrl }
        : undefined;
  if (auth === undefined) {
    io.err('bflow gateway needs BFLOW_JWT_SECRET or BFLOW_JWKS_URL to verify tokens');
    return 2;
  }
  const logger = createLogger(config.logLevel, { role: 'gateway', node: config.nodeId });
  const backend = await connectGatewayBackend(config, logger);
  const { options, rateLimitStore } = await gatewayOptionsFor(config, auth);
  const server = await serveHttp(createApp(backend.deps, options).fetch, config.port, logger);
  io.out(`bflow gateway listening on ${server.url} (cluster ${config.cluster}, ${config.shards} shards)`);
  logger.info({ port: server.port, cluster: config.cluster }, 'gateway started');
  const signal = await untilSignal();
  logger.info({ signal }, 'stopping: finishing requests in flight');
  await server.close();
  await rateLimitStore?.close();
  await backend.stop();
  logger.info('gateway stopped');
  return 0;
}
