import { sign } from 'hono/jwt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/gateway/app.ts';
import {
  admin,
  designer,
  integration,
  member,
  SECRET,
  TENANT_B,
  testGateway,
  type TestGateway,
} from './test-backend.ts';

let gw: TestGateway;
beforeEach(async () => {
  gw = await testGateway();
});
afterEach(() => gw.close());

const HOOK_SECRET = 'whsec-super-secret-0123456789';
const body = (over: Record<string, unknown> = {}) => ({
  url: 'https://erp.example.com/hooks/bflow',
  events: ['stage.entered', 'runtime.finished'],
  secret: HOOK_SECRET,
  ...over,
});

describe('api webhooks - register, list, get, delete', () => {
  it('webhooks - create → 201 without the secret; list and get never return it; delete → 204 then 404', async () => {
    const created = await gw.call(admin(), 'POST', '/api/v1/webhooks', { body: body() });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^wh_/),
      url: 'https://erp.example.com/hooks/bflow',
      events: ['stage.entered', 'runtime.finished'],
      createdAt: expect.any(String),
    });
    expect(created.headers.get('location')).toBe(`/api/v1/webhooks/${created.body.id}`);
    const id = created.body.id as string;

    const list = await gw.call(integration(), 'GET', '/api/v1/webhooks');
    expect(list).toMatchObject({ status: 200, body: { items: [created.body], nextCursor: null } });
    const one = await gw.call(admin(), 'GET', `/api/v1/webhooks/${id}`);
    expect(one).toMatchObject({ status: 200, body: created.body });
    for (const reply of [created, list, one]) expect(JSON.stringify(reply.body)).not.toContain(HOOK_SECRET);
    // The store keeps it: deliveries are signed with it.
    expect((await gw.deps.webhooks!.get('tenant-a', id))?.secret).toBe(HOOK_SECRET);

    expect((await gw.call(integration(), 'DELETE', `/api/v1/webhooks/${id}`)).status).toBe(204);
    expect((await gw.call(admin(), 'GET', `/api/v1/webhooks/${id}`)).status).toBe(404);
    expect((await gw.call(admin(), 'DELETE', `/api/v1/webhooks/${id}`)).body.code).toBe('not_found');
  });

  it('webhooks - only admin and integration: member and designer → 403', async () => {
    const created = await gw.call(admin(), 'POST', '/api/v1/webhooks', { body: body() });
    for (const caller of [member('alice'), designer()]) {
      for (const [method, path] of [
        ['POST', '/api/v1/webhooks'],
        ['GET', '/api/v1/webhooks'],
        ['GET', `/api/v1/webhooks/${created.body.id}`],
        ['DELETE', `/api/v1/webhooks/${created.body.id}`],
      ] as const) {
        const reply = await gw.call(caller, method, path, method === 'POST' ? { body: body() } : {});
        expect(reply.status, `${caller.roles[0]} ${method} ${path}`).toBe(403);
        expect(reply.body.code).toBe('forbidden');
      }
    }
  });

  it("webhooks - another tenant's webhook is a 404 and never listed", async () => {
    const created = await gw.call(admin(), 'POST', '/api/v1/webhooks', { body: body() });
    const id = created.body.id as string;
    expect((await gw.call(admin(TENANT_B), 'GET', `/api/v1/webhooks/${id}`)).status).toBe(404);
    expect((await gw.call(admin(TENANT_B), 'DELETE', `/api/v1/webhooks/${id}`)).status).toBe(404);
    expect((await gw.call(admin(TENANT_B), 'GET', '/api/v1/webhooks')).body.items).toEqual([]);
    expect((await gw.call(admin(), 'GET', `/api/v1/webhooks/${id}`)).status).toBe(200);
  });

  it('webhooks - invalid input → 422 problem+json naming each field', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [body({ url: 'ftp://erp.example.com/h' }), 'url', /http and https/],
      [body({ url: 'https://user:pw@erp.example.com/h' }), 'url', /credentials/],
      [body({ url: 'not a url' }), 'url', /absolute/],
      [body({ url: 42 }), 'url', /./],
      [body({ events: [] }), 'events', /./],
      [body({ events: ['stage.entered', 'stage.teleported'] }), 'events.1', /./],
      [body({ events: ['*', '*'] }), 'events', /once/],
      [body({ secret: 'short' }), 'secret', /./],
      [{ url: 'https://erp.example.com/h' }, 'events', /./],
    ];
    for (const [input, path, message] of cases) {
      const reply = await gw.call(admin(), 'POST', '/api/v1/webhooks', { body: input });
      expect(reply.status, JSON.stringify(input)).toBe(422);
      expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(reply.body.code).toBe('validation_failed');
      const error = (reply.body.errors as { path: string; message: string }[]).find((e) => e.path === path);
      expect(error?.message, `${JSON.stringify(input)} → ${JSON.stringify(reply.body.errors)}`).toMatch(message);
    }
    expect((await gw.call(admin(), 'GET', '/api/v1/webhooks')).body.items).toEqual([]);
    expect((await gw.call(admin(), 'GET', '/api/v1/webhooks/has%20space')).status).toBe(422);
    expect((await gw.call(admin(), 'GET', '/api/v1/webhooks?cursor=bm90LWEtY3Vyc29y')).status).toBe(422);
  });

  it('webhooks - "*" subscribes to every event type', async () => {
    const created = await gw.call(admin(), 'POST', '/api/v1/webhooks', { body: body({ events: ['*'] }) });
    expect(created).toMatchObject({ status: 201, body: { events: ['*'] } });
  });

  it('webhooks - a repeat with the same Idempotency-Key returns the first registration; another body with it → 422', async () => {
    const headers = { 'Idempotency-Key': 'erp-setup-1' };
    const first = await gw.call(admin(), 'POST', '/api/v1/webhooks', { body: body(), headers });
    const again = await gw.call(admin(), 'POST', '/api/v1/webhooks', { body: body(), headers });
    expect(first.status).toBe(201);
    expect(again).toMatchObject({ status: 201, body: first.body });
    expect((await gw.call(admin(), 'GET', '/api/v1/webhooks')).body.items).toHaveLength(1);
    const other = await gw.call(admin(), 'POST', '/api/v1/webhooks', {
      body: body({ url: 'https://elsewhere.example.com/h' }),
      headers,
    });
    expect(other).toMatchObject({ status: 422, body: { code: 'idempotency_key_reused' } });
    // Keys are per tenant: tenant B's same key registers its own webhook.
    expect(
      (
        await gw.call(admin(TENANT_B), 'POST', '/api/v1/webhooks', {
          body: body({ url: 'https://b.example.com/h' }),
          headers,
        })
      ).status,
    ).toBe(201);
  });

  it('webhooks - keyset pages by id', async () => {
    for (let i = 0; i < 5; i++)
      expect((await gw.call(admin(), 'POST', '/api/v1/webhooks', { body: body() })).status).toBe(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await gw.call(
        admin(),
        'GET',
        `/api/v1/webhooks?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((w) => w.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect([...seen].sort()).toEqual(seen);
  });

  it('webhooks - a tenant has at most 100 webhooks', async () => {
    for (let i = 0; i < 100; i++)
      await gw.deps.webhooks!.create({
        id: `wh-${String(i).padStart(3, '0')}`,
        tenant: 'tenant-a',
        url: 'https://x.example.com',
        events: ['*'],
        secret: HOOK_SECRET,
        createdAt: 0,
      });
    const reply = await gw.call(admin(), 'POST', '/api/v1/webhooks', { body: body() });
    expect(reply).toMatchObject({ status: 422, body: { code: 'webhook_limit_reached' } });
    expect((await gw.call(admin(TENANT_B), 'POST', '/api/v1/webhooks', { body: body() })).status).toBe(201);
  });
});

describe('api webhooks - private targets', () => {
  async function callWith(allowPrivate: boolean, url: string) {
    const app = createApp({ ...gw.deps, webhookAllowPrivate: allowPrivate }, { auth: { secret: SECRET } });
    const token = await sign(
      { sub: 'root', tid: 'tenant-a', roles: ['admin'], exp: Math.floor(gw.clock.now() / 1000) + 3600 },
      SECRET,
      'HS256',
    );
    const res = await app.request('/api/v1/webhooks', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body({ url })),
    });
    return {
      status: res.status,
      body: (await res.json()) as { code?: string; errors?: { path: string; message: string }[] },
    };
  }

  it('webhooks - with BFLOW_WEBHOOK_ALLOW_PRIVATE=false loopback, private and link-local targets → 422 at url', async () => {
    for (const url of [
      'http://127.0.0.1:8080/h',
      'http://localhost/h',
      'http://10.0.0.5/h',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/h',
    ]) {
      const reply = await callWith(false, url);
      expect(reply.status, url).toBe(422);
      expect(reply.body.errors?.[0]).toMatchObject({ path: 'url', message: expect.stringMatching(/not allowed/) });
    }
    expect((await callWith(false, 'https://erp.example.com/h')).status).toBe(201);
  });

  it('webhooks - by default (dev, tests) a loopback target is accepted', async () => {
    expect((await callWith(true, 'http://127.0.0.1:8080/h')).status).toBe(201);
  });
});
