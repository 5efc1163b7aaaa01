import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { admin, designer, integration, member, TENANT_B, testGateway, type TestGateway } from './test-backend.ts';

let gw: TestGateway;
beforeEach(async () => {
  gw = await testGateway();
});
afterEach(() => gw.close());

const PATH = '/api/v1/retention-policy';

describe('api retention policy', () => {
  it('retention policy - the default keeps the audit log; an admin sets days or null; it is per tenant', async () => {
    expect((await gw.call(admin(), 'GET', PATH)).body).toEqual({ auditLogDays: null, updatedAt: null });
    const set = await gw.call(admin(), 'PUT', PATH, { body: { auditLogDays: 2555 } });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ auditLogDays: 2555, updatedAt: new Date(gw.clock.now()).toISOString() });
    expect((await gw.call(admin(), 'GET', PATH)).body).toMatchObject({ auditLogDays: 2555 });
    expect((await gw.call(admin(TENANT_B), 'GET', PATH)).body).toEqual({ auditLogDays: null, updatedAt: null });
    expect((await gw.call(admin(), 'PUT', PATH, { body: { auditLogDays: null } })).body).toMatchObject({
      auditLogDays: null,
    });
    expect(await gw.store.retention.getPolicy('tenant-a')).toMatchObject({ auditLogDays: null });
  });

  it('retention policy - bad input → 422 validation_failed problem+json naming the field, and the policy is unchanged', async () => {
    await gw.call(admin(), 'PUT', PATH, { body: { auditLogDays: 30 } });
    const bad: unknown[] = [
      { auditLogDays: 0 },
      { auditLogDays: -5 },
      { auditLogDays: 1.5 },
      { auditLogDays: 36_501 },
      { auditLogDays: '30' },
      {},
      { auditLogDays: 30, keepForever: true },
      [],
      'thirty',
    ];
    for (const body of bad) {
      const res = await gw.call(admin(), 'PUT', PATH, { body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors.length, JSON.stringify(body)).toBeGreaterThan(0);
    }
    const zero = await gw.call(admin(), 'PUT', PATH, { body: { auditLogDays: 0 } });
    expect(zero.body.errors).toEqual([{ path: 'auditLogDays', message: expect.stringContaining('at least 1 day') }]);
    expect((await gw.call(admin(), 'GET', PATH)).body).toMatchObject({ auditLogDays: 30 });
  });

  it('retention policy - only admins: 403 forbidden for every other role, and nothing changes', async () => {
    for (const caller of [member('alice'), designer(), integration()]) {
      expect((await gw.call(caller, 'GET', PATH)).status).toBe(403);
      const put = await gw.call(caller, 'PUT', PATH, { body: { auditLogDays: 1 } });
      expect(put.status).toBe(403);
      expect(put.body.code).toBe('forbidden');
    }
    expect(await gw.store.retention.getPolicy('tenant-a')).toBeUndefined();
  });
});
