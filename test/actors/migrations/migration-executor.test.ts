import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ShardReply, ShardRequest } from '../../../src/actors/bus/ports.ts';
import { MigrationExecutor, type MigrationRouter } from '../../../src/actors/migrations/index.ts';
import type { MigrationPlanStore } from '../../../src/store/migration-ports.ts';
import { purchaseOrderV2 } from '../../fixtures/purchase-order-v2.ts';
import {
  PO_WORKFLOW,
  TENANT_A,
  act,
  member,
  startPo,
  testGateway,
  type TestGateway,
} from '../../gateway/test-backend.ts';

let gw: TestGateway;
let plans: MigrationPlanStore;
beforeEach(async () => {
  gw = await testGateway();
  plans = gw.deps.migrations!;
});
afterEach(() => gw.close());

/**
 * Six purchase orders on version 1, submitted (at the manager) unless `submit` says no, then `v2` published and
 * a plan created. The ids come back in id order: the order a plan takes them in.
 */
async function sixRuntimes(v2 = purchaseOrderV2(), submit = (_i: number) => true): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) {
    const id = (await startPo(gw, `PO-${i}`)).id as string;
    if (submit(i)) expect((await act(gw, member('alice'), id, { action: 'submit' })).status).toBe(200);
    ids.push(id);
  }
  ids.sort();
  await gw.store.workflows.updateDraft(TENANT_A, PO_WORKFLOW, v2, gw.clock.now());
  await gw.store.workflows.publish(TENANT_A, PO_WORKFLOW, gw.clock.now());
  await plans.createPlan({
    id: 'plan-1',
    tenant: TENANT_A,
    workflowId: PO_WORKFLOW,
    fromVersion: 1,
    toVersion: 2,
    nodeMap: { manager: 'line-manager' },
    auto: false,
    createdBy: 'dee',
    createdAt: gw.clock.now(),
  });
  return ids;
}

const executor = (router: MigrationRouter, owner = 'node-a') =>
  new MigrationExecutor({ plans, router, owner, clock: gw.clock, pageSize: 2, concurrency: 2, attempts: 2 });

const versions = async (ids: string[]) =>
  Promise.all(ids.map(async (id) => (await gw.store.read.getRuntime(TENANT_A, id))?.runtime.version));

describe('migration executor', () => {
  it('a runtime that stays unreachable interrupts the run with nothing of the page saved; the next run resumes, and migrated counts each runtime once', async () => {
    const ids = await sixRuntimes();
    let failing = true;
    const flaky: MigrationRouter = {
      send: async (request: ShardRequest): Promise<ShardReply> => {
        // The third runtime's shard does not answer; the others migrate.
        if (failing && request.runtimeId === ids[2])
          return { ok: false, problem: { code: 'store_unavailable', message: 'down', retryable: true } };
        return gw.deps.router.send(request);
      },
    };
    expect(await executor(flaky).runOnce()).toBe(true);
    const interrupted = await plans.getPlan(TENANT_A, 'plan-1');
    expect(interrupted).toMatchObject({ status: 'running', cursor: ids[1], progress: { migrated: 2 } });
    // The second page's other runtime did migrate: its resend is answered from its log.
    expect(await versions(ids)).toEqual([2, 2, 1, 2, 1, 1]);
    failing = false;
    expect(await executor(flaky).runOnce()).toBe(true);
    expect(await plans.getPlan(TENANT_A, 'plan-1')).toMatchObject({
      status: 'completed',
      progress: { migrated: 6, blocked: {} },
    });
    expect(await versions(ids)).toEqual([2, 2, 2, 2, 2, 2]);
    for (const id of ids) {
      const log = await gw.store.read.runtimeLog(TENANT_A, id);
      expect(log.filter((e) => e.action === 'migrate')).toHaveLength(1);
    }
  });

  it('a plan cancelled mid-run stops at its next save; another executor cannot take a plan whose lease is held', async () => {
    const ids = await sixRuntimes();
    let sent = 0;
    const cancelling: MigrationRouter = {
      send: async (request) => {
        if (++sent === 2) await plans.cancelPlan(TENANT_A, 'plan-1', gw.clock.now());
        return gw.deps.router.send(request);
      },
    };
    expect(await executor(cancelling).runOnce()).toBe(true);
    expect(await plans.getPlan(TENANT_A, 'plan-1')).toMatchObject({ status: 'cancelled' });
    expect(await versions(ids)).toEqual([2, 2, 1, 1, 1, 1]);
    expect(await executor(gw.deps.router, 'node-b').runOnce()).toBe(false);
  });

  it('runtimes that cannot move are counted by reason with samples, and the plan completes', async () => {
    const v2 = purchaseOrderV2();
    // Nobody active can take the manager's step in version 2: the submitted runtimes cannot move.
    v2.nodes.find((n) => n.id === 'line-manager')!.collaborators = {
      type: 'in_workflow',
      members: [{ employee: 'old-fin' }],
    };
    const ids = await sixRuntimes(v2, (i) => i % 2 === 0);
    expect(await executor(gw.deps.router).runOnce()).toBe(true);
    const plan = await plans.getPlan(TENANT_A, 'plan-1');
    expect(plan).toMatchObject({ status: 'completed', progress: { migrated: 3, blocked: { no_assignee: 3 } } });
    expect(plan?.progress.samples.no_assignee).toHaveLength(3);
    expect(plan?.progress.samples.migrated?.map((s) => s.node)).toEqual(['start', 'start', 'start']);
    expect((await versions(ids)).filter((v) => v === 2)).toHaveLength(3);
  });

  it('an executor stopping mid-plan gives its lease up after the page: another takes the plan over at once and completes it', async () => {
    const ids = await sixRuntimes();
    let stopping: Promise<void> | undefined;
    const a = executor({
      send: async (request) => {
        stopping ??= a.stop();
        return gw.deps.router.send(request);
      },
    });
    expect(await a.runOnce()).toBe(true);
    await stopping;
    expect(await plans.getPlan(TENANT_A, 'plan-1')).toMatchObject({
      status: 'running',
      owner: 'node-a',
      cursor: ids[1],
      leaseUntil: gw.clock.now(),
    });
    gw.clock.advance(1);
    expect(await executor(gw.deps.router, 'node-b').runOnce()).toBe(true);
    expect(await plans.getPlan(TENANT_A, 'plan-1')).toMatchObject({ status: 'completed', owner: 'node-b' });
    expect(await versions(ids)).toEqual([2, 2, 2, 2, 2, 2]);
  });
});
