import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventSubject } from '../../../src/actors/events/event-subject.ts';
import { JetStreamEventPublisher } from '../../../src/actors/events/jetstream-event-publisher.ts';
import { JetStreamWebhookConsumer } from '../../../src/actors/webhooks/jetstream-webhook-consumer.ts';
import { WebhookDeliverer } from '../../../src/actors/webhooks/webhook-deliverer.ts';
import { registerWebhookMetrics } from '../../../src/actors/webhooks/webhook-metrics.ts';
import type { DomainEvent } from '../../../src/engine/index.ts';
import { MemoryWebhookStore } from '../../../src/store/memory/memory-webhook-store.ts';
import { useTestNats, type TestNats } from '../../harness/nats-server.ts';
import { waitFor } from '../../harness/wait.ts';
import { WebhookReceiver } from './webhook-receiver.ts';

/** Each test: its own streams and durable consumer on the shared server; the streams (with their consumers) are deleted after. */
let nats: TestNats;
let receiver: WebhookReceiver;
let store: MemoryWebhookStore;
let eventStream: string;
let stream: string;
let prefix: string;
let publisher: JetStreamEventPublisher;
/** What the publisher asks before queueing an event for webhooks (the nodes ask their deliverer's cache). */
let wanted: (tenant: string, type: string) => Promise<boolean>;
const running: JetStreamWebhookConsumer[] = [];
let seq = 0;

beforeAll(async () => {
  nats = await useTestNats('webhook_consumer');
});
afterAll(async () => {
  await nats.cleanup();
});

beforeEach(async () => {
  const suffix = randomBytes(4).toString('hex');
  eventStream = `BFLOW_T_EVENTS_${suffix}`;
  stream = `BFLOW_T_WEBHOOK_QUEUE_${suffix}`;
  prefix = `bflowt_wh_${suffix}`;
  store = new MemoryWebhookStore();
  const lists = new WebhookDeliverer({ webhooks: store, webhookCacheMs: 0 });
  wanted = (tenant, type) => lists.wanted(tenant, type);
  publisher = await JetStreamEventPublisher.create(await nats.connect('publisher'), {
    prefix,
    stream: eventStream,
    webhookQueue: { stream, wanted: (tenant, type) => wanted(tenant, type) },
  });
  receiver = await WebhookReceiver.start();
  await store.create({
    id: 'wh-1',
    tenant: 't1',
    url: receiver.url('/wh-1'),
    events: ['*'],
    secret: 'whsec-0123456789abcdef',
    createdAt: 0,
  });
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
  const jsm = await jetstreamManager(await nats.connect('cleanup'));
  for (const name of [eventStream, stream]) await jsm.streams.delete(name).catch(() => undefined);
  await receiver.close();
});

interface Node {
  consumer: JetStreamWebhookConsumer;
  registry: Registry;
}

async function startNode(name: string, o: { concurrency?: number; backoffMinMs?: number } = {}): Promise<Node> {
  const registry = new Registry();
  const metrics = registerWebhookMetrics(registry);
  const deliverer = new WebhookDeliverer({
    webhooks: store,
    webhookCacheMs: 0,
    backoffMinMs: o.backoffMinMs ?? 10,
    backoffMaxMs: Math.max(100, o.backoffMinMs ?? 0),
    metrics,
  });
  const nc: NatsConnection = await nats.connect(name);
  const consumer = await JetStreamWebhookConsumer.start(nc, deliverer, {
    stream,
    prefix,
    concurrency: o.concurrency ?? 2,
    pullExpiresMs: 1_000,
    metrics,
  });
  running.push(consumer);
  return { consumer, registry };
}

async function publish(type: DomainEvent['type'] = 'stage.entered', tenant = 't1'): Promise<DomainEvent> {
  const e: DomainEvent = {
    id: `rt-${++seq}:1:0`,
    type,
    tenant,
    app: 'purchase.order',
    docId: `PO-${seq}`,
    runtimeId: `rt-${seq}`,
    workflowId: 'wf-po',
    version: 1,
    actor: 'alice',
    at: Date.now(),
    data: {},
  };
  await publisher.publish(eventSubject(prefix, e), e.id, new TextEncoder().encode(JSON.stringify(e)));
  return e;
}

async function done(node: Node): Promise<number> {
  const metric = (await node.registry.getMetricsAsJSON()).find((m) => m.name === 'bflow_webhook_events_total');
  return metric?.values.find((v) => v.labels.result === 'done')?.value ?? 0;
}

const receivedIds = (): string[] => receiver.received.map((r) => String(r.headers['x-bflow-event-id']));

describe('webhook consumer - one durable JetStream consumer shared by the nodes', () => {
  it('consumer - two nodes share the consumer: every event is delivered once, and both nodes deliver', async () => {
    const early = await publish(); // queued before any consumer exists: delivered once one does
    // A slow receiver keeps each node's two workers busy, so the stream must hand events to both nodes.
    receiver.respond = () => ({ status: 200, delayMs: 30 });
    const a = await startNode('node-a');
    const b = await startNode('node-b');
    const events = [];
    for (let i = 0; i < 20; i++) events.push(await publish());
    await waitFor(() => receiver.received.length >= 21, { what: '21 deliveries', deadlineMs: 20_000 });
    await waitFor(async () => (await done(a)) + (await done(b)) === 21, { what: '21 acks' });
    expect([...receivedIds()].sort()).toEqual([early, ...events].map((e) => e.id).sort());
    expect(await done(a)).toBeGreaterThan(0);
    expect(await done(b)).toBeGreaterThan(0);
    // Acknowledged: nothing left pending on the consumer.
    const jsm = await jetstreamManager(await nats.connect('info'));
    const info = await jsm.consumers.info(stream, `${prefix}_webhooks`);
    expect(info.num_ack_pending + info.num_pending).toBe(0);
    // A work queue: an acknowledged event leaves it (the event stream keeps every event).
    await waitFor(async () => (await jsm.streams.info(stream)).state.messages === 0, {
      what: 'an empty webhook queue',
    });
    expect((await jsm.streams.info(eventStream)).state.messages).toBe(21);
  });

  it('queue - only events some webhook wants are queued; one whose webhooks cannot be read is queued anyway', async () => {
    await store.create({
      id: 'wh-2',
      tenant: 't2',
      url: receiver.url('/wh-2'),
      events: ['task.assigned'],
      secret: 'whsec-0123456789abcdef',
      createdAt: 0,
    });
    const jsm = await jetstreamManager(await nats.connect('info'));
    await publish('stage.entered', 't2'); // t2's webhook wants task.assigned only
    await publish('stage.entered', 't3'); // t3 has no webhooks
    const assigned = await publish('task.assigned', 't2');
    expect((await jsm.streams.info(eventStream)).state.messages).toBe(3);
    expect((await jsm.streams.info(stream)).state.messages).toBe(1);
    wanted = () => Promise.reject(new Error('store down'));
    const unknown = await publish('stage.entered', 't3');
    expect((await jsm.streams.info(stream)).state.messages).toBe(2);
    // The consumer reads t3's (empty) list again: acknowledged, delivered nowhere.
    await startNode('node-a');
    await waitFor(async () => (await jsm.streams.info(stream)).state.messages === 0, {
      what: 'an empty webhook queue',
    });
    expect(receivedIds()).toEqual([assigned.id]);
    expect(receivedIds()).not.toContain(unknown.id);
  });

  it('consumer - a node stopping mid-delivery leaves the event to another node (at least once)', async () => {
    let first = true;
    receiver.respond = () => {
      const status = first ? 500 : 200;
      first = false;
      return status;
    };
    const a = await startNode('node-a', { backoffMinMs: 60_000 });
    const e = await publish();
    await waitFor(() => receiver.received.length === 1, { what: 'the first (failing) attempt' });
    const b = await startNode('node-b');
    await a.consumer.stop(); // cuts A's backoff short: the event is nak'd
    await waitFor(() => receiver.received.length === 2, { what: 'the redelivery through node B', deadlineMs: 15_000 });
    expect(receivedIds()).toEqual([e.id, e.id]);
    expect(receiver.received[1]?.headers['x-bflow-delivery-attempt']).toBe('1');
    await waitFor(async () => (await done(b)) === 1, { what: "node B's ack" });
    expect(await done(a)).toBe(0);
  });

  it('consumer - an event whose webhooks cannot be read is not acknowledged, and is delivered once the store answers', async () => {
    let failing = true;
    const flaky = {
      forTenant: (tenant: string) => (failing ? Promise.reject(new Error('store down')) : store.forTenant(tenant)),
    };
    const registry = new Registry();
    const metrics = registerWebhookMetrics(registry);
    const deliverer = new WebhookDeliverer({ webhooks: flaky, webhookCacheMs: 0, metrics });
    const consumer = await JetStreamWebhookConsumer.start(await nats.connect('flaky'), deliverer, {
      stream,
      prefix,
      concurrency: 1,
      retryDelayMs: 200,
      pullExpiresMs: 1_000,
      metrics,
    });
    running.push(consumer);
    const e = await publish();
    await waitFor(
      async () =>
        ((await registry.getMetricsAsJSON())
          .find((m) => m.name === 'bflow_webhook_events_total')
          ?.values.find((v) => v.labels.result === 'retried')?.value ?? 0) >= 1,
      { what: 'a nak' },
    );
    expect(receiver.received).toHaveLength(0);
    failing = false;
    await waitFor(() => receiver.received.length === 1, { what: 'the delivery after the store came back' });
    expect(receivedIds()).toEqual([e.id]);
  });
});
