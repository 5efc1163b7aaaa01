import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ShardReply } from '../../src/actors/bus/index.ts';
import { loadConfig } from '../../src/app/config.ts';
import { DEMO_TENANT, seedDemo } from '../../src/app/demo/demo-seed.ts';
import { type EmbeddedBackend, startEmbedded } from '../../src/app/embedded.ts';
import { WebhookReceiver } from '../actors/webhooks/webhook-receiver.ts';
import { poDoc } from '../fixtures/purchase-order-doc.ts';
import { waitFor } from '../harness/wait.ts';

/**
 * The variables embedded `bflow all` reads whose effect cannot be seen from
 * outside the process (test/app/roles-config.test.ts sees the rest through a
 * real `bflow all`): every change made through the API reaches the node at
 * once, so the TTLs only show against a write made behind its back, and the
 * event subjects never leave the process. Each is compared with the default.
 */

const logger = pino({ level: 'silent' });
const backends: EmbeddedBackend[] = [];
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
});
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.stop()));
  receiver.respond = () => 204;
  receiver.received.length = 0;
});
afterAll(() => receiver.close());

async function embedded(env: Record<string, string> = {}): Promise<EmbeddedBackend> {
  const backend = await startEmbedded(loadConfig({ BFLOW_SHARDS: '4', ...env }), logger);
  backends.push(backend);
  await seedDemo(backend.deps);
  return backend;
}

function startPo(backend: EmbeddedBackend, id: string): Promise<ShardReply> {
  return backend.deps.router.send({
    kind: 'start',
    tenant: DEMO_TENANT,
    runtimeId: id,
    app: 'purchase.order',
    docId: id,
    creator: 'alice',
    doc: poDoc(1_000),
    idempotencyKey: `start-${id}`,
  });
}

/** Starts a runtime and waits until its events went through the webhook deliveries. */
async function startAndDeliver(backend: EmbeddedBackend, id: string): Promise<void> {
  expect((await startPo(backend, id)).ok).toBe(true);
  await waitFor(
    () => backend.events.messages().some((m) => JSON.parse(new TextDecoder().decode(m.payload)).runtimeId === id),
    {
      what: `the events of ${id}`,
    },
  );
  await backend.webhooks.idle();
}

const hook = (id: string, path: string) => ({
  id,
  tenant: DEMO_TENANT,
  url: receiver.url(path),
  events: ['runtime.started'],
  secret: 'hook-secret-0123456789abcdef',
  createdAt: Date.now(),
});

describe('embedded config - what only shows inside the process', () => {
  it('embedded config - BFLOW_CLUSTER names the event subjects, and the webhooks still get the events', async () => {
    const backend = await embedded({ BFLOW_CLUSTER: 'acme' });
    await backend.deps.webhooks!.create(hook('wh-1', '/acme'));
    await startAndDeliver(backend, 'c-1');
    const subjects = backend.events.messages().map((m) => m.subject);
    expect(subjects.length).toBeGreaterThan(0);
    expect(subjects.every((s) => s.startsWith('acme.events.demo.'))).toBe(true);
    expect(receiver.received.map((r) => r.path)).toEqual(['/acme']);
  });

  it('embedded config - BFLOW_START_DEFINITION_TTL_MS=0: an app config changed behind the node applies to the next start', async () => {
    const [fresh, cached] = [await embedded({ BFLOW_START_DEFINITION_TTL_MS: '0' }), await embedded()];
    for (const backend of [fresh, cached]) {
      expect((await startPo(backend, 'ttl-1')).ok).toBe(true);
      const config = await backend.store.workflows.getAppConfig(DEMO_TENANT, 'purchase.order', '');
      // Straight to the store, not through the gateway's invalidating wrapper: no change notice.
      await backend.store.workflows.setAppConfig({ ...config!, mode: 'unapply' });
    }
    const refused = await startPo(fresh, 'ttl-2');
    expect(!refused.ok && refused.problem.code).toBe('app_not_applied');
    // The default TTL (30 s) still starts with the cached config.
    expect((await startPo(cached, 'ttl-2')).ok).toBe(true);
  });

  it('embedded config - BFLOW_WEBHOOK_CACHE_MS=0: a webhook registered behind the deliverer gets the next event', async () => {
    const [fresh, cached] = [await embedded({ BFLOW_WEBHOOK_CACHE_MS: '0' }), await embedded()];
    for (const [label, backend] of [
      ['fresh', fresh],
      ['cached', cached],
    ] as const) {
      await backend.deps.webhooks!.create(hook('wh-api', `/${label}/api`));
      await startAndDeliver(backend, 'cache-1'); // the deliverer now holds the tenant's list
      await backend.store.webhooks.create(hook('wh-behind', `/${label}/behind`));
      await startAndDeliver(backend, 'cache-2');
    }
    const paths = receiver.received.map((r) => r.path).sort();
    // The default (30 s) delivers the second event to the webhooks it had cached only.
    expect(paths).toEqual(['/cached/api', '/cached/api', '/fresh/api', '/fresh/api', '/fresh/behind']);
  });

  it('embedded config - BFLOW_WEBHOOK_TIMEOUT_MS and BFLOW_WEBHOOK_MAX_ATTEMPTS: a slow receiver gets exactly 2 attempts, each timed out', async () => {
    const backend = await embedded({ BFLOW_WEBHOOK_TIMEOUT_MS: '300', BFLOW_WEBHOOK_MAX_ATTEMPTS: '2' });
    // Answers after 3 s: in time for the default 5 s timeout, too late for 300 ms.
    receiver.respond = () => ({ status: 204, delayMs: 3_000 });
    await backend.deps.webhooks!.create(hook('wh-slow', '/slow'));
    await startAndDeliver(backend, 'slow-1');
    expect(receiver.received).toHaveLength(2);
    const metrics = await backend.deps.registry.metrics();
    expect(metrics).toMatch(/bflow_webhook_attempts_total\{result="timeout"\} 2/);
    expect(metrics).toMatch(/bflow_webhook_deliveries_total\{outcome="failed"\} 1/);
  });
});
