import { afterEach, describe, expect, it } from 'vitest';
import { RuntimeHost } from '../../../src/actors/runtime-host/runtime-host.ts';
import { shardOf } from '../../../src/actors/shard-of.ts';
import { CachedRuntimeStore } from '../../../src/store/cached-runtime-store.ts';
import { MemoryStore } from '../../../src/store/memory/memory-store.ts';
import { MemorySnapshotCache } from '../../../src/store/memory/snapshot-cache.ts';
import { TestClock, commandRequest as cmd, ok, problemOf, seedTenant, startRequest } from './runtime-host-fixture.ts';

const SHARDS = 4;
const TENANT = 't-reads';
const hosts: RuntimeHost[] = [];
afterEach(() => {
  for (const h of hosts.splice(0)) h.close();
});

async function setup() {
  const store = new MemoryStore();
  const cache = new MemorySnapshotCache();
  await seedTenant(store, TENANT);
  const clock = new TestClock();
  const make = () => {
    const host = new RuntimeHost(
      {
        runtimes: new CachedRuntimeStore(store.runtimes, cache),
        writer: store.writer,
        cache,
        workflows: store.workflows,
        directory: store.directory,
        clock,
      },
      { shardCount: SHARDS, sweepIntervalMs: 0, idleMs: 1_000, recentlyPassivatedMs: 5_000 },
    );
    for (let s = 0; s < SHARDS; s++) host.openShard(s, 1);
    hosts.push(host);
    return host;
  };
  return { store, make, clock };
}

const read = (runtimeId: string) => ({ kind: 'read', tenant: TENANT, runtimeId }) as const;

describe('runtime host - live reads', () => {
  it("live read - the live actor's state right after a command's reply, without a store read or the mailbox", async () => {
    const { make } = await setup();
    const host = make();
    ok(await host.handle(startRequest(TENANT, 'rt-1', 'doc-1')));
    const submitted = ok(await host.handle(cmd(TENANT, 'rt-1', 'alice', 'submit')));
    const reply = ok(await host.handle(read('rt-1')));
    expect(reply.state).toBe(submitted.state);
    expect(reply.state.revision).toBe(2);
  });

  it('live read - not_live for a runtime not in memory; shard_moved for a shard not held', async () => {
    const { make } = await setup();
    const first = make();
    ok(await first.handle(startRequest(TENANT, 'rt-2', 'doc-2')));
    expect(problemOf(await first.handle(read('rt-unknown')))).toMatchObject({ code: 'not_live', retryable: false });
    expect(first.passivateIdle()).toBe(0); // idleMs has not passed: still live
    expect(ok(await first.handle(read('rt-2'))).state.revision).toBe(1);

    first.closeShard(shardOf('rt-2', SHARDS));
    expect(problemOf(await first.handle(read('rt-2'))).code).toBe('shard_moved');
  });

  it('live read - an actor passivated a moment ago still answers with its last state, until recentlyPassivatedMs or its shard goes', async () => {
    const { make, clock } = await setup();
    const host = make();
    ok(await host.handle(startRequest(TENANT, 'rt-3', 'doc-3')));
    ok(await host.handle(cmd(TENANT, 'rt-3', 'alice', 'submit')));
    clock.advance(1_000);
    expect(host.passivateIdle()).toBe(1);
    expect(host.liveActors).toBe(0);
    expect(ok(await host.handle(read('rt-3'))).state.revision).toBe(2);
    clock.advance(5_000);
    expect(problemOf(await host.handle(read('rt-3'))).code).toBe('not_live');

    ok(await host.handle(startRequest(TENANT, 'rt-4', 'doc-4')));
    clock.advance(1_000);
    host.passivateIdle();
    const shard = shardOf('rt-4', SHARDS);
    host.closeShard(shard);
    host.openShard(shard, 2); // held again under a new epoch: another node may have moved rt-4 on meanwhile
    expect(problemOf(await host.handle(read('rt-4'))).code).toBe('not_live');
  });
});
