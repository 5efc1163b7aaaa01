// The designer's workflow list (GET /workflows).
import { allPages } from './api.js';
import { h, replace, when } from './dom.js';

export async function renderWorkflows(ctx) {
  const { items, complete } = await allPages('/workflows');
  replace(
    ctx.main,
    h('h1', {}, 'Workflows'),
    h('p', { class: 'counts' }, `${items.length}${complete ? '' : '+'} workflow(s)`),
    h(
      'table',
      { class: 'workflows' },
      h('caption', { class: 'sr-only' }, 'Workflows'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Name', 'App', 'Id', 'Latest version', 'Updated', ''].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        items.map((w) =>
          h(
            'tr',
            { 'data-workflow': w.id },
            h('td', {}, h('a', { href: `#/workflows/${encodeURIComponent(w.id)}` }, w.name)),
            h('td', {}, w.app),
            h('td', {}, w.id),
            h('td', {}, w.latestVersion ?? 'draft only'),
            h('td', {}, when(w.updatedAt)),
            h('td', {}, h('a', { href: `#/analytics/${encodeURIComponent(w.id)}` }, 'Analytics')),
          ),
        ),
      ),
    ),
  );
}
