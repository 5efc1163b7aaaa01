import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActorError } from '../../../src/actors/errors.ts';
import { MemoryShardBus } from '../../../src/actors/bus/memory-shard-bus.ts';
import type { ShardBus, ShardMessage } from '../../../src/actors/bus/ports.ts';
import { RoutingClient, type RoutingClientOptions } from '../../../src/actors/bus/routing-client.ts';
import { commandRequest, echoReply, natsBusSubject, type ShardBusSubject } from './shard-bus.contract.ts';

/** Records the request objects the client hands to the bus. */
class SpyBus implements ShardBus {
  readonly sent: ShardMessage[] = [];
  constructor(private readonly inner: ShardBus) {}
  serve: ShardBus['serve'] = (shard, handler) => this.inner.serve(shard, handler);
  request: ShardBus['request'] = (shard, request, timeoutMs) => {
    this.sent.push(request);
    return this.inner.request(shard, request, timeoutMs);
  };
  close = (): Promise<void> => this.inner.close();
}

const subjects: [string, () => Promise<ShardBusSubject>][] = [
  [
    'memory',
    async () => {
      const bus = new MemoryShardBus();
      return { server: bus, client: bus, cleanup: () => bus.close() };
    },
  ],
  ['nats', () => natsBusSubject('route')],
];

/** A sample of `name` (a counter, or a histogram's `_count`/`_sum`) with `labels`; 0 when absent. */
async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await registry.getSingleMetric(name.replace(/_(count|sum)$/, ''))?.get();
  const match = metric?.values.find(
    (v) =>
      ((v as { metricName?: string }).metricName ?? metric.name) === name &&
      Object.entries(labels).every(([k, val]) => v.labels[k] === val),
  );
  return match?.value ?? 0;
}

describe.each(subjects)('routing client (%s)', (_name, makeSubject) => {
  let s: ShardBusSubject;
  let spy: SpyBus;
  let registry: Registry;
  const client = (o: Partial<RoutingClientOptions> = {}): RoutingClient =>
    new RoutingClient(spy, { shardCount: 16, firstDelayMs: 10, maxDelayMs: 80, tryTimeoutMs: 500, registry, ...o });

  beforeEach(async () => {
    s = await makeSubject();
    spy = new SpyBus(s.client);
    registry = new Registry();
  });
  afterEach(async () => {
    await s.cleanup();
  });

  it('routing client - a shard served after a while answers within the deadline, retries counted', async () => {
    const routing = client();
    const request = commandRequest('rt-late');
    const shard = routing.shardFor(request.runtimeId);
    const timer = setTimeout(() => void s.server.serve(shard, async (r) => echoReply(r)), 300);
    try {
      const started = performance.now();
      const reply = await routing.send(request, { deadlineMs: 3_000 });
      expect(reply).toEqual(echoReply(request));
      expect(performance.now() - started).toBeGreaterThanOrEqual(250);
      const retries = await metricValue(registry, 'bflow_routing_retries_total', { reason: 'no_responders' });
      expect(retries).toBeGreaterThanOrEqual(3);
      expect(retries).toBe(spy.sent.length - 1);
      expect(await metricValue(registry, 'bflow_routing_request_duration_seconds_count', { outcome: 'ok' })).toBe(1);
    } finally {
      clearTimeout(timer);
    }
  });

  it("routing client - readLive: the owner's state when live; undefined when not live, unserved or slow (one try each)", async () => {
    const routing = client({ readTimeoutMs: 100 });
    const [live, cold, slow] = ['rt-live', 'rt-cold', 'rt-slow'];
    const shards = new Map<number, string[]>();
    for (const id of [live, cold, slow])
      shards.set(routing.shardFor(id), [...(shards.get(routing.shardFor(id)) ?? []), id]);
    for (const shard of shards.keys())
      await s.server.serve(shard, async (r) => {
        if (r.runtimeId === slow) await new Promise((resolve) => setTimeout(resolve, 400));
        if (r.runtimeId === cold)
          return { ok: false, problem: { code: 'not_live', message: 'cold', retryable: false } };
        return echoReply(r);
      });
    expect(await routing.readLive('acme', live)).toEqual({ id: live, echo: 'read' });
    expect(await routing.readLive('acme', cold)).toBeUndefined();
    expect(await routing.readLive('acme', slow)).toBeUndefined();
    const unserved = Array.from({ length: 200 }, (_, i) => `rt-u${i}`).find((id) => !shards.has(routing.shardFor(id)))!;
    expect(await routing.readLive('acme', unserved)).toBeUndefined();
    expect(spy.sent.filter((m) => m.kind === 'read')).toHaveLength(4);
    expect(await metricValue(registry, 'bflow_routing_live_reads_total', { outcome: 'live' })).toBe(1);
    expect(await metricValue(registry, 'bflow_routing_live_reads_total', { outcome: 'not_live' })).toBe(1);
    expect(await metricValue(registry, 'bflow_routing_live_reads_total', { outcome: 'unreachable' })).toBe(2);
  });

  it('routing client - every try sends the same request object (same idempotency key)', async () => {
    const routing = client();
    const request = commandRequest('rt-same', 'idem-1');
    const timer = setTimeout(
      () => void s.server.serve(routing.shardFor(request.runtimeId), async (r) => echoReply(r)),
      150,
    );
    try {
      await routing.send(request, { deadlineMs: 3_000 });
    } finally {
      clearTimeout(timer);
    }
    expect(spy.sent.length).toBeGreaterThan(1);
    for (const sent of spy.sent) expect(sent).toBe(request);
    expect(request.idempotencyKey).toBe('idem-1');
  });

  it('routing client - a shard never served fails with shard_unavailable at the deadline', async () => {
    const routing = client({ retryAfterMs: 2_000 });
    const started = performance.now();
    const err = await routing.send(commandRequest('rt-never'), { deadlineMs: 400 }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(ActorError);
    expect(err).toMatchObject({ code: 'shard_unavailable', retryable: true, retryAfterMs: 2_000 });
    // The last try gets what is left of the budget: it may end as a timeout rather than no_responders.
    expect(['no_responders', 'timeout']).toContain(((err as ActorError).cause as ActorError).code);
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed, 'gives up near the deadline, not never').toBeLessThan(5_000);
    expect(
      await metricValue(registry, 'bflow_routing_request_duration_seconds_count', { outcome: 'shard_unavailable' }),
    ).toBe(1);
  });

  it('routing client - a try that times out is retried and the node answers it', async () => {
    const routing = client({ tryTimeoutMs: 100 });
    const request = commandRequest('rt-slow', 'idem-slow');
    const keys: string[] = [];
    await s.server.serve(routing.shardFor(request.runtimeId), async (r) => {
      keys.push(r.kind === 'read' ? 'read' : r.idempotencyKey);
      if (keys.length === 1) await new Promise((resolve) => setTimeout(resolve, 300));
      return echoReply(r);
    });
    expect(await routing.send(request, { deadlineMs: 3_000 })).toEqual(echoReply(request));
    expect(keys.length).toBeGreaterThanOrEqual(2);
    expect(new Set(keys)).toEqual(new Set(['idem-slow']));
    expect(await metricValue(registry, 'bflow_routing_retries_total', { reason: 'timeout' })).toBeGreaterThanOrEqual(1);
  });

  it('routing client - a problem reply is returned, not retried', async () => {
    const routing = client();
    const request = commandRequest('rt-problem');
    const problem = { code: 'not_assignee', message: 'not yours', retryable: false };
    await s.server.serve(routing.shardFor(request.runtimeId), async () => ({ ok: false, problem }));
    expect(await routing.send(request)).toEqual({ ok: false, problem });
    expect(spy.sent).toHaveLength(1);
    expect(await metricValue(registry, 'bflow_routing_request_duration_seconds_count', { outcome: 'problem' })).toBe(1);
  });

  it('routing client - a closed bus fails at once with bus_unavailable', async () => {
    const routing = client();
    await s.client.close();
    const err = await routing.send(commandRequest('rt-closed'), { deadlineMs: 3_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'BusError', code: 'bus_unavailable' });
    expect(spy.sent, 'one try, no retry loop until the deadline').toHaveLength(1);
  });
});

describe('routing client - options', () => {
  it('routing client - refuses a shard count that is not a positive integer', () => {
    const bus = new MemoryShardBus();
    expect(() => new RoutingClient(bus, { shardCount: 0 })).toThrow(RangeError);
    expect(() => new RoutingClient(bus, { shardCount: 2.5 })).toThrow(RangeError);
  });

  it('routing client - clients sharing a registry share its metrics', () => {
    const bus = new MemoryShardBus();
    const registry = new Registry();
    new RoutingClient(bus, { shardCount: 4, registry });
    expect(() => new RoutingClient(bus, { shardCount: 4, registry })).not.toThrow();
  });

  it('routing client - maps runtimes to shards with shardOf', () => {
    const routing = new RoutingClient(new MemoryShardBus(), { shardCount: 64 });
    const shards = new Set(Array.from({ length: 1000 }, (_, i) => routing.shardFor(`rt-${i}`)));
    expect(shards.size).toBe(64);
  });
});

describe('routing client - shard hand-over', () => {
  it('routing - a shard_moved reply is retried until the new owner answers', async () => {
    const bus = new MemoryShardBus();
    const client = new RoutingClient(bus, { shardCount: 4, firstDelayMs: 5, maxDelayMs: 20 });
    const request = {
      kind: 'command',
      tenant: 't',
      runtimeId: 'r-moved',
      command: { type: 'comment', actor: 'a', comment: 'x' },
      idempotencyKey: 'k',
    } as const;
    const shard = client.shardFor(request.runtimeId);
    const stopOld = await bus.serve(shard, async () => ({
      ok: false,
      problem: { code: 'shard_moved', message: 'draining', retryable: true },
    }));
    setTimeout(() => {
      void stopOld().then(() => bus.serve(shard, async () => ({ ok: true, state: { revision: 7 } as never })));
    }, 30);
    const reply = await client.send(request, { deadlineMs: 2000 });
    expect(reply.ok).toBe(true);
  });
});
