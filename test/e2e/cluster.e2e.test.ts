import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tenant, current, expectStatus } from './api-client.ts';
import { scenariosContract } from './scenarios.contract.ts';
import { CLUSTER_SHARDS, startClusterStack, type ClusterStack, type Stack } from './stack.ts';

/** A `bflow gateway` and two `bflow node` processes on MariaDB, Redis and NATS, over real HTTP. */
let stack: ClusterStack | undefined;

beforeAll(async () => {
  stack = await startClusterStack('e2e');
}, 120_000);

afterAll(async () => {
  expect(await stack?.gateway.stop()).toBe(0); // SIGTERM: finish requests in flight, close, exit 0
  await stack?.stop();
}, 60_000);

const stackOf = (): Stack => {
  if (!stack) throw new Error('stack not started');
  return stack;
};

describe('cluster - operations', () => {
  it('cluster - a gateway started before any node is up but not ready: the shard map is unknown', () => {
    expect(stack!.readyBeforeNodes.status).toBe(503);
    expect(stack!.readyBeforeNodes.body).toMatchObject({
      checks: { mysql: true, nats: true, redis: true, shardMap: false },
    });
  });

  it('cluster - /ready checks MySQL, NATS, Redis and the shard map; /api/v1/cluster shows both nodes owning every shard', async () => {
    const ready = await fetch(`${stackOf().url}/ready`);
    expect(ready.status).toBe(200);
    expect(JSON.stringify(await ready.json())).toMatch(/"mysql":true.*"nats":true.*"shardMap":true.*"redis":true/);
    const admin = await (await Tenant.create(stackOf(), 'ops')).admin();
    const view = expectStatus(await admin.get('/api/v1/cluster'), 200).body;
    expect(view.shardCount).toBe(CLUSTER_SHARDS);
    expect(view.shards.every((s: { node: string | null }) => s.node !== null)).toBe(true);
    expect(new Set(view.shards.map((s: { node: string }) => s.node)).size).toBe(2);
  });

  it('cluster - the rate limit buckets live in Redis under the cluster prefix (shared by gateway replicas)', async () => {
    const admin = await (await Tenant.create(stackOf(), 'rl')).admin();
    expectStatus(await admin.get('/api/v1/tasks'), 200);
    const redis = new Redis(stack!.redisUrl, { maxRetriesPerRequest: 1 });
    try {
      expect((await redis.keys(`${stack!.cluster}:rl:*`)).length).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });
});

scenariosContract('cluster', stackOf);

describe('cluster - directory changes', () => {
  it('cluster - a manager changed through the gateway is used by the nodes at once (not after their directory cache TTL)', async () => {
    const tenant = await Tenant.create(stackOf(), 'dir');
    const alice = await tenant.as('alice');
    const doc = { amount: 1_000, currency: 'VND', requester: 'alice', items: [], note: 'n', supplier: 'ACME' };
    const submitOne = async (label: string) => {
      const started = await alice.start('purchase.order', `DIR-${label}-${Date.now()}`, doc);
      return current(await alice.do(started.id, 'submit')).open;
    };
    // Ten documents: both nodes (almost surely) load and cache this tenant's directory.
    for (let i = 0; i < 10; i++) expect(await submitOne(`a${i}`)).toEqual(['pur-mgr']);
    const admin = await tenant.admin();
    expectStatus(
      await admin.put('/api/v1/directory/groups/g-purchasing', {
        name: 'Purchasing',
        parentId: 'g-ops',
        managerId: 'bob',
        level: 2,
      }),
      200,
    );
    // The nodes were told: every next document's manager_1 is bob, well inside the 30 s directory cache.
    // (One NATS connection each side: the notice reaches a node before the commands that follow it.)
    for (let i = 0; i < 6; i++) expect(await submitOne(`b${i}`)).toEqual(['bob']);
  });
});

describe('cluster - app config and workflow changes', () => {
  it('cluster - an app config changed or a version published through the gateway is used by the next start on every node at once (not after the start cache TTL)', async () => {
    const tenant = await Tenant.create(stackOf(), 'defs');
    const alice = await tenant.as('alice');
    const admin = await tenant.admin();
    const workflowId = tenant.workflows.get('purchase.order')!;
    const doc = { amount: 1_000, currency: 'VND', requester: 'alice', items: [], note: 'n', supplier: 'ACME' };
    let n = 0;
    const startOne = () =>
      alice.post('/api/v1/runtimes', { app: 'purchase.order', docId: `DEF-${n++}-${Date.now()}`, doc });
    // Ten documents: both nodes (almost surely) cache this tenant's app config and workflow record.
    for (let i = 0; i < 10; i++) expect(expectStatus(await startOne(), 201).body.version).toBe(1);
    expectStatus(await admin.put('/api/v1/apps/purchase.order/config', { workflowId, mode: 'unapply' }), 200);
    // The nodes were told (the stack's start cache TTL is 10 minutes): every next start sees mode unapply.
    for (let i = 0; i < 6; i++) expect(expectStatus(await startOne(), 422).body.code).toBe('app_not_applied');
    expectStatus(await admin.put('/api/v1/apps/purchase.order/config', { workflowId, mode: 'apply' }), 200);
    for (let i = 0; i < 6; i++) expect(expectStatus(await startOne(), 201).body.version).toBe(1);
    const { draft } = expectStatus(await admin.get(`/api/v1/workflows/${workflowId}`), 200).body;
    expectStatus(
      await admin.put(`/api/v1/workflows/${workflowId}`, { ...draft, name: `${String(draft.name)} (v2)` }),
      200,
    );
    expect(expectStatus(await admin.post(`/api/v1/workflows/${workflowId}/publish`), 201).body.version).toBe(2);
    for (let i = 0; i < 6; i++) expect(expectStatus(await startOne(), 201).body.version).toBe(2);
  });
});
