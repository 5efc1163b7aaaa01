/**
 * bench/migration — `npm run bench -- migration`: runtimes migrated per second by a migration plan on the
 * real stack (one `bflow gateway`, two `bflow node` processes, this machine's MariaDB, Redis and NATS).
 *
 *   node --import tsx bench/migration.ts [--runtimes 10000] [--concurrency 64]
 *
 * `--runtimes` purchase orders are started (every other one submitted, so half hold a manager's task), then
 * version 2 is published: the manager's node renamed, assigned to manager_1 and bob, a 48 h SLA. Measured in
 * the same run, one after the other:
 * - the comparison: one plain command (a comment) per runtime, sent through the shard bus by `--concurrency`
 *   clients (the executor's own concurrency), as the plan's executor sends its migrations: what one step per
 *   runtime costs on this stack;
 * - the dry run (`POST …/migrations` with dryRun) over every runtime;
 * - the plan (`POST …/migrations`), run by a node's executor: runtimes migrated per second from the plan's
 *   creation to its completion (every runtime re-assigned, its tasks and timers changed, one log entry each).
 * Target: the plan migrates at least half as many runtimes per second as the comparison's commands/s.
 */
import { cpus, loadavg } from 'node:os';
import { connectNats } from '../src/actors/nats/index.ts';
import { NatsShardBus } from '../src/actors/bus/nats-shard-bus.ts';
import { RoutingClient } from '../src/actors/bus/routing-client.ts';
import type { ShardRequest } from '../src/actors/bus/ports.ts';
import { signToken } from '../src/app/dev-token.ts';
import { createMySqlPool } from '../src/store/mysql/pool.ts';
import { MySqlWorkflowStore } from '../src/store/mysql/workflow-store.ts';
import { PO_WORKFLOW, commandRequest, startRequest } from '../test/actors/runtime-host/runtime-host-fixture.ts';
import { purchaseOrderV2 } from '../test/fixtures/purchase-order-v2.ts';
import { testNatsUrl } from '../test/harness/nats-server.ts';
import { waitFor } from '../test/harness/wait.ts';
import { BENCH_SHARDS, startBenchStack } from './bflow-stack.ts';
import { passFail } from './measure.ts';
import { cleanUpOnInterrupt } from './reaper.ts';
import { intArg, printTable, writeResult } from './report.ts';

/** The plan must migrate at least this share of the comparison's commands/s. */
const TARGET_SHARE = 0.5;

/** Sends `requests` through the router, `concurrency` at a time; throws on the first refusal. Returns seconds taken. */
async function drive(router: RoutingClient, requests: readonly ShardRequest[], concurrency: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests.length) {
        const request = requests[next++]!;
        const reply = await router.send(request, { deadlineMs: 60_000 });
        if (!reply.ok)
          throw new Error(`${request.kind} ${request.runtimeId}: ${reply.problem.code} ${reply.problem.message}`);
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
  const runtimes = intArg('--runtimes', 10_000);
  const concurrency = intArg('--concurrency', 64);
  const stack = await startBenchStack({ name: 'migration', nodes: 2, tenants: 1, statementMetrics: false });
  const unregister = cleanUpOnInterrupt(() => stack.stop());
  const nc = await connectNats({ url: await testNatsUrl(), name: 'bench-migration' });
  const pool = createMySqlPool(stack.mysqlUrl, { connectionLimit: 2 });
  try {
    const tenant = `${stack.tenantPrefix}-0`;
    const router = new RoutingClient(new NatsShardBus(nc, { prefix: stack.cluster }), {
      shardCount: BENCH_SHARDS,
      deadlineMs: 60_000,
    });
    const ids = Array.from({ length: runtimes }, (_, i) => `bm-${String(i).padStart(7, '0')}`);
    console.log(`starting ${runtimes} purchase orders (every other one submitted)…`);
    const seedSeconds = await drive(
      router,
      ids.map((id) => startRequest(tenant, id, `doc-${id}`)),
      concurrency,
    );
    await drive(
      router,
      ids.filter((_, i) => i % 2 === 0).map((id) => commandRequest(tenant, id, 'alice', 'submit')),
      concurrency,
    );
    console.log(`comparison: one comment per runtime, ${concurrency} at a time through the shard bus…`);
    const commandSeconds = await drive(
      router,
      ids.map((id) => commandRequest(tenant, id, 'alice', 'comment', { comment: 'bench' })),
      concurrency,
    );
    const workflows = new MySqlWorkflowStore(pool);
    await workflows.updateDraft(tenant, PO_WORKFLOW, purchaseOrderV2(), Date.now());
    await workflows.publish(tenant, PO_WORKFLOW, Date.now(), { publishedBy: 'bench', changeLog: 'line manager' });
    const token = await signToken(stack.secret, { sub: 'bench', tid: tenant, roles: ['designer'] }, 3600);
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${stack.url}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${token}`,
          ...(body !== undefined && { 'Content-Type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(120_000),
      });
      const json = (await res.json()) as Record<string, any>;
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    const plan = { fromVersion: 1, toVersion: 2, nodeMap: { manager: 'line-manager' } };
    const migrations = `/api/v1/workflows/${PO_WORKFLOW}/migrations`;
    console.log('dry run…');
    const dryStarted = performance.now();
    const dry = await api('POST', migrations, { ...plan, dryRun: true });
    const drySeconds = (performance.now() - dryStarted) / 1000;
    if (dry.migratable !== runtimes) throw new Error(`dry run: ${JSON.stringify(dry)}`);
    console.log('the plan…');
    const created = await api('POST', migrations, plan);
    const done = await waitFor(
      async () => {
        const p = await api('GET', `${migrations}/${created.id}`);
        return p.status === 'completed' ? p : undefined;
      },
      { deadlineMs: 1_800_000, intervalMs: 200, what: 'the plan completed' },
    );
    if (done.progress.migrated !== runtimes) throw new Error(`plan: ${JSON.stringify(done.progress)}`);
    const planSeconds = (Date.parse(done.finishedAt) - Date.parse(done.createdAt)) / 1000;
    const migratedPerSecond = runtimes / planSeconds;
    const commandsPerSecond = runtimes / commandSeconds;
    const share = migratedPerSecond / commandsPerSecond;
    const pass = share >= TARGET_SHARE;
    printTable(`migration plan (${runtimes} runtimes, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)})`, [
      ['measure', 'value'],
      ['starts/s (seeding)', (runtimes / seedSeconds).toFixed(0)],
      [`comparison: comments/s (${concurrency} at a time)`, commandsPerSecond.toFixed(0)],
      ['dry run (s)', drySeconds.toFixed(2)],
      ['plan duration (s)', planSeconds.toFixed(1)],
      ['runtimes migrated/s', migratedPerSecond.toFixed(0)],
      ['migrated/s ÷ comments/s', share.toFixed(2)],
    ]);
    console.log(
      `\n${passFail(pass)} runtimes migrated/s ≥ ${TARGET_SHARE} × the same stack's commands/s (${migratedPerSecond.toFixed(0)} vs ${commandsPerSecond.toFixed(0)})`,
    );
    writeResult('migration', {
      runtimes,
      concurrency,
      startsPerSecond: runtimes / seedSeconds,
      commandsPerSecond,
      drySeconds,
      planSeconds,
      migratedPerSecond,
      share,
      target: TARGET_SHARE,
      pass,
      loadavg: loadavg(),
    });
    if (!pass) process.exitCode = 1;
  } finally {
    await pool.end();
    await nc.drain();
    unregister();
    await stack.stop();
  }
}

await main();
