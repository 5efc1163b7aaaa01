import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { RuntimeHost } from '../../../src/actors/runtime-host/runtime-host.ts';
import type { RuntimeHostOptions } from '../../../src/actors/runtime-host/runtime-host-options.ts';
import { CachedRuntimeStore } from '../../../src/store/cached-runtime-store.ts';
import { MemorySnapshotCache } from '../../../src/store/memory/snapshot-cache.ts';
import { MySqlDirectoryStore } from '../../../src/store/mysql/directory-store.ts';
import { mysqlStatementCounts } from '../../../src/store/mysql/statement-metrics.ts';
import { MySqlReadModel } from '../../../src/store/mysql/read-model.ts';
import { MySqlRuntimeStore } from '../../../src/store/mysql/runtime-store.ts';
import { MySqlTransitionWriter } from '../../../src/store/mysql/transition-writer.ts';
import { MySqlWorkflowStore } from '../../../src/store/mysql/workflow-store.ts';
import type { SnapshotCache } from '../../../src/store/ports.ts';
import { useTestDatabase, type TestDatabase } from '../../harness/mysql.ts';
import { uniqueTenant } from '../../store/fixtures.ts';
import {
  ProbeWriter,
  TestClock,
  commandRequest as cmd,
  ok,
  poDoc,
  problemOf,
  seedTenant,
  startRequest,
} from './runtime-host-fixture.ts';

// One database for the file; each test works in its own tenant.
let db: Promise<TestDatabase> | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0)) await c();
  if (db !== undefined) await (await db).drop();
});

const SHARDS = 4;

/** A host over the MySQL repositories and its own group-commit writer (a node); `cache` may be shared, like Redis. */
async function mysqlHost(options: RuntimeHostOptions = {}, cache: SnapshotCache = new MemorySnapshotCache()) {
  db ??= useTestDatabase('runtime_host');
  const { pool } = await db;
  const registry = new Registry();
  const inner = new MySqlWorkflowStore(pool);
  const directory = new MySqlDirectoryStore(pool);
  const writer = new ProbeWriter(new MySqlTransitionWriter(pool));
  const runtimes = new CachedRuntimeStore(new MySqlRuntimeStore(pool), cache, { registry });
  const host = new RuntimeHost(
    { runtimes, writer, cache, workflows: inner, directory, clock: new TestClock(), registry },
    { shardCount: SHARDS, sweepIntervalMs: 0, ...options },
  );
  for (let s = 0; s < SHARDS; s++) host.openShard(s, 1);
  cleanups.push(async () => {
    host.close();
    await writer.close();
  });
  return {
    host,
    writer,
    workflows: inner,
    directory,
    read: new MySqlReadModel(pool),
    store: new MySqlRuntimeStore(pool),
    cache,
  };
}

async function seeded(options: RuntimeHostOptions = {}) {
  const h = await mysqlHost(options);
  const tenant = uniqueTenant('host');
  await seedTenant(h, tenant);
  return { ...h, tenant };
}

describe('runtime host on MySQL', () => {
  it('mysql - start → submit → approve through the purchase-order example', async () => {
    const { host, tenant, read, store } = await seeded();
    expect(ok(await host.handle(startRequest(tenant, 'rt-1', 'doc-1'))).created).toBe(true);
    ok(await host.handle(cmd(tenant, 'rt-1', 'alice', 'submit')));
    const done = ok(await host.handle(cmd(tenant, 'rt-1', 'pur-mgr', 'approve')));
    expect(done.state.status).toBe('approved');
    expect((await read.runtimeLog(tenant, 'rt-1')).map((l) => l.action)).toEqual(['start', 'submit', 'approve']);
    expect(await store.loadRuntime(tenant, 'rt-1')).toEqual(done.state);
    expect((await read.inbox(tenant, 'pur-mgr', 'done', 10)).items.map((i) => i.runtimeId)).toEqual(['rt-1']);
  });

  it('mysql - the same idempotency key twice: one log entry, identical replies, the second replayed (also from the store)', async () => {
    const { host, tenant, read } = await seeded();
    ok(await host.handle(startRequest(tenant, 'rt-1', 'doc-1')));
    const request = cmd(tenant, 'rt-1', 'alice', 'submit');
    const first = ok(await host.handle(request));
    expect(ok(await host.handle(request))).toEqual({ ...first, replayed: true });
    const other = await mysqlHost();
    expect(ok(await other.host.handle(request))).toEqual({ ...first, replayed: true });
    expect((await read.runtimeLog(tenant, 'rt-1')).filter((l) => l.action === 'submit')).toHaveLength(1);
  });

  it('mysql - 50 concurrent commands on one runtime are applied one at a time; runtimes run concurrently', async () => {
    const { host, tenant, read, writer } = await seeded();
    const ids = ['rt-a', 'rt-b', 'rt-c'];
    for (const id of ids) {
      ok(await host.handle(startRequest(tenant, id, `doc-${id}`)));
      ok(await host.handle(cmd(tenant, id, 'alice', 'submit')));
    }
    const replies = await Promise.all(
      ids.flatMap((id) =>
        Array.from({ length: 50 }, (_, i) =>
          host.handle(cmd(tenant, id, 'alice', 'comment', { comment: `${id}-${i}` })),
        ),
      ),
    );
    for (const r of replies) ok(r);
    expect(writer.outcomes.filter((o) => o !== 'ok')).toEqual([]);
    expect(writer.maxPerRuntime).toBe(1);
    expect(writer.maxInFlight).toBeGreaterThan(1);
    for (const id of ids) {
      const seqs = replies.filter((r) => r.ok && r.state.runtime.id === id).map((r) => ok(r).state.seq);
      expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 3));
      expect((await read.runtimeLog(tenant, id)).map((l) => l.seq)).toEqual(
        Array.from({ length: 52 }, (_, i) => i + 1),
      );
    }
  });

  it('mysql - two owners act on one runtime: never two writes on one base; the loser retries once after a reload', async () => {
    const a = await seeded();
    const b = await mysqlHost({}, a.cache);
    const { tenant } = a;
    ok(await a.host.handle(startRequest(tenant, 'rt-1', 'doc-1')));
    ok(await a.host.handle(cmd(tenant, 'rt-1', 'alice', 'submit')));
    ok(await b.host.handle(cmd(tenant, 'rt-1', 'alice', 'comment', { comment: 'b activates' })));
    // A is stale (revision 2, the store is at 3): its command conflicts, reloads, and lands at 4.
    expect(ok(await a.host.handle(cmd(tenant, 'rt-1', 'alice', 'comment', { comment: 'a' }))).state.revision).toBe(4);
    expect(a.writer.outcomes).toContain('conflict');
    // Racing rounds on both owners.
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 ? a.host : b.host).handle(cmd(tenant, 'rt-1', 'alice', 'comment', { comment: `r${i}` })),
      ),
    );
    for (const r of replies) if (!r.ok) expect(r.problem.code).toBe('version_conflict');
    const log = await a.read.runtimeLog(tenant, 'rt-1');
    expect(log.map((l) => l.seq)).toEqual(Array.from({ length: log.length }, (_, i) => i + 1));
    expect(log.length).toBe(4 + replies.filter((r) => r.ok).length);
    // The stale owner's approve after the other approved is refused by the engine after the reload.
    ok(await a.host.handle(cmd(tenant, 'rt-1', 'pur-mgr', 'approve')));
    const late = await b.host.handle(cmd(tenant, 'rt-1', 'pur-mgr', 'approve'));
    expect(problemOf(late)).toMatchObject({ code: 'action_not_allowed' });
    expect((await a.read.runtimeLog(tenant, 'rt-1')).filter((l) => l.action === 'approve')).toHaveLength(1);
  });

  it('mysql - start twice for one document (also concurrently on two owners) → one runtime, created: false', async () => {
    const a = await seeded();
    const b = await mysqlHost({}, a.cache);
    const { tenant } = a;
    const first = ok(await a.host.handle(startRequest(tenant, 'rt-1', 'doc-1')));
    const again = ok(await b.host.handle(startRequest(tenant, 'rt-2', 'doc-1')));
    expect(again).toMatchObject({ created: false, state: { runtime: { id: 'rt-1' }, revision: first.state.revision } });
    const racing = await Promise.all([
      a.host.handle(startRequest(tenant, 'rt-3', 'doc-2')),
      b.host.handle(startRequest(tenant, 'rt-4', 'doc-2')),
    ]);
    expect(racing.map((r) => ok(r).created).sort()).toEqual([false, true]);
    expect(new Set(racing.map((r) => ok(r).state.runtime.id)).size).toBe(1);
  });

  it('mysql - refusals change nothing; unapply and unknown apps are refused', async () => {
    const { host, tenant, read, workflows } = await seeded();
    ok(await host.handle(startRequest(tenant, 'rt-1', 'doc-1', { doc: poDoc(20_000_000) })));
    expect(problemOf(await host.handle(cmd(tenant, 'rt-1', 'bob', 'submit')))).toMatchObject({ code: 'not_assignee' });
    expect(await read.runtimeLog(tenant, 'rt-1')).toHaveLength(1);
    expect(problemOf(await host.handle(startRequest(tenant, 'rt-2', 'doc-2', { app: 'nope' })))).toMatchObject({
      code: 'app_not_configured',
    });
    await workflows.setAppConfig({
      tenant,
      companyId: '',
      app: 'purchase.order',
      mode: 'unapply',
      workflowId: 'wf-po',
    });
    host.invalidateStartDefinitions(tenant); // the change notice a gateway sends
    expect(problemOf(await host.handle(startRequest(tenant, 'rt-2', 'doc-2')))).toMatchObject({
      code: 'app_not_applied',
    });
  });

  it('mysql - on a warm start cache a start reads neither app_configs nor workflows; a change notice makes the next start read them once', async () => {
    const { host, tenant, workflows } = await seeded();
    const reads = (): { app_configs: number; workflows: number } => ({
      app_configs: mysqlStatementCounts.reads.get('app_configs') ?? 0,
      workflows: mysqlStatementCounts.reads.get('workflows') ?? 0,
    });
    ok(await host.handle(startRequest(tenant, 'rt-1', 'doc-1'))); // warms the cache
    const warm = reads();
    for (let i = 2; i <= 6; i++) ok(await host.handle(startRequest(tenant, `rt-${i}`, `doc-${i}`)));
    expect(reads()).toEqual(warm);
    await workflows.setAppConfig({
      tenant,
      companyId: '',
      app: 'purchase.order',
      mode: 'unapply',
      workflowId: 'wf-po',
    });
    host.invalidateStartDefinitions(tenant); // the change notice a gateway sends
    expect(problemOf(await host.handle(startRequest(tenant, 'rt-7', 'doc-7')))).toMatchObject({
      code: 'app_not_applied',
    });
    expect(reads().app_configs).toBe(warm.app_configs + 1);
  });

  it('mysql - 3 assignees of a 2-of-N stage approving at once → the stage exits once with exactly two approvals', async () => {
    const { host, tenant, store } = await seeded();
    ok(await host.handle(startRequest(tenant, 'rt-1', 'doc-1', { doc: poDoc(20_000_000) })));
    ok(await host.handle(cmd(tenant, 'rt-1', 'alice', 'submit')));
    ok(await host.handle(cmd(tenant, 'rt-1', 'pur-mgr', 'approve')));
    const replies = await Promise.all(
      ['fin-1', 'fin-2', 'fin-3'].map((who) => host.handle(cmd(tenant, 'rt-1', who, 'approve'))),
    );
    expect(replies.map((r) => (r.ok ? 'ok' : r.problem.code))).toEqual(['ok', 'ok', 'action_not_allowed']);
    const state = (await store.loadRuntime(tenant, 'rt-1'))!;
    expect(state.status).toBe('approved');
    const finance = state.stages.filter((s) => s.node === 'finance');
    expect(finance).toHaveLength(1);
    expect(finance[0]!.tasks.filter((t) => t.status === 'done')).toHaveLength(2);
  });

  it('mysql - drain waits for in-flight commands, flushes the writer, then refuses with shard_moved', async () => {
    const { host, tenant } = await seeded();
    ok(await host.handle(startRequest(tenant, 'rt-1', 'doc-1')));
    const inFlight = Array.from({ length: 5 }, (_, i) =>
      host.handle(cmd(tenant, 'rt-1', 'alice', 'comment', { comment: `c${i}` })),
    );
    const { shardOf } = await import('../../../src/actors/shard-of.ts');
    await host.drain(shardOf('rt-1', SHARDS));
    for (const r of await Promise.all(inFlight)) ok(r);
    expect(problemOf(await host.handle(cmd(tenant, 'rt-1', 'alice', 'comment', { comment: 'late' })))).toMatchObject({
      code: 'shard_moved',
    });
  });
});
