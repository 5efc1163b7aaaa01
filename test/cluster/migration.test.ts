import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterStreams } from '../../src/actors/events/cluster-streams.ts';
import { checkInvariants, violationLines, type AcknowledgedCommand } from '../../src/check/index.ts';
import type { MigrationPlan } from '../../src/store/migration-ports.ts';
import { MySqlMigrationPlanStore } from '../../src/store/mysql/migration-plan-store.ts';
import { MySqlWorkflowStore } from '../../src/store/mysql/workflow-store.ts';
import { PO_WORKFLOW, commandRequest, startRequest } from '../actors/runtime-host/runtime-host-fixture.ts';
import { purchaseOrderV2 } from '../fixtures/purchase-order-v2.ts';
import { countUnpublished } from '../fixtures/unpublished-steps.ts';
import { testCipher, testKeyRing } from '../harness/master-keys.ts';
import { waitFor } from '../harness/wait.ts';
import { ClusterHarness, TENANT } from './cluster-harness.ts';
import { expectExactlyOnce, startLoad, type LoadResult } from './load.ts';
import { untilProjected } from '../fixtures/unpublished-steps.ts';

// Migration plans on a real cluster: `bflow node` processes on MariaDB and NATS, the plan run by the nodes'
// executors (one at a time under a lease), each runtime migrated inside its actor on the node owning it.

/** Starts `count` purchase orders (`chunk` at a time), submitting every other one; returns the acknowledged starts and submits. */
async function createRuntimes(h: ClusterHarness, count: number, label: string, chunk = 400) {
  const ids = Array.from({ length: count }, (_, i) => `${label}-${String(i).padStart(6, '0')}`);
  const acked: AcknowledgedCommand[] = [];
  for (let i = 0; i < ids.length; i += chunk) {
    await Promise.all(
      ids.slice(i, i + chunk).map(async (id, j) => {
        const start = startRequest(TENANT, id, `doc-${id}`);
        const started = await h.send(start, 60_000);
        if (!started.ok) throw new Error(`start ${id}: ${started.problem.code} ${started.problem.message}`);
        acked.push({ tenant: TENANT, runtimeId: id, idempotencyKey: start.idempotencyKey });
        if ((i + j) % 2 === 1) return;
        const submit = commandRequest(TENANT, id, 'alice', 'submit');
        const submitted = await h.send(submit, 60_000);
        if (!submitted.ok) throw new Error(`submit ${id}: ${submitted.problem.code} ${submitted.problem.message}`);
        acked.push({ tenant: TENANT, runtimeId: id, idempotencyKey: submit.idempotencyKey });
      }),
    );
  }
  // A plan selects its runtimes from the runtimes projection: all of them are there once projected.
  await untilProjected(h.db.pool);
  return { ids, acked };
}

/** Publishes version 2 of the purchase order (test/fixtures/purchase-order-v2.ts). */
async function publishV2(h: ClusterHarness): Promise<void> {
  const workflows = new MySqlWorkflowStore(h.db.pool, testCipher(h.db.pool));
  await workflows.updateDraft(TENANT, PO_WORKFLOW, purchaseOrderV2(), Date.now());
  expect(await workflows.publish(TENANT, PO_WORKFLOW, Date.now(), { publishedBy: 'dee' })).toMatchObject({
    version: 2,
  });
}

async function createPlan(h: ClusterHarness, id: string): Promise<MySqlMigrationPlanStore> {
  const plans = new MySqlMigrationPlanStore(h.db.pool, testCipher(h.db.pool));
  await plans.createPlan({
    id,
    tenant: TENANT,
    workflowId: PO_WORKFLOW,
    fromVersion: 1,
    toVersion: 2,
    nodeMap: { manager: 'line-manager' },
    auto: false,
    createdBy: 'dee',
    createdAt: Date.now(),
  });
  return plans;
}

async function planOf(plans: MySqlMigrationPlanStore, id: string): Promise<MigrationPlan> {
  const plan = await plans.getPlan(TENANT, id);
  if (!plan) throw new Error(`plan ${id} is gone`);
  return plan;
}

/** Every runtime is on version 2, with exactly one migrate entry in its log (none migrated twice). */
async function expectMigratedOnce(h: ClusterHarness, ids: readonly string[], planId: string): Promise<void> {
  await untilProjected(h.db.pool);
  const versions = await h.query('SELECT version, COUNT(*) AS n FROM runtimes WHERE tenant = ? GROUP BY version', [
    TENANT,
  ]);
  expect(Object.fromEntries(versions.map((r) => [r.version, Number(r.n)]))).toEqual({ 2: ids.length });
  const twice = await h.query(
    "SELECT runtime_id, COUNT(*) AS n FROM runtime_steps WHERE tenant = ? AND idem_key LIKE 'migrate:%' GROUP BY runtime_id HAVING COUNT(*) <> 1",
    [TENANT],
  );
  expect(twice, 'runtimes migrated twice').toEqual([]);
  const [logged] = await h.query(
    "SELECT COUNT(DISTINCT runtime_id) AS n FROM runtime_steps WHERE tenant = ? AND idem_key LIKE 'migrate:%'",
    [TENANT],
  );
  expect(Number(logged?.n)).toBe(ids.length);
  const [keyed] = await h.query('SELECT COUNT(*) AS n FROM runtime_steps WHERE tenant = ? AND idem_key LIKE ?', [
    TENANT,
    `migrate:${planId}:%`,
  ]);
  expect(Number(keyed?.n)).toBe(ids.length);
}

/** The invariant checker over the tenant once the relay has published everything: replay across versions, tasks, events. */
async function expectInvariants(h: ClusterHarness, acked: AcknowledgedCommand[], load: LoadResult): Promise<void> {
  await waitFor(async () => (await countUnpublished(h.db.pool)) === 0, {
    deadlineMs: 120_000,
    intervalMs: 500,
    what: 'the outbox relay caught up',
  });
  const acknowledged = [
    ...acked,
    ...load.acked.map((a) => ({ tenant: TENANT, runtimeId: a.runtimeId, idempotencyKey: `key-${a.comment}` })),
  ];
  const report = await checkInvariants({
    pool: h.db.pool,
    keyRing: testKeyRing(),
    tenant: TENANT,
    nats: { url: h.nats.url, stream: clusterStreams(h.cluster).events },
    acknowledged,
    queryTimeoutMs: 120_000,
    streamTimeoutMs: 180_000,
  });
  console.log(report.summary);
  expect(violationLines(report)).toEqual([]);
}

describe('cluster - migrating 10,000 runtimes while commands continue', () => {
  let h: ClusterHarness;
  beforeAll(async () => {
    h = await ClusterHarness.create('cl_migrate');
  }, 60_000);
  afterAll(() => h.cleanup(), 120_000);

  it('cluster - a plan migrates 10,000 runtimes across 3 nodes under a comment load: every runtime once, no acknowledged command lost, checker green', async () => {
    for (const id of ['m1', 'm2', 'm3']) h.startNode(id);
    await h.waitBalanced(45_000);
    const created = performance.now();
    const { ids, acked } = await createRuntimes(h, 10_000, 'mig');
    console.log(`created 10,000 runtimes in ${((performance.now() - created) / 1000).toFixed(1)} s`);
    await publishV2(h);
    const load = startLoad(
      h,
      ids.filter((_, i) => i % 25 === 0),
    );
    await waitFor(() => load.result.acked.length >= 50, { deadlineMs: 30_000, what: 'load running' });
    const began = performance.now();
    const plans = await createPlan(h, 'plan-10k');
    const done = await waitFor(
      async () => {
        const plan = await planOf(plans, 'plan-10k');
        return plan.status === 'completed' ? plan : undefined;
      },
      { deadlineMs: 600_000, intervalMs: 500, what: 'the plan completed' },
    );
    const seconds = (performance.now() - began) / 1000;
    const result = await load.stop();
    console.log(
      `migrated ${done.progress.migrated} runtimes in ${seconds.toFixed(1)} s (${(done.progress.migrated / seconds).toFixed(0)}/s) under load: ${result.acked.length} commands acknowledged, ${result.failed.length} failed`,
    );
    expect(done.progress).toMatchObject({ migrated: 10_000, blocked: {} });
    expect(result.failed).toEqual([]);
    await expectMigratedOnce(h, ids, 'plan-10k');
    await expectExactlyOnce(h, result);
    await expectInvariants(h, acked, result);
  }, 1_200_000);
});

describe('cluster - a node SIGKILLed mid-plan', () => {
  let h: ClusterHarness;
  beforeAll(async () => {
    h = await ClusterHarness.create('cl_migrate_kill');
  }, 60_000);
  afterAll(() => h.cleanup(), 120_000);

  it('cluster - the node running a plan is SIGKILLed mid-plan: another node resumes it after the lease, the plan completes, no runtime is migrated twice, checker green', async () => {
    for (const id of ['k1', 'k2', 'k3']) h.startNode(id);
    await h.waitBalanced(45_000);
    const { ids, acked } = await createRuntimes(h, 4000, 'kill');
    await publishV2(h);
    const load = startLoad(
      h,
      ids.filter((_, i) => i % 40 === 0),
      4,
    );
    const plans = await createPlan(h, 'plan-kill');
    const running = await waitFor(
      async () => {
        const plan = await planOf(plans, 'plan-kill');
        const [row] = await h.query(
          "SELECT COUNT(*) AS n FROM runtime_steps WHERE tenant = ? AND idem_key LIKE 'migrate:%'",
          [TENANT],
        );
        return plan.owner !== undefined && Number(row?.n) >= 300 ? plan : undefined;
      },
      { deadlineMs: 120_000, intervalMs: 50, what: 'the plan under way' },
    );
    expect(running.status).toBe('running');
    const victim = h.nodes.get(running.owner!)!;
    victim.signal('SIGKILL');
    await waitFor(() => victim.exited, { deadlineMs: 5000, what: `${victim.id} exits` });
    const [atKill] = await h.query(
      "SELECT COUNT(*) AS n FROM runtime_steps WHERE tenant = ? AND idem_key LIKE 'migrate:%'",
      [TENANT],
    );
    console.log(
      `killed ${victim.id} (the plan's executor) with ${String(atKill?.n)} of ${ids.length} runtimes migrated`,
    );
    expect(Number(atKill?.n)).toBeLessThan(ids.length);
    const done = await waitFor(
      async () => {
        const plan = await planOf(plans, 'plan-kill');
        return plan.status === 'completed' ? plan : undefined;
      },
      { deadlineMs: 300_000, intervalMs: 500, what: 'the plan completed after the kill' },
    );
    expect(done.owner).not.toBe(victim.id);
    const result = await load.stop();
    expect(done.progress).toMatchObject({ migrated: ids.length, blocked: {} });
    await expectMigratedOnce(h, ids, 'plan-kill');
    await expectExactlyOnce(h, result);
    await expectInvariants(h, acked, result);
  }, 900_000);
});
