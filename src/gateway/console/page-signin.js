// Sign-in: paste a token (checked by GET /tasks before it is kept); in the embedded mode, also a list of the
// demo users (GET /console/dev-users) to sign in as with one click.
import { api, session, tokenProblem } from './api.js';
import { field, h, replace } from './dom.js';

async function devUsers() {
  try {
    const res = await fetch(new URL('../dev-users', import.meta.url), { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return [];
    return (await res.json()).users ?? [];
  } catch {
    return [];
  }
}

export async function renderSignIn({ main, reason, done }) {
  const input = h('textarea', { id: 'token', rows: 4, spellcheck: 'false', autocomplete: 'off', required: true });
  const error = h('p', { class: 'error', role: 'alert', id: 'signin-error' });
  const use = async (token) => {
    const problem = tokenProblem(token);
    if (problem) {
      replace(error, problem);
      return;
    }
    session.set(token);
    try {
      await api('/tasks?limit=1');
      done();
    } catch (err) {
      session.clear();
      replace(error, err.message);
    }
  };
  const form = h(
    'form',
    { class: 'signin', 'aria-describedby': 'signin-error' },
    field('Access token (JWT)', input, 'The bearer token your identity provider issued, or one made with bflow token.'),
    h('button', { type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void use(input.value.trim());
  });
  replace(
    main,
    h('h1', {}, 'Sign in'),
    reason ? h('p', { class: 'notice', id: 'signin-reason' }, reason) : null,
    form,
    error,
  );
  input.focus();
  const users = await devUsers();
  if (users.length === 0) return;
  main.append(
    h('h2', {}, 'Dev sign-in (embedded mode)'),
    h(
      'ul',
      { class: 'dev-users' },
      users.map((u) =>
        h('li', {}, h('button', { type: 'button', onclick: () => void use(u.token), 'data-sub': u.sub }, u.label)),
      ),
    ),
  );
}
