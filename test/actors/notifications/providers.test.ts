import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MemoryNotificationFeed,
  NotificationBatcher,
  Notifier,
  ProviderChannel,
  pushSender,
  registerNotificationMetrics,
  smsSender,
  type NotificationMetrics,
} from '../../../src/actors/notifications/index.ts';
import type { DomainEvent, Employee, RuntimeState } from '../../../src/engine/index.ts';
import { MemoryNotificationStore } from '../../../src/store/memory/memory-notification-store.ts';
import { waitFor } from '../../harness/wait.ts';
import { ProviderSink } from './provider-sink.ts';

/**
 * SMS (Twilio Messages API shape) and push (FCM HTTP v1 shape) against a
 * local HTTP server that records the requests: a provider outage opens the
 * breaker and the event's redeliveries deliver once the provider is back; a
 * refusal becomes a dead letter, visible in the store and the metrics.
 */
const TENANT = 't-providers';
let sink: ProviderSink;
let store: MemoryNotificationStore;
let metrics: NotificationMetrics;
let registry: Registry;
let feed: MemoryNotificationFeed;
let channels: ProviderChannel[];

const employees: Employee[] = [
  { id: 'alice', name: 'Alice', active: true },
  { id: 'bob', name: 'Bob', phone: '+84900000001', active: true },
];

function state(runtimeId: string): RuntimeState {
  return {
    v: 1,
    runtime: {
      id: runtimeId,
      tenant: TENANT,
      app: 'purchase.order',
      docId: `PO-${runtimeId}`,
      workflowId: 'wf',
      version: 1,
      creator: 'alice',
      createdAt: 0,
    },
    status: 'in_progress',
    doc: {},
    stages: [
      { node: 'start', status: 'closed', enteredAt: 0, exitAction: 'submit', tasks: [] },
      { node: 'approve', status: 'open', enteredAt: 1, tasks: [{ assignee: 'bob', status: 'open' }] },
    ],
  } as unknown as RuntimeState;
}

const assigned = (runtimeId: string): DomainEvent => ({
  id: `${runtimeId}:2:1`,
  type: 'task.assigned',
  tenant: TENANT,
  app: 'purchase.order',
  docId: `PO-${runtimeId}`,
  runtimeId,
  workflowId: 'wf',
  version: 1,
  actor: 'alice',
  at: Date.now(),
  data: { node: 'approve', stage: 1, assignee: 'bob' },
});

beforeEach(async () => {
  sink = await ProviderSink.start();
  store = new MemoryNotificationStore();
  registry = new Registry();
  metrics = registerNotificationMetrics(registry);
  const fast = { attemptsPerRound: 2, backoffMinMs: 10, backoffMaxMs: 20, resetTimeoutMs: 300, volumeThreshold: 2 };
  channels = [
    new ProviderChannel(
      'sms',
      smsSender({ baseUrl: sink.url, accountSid: 'AC123', authToken: 'tok', from: '+15550001', timeoutMs: 1_000 }),
      fast,
      metrics,
    ),
    new ProviderChannel(
      'push',
      pushSender({ baseUrl: sink.url, project: 'proj-1', accessToken: 'ya29.token', timeoutMs: 1_000 }),
      fast,
      metrics,
    ),
  ];
  await store.setPreferences(
    TENANT,
    'bob',
    { channels: { task_assigned: ['sms', 'push'] }, pushTokens: ['device-1'] },
    0,
  );
  const notifier = new Notifier({
    store,
    runtimes: { loadRuntime: async (_t, id) => state(id) },
    workflows: { getVersion: async () => undefined },
    directory: { loadDirectory: async () => ({ employees, groups: [] }) },
    channels: { sms: channels[0]!, push: channels[1]! },
    owner: 'n1',
    retryBaseMs: 50,
    metrics,
  });
  feed = new MemoryNotificationFeed(new NotificationBatcher(notifier, { metrics }), 50);
});

afterEach(async () => {
  await feed.stop();
  for (const c of channels) c.stop();
  await sink.close();
});

const payload = (e: DomainEvent) => new TextEncoder().encode(JSON.stringify(e));

async function metric(name: string, labels: string): Promise<number> {
  const line = (await registry.metrics())
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && labels.split(',').every((x) => l.includes(x)));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('notifications - SMS and push providers', () => {
  it('providers - the requests have each API shape: Twilio form with basic auth, FCM v1 JSON with the device token', async () => {
    feed.push(payload(assigned('r1')));
    await waitFor(() => sink.delivered.length === 2, { what: 'one SMS and one push' });
    const sms = sink.delivered.find((r) => r.path.includes('Messages.json'))!;
    expect(sms.path).toBe('/2010-04-01/Accounts/AC123/Messages.json');
    expect(sms.headers.authorization).toBe(`Basic ${Buffer.from('AC123:tok').toString('base64')}`);
    const form = new URLSearchParams(sms.body);
    expect(form.get('To')).toBe('+84900000001');
    expect(form.get('From')).toBe('+15550001');
    expect(form.get('Body')).toContain('purchase.order PO-r1 waits for your approval');
    const push = sink.delivered.find((r) => r.path.includes('messages:send'))!;
    expect(push.path).toBe('/v1/projects/proj-1/messages:send');
    expect(push.headers.authorization).toBe('Bearer ya29.token');
    expect(JSON.parse(push.body)).toMatchObject({
      message: { token: 'device-1', notification: { title: 'purchase.order PO-r1 waits for your approval' } },
    });
    expect(await metric('bflow_notifications_total', 'channel="sms",result="sent"')).toBe(1);
  });

  it('providers - an outage opens the breaker; the redeliveries deliver each message once when the provider is back', async () => {
    sink.status = 503;
    for (const id of ['o1', 'o2', 'o3']) feed.push(payload(assigned(id)));
    await waitFor(async () => (await metric('bflow_notification_attempts_total', 'result="circuit_open"')) > 0, {
      what: 'the breaker open',
    });
    expect(await metric('bflow_notification_breaker_open', 'channel="sms"')).toBe(1);
    const failedWhileDown = sink.requests.length;
    sink.status = undefined;
    await waitFor(() => sink.delivered.length === 6, { what: '3 SMS and 3 push after the outage', deadlineMs: 20_000 });
    await feed.idle();
    const keys = sink.delivered.map((r) => r.headers['x-bflow-dedupe-key']);
    expect(new Set(keys).size).toBe(6);
    expect(failedWhileDown).toBeGreaterThan(0);
    expect((await store.deadLetters(TENANT, 10)).items).toEqual([]);
  });

  it('providers - a refusal (HTTP 400) is a dead letter at once, visible in the store and the metrics', async () => {
    sink.status = 400;
    feed.push(payload(assigned('d1')));
    await waitFor(async () => (await store.deadLetters(TENANT, 10)).items.length === 2, { what: 'two dead letters' });
    const dead = (await store.deadLetters(TENANT, 10)).items;
    expect(dead.map((d) => d.channel).sort()).toEqual(['push', 'sms']);
    expect(dead[0]).toMatchObject({ recipient: 'bob', error: 'HTTP 400', attempts: 1, eventId: 'd1:2:1' });
    expect(await metric('bflow_notifications_total', 'channel="sms",result="failed"')).toBe(1);
    // A redelivered event sends nothing again.
    sink.status = undefined;
    feed.push(payload(assigned('d1')));
    await feed.idle();
    expect(sink.delivered).toEqual([]);
  });
});
