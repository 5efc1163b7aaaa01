import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/app/dev-token.ts';
import { DEMO_EXAMPLES, DEMO_TENANT, loadExample } from '../../src/app/demo/demo-seed.ts';
import { Caller, current } from '../e2e/api-client.ts';
import { type Stack, startEmbeddedStack } from '../e2e/stack.ts';
import { waitFor } from '../harness/wait.ts';
import { type ConsoleBrowser, loadWithSession, openBrowser, signInWithToken } from './browser.ts';

/**
 * The web console in Debian's chromium against `bflow all` (embedded, demo tenant): sign-in, the inbox, a
 * runtime's actions, hidden fields, the workflow graphs, diff and analytics, and the bad-input paths.
 * Screenshots of each page go to test/console/screenshots/ (git-ignored).
 */

let stack: Stack;
let browser: ConsoleBrowser;
const token = (sub: string, roles: string[] = ['member']) =>
  signToken(stack.secret, { sub, tid: DEMO_TENANT, roles }, 3600);
let alice: Caller;
let purMgr: Caller;
let seq = 0;

/** A purchase order started and submitted by alice; `amount` ≥ 10,000,000 goes on to the finance committee. */
async function submittedOrder(amount: number, note = 'internal note') {
  const docId = `PO-UI-${++seq}-${Date.now()}`;
  const view = await alice.start('purchase.order', docId, {
    amount,
    currency: 'VND',
    requester: 'alice',
    items: [{ sku: 'paper', category: 'office', total: amount }],
    note,
    supplier: 'ACME',
  });
  await alice.do(view.id, 'submit');
  return { id: view.id, docId };
}

beforeAll(async () => {
  stack = await startEmbeddedStack();
  browser = await openBrowser();
  alice = new Caller(stack.url, await token('alice', ['admin', 'designer', 'integration', 'member']));
  purMgr = new Caller(stack.url, await token('pur-mgr'));
}, 90_000);

afterEach(() => {
  // No uncaught error and no console.error on any page of any test.
  const errors = browser ? browser.pageErrors.splice(0) : [];
  expect(errors).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('console - approver', () => {
  it('console - dev sign-in, approve a purchase order from the inbox, and watch it leave; new tasks arrive live', async () => {
    const order = await submittedOrder(5_000_000);
    const { page } = browser;
    await page.goto(`${stack.url}/console`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await browser.screenshot('signin');
    await page.locator('button[data-sub="pur-mgr"]').click();
    await page.getByRole('heading', { name: 'Inbox' }).waitFor();
    const row = page.locator(`tr[data-runtime="${order.id}"]`);
    await row.waitFor();
    expect(await page.locator('#inbox-counts').textContent()).toMatch(/open task/);
    await browser.screenshot('inbox');

    // By keyboard: the row's button takes the focus and Enter presses it.
    await row.getByRole('button', { name: `Approve ${order.docId}` }).focus();
    await page.keyboard.press('Enter');
    await row.waitFor({ state: 'detached' });
    await page.getByText(`Approved ${order.docId}`).waitFor();
    expect((await purMgr.view(order.id)).status).toBe('approved');

    // Live: a task assigned while the inbox is open shows up without a reload (polling until the stream lands).
    const next = await submittedOrder(6_000_000);
    await page.locator(`tr[data-runtime="${next.id}"]`).waitFor();
    // The filter narrows the list to one document.
    await page.getByLabel('Search').fill(next.docId);
    expect(await page.locator('tr[data-runtime]').count()).toBe(1);
  });

  it('console - return a runtime to an earlier stage from its page', async () => {
    const order = await submittedOrder(20_000_000, 'not for finance');
    await purMgr.do(order.id, 'approve');
    const { page } = browser;
    await signInWithToken(page, stack.url, await token('fin-1'));
    await page.locator(`tr[data-runtime="${order.id}"] a`).click();
    await page.getByRole('heading', { name: 'Actions' }).waitFor();
    await browser.screenshot('runtime');
    await page.getByLabel('Return to stage').selectOption('manager');
    await page.getByLabel('Comment', { exact: true }).fill('check the supplier');
    await page.locator('button[data-action="return"]').click();
    await page.getByText('Return: done.').waitFor();
    const view = await alice.view(order.id);
    expect(current(view).node).toBe('manager');
    expect(view.status).toBe('in_progress');
    // The timeline shows the manager's stage open again, and the audit log the return with its comment.
    await page.locator('.timeline li.stage.open[data-node="manager"]').waitFor();
    expect(await page.locator('table.audit').textContent()).toContain('check the supplier');
  });

  it('console - a hidden field never reaches the DOM of a viewer without access', async () => {
    const secret = `hidden-note-${Date.now()}`;
    const order = await submittedOrder(30_000_000, secret);
    await purMgr.do(order.id, 'approve');
    const { page } = browser;
    // fin-1 at the finance stage: the purchase order hides the notes zone (the note field) from finance.
    await signInWithToken(page, stack.url, await token('fin-1'));
    await page.goto(`${stack.url}/console/#/runtimes/${order.id}`);
    await page.getByRole('heading', { name: 'Document' }).waitFor();
    await page.locator('[data-field="amount"]').waitFor();
    expect(await page.content()).not.toContain(secret);
    expect(await page.locator('[data-field="note"]').count()).toBe(0);
    // Finance may edit the pricing zone: amount is a form field for fin-1, and Save changes patches it.
    await page.getByLabel('amount', { exact: true }).fill('30000001');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Save changes: done.').waitFor();
    expect((await alice.view(order.id)).doc.amount).toBe(30_000_001);
    // Fields outside fin-1's editable zones are text, not controls.
    expect(await page.locator('input[name="supplier"]').count()).toBe(0);
    expect(await page.locator('[data-field="supplier"]').textContent()).toContain('ACME');
    // The admin sees it.
    await signInWithToken(page, stack.url, await token('alice', ['admin', 'member']));
    await page.goto(`${stack.url}/console/#/runtimes/${order.id}`);
    await page.locator('[data-field="note"]').waitFor();
    expect(await page.content()).toContain(secret);
  });
});

describe('console - designer and analyst', () => {
  it('console - the graph of every example workflow renders every node and edge', async () => {
    const { page } = browser;
    await signInWithToken(page, stack.url, await token('alice', ['designer', 'member']));
    for (const name of DEMO_EXAMPLES) {
      const definition = await loadExample(name);
      await page.goto(`${stack.url}/console/#/workflows/wf-${name}`);
      await page.locator('#graph svg.graph').waitFor();
      for (const node of definition.nodes)
        expect(await page.locator(`#graph g.node.kind-${node.kind}[data-node="${node.id}"]`).count()).toBe(1);
      expect(await page.locator('#graph g.node').count()).toBe(definition.nodes.length);
      expect(await page.locator('#graph g.edge path').count()).toBe(definition.associations.length);
      for (const [i, a] of definition.associations.entries()) {
        const edge = page.locator(`#graph g.edge[data-edge="${i}"]`);
        expect(await edge.getAttribute('data-from')).toBe(a.from);
        expect(await edge.getAttribute('data-to')).toBe(a.to);
      }
      expect(await page.locator('#graph-errors').textContent()).toContain('is valid');
      await browser.screenshot(`graph-${name}`);
    }
    // The conditions label their edges.
    await page.goto(`${stack.url}/console/#/workflows/wf-purchase-order`);
    await page.locator('#graph svg.graph').waitFor();
    expect(await page.locator('#graph').textContent()).toContain('amount >= 10000000');
  });

  it('console - the version list and the diff of a new version', async () => {
    const definition = await loadExample('leave-request');
    const changed = {
      ...definition,
      nodes: definition.nodes.map((n, i) => (i === 1 ? { ...n, title: `${n.title} (renamed)` } : n)),
    };
    const id = 'wf-leave-request';
    expect((await alice.put(`/api/v1/workflows/${id}`, changed)).status).toBe(200);
    expect((await alice.post(`/api/v1/workflows/${id}/publish`)).status).toBe(201);
    const { page } = browser;
    await signInWithToken(page, stack.url, await token('bob', ['designer', 'member']));
    await page.goto(`${stack.url}/console/#/workflows/${id}`);
    await page.locator('tr[data-version="2"]').waitFor();
    await page.locator('table.diff').waitFor();
    const diff = await page.locator('table.diff').textContent();
    expect(diff).toContain('Version 1 → Version 2: 1 change(s)');
    expect(diff).toContain(definition.nodes[1]!.id);
    expect(diff).toContain('title');
    await browser.screenshot('workflow-diff');
    await page.goto(`${stack.url}/console/#/workflows`);
    await page.locator(`tr[data-workflow="${id}"]`).waitFor();
    await browser.screenshot('workflows');
  });

  it('console - validation errors of an edited draft are marked on the graph, and an invalid draft is not saved', async () => {
    const id = 'wf-purchase-order';
    const before = (await alice.get(`/api/v1/workflows/${id}`)).body.draft;
    const broken = structuredClone(before);
    broken.nodes[1].actions = ['approve', 'bogus'];
    broken.associations[2].condition = { left: 'nofield', op: '>=', right: 1 };
    const { page } = browser;
    await signInWithToken(page, stack.url, await token('bob', ['designer', 'member']));
    await page.goto(`${stack.url}/console/#/workflows/${id}`);
    await page.locator('#graph svg.graph').waitFor();
    await page.getByLabel('Draft definition (JSON)').fill(JSON.stringify(broken, null, 2));
    await page.locator('#draft-check').click();
    await page.locator(`#graph g.node.invalid[data-node="${broken.nodes[1].id}"]`).waitFor();
    expect(await page.locator('#graph g.edge.invalid[data-edge="2"]').count()).toBe(1);
    expect(await page.locator('#graph g.node.invalid').count()).toBe(1);
    const listed = (await page.locator('#graph-errors').textContent()) ?? '';
    expect(listed).toContain('2 validation error(s)');
    expect(listed).toContain('nodes[1].actions[1]');
    expect(listed).toContain('associations[2].condition.left');
    await browser.screenshot('graph-errors');

    await page.locator('#draft-save').click();
    await page.getByText('it was not saved').waitFor();
    expect((await alice.get(`/api/v1/workflows/${id}`)).body.draft).toEqual(before);

    // JSON that does not parse is named as such, and nothing is sent.
    await page.getByLabel('Draft definition (JSON)').fill('{"nodes": [');
    await page.locator('#draft-save').click();
    await page.getByText('The draft is not valid JSON').waitFor();
    expect((await alice.get(`/api/v1/workflows/${id}`)).body.draft).toEqual(before);
  });

  it('console - analytics charts time in stage and SLA breaches per node', async () => {
    const { page } = browser;
    await signInWithToken(page, stack.url, await token('alice', ['designer', 'member']));
    await page.goto(`${stack.url}/console/#/analytics/wf-purchase-order`);
    await page.locator('svg.chart').first().waitFor();
    expect(await page.locator('svg.chart').count()).toBe(2);
    expect(await page.locator('table.analytics tr[data-node="manager"]').count()).toBe(1);
    await browser.screenshot('analytics');
  });
});

describe('console - bad input', () => {
  it('console - an expired token shows the sign-in prompt, not a blank page', async () => {
    const { page } = browser;
    const expired = await signToken(
      stack.secret,
      { sub: 'alice', tid: DEMO_TENANT, roles: ['member'] },
      60,
      Date.now() - 3_600_000,
    );
    await loadWithSession(page, stack.url, expired);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.locator('#signin-reason').textContent()).toMatch(/expired/);
    await browser.screenshot('signin-expired');

    // Pasting it again is refused before it is kept.
    await page.getByLabel('Access token (JWT)').fill(expired);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await waitFor(async () => /expired/.test((await page.locator('#signin-error').textContent()) ?? ''));

    // A token the gateway refuses (another secret) gets the gateway's own detail.
    const forged = await signToken('x'.repeat(40), { sub: 'alice', tid: DEMO_TENANT, roles: ['member'] }, 3600);
    await page.getByLabel('Access token (JWT)').fill(forged);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await waitFor(async () => /refused the token/.test((await page.locator('#signin-error').textContent()) ?? ''));
  });

  it('console - API errors appear as messages carrying the problem detail', async () => {
    const order = await submittedOrder(5_000_000);
    const { page } = browser;
    await signInWithToken(page, stack.url, await token('pur-mgr'));
    await page.goto(`${stack.url}/console/#/runtimes/${order.id}`);
    await page.getByLabel('Reassign to (employee id)').fill('nobody-here');
    await page.locator('button[data-action="reassign"]').click();
    const expected = await purMgr.act(order.id, 'reassign', { toEmployee: 'nobody-here' });
    expect(expected.status).toBeGreaterThanOrEqual(400);
    const message = page.locator('#messages .message.problem');
    await message.waitFor();
    const text = (await message.textContent()) ?? '';
    expect(text).toContain(expected.body.detail);
    expect(text).toContain(expected.body.code);
    await browser.screenshot('problem-message');
    // Nothing changed: the manager still holds the task.
    expect(current(await purMgr.view(order.id)).open).toEqual(['pur-mgr']);

    // A filter the API refuses (422 on the query) is a message naming the parameter; the list stays as it was.
    await page.getByRole('link', { name: 'Runtimes' }).click();
    await page.locator(`tr[data-runtime="${order.id}"]`).waitFor();
    await page.getByLabel('Document id').fill('not a valid id!');
    await page.getByRole('button', { name: 'Find' }).click();
    const refused = page.locator('#messages .message.problem', { hasText: 'validation_failed' });
    await refused.waitFor();
    expect(await refused.textContent()).toContain('query.docId');
    expect(await page.locator(`tr[data-runtime="${order.id}"]`).count()).toBe(1);
    // A valid one finds the document.
    await page.getByLabel('Document id').fill(order.docId);
    await page.getByRole('button', { name: 'Find' }).click();
    await waitFor(async () => (await page.locator('tr[data-runtime]').count()) === 1);
    await browser.screenshot('runtimes');
  });
});
