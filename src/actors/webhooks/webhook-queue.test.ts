import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { DeliveryReport } from './webhook-deliverer.ts';
import { registerWebhookMetrics } from './webhook-metrics.ts';
import { WebhookQueue } from './webhook-queue.ts';

/** A deliverer whose deliveries end when the test says so. */
function heldDeliverer() {
  const started: Uint8Array[] = [];
  const release: (() => void)[] = [];
  let stopped = false;
  return {
    started,
    releaseAll: () => release.splice(0).forEach((r) => r()),
    get stopped() {
      return stopped;
    },
    deliver: (body: Uint8Array) =>
      new Promise<DeliveryReport[]>((resolve) => {
        started.push(body);
        release.push(() => resolve([]));
      }),
    stop: () => {
      stopped = true;
    },
  };
}

const body = (n: number) => new TextEncoder().encode(String(n));

describe('webhook queue - the embedded feed', () => {
  it('queue - at most `concurrency` deliveries at once; the rest wait in order', async () => {
    const d = heldDeliverer();
    const q = new WebhookQueue(d, { concurrency: 2 });
    for (let i = 1; i <= 5; i++) q.push(body(i));
    expect(d.started.map((b) => new TextDecoder().decode(b))).toEqual(['1', '2']);
    d.releaseAll();
    await new Promise((r) => setImmediate(r));
    expect(d.started).toHaveLength(4);
    d.releaseAll();
    await new Promise((r) => setImmediate(r));
    d.releaseAll();
    await q.idle();
    expect(d.started).toHaveLength(5);
  });

  it('queue - a full queue drops the newest event and counts it', async () => {
    const d = heldDeliverer();
    const registry = new Registry();
    const q = new WebhookQueue(d, { concurrency: 1, maxPending: 2, metrics: registerWebhookMetrics(registry) });
    for (let i = 1; i <= 5; i++) q.push(body(i)); // 1 running, 2 and 3 waiting, 4 and 5 dropped
    const dropped = (await registry.getMetricsAsJSON())
      .find((m) => m.name === 'bflow_webhook_events_total')
      ?.values.find((v) => v.labels.result === 'dropped');
    expect(dropped?.value).toBe(2);
    const stopping = q.stop();
    expect(d.stopped).toBe(true);
    d.releaseAll();
    await stopping;
    expect(d.started).toHaveLength(1);
    q.push(body(6));
    expect(d.started).toHaveLength(1);
  });
});
