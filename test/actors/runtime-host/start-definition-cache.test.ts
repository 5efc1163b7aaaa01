import { describe, expect, it } from 'vitest';
import { StartDefinitionCache } from '../../../src/actors/runtime-host/definition-caches.ts';
import { MemoryStore } from '../../../src/store/memory/memory-store.ts';
import type { WorkflowStore } from '../../../src/store/ports.ts';
import { invalidatingWorkflows } from '../../../src/store/invalidating-workflows.ts';
import { PO_APP, PO_WORKFLOW, TestClock, seedTenant } from './runtime-host-fixture.ts';

const TENANT = 't-cache';
const OTHER = 't-other';
const TTL = 5_000;

/** The memory workflow store with its reads of configs and workflow records counted. */
async function counted() {
  const store = new MemoryStore();
  await seedTenant(store, TENANT);
  await seedTenant(store, OTHER);
  const reads = { configs: 0, workflows: 0 };
  let failNext = false;
  const workflows: WorkflowStore = Object.create(store.workflows) as WorkflowStore;
  workflows.getAppConfig = async (tenant, app, companyId) => {
    reads.configs++;
    if (failNext) {
      failNext = false;
      throw new Error('store down');
    }
    return store.workflows.getAppConfig(tenant, app, companyId);
  };
  workflows.getWorkflow = async (tenant, id) => {
    reads.workflows++;
    return store.workflows.getWorkflow(tenant, id);
  };
  const clock = new TestClock();
  const cache = new StartDefinitionCache(workflows, TTL, () => clock.now());
  return { store, reads, clock, cache, failOnce: () => (failNext = true) };
}

describe('StartDefinitionCache', () => {
  it('hit - repeated and concurrent reads within the TTL share one load; an absent config is cached too', async () => {
    const { cache, reads } = await counted();
    const [a, b] = await Promise.all([cache.getAppConfig(TENANT, PO_APP, ''), cache.getAppConfig(TENANT, PO_APP, '')]);
    expect(a).toMatchObject({ mode: 'apply', workflowId: PO_WORKFLOW });
    expect(b).toBe(a);
    expect((await cache.getWorkflow(TENANT, PO_WORKFLOW))?.latestVersion).toBe(1);
    await cache.getWorkflow(TENANT, PO_WORKFLOW);
    expect(await cache.getAppConfig(TENANT, 'sales.order', '')).toBeUndefined();
    expect(await cache.getAppConfig(TENANT, 'sales.order', '')).toBeUndefined();
    expect(reads).toEqual({ configs: 2, workflows: 1 });
  });

  it('TTL - an entry is reloaded in the background once it is ttlMs old (the start goes on with the old one), then reused again', async () => {
    const { cache, reads, clock, store } = await counted();
    await cache.getAppConfig(TENANT, PO_APP, '');
    await store.workflows.setAppConfig({
      tenant: TENANT,
      companyId: '',
      app: PO_APP,
      mode: 'pending',
      workflowId: PO_WORKFLOW,
    });
    clock.advance(TTL - 1);
    expect(await cache.getAppConfig(TENANT, PO_APP, '')).toMatchObject({ mode: 'apply' });
    clock.advance(1);
    expect(await cache.getAppConfig(TENANT, PO_APP, '')).toMatchObject({ mode: 'apply' });
    await new Promise((r) => setImmediate(r));
    expect(await cache.getAppConfig(TENANT, PO_APP, '')).toMatchObject({ mode: 'pending' });
    expect(await cache.getAppConfig(TENANT, PO_APP, '')).toMatchObject({ mode: 'pending' });
    expect(reads.configs).toBe(2);
  });

  it('TTL - an entry twice ttlMs old is not served: the start waits for the reload', async () => {
    const { cache, reads, clock, store } = await counted();
    await cache.getAppConfig(TENANT, PO_APP, '');
    await store.workflows.setAppConfig({
      tenant: TENANT,
      companyId: '',
      app: PO_APP,
      mode: 'pending',
      workflowId: PO_WORKFLOW,
    });
    clock.advance(2 * TTL);
    expect(await cache.getAppConfig(TENANT, PO_APP, '')).toMatchObject({ mode: 'pending' });
    expect(reads.configs).toBe(2);
  });

  it("invalidation - drops the tenant's configs and workflow records at once, and no other tenant's", async () => {
    const { cache, reads, store } = await counted();
    for (const t of [TENANT, OTHER]) {
      await cache.getAppConfig(t, PO_APP, '');
      await cache.getWorkflow(t, PO_WORKFLOW);
    }
    await store.workflows.setAppConfig({
      tenant: TENANT,
      companyId: '',
      app: PO_APP,
      mode: 'unapply',
      workflowId: PO_WORKFLOW,
    });
    cache.invalidate(TENANT);
    expect(await cache.getAppConfig(TENANT, PO_APP, '')).toMatchObject({ mode: 'unapply' });
    await cache.getWorkflow(TENANT, PO_WORKFLOW);
    await cache.getAppConfig(OTHER, PO_APP, '');
    await cache.getWorkflow(OTHER, PO_WORKFLOW);
    expect(reads).toEqual({ configs: 3, workflows: 3 });
  });

  it('invalidation - invalidatingWorkflows reports a config change and a new version, not a draft edit or an unchanged publish', async () => {
    const { store } = await counted();
    const changed: string[] = [];
    const workflows = invalidatingWorkflows(store.workflows, (tenant) => changed.push(tenant));
    await workflows.setAppConfig({
      tenant: TENANT,
      companyId: '',
      app: PO_APP,
      mode: 'apply',
      workflowId: PO_WORKFLOW,
    });
    const draft = (await workflows.getWorkflow(TENANT, PO_WORKFLOW))!.draft;
    await workflows.publish(TENANT, PO_WORKFLOW, 0); // unchanged draft: still version 1, but reported (the caller cannot tell)
    await workflows.updateDraft(TENANT, PO_WORKFLOW, { ...draft, name: 'v2' }, 0);
    expect(changed).toEqual([TENANT, TENANT]);
    expect((await workflows.publish(TENANT, PO_WORKFLOW, 0))?.version).toBe(2);
    expect(changed).toEqual([TENANT, TENANT, TENANT]);
    expect(await workflows.publish(TENANT, 'no-such-workflow', 0)).toBeUndefined();
    expect(changed).toHaveLength(3);
  });

  it('a failed load is not cached; ttlMs 0 reads every time', async () => {
    const { cache, reads, failOnce, store } = await counted();
    failOnce();
    await expect(cache.getAppConfig(TENANT, PO_APP, '')).rejects.toThrow('store down');
    expect(await cache.getAppConfig(TENANT, PO_APP, '')).toMatchObject({ mode: 'apply' });
    expect(reads.configs).toBe(2);
    const uncached = new StartDefinitionCache(store.workflows, 0, () => 0);
    await store.workflows.setAppConfig({
      tenant: TENANT,
      companyId: '',
      app: PO_APP,
      mode: 'pending',
      workflowId: PO_WORKFLOW,
    });
    expect(await uncached.getAppConfig(TENANT, PO_APP, '')).toMatchObject({ mode: 'pending' });
  });
});
