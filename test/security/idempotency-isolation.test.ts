import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, member, poDoc, TENANT_A, TENANT_B } from '../gateway/test-backend.ts';
import { A_MARKERS, aMarkerIn, twoTenants, type Backend, type TwoTenants } from './two-tenants.ts';

/**
 * Idempotency keys are per tenant: tenant B sending the Idempotency-Key
 * tenant A used gets its own result (never A's stored reply, never A's
 * runtime or webhook), and A's replay still returns A's first result.
 */

describe.each<Backend>(['memory', 'mysql'])('idempotency isolation (%s)', (backend) => {
  let t: TwoTenants;
  beforeAll(async () => {
    t = await twoTenants(backend, 'idemiso');
  }, 60_000);
  afterAll(() => t?.close());

  const key = (label: string) => ({ 'Idempotency-Key': `shared-${label}-key` });

  it("idempotency isolation - a start with A's key in B creates B's own runtime; A's replay is A's", async () => {
    const { gw } = t;
    const body = (docId: string) => ({
      app: 'purchase.order',
      docId,
      doc: poDoc(9, { note: docId === 'IDEM-A' ? A_MARKERS[0] : 'b' }),
    });
    const a = await gw.call(member('alice'), 'POST', '/api/v1/runtimes', {
      body: body('IDEM-A'),
      headers: key('start'),
    });
    expect(a.status).toBe(201);
    const b = await gw.call(member('alice', TENANT_B), 'POST', '/api/v1/runtimes', {
      body: body('IDEM-B'),
      headers: key('start'),
    });
    expect(b.status, JSON.stringify(b.body)).toBe(201);
    expect(b.body.id).not.toBe(a.body.id);
    expect(b.body.docId).toBe('IDEM-B');
    expect(aMarkerIn(JSON.stringify(b.body))).toBeUndefined();
    const replay = await gw.call(member('alice'), 'POST', '/api/v1/runtimes', {
      body: body('IDEM-A'),
      headers: key('start'),
    });
    expect(replay.body.id).toBe(a.body.id);
    expect(replay.headers.get('idempotency-replayed')).toBe('true');
  });

  it("idempotency isolation - an action and a batch with A's key in B act on B's runtime only", async () => {
    const { gw } = t;
    const [aId] = t.a.runtimeIds;
    const a = await gw.call(member('alice'), 'POST', `/api/v1/runtimes/${aId}/actions`, {
      body: { action: 'comment', comment: A_MARKERS[0] },
      headers: key('act'),
    });
    expect(a.status).toBe(200);
    const own = await gw.call(member('alice', TENANT_B), 'POST', '/api/v1/runtimes', {
      body: { app: 'purchase.order', docId: 'IDEM-B2', doc: poDoc(9) },
    });
    const b = await gw.call(member('alice', TENANT_B), 'POST', `/api/v1/runtimes/${own.body.id}/actions`, {
      body: { action: 'comment', comment: 'b' },
      headers: key('act'),
    });
    expect(b.status, JSON.stringify(b.body)).toBe(200);
    expect(b.body.id).toBe(own.body.id);
    expect(b.headers.get('idempotency-replayed')).toBeNull();
    const batch = await gw.call(member('alice', TENANT_B), 'POST', '/api/v1/actions/batch', {
      body: { items: [{ runtimeId: own.body.id, action: 'comment', comment: 'b2' }] },
      headers: key('act'),
    });
    expect(batch.body.results[0]).toMatchObject({ runtimeId: own.body.id, status: 200 });
    expect(aMarkerIn(JSON.stringify([b.body, batch.body]))).toBeUndefined();
    const history = await gw.call(member('alice', TENANT_B), 'GET', `/api/v1/runtimes/${own.body.id}/history`);
    expect(history.body.log.filter((l: { action: string }) => l.action === 'comment')).toHaveLength(2);
  });

  it("idempotency isolation - a webhook registered with A's key in B is B's own (same derived id, never A's URL)", async () => {
    const { gw } = t;
    const register = (tenant: string, url: string) =>
      gw.call(admin(tenant), 'POST', '/api/v1/webhooks', {
        body: { url, events: ['*'], secret: 'idem-webhook-secret-0123' },
        headers: key('hook'),
      });
    const a = await register(TENANT_A, `https://${A_MARKERS[4]}/idem`);
    expect(a.status).toBe(201);
    const b = await register(TENANT_B, 'https://b.example.com/idem');
    expect(b.status, JSON.stringify(b.body)).toBe(201);
    expect(b.body.url).toBe('https://b.example.com/idem');
    expect(aMarkerIn(JSON.stringify(b.body))).toBeUndefined();
    expect((await gw.call(admin(TENANT_A), 'GET', `/api/v1/webhooks/${a.body.id}`)).body.url).toBe(
      `https://${A_MARKERS[4]}/idem`,
    );
  });
});
