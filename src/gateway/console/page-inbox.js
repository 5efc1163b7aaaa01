// The approver's inbox: the caller's tasks (GET /tasks), counts by app and overdue, filters, a quick approve,
// and live updates through live.js.
import { allPages, api, idempotencyKey } from './api.js';
import { field, h, replace, when } from './dom.js';
import { watchInbox } from './live.js';

const isOverdue = (task, now) => task.dueAt !== undefined && Date.parse(task.dueAt) < now;

function countsByApp(tasks) {
  const counts = new Map();
  for (const t of tasks) counts.set(t.app, (counts.get(t.app) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => a.localeCompare(b));
}

export async function renderInbox(ctx) {
  const state = { status: 'open', app: '', search: '', overdueOnly: false, tasks: [], complete: true };
  const counts = h('p', { class: 'counts', id: 'inbox-counts', 'aria-live': 'polite' });
  const appSelect = h('select', { id: 'filter-app' });
  const search = h('input', { id: 'filter-search', type: 'search', placeholder: 'PO-1' });
  const overdue = h('input', { id: 'filter-overdue', type: 'checkbox' });
  const statusSelect = h(
    'select',
    { id: 'filter-status' },
    h('option', { value: 'open' }, 'Open'),
    h('option', { value: 'done' }, 'Done'),
  );
  const list = h('div', { id: 'inbox-list' });

  const load = async () => {
    const { items, complete } = await allPages(`/tasks?status=${state.status}`);
    state.tasks = items;
    state.complete = complete;
    draw();
  };

  const approve = async (task, button) => {
    button.disabled = true;
    try {
      await api(`/runtimes/${encodeURIComponent(task.runtimeId)}/actions`, {
        method: 'POST',
        body: { action: 'approve' },
        headers: idempotencyKey(),
      });
      ctx.showMessage('notice', `Approved ${task.docId} (${task.title}).`);
      await load();
    } catch (err) {
      button.disabled = false;
      ctx.showError(err);
    }
  };

  const row = (task, now) =>
    h(
      'tr',
      { 'data-runtime': task.runtimeId, class: isOverdue(task, now) ? 'overdue' : null },
      h('td', {}, h('a', { href: `#/runtimes/${encodeURIComponent(task.runtimeId)}` }, task.docId)),
      h('td', {}, task.app),
      h('td', {}, task.title),
      h('td', {}, when(task.assignedAt)),
      h('td', {}, task.dueAt ? `${when(task.dueAt)}${isOverdue(task, now) ? ' (overdue)' : ''}` : '—'),
      h(
        'td',
        {},
        state.status === 'open'
          ? h(
              'button',
              {
                type: 'button',
                class: 'approve',
                'aria-label': `Approve ${task.docId}`,
                onclick: (e) => void approve(task, e.currentTarget),
              },
              'Approve',
            )
          : null,
      ),
    );

  const draw = () => {
    const now = Date.now();
    const byApp = countsByApp(state.tasks);
    const chosen = state.app;
    replace(
      appSelect,
      h('option', { value: '' }, `All apps (${state.tasks.length})`),
      byApp.map(([app, n]) => h('option', { value: app, selected: app === chosen }, `${app} (${n})`)),
    );
    appSelect.value = byApp.some(([app]) => app === chosen) ? chosen : '';
    const overdueCount = state.tasks.filter((t) => isOverdue(t, now)).length;
    replace(
      counts,
      `${state.tasks.length}${state.complete ? '' : '+'} ${state.status} task(s)`,
      state.status === 'open' ? `, ${overdueCount} overdue` : '',
      byApp.length > 0 ? ` · ${byApp.map(([app, n]) => `${app}: ${n}`).join(' · ')}` : '',
    );
    const needle = state.search.toLowerCase();
    const shown = state.tasks.filter(
      (t) =>
        (state.app === '' || t.app === state.app) &&
        (needle === '' || t.docId.toLowerCase().includes(needle) || t.title.toLowerCase().includes(needle)) &&
        (!state.overdueOnly || isOverdue(t, now)),
    );
    if (shown.length === 0) {
      replace(list, h('p', { class: 'empty' }, state.tasks.length === 0 ? 'Nothing to do.' : 'No task matches.'));
      return;
    }
    replace(
      list,
      h(
        'table',
        { class: 'tasks' },
        h('caption', { class: 'sr-only' }, 'Your tasks'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Document', 'App', 'Stage', 'Assigned', 'Due', ''].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h(
          'tbody',
          {},
          shown.map((t) => row(t, now)),
        ),
      ),
    );
  };

  appSelect.addEventListener('change', () => {
    state.app = appSelect.value;
    draw();
  });
  search.addEventListener('input', () => {
    state.search = search.value.trim();
    draw();
  });
  overdue.addEventListener('change', () => {
    state.overdueOnly = overdue.checked;
    draw();
  });
  statusSelect.addEventListener('change', () => {
    state.status = statusSelect.value;
    load().catch(ctx.showError);
  });

  replace(
    ctx.main,
    h('h1', {}, 'Inbox'),
    counts,
    h(
      'div',
      { class: 'filters', role: 'search' },
      field('Status', statusSelect),
      field('App', appSelect),
      field('Search', search),
      h('div', { class: 'field check' }, overdue, h('label', { for: 'filter-overdue' }, 'Overdue only')),
    ),
    list,
  );
  await load();
  ctx.onLeave(watchInbox(() => load().catch(ctx.showError)));
}
