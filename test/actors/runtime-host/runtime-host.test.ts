import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { RuntimeHost } from '../../../src/actors/runtime-host/runtime-host.ts';
import type { RuntimeHostDeps, RuntimeHostOptions } from '../../../src/actors/runtime-host/runtime-host-options.ts';
import { shardOf } from '../../../src/actors/shard-of.ts';
import { CachedRuntimeStore } from '../../../src/store/cached-runtime-store.ts';
import { MemoryStore } from '../../../src/store/memory/memory-store.ts';
import { MemorySnapshotCache } from '../../../src/store/memory/snapshot-cache.ts';
import { waitFor } from '../../harness/wait.ts';
import type { SnapshotCache } from '../../../src/store/ports.ts';
import {
  PO_APP,
  PO_WORKFLOW,
  ProbeWriter,
  TestClock,
  commandRequest as cmd,
  gate,
  newKey,
  ok,
  poDoc,
  problemOf,
  seedTenant,
  startRequest,
} from './runtime-host-fixture.ts';

const SHARDS = 4;
const TENANT = 't1';
const hosts: RuntimeHost[] = [];

afterEach(() => {
  for (const h of hosts.splice(0)) h.close();
});

interface Setup {
  store: MemoryStore;
  cache: SnapshotCache;
  clock: TestClock;
}

/** A host on the MemoryStore twin, holding every shard; pass `shared` to put a second host on the same store. */
function makeHost(options: RuntimeHostOptions = {}, shared?: Setup, extra: Partial<RuntimeHostDeps> = {}) {
  const base: Setup = shared ?? { store: new MemoryStore(), cache: new MemorySnapshotCache(), clock: new TestClock() };
  const { store, cache, clock } = base;
  const registry = new Registry();
  const runtimes = new CachedRuntimeStore(store.runtimes, cache, { registry });
  const writer = new ProbeWriter(store.writer);
  const host = new RuntimeHost(
    { runtimes, writer, cache, workflows: store.workflows, directory: store.directory, clock, registry, ...extra },
    { shardCount: SHARDS, sweepIntervalMs: 0, ...options },
  );
  for (let s = 0; s < SHARDS; s++) host.openShard(s, 1);
  hosts.push(host);
  return { ...base, host, writer, runtimes, registry, setup: base };
}

async function seeded(options: RuntimeHostOptions = {}) {
  const h = makeHost(options);
  await seedTenant(h.store, TENANT);
  return h;
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const values = (await metric.get()).values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return values.reduce((sum, v) => sum + v.value, 0);
}

/** Starts a runtime (5M: manager → approved) and submits it, so it waits at the manager stage. */
async function submitted(host: RuntimeHost, id: string, amount = 5_000_000) {
  ok(await host.handle(startRequest(TENANT, id, `doc-${id}`, { doc: poDoc(amount) })));
  return ok(await host.handle(cmd(TENANT, id, 'alice', 'submit')));
}

describe('runtime host - command path', () => {
  it('start → submit → approve through the purchase-order example', async () => {
    const { host, store } = await seeded();
    const started = ok(await host.handle(startRequest(TENANT, 'rt-1', 'doc-1')));
    expect(started).toMatchObject({
      created: true,
      state: { revision: 1, status: 'created', runtime: { workflowId: PO_WORKFLOW, version: 1 } },
    });
    const sub = ok(await host.handle(cmd(TENANT, 'rt-1', 'alice', 'submit')));
    expect(sub.state.stages.at(-1)).toMatchObject({
      node: 'manager',
      tasks: [{ assignee: 'pur-mgr', status: 'open' }],
    });
    const done = ok(await host.handle(cmd(TENANT, 'rt-1', 'pur-mgr', 'approve', { comment: 'ok' })));
    expect(done.state).toMatchObject({ status: 'approved', revision: 3 });
    const log = await store.read.runtimeLog(TENANT, 'rt-1');
    expect(log.map((l) => [l.seq, l.action])).toEqual([
      [1, 'start'],
      [2, 'submit'],
      [3, 'approve'],
    ]);
    expect(await store.runtimes.loadRuntime(TENANT, 'rt-1')).toEqual(done.state);
  });

  it('idempotency - the same key twice: one log entry, identical replies, the second replayed', async () => {
    const { host, store, writer } = await seeded();
    await submitted(host, 'rt-1');
    const request = cmd(TENANT, 'rt-1', 'pur-mgr', 'comment', { comment: 'looking' });
    const first = ok(await host.handle(request));
    const second = ok(await host.handle(request));
    expect(first.replayed).toBeUndefined();
    expect(second).toEqual({ ...first, replayed: true });
    expect((await store.read.runtimeLog(TENANT, 'rt-1')).filter((l) => l.action === 'comment')).toHaveLength(1);
    // After passivation the key is answered from the store, still without a step.
    host.closeShard(shardOf('rt-1', SHARDS));
    host.openShard(shardOf('rt-1', SHARDS), 2);
    const commits = writer.outcomes.length;
    const third = ok(await host.handle(request));
    expect(third).toEqual({ ...first, replayed: true });
    expect(writer.outcomes.length).toBe(commits);
  });

  it('idempotency - a key the actor no longer remembers is caught by the writer and answered with the stored reply', async () => {
    const { host, store, writer } = await seeded({ recentKeysPerActor: 1 });
    await submitted(host, 'rt-1');
    const request = cmd(TENANT, 'rt-1', 'pur-mgr', 'comment', { comment: 'first' });
    const first = ok(await host.handle(request));
    ok(await host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'pushes the key out' })));
    const again = ok(await host.handle(request));
    expect(again).toEqual({ ...first, replayed: true });
    expect(writer.outcomes.at(-1)).toBe('duplicate_idempotency_key');
    expect((await store.read.runtimeLog(TENANT, 'rt-1')).filter((l) => l.comment === 'first')).toHaveLength(1);
  });

  it('idempotency - an approval retried after the actor forgot its key is answered with the stored reply, not refused', async () => {
    const { host, store } = await seeded({ recentKeysPerActor: 1 });
    await submitted(host, 'rt-1');
    const approve = cmd(TENANT, 'rt-1', 'pur-mgr', 'approve');
    const first = ok(await host.handle(approve));
    ok(await host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'pushes the key out' })));
    // Stepping approve again would be refused (the stage has moved on): the key is looked up first.
    expect(ok(await host.handle(approve))).toEqual({ ...first, replayed: true });
    expect(ok(await host.handle(approve))).toEqual({ ...first, replayed: true });
    expect((await store.read.runtimeLog(TENANT, 'rt-1')).filter((l) => l.action === 'approve')).toHaveLength(1);
  });

  it('idempotency - a key used on another runtime is refused', async () => {
    const { host } = await seeded();
    await submitted(host, 'rt-1');
    await submitted(host, 'rt-2');
    const key = newKey();
    ok(await host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'x' }, { idempotencyKey: key })));
    host.closeShard(shardOf('rt-2', SHARDS));
    host.openShard(shardOf('rt-2', SHARDS), 2);
    expect(
      problemOf(await host.handle(cmd(TENANT, 'rt-2', 'alice', 'comment', { comment: 'x' }, { idempotencyKey: key }))),
    ).toMatchObject({
      code: 'idempotency_key_reused',
    });
  });

  it('an active runtime costs no store read per command', async () => {
    const { host, runtimes } = await seeded();
    await submitted(host, 'rt-1');
    let reads = 0;
    const count =
      <A extends unknown[], R>(fn: (...a: A) => R) =>
      (...a: A): R => {
        reads += 1;
        return fn(...a);
      };
    runtimes.loadRuntime = count(runtimes.loadRuntime.bind(runtimes));
    runtimes.findIdempotency = count(runtimes.findIdempotency.bind(runtimes));
    for (let i = 0; i < 10; i++) ok(await host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: `c${i}` })));
    expect(reads).toBe(0);
  });

  it('mailbox - 50 concurrent commands on one runtime are applied one at a time', async () => {
    const { host, writer, store } = await seeded();
    await submitted(host, 'rt-1');
    writer.delayMs = 1;
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        host.handle(cmd(TENANT, 'rt-1', i % 2 ? 'alice' : 'pur-mgr', 'comment', { comment: `c${i}` })),
      ),
    );
    const seqs = replies.map((r) => ok(r).state.seq);
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 3)); // arrival order, strictly increasing
    expect(writer.outcomes.filter((o) => o !== 'ok')).toEqual([]);
    expect(writer.maxPerRuntime).toBe(1);
    expect((await store.read.runtimeLog(TENANT, 'rt-1')).map((l) => l.seq)).toEqual(
      Array.from({ length: 52 }, (_, i) => i + 1),
    );
  });

  it('mailbox - different runtimes run concurrently; the depth gauge counts queued commands', async () => {
    const { host, writer, registry } = await seeded();
    const ids = Array.from({ length: 10 }, (_, i) => `rt-c${i}`);
    for (const id of ids) await submitted(host, id);
    const held = gate();
    writer.gate = held.promise;
    const pending = ids.flatMap((id) =>
      [1, 2, 3].map((n) => host.handle(cmd(TENANT, id, 'alice', 'comment', { comment: `n${n}` }))),
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(writer.inFlight).toBe(10); // one per runtime, all at once
    expect(await metricValue(registry, 'bflow_mailbox_depth')).toBe(30);
    held.open();
    for (const r of await Promise.all(pending)) ok(r);
    expect(writer.maxPerRuntime).toBe(1);
    expect(await metricValue(registry, 'bflow_mailbox_depth')).toBe(0);
  });

  it('refusals - engine errors map to problems with their codes and change nothing', async () => {
    const { host, store, writer } = await seeded();
    const before = await submitted(host, 'rt-1');
    const commits = writer.outcomes.length;
    expect(problemOf(await host.handle(cmd(TENANT, 'rt-1', 'bob', 'approve')))).toMatchObject({
      code: 'not_assignee',
      retryable: false,
    });
    expect(
      problemOf(await host.handle(cmd(TENANT, 'rt-1', 'pur-mgr', 'update', { patch: { amount: 1 } }))),
    ).toMatchObject({
      code: 'fields_not_editable',
    });
    expect(problemOf(await host.handle(cmd(TENANT, 'rt-1', 'alice', 'submit')))).toMatchObject({
      code: 'action_not_allowed',
    });
    const invalid = problemOf(await host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: ' ' })));
    expect(invalid).toMatchObject({ code: 'validation_failed', errors: [{ path: 'comment' }] });
    expect(writer.outcomes.length).toBe(commits);
    expect(await store.runtimes.loadRuntime(TENANT, 'rt-1')).toEqual(before.state);
    expect(await store.read.runtimeLog(TENANT, 'rt-1')).toHaveLength(2);
  });

  it('refusals - a stale expectedRevision is a version_conflict; the current one is accepted', async () => {
    const { host } = await seeded();
    const sub = await submitted(host, 'rt-1');
    const stale = problemOf(
      await host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'x' }, { expectedRevision: 1 })),
    );
    expect(stale).toMatchObject({ code: 'version_conflict', retryable: false });
    ok(
      await host.handle(
        cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'x' }, { expectedRevision: sub.state.revision }),
      ),
    );
  });

  it('refusals - an unknown runtime is runtime_not_found; a shard not held is shard_moved (retryable)', async () => {
    const { host } = await seeded();
    expect(problemOf(await host.handle(cmd(TENANT, 'nope', 'alice', 'comment', { comment: 'x' })))).toMatchObject({
      code: 'runtime_not_found',
      retryable: false,
    });
    host.closeShard(shardOf('rt-x', SHARDS));
    expect(problemOf(await host.handle(startRequest(TENANT, 'rt-x', 'doc-x')))).toMatchObject({
      code: 'shard_moved',
      retryable: true,
    });
  });

  it('store - store_unavailable is a retryable problem and drops the actor', async () => {
    const { host, writer } = await seeded();
    await submitted(host, 'rt-1');
    expect(host.liveActors).toBe(1);
    writer.override = () => ({ ok: false, code: 'store_unavailable', message: 'down' });
    expect(problemOf(await host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'x' })))).toMatchObject({
      code: 'store_unavailable',
      retryable: true,
    });
    expect(host.liveActors).toBe(0);
    writer.override = undefined;
    ok(await host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'x' })));
  });

  it('store - a load that throws store_unavailable is a retryable problem', async () => {
    const { host, runtimes } = await seeded();
    await submitted(host, 'rt-1');
    host.closeShard(shardOf('rt-1', SHARDS));
    host.openShard(shardOf('rt-1', SHARDS), 2);
    const { StoreError } = await import('../../../src/store/errors.ts');
    runtimes.loadRuntime = () => Promise.reject(new StoreError('store_unavailable', 'MySQL unavailable'));
    expect(problemOf(await host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'x' })))).toMatchObject({
      code: 'store_unavailable',
      retryable: true,
    });
  });
});

describe('runtime host - two owners on one store', () => {
  async function twoHosts() {
    const a = await seeded();
    const b = makeHost({}, a.setup);
    return { a, b };
  }

  it('a stale owner loses the race, reloads, retries once and succeeds', async () => {
    const { a, b } = await twoHosts();
    await submitted(a.host, 'rt-1');
    ok(await b.host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'b activates' })));
    ok(await a.host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'a is stale now, writes' })));
    // A was at revision 2 when B wrote 3: A lost once, reloaded and wrote 4. Now B (at 3) is the stale one.
    const reply = ok(await b.host.handle(cmd(TENANT, 'rt-1', 'pur-mgr', 'comment', { comment: 'b is stale' })));
    expect(reply.state.revision).toBe(5);
    expect([...a.writer.outcomes, ...b.writer.outcomes].filter((o) => o === 'conflict')).toHaveLength(2);
    expect(await metricValue(b.registry, 'bflow_command_conflict_retries_total')).toBe(1);
    const log = await a.store.read.runtimeLog(TENANT, 'rt-1');
    expect(log.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('the retried step is refused when the other owner already moved the runtime on', async () => {
    const { a, b } = await twoHosts();
    await submitted(a.host, 'rt-1');
    ok(await b.host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'b activates' })));
    ok(await a.host.handle(cmd(TENANT, 'rt-1', 'pur-mgr', 'approve'))); // A conflicts once, reloads, approves
    expect(problemOf(await b.host.handle(cmd(TENANT, 'rt-1', 'pur-mgr', 'approve')))).toMatchObject({
      code: 'action_not_allowed',
    });
    const log = await a.store.read.runtimeLog(TENANT, 'rt-1');
    expect(log.filter((l) => l.action === 'approve')).toHaveLength(1);
  });

  it('a stale expectedRevision that looked current on the stale owner is a version_conflict after the reload', async () => {
    const { a, b } = await twoHosts();
    const sub = await submitted(a.host, 'rt-1');
    ok(await b.host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'b activates' })));
    ok(await a.host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'a moves on' })));
    const bRevision = sub.state.revision + 1;
    const reply = await b.host.handle(
      cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'x' }, { expectedRevision: bRevision }),
    );
    expect(problemOf(reply)).toMatchObject({ code: 'version_conflict' });
  });

  it('commands racing on both owners: never two writes on one base, every reply ok or version_conflict', async () => {
    const { a, b } = await twoHosts();
    await submitted(a.host, 'rt-1');
    a.writer.delayMs = 1;
    b.writer.delayMs = 1;
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a.host : b.host).handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: `r${i}` })),
      ),
    );
    const oks = replies.filter((r) => r.ok).length;
    for (const r of replies) if (!r.ok) expect(r.problem.code).toBe('version_conflict');
    const log = await a.store.read.runtimeLog(TENANT, 'rt-1');
    expect(log.map((l) => l.seq)).toEqual(Array.from({ length: log.length }, (_, i) => i + 1));
    expect(log.length).toBe(2 + oks);
    expect([...a.writer.outcomes, ...b.writer.outcomes].filter((o) => o === 'ok').length).toBe(2 + oks);
  });

  it('a conflict that persists after the reload is a retryable version_conflict', async () => {
    const { host, writer, registry } = await seeded();
    await submitted(host, 'rt-1');
    writer.override = () => ({ ok: false, code: 'conflict', message: 'someone else' });
    expect(problemOf(await host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'x' })))).toMatchObject({
      code: 'version_conflict',
      retryable: true,
    });
    expect(writer.outcomes.slice(-2)).toEqual(['conflict', 'conflict']);
    expect(await metricValue(registry, 'bflow_command_conflict_retries_total')).toBe(1);
    expect(await metricValue(registry, 'bflow_command_duration_seconds', { outcome: 'conflict' })).toBeGreaterThan(0);
  });
});

describe('runtime host - start path', () => {
  it('start twice for the same document → the same runtime, created: false', async () => {
    const { host } = await seeded();
    const first = ok(await host.handle(startRequest(TENANT, 'rt-1', 'doc-1')));
    const second = ok(await host.handle(startRequest(TENANT, 'rt-2', 'doc-1')));
    expect(second).toMatchObject({ created: false, state: { runtime: { id: 'rt-1' } } });
    expect(second.state).toEqual(first.state);
  });

  it('concurrent starts for one document on two owners → one runtime', async () => {
    const a = await seeded();
    const b = makeHost({}, a.setup);
    const replies = await Promise.all([
      a.host.handle(startRequest(TENANT, 'rt-a', 'doc-1')),
      b.host.handle(startRequest(TENANT, 'rt-b', 'doc-1')),
    ]);
    const states = replies.map((r) => ok(r));
    expect(states.map((r) => r.created).sort()).toEqual([false, true]);
    expect(new Set(states.map((r) => r.state.runtime.id)).size).toBe(1);
  });

  it('a retried start (same key, fresh runtime id) replays the first reply', async () => {
    const { host } = await seeded();
    const request = startRequest(TENANT, 'rt-1', 'doc-1');
    const first = ok(await host.handle(request));
    const again = ok(await host.handle({ ...request, runtimeId: 'rt-other' }));
    expect(again).toEqual({ ...first, replayed: true });
  });

  it('app config - unknown app, unapply, pending and an unpublished workflow are refused with their codes', async () => {
    const { host, store } = await seeded();
    const unknown = problemOf(await host.handle(startRequest(TENANT, 'rt-1', 'doc-1', { app: 'sales.order' })));
    expect(unknown).toMatchObject({ code: 'app_not_configured', retryable: false });
    expect(unknown.message).toContain('PUT /api/v1/apps/sales.order/config');
    await store.workflows.setAppConfig({
      tenant: TENANT,
      companyId: '',
      app: PO_APP,
      mode: 'unapply',
      workflowId: PO_WORKFLOW,
    });
    host.invalidateStartDefinitions(TENANT); // the change notice a gateway sends
    const unapplied = problemOf(await host.handle(startRequest(TENANT, 'rt-1', 'doc-1')));
    expect(unapplied).toMatchObject({ code: 'app_not_applied' });
    expect(unapplied.message).toContain('unapply');
    await store.workflows.setAppConfig({
      tenant: TENANT,
      companyId: '',
      app: PO_APP,
      mode: 'pending',
      workflowId: PO_WORKFLOW,
    });
    host.invalidateStartDefinitions(TENANT); // the change notice a gateway sends
    expect(problemOf(await host.handle(startRequest(TENANT, 'rt-1', 'doc-1')))).toMatchObject({ code: 'app_pending' });
    await store.workflows.createWorkflow(
      TENANT,
      'wf-draft',
      (await store.workflows.getWorkflow(TENANT, PO_WORKFLOW))!.draft,
      0,
    );
    await store.workflows.setAppConfig({
      tenant: TENANT,
      companyId: '',
      app: PO_APP,
      mode: 'apply',
      workflowId: 'wf-draft',
    });
    host.invalidateStartDefinitions(TENANT); // the change notice a gateway sends
    expect(problemOf(await host.handle(startRequest(TENANT, 'rt-1', 'doc-1')))).toMatchObject({
      code: 'workflow_not_published',
    });
    expect(await store.runtimes.loadRuntime(TENANT, 'rt-1')).toBeUndefined();
  });

  it('app config - a company config wins over the tenant default, which is the fallback', async () => {
    const { host, store } = await seeded();
    await store.workflows.setAppConfig({
      tenant: TENANT,
      companyId: 'c-2',
      app: PO_APP,
      mode: 'unapply',
      workflowId: PO_WORKFLOW,
    });
    expect(problemOf(await host.handle(startRequest(TENANT, 'rt-1', 'doc-1', { companyId: 'c-2' })))).toMatchObject({
      code: 'app_not_applied',
    });
    const fallback = ok(await host.handle(startRequest(TENANT, 'rt-2', 'doc-2', { companyId: 'c-1' })));
    expect(fallback.state.runtime.companyId).toBe('c-1');
  });

  it('an invalid document is refused by the engine with its field errors; nothing is written', async () => {
    const { host, store } = await seeded();
    const reply = problemOf(await host.handle(startRequest(TENANT, 'rt-1', 'doc-1', { doc: { amount: 'a lot' } })));
    expect(reply.code).toBe('validation_failed');
    expect(reply.errors?.length).toBeGreaterThan(0);
    expect(await store.runtimes.loadRuntime(TENANT, 'rt-1')).toBeUndefined();
  });
});

describe('runtime host - passivation', () => {
  it('with maxLiveActors 100 and 1,000 runtimes the live count stays ≤ 100; a passivated runtime reactivates with its state', async () => {
    const { host, registry } = await seeded({ maxLiveActors: 100 });
    const ids = Array.from({ length: 1000 }, (_, i) => `rt-p${i}`);
    for (let i = 0; i < ids.length; i += 50) {
      const chunk = ids.slice(i, i + 50);
      for (const r of await Promise.all(chunk.map((id) => host.handle(startRequest(TENANT, id, `doc-${id}`))))) ok(r);
      expect(host.liveActors).toBeLessThanOrEqual(100);
    }
    expect(await metricValue(registry, 'bflow_actors_live')).toBe(host.liveActors);
    expect(await metricValue(registry, 'bflow_actor_passivations_total', { reason: 'capacity' })).toBe(900);
    const reply = ok(await host.handle(cmd(TENANT, 'rt-p0', 'alice', 'submit')));
    expect(reply.state).toMatchObject({ revision: 2, runtime: { id: 'rt-p0', docId: 'doc-rt-p0' } });
    expect(reply.state.stages.map((s) => s.node)).toEqual(['start', 'manager']);
  });

  it('actors idle for idleMs are passivated and come back from the snapshot cache', async () => {
    const { host, clock, registry } = await seeded({ idleMs: 60_000 });
    await submitted(host, 'rt-1');
    await submitted(host, 'rt-2');
    clock.advance(30_000);
    ok(await host.handle(cmd(TENANT, 'rt-2', 'alice', 'comment', { comment: 'keeps rt-2 warm' })));
    await new Promise((r) => setImmediate(r)); // snapshots are written at the end of the turn of their commit
    clock.advance(30_000);
    expect(host.passivateIdle()).toBe(1);
    expect(host.liveActors).toBe(1);
    await new Promise((r) => setImmediate(r)); // the passivated actor's snapshot is written at the end of this turn
    const reply = ok(await host.handle(cmd(TENANT, 'rt-1', 'pur-mgr', 'approve')));
    expect(reply.state.status).toBe('approved');
    expect(await metricValue(registry, 'bflow_runtime_activations_total', { source: 'redis' })).toBeGreaterThan(0);
  });
});

describe('runtime host - drain and lease changes', () => {
  it('drain waits for in-flight commands, flushes, then refuses with shard_moved', async () => {
    const { host, writer } = await seeded();
    await submitted(host, 'rt-1');
    const shard = shardOf('rt-1', SHARDS);
    const held = gate();
    writer.gate = held.promise;
    const inFlight = host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'in flight' }));
    const queued = host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'queued before the drain' }));
    await new Promise((r) => setTimeout(r, 5));
    let drained = false;
    const draining = host.drain(shard).then(() => (drained = true));
    expect(problemOf(await host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'late' })))).toMatchObject({
      code: 'shard_moved',
      retryable: true,
    });
    await new Promise((r) => setTimeout(r, 5));
    expect(drained).toBe(false);
    held.open();
    ok(await inFlight);
    ok(await queued);
    await draining;
    expect(host.liveActors).toBe(0);
    expect(problemOf(await host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'after' })))).toMatchObject({
      code: 'shard_moved',
    });
    expect(host.heldShards().map((s) => s.shard)).not.toContain(shard);
  });

  it('a lost lease stops the shard at once: queued requests answer shard_moved', async () => {
    const { host, writer, store } = await seeded();
    await submitted(host, 'rt-1');
    const held = gate();
    writer.gate = held.promise;
    const inFlight = host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'in flight' }));
    const queued = host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'queued' }));
    await new Promise((r) => setTimeout(r, 5));
    host.closeShard(shardOf('rt-1', SHARDS));
    expect(host.liveActors).toBe(0);
    held.open();
    ok(await inFlight); // committed (the revision check would have fenced it had a new owner written first)
    expect(problemOf(await queued)).toMatchObject({ code: 'shard_moved' });
    expect(host.liveActors).toBe(0);
    expect((await store.read.runtimeLog(TENANT, 'rt-1')).map((l) => l.comment ?? l.action)).toEqual([
      'start',
      'submit',
      'in flight',
    ]);
  });
});

describe('runtime host - approvals at the same instant', () => {
  it('3 assignees of a 2-of-N stage approving at once → the stage exits once with exactly two approvals', async () => {
    const { host, store } = await seeded();
    await submitted(host, 'rt-1', 20_000_000);
    const atFinance = ok(await host.handle(cmd(TENANT, 'rt-1', 'pur-mgr', 'approve')));
    expect(atFinance.state.stages.at(-1)?.node).toBe('finance');
    const replies = await Promise.all(
      ['fin-1', 'fin-2', 'fin-3'].map((who) => host.handle(cmd(TENANT, 'rt-1', who, 'approve'))),
    );
    expect(replies.filter((r) => r.ok)).toHaveLength(2);
    expect(problemOf(replies[2]!)).toMatchObject({ code: 'action_not_allowed' });
    const state = (await store.runtimes.loadRuntime(TENANT, 'rt-1'))!;
    expect(state.status).toBe('approved');
    const finance = state.stages.filter((s) => s.node === 'finance');
    expect(finance).toHaveLength(1);
    expect(finance[0]!.exitAction).toBe('approve');
    expect(finance[0]!.tasks.filter((t) => t.status === 'done').map((t) => t.assignee)).toEqual(['fin-1', 'fin-2']);
    const log = await store.read.runtimeLog(TENANT, 'rt-1');
    expect(log.filter((l) => l.fromNode === 'finance').map((l) => l.action)).toEqual(['approve', 'approve']);
  });
});

describe('runtime host - timers and directory', () => {
  it('deliverTimer fires an SLA timer once; a timer for a closed stage or a missing runtime is stale', async () => {
    const { host, store, clock } = await seeded();
    await submitted(host, 'rt-1');
    const due = await store.runtimes.dueTimers(shardOf('rt-1', SHARDS), clock.now() + 86_400_000, 10);
    const sla = due.find((t) => t.kind === 'sla_due');
    expect(sla).toBeDefined();
    clock.advance(86_400_000);
    expect(await host.deliverTimer(TENANT, 'rt-1', sla!)).toBe('fired');
    const state = (await store.runtimes.loadRuntime(TENANT, 'rt-1'))!;
    expect(state.stages[1]!.tasks.some((t) => t.escalated)).toBe(true);
    ok(await host.handle(cmd(TENANT, 'rt-1', 'pur-mgr', 'approve')));
    expect(await host.deliverTimer(TENANT, 'rt-1', sla!)).toBe('stale');
    expect(await host.deliverTimer(TENANT, 'nope', sla!)).toBe('stale');
    host.closeShard(shardOf('rt-1', SHARDS));
    expect(await host.deliverTimer(TENANT, 'rt-1', sla!)).toBe('failed');
  });

  it('the directory is reloaded after its TTL or when invalidated', async () => {
    const { host, store, clock } = await seeded({ directoryTtlMs: 30_000 });
    let loads = 0;
    const load = store.directory.loadDirectory.bind(store.directory);
    store.directory.loadDirectory = (tenant) => {
      loads += 1;
      return load(tenant);
    };
    await submitted(host, 'rt-1');
    ok(await host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'x' })));
    expect(loads).toBe(1);
    clock.advance(30_000);
    ok(await host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'y' })));
    expect(loads).toBe(2);
    host.invalidateDirectory(TENANT);
    ok(await host.handle(cmd(TENANT, 'rt-1', 'alice', 'comment', { comment: 'z' })));
    expect(loads).toBe(3);
  });

  it('onCommitted is told of every commit (to wake the outbox relay and timers), never of refusals', async () => {
    const seen: [number, number, number][] = [];
    const { host, store } = makeHost({}, undefined, {
      onCommitted: (shard, state, effects) => seen.push([shard, state.revision, effects.events.length]),
    });
    await seedTenant(store, TENANT);
    await submitted(host, 'rt-1');
    problemOf(await host.handle(cmd(TENANT, 'rt-1', 'bob', 'approve')));
    const shard = shardOf('rt-1', SHARDS);
    expect(seen.map(([s, r]) => [s, r])).toEqual([
      [shard, 1],
      [shard, 2],
    ]);
    expect(seen.every(([, , events]) => events > 0)).toBe(true);
  });

  it('options - invalid values are refused with their names', () => {
    expect(() => makeHost({ maxLiveActors: 0 })).toThrow(/maxLiveActors/);
  });
});

describe('runtime host - a request in flight', () => {
  it('two identical commands at once (a gateway retry while the first is queued): one step, one commit, both answered, the copy replayed', async () => {
    const { host, writer, store, registry } = await seeded();
    ok(await host.handle(startRequest(TENANT, 'rt-1', 'doc-1')));
    const held = gate();
    writer.gate = held.promise;
    const submit = cmd(TENANT, 'rt-1', 'alice', 'submit');
    const first = host.handle(submit);
    await waitFor(() => writer.inFlight === 1, { what: 'the first submit at the writer' });
    const copy = host.handle(structuredClone(submit));
    held.open();
    const [a, b] = [ok(await first), ok(await copy)];
    expect(writer.outcomes).toEqual(['ok', 'ok']); // the start and one submit
    expect(b).toEqual({ ...a, replayed: true });
    expect(a.replayed).toBeUndefined();
    expect(await store.read.runtimeLog(TENANT, 'rt-1')).toHaveLength(2);
    expect(await metricValue(registry, 'bflow_requests_joined_total')).toBe(1);
    // Settled: a later copy is answered from the actor's remembered keys, not joined.
    expect(ok(await host.handle(structuredClone(submit)))).toMatchObject({
      replayed: true,
      state: { revision: a.state.revision },
    });
    expect(await metricValue(registry, 'bflow_requests_joined_total')).toBe(1);
    expect(writer.outcomes).toHaveLength(2);
  });

  it('two identical starts at once: one engine start, one commit, both answered as created, the copy replayed', async () => {
    const { host, writer } = await seeded();
    const held = gate();
    writer.gate = held.promise;
    const start = startRequest(TENANT, 'rt-1', 'doc-1');
    const first = host.handle(start);
    await waitFor(() => writer.inFlight === 1, { what: 'the first start at the writer' });
    const copy = host.handle(structuredClone(start));
    held.open();
    const [a, b] = [ok(await first), ok(await copy)];
    expect(writer.outcomes).toEqual(['ok']);
    expect(a).toMatchObject({ created: true });
    expect(b).toEqual({ ...a, replayed: true });
  });

  it('a refused request: the copy gets the same refusal; a key reused for another runtime does not join', async () => {
    const { host, writer, registry } = await seeded();
    ok(await host.handle(startRequest(TENANT, 'rt-1', 'doc-1')));
    ok(await host.handle(startRequest(TENANT, 'rt-2', 'doc-2')));
    const refusedCmd = cmd(TENANT, 'rt-1', 'bob', 'submit');
    const refusals = await Promise.all([host.handle(refusedCmd), host.handle(structuredClone(refusedCmd))]);
    expect(refusals.map((r) => problemOf(r).code)).toEqual(['not_assignee', 'not_assignee']);
    expect(await metricValue(registry, 'bflow_requests_joined_total')).toBe(1);
    const held = gate();
    writer.gate = held.promise;
    const submit = cmd(TENANT, 'rt-1', 'alice', 'submit');
    const first = host.handle(submit);
    await waitFor(() => writer.inFlight === 1, { what: 'the first submit at the writer' });
    const other = host.handle({ ...submit, runtimeId: 'rt-2' });
    held.open();
    ok(await first);
    expect(problemOf(await other)).toMatchObject({ code: 'idempotency_key_reused' });
    expect(await metricValue(registry, 'bflow_requests_joined_total')).toBe(1);
  });
});
