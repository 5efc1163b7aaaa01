import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActorError } from '../../src/actors/errors.ts';
import type { ShardReply } from '../../src/actors/bus/ports.ts';
import {
  act,
  admin,
  designer,
  member,
  poDoc,
  startPo,
  TENANT_B,
  testGateway,
  type TestGateway,
} from './test-backend.ts';

let gw: TestGateway;
beforeEach(async () => {
  gw = await testGateway();
});
afterEach(() => gw.close());

const alice = member('alice');
const manager = member('pur-mgr');

describe('api runtimes - purchase order', () => {
  it('start → submit → approve through the purchase-order example', async () => {
    const started = await gw.call(alice, 'POST', '/api/v1/runtimes', {
      body: { app: 'purchase.order', docId: 'PO-1', doc: poDoc(5_000_000) },
    });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({
      app: 'purchase.order',
      docId: 'PO-1',
      workflowId: 'wf-po',
      version: 1,
      status: 'created',
      creator: 'alice',
      revision: 1,
      stages: [{ node: 'start', title: 'Requester', status: 'open', tasks: [{ assignee: 'alice', status: 'open' }] }],
      allowedActions: expect.arrayContaining(['submit', 'update', 'cancel']),
      createdAt: '2026-01-05T09:00:00.000Z',
    });
    expect(started.body.editableFields).toEqual(expect.arrayContaining(['amount', 'note', 'supplier']));
    const id = started.body.id as string;

    const submitted = await act(gw, alice, id, { action: 'submit' });
    expect(submitted.status).toBe(200);
    expect(submitted.body.stages.at(-1)).toMatchObject({
      node: 'manager',
      status: 'open',
      tasks: [{ assignee: 'pur-mgr', status: 'open' }],
    });
    expect(submitted.body.allowedActions).not.toContain('approve');

    const view = await gw.call(manager, 'GET', `/api/v1/runtimes/${id}`);
    expect(view.status).toBe(200);
    expect(view.body.allowedActions).toEqual(expect.arrayContaining(['approve', 'reject', 'return']));
    expect(view.body.editableFields).toEqual(['note']);

    const approved = await act(gw, manager, id, { action: 'approve', comment: 'ok', expectedRevision: 2 });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved', revision: 3 });
    expect(approved.body.stages.map((s: { node: string; exitAction?: string }) => [s.node, s.exitAction])).toEqual([
      ['start', 'submit'],
      ['manager', 'approve'],
      ['approved', undefined],
    ]);

    const history = await gw.call(alice, 'GET', `/api/v1/runtimes/${id}/history`);
    expect(history.status).toBe(200);
    expect(history.body.log.map((l: { action: string; actor: string }) => [l.action, l.actor])).toEqual([
      ['start', 'alice'],
      ['submit', 'alice'],
      ['approve', 'pur-mgr'],
    ]);
    expect(history.body.log[2]).toMatchObject({
      seq: 3,
      fromNode: 'manager',
      toNode: 'approved',
      comment: 'ok',
      at: '2026-01-05T09:00:00.000Z',
    });
    expect(history.body.stages[0]).toMatchObject({
      node: 'start',
      enteredAt: '2026-01-05T09:00:00.000Z',
      exitedAt: '2026-01-05T09:00:00.000Z',
    });
    expect(history.body.stages[1]).toMatchObject({
      node: 'manager',
      status: 'closed',
      exitAction: 'approve',
      exitedAt: expect.any(String),
    });
  });

  it('start - the document already has an active runtime: 200 with that runtime', async () => {
    const first = await startPo(gw, 'PO-1');
    const again = await gw.call(member('bob'), 'POST', '/api/v1/runtimes', {
      body: { app: 'purchase.order', docId: 'PO-1', doc: poDoc(1) },
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: first.id, creator: 'alice', doc: { amount: 5_000_000 } });
  });

  it("start - the runtime id is the gateway's, the creator the caller, the company the token's", async () => {
    const started = await gw.call({ ...alice, companyId: 'c-1' }, 'POST', '/api/v1/runtimes', {
      body: { app: 'purchase.order', docId: 'PO-9', doc: poDoc(1) },
    });
    expect(started.status).toBe(201);
    expect(gw.sent.at(-1)).toMatchObject({
      kind: 'start',
      tenant: 'tenant-a',
      runtimeId: started.body.id,
      creator: 'alice',
      companyId: 'c-1',
    });
    expect(started.body.companyId).toBe('c-1');
  });

  it('start - an app without config → 422 app_not_configured', async () => {
    const res = await gw.call(alice, 'POST', '/api/v1/runtimes', {
      body: { app: 'sales.order', docId: 'SO-1', doc: {} },
    });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ code: 'app_not_configured', status: 422 });
  });
});

describe('api runtimes - idempotency', () => {
  it('the same Idempotency-Key twice: one log entry, identical body', async () => {
    const { id } = await startPo(gw, 'PO-1');
    await act(gw, alice, id, { action: 'submit' });
    const headers = { 'Idempotency-Key': 'comment-1' };
    const first = await act(gw, manager, id, { action: 'comment', comment: 'looking' }, headers);
    const second = await act(gw, manager, id, { action: 'comment', comment: 'looking' }, headers);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('Idempotency-Replayed')).toBe('true');
    const log = (await gw.call(alice, 'GET', `/api/v1/runtimes/${id}/history`)).body.log;
    expect(log.filter((l: { action: string }) => l.action === 'comment')).toHaveLength(1);
  });

  it('a start retried with its key answers the first runtime, even with a fresh runtime id', async () => {
    const body = { app: 'purchase.order', docId: 'PO-7', doc: poDoc(1) };
    const headers = { 'Idempotency-Key': 'start-po-7' };
    const first = await gw.call(alice, 'POST', '/api/v1/runtimes', { body, headers });
    const second = await gw.call(alice, 'POST', '/api/v1/runtimes', { body, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
  });

  it('a malformed Idempotency-Key → 422 naming the header', async () => {
    const { id } = await startPo(gw, 'PO-1');
    const res = await act(gw, alice, id, { action: 'submit' }, { 'Idempotency-Key': 'no spaces/allowed' });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'validation_failed', errors: [{ path: 'header.idempotency-key' }] });
  });

  it('a key without a header is generated: two identical actions both apply', async () => {
    const { id } = await startPo(gw, 'PO-1');
    await act(gw, alice, id, { action: 'comment', comment: 'x' });
    await act(gw, alice, id, { action: 'comment', comment: 'x' });
    const log = (await gw.call(alice, 'GET', `/api/v1/runtimes/${id}/history`)).body.log;
    expect(log.filter((l: { action: string }) => l.action === 'comment')).toHaveLength(2);
  });
});

describe('api runtimes - refusals', () => {
  it('an unknown action → 422 validation_failed at action', async () => {
    const { id } = await startPo(gw, 'PO-1');
    const res = await act(gw, alice, id, { action: 'launch' });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'validation_failed', errors: [{ path: 'action' }] });
  });

  it('an action the stage does not allow → 422 action_not_allowed; a non-assignee → 403 not_assignee', async () => {
    const { id } = await startPo(gw, 'PO-1');
    expect((await act(gw, alice, id, { action: 'approve' })).body.code).toBe('action_not_allowed');
    await act(gw, alice, id, { action: 'submit' });
    const res = await act(gw, member('bob'), id, { action: 'approve' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('not_assignee');
  });

  it('an unknown runtime → 404 not_found (GET, history and actions)', async () => {
    for (const res of [
      await gw.call(alice, 'GET', '/api/v1/runtimes/nope'),
      await gw.call(alice, 'GET', '/api/v1/runtimes/nope/history'),
      await act(gw, alice, 'nope', { action: 'comment', comment: 'x' }),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
  });

  it('an edit outside the editable zones → 422 fields_not_editable, nothing changed', async () => {
    const { id } = await startPo(gw, 'PO-1');
    await act(gw, alice, id, { action: 'submit' });
    const res = await act(gw, manager, id, { action: 'update', patch: { amount: 1, note: 'cheaper' } });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('fields_not_editable');
    expect(res.body.detail).toContain('amount');
    const after = await gw.call(manager, 'GET', `/api/v1/runtimes/${id}`);
    expect(after.body).toMatchObject({ revision: 2, doc: { amount: 5_000_000, note: 'urgent' } });
    const ok = await act(gw, manager, id, { action: 'update', patch: { note: 'cheaper' } });
    expect(ok.body).toMatchObject({ revision: 3, doc: { note: 'cheaper' } });
  });

  it('a stale expectedRevision → 409 version_conflict', async () => {
    const { id } = await startPo(gw, 'PO-1');
    await act(gw, alice, id, { action: 'comment', comment: 'a' });
    const res = await act(gw, alice, id, { action: 'submit', expectedRevision: 1 });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('version_conflict');
  });

  it('a malformed id or query → 422 naming the parameter', async () => {
    const res = await gw.call(alice, 'GET', `/api/v1/runtimes/${'x'.repeat(200)}`);
    expect(res.status).toBe(422);
    expect(res.body.errors[0].path).toBe('param.id');
    const list = await gw.call(alice, 'GET', '/api/v1/runtimes?limit=501&status=done');
    expect(list.status).toBe(422);
    expect(list.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['query.limit', 'query.status']);
    const cursor = await gw.call(alice, 'GET', '/api/v1/runtimes?cursor=bm90LWpzb24');
    expect(cursor.status).toBe(422);
    expect(cursor.body.errors[0].path).toBe('query.cursor');
  });

  it('wrong role → 403 forbidden (a designer cannot start or read runtimes)', async () => {
    const res = await gw.call(designer(), 'POST', '/api/v1/runtimes', {
      body: { app: 'purchase.order', docId: 'PO-1', doc: {} },
    });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('forbidden');
    expect((await gw.call(designer(), 'GET', '/api/v1/runtimes')).status).toBe(403);
  });
});

describe('api runtimes - tenants and visibility', () => {
  it("a member of tenant B gets 404 for tenant A's runtime, its history and actions, and an empty list", async () => {
    const { id } = await startPo(gw, 'PO-1');
    const other = member('alice', TENANT_B);
    for (const res of [
      await gw.call(other, 'GET', `/api/v1/runtimes/${id}`),
      await gw.call(other, 'GET', `/api/v1/runtimes/${id}/history`),
      await act(gw, other, id, { action: 'submit' }),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
    expect((await gw.call(other, 'GET', '/api/v1/runtimes')).body).toEqual({ items: [], nextCursor: null });
    expect((await gw.call(alice, 'GET', `/api/v1/runtimes/${id}`)).body.status).toBe('created');
  });

  it('hidden zones: a finance approver does not see the notes, in the view or the log; an admin does', async () => {
    const { id } = await startPo(gw, 'PO-1', 50_000_000);
    await act(gw, alice, id, { action: 'submit' });
    await act(gw, manager, id, { action: 'update', patch: { note: 'internal' } });
    await act(gw, manager, id, { action: 'approve' });
    const fin = member('fin-1');
    const view = await gw.call(fin, 'GET', `/api/v1/runtimes/${id}`);
    expect(view.body.stages.at(-1).node).toBe('finance');
    expect(view.body.doc).not.toHaveProperty('note');
    expect(view.body.doc.amount).toBe(50_000_000);
    const log = (await gw.call(fin, 'GET', `/api/v1/runtimes/${id}/history`)).body.log;
    expect(log.find((l: { action: string }) => l.action === 'update').changes).toBeUndefined();
    const asAdmin = await gw.call(admin(), 'GET', `/api/v1/runtimes/${id}`);
    expect(asAdmin.body.doc.note).toBe('internal');
    expect(asAdmin.body.allowedActions).toContain('reassign');
  });
});

describe('api runtimes - list', () => {
  it('filters by app, docId and status, and pages with an opaque cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await startPo(gw, `PO-${i}`)).id);
    await act(gw, alice, ids[0]!, { action: 'submit' });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: { id: string }[]; nextCursor: string | null } } = await gw.call(
        alice,
        'GET',
        `/api/v1/runtimes?app=purchase.order&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((r) => r.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([...ids].sort());
    const inProgress = await gw.call(alice, 'GET', '/api/v1/runtimes?status=in_progress');
    expect(inProgress.body.items.map((r: { id: string }) => r.id)).toEqual([ids[0]]);
    const byDoc = await gw.call(alice, 'GET', '/api/v1/runtimes?docId=PO-3');
    expect(byDoc.body.items).toHaveLength(1);
    expect(byDoc.body.items[0]).toMatchObject({ id: ids[3], allowedActions: expect.arrayContaining(['submit']) });
  });
});

describe('api runtimes - shard problems', () => {
  const failWith = (outcome: () => Promise<ShardReply>) => {
    gw.deps.router = { send: outcome };
  };

  it('the shard unreachable → 503 shard_unavailable with Retry-After', async () => {
    failWith(() => Promise.reject(new ActorError('shard_unavailable', 'gave up', { retryAfterMs: 2_000 })));
    const res = await gw.call(alice, 'POST', '/api/v1/runtimes', {
      body: { app: 'purchase.order', docId: 'PO-1', doc: {} },
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).toBe('2');
    expect(res.body.code).toBe('shard_unavailable');
  });

  it("a store_unavailable reply → 503 with Retry-After and without the driver's message (was: detail = the message); an unknown code → 500 internal without its message", async () => {
    const driver =
      "store unavailable: connect mysql://bflow:hunter2@db.internal:3306 failed; Data too long for column 'company_id'";
    failWith(async () => ({ ok: false, problem: { code: 'store_unavailable', message: driver, retryable: true } }));
    const down = await act(gw, alice, 'rt-1', { action: 'submit' });
    expect(down.status).toBe(503);
    expect(down.headers.get('Retry-After')).toBe('1');
    expect(down.body).toMatchObject({
      code: 'store_unavailable',
      detail: 'a dependency is temporarily unavailable; retry after the delay given',
    });
    expect(JSON.stringify(down.body)).not.toMatch(/hunter2|mysql:|db\.internal|company_id/);
    failWith(async () => ({
      ok: false,
      problem: { code: 'brand_new', message: 'secret internals', retryable: false },
    }));
    const odd = await act(gw, alice, 'rt-1', { action: 'submit' });
    expect(odd.status).toBe(500);
    expect(odd.body.code).toBe('internal');
    expect(JSON.stringify(odd.body)).not.toContain('secret internals');
  });
});
