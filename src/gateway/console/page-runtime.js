// A runtime as the caller sees it (GET /runtimes/{id}): the document without the caller's hidden fields (the
// API leaves them out, so they never reach the DOM), editable fields as a form, the allowed actions as
// buttons, and the timeline of stages with the audit log (GET /runtimes/{id}/history).
import { api, idempotencyKey } from './api.js';
import { field, h, replace, when } from './dom.js';

/** Actions that are one button each (with the shared comment); return, reassign, comment and update have forms. */
const SIMPLE = ['submit', 'resubmit', 'approve', 'reject', 'complete', 'withdraw', 'cancel', 'change_request'];
const LABELS = {
  submit: 'Submit',
  resubmit: 'Resubmit',
  approve: 'Approve',
  reject: 'Reject',
  complete: 'Complete',
  withdraw: 'Withdraw',
  cancel: 'Cancel runtime',
  change_request: 'Request a change',
  return: 'Return',
  reassign: 'Reassign',
  comment: 'Comment',
  update: 'Save changes',
};

/** A control for one document value: an input when editable, else read-only text. */
function valueControl(name, value, editable) {
  const id = `doc-${name}`;
  if (!editable) {
    const text = typeof value === 'object' && value !== null ? JSON.stringify(value, null, 2) : String(value);
    return h('div', { class: 'doc-field', 'data-field': name }, h('dt', {}, name), h('dd', {}, h('pre', {}, text)));
  }
  const control =
    typeof value === 'number'
      ? h('input', { id, name, type: 'number', step: 'any', value })
      : typeof value === 'string'
        ? h('input', { id, name, type: 'text', value })
        : h('textarea', { id, name, rows: 3 }, JSON.stringify(value ?? null, null, 2));
  control.dataset.kind = typeof value === 'number' ? 'number' : typeof value === 'string' ? 'string' : 'json';
  control.dataset.original = control.value;
  return h(
    'div',
    { class: 'doc-field editable', 'data-field': name },
    h('dt', {}, h('label', { for: id }, name)),
    h('dd', {}, control),
  );
}

/** The changed editable fields as a patch; throws a message naming a value that is not valid JSON. */
function patchFrom(form) {
  const patch = {};
  for (const control of form.querySelectorAll('[data-kind]')) {
    if (control.value === control.dataset.original) continue;
    if (control.dataset.kind === 'number') patch[control.name] = Number(control.value);
    else if (control.dataset.kind === 'string') patch[control.name] = control.value;
    else {
      try {
        patch[control.name] = JSON.parse(control.value);
      } catch {
        throw new Error(`${control.name}: not valid JSON`);
      }
    }
  }
  return patch;
}

/** Stages the runtime may return to: the nodes closed since it last left the initial one (the engine checks). */
function returnTargets(view) {
  const targets = new Map();
  for (const stage of view.stages) {
    if (stage.status === 'open') continue;
    if (!targets.has(stage.node)) targets.set(stage.node, stage.title ?? stage.node);
  }
  return [...targets];
}

function documentSection(view, onPatch) {
  const editable = new Set(view.editableFields);
  const names = [...new Set([...Object.keys(view.doc), ...editable])].sort();
  const form = h(
    'form',
    { class: 'doc', 'aria-label': 'Document' },
    h(
      'dl',
      {},
      names.map((n) => valueControl(n, view.doc[n], editable.has(n))),
    ),
  );
  if (editable.size > 0 && view.allowedActions.includes('update')) {
    form.append(h('button', { type: 'submit', id: 'save-doc' }, LABELS.update));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      onPatch(form);
    });
  }
  return h('section', { 'aria-labelledby': 'doc-h' }, h('h2', { id: 'doc-h' }, 'Document'), form);
}

function actionsSection(view, send, docForm) {
  const allowed = new Set(view.allowedActions);
  const comment = h('textarea', { id: 'action-comment', rows: 2 });
  const withPatch = (body) => {
    const patch = docForm ? patchFrom(docForm) : {};
    return Object.keys(patch).length > 0 ? { ...body, patch } : body;
  };
  const withComment = (body) => (comment.value.trim() ? { ...body, comment: comment.value.trim() } : body);
  const parts = [];
  const buttons = SIMPLE.filter((a) => allowed.has(a)).map((a) =>
    h(
      'button',
      {
        type: 'button',
        class: `action ${a}`,
        'data-action': a,
        onclick: () => void send(() => withComment(withPatch({ action: a }))),
      },
      LABELS[a],
    ),
  );
  if (buttons.length > 0) parts.push(h('div', { class: 'buttons' }, buttons));
  if (allowed.has('return')) {
    const target = h(
      'select',
      { id: 'return-to' },
      returnTargets(view).map(([node, title]) => h('option', { value: node }, `${title} (${node})`)),
    );
    parts.push(
      h(
        'div',
        { class: 'inline' },
        field('Return to stage', target),
        h(
          'button',
          {
            type: 'button',
            'data-action': 'return',
            onclick: () => void send(withComment({ action: 'return', toNode: target.value })),
          },
          LABELS.return,
        ),
      ),
    );
  }
  if (allowed.has('reassign')) {
    const to = h('input', { id: 'reassign-to', type: 'text', autocomplete: 'off' });
    parts.push(
      h(
        'div',
        { class: 'inline' },
        field('Reassign to (employee id)', to),
        h(
          'button',
          {
            type: 'button',
            'data-action': 'reassign',
            onclick: () => void send(withComment({ action: 'reassign', toEmployee: to.value.trim() })),
          },
          LABELS.reassign,
        ),
      ),
    );
  }
  if (parts.length === 0 && !allowed.has('comment'))
    return h('section', {}, h('h2', {}, 'Actions'), h('p', {}, 'Nothing for you to do here.'));
  return h(
    'section',
    { 'aria-labelledby': 'actions-h', class: 'actions' },
    h('h2', { id: 'actions-h' }, 'Actions'),
    field('Comment', comment),
    allowed.has('comment')
      ? h(
          'button',
          {
            type: 'button',
            'data-action': 'comment',
            onclick: () => void send({ action: 'comment', comment: comment.value.trim() }),
          },
          LABELS.comment,
        )
      : null,
    parts,
  );
}

function timelineSection(history) {
  const stages = h(
    'ol',
    { class: 'timeline' },
    history.stages.map((st) =>
      h(
        'li',
        { class: `stage ${st.status}`, 'data-node': st.node },
        h('strong', {}, st.title ?? st.node),
        ` · ${st.status}${st.exitAction ? ` (${st.exitAction})` : ''} · ${when(st.enteredAt)} → ${st.exitedAt ? when(st.exitedAt) : 'now'}`,
        st.dueAt ? ` · due ${when(st.dueAt)}` : '',
        h(
          'ul',
          {},
          (st.tasks ?? []).map((t) => h('li', {}, `${t.assignee}: ${t.status}${t.action ? ` (${t.action})` : ''}`)),
        ),
      ),
    ),
  );
  const log = h(
    'table',
    { class: 'audit' },
    h('caption', {}, 'Audit log'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['#', 'When', 'Who', 'Action', 'From', 'To', 'Comment', 'Changed'].map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h(
      'tbody',
      {},
      history.log.map((e) =>
        h(
          'tr',
          {},
          h('td', {}, e.seq),
          h('td', {}, when(e.at)),
          h('td', {}, e.actor),
          h('td', {}, e.action),
          h('td', {}, e.fromNode ?? ''),
          h('td', {}, e.toNode ?? ''),
          h('td', {}, e.comment ?? ''),
          h('td', {}, e.changes ? Object.keys(e.changes).join(', ') : ''),
        ),
      ),
    ),
  );
  return h('section', { 'aria-labelledby': 'timeline-h' }, h('h2', { id: 'timeline-h' }, 'Timeline'), stages, log);
}

export async function renderRuntime(ctx) {
  const [id] = ctx.params;
  const path = `/runtimes/${encodeURIComponent(id)}`;
  const draw = async () => {
    const [view, history] = await Promise.all([api(path), api(`${path}/history`)]);
    /** Sends one action; `make` builds its body (a value that is not valid JSON is a message, nothing sent). */
    const send = async (make) => {
      let body;
      try {
        body = typeof make === 'function' ? make() : make;
      } catch (err) {
        ctx.showMessage('error', err.message);
        return;
      }
      for (const b of ctx.main.querySelectorAll('button')) b.disabled = true;
      try {
        await api(`${path}/actions`, {
          method: 'POST',
          body: { ...body, expectedRevision: view.revision },
          headers: idempotencyKey(),
        });
        ctx.showMessage('notice', `${LABELS[body.action] ?? body.action}: done.`);
      } catch (err) {
        ctx.showError(err);
      }
      await draw().catch(ctx.showError);
    };
    const doc = documentSection(view, (form) => {
      let patch;
      try {
        patch = patchFrom(form);
      } catch (err) {
        ctx.showMessage('error', err.message);
        return;
      }
      if (Object.keys(patch).length === 0) ctx.showMessage('notice', 'Nothing changed.');
      else void send({ action: 'update', patch });
    });
    const docForm = doc.querySelector('form');
    replace(
      ctx.main,
      h('p', {}, h('a', { href: '#/inbox' }, '← Inbox')),
      h('h1', {}, `${view.docId} `, h('small', {}, view.app)),
      h(
        'p',
        { class: 'meta' },
        h('span', { class: `status ${view.status}`, id: 'runtime-status' }, view.status),
        ` · created by ${view.creator} · workflow ${view.workflowId} v${view.version} · revision ${view.revision} · updated ${when(view.updatedAt)}`,
      ),
      view.failure ? h('p', { class: 'error' }, `Failed at ${view.failure.node}: ${view.failure.message}`) : null,
      h('div', { class: 'columns' }, h('div', {}, doc, actionsSection(view, send, docForm)), timelineSection(history)),
    );
  };
  await draw();
}
