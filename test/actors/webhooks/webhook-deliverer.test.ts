import { createHmac } from 'node:crypto';
import { createServer } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebhookDeliverer, type WebhookDelivererOptions } from '../../../src/actors/webhooks/webhook-deliverer.ts';
import { registerWebhookMetrics } from '../../../src/actors/webhooks/webhook-metrics.ts';
import type { DomainEvent } from '../../../src/engine/index.ts';
import { invalidatingWebhooks } from '../../../src/store/invalidating-webhooks.ts';
import { MemoryWebhookStore } from '../../../src/store/memory/memory-webhook-store.ts';
import type { WebhookRecord } from '../../../src/store/webhook-ports.ts';
import { waitFor } from '../../harness/wait.ts';
import { WebhookReceiver } from './webhook-receiver.ts';

const SECRET = 'whsec-0123456789abcdef';
const encoder = new TextEncoder();

function event(
  type: DomainEvent['type'] = 'stage.entered',
  tenant = 't1',
  id = `rt-1:2:${Math.random()}`,
): DomainEvent {
  return {
    id,
    type,
    tenant,
    app: 'purchase.order',
    docId: 'PO-1',
    runtimeId: 'rt-1',
    workflowId: 'wf-po',
    version: 1,
    actor: 'alice',
    at: 1_800_000_000_000,
    data: { node: 'manager' },
  };
}
const bytes = (e: DomainEvent): Uint8Array => encoder.encode(JSON.stringify(e));

let receiver: WebhookReceiver;
let store: MemoryWebhookStore;
let registry: Registry;
let deliverer: WebhookDeliverer | undefined;

beforeEach(async () => {
  receiver = await WebhookReceiver.start();
  store = new MemoryWebhookStore();
  registry = new Registry();
});
afterEach(async () => {
  deliverer?.stop();
  deliverer = undefined;
  await receiver.close();
});

async function hook(id: string, over: Partial<WebhookRecord> = {}): Promise<WebhookRecord> {
  const record: WebhookRecord = {
    id,
    tenant: 't1',
    url: receiver.url(`/${id}`),
    events: ['*'],
    secret: SECRET,
    createdAt: 0,
    ...over,
  };
  await store.create(record);
  return record;
}

function make(o: Partial<WebhookDelivererOptions> = {}): WebhookDeliverer {
  deliverer = new WebhookDeliverer({
    webhooks: store,
    webhookCacheMs: 0,
    backoffMinMs: 20,
    backoffMaxMs: 200,
    timeoutMs: 2_000,
    random: () => 0,
    metrics: registerWebhookMetrics(registry),
    ...o,
  });
  return deliverer;
}

async function count(name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value ?? 0;
}

describe('webhook deliverer - against a real HTTP receiver', () => {
  it('deliverer - told the tenant (from the subject), an event of a tenant without webhooks is passed over unparsed; one with webhooks is delivered', async () => {
    await hook('wh-told', { tenant: 't1' });
    let parsedNothing = true;
    const d = make({ logger: { warn: () => (parsedNothing = false) } as unknown as WebhookDelivererOptions['logger'] });
    expect(await d.deliver(new TextEncoder().encode('not json'), 't-without-webhooks')).toEqual([]);
    expect(parsedNothing).toBe(true);
    expect(await d.deliver(bytes(event('task.assigned')), 't1')).toEqual([
      { webhookId: 'wh-told', outcome: 'delivered', attempts: 1 },
    ]);
  });

  it('deliverer - POSTs the raw event JSON with a verifiable signature and the event headers', async () => {
    await hook('wh-1');
    const e = event('task.assigned');
    const body = bytes(e);
    const reports = await make().deliver(body);
    expect(reports).toEqual([{ webhookId: 'wh-1', outcome: 'delivered', attempts: 1 }]);
    const [got] = receiver.received;
    expect(got?.path).toBe('/wh-1');
    expect(got?.body.equals(Buffer.from(body))).toBe(true);
    expect(got?.headers['content-type']).toBe('application/json');
    expect(got?.headers['x-bflow-event-id']).toBe(e.id);
    expect(got?.headers['x-bflow-event-type']).toBe('task.assigned');
    expect(Number(got?.headers['x-bflow-timestamp'])).toBeGreaterThan(1_700_000_000);
    const expected = `sha256=${createHmac('sha256', SECRET).update(got!.body).digest('hex')}`;
    expect(got?.headers['x-bflow-signature']).toBe(expected);
    expect(await count('bflow_webhook_deliveries_total', { outcome: 'delivered' })).toBe(1);
    expect(await count('bflow_webhook_attempts_total', { result: '2xx' })).toBe(1);
    expect(await registry.metrics()).toMatch(/^bflow_webhook_lag_seconds_count 1$/m);
  });

  it('deliverer - only the webhooks of the event tenant subscribed to its type (or "*") receive it', async () => {
    await hook('all');
    await hook('entered', { events: ['stage.entered', 'stage.exited'] });
    await hook('finished', { events: ['runtime.finished'] });
    await hook('other-tenant', { tenant: 't2' });
    const reports = await make().deliver(bytes(event('stage.entered')));
    expect(reports.map((r) => r.webhookId).sort()).toEqual(['all', 'entered']);
    expect(receiver.received.map((r) => r.path).sort()).toEqual(['/all', '/entered']);
  });

  it('deliverer - wanted: whether some webhook of the tenant subscribes to the type; rejects when the list cannot be read', async () => {
    await hook('entered', { events: ['stage.entered'] });
    await hook('everything', { tenant: 't2', events: ['*'] });
    const d = make();
    expect(await d.wanted('t1', 'stage.entered')).toBe(true);
    expect(await d.wanted('t1', 'task.assigned')).toBe(false);
    expect(await d.wanted('t2', 'task.assigned')).toBe(true);
    expect(await d.wanted('t3', 'stage.entered')).toBe(false);
    const down = make({ webhooks: { forTenant: () => Promise.reject(new Error('store down')) } });
    await expect(down.wanted('t1', 'stage.entered')).rejects.toThrow('store down');
  });

  it('deliverer - retries a 500 with growing backoff, then succeeds', async () => {
    await hook('wh-1');
    receiver.respond = (n) => (n <= 2 ? 500 : 200);
    const reports = await make().deliver(bytes(event()));
    expect(reports).toEqual([{ webhookId: 'wh-1', outcome: 'delivered', attempts: 3 }]);
    const [a, b, c] = receiver.received.map((r) => r.at);
    // random() = 0: each pause is half its exponential base (20 ms, then 40 ms) — lower bounds only.
    expect(b! - a!).toBeGreaterThanOrEqual(9);
    expect(c! - b!).toBeGreaterThanOrEqual(19);
    expect(receiver.received.map((r) => r.headers['x-bflow-delivery-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(receiver.received.map((r) => r.headers['x-bflow-event-id'])).size).toBe(1);
    expect(await count('bflow_webhook_attempts_total', { result: '5xx' })).toBe(2);
  });

  it('deliverer - gives up after maxAttempts of 503 and counts the delivery failed', async () => {
    await hook('wh-1');
    receiver.respond = () => 503;
    const reports = await make({ maxAttempts: 3 }).deliver(bytes(event()));
    expect(reports).toEqual([{ webhookId: 'wh-1', outcome: 'failed', attempts: 3 }]);
    expect(receiver.received).toHaveLength(3);
    expect(await count('bflow_webhook_deliveries_total', { outcome: 'failed' })).toBe(1);
  });

  it('deliverer - a hanging receiver times out each attempt', async () => {
    await hook('wh-1');
    receiver.respond = () => 'hang';
    const reports = await make({ maxAttempts: 2, timeoutMs: 200 }).deliver(bytes(event()));
    expect(reports).toEqual([{ webhookId: 'wh-1', outcome: 'failed', attempts: 2 }]);
    expect(await count('bflow_webhook_attempts_total', { result: 'timeout' })).toBe(2);
  });

  it('deliverer - a 4xx is not retried; a 429 is, honouring Retry-After', async () => {
    await hook('bad');
    await hook('busy');
    receiver.respond = (_n, req) =>
      req.path === '/bad'
        ? 400
        : req.path === '/busy' && receiver.received.filter((r) => r.path === '/busy').length === 1
          ? { status: 429, headers: { 'Retry-After': '0' } }
          : 200;
    const reports = await make().deliver(bytes(event()));
    expect(reports.sort((x, y) => x.webhookId.localeCompare(y.webhookId))).toEqual([
      { webhookId: 'bad', outcome: 'rejected', attempts: 1 },
      { webhookId: 'busy', outcome: 'delivered', attempts: 2 },
    ]);
  });

  it('deliverer - a dead endpoint opens its breaker and fails fast while another webhook keeps receiving', async () => {
    const dead = await closedPortUrl();
    await hook('dead', { url: dead });
    await hook('alive');
    const d = make({
      maxAttempts: 2,
      breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 },
    });
    for (let i = 0; i < 2; i++) await d.deliver(bytes(event()));
    const reports = await d.deliver(bytes(event()));
    expect(reports.find((r) => r.webhookId === 'dead')).toEqual({
      webhookId: 'dead',
      outcome: 'circuit_open',
      attempts: 1,
    });
    expect(reports.find((r) => r.webhookId === 'alive')?.outcome).toBe('delivered');
    expect(receiver.received.filter((r) => r.path === '/alive')).toHaveLength(3);
    expect(await count('bflow_webhook_breakers_open', {})).toBe(1);
    expect(await count('bflow_webhook_attempts_total', { result: 'network' })).toBeGreaterThanOrEqual(2);
  });

  it('deliverer - with private targets refused, a loopback URL is rejected without a request', async () => {
    await hook('wh-1');
    const reports = await make({ allowPrivate: false }).deliver(bytes(event()));
    expect(reports).toEqual([{ webhookId: 'wh-1', outcome: 'rejected', attempts: 1 }]);
    expect(receiver.received).toHaveLength(0);
    expect(await count('bflow_webhook_attempts_total', { result: 'refused' })).toBe(1);
  });

  it('deliverer - stop() cuts a backoff short: the delivery is aborted, not failed', async () => {
    await hook('wh-1');
    receiver.respond = () => 500;
    const d = make({ backoffMinMs: 60_000, backoffMaxMs: 60_000 });
    const pending = d.deliver(bytes(event()));
    await waitForRequests(1);
    d.stop();
    expect(await pending).toEqual([{ webhookId: 'wh-1', outcome: 'aborted', attempts: 1 }]);
  });

  it('deliverer - a body that is not a domain event is delivered nowhere', async () => {
    await hook('wh-1');
    expect(await make().deliver(encoder.encode('not json'))).toEqual([]);
    expect(await make().deliver(encoder.encode('{"id":1}'))).toEqual([]);
    expect(receiver.received).toHaveLength(0);
  });

  it('deliverer - a cached webhook list is used until the change notice (invalidatingWebhooks) drops it; only real changes are announced', async () => {
    const changed: string[] = [];
    const webhooks = invalidatingWebhooks(store, (tenant) => changed.push(tenant));
    const record = (id: string): WebhookRecord => ({
      id,
      tenant: 't1',
      url: receiver.url(`/${id}`),
      events: ['*'],
      secret: SECRET,
      createdAt: 0,
    });
    const d = make({ webhooks, webhookCacheMs: 600_000 });
    expect(await d.deliver(bytes(event()))).toEqual([]); // no webhooks yet: the empty list is cached
    await store.create(record('wh-quiet')); // written past the wrapper: no notice
    expect(await d.deliver(bytes(event()))).toEqual([]);

    await webhooks.create(record('wh-new'));
    await webhooks.create(record('wh-new')); // the same id again: nothing changed
    expect(changed).toEqual(['t1']);
    d.invalidateWebhooks('t1');
    expect((await d.deliver(bytes(event()))).map((r) => r.webhookId).sort()).toEqual(['wh-new', 'wh-quiet']);

    expect(await webhooks.delete('t1', 'wh-new')).toBe(true);
    expect(await webhooks.delete('t1', 'wh-new')).toBe(false);
    expect(changed).toEqual(['t1', 't1']);
    d.invalidateWebhooks('t1');
    expect((await d.deliver(bytes(event()))).map((r) => r.webhookId)).toEqual(['wh-quiet']);
  });
});

async function waitForRequests(n: number): Promise<void> {
  await waitFor(() => receiver.received.length >= n, { what: `${n} requests` });
}

/** A loopback URL nothing listens on (a port bound, then released). */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/dead`;
}
