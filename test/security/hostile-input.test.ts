import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { STATUS_OF_CODE } from '../../src/gateway/problems/problem-table.ts';
import {
  badContentType,
  badIdempotencyKey,
  deepObjectText,
  hostileHeader,
  hostileQuery,
  hostileValue,
  malformedJson,
  type BodyKind,
} from './hostile-arbitraries.ts';
import {
  EXPECTED,
  HOSTILE_TENANTS,
  INVALID_TENANTS,
  PO_DEFINITION,
  poisonsOf,
  READS,
  WRITES,
  anyId,
  bodyPoison,
  bodyText,
  garbageAuth,
  mintTokens,
  poisonedWrite,
  realId,
  surface,
  template,
  type Sent,
} from './hostile-requests.ts';
import { routeKeys } from './endpoint-matrix.ts';
import { logProblems, tenantState } from './security-checks.ts';
import {
  DEMO_TENANT,
  SECRET,
  actOk,
  demoAdmin,
  demoMember,
  leakIn,
  memoryLogger,
  poDoc,
  securityGateway,
  startPo,
  type SecurityGateway,
} from './security-fixture.ts';

/**
 * Fuzz of the whole HTTP surface (every route and method) with hostile bodies,
 * headers, queries, path segments and tokens. Every response: below 500, a
 * problem+json with a known code when an error, no stack or internal path, an
 * X-Request-Id. Every fuzzed write is invalid by construction (one "poison"
 * the gateway must refuse whatever else the request carries), so the demo
 * tenant — and the hostile tenants the tokens name — must end exactly as they started
 * (compared after every property). The gateway's and the backend's pino lines
 * are kept: no token, secret, DSN password or stack in any, every request's
 * line carries its request id, and those lines prove every route was fuzzed.
 * Summary line: "bad inputs tried N, 5xx 0, state changes 0".
 * BFLOW_FC_SCALE=20 multiplies the runs (a longer local or nightly search).
 */

const SCALE = Number(process.env['BFLOW_FC_SCALE'] ?? 1);
const runs = (n: number) => ({ numRuns: Math.max(1, Math.round(n * SCALE)) });
const TIMEOUT = 60_000 * Math.max(SCALE, 1);

const ONE_MIB = 1_048_576;
const KNOWN_CODES = new Set([
  ...Object.keys(STATUS_OF_CODE),
  'bad_request',
  'malformed_json',
  'unsupported_media_type',
  'method_not_allowed',
  'unavailable',
  'auth_unavailable',
]);
/** The demo tenant's webhook secret: in no response and no log line, whatever is sent. */
const WEBHOOK_SECRET = 'demo-webhook-secret-5b1e-0123456789';
const USERS = ['alice', 'bob', 'pur-mgr', 'hr-1', 'hr-head', 'ceo', 'fin-1', '__proto__', 'constructor'];
const APPS = ['purchase.order', 'hr.leave', 'finance.expense', 'legal.contract', 'fz.app', '__proto__'];

let gw: SecurityGateway;
let before = '';
let prototypeKeys: string[] = [];
let logLines: string[] = [];
const stats = { requests: 0, notSendable: 0, serverErrors: 0, stateChanges: 0, statuses: new Map<number, number>() };

// ---------------------------------------------------------------- sending and checking

interface Received {
  status: number;
  text: string;
  requestId: string | null;
}

/** Sends one request and checks what every response must be; undefined when fetch itself refuses to build it. */
async function send(s: Sent): Promise<Received | undefined> {
  const headers = new Headers();
  let request: Request;
  try {
    if (s.auth !== undefined) headers.set('Authorization', s.auth);
    for (const [k, v] of Object.entries(s.headers ?? {})) headers.set(k, v);
    if (s.body !== undefined) headers.set('Content-Type', s.contentType ?? 'application/json');
    request = new Request(`http://localhost${s.path}`, {
      method: s.method,
      headers,
      ...(s.body !== undefined && { body: s.body }),
    });
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    stats.notSendable++;
    return undefined;
  }
  const res = await gw.app.request(request);
  const text = await res.text();
  stats.requests++;
  stats.statuses.set(res.status, (stats.statuses.get(res.status) ?? 0) + 1);
  if (res.status >= 500) stats.serverErrors++;
  const what = `${s.method} ${s.path.slice(0, 200)} → ${res.status} ${text.slice(0, 300)}`;
  expect(res.status, what).toBeLessThan(500);
  expect(res.headers.get('x-request-id'), what).toBeTruthy();
  expect(leakIn(text), what).toBeUndefined();
  expect(text, what).not.toContain(WEBHOOK_SECRET);
  if (res.status >= 400 && s.method !== 'HEAD') {
    expect(res.headers.get('content-type'), what).toMatch(/^application\/problem\+json/);
    const problem = JSON.parse(text) as { code?: unknown; status?: unknown; type?: unknown };
    expect(KNOWN_CODES.has(String(problem.code)), what).toBe(true);
    expect(problem.status, what).toBe(res.status);
    expect(problem.type, what).toBe(`urn:bflow:problem:${String(problem.code)}`);
  }
  return { status: res.status, text, requestId: res.headers.get('x-request-id') };
}

// ---------------------------------------------------------------- state

/** Everything a client could observe of the demo tenant and the hostile tenants, read from the stores. */
async function snapshot(): Promise<string> {
  const out: Record<string, string> = {};
  for (const tenant of [DEMO_TENANT, ...HOSTILE_TENANTS, ...INVALID_TENANTS])
    out[JSON.stringify(tenant)] = await tenantState(gw.backend.deps, tenant, USERS, APPS);
  out['events'] = String(gw.backend.events.messages().length);
  return JSON.stringify(out);
}

beforeAll(async () => {
  const memory = memoryLogger('debug');
  logLines = memory.lines;
  gw = await securityGateway({}, memory.logger);
  const created = await startPo(gw, 'SEC-PO-1', 'alice');
  const submitted = await startPo(gw, 'SEC-PO-2', 'bob');
  await actOk(gw, demoMember('bob'), submitted.id, { action: 'submit' });
  const approved = await startPo(gw, 'SEC-PO-3', 'alice');
  await actOk(gw, demoMember('alice'), approved.id, { action: 'submit' });
  await actOk(gw, demoMember('pur-mgr'), approved.id, { action: 'approve', comment: 'ok' });
  const leave = await gw.call(demoMember('hr-1'), 'POST', '/api/v1/runtimes', {
    app: 'hr.leave',
    docId: 'SEC-LV-1',
    doc: { days: 2, type: 'annual', approver: 'hr-head', handover: 'hr-2', reason: 'r' },
  });
  expect(leave.status).toBe(201);
  surface.runtimeIds = [created.id, submitted.id, approved.id, ((await leave.json()) as { id: string }).id];
  await mintTokens();
  // A closed local port: a delivery fails at once, nothing leaves the machine.
  const hook = await gw.call(demoAdmin, 'POST', '/api/v1/webhooks', {
    url: 'http://127.0.0.1:9/hook',
    events: ['*'],
    secret: WEBHOOK_SECRET,
  });
  expect(hook.status).toBe(201);
  surface.webhookIds = [((await hook.json()) as { id: string }).id];
  before = await snapshot();
  prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
  logLines.length = 0; // the fuzz's lines only
});

// Never a state change: the tenants are compared with the start after every property.
afterEach(async () => {
  if ((await snapshot()) !== before) stats.stateChanges++;
});

afterAll(async () => {
  const statuses = [...stats.statuses.entries()]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${s}:${n}`)
    .join(' ');
  console.info(
    `hostile input: bad inputs tried ${stats.requests}, 5xx ${stats.serverErrors}, state changes ${stats.stateChanges} (${stats.notSendable} more refused by fetch itself; statuses ${statuses})`,
  );
  await gw?.stop();
});

// ---------------------------------------------------------------- properties

describe('hostile input', { timeout: TIMEOUT }, () => {
  it('hostile input - bad or missing tokens at every route and method: 401 on the API, never a 5xx', async () => {
    const routes = [
      ...WRITES.map((w) => (id: string) => w.path(id)),
      ...READS.map((r) => (id: string) => r.path(id, id, '')),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        anyId(),
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
        garbageAuth(),
        fc.option(
          fc.oneof(
            malformedJson,
            hostileValue.map((v) => JSON.stringify(v) ?? 'null'),
          ),
          { nil: undefined },
        ),
        async (route, id, method, auth, body) => {
          const path = route(id);
          const got = await send({ method, path, auth, ...(method !== 'GET' && body !== undefined && { body }) });
          if (got === undefined) return;
          if (new URL(path, 'http://localhost').pathname.startsWith('/api/v1/'))
            expect(got.status, `${method} ${path}`).toBe(401);
        },
      ),
      runs(600),
    );
  });

  it("hostile input - poisoned writes (with hostile query strings too) at every write route: refused with the poison's status, never accepted", async () => {
    await fc.assert(
      fc.asyncProperty(poisonedWrite(), fc.option(hostileQuery, { nil: '' }), async ({ w, poison, sent }, query) => {
        const got = await send({ ...sent, path: sent.path + query });
        if (got === undefined) return;
        // PUT /workflows/{id} looks the workflow up before it validates the definition: another tenant's id is a 404 first.
        const expected = poison === 'body' && w.id === 'workflow' ? [404, 422] : EXPECTED[poison];
        expect(
          expected,
          `${w.name} poisoned by ${poison}: ${got.status} ${got.text.slice(0, 300)} ← ${sent.body?.slice(0, 300)}`,
        ).toContain(got.status);
      }),
      runs(1_600),
    );
  });

  it("hostile input - reads with hostile ids, queries and callers: no 5xx, no other tenant's data", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...READS),
        anyId(),
        anyId(),
        hostileQuery,
        fc.constantFrom(...Object.keys(surface.auths)),
        fc.constantFrom('GET', 'HEAD'),
        async (read, id, id2, query, caller, method) => {
          const path = read.path(id, id2, query);
          const got = await send({ method, path, auth: surface.auths[caller], headers: { 'X-Request-Id': 'fz' } });
          if (got === undefined || method === 'HEAD') return;
          const foreign = caller.startsWith('tenant');
          if (foreign && read.runtime && surface.runtimeIds.includes(id)) expect(got.status, path).toBe(404);
          if (foreign && got.status === 200 && path.startsWith('/api/v1/runtimes?'))
            expect((JSON.parse(got.text) as { items: unknown[] }).items).toEqual([]);
        },
      ),
      runs(800),
    );
  });

  it('hostile input - X-Request-Id is echoed only when sane; Idempotency-Key and Content-Type garbage refuse otherwise valid writes', async () => {
    const SANE = /^[A-Za-z0-9._:-]{1,128}$/;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        hostileHeader,
        fc.constantFrom('idem', 'contentType'),
        badIdempotencyKey,
        badContentType,
        async (requestId, poison, key, contentType) => {
          n++;
          const valid: Sent[] = [
            {
              method: 'POST',
              path: '/api/v1/runtimes',
              auth: surface.auths['alice'],
              body: JSON.stringify({ app: 'purchase.order', docId: `HDR-${n}`, doc: poDoc(1) }),
            },
            {
              method: 'POST',
              path: `/api/v1/runtimes/${surface.runtimeIds[0]}/actions`,
              auth: surface.auths['alice'],
              body: JSON.stringify({ action: 'update', patch: { note: `hdr-${n}` } }),
            },
            {
              method: 'POST',
              path: '/api/v1/actions/batch',
              auth: surface.auths['alice'],
              body: JSON.stringify({
                items: [{ runtimeId: surface.runtimeIds[0], action: 'update', patch: { note: `b-${n}` } }],
              }),
            },
          ];
          const byContentType: Sent[] = [
            {
              method: 'PUT',
              path: '/api/v1/directory/employees/fz-hdr',
              auth: surface.auths['admin'],
              body: JSON.stringify({ name: 'Fuzz' }),
            },
            {
              method: 'POST',
              path: '/api/v1/workflows',
              auth: surface.auths['designer'],
              body: JSON.stringify({ ...PO_DEFINITION, app: 'fz.app' }),
            },
            {
              method: 'PUT',
              path: '/api/v1/apps/purchase.order/config',
              auth: surface.auths['admin'],
              body: JSON.stringify({ workflowId: 'wf-purchase-order', mode: 'unapply' }),
            },
            { method: 'POST', path: '/api/v1/directory/import', auth: surface.auths['admin'], body: '{}' },
          ];
          for (const s of poison === 'idem' ? valid : [...valid, ...byContentType]) {
            const headers: Record<string, string> = { 'X-Request-Id': requestId };
            if (poison === 'idem') headers['Idempotency-Key'] = key;
            const got = await send({ ...s, headers, ...(poison === 'contentType' && { contentType }) });
            if (got === undefined) continue;
            expect(got.status, `${s.path} ${poison}`).toBe(poison === 'idem' ? 422 : 415);
            const sent = requestId.trim();
            if (SANE.test(sent)) expect(got.requestId).toBe(sent);
            else expect(got.requestId).toMatch(/^[0-9a-f-]{36}$/);
          }
        },
      ),
      runs(60),
    );
  });

  it('hostile input - bodies over and near 1 MiB and 10,000 levels deep are refused (413 / 422), never a 5xx', async () => {
    const bodyWrites = WRITES.filter((w) => w.body !== null);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...bodyWrites),
        fc.constantFrom('over', 'near', 'deep', 'deepArray'),
        fc.integer({ min: 1, max: 4_000 }),
        fc.integer({ min: 1_000, max: 10_000 }),
        async (w, shape, slack, depth) => {
          const kind = w.body as BodyKind;
          const [base] = fc.sample(template(kind), 1);
          const [entry] = fc.sample(bodyPoison(kind), 1);
          const poisoned = bodyText(base ?? {}, {}, entry);
          let body: string;
          if (shape === 'deep') body = `{"deep":${deepObjectText(depth)},${poisoned.slice(1)}`;
          else if (shape === 'deepArray') body = `${'['.repeat(depth)}${']'.repeat(depth)}`;
          else {
            const size = shape === 'over' ? ONE_MIB + slack : ONE_MIB - slack;
            const pad = size - Buffer.byteLength(poisoned) - '{"pad":""'.length;
            body = `{"pad":"${'p'.repeat(Math.max(0, pad))}",${poisoned.slice(1)}`;
          }
          const id = w.id ? ((fc.sample(realId(w.id), 1)[0] ?? '') as string) : '';
          const got = await send({ method: w.method, path: w.path(id), auth: surface.auths['admin'], body });
          if (got === undefined) return;
          expect(
            shape === 'over' ? [413] : [400, 413, 422],
            `${w.name} ${shape} ${Buffer.byteLength(body)} bytes`,
          ).toContain(got.status);
        },
      ),
      runs(60),
    );
  });

  it('hostile input - the body limit is exact: 1 MiB passes the limit, one byte more is 413', async () => {
    const poisoned = JSON.stringify({ app: 'purchase.order', docId: 'bad id', doc: {} });
    const at = (size: number) =>
      `{"pad":"${'p'.repeat(size - Buffer.byteLength(poisoned) - '{"pad":""'.length)}",${poisoned.slice(1)}`;
    expect(Buffer.byteLength(at(ONE_MIB))).toBe(ONE_MIB);
    expect(
      (await send({ method: 'POST', path: '/api/v1/runtimes', auth: surface.auths['alice'], body: at(ONE_MIB) }))
        ?.status,
    ).toBe(422);
    expect(
      (await send({ method: 'POST', path: '/api/v1/runtimes', auth: surface.auths['alice'], body: at(ONE_MIB + 1) }))
        ?.status,
    ).toBe(413);
    const many = JSON.stringify({ employees: Array.from({ length: 10_001 }, (_, i) => ({ id: `e${i}`, name: 'E' })) });
    expect(
      (await send({ method: 'POST', path: '/api/v1/directory/import', auth: surface.auths['admin'], body: many }))
        ?.status,
    ).toBe(413);
  });

  it('hostile input - unknown methods and paths answer 404 problems', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'FOO', 'TRACE', 'CONNECT'),
        fc.constantFrom(...WRITES.map((w) => w.path), ...READS.map((r) => (id: string) => r.path(id, id, ''))),
        anyId(),
        fc.constantFrom(...Object.keys(surface.auths)),
        async (method, route, id, caller) => {
          const got = await send({ method, path: route(id), auth: surface.auths[caller] });
          if (got !== undefined && method !== 'OPTIONS') expect([401, 403, 404, 422]).toContain(got.status);
        },
      ),
      runs(200),
    );
  });

  it('hostile input - CR, LF and NUL in a header value never reach the app (fetch refuses to build the request)', () => {
    for (const value of ['a\r\nSet-Cookie: x=1', 'a\nb', 'a\rb', 'a\u0000b', '😀']) {
      expect(() => new Request('http://localhost/health', { headers: { 'X-Request-Id': value } })).toThrow(TypeError);
    }
  });

  it('hostile input - every route of the app (OpenAPI document and router) was fuzzed: each has request lines in the log', async () => {
    // A route nothing can poison (any caller, no body, no id) is reached by the bad-token fuzz only by chance: once for sure.
    for (const w of WRITES.filter((x) => poisonsOf(x).length === 0))
      expect((await gw.call(demoMember('alice'), w.method, w.path(''))).status, w.name).toBeLessThan(300);
    const openapi = (await (await gw.app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const hit = new Set<string>();
    for (const line of logLines) {
      const entry = JSON.parse(line) as { msg?: string; method?: string; route?: string };
      if (entry.msg !== 'request' || entry.route === undefined || entry.route === 'unmatched') continue;
      hit.add(`${entry.method === 'HEAD' ? 'GET' : entry.method} ${entry.route.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
    }
    const missed = routeKeys(openapi, gw.app.routes).filter((k) => !hit.has(k));
    expect(missed, `routes the fuzz never reached: ${missed.join(', ')}`).toEqual([]);
  });

  it('hostile input - no log line of the gateway or the backend holds a token, the secret, a DSN password or a stack; every request line has its request id', () => {
    const tokens = [...Object.values(surface.auths), ...surface.badAuths].map((a) => a.replace(/^Bearer +/i, ''));
    expect(logLines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThanOrEqual(stats.requests);
    expect(logProblems(logLines, { tokens, secrets: [SECRET, WEBHOOK_SECRET] })).toEqual([]);
  });

  it('hostile input - /metrics (unauthenticated) names route templates only: no fuzzed path, id, tenant or token in a label', async () => {
    const text = await (await gw.app.request('/metrics')).text();
    const labels = [...text.matchAll(/\{([^}]*)\}/g)].map((m) => m[1] ?? '');
    const routes = new Set(labels.flatMap((l) => [...l.matchAll(/route="([^"]*)"/g)].map((m) => m[1] ?? '')));
    for (const route of routes) expect(route, route).toMatch(/^(unmatched|\/[A-Za-z0-9/_.:{}-]*)$/);
    // Bounded by the app's route templates (and `unmatched`), never by what the fuzz sent.
    const templates = new Set(gw.app.routes.filter((r) => r.method !== 'ALL').map((r) => r.path));
    expect(routes.size).toBeLessThanOrEqual(templates.size + 1);
    for (const needle of [
      ...surface.runtimeIds,
      ...surface.webhookIds,
      'Bearer',
      SECRET,
      WEBHOOK_SECRET,
      ...HOSTILE_TENANTS.filter((t) => t.length > 4),
    ]) {
      expect(labels.join('\n'), needle).not.toContain(needle);
    }
  });

  it('hostile input - the demo tenant and every tenant a token named are exactly as before; Object.prototype untouched', async () => {
    expect(stats.serverErrors).toBe(0);
    expect(stats.stateChanges).toBe(0);
    expect(JSON.parse(await snapshot())).toEqual(JSON.parse(before));
    expect(stats.requests).toBeGreaterThan(3_000 * Math.min(SCALE, 1));
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('hostile input - afterwards the gateway and the node still serve: a view, and a command the engine refuses (a round trip through the shard that changes nothing)', async () => {
    const [draft] = surface.runtimeIds;
    expect((await gw.call(demoMember('alice'), 'GET', `/api/v1/runtimes/${draft}`)).status).toBe(200);
    const refused = await gw.call(demoMember('bob'), 'POST', `/api/v1/runtimes/${draft}/actions`, {
      action: 'approve',
    });
    const { code } = (await refused.json()) as { code: string };
    expect([refused.status, code]).toEqual([422, 'action_not_allowed']);
  });
});
