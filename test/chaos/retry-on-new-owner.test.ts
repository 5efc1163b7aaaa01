import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { RuntimeHost } from '../../src/actors/runtime-host/runtime-host.ts';
import { CachedRuntimeStore } from '../../src/store/cached-runtime-store.ts';
import { MemorySnapshotCache } from '../../src/store/memory/snapshot-cache.ts';
import { MySqlDirectoryStore } from '../../src/store/mysql/directory-store.ts';
import { MySqlRuntimeStore } from '../../src/store/mysql/runtime-store.ts';
import { MySqlTransitionWriter } from '../../src/store/mysql/transition-writer.ts';
import { MySqlWorkflowStore } from '../../src/store/mysql/workflow-store.ts';
import {
  commandRequest,
  ok,
  seedTenant,
  startRequest,
  TestClock,
} from '../actors/runtime-host/runtime-host-fixture.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';

// Found by the node-kill-storm chaos scenario: an approval committed by a node
// that died before replying, retried by the client with the same key, was
// answered 422 action_not_allowed by the new owner (the client never learnt
// that its approval had been accepted). The gateway tries each command several
// times (a try that times out is sent again), so the new owner sees the same
// key twice: the first try activates the actor and is replayed from the
// store, the second reached the now-live actor, which remembers only keys it
// committed itself, stepped the command on the already-approved state and
// refused it (fixed in src/actors/runtime-commands.ts; this is its regression test).

let db: TestDatabase | undefined;
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
  await db?.drop();
});

/** A node's runtime host on the test database; `cache` plays Redis (the snapshots it activates from). */
async function node(cache = new MemorySnapshotCache()): Promise<RuntimeHost> {
  db ??= await useTestDatabase('chaos_retry_owner');
  const writer = new MySqlTransitionWriter(db.pool);
  const host = new RuntimeHost(
    {
      runtimes: new CachedRuntimeStore(new MySqlRuntimeStore(db.pool), cache, { registry: new Registry() }),
      writer,
      cache,
      workflows: new MySqlWorkflowStore(db.pool),
      directory: new MySqlDirectoryStore(db.pool),
      clock: new TestClock(),
      registry: new Registry(),
    },
    // A snapshot after every commit: the second scenario needs the one the old owner wrote before the submit.
    { shardCount: 1, sweepIntervalMs: 0, snapshotEveryRevisions: 1 },
  );
  host.openShard(0, 1);
  closers.push(async () => {
    host.close();
    await writer.close();
  });
  return host;
}

describe('chaos - a command retried on a new shard owner', () => {
  it('chaos - the same key sent twice to the new owner of a runtime is replayed both times, never refused', async () => {
    const old = await node();
    const tenant = 'chaos-retry';
    await seedTenant(
      { workflows: new MySqlWorkflowStore(db!.pool), directory: new MySqlDirectoryStore(db!.pool) },
      tenant,
    );
    ok(await old.handle(startRequest(tenant, 'rt-1', 'doc-1')));
    ok(await old.handle(commandRequest(tenant, 'rt-1', 'alice', 'submit')));
    const approve = commandRequest(tenant, 'rt-1', 'pur-mgr', 'approve');
    const first = ok(await old.handle(approve)); // committed; the reply is lost with the node

    const owner = await node();
    expect(await owner.handle(approve)).toEqual({ ...first, replayed: true }); // activates the actor, replayed from the store
    expect(await owner.handle(approve)).toEqual({ ...first, replayed: true }); // the live actor: 422 action_not_allowed today
  });

  // Found by node-kill-storm after the fix above: an approval's FIRST try answered 422 action_not_allowed in 10 ms.
  // The node that committed the submit died before refreshing the runtime's Redis snapshot; the new owner activated
  // the actor from that older snapshot (the cache is trusted on activation) and refused the approval on the pre-submit
  // state. A commit on a stale state is fenced by the revision check (conflict → reload → retry); a refusal is not.
  // Fixed: an actor activated from the cache re-checks a refusal (or a no-op) on a fresh load from MySQL.
  it('chaos - a runtime activated from a snapshot older than MySQL (its owner died before refreshing it) is not refused on the old state', async () => {
    const redis = new MemorySnapshotCache();
    const old = await node(redis);
    const tenant = 'chaos-stale';
    await seedTenant(
      { workflows: new MySqlWorkflowStore(db!.pool), directory: new MySqlDirectoryStore(db!.pool) },
      tenant,
    );
    ok(await old.handle(startRequest(tenant, 'rt-2', 'doc-2')));
    await new Promise((r) => setImmediate(r)); // snapshots are written at the end of the turn of their commit
    const beforeSubmit = (await redis.get(tenant, 'rt-2'))!;
    ok(await old.handle(commandRequest(tenant, 'rt-2', 'alice', 'submit'))); // committed; the snapshot refresh is lost with the node

    const stale = new MemorySnapshotCache();
    await stale.setMany([{ tenant, state: beforeSubmit }]);
    const owner = await node(stale);
    const approved = ok(await owner.handle(commandRequest(tenant, 'rt-2', 'pur-mgr', 'approve')));
    expect(approved.state.status).toBe('approved');
  });

  // Idempotency by reference (issue 15): the key is stored on its step's log row, never the reply; the new owner
  // rebuilds the first reply from the log (the state at the key's revision), however far the runtime moved on since.
  it('chaos - a retry after failover is answered with its first reply, rebuilt from the log at its revision', async () => {
    const old = await node();
    const tenant = 'chaos-by-ref';
    await seedTenant(
      { workflows: new MySqlWorkflowStore(db!.pool), directory: new MySqlDirectoryStore(db!.pool) },
      tenant,
    );
    const start = startRequest(tenant, 'rt-3', 'doc-3');
    const started = ok(await old.handle(start));
    const submit = commandRequest(tenant, 'rt-3', 'alice', 'submit');
    const submitted = ok(await old.handle(submit)); // its reply is lost with the node...
    ok(await old.handle(commandRequest(tenant, 'rt-3', 'pur-mgr', 'approve'))); // ...which moved on before dying

    const owner = await node();
    expect(await owner.handle(submit)).toEqual({ ...submitted, replayed: true });
    expect(await owner.handle(start)).toEqual({ ...started, replayed: true });
    const [stored] = await db!.pool.query<import('mysql2/promise').RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM idempotency_keys WHERE tenant = ?',
      [tenant],
    );
    expect(Number(stored[0]?.n)).toBe(0); // no reply stored: the log is the reference
  });

  // Log-first activation (issue 15): a snapshot older than the log is brought up to date by replaying the steps
  // after its revision, so the new owner starts from MySQL's state, not the stale snapshot.
  it('chaos - activation from a stale snapshot replays the log after it: the actor starts at the committed revision', async () => {
    const redis = new MemorySnapshotCache();
    const old = await node(redis);
    const tenant = 'chaos-replay';
    await seedTenant(
      { workflows: new MySqlWorkflowStore(db!.pool), directory: new MySqlDirectoryStore(db!.pool) },
      tenant,
    );
    ok(await old.handle(startRequest(tenant, 'rt-4', 'doc-4')));
    await new Promise((r) => setImmediate(r));
    const beforeSubmit = (await redis.get(tenant, 'rt-4'))!;
    const submitted = ok(await old.handle(commandRequest(tenant, 'rt-4', 'alice', 'submit')));

    const stale = new MemorySnapshotCache();
    await stale.setMany([{ tenant, state: beforeSubmit }]);
    const store = new CachedRuntimeStore(new MySqlRuntimeStore(db!.pool), stale, { registry: new Registry() });
    expect(await store.loadRuntime(tenant, 'rt-4')).toEqual(submitted.state);
    expect(await stale.get(tenant, 'rt-4')).toEqual(submitted.state); // the snapshot refreshed
  });
});
