import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  act,
  admin,
  designer,
  integration,
  member,
  PO_WORKFLOW,
  startPo,
  T0,
  TENANT_B,
  testGateway,
  type TestGateway,
} from './test-backend.ts';

let gw: TestGateway;
beforeEach(async () => {
  gw = await testGateway();
});
afterEach(() => gw.close());

const MINUTE = 60_000;
const analytics = (query = '', caller = designer()) =>
  gw.call(caller, 'GET', `/api/v1/analytics/workflows/${PO_WORKFLOW}${query}`);

/** Three purchase orders: approved after 10 min at the manager, returned once (30 min) then approved (20 min), still open at the manager. */
async function seedRuns(): Promise<void> {
  const a = await startPo(gw, 'PO-A');
  await act(gw, member('alice'), a.id, { action: 'submit' });
  gw.clock.advance(10 * MINUTE);
  await act(gw, member('pur-mgr'), a.id, { action: 'approve' });

  const b = await startPo(gw, 'PO-B');
  await act(gw, member('alice'), b.id, { action: 'submit' });
  gw.clock.advance(30 * MINUTE);
  await act(gw, member('pur-mgr'), b.id, { action: 'return', comment: 'fix the note' });
  await act(gw, member('alice'), b.id, { action: 'resubmit' });
  gw.clock.advance(20 * MINUTE);
  await act(gw, member('pur-mgr'), b.id, { action: 'approve' });

  const c = await startPo(gw, 'PO-C');
  await act(gw, member('alice'), c.id, { action: 'submit' });
}

describe('api analytics - per node statistics', () => {
  it('analytics - visits, exits by action, time in stage p50/p90, in the definition node order', async () => {
    await seedRuns();
    const reply = await analytics();
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      workflowId: PO_WORKFLOW,
      version: null,
      since: null,
      sample: { runtimes: 3, limit: 10_000, truncated: false, oldestCreatedAt: new Date(T0).toISOString() },
    });
    const byNode: Record<string, { entered: number }> = Object.fromEntries(
      (reply.body.nodes as { node: string; entered: number }[]).map((n) => [n.node, n]),
    );
    expect(reply.body.nodes.map((n: { node: string }) => n.node)).toEqual([
      'start',
      'manager',
      'finance',
      'ceo',
      'approved',
    ]);
    expect(byNode.start).toMatchObject({
      title: expect.any(String),
      entered: 4,
      open: 0,
      exited: { submit: 3, resubmit: 1 },
      slaBreaches: 0,
    });
    expect(byNode.manager).toMatchObject({
      entered: 4,
      open: 1,
      exited: { approve: 2, return: 1 },
      timeInStage: { samples: 3, p50Ms: 20 * MINUTE, p90Ms: 30 * MINUTE },
    });
    expect(byNode.finance).toMatchObject({
      entered: 0,
      open: 0,
      exited: {},
      timeInStage: { samples: 0, p50Ms: null, p90Ms: null },
    });
    expect(byNode.approved?.entered).toBe(2);
  });

  it('analytics - ?limit counts the newest runtimes only and says it was truncated; ?since and ?version filter', async () => {
    await seedRuns();
    const newest = await analytics('?limit=1');
    expect(newest.body.sample).toMatchObject({ runtimes: 1, limit: 1, truncated: true });
    expect(newest.body.nodes.find((n: { node: string }) => n.node === 'manager')).toMatchObject({
      entered: 1,
      open: 1,
    });

    const after = await analytics(`?since=${new Date(T0 + 1).toISOString()}`);
    expect(after.body).toMatchObject({
      since: new Date(T0 + 1).toISOString(),
      sample: { runtimes: 2, truncated: false },
    });
    expect((await analytics('?since=2100-01-01T00:00:00Z')).body.sample.runtimes).toBe(0);
    expect((await analytics('?version=1')).body).toMatchObject({ version: 1, sample: { runtimes: 3 } });
  });

  it('analytics - designer and admin only: member and integration → 403', async () => {
    expect((await analytics('', admin())).status).toBe(200);
    for (const caller of [member('alice'), integration()]) {
      const reply = await analytics('', caller);
      expect(reply.status).toBe(403);
      expect(reply.body.code).toBe('forbidden');
    }
  });

  it("analytics - an unknown workflow, an unknown version and another tenant's workflow → 404", async () => {
    await seedRuns();
    expect((await gw.call(designer(), 'GET', '/api/v1/analytics/workflows/wf-nope')).status).toBe(404);
    expect((await analytics('?version=9')).status).toBe(404);
    // Tenant B has a workflow of the same id (seeded alike) but none of tenant A's runtimes.
    const other = await analytics('', designer(TENANT_B));
    expect(other.body.sample.runtimes).toBe(0);
    await gw.deps.workflows.createWorkflow(
      'tenant-a',
      'wf-only-a',
      (await gw.deps.workflows.getWorkflow('tenant-a', PO_WORKFLOW))!.draft,
      T0,
    );
    expect((await gw.call(designer(TENANT_B), 'GET', '/api/v1/analytics/workflows/wf-only-a')).status).toBe(404);
    expect((await gw.call(designer(), 'GET', '/api/v1/analytics/workflows/wf-only-a')).body).toMatchObject({
      sample: { runtimes: 0 },
      nodes: expect.any(Array),
    });
  });

  it('analytics - invalid query → 422 problem+json', async () => {
    for (const [query, path] of [
      ['?limit=0', 'query.limit'],
      ['?limit=10001', 'query.limit'],
      ['?version=abc', 'query.version'],
      ['?since=yesterday', 'query.since'],
    ] as const) {
      const reply = await analytics(query);
      expect(reply.status, query).toBe(422);
      expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(
        reply.body.errors.map((e: { path: string }) => e.path),
        query,
      ).toContain(path);
    }
  });
});

describe('api integrations - OpenAPI', () => {
  it('openapi - lists the webhook and analytics operations with their schemas', async () => {
    const doc = (await (await gw.app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /api/v1/webhooks',
        'GET /api/v1/webhooks',
        'GET /api/v1/webhooks/{id}',
        'DELETE /api/v1/webhooks/{id}',
        'GET /api/v1/analytics/workflows/{id}',
      ]),
    );
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['WebhookInput', 'Webhook', 'WebhookList', 'WorkflowAnalytics', 'NodeStatistics']),
    );
    expect(JSON.stringify(doc.components.schemas.Webhook)).not.toContain('secret');
  });
});
