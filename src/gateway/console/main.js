// The console's router: one page per hash route, rendered into <main>. A page is `render(ctx)`; it may poll,
// and `ctx.onLeave` stops that when the route changes. SignInNeeded anywhere shows the sign-in prompt; an
// ApiProblem shows its detail in the message area (docs/console.md).
import { ApiProblem, SignInNeeded, session } from './api.js';
import { h, replace } from './dom.js';
import { renderAnalytics } from './page-analytics.js';
import { renderCluster } from './page-cluster.js';
import { renderInbox } from './page-inbox.js';
import { renderRuntime } from './page-runtime.js';
import { renderRuntimes } from './page-runtimes.js';
import { renderSignIn } from './page-signin.js';
import { renderWorkflow } from './page-workflow.js';
import { renderWorkflows } from './page-workflows.js';

/** Routes: pattern → [page, title, roles of which one is needed (undefined: any signed-in user)]. */
const ROUTES = [
  [/^#\/inbox$/, renderInbox, 'Inbox'],
  [/^#\/runtimes$/, renderRuntimes, 'Runtimes', ['member', 'integration']],
  [/^#\/runtimes\/([^/]+)$/, renderRuntime, 'Runtime'],
  [/^#\/workflows$/, renderWorkflows, 'Workflows', 'designer'],
  [/^#\/workflows\/([^/]+)$/, renderWorkflow, 'Workflow', 'designer'],
  [/^#\/analytics\/([^/]+)$/, renderAnalytics, 'Analytics', 'designer'],
  [/^#\/cluster$/, renderCluster, 'Cluster', 'admin'],
];

const NAV = [
  ['#/inbox', 'Inbox'],
  ['#/runtimes', 'Runtimes', ['member', 'integration']],
  ['#/workflows', 'Workflows', 'designer'],
  ['#/cluster', 'Cluster', 'admin'],
];

/** Whether the signed-in user holds one of `roles` (a role or a list; undefined: anyone). */
const allowed = (roles) => roles === undefined || [roles].flat().some((r) => session.has(r));

const main = document.getElementById('main');
const messages = document.getElementById('messages');
let leaving = [];

/** Shows an error or a notice above the page; problems show their detail, code and status. */
export function showMessage(kind, text, extra) {
  const close = h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss' }, '×');
  const box = h('div', { class: `message ${kind}` }, h('span', {}, text), extra ?? null, close);
  close.addEventListener('click', () => box.remove());
  messages.append(box);
  return box;
}

/** Shows what went wrong: the sign-in prompt for SignInNeeded, the problem's detail for ApiProblem. */
export function showError(err) {
  if (err instanceof SignInNeeded) {
    signIn(err.message);
    return;
  }
  if (err instanceof ApiProblem) {
    const p = err.problem;
    const list = Array.isArray(p.errors)
      ? h(
          'ul',
          {},
          p.errors.map((e) => h('li', {}, `${e.path}: ${e.message}`)),
        )
      : null;
    const code = p.code ? ` (${p.code}, ${err.status})` : err.status ? ` (${err.status})` : '';
    showMessage('error problem', `${p.title ?? 'Error'}: ${p.detail ?? err.message}${code}`, list);
    return;
  }
  showMessage('error', `Something went wrong: ${err?.message ?? err}`);
}

function clearMessages() {
  messages.replaceChildren();
}

function renderNav() {
  const claims = session.claims();
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  if (!claims) {
    replace(nav);
    replace(who);
    return;
  }
  replace(
    nav,
    NAV.filter(([, , roles]) => allowed(roles)).map(([href, label]) =>
      h('a', { href, 'aria-current': location.hash.startsWith(href) ? 'page' : null }, label),
    ),
  );
  const out = h('button', { type: 'button', class: 'link' }, 'Sign out');
  out.addEventListener('click', () => {
    session.clear();
    signIn('You signed out.');
  });
  replace(who, `${claims.sub} @ ${claims.tid} (${(claims.roles ?? []).join(', ')}) `, out);
}

function leave() {
  for (const fn of leaving) fn();
  leaving = [];
}

/** Shows the sign-in prompt, with why (an expired token, a refusal, a sign-out). */
function signIn(reason) {
  leave();
  renderNav();
  document.title = 'Sign in · bflow console';
  renderSignIn({ main, reason, done: () => go('#/inbox') }).catch(showError);
}

function go(hash) {
  if (location.hash === hash) void route();
  else location.hash = hash;
}

async function route() {
  leave();
  clearMessages();
  if (!session.token()) return signIn();
  const hash = location.hash || '#/inbox';
  const found = ROUTES.map(([re, page, title, role]) => [re.exec(hash), page, title, role]).find(([m]) => m);
  renderNav();
  if (!found) return go('#/inbox');
  const [match, page, title, role] = found;
  document.title = `${title} · bflow console`;
  if (!allowed(role)) {
    const needed = [role].flat().join(' or ');
    replace(main, h('h1', {}, title), h('p', {}, `This page needs the ${needed} role; your token does not carry it.`));
    return;
  }
  const ctx = {
    main,
    params: match.slice(1).map(decodeURIComponent),
    onLeave: (fn) => leaving.push(fn),
    showError,
    showMessage,
    go,
  };
  replace(main, h('p', { class: 'loading' }, 'Loading…'));
  try {
    await page(ctx);
  } catch (err) {
    showError(err);
    if (!(err instanceof SignInNeeded)) replace(main, h('h1', {}, title), h('p', {}, 'This page could not be loaded.'));
  }
}

// The SSE stream of notifications, when the gateway has one, plugs in at live.js; nothing to do here.
window.addEventListener('hashchange', () => void route());
window.addEventListener('unhandledrejection', (e) => showError(e.reason));
void route();
