import type { ServerConfig } from '../app/config.ts';
import { DEMO_TENANT } from '../app/demo/demo-seed.ts';
import { signToken } from '../app/dev-token.ts';
import type { RunningRole } from '../app/roles.ts';
import type { Logger } from 'pino';
import type { CliIo } from './io.ts';
import { serve } from './serve.ts';

/** Dev tokens printed by the embedded mode live this long. */
const DEV_TOKEN_TTL_SEC = 12 * 3600;

/**
 * `bflow all`: a node and the gateway in one process. With no BFLOW_MYSQL_URL
 * and BFLOW_NATS_URL (`npm start`) everything is in process and a demo tenant
 * is seeded; otherwise a cluster node plus a gateway on the same services.
 */
export function run(args: string[], io: CliIo): Promise<number> {
  return serve({ role: 'all', started, stopping: 'stopping: finishing requests, handing shards over' }, args, io);
}

async function started(config: ServerConfig, running: RunningRole, io: CliIo, logger: Logger): Promise<void> {
  const url = running.api?.url ?? '';
  if (!config.embedded) {
    io.out(`bflow all (node ${config.nodeId} + gateway, cluster ${config.cluster}) listening on ${url}`);
    return;
  }
  io.out(`bflow all (embedded: in-process store, bus and leases; data is lost at exit) listening on ${url}`);
  if (config.auth.kind === 'secret') await printDemo(io, url, config.auth.secret, config.auth.generated);
  logger.info({ port: running.api?.port, shards: config.shards }, 'embedded node and gateway started');
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
