import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MigrationExecutor } from '../../src/actors/migrations/index.ts';
import type { WorkflowDefinition } from '../../src/engine/index.ts';
import { loadExample } from '../fixtures/engine-driver.ts';
import {
  PO_WORKFLOW,
  TENANT_A,
  act,
  admin,
  designer,
  member,
  startPo,
  testGateway,
  type TestGateway,
} from './test-backend.ts';

let gw: TestGateway;
beforeEach(async () => {
  gw = await testGateway();
});
afterEach(() => gw.close());

const base = `/api/v1/workflows/${PO_WORKFLOW}`;

/** Publishes `edit` of the purchase order as the next version (through the API, as a designer). */
async function publish(edit: (def: WorkflowDefinition) => void, changeLog?: string) {
  const def = loadExample('purchase-order');
  edit(def);
  expect((await gw.call(designer(), 'PUT', base, { body: def })).status).toBe(200);
  const res = await gw.call(
    designer(),
    'POST',
    `${base}/publish`,
    changeLog === undefined ? {} : { body: { changeLog } },
  );
  expect(res.status).toBe(201);
  return res.body as { version: number; migrationPlanId?: string };
}

const renameManager = (def: WorkflowDefinition) => {
  def.nodes.find((n) => n.id === 'manager')!.id = 'line-manager';
  for (const a of def.associations) {
    if (a.from === 'manager') a.from = 'line-manager';
    if (a.to === 'manager') a.to = 'line-manager';
  }
};

/** Two runtimes at `manager` (submitted) and one at `start` (created), all on version 1. */
async function threeRuntimes() {
  const ids: string[] = [];
  for (const doc of ['PO-1', 'PO-2', 'PO-3']) ids.push((await startPo(gw, doc)).id as string);
  for (const id of ids.slice(0, 2)) expect((await act(gw, member('alice'), id, { action: 'submit' })).status).toBe(200);
  return ids;
}

/** Runs the plans waiting, as a node's executor would. */
async function runPlans() {
  const executor = new MigrationExecutor({
    plans: gw.deps.migrations!,
    router: gw.deps.router,
    owner: 'node-test',
    clock: gw.clock,
  });
  while (await executor.runOnce()) {}
}

const versionOf = async (id: string) => (await gw.store.read.getRuntime(TENANT_A, id))?.runtime.version;

describe('api - workflow versions', () => {
  it('publishing records who and the change log; versions are listed; the diff names what changed', async () => {
    await publish((def) => {
      renameManager(def);
      def.fields.contract = 'string';
    }, 'Line manager renamed');
    const versions = await gw.call(admin(), 'GET', `${base}/versions`);
    expect(versions.status).toBe(200);
    expect(versions.body.items).toEqual([
      expect.objectContaining({ version: 1, publishedAt: expect.any(String) }),
      expect.objectContaining({ version: 2, publishedBy: 'dee', changeLog: 'Line manager renamed' }),
    ]);
    expect((await gw.call(admin(), 'GET', `${base}/versions/2`)).body).toMatchObject({ publishedBy: 'dee' });
    const diff = await gw.call(designer(), 'GET', `${base}/versions/1/diff/2`);
    expect(diff.status).toBe(200);
    const keys = (list: { change: string; key: string }[]) => list.map((e) => `${e.change} ${e.key}`).sort();
    expect(keys(diff.body.nodes)).toEqual(['added line-manager', 'removed manager']);
    expect(keys(diff.body.fields)).toEqual(['added contract']);
    expect(keys(diff.body.collaborators)).toEqual(['added line-manager', 'removed manager']);
    expect(diff.body.associations.length).toBeGreaterThan(0);
    expect((await gw.call(designer(), 'GET', `${base}/versions/1/diff/9`)).status).toBe(404);
    expect((await gw.call(member('alice'), 'GET', `${base}/versions`)).status).toBe(403);
  });
});

describe('api - migration plans', () => {
  it('bad plans get 422 naming the paths and change nothing: unknown nodes, unmapped occupied nodes, incompatible kinds, another workflow', async () => {
    const ids = await threeRuntimes();
    await publish(renameManager);
    const plan = (body: Record<string, unknown>) =>
      gw.call(designer(), 'POST', `${base}/migrations`, { body: { fromVersion: 1, toVersion: 2, ...body } });
    const paths = (res: { body: { errors?: { path: string }[] } }) => (res.body.errors ?? []).map((e) => e.path).sort();

    const unmapped = await plan({});
    expect(unmapped).toMatchObject({ status: 422, body: { code: 'validation_failed' } });
    expect(paths(unmapped)).toEqual(['nodeMap.manager']);
    expect(unmapped.body.errors[0].message).toMatch(/runtimes are open at "manager"/);

    const unknown = await plan({ nodeMap: { ghost: 'line-manager', manager: 'nowhere' } });
    expect(paths(unknown)).toEqual(['nodeMap.ghost', 'nodeMap.manager']);

    const kinds = await plan({ nodeMap: { manager: 'start' } });
    expect(paths(kinds)).toEqual(['nodeMap.manager']);
    expect(kinds.body.errors[0].message).toMatch(/task node.*initial node/);

    const end = await plan({ nodeMap: { manager: 'approved' } });
    expect(end.body.errors[0]).toMatchObject({
      path: 'nodeMap.manager',
      message: expect.stringMatching(/allowEndNodes/),
    });

    const other = await plan({ toWorkflowId: 'wf-leave', nodeMap: { manager: 'line-manager' } });
    expect(paths(other)).toEqual(['toWorkflowId']);
    expect(paths(await plan({ toVersion: 7 }))).toEqual(['toVersion']);
    expect((await plan({ nodeMap: { manager: 'x y' } })).status).toBe(422);
    expect(
      (
        await gw.call(designer(), 'POST', '/api/v1/workflows/wf-none/migrations', {
          body: { fromVersion: 1, toVersion: 2 },
        })
      ).status,
    ).toBe(404);

    expect((await gw.call(designer(), 'GET', `${base}/migrations`)).body.items).toEqual([]);
    for (const id of ids) expect(await versionOf(id)).toBe(1);
  });

  it('a dry run counts each outcome with samples and changes nothing', async () => {
    const ids = await threeRuntimes();
    await publish((def) => {
      renameManager(def);
      def.nodes.find((n) => n.id === 'line-manager')!.collaborators = {
        type: 'in_workflow',
        members: [{ employee: 'old-fin' }],
      };
    });
    const res = await gw.call(designer(), 'POST', `${base}/migrations`, {
      body: { fromVersion: 1, toVersion: 2, nodeMap: { manager: 'line-manager' }, dryRun: true },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ dryRun: true, candidates: 3, migratable: 1, blocked: { no_assignee: 2 } });
    expect(res.body.samples.migrated).toEqual([{ runtimeId: ids[2], node: 'start' }]);
    expect(res.body.samples.no_assignee.map((s: { runtimeId: string }) => s.runtimeId).sort()).toEqual(
      ids.slice(0, 2).sort(),
    );
    expect((await gw.call(designer(), 'GET', `${base}/migrations`)).body.items).toEqual([]);
    for (const id of ids) expect(await versionOf(id)).toBe(1);
  });

  it('a plan runs: every runtime is migrated inside its actor once, its progress is shown, a finished plan cannot be cancelled', async () => {
    const ids = await threeRuntimes();
    await publish(renameManager);
    const created = await gw.call(designer(), 'POST', `${base}/migrations`, {
      body: { fromVersion: 1, toVersion: 2, nodeMap: { manager: 'line-manager' }, filter: { status: 'in_progress' } },
    });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({
      status: 'running',
      auto: false,
      createdBy: 'dee',
      filter: { status: 'in_progress' },
    });
    await runPlans();
    const done = await gw.call(designer(), 'GET', `${base}/migrations/${created.body.id}`);
    expect(done.body).toMatchObject({
      status: 'completed',
      progress: { migrated: 2, blocked: {} },
      finishedAt: expect.any(String),
    });
    expect([await versionOf(ids[0]!), await versionOf(ids[1]!), await versionOf(ids[2]!)]).toEqual([2, 2, 1]);
    const history = await gw.call(admin(), 'GET', `/api/v1/runtimes/${ids[0]}/history`);
    expect(JSON.stringify(history.body)).toContain('"migrate"');
    // On version 2 now: the manager approves at line-manager.
    expect((await act(gw, member('pur-mgr'), ids[0]!, { action: 'approve' })).status).toBe(200);
    const cancel = await gw.call(designer(), 'POST', `${base}/migrations/${created.body.id}/cancel`);
    expect(cancel).toMatchObject({ status: 409, body: { code: 'conflict' } });
    expect((await gw.call(designer(), 'GET', `${base}/migrations/nope`)).status).toBe(404);
  });

  it('a cancelled plan is not run', async () => {
    const ids = await threeRuntimes();
    await publish((def) => {
      def.name = 'PO v2';
    });
    const created = await gw.call(designer(), 'POST', `${base}/migrations`, { body: { fromVersion: 1, toVersion: 2 } });
    const cancelled = await gw.call(designer(), 'POST', `${base}/migrations/${created.body.id}/cancel`);
    expect(cancelled).toMatchObject({ status: 200, body: { status: 'cancelled' } });
    await runPlans();
    for (const id of ids) expect(await versionOf(id)).toBe(1);
  });

  it('autoMigrate: publishing a new version migrates the running runtimes of the previous one (identity mapping); those that cannot move are reported', async () => {
    const ids = await threeRuntimes();
    const config = await gw.call(designer(), 'PUT', '/api/v1/apps/purchase.order/config', {
      body: { workflowId: PO_WORKFLOW, mode: 'apply', autoMigrate: true },
    });
    expect(config.body).toMatchObject({ autoMigrate: true });
    const published = await publish(renameManager);
    expect(published.migrationPlanId).toEqual(expect.any(String));
    await runPlans();
    const plan = await gw.call(designer(), 'GET', `${base}/migrations/${published.migrationPlanId}`);
    expect(plan.body).toMatchObject({
      status: 'completed',
      auto: true,
      createdBy: 'system',
      progress: { migrated: 1, blocked: { unmapped_node: 2 } },
    });
    expect(plan.body.progress.samples.unmapped_node).toHaveLength(2);
    expect(await versionOf(ids[2]!)).toBe(2);
    expect(await versionOf(ids[0]!)).toBe(1);
  });

  it('Idempotency-Key: a repeat answers the first plan (replayed) and creates nothing; the key with another plan is 422', async () => {
    await threeRuntimes();
    await publish(renameManager);
    const body = { fromVersion: 1, toVersion: 2, nodeMap: { manager: 'line-manager' } };
    const headers = { 'Idempotency-Key': 'plan-key-1' };
    const first = await gw.call(designer(), 'POST', `${base}/migrations`, { body, headers });
    expect(first.status).toBe(202);
    await runPlans();
    // After the plan ran (its runtimes left version 1), the repeat still answers it.
    const again = await gw.call(designer(), 'POST', `${base}/migrations`, { body, headers });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotency-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    const other = await gw.call(designer(), 'POST', `${base}/migrations`, {
      body: { ...body, allowEndNodes: true },
      headers,
    });
    expect(other).toMatchObject({ status: 422, body: { code: 'idempotency_key_reused' } });
    expect((await gw.call(designer(), 'GET', `${base}/migrations`)).body.items).toHaveLength(1);
  });
});
