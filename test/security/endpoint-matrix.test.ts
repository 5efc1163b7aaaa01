import { generateKeyPairSync } from 'node:crypto';
import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asymmetricToken, hmacToken, noneToken } from '../gateway/gateway-fixture.ts';
import { SECRET, TENANT_A, TENANT_B } from '../gateway/test-backend.ts';
import { ENDPOINTS, ROLE_SETS, admits, methodOf, routeKeys, type Endpoint } from './endpoint-matrix.ts';
import { leakIn, memoryLogger } from './security-fixture.ts';
import { SECURITY_HEADERS, logProblems } from './security-checks.ts';
import { A_WEBHOOK_SECRET, aMarkerIn, twoTenants, type Backend, type TwoTenants } from './two-tenants.ts';

/**
 * Every endpoint × every caller, on the in-process store and on MySQL (whose
 * PAD SPACE comparison and column widths differ from a JavaScript Map):
 * (a) no token, a forged token or a token whose claims are not ids → 401;
 * (b) each role docs/api.md#roles does not admit → 403 `forbidden` and nothing changes;
 *     each role it admits passes the guard;
 * (c) tenant B (and tenants whose ids look like A's) naming tenant A's
 *     objects → exactly what an object that exists nowhere gets, none of A's
 *     data in any answer, A unchanged;
 * (d) every response carries the security headers and never a 5xx.
 * The endpoint list comes from the app itself (OpenAPI document + router):
 * a route without a row in ENDPOINTS fails the first test.
 */

interface Got {
  status: number;
  text: string;
  body: any;
}

describe.each<Backend>(['memory', 'mysql'])('endpoint matrix (%s)', (backend) => {
  let t: TwoTenants;
  let lines: string[];
  const tokens: string[] = [];
  let responses = 0;

  beforeAll(async () => {
    const memory = memoryLogger('debug');
    lines = memory.lines;
    t = await twoTenants(backend, 'matrix', memory.logger);
  }, 60_000);
  afterAll(() => t?.close());

  const nowSec = () => Math.floor(t.gw.clock.now() / 1000);

  async function token(claims: Record<string, unknown>): Promise<string> {
    const signed = await sign({ iat: nowSec() - 10, exp: nowSec() + 3600, ...claims }, SECRET, 'HS256');
    tokens.push(signed);
    return signed;
  }

  /** One request; every answer: below 500, the security headers, no stack or internal path. */
  async function send(method: string, path: string, auth: string | undefined, body?: unknown): Promise<Got> {
    const headers: Record<string, string> = {};
    if (auth !== undefined) headers['Authorization'] = auth;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await t.gw.app.request(path, {
      method,
      headers,
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    responses++;
    const what = `${method} ${path} → ${res.status} ${text.slice(0, 300)}`;
    expect(res.status, what).toBeLessThan(500);
    for (const [name, value] of Object.entries(SECURITY_HEADERS))
      expect(res.headers.get(name), `${name} on ${what}`).toMatch(value);
    expect(res.headers.get('x-powered-by'), what).toBeNull();
    expect(leakIn(text), what).toBeUndefined();
    expect(text, what).not.toContain(A_WEBHOOK_SECRET);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, text, body: parsed };
  }

  const as = async (e: Endpoint, tid: string, sub: string, roles: readonly string[], missing = false): Promise<Got> => {
    const { path, body } = e.call(t.a, missing);
    return send(methodOf(e), path, `Bearer ${await token({ sub, tid, roles })}`, body);
  };

  const states = async () => ({ a: await t.digest(TENANT_A), b: await t.digest(TENANT_B) });

  it('matrix - every route of the app (OpenAPI document and router) has a row, and every row is a route', async () => {
    const openapi = (await send('GET', '/openapi.json', undefined)).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const app = routeKeys(openapi, t.gw.app.routes);
    const classified = ENDPOINTS.map((e) => e.key).sort();
    expect(
      app.filter((k) => !classified.includes(k)),
      'routes of the app with no row in ENDPOINTS (classify them)',
    ).toEqual([]);
    expect(
      classified.filter((k) => !app.includes(k)),
      'rows of ENDPOINTS the app does not serve',
    ).toEqual([]);
    expect(new Set(classified).size).toBe(classified.length);
  });

  it('matrix - (a) no token, forged tokens and claims that are not ids → 401 unauthorized on every API endpoint; nothing changes', async () => {
    const before = await states();
    const exp = nowSec() + 3600;
    const claims = { sub: 'alice', tid: TENANT_A, roles: ['admin'], iat: nowSec() - 10, exp };
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const valid = hmacToken(claims, SECRET);
    const [head, , sig] = valid.split('.');
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const forged: Record<string, string | undefined> = {
      'no Authorization': undefined,
      'alg none': `Bearer ${noneToken(claims)}`,
      'alg None, signature kept': `Bearer ${b64({ alg: 'None', typ: 'JWT' })}.${b64(claims)}.${sig}`,
      'HS384 with the secret': `Bearer ${hmacToken(claims, SECRET, { alg: 'HS384', typ: 'JWT' })}`,
      'HS512 with the secret': `Bearer ${hmacToken(claims, SECRET, { alg: 'HS512', typ: 'JWT' })}`,
      'RS256 signed with an RSA key (HS/RS confusion)': `Bearer ${asymmetricToken(claims, rsa.privateKey, { alg: 'RS256', typ: 'JWT' })}`,
      'HS256 keyed with an RSA public key (HS/RS confusion)': `Bearer ${hmacToken(claims, publicPem)}`,
      'expired an hour ago': `Bearer ${hmacToken({ ...claims, exp: nowSec() - 3600 }, SECRET)}`,
      'no exp': `Bearer ${hmacToken({ ...claims, exp: undefined }, SECRET)}`,
      'nbf in an hour': `Bearer ${hmacToken({ ...claims, nbf: nowSec() + 3600 }, SECRET)}`,
      'another secret': `Bearer ${hmacToken(claims, `${SECRET}-other`)}`,
      'payload swapped to tenant B, signature kept': `Bearer ${head}.${b64({ ...claims, tid: TENANT_B })}.${sig}`,
      'no signature': `Bearer ${head}.${b64(claims)}.`,
      'Basic credentials': `Basic ${Buffer.from('alice:pw').toString('base64')}`,
      'token in a query-like header': `Bearer ${valid}?tid=${TENANT_B}`,
    };
    // Signed with the right secret, but a claim no tenant, employee or company id can be (the store would pad, truncate or fail on it).
    const hostileClaims: Record<string, Record<string, unknown>> = {
      'tid padded (MySQL PAD SPACE equals tenant-a)': { tid: `${TENANT_A} ` },
      'tid with leading space': { tid: ` ${TENANT_A}` },
      'tid with NUL': { tid: `${TENANT_A}\u0000` },
      'tid path-like': { tid: `../${TENANT_A}` },
      'tid path-like 2': { tid: `${TENANT_B}/../${TENANT_A}` },
      'tid 65 characters': { tid: `${TENANT_A}-${'x'.repeat(64 - TENANT_A.length)}` },
      'tid 1 KiB': { tid: 't'.repeat(1024) },
      'tid Cyrillic look-alike': { tid: 'tenаnt-a' },
      'tid emoji': { tid: '😀' },
      'tid right-to-left override': { tid: `\u202e${TENANT_A}` },
      'tid SQL-shaped': { tid: `${TENANT_A}' OR '1'='1` },
      'tid empty': { tid: '' },
      'tid number': { tid: 42 },
      'tid array': { tid: [TENANT_A] },
      'tid object': { tid: { $ne: '' } },
      "sub padded (would read alice's inbox on MySQL)": { sub: 'alice ' },
      'sub 101 characters': { sub: 'a'.repeat(101) },
      'cid 65 characters': { cid: 'c'.repeat(65) },
    };
    for (const [name, extra] of Object.entries(hostileClaims))
      forged[name] = `Bearer ${hmacToken({ ...claims, ...extra }, SECRET)}`;
    tokens.push(...Object.values(forged).flatMap((v) => (v === undefined ? [] : [v.replace(/^\w+ /, '')])));

    for (const e of ENDPOINTS) {
      const { path, body } = e.call(t.a);
      for (const [name, auth] of Object.entries(forged)) {
        const got = await send(methodOf(e), path, auth, body);
        if (e.access === 'public') {
          expect(got.status, `${e.key} is public`).toBe(200);
          continue;
        }
        expect(got.status, `${e.key} with ${name}: ${got.text.slice(0, 200)}`).toBe(401);
        expect(got.body?.code, `${e.key} with ${name}`).toBe('unauthorized');
      }
    }
    expect(await states()).toEqual(before);
  });

  /** Checks one answer to a caller of tenant `tid` naming A's objects against the endpoint's `foreign` class. */
  async function expectForeignAnswer(e: Endpoint, tid: string, got: Got): Promise<void> {
    const what = `${tid} ${e.key} → ${got.status} ${got.text.slice(0, 300)}`;
    expect(aMarkerIn(got.text), what).toBeUndefined();
    const sameAsMissing = async () => {
      const m = await as(e, tid, 'root', ['admin'], true);
      expect([got.status, got.body?.code], what).toEqual([m.status, m.body?.code]);
      return m;
    };
    switch (e.foreign) {
      case 'not_found': {
        expect(got.status, what).toBe(404);
        const m = await sameAsMissing();
        // The one path segment that differs is the id; the details may differ only there.
        const [ours, theirs] = [e.call(t.a).path, e.call(t.a, true).path].map((p) => p.split(/[/?]/));
        const at = ours?.findIndex((seg, i) => seg !== theirs?.[i]) ?? -1;
        expect(at, what).toBeGreaterThan(0);
        expect(String(got.body?.detail).replaceAll(ours?.[at] ?? '', '<id>'), what).toBe(
          String(m.body?.detail).replaceAll(theirs?.[at] ?? '', '<id>'),
        );
        return;
      }
      case 'same_as_missing':
        expect(got.status, what).toBeGreaterThanOrEqual(400);
        await sameAsMissing();
        return;
      case 'item_not_found': {
        expect(got.status, what).toBe(200);
        const results = got.body.results as { status: number; problem?: { code: string } }[];
        expect(results.length).toBe(t.a.runtimeIds.length);
        for (const r of results) expect([r.status, r.problem?.code], what).toEqual([404, 'not_found']);
        return;
      }
      case 'own_tenant':
        // B is seeded like A, so B's own call succeeds; a look-alike tenant is empty (no app config, no workflow).
        expect(got.status, what).toBeLessThan(tid === TENANT_B ? 300 : 500);
        for (const id of [...t.a.runtimeIds, t.a.webhookId]) expect(got.text, what).not.toContain(`"${id}"`);
        return;
      case 'unscoped':
        expect(got.status, what).toBe(200);
    }
  }

  it("matrix - (c) tenant B and look-alike tenants naming tenant A's objects get what an object that exists nowhere gets; none of A's data; A unchanged", async () => {
    const beforeA = await t.digest(TENANT_A);
    // Valid ids that only look like A's: case, a dot, a suffix (each its own tenant).
    for (const tid of [
      TENANT_B,
      'TENANT-A',
      'Tenant-A',
      `${TENANT_A}.`,
      `${TENANT_A}:`,
      `${TENANT_A}@x`,
      `${TENANT_A}_`,
    ]) {
      for (const e of ENDPOINTS) {
        if (e.access !== 'public') await expectForeignAnswer(e, tid, await as(e, tid, 'root', ['admin']));
      }
    }
    expect(await t.digest(TENANT_A)).toBe(beforeA);
  });

  it('matrix - (b) every role API.md does not admit → 403 forbidden and nothing changes; every role it admits passes the guard', async () => {
    const refused: string[] = [];
    for (const e of ENDPOINTS) {
      if (e.access === 'public') continue;
      const before = await states();
      for (const [setName, roles] of Object.entries(ROLE_SETS)) {
        if (admits(e, roles)) continue;
        const got = await as(e, TENANT_A, 'alice', roles);
        expect([got.status, got.body?.code], `${setName} on ${e.key}: ${got.text.slice(0, 200)}`).toEqual([
          403,
          'forbidden',
        ]);
        refused.push(`${setName} ${e.key}`);
      }
      expect(await states(), `a refused call changed state: ${e.key}`).toEqual(before);
      for (const [setName, roles] of Object.entries(ROLE_SETS)) {
        if (!admits(e, roles)) continue;
        const got = await as(e, TENANT_A, 'alice', roles);
        const what = `${setName} on ${e.key}: ${got.status} ${got.text.slice(0, 300)}`;
        expect(got.status, what).not.toBe(401);
        expect(got.body?.code, what).not.toBe('forbidden');
        if (!e.write) expect(got.status, what).toBe(200);
      }
    }
    // Each guarded endpoint refuses someone; the open ones (tasks) refuse no role.
    expect(refused.length).toBeGreaterThan(40);
  });

  it('matrix - (d) every response carried the security headers; the logs hold no token, secret or stack', () => {
    expect(responses).toBeGreaterThan(700);
    expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThanOrEqual(responses);
    expect(logProblems(lines, { tokens, secrets: [SECRET, A_WEBHOOK_SECRET] })).toEqual([]);
  });
});
