// One workflow for its designer: the graph of a version (or the draft) with its validation errors, the
// version list, and the diff between any two of them.
import { ApiProblem, api } from './api.js';
import { definitionDiff } from './diff.js';
import { field, h, replace, when } from './dom.js';
import { drawGraph, legend } from './graph.js';

/** At most this many of the newest versions are listed. */
const MAX_VERSIONS = 50;

/** The validator's errors for `definition` (POST /workflows/validate): [] when valid. */
async function validationErrors(definition) {
  try {
    await api('/workflows/validate', { method: 'POST', body: definition });
    return [];
  } catch (err) {
    if (err instanceof ApiProblem && err.status === 422 && Array.isArray(err.problem.errors)) return err.problem.errors;
    throw err;
  }
}

export async function renderWorkflow(ctx) {
  const [id] = ctx.params;
  const base = `/workflows/${encodeURIComponent(id)}`;
  const wf = await api(base);
  const latest = wf.latestVersion ?? 0;
  const numbers = [];
  for (let v = latest; v >= 1 && numbers.length < MAX_VERSIONS; v--) numbers.push(v);
  const versions = await Promise.all(numbers.map((v) => api(`${base}/versions/${v}`)));
  /** key ('draft' or the version number as text) → definition */
  const definitions = new Map([['draft', wf.draft], ...versions.map((v) => [String(v.version), v.definition])]);
  const label = (key) => (key === 'draft' ? 'Draft' : `Version ${key}`);
  const options = (selected) =>
    [...definitions.keys()].map((key) => h('option', { value: key, selected: key === selected }, label(key)));

  const graphBox = h('div', { class: 'graph-box', id: 'graph' });
  const errorBox = h('div', { id: 'graph-errors' });
  const shown = h('select', { id: 'graph-version' }, options(latest > 0 ? String(latest) : 'draft'));
  const drawShown = async () => {
    const definition = definitions.get(shown.value);
    const errors = await validationErrors(definition);
    replace(graphBox, drawGraph(definition, { errors }));
    replace(
      errorBox,
      errors.length === 0
        ? h('p', { class: 'ok' }, `${label(shown.value)} is valid.`)
        : h(
            'div',
            { class: 'error', role: 'status' },
            h('p', {}, `${label(shown.value)} has ${errors.length} validation error(s):`),
            h(
              'ul',
              {},
              errors.map((e) => h('li', {}, `${e.path}: ${e.message}`)),
            ),
          ),
    );
  };
  shown.addEventListener('change', () => void drawShown().catch(ctx.showError));

  const from = h('select', { id: 'diff-from' }, options(latest > 1 ? String(latest - 1) : String(latest || 'draft')));
  const to = h('select', { id: 'diff-to' }, options(latest > 1 ? String(latest) : 'draft'));
  const diffBox = h('div', { id: 'diff' });
  const drawDiff = () => {
    const changes = definitionDiff(definitions.get(from.value), definitions.get(to.value));
    replace(
      diffBox,
      changes.length === 0
        ? h('p', {}, `No difference between ${label(from.value)} and ${label(to.value)}.`)
        : h(
            'table',
            { class: 'diff' },
            h('caption', {}, `${label(from.value)} → ${label(to.value)}: ${changes.length} change(s)`),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['What', 'Id', 'Change', 'Detail'].map((c) => h('th', { scope: 'col' }, c)),
              ),
            ),
            h(
              'tbody',
              {},
              changes.map((c) =>
                h(
                  'tr',
                  { class: c.change },
                  h('td', {}, c.what),
                  h('td', {}, c.id),
                  h('td', {}, c.change),
                  h('td', {}, c.detail),
                ),
              ),
            ),
          ),
    );
  };
  from.addEventListener('change', drawDiff);
  to.addEventListener('change', drawDiff);

  replace(
    ctx.main,
    h('p', {}, h('a', { href: '#/workflows' }, '← Workflows')),
    h('h1', {}, `${wf.name} `, h('small', {}, `${wf.app} · ${wf.id}`)),
    h('p', {}, h('a', { href: `#/analytics/${encodeURIComponent(wf.id)}` }, 'Time in stage and SLA breaches →')),
    h(
      'section',
      { 'aria-labelledby': 'graph-h' },
      h('h2', { id: 'graph-h' }, 'Graph'),
      h('div', { class: 'inline' }, field('Show', shown), legend()),
      errorBox,
      graphBox,
    ),
    h(
      'section',
      { 'aria-labelledby': 'versions-h' },
      h('h2', { id: 'versions-h' }, 'Versions'),
      h(
        'table',
        { class: 'versions' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Version', 'Published', 'Content hash'].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h(
          'tbody',
          {},
          h('tr', {}, h('td', {}, 'Draft'), h('td', {}, `updated ${when(wf.updatedAt)}`), h('td', {}, '')),
          versions.map((v) =>
            h(
              'tr',
              { 'data-version': v.version },
              h('td', {}, v.version),
              h('td', {}, when(v.publishedAt)),
              h('td', {}, h('code', {}, String(v.contentHash).slice(0, 16))),
            ),
          ),
        ),
      ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'diff-h' },
      h('h2', { id: 'diff-h' }, 'Diff'),
      h('div', { class: 'inline' }, field('From', from), field('To', to)),
      diffBox,
    ),
  );
  drawDiff();
  await drawShown();
}
