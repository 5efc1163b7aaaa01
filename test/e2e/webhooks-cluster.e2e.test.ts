import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookReceiver } from '../actors/webhooks/webhook-receiver.ts';
import { waitFor } from '../harness/wait.ts';
import { Tenant, expectStatus } from './api-client.ts';
import { startClusterStack, type ClusterStack } from './stack.ts';
import { poDoc } from '../fixtures/purchase-order-doc.ts';

/** Webhooks through a real cluster: registered at a `bflow gateway`, delivered by the `bflow node` processes from JetStream. */
let stack: ClusterStack | undefined;
let receiver: WebhookReceiver;
const HOOK_SECRET = 'cluster-hook-secret-0123456789';

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
  stack = await startClusterStack('e2e_webhooks');
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await receiver.close();
}, 60_000);

describe('cluster - webhooks', () => {
  it('cluster webhooks - every event of a started and approved runtime arrives once, signed, from the nodes', async () => {
    const tenant = await Tenant.create(stack!, 'wh');
    const erp = await tenant.as('erp', ['integration']);
    expectStatus(
      await erp.post('/api/v1/webhooks', { url: receiver.url('/bflow'), events: ['*'], secret: HOOK_SECRET }),
      201,
      'register',
    );
    const alice = await tenant.as('alice');
    const doc = poDoc(5_000_000, { note: 'n' });
    const started = expectStatus(
      await alice.post('/api/v1/runtimes', { app: 'purchase.order', docId: 'PO-WH', doc }),
      201,
      'start',
    ).body as { id: string };
    expectStatus(await alice.post(`/api/v1/runtimes/${started.id}/actions`, { action: 'submit' }), 200, 'submit');
    expectStatus(
      await (await tenant.as('pur-mgr')).post(`/api/v1/runtimes/${started.id}/actions`, { action: 'approve' }),
      200,
      'approve',
    );

    const types = () => receiver.received.map((r) => String(r.headers['x-bflow-event-type']));
    await waitFor(() => types().includes('runtime.finished'), {
      what: 'runtime.finished at the receiver',
      deadlineMs: 30_000,
    });
    const ids = receiver.received.map((r) => String(r.headers['x-bflow-event-id']));
    expect(new Set(ids).size).toBe(ids.length);
    expect(types()).toEqual(
      expect.arrayContaining(['runtime.started', 'stage.entered', 'task.assigned', 'stage.exited', 'runtime.finished']),
    );
    for (const got of receiver.received) {
      expect(got.headers['x-bflow-signature']).toBe(
        `sha256=${createHmac('sha256', HOOK_SECRET).update(got.body).digest('hex')}`,
      );
      expect(JSON.parse(got.body.toString('utf8'))).toMatchObject({ tenant: tenant.id, runtimeId: started.id });
    }
  });

  it('cluster webhooks - a webhook registered after the nodes cached the list receives the next events at once (change notice)', async () => {
    const tenant = await Tenant.create(stack!, 'wh-notice');
    const erp = await tenant.as('erp', ['integration']);
    const ofPath = (path: string) => receiver.received.filter((r) => r.path === path);
    expectStatus(
      await erp.post('/api/v1/webhooks', { url: receiver.url('/first'), events: ['*'], secret: HOOK_SECRET }),
      201,
      'register first',
    );
    const alice = await tenant.as('alice');
    const doc = poDoc(5_000_000, { note: 'n' });
    const started = expectStatus(
      await alice.post('/api/v1/runtimes', { app: 'purchase.order', docId: 'PO-WH-2', doc }),
      201,
      'start',
    ).body as { id: string };
    // The start's events reached /first: the delivering node has cached the list [first] (for 10 min in this stack).
    await waitFor(() => ofPath('/first').length > 0, { what: 'the start events at /first', deadlineMs: 30_000 });
    expectStatus(
      await erp.post('/api/v1/webhooks', { url: receiver.url('/second'), events: ['*'], secret: HOOK_SECRET }),
      201,
      'register second',
    );
    expectStatus(await alice.post(`/api/v1/runtimes/${started.id}/actions`, { action: 'submit' }), 200, 'submit');
    await waitFor(() => ofPath('/second').length > 0, { what: 'the submit events at /second', deadlineMs: 30_000 });
    const bodies = ofPath('/second').map((r) => JSON.parse(r.body.toString('utf8')) as { runtimeId: string });
    expect(bodies.every((b) => b.runtimeId === started.id)).toBe(true);
  });
});
