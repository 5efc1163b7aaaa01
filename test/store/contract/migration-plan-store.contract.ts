import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrationKey, type MigrationPlanStore, type NewMigrationPlan } from '../../../src/store/migration-ports.ts';
import type { TransitionWriter } from '../../../src/store/ports.ts';
import { commitOk, step, T0, uniqueTenant, type StepOptions } from '../fixtures.ts';

export interface MigrationPlanSubject {
  plans: MigrationPlanStore;
  writer: TransitionWriter;
  cleanup(): Promise<void>;
}

const LEASE = 10_000;

/** The MigrationPlanStore contract: plans, their executor leases and fencing, cancellation, candidates, counts from the log. */
export function migrationPlanStoreContract(name: string, makeSubject: () => Promise<MigrationPlanSubject>): void {
  describe(`${name} - migration plans`, () => {
    let s: MigrationPlanSubject;
    let tenant: string;
    const plan = (id: string, extra: Partial<NewMigrationPlan> = {}): NewMigrationPlan => ({
      id,
      tenant,
      workflowId: 'wf-po',
      fromVersion: 1,
      toVersion: 2,
      nodeMap: { n1: 'm1' },
      auto: false,
      createdBy: 'admin-1',
      createdAt: T0,
      ...extra,
    });
    beforeEach(async () => {
      s = await makeSubject();
      tenant = uniqueTenant('mig');
    });
    afterEach(async () => {
      await s.cleanup();
    });

    it('plans - created running with empty progress, read back, listed newest first per workflow', async () => {
      const { created: isNew, plan: created } = await s.plans.createPlan(
        plan('p1', { filter: { status: 'in_progress', node: 'n1' }, allowEndNodes: true }),
      );
      expect(created).toMatchObject({
        status: 'running',
        cursor: '',
        progress: { migrated: 0, blocked: {}, samples: {} },
      });
      expect(isNew).toBe(true);
      expect(await s.plans.getPlan(tenant, 'p1')).toEqual(created);
      // The same id again (a retried request with its Idempotency-Key): the stored plan, unchanged.
      expect(await s.plans.createPlan(plan('p1', { toVersion: 9 }))).toEqual({ created: false, plan: created });
      await s.plans.createPlan(plan('p2', { createdAt: T0 + 1, auto: true, createdBy: 'system' }));
      await s.plans.createPlan(plan('p3', { workflowId: 'wf-other' }));
      expect((await s.plans.listPlans(tenant, 'wf-po')).map((p) => [p.id, p.auto])).toEqual([
        ['p2', true],
        ['p1', false],
      ]);
      expect(await s.plans.getPlan(uniqueTenant('other'), 'p1')).toBeUndefined();
    });

    it('leases - one executor holds a plan; another takes it only once the lease ran out, and the first is fenced', async () => {
      await s.plans.createPlan(plan('p1'));
      const now = T0 + 1_000_000_000 + Math.floor(Math.random() * 1000);
      // Other tenants' running plans may be claimable too: claim until ours comes up.
      const claimOurs = async (owner: string, at: number) => {
        for (let i = 0; i < 50; i++) {
          const got = await s.plans.claimPlan(owner, at, LEASE);
          if (!got) return undefined;
          if (got.tenant === tenant) return got;
          await s.plans.cancelPlan(got.tenant, got.id, at);
        }
        return undefined;
      };
      expect(await claimOurs('node-a', now)).toMatchObject({ id: 'p1', owner: 'node-a', leaseUntil: now + LEASE });
      expect(await claimOurs('node-b', now + 1)).toBeUndefined();
      expect(
        await s.plans.saveProgress(
          { tenant, id: 'p1' },
          'node-a',
          'rt-5',
          { migrated: 5, blocked: { finished: 1 }, samples: {} },
          now + 2,
          LEASE,
        ),
      ).toBe(true);
      expect(await claimOurs('node-b', now + LEASE + 1)).toBeUndefined();
      const taken = await claimOurs('node-b', now + 2 + LEASE + 1);
      expect(taken).toMatchObject({
        owner: 'node-b',
        cursor: 'rt-5',
        progress: { migrated: 5, blocked: { finished: 1 } },
      });
      expect(
        await s.plans.saveProgress(
          { tenant, id: 'p1' },
          'node-a',
          'rt-9',
          { migrated: 9, blocked: {}, samples: {} },
          now + LEASE * 3,
          LEASE,
        ),
      ).toBe(false);
      expect(
        await s.plans.finishPlan({ tenant, id: 'p1' }, 'node-a', { migrated: 9, blocked: {}, samples: {} }, now),
      ).toBe(false);
      expect(
        await s.plans.finishPlan(
          { tenant, id: 'p1' },
          'node-b',
          { migrated: 7, blocked: {}, samples: {} },
          now + LEASE * 3,
        ),
      ).toBe(true);
      expect(await s.plans.getPlan(tenant, 'p1')).toMatchObject({
        status: 'completed',
        finishedAt: now + LEASE * 3,
        progress: { migrated: 7 },
      });
      expect(await claimOurs('node-c', now + LEASE * 10)).toBeUndefined();
    });

    it('cancel - a running plan is cancelled and its executor fenced; a completed plan stays completed; an unknown plan is absent', async () => {
      await s.plans.createPlan(plan('p1'));
      const now = T0 + 2_000_000_000;
      const first = await s.plans.claimPlan('node-a', now, LEASE);
      expect(first).toBeDefined();
      const cancelled = await s.plans.cancelPlan(tenant, 'p1', now + 5);
      expect(cancelled).toMatchObject({ status: 'cancelled', finishedAt: now + 5 });
      expect(
        await s.plans.saveProgress(
          { tenant, id: 'p1' },
          'node-a',
          'x',
          { migrated: 1, blocked: {}, samples: {} },
          now + 6,
          LEASE,
        ),
      ).toBe(false);
      expect(await s.plans.cancelPlan(tenant, 'nope', now)).toBeUndefined();
    });

    it('candidates - active runtimes of the version in id order after the cursor, filtered by status and node; occupied nodes counted', async () => {
      const shard = 11;
      const runtimes: [string, Partial<StepOptions>][] = [
        ['rt-a', { assignees: ['e1'] }],
        ['rt-b', { status: 'created' }],
        ['rt-c', { status: 'approved' }],
        ['rt-d', { version: 2 }],
        ['rt-e', {}],
      ];
      for (const [id, extra] of runtimes) {
        await commitOk(s.writer, step({ tenant, id, shard, ...extra }));
      }
      await commitOk(s.writer, step({ tenant, id: 'rt-e', shard, baseRevision: 1 }));
      const spec = { workflowId: 'wf-po', fromVersion: 1 };
      const ids = async (
        ...args: Parameters<MigrationPlanStore['candidates']> extends [string, ...infer R] ? R : never
      ) => (await s.plans.candidates(tenant, ...args)).map((c) => c.runtimeId);
      expect(await ids(spec, '', 10)).toEqual(['rt-a', 'rt-b', 'rt-e']);
      expect(await ids(spec, '', 2)).toEqual(['rt-a', 'rt-b']);
      expect(await ids(spec, 'rt-b', 2)).toEqual(['rt-e']);
      expect(await ids({ ...spec, filter: { status: 'created' } }, '', 10)).toEqual(['rt-b']);
      expect(await ids({ ...spec, filter: { node: 'n2' } }, '', 10)).toEqual(['rt-e']);
      expect(await ids({ ...spec, fromVersion: 2 }, '', 10)).toEqual(['rt-d']);
      const [a] = await s.plans.candidates(tenant, spec, '', 1);
      expect(a?.state).toMatchObject({ runtime: { id: 'rt-a', version: 1 }, revision: 1 });
      expect(Object.fromEntries(await s.plans.occupiedNodes(tenant, 'wf-po', 1))).toEqual({ n1: 2, n2: 1 });
      expect(await s.plans.candidates(uniqueTenant('other'), spec, '', 10)).toEqual([]);
    });

    it('a step that changes the version is projected: the runtime leaves the old version for the new one', async () => {
      const shard = 12;
      await commitOk(s.writer, step({ tenant, id: 'rt-m', shard }));
      await commitOk(s.writer, step({ tenant, id: 'rt-m', shard, baseRevision: 1, version: 2 }));
      expect(await s.plans.candidates(tenant, { workflowId: 'wf-po', fromVersion: 1 }, '', 10)).toEqual([]);
      expect(
        (await s.plans.candidates(tenant, { workflowId: 'wf-po', fromVersion: 2 }, '', 10)).map((c) => c.runtimeId),
      ).toEqual(['rt-m']);
    });

    it('countMigrated - the runtimes whose migrate entry of the plan is in the log', async () => {
      const shard = 13;
      for (const id of ['rt-1', 'rt-2', 'rt-3']) await commitOk(s.writer, step({ tenant, id, shard }));
      await commitOk(
        s.writer,
        step({
          tenant,
          id: 'rt-1',
          shard,
          baseRevision: 1,
          version: 2,
          idempotency: { key: migrationKey('p1', 'rt-1') },
        }),
      );
      await commitOk(
        s.writer,
        step({
          tenant,
          id: 'rt-2',
          shard,
          baseRevision: 1,
          version: 2,
          idempotency: { key: migrationKey('p1', 'rt-2') },
        }),
      );
      await commitOk(
        s.writer,
        step({
          tenant,
          id: 'rt-3',
          shard,
          baseRevision: 1,
          version: 2,
          idempotency: { key: migrationKey('p10', 'rt-3') },
        }),
      );
      expect(await s.plans.countMigrated(tenant, 'p1')).toBe(2);
      expect(await s.plans.countMigrated(tenant, 'p10')).toBe(1);
      expect(await s.plans.countMigrated(uniqueTenant('other'), 'p1')).toBe(0);
    });
  });
}
