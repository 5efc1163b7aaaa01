import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayDeps } from '../../src/gateway/gateway-deps.ts';
import { createApp } from '../../src/gateway/app.ts';
import { SECURITY_HEADERS } from './security-checks.ts';
import {
  DEMO_TENANT,
  SECRET,
  demoAdmin,
  demoMember,
  leakIn,
  memoryLogger,
  securityGateway,
  startPo,
  type SecurityGateway,
} from './security-fixture.ts';

/**
 * What an error may show: a 5xx answers a generic problem (no message, no
 * stack) and logs the error with the request id; no log line ever carries the
 * token, the Authorization header or the signing secret; every kind of
 * response carries the security headers.
 */

const FAKE_SECRET = 'hunter2-db-password-9f8e7d';
const BOOM_RUNTIME = 'rt-boom';

/** An error as a driver would throw it: a credential in the message, a stack naming internal files. */
function driverError(): Error {
  const err = new Error(`connect to mysql://bflow:${FAKE_SECRET}@db.internal:3306/bflow failed: ECONNREFUSED`);
  err.stack = `Error: ${err.message}\n    at Pool.connect (/work/main/node_modules/mysql2/lib/pool.js:42:7)\n    at MySqlReadModel.getRuntime (/work/main/src/store/mysql/read-model.ts:88:5)`;
  return err;
}

let gw: SecurityGateway;
let lines: string[];
let token: string;

beforeAll(async () => {
  const memory = memoryLogger('trace');
  lines = memory.lines;
  gw = await securityGateway({}, memory.logger);
  // Stub dependencies that fail like a broken database would (the rest is the real embedded backend).
  const real = gw.deps;
  const deps: GatewayDeps = {
    ...real,
    cluster: () => Promise.reject(driverError()),
    readiness: () => Promise.reject(driverError()),
    router: {
      send: (request, options) =>
        request.runtimeId === BOOM_RUNTIME ? Promise.reject(driverError()) : real.router.send(request, options),
    },
  };
  gw.app = createApp(deps, { auth: { secret: SECRET }, rateLimit: { perMinute: 1_000_000, burst: 1_000_000 } });
  token = await gw.token(demoAdmin);
});
afterAll(() => gw.stop());

const authed = (init: RequestInit = {}, requestId = 'req-secret-1'): RequestInit => ({
  ...init,
  headers: {
    Authorization: `Bearer ${token}`,
    'X-Request-Id': requestId,
    'Content-Type': 'application/json',
    ...(init.headers as Record<string, string> | undefined),
  },
});

/** Nothing of the secret, the token or the internals in a response body. */
function expectClean(text: string): void {
  expect(text).not.toContain(FAKE_SECRET);
  expect(text).not.toContain('mysql://');
  expect(text).not.toContain('db.internal');
  expect(text).not.toContain(token);
  expect(text).not.toContain(SECRET);
  expect(leakIn(text)).toBeUndefined();
}

describe('secrets in errors - 5xx answers', () => {
  it('secrets in errors - a throwing dependency is a generic 500 problem, logged with the request id', async () => {
    for (const [path, init, requestId] of [
      ['/api/v1/cluster', authed({}, 'req-secret-1'), 'req-secret-1'],
      [
        `/api/v1/runtimes/${BOOM_RUNTIME}/actions`,
        authed({ method: 'POST', body: JSON.stringify({ action: 'approve' }) }, 'req-secret-2'),
        'req-secret-2',
      ],
    ] as const) {
      const res = await gw.app.request(path, init);
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.headers.get('x-request-id')).toBe(requestId);
      const text = await res.text();
      expectClean(text);
      expect(JSON.parse(text)).toEqual({
        type: 'urn:bflow:problem:internal',
        title: 'Internal Server Error',
        status: 500,
        detail: 'internal error; the request id identifies it in the logs',
        code: 'internal',
      });
      const logged = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l['requestId'] === requestId && l['msg'] === 'request failed');
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({
        level: 50,
        code: 'internal',
        err: { message: expect.stringContaining('ECONNREFUSED'), stack: expect.stringContaining('at Pool.connect') },
      });
      // The driver's DSN is logged without its password (was: the whole message and stack as thrown).
      expect(JSON.stringify(logged[0])).toContain('mysql://bflow:***@db.internal');
      expect(JSON.stringify(logged[0])).not.toContain(FAKE_SECRET);
    }
  });

  it('secrets in errors - a throwing dependency in a batch item is a generic 500 item problem', async () => {
    const res = await gw.app.request(
      '/api/v1/actions/batch',
      authed(
        { method: 'POST', body: JSON.stringify({ items: [{ runtimeId: BOOM_RUNTIME, action: 'approve' }] }) },
        'req-secret-3',
      ),
    );
    expect(res.status).toBe(200);
    const text = await res.text();
    expectClean(text);
    expect(JSON.parse(text)).toMatchObject({
      results: [{ runtimeId: BOOM_RUNTIME, status: 500, problem: { code: 'internal', detail: 'internal error' } }],
    });
  });

  it("secrets in errors - /ready (unauthenticated) does not echo a failing check's message (was: detail = the error's message)", async () => {
    const res = await gw.app.request('/ready');
    expect(res.status).toBe(503);
    const text = await res.text();
    expectClean(text);
    expect(JSON.parse(text)).toEqual({
      ready: false,
      checks: {},
      detail: 'a readiness check failed; the logs say which',
    });
  });
});

describe('secrets in errors - logs', () => {
  it('secrets in errors - no log line carries the JWT, the Authorization header, the JWT secret or a DSN password (readiness, 5xx and batch errors included)', async () => {
    const member = await gw.token(demoMember('alice'));
    const { id } = await startPo(gw, 'SEC-LOG-1');
    const wrongSecret = `${member.slice(0, member.lastIndexOf('.'))}.${'A'.repeat(43)}`;
    for (const [path, auth] of [
      [`/api/v1/runtimes/${id}`, member],
      ['/api/v1/runtimes/nope', member],
      ['/api/v1/cluster', token],
      ['/api/v1/cluster', member],
      ['/api/v1/tasks', wrongSecret],
      [`/api/v1/runtimes?access_token=${member}`, member],
    ] as const) {
      await gw.app.request(path, { headers: { Authorization: `Bearer ${auth}`, 'X-Request-Id': 'req-log' } });
    }
    expect(lines.length).toBeGreaterThan(0);
    const all = lines.join('\n');
    for (const secret of [
      token,
      member,
      wrongSecret,
      SECRET,
      FAKE_SECRET,
      'Bearer ',
      ...[token, member].map((t) => t.split('.')[2] ?? ''),
    ]) {
      expect(all).not.toContain(secret);
    }
    expect(all.toLowerCase()).not.toContain('authorization');
    expect(all).toContain('"requestId":"req-secret-1"');
  });
});

describe('secrets in errors - security headers on every kind of response', () => {
  it.each([
    [200, 'GET /health', () => gw.app.request('/health')],
    [200, 'GET /api/v1/runtimes', () => gw.app.request('/api/v1/runtimes', authed())],
    [401, 'no token', () => gw.app.request('/api/v1/runtimes')],
    [
      403,
      'wrong role',
      async () =>
        gw.app.request('/api/v1/cluster', {
          headers: { Authorization: `Bearer ${await gw.token(demoMember('alice'))}` },
        }),
    ],
    [404, 'no route', () => gw.app.request('/nowhere')],
    [404, 'no runtime', () => gw.app.request('/api/v1/runtimes/nope', authed())],
    [
      413,
      'body over 1 MiB',
      () => gw.app.request('/api/v1/runtimes', authed({ method: 'POST', body: `{"pad":"${'x'.repeat(1_048_577)}"}` })),
    ],
    [
      415,
      'not JSON',
      () =>
        gw.app.request(
          '/api/v1/runtimes',
          authed({ method: 'POST', body: 'a=1', headers: { 'Content-Type': 'text/plain' } }),
        ),
    ],
    [422, 'invalid body', () => gw.app.request('/api/v1/runtimes', authed({ method: 'POST', body: '{}' }))],
    [400, 'malformed JSON', () => gw.app.request('/api/v1/runtimes', authed({ method: 'POST', body: '{' }))],
    [500, 'throwing dependency', () => gw.app.request('/api/v1/cluster', authed())],
    [503, '/ready down', () => gw.app.request('/ready')],
  ] as const)('secrets in errors - %i (%s) carries the security headers', async (status, _what, send) => {
    const res = await send();
    expect(res.status).toBe(status);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(name), name).toMatch(value);
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('secrets in errors - 429 (rate limited) carries the security headers and Retry-After', async () => {
    const limited = createApp(gw.deps, { auth: { secret: SECRET }, rateLimit: { perMinute: 1, burst: 1 } });
    const claims = { sub: 'alice', tid: DEMO_TENANT, roles: ['member'] };
    const init = { headers: { Authorization: `Bearer ${await gw.token(claims)}` } };
    expect((await limited.request('/api/v1/tasks', init)).status).toBe(200);
    const res = await limited.request('/api/v1/tasks', init);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(name), name).toMatch(value);
  });
});
