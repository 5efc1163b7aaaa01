import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { admin, designer, integration, member, TENANT_B, testGateway, type TestGateway } from './test-backend.ts';

let gw: TestGateway;
beforeEach(async () => {
  gw = await testGateway();
});
afterEach(() => gw.close());

const example = (): Record<string, any> =>
  JSON.parse(readFileSync(new URL('../../examples/purchase-order.json', import.meta.url), 'utf8'));
const leave = (): Record<string, any> =>
  JSON.parse(readFileSync(new URL('../../examples/leave-request.json', import.meta.url), 'utf8'));

describe('api workflows - definitions', () => {
  it('create → get → put draft → publish → version; unchanged draft publishes nothing new', async () => {
    const created = await gw.call(designer(), 'POST', '/api/v1/workflows', { body: example() });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      app: 'purchase.order',
      name: 'Purchase order approval',
      latestVersion: null,
      draft: { nodes: expect.any(Array) },
    });
    const id = created.body.id as string;
    expect((await gw.call(designer(), 'GET', `/api/v1/workflows/${id}`)).body).toEqual(created.body);

    const renamed = await gw.call(designer(), 'PUT', `/api/v1/workflows/${id}`, {
      body: { ...example(), name: 'PO v2' },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id, name: 'PO v2', draft: { name: 'PO v2' } });

    const published = await gw.call(designer(), 'POST', `/api/v1/workflows/${id}/publish`);
    expect(published).toMatchObject({ status: 201, body: { id, version: 1 } });
    const again = await gw.call(designer(), 'POST', `/api/v1/workflows/${id}/publish`);
    expect(again).toMatchObject({ status: 200, body: { id, version: 1 } });

    const version = await gw.call(admin(), 'GET', `/api/v1/workflows/${id}/versions/1`);
    expect(version.status).toBe(200);
    expect(version.body).toMatchObject({
      workflowId: id,
      version: 1,
      definition: { name: 'PO v2' },
      contentHash: expect.any(String),
      publishedAt: expect.any(String),
    });
    expect((await gw.call(admin(), 'GET', `/api/v1/workflows/${id}/versions/2`)).status).toBe(404);
    expect((await gw.call(designer(), 'GET', `/api/v1/workflows/${id}`)).body.latestVersion).toBe(1);
  });

  it("an invalid definition → 422 validation_failed with the engine's paths (create, put, validate)", async () => {
    const bad = example();
    bad.nodes[1].kind = 'robot';
    bad.associations.push({ from: 'manager', to: 'nowhere' });
    const created = await gw.call(designer(), 'POST', '/api/v1/workflows', { body: bad });
    expect(created.status).toBe(422);
    expect(created.body.code).toBe('validation_failed');
    expect(created.body.errors.map((e: { path: string }) => e.path)).toContain('nodes[1].kind');

    const semantic = example();
    semantic.associations.push({ from: 'manager', to: 'nowhere' });
    const checked = await gw.call(designer(), 'POST', '/api/v1/workflows/validate', { body: semantic });
    expect(checked.status).toBe(422);
    expect(checked.body.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: expect.stringMatching(/^associations\[6\]/) })]),
    );

    expect((await gw.call(designer(), 'POST', '/api/v1/workflows/validate', { body: example() })).body).toEqual({
      valid: true,
    });
    const notObject = await gw.call(designer(), 'POST', '/api/v1/workflows/validate', { body: [1, 2] });
    expect(notObject.status).toBe(422);

    const id = (await gw.call(designer(), 'POST', '/api/v1/workflows', { body: example() })).body.id;
    const put = await gw.call(designer(), 'PUT', `/api/v1/workflows/${id}`, { body: semantic });
    expect(put.status).toBe(422);
    const otherApp = await gw.call(designer(), 'PUT', `/api/v1/workflows/${id}`, {
      body: { ...example(), app: 'sales.order' },
    });
    expect(otherApp.body).toMatchObject({ code: 'validation_failed', errors: [{ path: 'app' }] });
  });

  it('list by app, paged', async () => {
    for (let i = 0; i < 3; i++) await gw.call(designer(), 'POST', '/api/v1/workflows', { body: example() });
    await gw.call(designer(), 'POST', '/api/v1/workflows', { body: leave() });
    const po = await gw.call(designer(), 'GET', '/api/v1/workflows?app=purchase.order');
    // The seeded wf-po plus three.
    expect(po.body.items).toHaveLength(4);
    expect(po.body.items[0]).not.toHaveProperty('draft');
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await gw.call(
        designer(),
        'GET',
        `/api/v1/workflows?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      ids.push(...page.body.items.map((w: { id: string }) => w.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(ids).toHaveLength(5);
    expect(new Set(ids).size).toBe(5);
  });

  it("tenant B gets 404 for tenant A's workflow, its versions and publish; lists only its own", async () => {
    const id = (await gw.call(designer(), 'POST', '/api/v1/workflows', { body: example() })).body.id;
    const other = designer(TENANT_B);
    for (const res of [
      await gw.call(other, 'GET', `/api/v1/workflows/${id}`),
      await gw.call(other, 'PUT', `/api/v1/workflows/${id}`, { body: example() }),
      await gw.call(other, 'POST', `/api/v1/workflows/${id}/publish`),
      await gw.call(other, 'GET', `/api/v1/workflows/${id}/versions/1`),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
    expect((await gw.call(other, 'GET', '/api/v1/workflows')).body.items.map((w: { id: string }) => w.id)).toEqual([
      'wf-po',
    ]);
  });

  it('wrong role → 403 (members and integrations do not design workflows)', async () => {
    expect((await gw.call(member('alice'), 'POST', '/api/v1/workflows', { body: example() })).status).toBe(403);
    expect((await gw.call(integration(), 'GET', '/api/v1/workflows')).status).toBe(403);
  });
});

describe('api workflows - app config', () => {
  it('binds an app to a workflow of the tenant; the next start uses its latest version', async () => {
    const id = (await gw.call(designer(), 'POST', '/api/v1/workflows', { body: { ...example(), name: 'PO strict' } }))
      .body.id;
    await gw.call(designer(), 'POST', `/api/v1/workflows/${id}/publish`);
    const res = await gw.call(designer(), 'PUT', '/api/v1/apps/purchase.order/config', {
      body: { workflowId: id, mode: 'apply' },
    });
    expect(res).toMatchObject({
      status: 200,
      body: { app: 'purchase.order', companyId: '', workflowId: id, mode: 'apply' },
    });
    const started = await gw.call(member('alice'), 'POST', '/api/v1/runtimes', {
      body: { app: 'purchase.order', docId: 'PO-1', doc: { amount: 1 } },
    });
    expect(started.body).toMatchObject({ workflowId: id, version: 1 });

    await gw.call(designer(), 'PUT', '/api/v1/apps/purchase.order/config', {
      body: { workflowId: id, mode: 'unapply' },
    });
    const refused = await gw.call(member('alice'), 'POST', '/api/v1/runtimes', {
      body: { app: 'purchase.order', docId: 'PO-2', doc: {} },
    });
    expect(refused.body.code).toBe('app_not_applied');
  });

  it("another tenant's, an unknown or another app's workflow → 422 at workflowId", async () => {
    const id = (await gw.call(designer(), 'POST', '/api/v1/workflows', { body: example() })).body.id;
    const leaveId = (await gw.call(designer(), 'POST', '/api/v1/workflows', { body: leave() })).body.id;
    for (const [caller, workflowId] of [
      [designer(TENANT_B), id],
      [designer(), 'nope'],
      [designer(), leaveId],
    ] as const) {
      const res = await gw.call(caller, 'PUT', '/api/v1/apps/purchase.order/config', {
        body: { workflowId, mode: 'apply' },
      });
      expect(res.status).toBe(422);
      expect(res.body.errors[0].path).toBe('workflowId');
    }
    const badMode = await gw.call(designer(), 'PUT', '/api/v1/apps/purchase.order/config', {
      body: { workflowId: id, mode: 'maybe' },
    });
    expect(badMode.body.errors[0].path).toBe('mode');
  });
});

describe('api directory', () => {
  it('put an employee and a group; import in bulk; the host uses them', async () => {
    const emp = await gw.call(integration(), 'PUT', '/api/v1/directory/employees/zoe', {
      body: { name: 'Zoe', email: 'zoe@example.com', groupId: 'g-new' },
    });
    expect(emp).toMatchObject({ status: 200, body: { id: 'zoe', name: 'Zoe', active: true, groupId: 'g-new' } });
    const group = await gw.call(admin(), 'PUT', '/api/v1/directory/groups/g-new', {
      body: { name: 'New', parentId: 'g-root', managerId: 'pur-mgr', level: 1 },
    });
    expect(group).toMatchObject({ status: 200, body: { id: 'g-new', managerId: 'pur-mgr' } });
    const imported = await gw.call(integration(), 'POST', '/api/v1/directory/import', {
      body: { employees: [{ id: 'yan', name: 'Yan', groupId: 'g-new' }], groups: [{ id: 'g-x', name: 'X' }] },
    });
    expect(imported).toMatchObject({ status: 200, body: { employees: 1, groups: 1 } });
    const dir = await gw.store.directory.loadDirectory('tenant-a');
    expect(dir.employees.find((e) => e.id === 'yan')).toMatchObject({ groupId: 'g-new', active: true });
    expect(await gw.store.directory.loadDirectory(TENANT_B)).not.toContainEqual(expect.objectContaining({ id: 'yan' }));

    const started = await gw.call(member('zoe'), 'POST', '/api/v1/runtimes', {
      body: { app: 'purchase.order', docId: 'PO-Z', doc: { amount: 1, requester: 'zoe' } },
    });
    const submitted = await gw.call(member('zoe'), 'POST', `/api/v1/runtimes/${started.body.id}/actions`, {
      body: { action: 'submit' },
    });
    expect(submitted.body.stages.at(-1).tasks).toEqual([{ assignee: 'pur-mgr', status: 'open' }]);
  });

  it('more than 10,000 items → 413 payload_too_large; a bad item → 422 with its path', async () => {
    const groups = Array.from({ length: 10_001 }, (_, i) => ({ id: `g${i}`, name: 'g' }));
    const big = await gw.call(integration(), 'POST', '/api/v1/directory/import', { body: { groups } });
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('payload_too_large');
    const bad = await gw.call(integration(), 'POST', '/api/v1/directory/import', {
      body: { employees: [{ id: 'a', name: 'A' }, { id: 'b b' }] },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['employees.1.id', 'employees.1.name']);
  });

  it('wrong role → 403 (members and designers do not push the directory)', async () => {
    expect(
      (await gw.call(member('alice'), 'PUT', '/api/v1/directory/employees/x', { body: { name: 'X' } })).status,
    ).toBe(403);
    expect((await gw.call(designer(), 'POST', '/api/v1/directory/import', { body: {} })).status).toBe(403);
  });
});
