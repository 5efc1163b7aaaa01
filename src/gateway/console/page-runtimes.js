// Runtimes of the tenant, filtered on the server (GET /runtimes?app=&docId=&status=), a page at a time: how a
// creator finds a document that is not in their inbox. Each view is already redacted for the caller.
import { api } from './api.js';
import { field, h, replace, when } from './dom.js';

const STATUSES = ['', 'created', 'in_progress', 'approved', 'completed', 'rejected', 'cancelled', 'failed'];
const PAGE = 50;

export async function renderRuntimes(ctx) {
  const app = h('input', { id: 'rt-app', type: 'text', placeholder: 'purchase.order', autocomplete: 'off' });
  const docId = h('input', { id: 'rt-doc', type: 'text', placeholder: 'PO-1', autocomplete: 'off' });
  const status = h(
    'select',
    { id: 'rt-status' },
    STATUSES.map((s) => h('option', { value: s }, s === '' ? 'Any' : s)),
  );
  const body = h('tbody');
  const more = h('button', { type: 'button', id: 'rt-more', hidden: true }, 'More');
  const count = h('p', { class: 'counts', 'aria-live': 'polite' });
  let cursor = null;
  let shown = 0;

  const query = (from) => {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (app.value.trim()) q.set('app', app.value.trim());
    if (docId.value.trim()) q.set('docId', docId.value.trim());
    if (status.value) q.set('status', status.value);
    if (from) q.set('cursor', from);
    return q;
  };
  /** Reads a page; a refused query (422) leaves the list as it was. */
  const load = async (fresh) => {
    const page = await api(`/runtimes?${query(fresh ? null : cursor)}`);
    if (fresh) {
      shown = 0;
      body.replaceChildren();
    }
    for (const r of page.items) {
      const open = r.stages.at(-1);
      body.append(
        h(
          'tr',
          { 'data-runtime': r.id },
          h('td', {}, h('a', { href: `#/runtimes/${encodeURIComponent(r.id)}` }, r.docId)),
          h('td', {}, r.app),
          h('td', {}, h('span', { class: `status ${r.status}` }, r.status)),
          h('td', {}, open?.status === 'open' ? (open.title ?? open.node) : '—'),
          h('td', {}, r.creator),
          h('td', {}, when(r.updatedAt)),
        ),
      );
    }
    shown += page.items.length;
    cursor = page.nextCursor;
    more.hidden = !cursor;
    replace(count, `${shown}${cursor ? '+' : ''} runtime(s)`);
  };
  const form = h(
    'form',
    { class: 'filters', role: 'search' },
    field('App', app),
    field('Document id', docId),
    field('Status', status),
    h('button', { type: 'submit' }, 'Find'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    load(true).catch(ctx.showError);
  });
  more.addEventListener('click', () => load(false).catch(ctx.showError));
  replace(
    ctx.main,
    h('h1', {}, 'Runtimes'),
    form,
    count,
    h(
      'table',
      { class: 'runtimes' },
      h('caption', { class: 'sr-only' }, 'Runtimes'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Document', 'App', 'Status', 'Open stage', 'Creator', 'Updated'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      body,
    ),
    more,
  );
  await load(true);
}
