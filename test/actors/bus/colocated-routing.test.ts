import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ColocatedShardBus } from '../../../src/actors/bus/colocated-shard-bus.ts';
import { MemoryShardBus } from '../../../src/actors/bus/memory-shard-bus.ts';
import type { ShardReply } from '../../../src/actors/bus/ports.ts';
import { RoutingClient } from '../../../src/actors/bus/routing-client.ts';
import { RuntimeHost } from '../../../src/actors/runtime-host/runtime-host.ts';
import { shardOf } from '../../../src/actors/shard-of.ts';
import { MemoryStore } from '../../../src/store/memory/memory-store.ts';
import { MemorySnapshotCache } from '../../../src/store/memory/snapshot-cache.ts';
import { waitFor } from '../../harness/wait.ts';
import {
  ProbeWriter,
  commandRequest as cmd,
  gate,
  ok,
  seedTenant,
  startRequest,
} from '../runtime-host/runtime-host-fixture.ts';
import { commandRequest, echoReply } from './shard-bus.contract.ts';

const SHARDS = 4;
const TENANT = 't-colo';

/** The sample of `bflow_shard_requests_total` for `path`. */
async function requests(registry: Registry, path: 'local' | 'remote'): Promise<number> {
  const metric = await registry.getSingleMetric('bflow_shard_requests_total')?.get();
  return metric?.values.find((v) => v.labels.path === path)?.value ?? 0;
}

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('colocated shard bus', () => {
  function pair() {
    const wire = new MemoryShardBus();
    const registry = new Registry();
    const here = new ColocatedShardBus(wire, { registry });
    const there = new ColocatedShardBus(wire);
    closers.push(
      () => here.close(),
      () => there.close(),
    );
    return { here, there, registry };
  }

  it('colocated bus - headers reach the handler on the local call and over the wrapped bus alike', async () => {
    const { here, there } = pair();
    const seen: unknown[] = [];
    await here.serve(1, async (r, headers) => {
      seen.push(headers);
      return echoReply(r);
    });
    const headers = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    await here.request(1, commandRequest('rt-1'), 1_000, headers);
    await there.request(1, commandRequest('rt-2'), 1_000, headers);
    expect(seen).toEqual([headers, headers]);
  });

  it('colocated bus - a shard served here is a direct call: the same request and reply objects, no copy', async () => {
    const { here, registry } = pair();
    const request = commandRequest('rt-1');
    const reply: ShardReply = echoReply(request);
    let seen: unknown;
    await here.serve(1, async (r) => {
      seen = r;
      return reply;
    });
    expect(await here.request(1, request, 1_000)).toBe(reply);
    expect(seen).toBe(request);
    expect(await requests(registry, 'local')).toBe(1);
    expect(here.servedHere()).toEqual([1]);
  });

  it('colocated bus - another shard goes over the wrapped bus to its server, copied as on the wire', async () => {
    const { here, there, registry } = pair();
    await there.serve(2, async (r) => echoReply(r));
    const request = commandRequest('rt-2');
    const reply = await here.request(2, request, 1_000);
    expect(reply).toEqual(echoReply(request));
    expect(await requests(registry, 'remote')).toBe(1);
  });

  it('colocated bus - a slow local handler times out; a throwing one answers internal; unserved, the shard has no responders', async () => {
    const { here } = pair();
    const unserve = await here.serve(
      1,
      () => new Promise((resolve) => setTimeout(() => resolve(echoReply(commandRequest('x'))), 200)),
    );
    await expect(here.request(1, commandRequest('rt-1'), 20)).rejects.toMatchObject({ code: 'timeout' });
    await unserve();
    await expect(here.request(1, commandRequest('rt-1'), 100)).rejects.toMatchObject({ code: 'no_responders' });
    await here.serve(3, async () => {
      throw new Error('boom');
    });
    expect(await here.request(3, commandRequest('rt-3'), 100)).toMatchObject({
      ok: false,
      problem: { code: 'internal', message: 'internal error', retryable: false },
    });
  });
});

describe('in-process routing while shards move', () => {
  /** A node: a host on the shared store, serving through its own co-located bus on the shared wire. */
  function node(store: MemoryStore, wire: MemoryShardBus) {
    const registry = new Registry();
    const cache = new MemorySnapshotCache();
    const writer = new ProbeWriter(store.writer);
    const host = new RuntimeHost(
      { runtimes: store.runtimes, writer, cache, workflows: store.workflows, directory: store.directory, registry },
      { shardCount: SHARDS, sweepIntervalMs: 0 },
    );
    const bus = new ColocatedShardBus(wire, { registry });
    const unserve = new Map<number, () => Promise<void>>();
    closers.push(() => host.close());
    return {
      host,
      bus,
      writer,
      registry,
      async open(shard: number, epoch: number) {
        host.openShard(shard, epoch);
        unserve.set(shard, await bus.serve(shard, (r) => host.handle(r)));
      },
      /** What ShardNode does on a hand-over: drain (queued commands finish), then stop serving. */
      async drain(shard: number) {
        await host.drain(shard);
        await unserve.get(shard)?.();
        unserve.delete(shard);
      },
    };
  }

  it('in-process routing - draining a shard with local commands queued: each completes here or is retried on the new owner, none lost, none doubled', async () => {
    const store = new MemoryStore();
    const wire = new MemoryShardBus();
    closers.push(
      () => store.close(),
      () => wire.close(),
    );
    await seedTenant(store, TENANT);
    const a = node(store, wire); // the co-located node: the router below sends through its bus
    const b = node(store, wire); // the next owner
    for (let s = 0; s < SHARDS; s++) await a.open(s, 1);
    const router = new RoutingClient(a.bus, { shardCount: SHARDS, firstDelayMs: 2, maxDelayMs: 20, deadlineMs: 5_000 });

    const ids = Array.from({ length: 24 }, (_, i) => `rt-${i}`);
    for (const id of ids) ok(await router.send(startRequest(TENANT, id, `doc-${id}`)));
    const moving = shardOf(ids[0]!, SHARDS);
    const onMoving = ids.filter((id) => shardOf(id, SHARDS) === moving);
    expect(onMoving.length).toBeGreaterThan(1);

    // Hold A's commits so that commands queue in its mailboxes, then send a burst at every runtime.
    const held = gate();
    a.writer.gate = held.promise;
    const sent = ids.flatMap((id) => [0, 1, 2].map((n) => ({ id, comment: `${id}-c${n}` })));
    const replies = sent.map(({ id, comment }) =>
      router.send(cmd(TENANT, id, 'alice', 'comment', { comment }, { idempotencyKey: `key-${comment}` })),
    );
    await waitFor(() => a.writer.inFlight > 0, { deadlineMs: 2_000, what: 'commits held' });

    // Hand the shard over while its commands wait; new commands for it arrive during the drain.
    const draining = a.drain(moving);
    const late = onMoving.map((id) =>
      router.send(cmd(TENANT, id, 'alice', 'comment', { comment: `${id}-late` }, { idempotencyKey: `key-${id}-late` })),
    );
    held.open();
    await draining;
    await b.open(moving, 2);
    const all = await Promise.all([...replies, ...late]);
    for (const reply of all) ok(reply);

    // The late commands were answered by B (over the wire), the rest by A (in process).
    expect(await requests(a.registry, 'remote')).toBeGreaterThanOrEqual(late.length);
    expect(await requests(a.registry, 'local')).toBeGreaterThanOrEqual(sent.length);
    expect(b.writer.outcomes.filter((o) => o === 'ok').length).toBe(late.length);
    for (const id of ids) {
      const comments = (await store.read.runtimeLog(TENANT, id)).flatMap((l) => (l.comment ? [l.comment] : []));
      const expected = [0, 1, 2].map((n) => `${id}-c${n}`);
      if (onMoving.includes(id)) expected.push(`${id}-late`);
      expect(comments.sort()).toEqual(expected.sort());
    }
  });

  it('in-process routing - a retried key after the move is answered by the new owner from the store, not stepped again', async () => {
    const store = new MemoryStore();
    const wire = new MemoryShardBus();
    closers.push(
      () => store.close(),
      () => wire.close(),
    );
    await seedTenant(store, TENANT);
    const a = node(store, wire);
    const b = node(store, wire);
    for (let s = 0; s < SHARDS; s++) await a.open(s, 1);
    const router = new RoutingClient(a.bus, { shardCount: SHARDS, firstDelayMs: 2, maxDelayMs: 20 });
    ok(await router.send(startRequest(TENANT, 'rt-x', 'doc-x')));
    const request = cmd(TENANT, 'rt-x', 'alice', 'comment', { comment: 'once' }, { idempotencyKey: 'key-once' });
    const first = ok(await router.send(request));
    const shard = shardOf('rt-x', SHARDS);
    await a.drain(shard);
    await b.open(shard, 2);
    const again = ok(await router.send(request));
    expect(again.replayed).toBe(true);
    expect(again.state.revision).toBe(first.state.revision);
    const comments = (await store.read.runtimeLog(TENANT, 'rt-x')).filter((l) => l.comment === 'once');
    expect(comments).toHaveLength(1);
  });
});
