// The console's only way to the API: /api/v1 with the signed-in user's token. A 401 signs the user out and
// raises SignInNeeded (the router then shows the sign-in prompt); any other error raises ApiProblem with the
// problem+json body, whose detail the page shows.

const TOKEN_KEY = 'bflow.console.token';
const TIMEOUT_MS = 15_000;

/** The API, found from this module's own URL (/console/assets/api.js): a proxy may mount the gateway under a prefix. */
const API_BASE = new URL('../../api/v1', import.meta.url).pathname;

/** The user must sign in (again): no token, an expired one, or one the gateway refused. */
export class SignInNeeded extends Error {
  name = 'SignInNeeded';
}

/** An error answer of the API, with its problem+json body (code, detail, errors[]). */
export class ApiProblem extends Error {
  name = 'ApiProblem';
  constructor(status, problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** Decodes a JWT's claims without verifying them (the gateway verifies); undefined when it is no JWT. */
export function decodeClaims(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const json = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(json);
    return typeof claims === 'object' && claims !== null ? claims : undefined;
  } catch {
    return undefined;
  }
}

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  set: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
  /** The signed-in user's claims, or undefined. */
  claims() {
    const token = session.token();
    return token ? decodeClaims(token) : undefined;
  },
  /** Whether the user holds `role` (admin holds every role, as in the gateway). */
  has(role) {
    const roles = session.claims()?.roles ?? [];
    return roles.includes('admin') || roles.includes(role);
  },
};

/** Checks a pasted token before it is stored; returns what is wrong with it, or undefined. */
export function tokenProblem(token, now = Date.now()) {
  const claims = decodeClaims(token);
  if (claims === undefined) return 'this is not a JWT (three base64url parts separated by dots)';
  if (typeof claims.exp === 'number' && claims.exp * 1000 < now)
    return `this token expired at ${new Date(claims.exp * 1000).toLocaleString()}`;
  if (typeof claims.sub !== 'string' || typeof claims.tid !== 'string') return 'this token has no sub or tid claim';
  return undefined;
}

async function problemOf(res) {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text);
    if (typeof body === 'object' && body !== null) return body;
  } catch {}
  return { status: res.status, title: res.statusText, detail: text || `HTTP ${res.status}` };
}

/**
 * Calls `/api/v1{path}`; resolves with the JSON answer (undefined for 204).
 * @throws SignInNeeded on 401 or without a token; ApiProblem on any other error answer
 */
export async function api(path, { method = 'GET', body, headers = {} } = {}) {
  const token = session.token();
  if (!token) throw new SignInNeeded('sign in to continue');
  const expired = tokenProblem(token);
  if (expired) {
    session.clear();
    throw new SignInNeeded(`${expired}; sign in again`);
  }
  let res;
  try {
    res = await fetch(`${API_BASE}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw new ApiProblem(0, {
      title: 'Network error',
      detail: `the gateway did not answer ${method} ${path} (${err.message}); check the connection and retry`,
    });
  }
  if (res.status === 401) {
    session.clear();
    const problem = await problemOf(res);
    throw new SignInNeeded(`the gateway refused the token: ${problem.detail ?? 'unauthorized'}`);
  }
  if (!res.ok) throw new ApiProblem(res.status, await problemOf(res));
  return res.status === 204 ? undefined : res.json();
}

/** Every page of a paged list (`{items, nextCursor}`), at most `maxPages` pages of `limit`. */
export async function allPages(path, { limit = 200, maxPages = 10 } = {}) {
  const items = [];
  let cursor = null;
  const sep = path.includes('?') ? '&' : '?';
  for (let page = 0; page < maxPages; page++) {
    const answer = await api(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...answer.items);
    cursor = answer.nextCursor;
    if (!cursor) return { items, complete: true };
  }
  return { items, complete: false };
}

/** A fresh Idempotency-Key for one user action (a retried click is then applied once). */
export const idempotencyKey = () => ({ 'Idempotency-Key': crypto.randomUUID() });
