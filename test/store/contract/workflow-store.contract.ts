import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WorkflowDefinition } from '../../../src/engine/index.ts';
import { T0, uniqueTenant } from '../fixtures.ts';
import type { MakeSubject, StoreSubject } from './subject.ts';

function definition(name = 'PO approval', app = 'purchase.order'): WorkflowDefinition {
  return {
    app,
    name,
    fields: { amount: 'number', buyer: 'employee' },
    zones: [{ id: 'pricing', title: 'Pricing', fields: ['amount'] }],
    nodes: [
      { id: 'start', kind: 'initial', title: 'Draft' },
      {
        id: 'manager',
        kind: 'task',
        title: 'Manager',
        actions: ['approve', 'reject'],
        collaborators: { type: 'in_workflow', members: [{ position: 'manager_1' }] },
      },
      { id: 'done', kind: 'approved', title: 'Approved' },
    ],
    associations: [
      { from: 'start', to: 'manager' },
      { from: 'manager', to: 'done', condition: { left: { field: 'amount' }, op: '<', right: 10_000 } },
      { from: 'manager', to: 'start', else: true },
    ],
  };
}

/** The same definition with every object's keys in reverse order. */
function reversedKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reversedKeys) as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reversedKeys(v)]),
  ) as T;
}

/** The WorkflowStore contract: drafts, immutable versions, content hashes, app configs. */
export function workflowStoreContract(name: string, makeSubject: MakeSubject): void {
  describe(`${name} - workflows`, () => {
    let s: StoreSubject;
    let tenant: string;
    beforeEach(async () => {
      s = await makeSubject();
      tenant = uniqueTenant();
    });
    afterEach(async () => {
      await s.cleanup();
    });

    it('workflows - create, read, update the draft, list by app', async () => {
      const created = await s.workflows.createWorkflow(tenant, 'wf1', definition(), T0);
      expect(created).toEqual({
        id: 'wf1',
        tenant,
        app: 'purchase.order',
        name: 'PO approval',
        draft: definition(),
        latestVersion: null,
        createdAt: T0,
        updatedAt: T0,
      });
      expect(await s.workflows.getWorkflow(tenant, 'wf1')).toEqual(created);
      expect(await s.workflows.updateDraft(tenant, 'wf1', definition('PO v2'), T0 + 5)).toBe(true);
      expect(await s.workflows.getWorkflow(tenant, 'wf1')).toMatchObject({
        name: 'PO v2',
        draft: definition('PO v2'),
        updatedAt: T0 + 5,
        createdAt: T0,
      });
      expect(await s.workflows.updateDraft(tenant, 'wf1', definition('PO v2'), T0 + 5)).toBe(true);
      expect(await s.workflows.updateDraft(tenant, 'missing', definition(), T0)).toBe(false);
      await s.workflows.createWorkflow(tenant, 'wf0', definition('Leave', 'leave.request'), T0);
      expect((await s.workflows.listWorkflows(tenant)).map((w) => w.id)).toEqual(['wf0', 'wf1']);
      expect((await s.workflows.listWorkflows(tenant, 'leave.request')).map((w) => w.id)).toEqual(['wf0']);
      expect(await s.workflows.getWorkflow(tenant, 'missing')).toBeUndefined();
    });

    it('workflows - creating an existing id is refused', async () => {
      await s.workflows.createWorkflow(tenant, 'wf1', definition(), T0);
      await expect(s.workflows.createWorkflow(tenant, 'wf1', definition(), T0)).rejects.toMatchObject({
        name: 'StoreError',
      });
    });

    it('publish - versions 1, 2; an unchanged draft returns the latest version', async () => {
      await s.workflows.createWorkflow(tenant, 'wf1', definition(), T0);
      const v1 = await s.workflows.publish(tenant, 'wf1', T0 + 1);
      expect(v1).toMatchObject({ workflowId: 'wf1', version: 1, definition: definition(), publishedAt: T0 + 1 });
      expect(await s.workflows.publish(tenant, 'wf1', T0 + 2)).toEqual(v1);
      await s.workflows.updateDraft(tenant, 'wf1', definition('PO v2'), T0 + 3);
      const v2 = await s.workflows.publish(tenant, 'wf1', T0 + 4);
      expect(v2).toMatchObject({ version: 2, definition: definition('PO v2'), publishedAt: T0 + 4 });
      expect(v2!.contentHash).not.toBe(v1!.contentHash);
      expect((await s.workflows.getWorkflow(tenant, 'wf1'))?.latestVersion).toBe(2);
      expect(await s.workflows.getVersion(tenant, 'wf1', 1)).toEqual(v1);
      expect(await s.workflows.getVersion(tenant, 'wf1', 2)).toEqual(v2);
      expect(await s.workflows.getVersion(tenant, 'wf1', 3)).toBeUndefined();
      expect(await s.workflows.publish(tenant, 'missing', T0)).toBeUndefined();
    });

    it('publish - a draft changed back to an older version is a new version', async () => {
      await s.workflows.createWorkflow(tenant, 'wf1', definition(), T0);
      await s.workflows.publish(tenant, 'wf1', T0);
      await s.workflows.updateDraft(tenant, 'wf1', definition('PO v2'), T0);
      await s.workflows.publish(tenant, 'wf1', T0);
      await s.workflows.updateDraft(tenant, 'wf1', definition(), T0);
      expect((await s.workflows.publish(tenant, 'wf1', T0))?.version).toBe(3);
    });

    it('publish - the content hash is sha256 of the canonical JSON, whatever the key order', async () => {
      await s.workflows.createWorkflow(tenant, 'wf1', definition(), T0);
      const v1 = await s.workflows.publish(tenant, 'wf1', T0);
      expect(v1!.contentHash).toMatch(/^[0-9a-f]{64}$/);
      await s.workflows.updateDraft(tenant, 'wf1', reversedKeys(definition()), T0 + 1);
      expect(await s.workflows.publish(tenant, 'wf1', T0 + 2)).toEqual(v1);
      const canonical =
        '{"app":"purchase.order","associations":[{"from":"start","to":"manager"}],"fields":{},"name":"X","nodes":[],"zones":[]}';
      const small = {
        app: 'purchase.order',
        name: 'X',
        fields: {},
        zones: [],
        nodes: [],
        associations: [{ to: 'manager', from: 'start' }],
      };
      await s.workflows.createWorkflow(tenant, 'wf-small', small as WorkflowDefinition, T0);
      expect((await s.workflows.publish(tenant, 'wf-small', T0))?.contentHash).toBe(
        createHash('sha256').update(canonical).digest('hex'),
      );
    });

    it('publish - records who published and the change log; versions are listed oldest first without their definitions', async () => {
      await s.workflows.createWorkflow(tenant, 'wf1', definition(), T0);
      const v1 = await s.workflows.publish(tenant, 'wf1', T0 + 1);
      await s.workflows.updateDraft(tenant, 'wf1', definition('PO v2'), T0 + 2);
      const v2 = await s.workflows.publish(tenant, 'wf1', T0 + 3, {
        publishedBy: 'designer-1',
        changeLog: 'CFO approves',
      });
      expect(v2).toMatchObject({
        version: 2,
        publishedBy: 'designer-1',
        changeLog: 'CFO approves',
        publishedAt: T0 + 3,
      });
      expect(await s.workflows.getVersion(tenant, 'wf1', 2)).toEqual(v2);
      expect(await s.workflows.listVersions(tenant, 'wf1')).toEqual([
        { workflowId: 'wf1', version: 1, contentHash: v1!.contentHash, publishedAt: T0 + 1 },
        {
          workflowId: 'wf1',
          version: 2,
          contentHash: v2!.contentHash,
          publishedAt: T0 + 3,
          publishedBy: 'designer-1',
          changeLog: 'CFO approves',
        },
      ]);
      expect(await s.workflows.listVersions(uniqueTenant('b'), 'wf1')).toEqual([]);
    });

    it('publish - concurrent publishes of one draft make one version', async () => {
      await s.workflows.createWorkflow(tenant, 'wf1', definition(), T0);
      const versions = await Promise.all(
        Array.from({ length: 5 }, (_, i) => s.workflows.publish(tenant, 'wf1', T0 + i)),
      );
      expect(versions.map((v) => v?.version)).toEqual([1, 1, 1, 1, 1]);
      expect(await s.workflows.getVersion(tenant, 'wf1', 2)).toBeUndefined();
    });

    it('app config - set, overwrite, get per company; company "" is the tenant default', async () => {
      const base = { tenant, app: 'purchase.order', mode: 'apply' as const, workflowId: 'wf1' };
      await s.workflows.setAppConfig({ ...base, companyId: '' });
      await s.workflows.setAppConfig({ ...base, companyId: 'c1', mode: 'pending' });
      expect(await s.workflows.getAppConfig(tenant, 'purchase.order', '')).toEqual({
        ...base,
        companyId: '',
        autoMigrate: false,
      });
      expect(await s.workflows.getAppConfig(tenant, 'purchase.order', 'c1')).toEqual({
        ...base,
        companyId: 'c1',
        mode: 'pending',
        autoMigrate: false,
      });
      await s.workflows.setAppConfig({
        ...base,
        companyId: 'c1',
        mode: 'unapply',
        workflowId: 'wf2',
        autoMigrate: true,
      });
      expect(await s.workflows.getAppConfig(tenant, 'purchase.order', 'c1')).toEqual({
        ...base,
        companyId: 'c1',
        mode: 'unapply',
        workflowId: 'wf2',
        autoMigrate: true,
      });
      expect(await s.workflows.appConfigsOf(tenant, 'wf1')).toEqual([{ ...base, companyId: '', autoMigrate: false }]);
      expect(await s.workflows.appConfigsOf(tenant, 'wf2')).toEqual([
        { ...base, companyId: 'c1', mode: 'unapply', workflowId: 'wf2', autoMigrate: true },
      ]);
      expect(await s.workflows.getAppConfig(tenant, 'leave.request', '')).toBeUndefined();
    });

    it('tenants - tenant B never sees tenant A workflows, versions or configs', async () => {
      const other = uniqueTenant('b');
      await s.workflows.createWorkflow(tenant, 'wf1', definition(), T0);
      await s.workflows.publish(tenant, 'wf1', T0);
      await s.workflows.setAppConfig({
        tenant,
        companyId: '',
        app: 'purchase.order',
        mode: 'apply',
        workflowId: 'wf1',
      });
      expect(await s.workflows.getWorkflow(other, 'wf1')).toBeUndefined();
      expect(await s.workflows.listWorkflows(other)).toEqual([]);
      expect(await s.workflows.getVersion(other, 'wf1', 1)).toBeUndefined();
      expect(await s.workflows.publish(other, 'wf1', T0)).toBeUndefined();
      expect(await s.workflows.updateDraft(other, 'wf1', definition('hijack'), T0)).toBe(false);
      expect(await s.workflows.getAppConfig(other, 'purchase.order', '')).toBeUndefined();
      expect(await s.workflows.createWorkflow(other, 'wf1', definition('B'), T0)).toMatchObject({
        tenant: other,
        name: 'B',
      });
      expect((await s.workflows.getWorkflow(tenant, 'wf1'))?.name).toBe('PO approval');
    });
  });
}
