import { afterEach, describe, expect, it } from 'vitest';
import { RuntimeHost } from '../../../src/actors/runtime-host/runtime-host.ts';
import type { RuntimeHostOptions } from '../../../src/actors/runtime-host/runtime-host-options.ts';
import { shardOf } from '../../../src/actors/shard-of.ts';
import { CachedRuntimeStore } from '../../../src/store/cached-runtime-store.ts';
import { MemoryStore } from '../../../src/store/memory/memory-store.ts';
import { MemorySnapshotCache } from '../../../src/store/memory/snapshot-cache.ts';
import { TestClock, commandRequest as cmd, ok, seedTenant, startRequest } from './runtime-host-fixture.ts';

const SHARDS = 4;
const TENANT = 't-snap';
const hosts: RuntimeHost[] = [];
afterEach(() => {
  for (const h of hosts.splice(0)) h.close();
});

const turn = () => new Promise((resolve) => setImmediate(resolve));

async function host(options: RuntimeHostOptions = {}) {
  const store = new MemoryStore();
  const cache = new MemorySnapshotCache();
  const clock = new TestClock();
  await seedTenant(store, TENANT);
  const h = new RuntimeHost(
    {
      runtimes: new CachedRuntimeStore(store.runtimes, cache),
      writer: store.writer,
      cache,
      workflows: store.workflows,
      directory: store.directory,
      clock,
    },
    { shardCount: SHARDS, sweepIntervalMs: 0, idleMs: 1_000, ...options },
  );
  for (let s = 0; s < SHARDS; s++) h.openShard(s, 1);
  hosts.push(h);
  const cached = async (id: string) => (await cache.get(TENANT, id))?.revision;
  return { h, clock, cached };
}

describe('runtime host - snapshot writes', () => {
  it('snapshots - by default a live actor writes none; its state is written when it is passivated', async () => {
    const { h, clock, cached } = await host();
    ok(await h.handle(startRequest(TENANT, 'rt-1', 'doc-1')));
    ok(await h.handle(cmd(TENANT, 'rt-1', 'alice', 'submit')));
    await turn();
    expect(await cached('rt-1')).toBeUndefined();
    clock.advance(1_000);
    expect(h.passivateIdle()).toBe(1);
    await turn();
    expect(await cached('rt-1')).toBe(2);
  });

  it('snapshots - every nth revision with snapshotEveryRevisions; leaving memory writes only a revision not written yet', async () => {
    const { h, cached } = await host({ snapshotEveryRevisions: 2 });
    ok(await h.handle(startRequest(TENANT, 'rt-2', 'doc-2')));
    await turn();
    expect(await cached('rt-2')).toBeUndefined();
    ok(await h.handle(cmd(TENANT, 'rt-2', 'alice', 'submit')));
    await turn();
    expect(await cached('rt-2')).toBe(2);
    ok(await h.handle(cmd(TENANT, 'rt-2', 'alice', 'comment', { comment: 'three' })));
    await h.drain(shardOf('rt-2', SHARDS)); // a hand-over drops the shard's actors: revision 3 is written
    await turn();
    expect(await cached('rt-2')).toBe(3);
  });

  it('snapshots - snapshotEveryRevisions 1 writes after every commit', async () => {
    const { h, cached } = await host({ snapshotEveryRevisions: 1 });
    ok(await h.handle(startRequest(TENANT, 'rt-3', 'doc-3')));
    await turn();
    expect(await cached('rt-3')).toBe(1);
  });
});
