import { sign } from 'hono/jwt';
import { describe, expect, it } from 'vitest';
import { signToken } from '../../src/app/dev-token.ts';
import { poDoc } from '../actors/runtime-host/runtime-host-fixture.ts';
import { Caller, current, expectStatus, Tenant, type RuntimeView } from './api-client.ts';
import type { Stack } from './stack.ts';
import { waitFor } from '../harness/wait.ts';

/**
 * The end-to-end scenarios, over real HTTP: a contract suite shared by every
 * way bflow runs. A cluster (gateway + nodes on MySQL, Redis, NATS) and
 * `bflow all` embedded each call `scenariosContract` with their stack.
 */
export function scenariosContract(label: string, stackOf: () => Stack): void {
  const tenant = (name: string) => Tenant.create(stackOf(), name);

  let docs = 0;
  const docId = (prefix = 'PO') => `${prefix}-${++docs}-${Date.now().toString(36)}`;

  /** The runtime ids of `caller`'s open tasks (GET /api/v1/tasks). */
  async function openTaskIds(caller: Caller): Promise<string[]> {
    const inbox = expectStatus(await caller.get('/api/v1/tasks?status=open'), 200).body;
    return inbox.items.map((i: { runtimeId: string }) => i.runtimeId);
  }

  /** alice starts a purchase order of `amount` and submits it; returns her caller and the runtime id. */
  async function submittedPo(
    t: Tenant,
    amount: number,
    extra: Record<string, unknown> = {},
  ): Promise<{ alice: Caller; id: string; view: RuntimeView }> {
    const alice = await t.as('alice');
    const started = await alice.start('purchase.order', docId(), poDoc(amount, extra));
    const view = await alice.do(started.id, 'submit');
    return { alice, id: started.id, view };
  }

  /** The runtime's log, read by an admin. */
  async function logOf(
    t: Tenant,
    id: string,
  ): Promise<
    {
      action: string;
      actor: string;
      fromNode: string;
      toNode?: string;
      comment?: string;
      changes?: Record<string, unknown>;
    }[]
  > {
    const admin = await t.admin();
    return expectStatus(await admin.get(`/api/v1/runtimes/${id}/history`), 200, 'history').body.log;
  }

  describe(`${label} - purchase order`, () => {
    it(`${label} - a small order goes manager → approved; the manager sees it in the inbox`, async () => {
      const t = await tenant('small');
      const alice = await t.as('alice');
      const started = await alice.start('purchase.order', docId(), poDoc(5_000_000));
      expect(started).toMatchObject({
        app: 'purchase.order',
        status: 'created',
        allowedActions: expect.arrayContaining(['submit']),
      });
      expect(current(started)).toEqual({ node: 'start', open: ['alice'] });
      const submitted = await alice.do(started.id, 'submit');
      expect(submitted.status).toBe('in_progress');
      expect(current(submitted)).toEqual({ node: 'manager', open: ['pur-mgr'] });
      const mgr = await t.as('pur-mgr');
      // The inbox is a read model: it shows the task within the projection window (BFLOW_PROJECTION_DELAY_MS).
      await waitFor(async () => (await openTaskIds(mgr)).includes(started.id), {
        what: "the task in the manager's inbox",
      });
      const approved = await mgr.do(started.id, 'approve', { comment: 'ok' });
      expect(approved.status).toBe('approved');
      expect(approved.stages.map((s) => s.node)).toEqual(['start', 'manager', 'approved']);
      expect((await logOf(t, started.id)).map((l) => l.action)).toEqual(['start', 'submit', 'approve']);
    });

    it(`${label} - a mid-size order needs 2 of the finance committee; the others are skipped`, async () => {
      const t = await tenant('fin');
      const { id } = await submittedPo(t, 20_000_000);
      await (await t.as('pur-mgr')).do(id, 'approve');
      const fin1 = await t.as('fin-1');
      const after1 = await fin1.do(id, 'approve');
      expect(current(after1)).toEqual({ node: 'finance', open: ['fin-2', 'fin-3', 'fin-head'] });
      expect(after1.status).toBe('in_progress');
      const done = await (await t.as('fin-3')).do(id, 'approve');
      expect(done.status).toBe('approved');
      const finance = done.stages.find((s) => s.node === 'finance')!;
      expect(finance.exitAction).toBe('approve');
      expect(Object.fromEntries(finance.tasks.map((x) => [x.assignee, x.status]))).toEqual({
        'fin-1': 'done',
        'fin-2': 'skipped',
        'fin-3': 'done',
        'fin-head': 'skipped',
      });
    });

    it(`${label} - a large order goes to the CEO by amount`, async () => {
      const t = await tenant('ceo');
      const { id } = await submittedPo(t, 600_000_000);
      const atCeo = await (await t.as('pur-mgr')).do(id, 'approve');
      expect(current(atCeo)).toEqual({ node: 'ceo', open: ['ceo'] });
      expect((await (await t.as('ceo')).do(id, 'approve')).stages.map((s) => s.node)).toEqual([
        'start',
        'manager',
        'ceo',
        'approved',
      ]);
    });

    it(`${label} - capex items over 100M route to the CEO through sumItemIf`, async () => {
      const t = await tenant('capex');
      const items = [
        { sku: 'server', category: 'capex', total: 70_000_000 },
        { sku: 'rack', category: 'capex', total: 40_000_000 },
      ];
      const { id } = await submittedPo(t, 5_000_000, { items });
      expect(current(await (await t.as('pur-mgr')).do(id, 'approve')).node).toBe('ceo');
    });

    it(`${label} - one finance reject finishes the runtime rejected`, async () => {
      const t = await tenant('reject');
      const { id } = await submittedPo(t, 20_000_000);
      await (await t.as('pur-mgr')).do(id, 'approve');
      const rejected = await (await t.as('fin-2')).do(id, 'reject', { comment: 'over budget' });
      expect(rejected.status).toBe('rejected');
      expect(current(rejected).open).toEqual([]);
      const late = await (await t.as('fin-3')).act(id, 'approve');
      expect(late.status).toBe(422);
      expect(late.body.code).toBe('action_not_allowed');
    });

    it(`${label} - return to the creator, resubmit with a patch, approve`, async () => {
      const t = await tenant('return');
      const { alice, id } = await submittedPo(t, 5_000_000);
      const mgr = await t.as('pur-mgr');
      const returned = await mgr.do(id, 'return', { comment: 'add the quote' });
      expect(current(returned)).toEqual({ node: 'start', open: ['alice'] });
      const resubmitted = await alice.do(id, 'resubmit', { patch: { note: 'quote attached' } });
      expect(current(resubmitted)).toEqual({ node: 'manager', open: ['pur-mgr'] });
      expect(resubmitted.doc.note).toBe('quote attached');
      expect((await mgr.do(id, 'approve')).stages.map((s) => s.node)).toEqual([
        'start',
        'manager',
        'start',
        'manager',
        'approved',
      ]);
      expect((await logOf(t, id)).find((l) => l.action === 'resubmit')?.changes).toEqual({
        note: ['urgent', 'quote attached'],
      });
    });

    it(`${label} - finance returns to the named manager stage`, async () => {
      const t = await tenant('return-to');
      const { id } = await submittedPo(t, 20_000_000);
      const mgr = await t.as('pur-mgr');
      await mgr.do(id, 'approve');
      const back = await (await t.as('fin-1')).do(id, 'return', { toNode: 'manager' });
      expect(current(back)).toEqual({ node: 'manager', open: ['pur-mgr'] });
      expect(current(await mgr.do(id, 'approve'))).toEqual({
        node: 'finance',
        open: ['fin-1', 'fin-2', 'fin-3', 'fin-head'],
      });
    });

    it(`${label} - zones: finance edits pricing; an edit outside its zones is refused naming the field and changes nothing`, async () => {
      const t = await tenant('zones');
      const { id } = await submittedPo(t, 20_000_000);
      await (await t.as('pur-mgr')).do(id, 'approve');
      const fin1 = await t.as('fin-1');
      const edited = await fin1.do(id, 'update', { patch: { amount: 19_000_000 } });
      expect(edited.doc.amount).toBe(19_000_000);
      expect(edited.editableFields).toEqual(expect.arrayContaining(['amount', 'currency']));
      const fin2 = await t.as('fin-2');
      const before = await (await t.admin()).view(id);
      const refused = await fin2.act(id, 'update', { patch: { note: 'x', amount: 1 } });
      expect(refused.status).toBe(422);
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect(refused.body.code).toBe('fields_not_editable');
      expect(JSON.stringify(refused.body)).toContain('note');
      const after = await (await t.admin()).view(id);
      expect(after.revision).toBe(before.revision);
      expect(after.doc).toEqual(before.doc);
    });

    it(`${label} - hidden fields: a finance member's view has no note; the creator's has it`, async () => {
      const t = await tenant('hidden');
      const { alice, id } = await submittedPo(t, 20_000_000);
      await (await t.as('pur-mgr')).do(id, 'approve');
      const finView = await (await t.as('fin-1')).view(id);
      expect(finView.doc).not.toHaveProperty('note');
      expect(finView.doc).toHaveProperty('amount', 20_000_000);
      expect((await alice.view(id)).doc).toHaveProperty('note', 'urgent');
    });

    it(`${label} - withdraw brings the document back to its creator as a draft`, async () => {
      const t = await tenant('withdraw');
      const { alice, id } = await submittedPo(t, 5_000_000);
      const bob = await t.as('bob');
      expect((await bob.act(id, 'withdraw')).status).toBe(403);
      const withdrawn = await alice.do(id, 'withdraw');
      expect(withdrawn.status).toBe('created');
      expect(current(withdrawn)).toEqual({ node: 'start', open: ['alice'] });
    });

    it(`${label} - comment is logged without changing the stages`, async () => {
      const t = await tenant('comment');
      const { id, view } = await submittedPo(t, 5_000_000);
      const commented = await (await t.as('pur-mgr')).do(id, 'comment', { comment: 'looking at it' });
      expect(commented.stages).toEqual(view.stages);
      expect((await logOf(t, id)).at(-1)).toMatchObject({
        action: 'comment',
        comment: 'looking at it',
        fromNode: 'manager',
        actor: 'pur-mgr',
      });
    });

    it(`${label} - reassign hands the task over; the new assignee approves`, async () => {
      const t = await tenant('reassign');
      const { id } = await submittedPo(t, 5_000_000);
      const mgr = await t.as('pur-mgr');
      expect(current(await mgr.do(id, 'reassign', { toEmployee: 'ops-head' }))).toEqual({
        node: 'manager',
        open: ['ops-head'],
      });
      expect((await mgr.act(id, 'approve')).body.code).toBe('not_assignee');
      expect((await (await t.as('ops-head')).do(id, 'approve')).status).toBe('approved');
    });

    it(`${label} - change_request reopens a finished runtime; cancel ends it`, async () => {
      const t = await tenant('change');
      const { alice, id } = await submittedPo(t, 5_000_000);
      const mgr = await t.as('pur-mgr');
      await mgr.do(id, 'approve');
      const reopened = await alice.do(id, 'change_request', { comment: 'wrong supplier' });
      expect(reopened.status).toBe('created');
      await alice.do(id, 'submit');
      await mgr.do(id, 'approve');
      expect((await alice.do(id, 'cancel')).status).toBe('cancelled');
      expect((await alice.act(id, 'submit')).body.code).toBe('action_not_allowed');
    });

    it(`${label} - change_request is refused while the document has another active runtime, allowed once it ends`, async () => {
      const t = await tenant('reopen');
      const alice = await t.as('alice');
      const mgr = await t.as('pur-mgr');
      const doc = docId();
      const first = await alice.start('purchase.order', doc, poDoc(5_000_000));
      await alice.do(first.id, 'submit');
      await mgr.do(first.id, 'approve');
      const second = await alice.start('purchase.order', doc, poDoc(6_000_000));
      const refused = await alice.act(first.id, 'change_request', { comment: 'wrong supplier' });
      expect(refused.status).toBe(409);
      expect(refused.body.code).toBe('document_has_active_runtime');
      expect((await alice.view(first.id)).status).toBe('approved');
      await alice.do(second.id, 'cancel');
      expect((await alice.do(first.id, 'change_request', { comment: 'wrong supplier' })).status).toBe('created');
      expect((await alice.act(second.id, 'change_request')).status).toBe(422); // cancelled: nothing reopens it
    });

    it(`${label} - no assignee can be resolved → failed naming the node; an admin reassigns`, async () => {
      const t = await tenant('failed');
      const mgr = await t.as('pur-mgr');
      const started = await mgr.start('purchase.order', docId(), poDoc(5_000_000));
      const failed = await mgr.do(started.id, 'submit');
      expect(failed.status).toBe('failed');
      expect(failed.failure).toMatchObject({ code: 'no_assignee', node: 'manager' });
      const admin = await t.admin();
      expect((await admin.do(started.id, 'reassign', { toEmployee: 'ops-head' })).status).toBe('in_progress');
      expect((await (await t.as('ops-head')).do(started.id, 'approve')).status).toBe('approved');
    });
  });

  describe(`${label} - leave request`, () => {
    it(`${label} - in_form approver, HR names the reviewer (out_form), handover completes`, async () => {
      const t = await tenant('leave');
      const alice = await t.as('alice');
      const doc = { days: 10, type: 'annual', approver: 'pur-mgr', handover: 'bob', reason: 'family' };
      const started = await alice.start('hr.leave', docId('LV'), doc);
      expect(current(await alice.do(started.id, 'submit'))).toEqual({ node: 'approver', open: ['pur-mgr'] });
      expect(current(await (await t.as('pur-mgr')).do(started.id, 'approve'))).toEqual({
        node: 'hr',
        open: ['hr-1', 'hr-2', 'hr-head'],
      });
      const hr1 = await t.as('hr-1');
      const before = await (await t.admin()).view(started.id);
      const missing = await hr1.act(started.id, 'approve');
      expect(missing.status).toBe(422);
      expect(missing.body.code).toBe('next_assignee_required');
      expect((await (await t.admin()).view(started.id)).revision).toBe(before.revision);
      expect(current(await hr1.do(started.id, 'approve', { nextAssignee: 'lee' }))).toEqual({
        node: 'reviewer',
        open: ['lee'],
      });
      expect(current(await (await t.as('lee')).do(started.id, 'approve'))).toEqual({ node: 'handover', open: ['bob'] });
      const done = await (await t.as('bob')).do(started.id, 'complete');
      expect(done.status).toBe('completed');
      expect(done.stages.map((s) => s.node)).toEqual(['start', 'approver', 'hr', 'reviewer', 'handover', 'done']);
    });
  });

  describe(`${label} - idempotency and concurrency`, () => {
    it(`${label} - the same Idempotency-Key twice: one log entry, identical answers`, async () => {
      const t = await tenant('idem');
      const { id } = await submittedPo(t, 5_000_000);
      const mgr = await t.as('pur-mgr');
      const key = `approve-${id}`;
      const first = await mgr.act(id, 'approve', { comment: 'once' }, { 'idempotency-key': key });
      const second = await mgr.act(id, 'approve', { comment: 'once' }, { 'idempotency-key': key });
      expect(first.status).toBe(200);
      expect(second.status).toBe(200);
      expect(second.body).toEqual(first.body);
      expect((await logOf(t, id)).filter((l) => l.action === 'approve')).toHaveLength(1);
      const alice = await t.as('alice');
      const startKey = { 'idempotency-key': `start-${id}` };
      const body = { app: 'purchase.order', docId: docId(), doc: poDoc(1_000) };
      const s1 = await alice.post('/api/v1/runtimes', body, { headers: startKey });
      const s2 = await alice.post('/api/v1/runtimes', body, { headers: startKey });
      expect(s1.status).toBe(201);
      expect(s2.body).toEqual(s1.body);
    });

    it(`${label} - three assignees of a 2-of-3 stage approve at the same instant: the stage exits once with two approvals`, async () => {
      const t = await tenant('trio');
      const alice = await t.as('alice');
      const started = await alice.start('test.trio', docId('TR'), { amount: 1 });
      await alice.do(started.id, 'submit');
      const callers = await Promise.all(['t-1', 't-2', 't-3'].map((who) => t.as(who)));
      const answers = await Promise.all(callers.map((c) => c.act(started.id, 'approve')));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).toEqual([200, 200, 422]);
      expect(answers.find((a) => a.status === 422)!.body.code).toBe('action_not_allowed');
      const final = await (await t.admin()).view(started.id);
      expect(final.status).toBe('approved');
      const trio = final.stages.filter((s) => s.node === 'trio');
      expect(trio).toHaveLength(1);
      expect(trio[0]!.exitAction).toBe('approve');
      expect(trio[0]!.tasks.filter((x) => x.status === 'done' && x.action === 'approve')).toHaveLength(2);
      expect(trio[0]!.tasks.filter((x) => x.status === 'skipped')).toHaveLength(1);
      expect((await logOf(t, started.id)).filter((l) => l.action === 'approve')).toHaveLength(2);
    });
  });

  describe(`${label} - bad input`, () => {
    const problem = (
      a: { status: number; headers: Headers; body: { code?: string; status?: number } },
      status: number,
      code?: string,
    ) => {
      expect(a.status).toBe(status);
      expect(a.headers.get('content-type')).toContain('application/problem+json');
      expect(a.body.status).toBe(status);
      if (code !== undefined) expect(a.body.code).toBe(code);
    };

    it(`${label} - malformed JSON, wrong types, an unknown action, an oversize body: 4xx problem, nothing changed`, async () => {
      const t = await tenant('bad');
      const { id } = await submittedPo(t, 5_000_000);
      const mgr = await t.as('pur-mgr');
      const admin = await t.admin();
      const before = await admin.view(id);
      const path = `/api/v1/runtimes/${id}/actions`;
      const malformed = await mgr.post(path, undefined, { raw: '{"action": "approve",' });
      expect(malformed.status).toBeGreaterThanOrEqual(400);
      expect(malformed.status).toBeLessThan(500);
      expect(malformed.headers.get('content-type')).toContain('application/problem+json');
      const wrongType = await mgr.post(path, { action: 'approve', comment: 42 });
      problem(wrongType, 422, 'validation_failed');
      expect(JSON.stringify(wrongType.body.errors)).toContain('comment');
      problem(await mgr.post(path, { action: 'frobnicate' }), 422, 'validation_failed');
      const huge = await mgr.post(path, undefined, {
        raw: JSON.stringify({ action: 'approve', comment: 'x'.repeat(1_100_000) }),
      });
      problem(huge, 413, 'payload_too_large');
      const after = await admin.view(id);
      expect(after.revision).toBe(before.revision);
      expect(after.status).toBe('in_progress');
      expect((await logOf(t, id)).map((l) => l.action)).toEqual(['start', 'submit']);
    });

    it(`${label} - an unknown runtime is 404 for reads and actions`, async () => {
      const t = await tenant('unknown');
      const alice = await t.as('alice');
      problem(await alice.get('/api/v1/runtimes/no-such-runtime'), 404);
      problem(await alice.act('no-such-runtime', 'approve'), 404);
    });

    it(`${label} - an invalid definition is refused with the paths of its errors; the published version is unchanged`, async () => {
      const t = await tenant('baddef');
      const admin = await t.admin();
      const valid = expectStatus(await admin.get(`/api/v1/workflows/${t.workflows.get('purchase.order')}`), 200).body
        .draft;
      const broken = structuredClone(valid);
      broken.associations[2].condition.left = 'amout';
      broken.nodes.push({
        id: 'island',
        kind: 'task',
        title: 'Unreachable',
        actions: ['approve'],
        collaborators: { type: 'in_form', field: 'requester' },
      });
      const validated = await admin.post('/api/v1/workflows/validate', broken);
      problem(validated, 422, 'validation_failed');
      const paths = (validated.body.errors as { path: string }[]).map((e) => e.path);
      expect(paths.some((p) => p.startsWith('associations[2].condition'))).toBe(true);
      expect(paths.some((p) => p.startsWith('nodes['))).toBe(true);
      problem(await admin.post('/api/v1/workflows', broken), 422, 'validation_failed');
      const wfId = t.workflows.get('purchase.order')!;
      problem(await admin.put(`/api/v1/workflows/${wfId}`, broken), 422, 'validation_failed');
      const republished = await admin.post(`/api/v1/workflows/${wfId}/publish`);
      expect(republished.status).toBe(200); // the draft is unchanged: still version 1
      expect(republished.body.version).toBe(1);
    });
  });

  describe(`${label} - auth`, () => {
    it(`${label} - missing, expired, wrongly signed and alg:none tokens are 401`, async () => {
      const t = await tenant('auth');
      const { url, secret } = stackOf();
      const path = '/api/v1/tasks';
      const claims = { sub: 'alice', tid: t.id, roles: ['member'] };
      const now = Math.floor(Date.now() / 1000);
      const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, exp: now + 600 })}.`;
      const tokens = {
        missing: undefined,
        expired: await signToken(secret, claims, 60, Date.now() - 3_600_000),
        wrongSignature: await signToken('another-secret-of-at-least-32-characters!', claims, 600),
        algNone: none,
        garbage: 'not.a.jwt',
      };
      for (const [what, token] of Object.entries(tokens)) {
        const answer = await new Caller(url, token).get(path);
        expect(answer.status, what).toBe(401);
        expect(answer.headers.get('content-type'), what).toContain('application/problem+json');
      }
      const good = await new Caller(url, await sign({ ...claims, exp: now + 600 }, secret, 'HS256')).get(path);
      expect(good.status).toBe(200);
    });

    it(`${label} - a member may not publish workflows nor import the directory (403)`, async () => {
      const t = await tenant('roles');
      const member = await t.as('alice', ['member']);
      expect((await member.post('/api/v1/workflows', { app: 'x' })).status).toBe(403);
      expect((await member.post(`/api/v1/workflows/${t.workflows.get('purchase.order')}/publish`)).status).toBe(403);
      expect((await member.post('/api/v1/directory/import', { employees: [] })).status).toBe(403);
      expect(
        (await member.put('/api/v1/apps/purchase.order/config', { workflowId: 'x', mode: 'unapply' })).status,
      ).toBe(403);
    });

    it(`${label} - another tenant's runtime, workflow and task are 404`, async () => {
      const [a, b] = await Promise.all([tenant('a'), tenant('b')]);
      const { id } = await submittedPo(a, 5_000_000);
      const intruder = await b.as('pur-mgr', ['admin', 'member', 'designer']);
      const before = await (await a.admin()).view(id);
      expect((await intruder.get(`/api/v1/runtimes/${id}`)).status).toBe(404);
      expect((await intruder.get(`/api/v1/runtimes/${id}/history`)).status).toBe(404);
      expect((await intruder.act(id, 'approve')).status).toBe(404);
      expect((await intruder.get(`/api/v1/workflows/${a.workflows.get('purchase.order')}`)).status).toBe(404);
      // Once the task is in its own tenant's inbox, another tenant's same user still does not see it.
      const owner = await a.as('pur-mgr');
      await waitFor(async () => (await openTaskIds(owner)).includes(id), { what: "the task in the manager's inbox" });
      expect(await openTaskIds(intruder)).not.toContain(id);
      expect((await (await a.admin()).view(id)).revision).toBe(before.revision);
    });
  });
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
