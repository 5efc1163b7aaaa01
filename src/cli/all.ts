import { startClusterNode } from '../app/cluster-node.ts';
import { loadConfig, type BflowConfig } from '../app/config.ts';
import { seedDemo, DEMO_TENANT } from '../app/demo/demo-seed.ts';
import { generateDevSecret, signToken } from '../app/dev-token.ts';
import { startEmbedded } from '../app/embedded.ts';
import { createApp } from '../gateway/app.ts';
import type { GatewayOptions } from '../gateway/gateway-options.ts';
import { connectGatewayBackend } from '../app/gateway-backend.ts';
import { gatewayOptionsFor, serveHttp } from '../app/gateway-server.ts';
import { untilSignal } from '../app/signals.ts';
import { createLogger } from '../app/logger.ts';
import type { CliIo } from './io.ts';

/** Dev tokens printed by the embedded mode live this long. */
const DEV_TOKEN_TTL_SEC = 12 * 3600;

/**
 * `bflow all`: a node and the gateway in one process. With no BFLOW_MYSQL_URL
 * and BFLOW_NATS_URL (`npm start`) everything is in process and a demo tenant
 * is seeded; otherwise a cluster node plus a gateway on the same services.
 */
export async function run(args: string[], io: CliIo): Promise<number> {
  if (args.length > 0) {
    io.err(`bflow all takes no arguments (got ${args.join(' ')}); it is configured by BFLOW_* variables`);
    return 2;
  }
  const config = loadConfig(process.env);
  return config.embedded ? runEmbedded(config, io) : runCluster(config, io);
}

async function runEmbedded(config: BflowConfig, io: CliIo): Promise<number> {
  const logger = createLogger(config.logLevel, { role: 'all', node: config.nodeId });
  const secret = config.jwksUrl === undefined ? (config.jwtSecret ?? generateDevSecret()) : undefined;
  const auth: GatewayOptions['auth'] = secret !== undefined ? { secret } : { jwksUrl: config.jwksUrl ?? '' };
  const backend = await startEmbedded(config, logger);
  await seedDemo(backend.deps);
  const server = await serveHttp(createApp(backend.deps, { auth }).fetch, config.port, logger);
  io.out(`bflow all (embedded: in-process store, bus and leases; data is lost at exit) listening on ${server.url}`);
  if (secret !== undefined) await printDemo(io, server.url, secret, config.jwtSecret === undefined);
  logger.info({ port: server.port, shards: config.shards }, 'embedded node and gateway started');
  const signal = await untilSignal();
  logger.info({ signal }, 'stopping');
  await server.close();
  await backend.stop();
  logger.info('stopped');
  return 0;
}

async function runCluster(config: BflowConfig, io: CliIo): Promise<number> {
  const auth =
    config.jwtSecret !== undefined
      ? { secret: config.jwtSecret }
      : config.jwksUrl !== undefined
        ? { jwksUrl: config.jwksUrl }
        : undefined;
  if (auth === undefined) {
    io.err('bflow all on a cluster needs BFLOW_JWT_SECRET or BFLOW_JWKS_URL to verify tokens');
    return 2;
  }
  const logger = createLogger(config.logLevel, { role: 'all', node: config.nodeId });
  const node = await startClusterNode(config, logger);
  const backend = await connectGatewayBackend(config, logger, { registry: node.registry });
  const { options, rateLimitStore } = await gatewayOptionsFor(config, auth);
  const server = await serveHttp(createApp(backend.deps, options).fetch, config.port, logger);
  io.out(`bflow all (node ${config.nodeId} + gateway, cluster ${config.cluster}) listening on ${server.url}`);
  const signal = await untilSignal();
  logger.info({ signal }, 'stopping: finishing requests, handing shards over');
  await server.close();
  await rateLimitStore?.close();
  await backend.stop();
  await node.stop();
  return 0;
}

/** The dev secret (when generated), two tokens of the demo tenant and a first request to try. */
async function printDemo(io: CliIo, url: string, secret: string, generated: boolean): Promise<void> {
  const admin = await signToken(
    secret,
    { sub: 'alice', tid: DEMO_TENANT, roles: ['admin', 'designer', 'integration', 'member'] },
    DEV_TOKEN_TTL_SEC,
  );
  const approver = await signToken(secret, { sub: 'pur-mgr', tid: DEMO_TENANT, roles: ['member'] }, DEV_TOKEN_TTL_SEC);
  const doc = {
    amount: 5_000_000,
    currency: 'VND',
    requester: 'alice',
    items: [{ sku: 'paper', category: 'office', total: 5_000_000 }],
    note: 'first order',
    supplier: 'ACME',
  };
  const lines = [
    '',
    generated
      ? `dev JWT secret (generated; set BFLOW_JWT_SECRET to keep one): ${secret}`
      : 'tokens below are signed with BFLOW_JWT_SECRET',
    `demo tenant "${DEMO_TENANT}": the example org chart and the four examples/ workflows, published and applied`,
    '',
    `export BFLOW=${url}`,
    `export ALICE=${admin}    # alice: admin, designer, integration, member (${DEV_TOKEN_TTL_SEC / 3600} h)`,
    `export PUR_MGR=${approver}    # pur-mgr: alice's manager, approves her orders`,
    '',
    '# start a purchase order (alice), submit it, then pur-mgr approves:',
    `curl -s $BFLOW/api/v1/runtimes -H "Authorization: Bearer $ALICE" -H 'Content-Type: application/json' -d '${JSON.stringify({ app: 'purchase.order', docId: 'PO-1', doc })}'`,
    `curl -s $BFLOW/api/v1/runtimes/<id>/actions -H "Authorization: Bearer $ALICE" -H 'Content-Type: application/json' -d '{"action":"submit"}'`,
    `curl -s $BFLOW/api/v1/tasks -H "Authorization: Bearer $PUR_MGR"`,
    `curl -s $BFLOW/api/v1/runtimes/<id>/actions -H "Authorization: Bearer $PUR_MGR" -H 'Content-Type: application/json' -d '{"action":"approve","comment":"ok"}'`,
    '',
    `API docs: ${url}/docs`,
  ];
  for (const line of lines) io.out(line);
}
