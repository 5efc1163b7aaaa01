import fc from 'fast-check';
import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET, TENANT_A, TENANT_B } from '../gateway/test-backend.ts';
import { ENDPOINTS, methodOf, type Endpoint } from './endpoint-matrix.ts';
import {
  TRAVERSALS,
  badContentType,
  badIdSegment,
  hostileHeader,
  hostileKey,
  hostileQuery,
  hostileValue,
} from './hostile-arbitraries.ts';
import { leakIn } from './security-fixture.ts';
import { SECURITY_HEADERS } from './security-checks.ts';
import { A_WEBHOOK_SECRET, aMarkerIn, twoTenants, type Backend, type TwoTenants } from './two-tenants.ts';

/**
 * Another tenant's fuzz, on MySQL (the store whose comparisons, column
 * widths and SQL a JavaScript Map does not have) and on the in-process store:
 * callers of tenant B and of tenants that look like A take each endpoint's
 * valid request naming tenant A's objects and mutate it (a path segment, the
 * query, a body field at any depth, a header). Whatever they send: never a
 * 5xx, the security headers, none of A's data, and tenant A ends exactly as
 * it started. Writes may succeed here: in the caller's own tenant only.
 * BFLOW_FC_SCALE multiplies the runs.
 */

const SCALE = Number(process.env['BFLOW_FC_SCALE'] ?? 1);
const RUNS = Math.max(1, Math.round(400 * SCALE));
const CALLERS = [
  { tid: TENANT_B, sub: 'root', roles: ['admin'] },
  { tid: TENANT_B, sub: 'alice', roles: ['member', 'designer', 'integration'] },
  { tid: 'TENANT-A', sub: 'alice', roles: ['admin'] },
  { tid: `${TENANT_A}.`, sub: 'ceo', roles: ['admin'] },
] as const;

type Mutation =
  | { kind: 'segment'; at: number; value: string }
  | { kind: 'query'; value: string }
  | { kind: 'field'; deep: boolean; existing: number | undefined; key: string; value: unknown }
  | { kind: 'header'; name: string; value: string };

/** Keyset cursors that decode (base64url JSON) to shapes a store might not expect. */
const structuredCursor: fc.Arbitrary<string> = fc
  .oneof(
    fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
    fc
      .array(
        fc.oneof(
          fc.integer(),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.string({ maxLength: 12 }),
          fc.constant(null),
        ),
        { maxLength: 4 },
      )
      .map((v) => JSON.stringify(v)),
    fc.constantFrom(
      '[1e400,"x",1]',
      '[-1e400]',
      '[1e308,"x",1]',
      '[-1e308,"x",1]',
      '[9007199254740993,"x",1]',
      '[0.5,"x",0.5]',
      '["\\u0000"]',
      '["\' OR 1=1 --"]',
      '[{"$gt":""}]',
      '[[1]]',
    ),
  )
  .map((json) => `?cursor=${Buffer.from(json, 'utf8').toString('base64url')}`);

/** Well-formed ids around the store's column widths (64, 100) and the schemas' limits. */
const edgeId: fc.Arbitrary<string> = fc
  .integer({ min: 60, max: 140 })
  .chain((n) => fc.constantFrom('a', 'Z', '9', '.', '-').map((c) => `x${c.repeat(n - 1)}`));

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('segment' as const),
    at: fc.integer({ min: 3, max: 6 }),
    value: fc.oneof(
      badIdSegment,
      fc.constantFrom(...TRAVERSALS),
      edgeId,
      fc.stringMatching(/^[A-Za-z0-9_.:@-]{1,40}$/),
    ),
  }),
  fc.record({ kind: fc.constant('query' as const), value: fc.oneof(hostileQuery, structuredCursor) }),
  fc.record({
    kind: fc.constant('field' as const),
    deep: fc.boolean(),
    existing: fc.option(fc.nat(), { nil: undefined, freq: 3 }),
    key: fc.oneof(
      fc.constantFrom(
        'name',
        'id',
        'docId',
        'app',
        'doc',
        'action',
        'workflowId',
        'mode',
        'companyId',
        'url',
        'events',
        'secret',
        'items',
        'employees',
        'groups',
        'patch',
        'runtimeId',
        'expectedRevision',
        'nodes',
        'fields',
        'groupId',
        'managerId',
      ),
      hostileKey,
    ),
    value: fc.oneof(
      hostileValue,
      edgeId,
      edgeId,
      edgeId.map((id) => [id]),
      fc.string({ minLength: 190, maxLength: 330 }),
    ),
  }),
  fc.record({
    kind: fc.constant('header' as const),
    name: fc.constantFrom(
      'Idempotency-Key',
      'X-Request-Id',
      'Content-Type',
      'Accept',
      'If-None-Match',
      'X-Forwarded-For',
      'Cookie',
    ),
    value: fc.oneof(hostileHeader, badContentType),
  }),
);

/** The request with `m` applied (a new object; the endpoint's own call is untouched). */
function mutate(
  path: string,
  body: unknown,
  headers: Record<string, string>,
  m: Mutation,
): { path: string; body: unknown } {
  switch (m.kind) {
    case 'segment': {
      const [pathname = '', query] = path.split('?');
      const segments = pathname.split('/');
      // An existing segment after /api/v1 (the last one when `at` is past the end).
      segments[Math.min(m.at, segments.length - 1)] = m.value;
      return { path: segments.join('/') + (query === undefined ? '' : `?${query}`), body };
    }
    case 'query':
      return { path: path.split('?')[0] + m.value, body };
    case 'field': {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return { path, body };
      const copy = Object.assign(Object.create(null) as Record<string, unknown>, body as Record<string, unknown>);
      const items = copy['items'] ?? copy['employees'] ?? copy['nodes'];
      // Mostly a key the valid body has (`existing` picks it), else any key.
      const keyOf = (o: object) => {
        const keys = Object.keys(o);
        return m.existing === undefined || keys.length === 0 ? m.key : (keys[m.existing % keys.length] ?? m.key);
      };
      if (m.deep && Array.isArray(items) && typeof items[0] === 'object' && items[0] !== null) {
        const first = Object.assign(
          Object.create(null) as Record<string, unknown>,
          items[0] as Record<string, unknown>,
          { [keyOf(items[0] as object)]: m.value },
        );
        const key = 'items' in copy ? 'items' : 'employees' in copy ? 'employees' : 'nodes';
        copy[key] = [first, ...items.slice(1)];
      } else {
        copy[keyOf(copy)] = m.value;
      }
      return { path, body: copy };
    }
    case 'header':
      headers[m.name] = m.value;
      return { path, body };
  }
}

describe.each<Backend>(['mysql', 'memory'])('foreign fuzz (%s)', (backend) => {
  let t: TwoTenants;
  let beforeA = '';
  const tokens = new Map<string, string>();
  const stats = { sent: 0, serverErrors: 0, statuses: new Map<number, number>() };

  beforeAll(async () => {
    t = await twoTenants(backend, 'foreignfz');
    for (const c of CALLERS)
      tokens.set(c.tid + c.sub, await sign({ ...c, exp: Math.floor(t.gw.clock.now() / 1000) + 3600 }, SECRET, 'HS256'));
    beforeA = await t.digest(TENANT_A);
  }, 60_000);
  afterAll(async () => {
    const statuses = [...stats.statuses.entries()]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}:${n}`)
      .join(' ');
    console.info(
      `foreign fuzz (${backend}): bad inputs tried ${stats.sent}, 5xx ${stats.serverErrors}, tenant A changed ${beforeA === '' || (await t.digest(TENANT_A)) === beforeA ? 0 : 1} (statuses ${statuses})`,
    );
    await t?.close();
  });

  // A stream never ends when its `?wait=0` is fuzzed away; the matrix covers it.
  const guarded = ENDPOINTS.filter((e) => e.access !== 'public' && e.streams !== true);

  it(
    "foreign fuzz - mutated requests naming tenant A's objects: never a 5xx, security headers, none of A's data",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom<Endpoint>(...guarded),
          fc.constantFrom(...CALLERS),
          fc.array(mutation, { minLength: 1, maxLength: 3 }),
          async (e, caller, mutations) => {
            const headers: Record<string, string> = { Authorization: `Bearer ${tokens.get(caller.tid + caller.sub)}` };
            let { path, body } = e.call(t.a);
            for (const m of mutations) ({ path, body } = mutate(path, body, headers, m));
            if (body !== undefined && headers['Content-Type'] === undefined)
              headers['Content-Type'] = 'application/json';
            let request: Request;
            try {
              request = new Request(`http://localhost${path}`, {
                method: methodOf(e),
                headers,
                ...(body !== undefined && { body: JSON.stringify(body) }),
              });
            } catch (err) {
              if (err instanceof TypeError) return; // fetch refuses to build it (a bad URL or header): nothing reaches the app
              throw err;
            }
            const res = await t.gw.app.request(request);
            const text = await res.text();
            stats.sent++;
            stats.statuses.set(res.status, (stats.statuses.get(res.status) ?? 0) + 1);
            if (res.status >= 500) stats.serverErrors++;
            const what = `${caller.tid} ${methodOf(e)} ${path.slice(0, 200)} ${JSON.stringify(body)?.slice(0, 200)} → ${res.status} ${text.slice(0, 300)}`;
            expect(res.status, what).toBeLessThan(500);
            for (const [name, value] of Object.entries(SECURITY_HEADERS))
              expect(res.headers.get(name), `${name}: ${what}`).toMatch(value);
            expect(aMarkerIn(text), what).toBeUndefined();
            expect(text, what).not.toContain(A_WEBHOOK_SECRET);
            expect(leakIn(text), what).toBeUndefined();
          },
        ),
        { numRuns: RUNS },
      );
    },
    120_000 * Math.max(SCALE, 1),
  );

  it('foreign fuzz - tenant A is exactly as it started', async () => {
    expect(stats.sent).toBeGreaterThan(RUNS / 2);
    expect(await t.digest(TENANT_A)).toBe(beforeA);
  });

  // Was a 500 on MySQL: the store's decodeCursor accepted a non-finite number and the SQL then failed.
  it('foreign fuzz - an inbox cursor holding a non-finite number (1e400) is refused as 422', async () => {
    const cursor = Buffer.from('[1e400,"x",1]', 'utf8').toString('base64url');
    const res = await t.gw.call(
      { tenant: TENANT_B, employee: 'alice', roles: ['member'] },
      'GET',
      `/api/v1/tasks?cursor=${cursor}`,
    );
    expect(res.status).toBe(422);
  });
});
