import { afterEach, describe, expect, it } from 'vitest';
import { RuntimeHost } from '../../../src/actors/runtime-host/runtime-host.ts';
import { shardOf } from '../../../src/actors/shard-of.ts';
import { CachedRuntimeStore } from '../../../src/store/cached-runtime-store.ts';
import { MemoryStore } from '../../../src/store/memory/memory-store.ts';
import { MemorySnapshotCache } from '../../../src/store/memory/snapshot-cache.ts';
import { commandRequest as cmd, ok, problemOf, seedTenant, startRequest } from './runtime-host-fixture.ts';

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
  const make = () => {
    const host = new RuntimeHost(
      {
        runtimes: new CachedRuntimeStore(store.runtimes, cache),
        writer: store.writer,
        cache,
        workflows: store.workflows,
        directory: store.directory,
      },
      { shardCount: SHARDS, sweepIntervalMs: 0 },
    );
    for (let s = 0; s < SHARDS; s++) host.openShard(s, 1);
    hosts.push(host);
    return host;
  };
  return { store, make };
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
    first.passivateIdle(); // idleMs has not passed: still live
    expect(ok(await first.handle(read('rt-2'))).state.revision).toBe(1);

    first.closeShard(shardOf('rt-2', SHARDS));
    expect(problemOf(await first.handle(read('rt-2'))).code).toBe('shard_moved');
  });
});
