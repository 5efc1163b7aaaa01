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
  const showErrors = (what, errors) =>
    replace(
      errorBox,
      errors.length === 0
        ? h('p', { class: 'ok' }, `${what} is valid.`)
        : h(
            'div',
            { class: 'error', role: 'status' },
            h('p', {}, `${what} has ${errors.length} validation error(s):`),
            h(
              'ul',
              {},
              errors.map((e) => h('li', {}, `${e.path}: ${e.message}`)),
            ),
          ),
    );
  const drawShown = async () => {
    const definition = definitions.get(shown.value);
    const errors = await validationErrors(definition);
    replace(graphBox, drawGraph(definition, { errors }));
    showErrors(label(shown.value), errors);
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

  const editor = draftEditor(ctx, base, wf.draft, async (definition) => {
    const errors = await validationErrors(definition);
    showErrors('The edited draft', errors);
    replace(graphBox, drawGraph(definition, { errors }));
    graphBox.scrollIntoView({ block: 'nearest' });
    return errors;
  });

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
    editor,
  );
  drawDiff();
  await drawShown();
}

/**
 * The draft as JSON, to edit: **Check** validates it and draws it with its errors on the graph above;
 * **Save draft** replaces the draft (PUT, refused with the same errors when invalid); **Publish** publishes
 * the saved draft. Nothing is saved until Save draft answers 200.
 */
function draftEditor(ctx, base, draft, check) {
  const text = h('textarea', { id: 'draft-json', rows: 16, spellcheck: 'false' }, JSON.stringify(draft, null, 2));
  const parsed = () => {
    try {
      return JSON.parse(text.value);
    } catch (err) {
      ctx.showMessage('error', `The draft is not valid JSON: ${err.message}`);
      return undefined;
    }
  };
  const run = (fn) => async () => {
    try {
      await fn();
    } catch (err) {
      ctx.showError(err);
    }
  };
  const onCheck = run(async () => {
    const definition = parsed();
    if (definition !== undefined) await check(definition);
  });
  const onSave = run(async () => {
    const definition = parsed();
    if (definition === undefined) return;
    if ((await check(definition)).length > 0) {
      ctx.showMessage('error', 'The draft has validation errors (marked on the graph); it was not saved.');
      return;
    }
    await api(base, { method: 'PUT', body: definition });
    ctx.showMessage('notice', 'Draft saved.');
  });
  const onPublish = run(async () => {
    const published = await api(`${base}/publish`, { method: 'POST' });
    // The page is drawn again with the new version; the message comes after, or the redraw would clear it.
    ctx.go(`#/workflows/${encodeURIComponent(published.id)}`);
    ctx.showMessage('notice', `Published version ${published.version}.`);
  });
  return h(
    'section',
    { 'aria-labelledby': 'edit-h' },
    h('h2', { id: 'edit-h' }, 'Edit the draft'),
    field('Draft definition (JSON)', text, 'docs/definitions.md describes the format.'),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'button', id: 'draft-check', onclick: () => void onCheck() }, 'Check'),
      h('button', { type: 'button', id: 'draft-save', onclick: () => void onSave() }, 'Save draft'),
      h('button', { type: 'button', id: 'draft-publish', onclick: () => void onPublish() }, 'Publish'),
    ),
  );
}
