import { describe, expect, it } from 'vitest';
import { WorkflowCache } from '../../../src/actors/runtime-host/definition-caches.ts';
import { MemoryStore } from '../../../src/store/memory/memory-store.ts';
import { loadExample } from '../../fixtures/engine-driver.ts';
import { T0 } from './runtime-host-fixture.ts';

async function publish(store: MemoryStore, tenant: string, id: string, def = loadExample('purchase-order')) {
  await store.workflows.createWorkflow(tenant, id, def, T0);
  await store.workflows.publish(tenant, id, T0);
}

describe('workflow cache', () => {
  it('workflow cache - tenants with the same definition, id and version share one compiled workflow', async () => {
    const store = new MemoryStore();
    await publish(store, 't-a', 'wf-po');
    await publish(store, 't-b', 'wf-po');
    await publish(store, 't-c', 'wf-other');
    const changed = loadExample('purchase-order');
    changed.name = `${changed.name} (changed)`;
    await publish(store, 't-d', 'wf-po', changed);
    const [a, b, c, d] = await Promise.all([
      new WorkflowCache(store.workflows, 10).get('t-a', 'wf-po', 1),
      new WorkflowCache(store.workflows, 10).get('t-b', 'wf-po', 1),
      new WorkflowCache(store.workflows, 10).get('t-c', 'wf-other', 1),
      new WorkflowCache(store.workflows, 10).get('t-d', 'wf-po', 1),
    ]);
    expect(a).toBeDefined();
    expect(b).toBe(a);
    expect(c).not.toBe(a); // another id
    expect(d).not.toBe(a); // another definition
    expect(d?.def.name).toBe(changed.name);
  });
});
