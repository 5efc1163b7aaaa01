import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/gateway/api-error.ts';
import { act, admin, designer, member, startPo, TENANT_B, testGateway, type TestGateway } from './test-backend.ts';

let gw: TestGateway;
beforeEach(async () => {
  gw = await testGateway();
});
afterEach(() => gw.close());

const alice = member('alice');
const manager = member('pur-mgr');

async function submittedPo(docId: string, amount = 5_000_000): Promise<string> {
  const { id } = await startPo(gw, docId, amount);
  await act(gw, alice, id, { action: 'submit' });
  return id as string;
}

describe('api batch', () => {
  it('answers every item in order, a problem item among them', async () => {
    const a = await submittedPo('PO-A');
    const b = await submittedPo('PO-B');
    const res = await gw.call(manager, 'POST', '/api/v1/actions/batch', {
      body: {
        items: [
          { runtimeId: a, action: 'approve', comment: 'fine', idempotencyKey: 'batch-a' },
          { runtimeId: 'nope', action: 'approve' },
          { runtimeId: b, action: 'submit' },
          { runtimeId: b, action: 'reject', comment: 'no' },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { runtimeId: string; status: number }) => [r.runtimeId, r.status])).toEqual([
      [a, 200],
      ['nope', 404],
      [b, 422],
      [b, 200],
    ]);
    const [first, missing, refused, rejected] = res.body.results;
    expect(first.runtime).toMatchObject({ id: a, status: 'approved' });
    expect(missing.problem).toMatchObject({ status: 404, code: 'not_found', type: 'urn:bflow:problem:not_found' });
    expect(refused.problem.code).toBe('action_not_allowed');
    expect(refused.runtime).toBeUndefined();
    expect(rejected.runtime).toMatchObject({ id: b, status: 'rejected' });
  });

  it('a retried batch with the same Idempotency-Key changes nothing (item keys derive from it)', async () => {
    const a = await submittedPo('PO-A');
    const body = {
      items: [
        { runtimeId: a, action: 'comment', comment: 'once' },
        { runtimeId: a, action: 'comment', comment: 'twice' },
      ],
    };
    const headers = { 'Idempotency-Key': 'batch-1' };
    const first = await gw.call(manager, 'POST', '/api/v1/actions/batch', { body, headers });
    const second = await gw.call(manager, 'POST', '/api/v1/actions/batch', { body, headers });
    expect(second.body).toEqual(first.body);
    const log = (await gw.call(alice, 'GET', `/api/v1/runtimes/${a}/history`)).body.log;
    expect(
      log.filter((l: { action: string }) => l.action === 'comment').map((l: { comment: string }) => l.comment),
    ).toEqual(['once', 'twice']);
  });

  it('more than 100 items or a bad item → 422 naming it', async () => {
    const items = Array.from({ length: 101 }, () => ({ runtimeId: 'x', action: 'comment' }));
    const big = await gw.call(manager, 'POST', '/api/v1/actions/batch', { body: { items } });
    expect(big.status).toBe(422);
    expect(big.body.errors[0].path).toBe('items');
    const bad = await gw.call(manager, 'POST', '/api/v1/actions/batch', {
      body: { items: [{ runtimeId: 'x', action: 'fly' }] },
    });
    expect(bad.body.errors[0].path).toBe('items.0.action');
  });

  it("tenant B's batch on tenant A's runtime → a 404 item", async () => {
    const a = await submittedPo('PO-A');
    const res = await gw.call(member('pur-mgr', TENANT_B), 'POST', '/api/v1/actions/batch', {
      body: { items: [{ runtimeId: a, action: 'approve' }] },
    });
    expect(res.body.results[0]).toMatchObject({ status: 404, problem: { code: 'not_found' } });
  });
  it('a batch item answered 400, 405, 415, 502 or 504 carries that status\'s title (was: "Error")', async () => {
    const titles: Record<number, string> = {
      400: 'Bad Request',
      405: 'Method Not Allowed',
      415: 'Unsupported Media Type',
      502: 'Bad Gateway',
      504: 'Gateway Timeout',
    };
    const statuses = Object.keys(titles).map(Number);
    gw.deps.router = {
      send: async (request) => {
        const status = Number(request.runtimeId.slice('rt-'.length));
        throw new ApiError(status, `status_${status}`, `answered ${status}`);
      },
    };
    const res = await gw.call(manager, 'POST', '/api/v1/actions/batch', {
      body: { items: statuses.map((status) => ({ runtimeId: `rt-${status}`, action: 'approve' })) },
    });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual(
      statuses.map((status) => ({
        runtimeId: `rt-${status}`,
        status,
        problem: {
          type: `urn:bflow:problem:status_${status}`,
          title: titles[status],
          status,
          detail: `answered ${status}`,
          code: `status_${status}`,
        },
      })),
    );
  });
});

describe('api tasks', () => {
  it("the caller's open inbox with node titles, then done tasks after acting", async () => {
    const a = await submittedPo('PO-A');
    gw.clock.advance(1000);
    const b = await submittedPo('PO-B', 50_000_000);
    const inbox = await gw.call(manager, 'GET', '/api/v1/tasks');
    expect(inbox.status).toBe(200);
    expect(inbox.body).toEqual({
      items: [
        {
          runtimeId: a,
          app: 'purchase.order',
          docId: 'PO-A',
          node: 'manager',
          title: 'Line manager',
          assignedAt: '2026-01-05T09:00:00.000Z',
          dueAt: '2026-01-06T09:00:00.000Z',
        },
        {
          runtimeId: b,
          app: 'purchase.order',
          docId: 'PO-B',
          node: 'manager',
          title: 'Line manager',
          assignedAt: '2026-01-05T09:00:01.000Z',
          dueAt: '2026-01-06T09:00:01.000Z',
        },
      ],
      nextCursor: null,
    });
    await act(gw, manager, a, { action: 'approve' });
    const open = await gw.call(manager, 'GET', '/api/v1/tasks?status=open');
    expect(open.body.items.map((i: { runtimeId: string }) => i.runtimeId)).toEqual([b]);
    const done = await gw.call(manager, 'GET', '/api/v1/tasks?status=done');
    expect(done.body.items).toMatchObject([{ runtimeId: a, node: 'manager', title: 'Line manager' }]);
    const creator = await gw.call(alice, 'GET', '/api/v1/tasks?status=done');
    expect(creator.body.items).toMatchObject([
      { runtimeId: a, node: 'start', title: 'Requester' },
      { runtimeId: b, node: 'start' },
    ]);
  });

  it('pages with an opaque cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(await submittedPo(`PO-${i}`));
      gw.clock.advance(1000);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await gw.call(manager, 'GET', `/api/v1/tasks?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((t: { runtimeId: string }) => t.runtimeId));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);
    expect((await gw.call(manager, 'GET', '/api/v1/tasks?status=late')).status).toBe(422);
  });

  it('a member of tenant B with the same employee id sees an empty inbox', async () => {
    await submittedPo('PO-A');
    const res = await gw.call(member('pur-mgr', TENANT_B), 'GET', '/api/v1/tasks');
    expect(res.body).toEqual({ items: [], nextCursor: null });
  });
});

describe('api cluster and openapi', () => {
  it('GET /cluster is for admins only', async () => {
    const res = await gw.call(admin(), 'GET', '/api/v1/cluster');
    expect(res).toMatchObject({ status: 200, body: { shardCount: 4, nodes: [{ id: 'node-1' }] } });
    expect((await gw.call(designer(), 'GET', '/api/v1/cluster')).status).toBe(403);
  });

  it('the OpenAPI document lists every API route with its schemas', async () => {
    const res = await gw.app.request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes).toEqual(
      expect.arrayContaining([
        'PUT /api/v1/directory/employees/{id}',
        'PUT /api/v1/directory/groups/{id}',
        'POST /api/v1/directory/import',
        'POST /api/v1/workflows',
        'GET /api/v1/workflows',
        'GET /api/v1/workflows/{id}',
        'PUT /api/v1/workflows/{id}',
        'POST /api/v1/workflows/validate',
        'POST /api/v1/workflows/{id}/publish',
        'GET /api/v1/workflows/{id}/versions/{version}',
        'PUT /api/v1/apps/{app}/config',
        'POST /api/v1/runtimes',
        'GET /api/v1/runtimes',
        'GET /api/v1/runtimes/{id}',
        'POST /api/v1/runtimes/{id}/actions',
        'GET /api/v1/runtimes/{id}/history',
        'POST /api/v1/actions/batch',
        'GET /api/v1/tasks',
        'GET /api/v1/cluster',
      ]),
    );
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['Runtime', 'Problem', 'WorkflowDefinition', 'ActionBatch', 'Task']),
    );
  });
});
