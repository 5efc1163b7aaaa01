import { createHmac } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.ts';
import { DEMO_TENANT, seedDemo } from '../../src/app/demo/demo-seed.ts';
import { signToken } from '../../src/app/dev-token.ts';
import { startEmbedded, type EmbeddedBackend } from '../../src/app/embedded.ts';
import { createApp } from '../../src/gateway/app.ts';
import { WebhookReceiver } from '../actors/webhooks/webhook-receiver.ts';
import { waitFor } from '../harness/wait.ts';
import { poDoc } from '../fixtures/purchase-order-doc.ts';

/** `bflow all` embedded, over real HTTP both ways: the API on a port, the ERP's webhook receiver on another. */
const SECRET = 'webhooks-e2e-secret-0123456789abcdefgh';
const HOOK_SECRET = 'erp-hook-secret-0123456789';
let backend: EmbeddedBackend;
let server: ServerType;
let base: string;
let receiver: WebhookReceiver;

beforeAll(async () => {
  backend = await startEmbedded(loadConfig({ BFLOW_SHARDS: '4' }), pino({ level: 'silent' }));
  await seedDemo(backend.deps);
  server = serve({
    fetch: createApp(backend.deps, { auth: { secret: SECRET } }).fetch,
    port: 0,
    hostname: '127.0.0.1',
  });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver = await WebhookReceiver.start();
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await backend.stop();
  await receiver.close();
});

async function call(
  sub: string,
  roles: string[],
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const token = await signToken(SECRET, { sub, tid: DEMO_TENANT, roles }, 3600);
  const init: RequestInit = {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
  };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

describe('embedded - webhooks end to end', () => {
  it('webhooks - a runtime started and approved through the API reaches the registered receiver, signed', async () => {
    const hook = await call('erp', ['integration'], 'POST', '/api/v1/webhooks', {
      url: receiver.url('/bflow'),
      events: ['runtime.started', 'runtime.finished'],
      secret: HOOK_SECRET,
    });
    expect(hook.status).toBe(201);

    const doc = poDoc(5_000_000, { note: 'e2e' });
    const started = await call('alice', ['member'], 'POST', '/api/v1/runtimes', {
      app: 'purchase.order',
      docId: 'PO-WH-1',
      doc,
    });
    expect(started.status).toBe(201);
    const runtimeId = started.body.id as string;
    await waitFor(() => receiver.received.length >= 1, { what: 'runtime.started at the receiver' });

    expect(
      (await call('alice', ['member'], 'POST', `/api/v1/runtimes/${runtimeId}/actions`, { action: 'submit' })).status,
    ).toBe(200);
    expect(
      (await call('pur-mgr', ['member'], 'POST', `/api/v1/runtimes/${runtimeId}/actions`, { action: 'approve' })).body
        .status,
    ).toBe('approved');
    await waitFor(() => receiver.received.length >= 2, { what: 'runtime.finished at the receiver' });
    await backend.webhooks.idle();

    // Only the subscribed types, in commit order, each signed over its raw body with the webhook's secret.
    expect(receiver.received.map((r) => r.headers['x-bflow-event-type'])).toEqual([
      'runtime.started',
      'runtime.finished',
    ]);
    for (const got of receiver.received) {
      const event = JSON.parse(got.body.toString('utf8')) as {
        id: string;
        type: string;
        tenant: string;
        runtimeId: string;
      };
      expect(event).toMatchObject({ tenant: DEMO_TENANT, runtimeId, type: got.headers['x-bflow-event-type'] });
      expect(got.headers['x-bflow-event-id']).toBe(event.id);
      expect(got.headers['x-bflow-signature']).toBe(
        `sha256=${createHmac('sha256', HOOK_SECRET).update(got.body).digest('hex')}`,
      );
    }
    expect(JSON.parse(receiver.received[1]!.body.toString('utf8')).data).toMatchObject({ outcome: 'approved' });

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/bflow_webhook_deliveries_total\{outcome="delivered"\} 2/);

    // Analytics over the same runtime: one visit of the manager, approved.
    const stats = await call('alice', ['designer'], 'GET', `/api/v1/analytics/workflows/${started.body.workflowId}`);
    expect(stats.status).toBe(200);
    expect(stats.body.nodes.find((n: { node: string }) => n.node === 'manager')).toMatchObject({
      entered: 1,
      exited: { approve: 1 },
    });
  });
});
