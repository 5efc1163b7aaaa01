import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, member, poDoc, TENANT_A } from '../gateway/test-backend.ts';
import { twoTenants, type Backend, type TwoTenants } from './two-tenants.ts';

/**
 * Ids the store cannot hold are refused by the gateway (422 naming the
 * field), never sent to MySQL: there a 101-character employee id or a
 * 65-character company id was a 500 (`Data too long for column`), or a 503
 * `store_unavailable` that a client would retry forever. The longest storable
 * ids pass.
 */

const at = (n: number, c = 'x') => c.repeat(n);

describe.each<Backend>(['memory', 'mysql'])('id limits (%s)', (backend) => {
  let t: TwoTenants;
  beforeAll(async () => {
    t = await twoTenants(backend, 'idlimits');
  }, 60_000);
  afterAll(() => t?.close());

  const expect422 = (reply: { status: number; body: any }, path: string) => {
    expect(reply.status, JSON.stringify(reply.body)).toBe(422);
    expect(reply.body.code).toBe('validation_failed');
    expect(reply.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  };

  it('id limits - employee and group ids up to 100, company ids up to 64 characters are stored; one more is 422 (was: 500 on MySQL)', async () => {
    const { gw } = t;
    const put = (path: string, body: unknown) => gw.call(admin(), 'PUT', path, { body });
    expect((await put(`/api/v1/directory/groups/${at(100, 'g')}`, { name: 'G', managerId: at(100, 'm') })).status).toBe(
      200,
    );
    expect(
      (
        await put(`/api/v1/directory/employees/${at(100, 'e')}`, {
          name: 'E',
          groupId: at(100, 'g'),
          companyId: at(64, 'c'),
        })
      ).status,
    ).toBe(200);
    expect(
      (await gw.store.directory.loadDirectory(TENANT_A)).employees.find((e) => e.id === at(100, 'e')),
    ).toMatchObject({ companyId: at(64, 'c') });

    expect422(await put(`/api/v1/directory/employees/${at(101, 'e')}`, { name: 'E' }), 'param.id');
    expect422(await put(`/api/v1/directory/groups/${at(101, 'g')}`, { name: 'G' }), 'param.id');
    expect422(await put('/api/v1/directory/employees/e-ok', { name: 'E', companyId: at(65, 'c') }), 'companyId');
    expect422(await put('/api/v1/directory/employees/e-ok', { name: 'E', groupId: at(101, 'g') }), 'groupId');
    expect422(await put('/api/v1/directory/groups/g-ok', { name: 'G', managerId: at(101, 'm') }), 'managerId');
    expect422(
      await gw.call(admin(), 'POST', '/api/v1/directory/import', {
        body: { employees: [{ id: at(101, 'e'), name: 'E' }] },
      }),
      'employees.0.id',
    );
    expect422(
      await put('/api/v1/apps/purchase.order/config', { workflowId: 'wf-po', mode: 'apply', companyId: at(65, 'c') }),
      'companyId',
    );
  });

  it('id limits - a runtime started with a 64-character company id is stored; 65 characters is 422 (was: 503 store_unavailable on MySQL)', async () => {
    const { gw } = t;
    const start = (docId: string, companyId: string) =>
      gw.call(member('alice'), 'POST', '/api/v1/runtimes', {
        body: { app: 'purchase.order', docId, doc: poDoc(5), companyId },
      });
    const ok = await start('LIM-1', at(64, 'c'));
    expect(ok.status, JSON.stringify(ok.body)).toBeLessThan(500);
    expect422(await start('LIM-2', at(65, 'c')), 'companyId');
    expect422(await start(at(101, 'd'), 'c1'), 'docId');
    const action = await gw.call(member('alice'), 'POST', `/api/v1/runtimes/${t.a.runtimeIds[0]}/actions`, {
      body: { action: 'reassign', toEmployee: at(101, 'e') },
    });
    expect422(action, 'toEmployee');
  });
});
