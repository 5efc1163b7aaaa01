import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { signToken } from '../../src/app/dev-token.ts';
import { VerifiedTokens } from '../../src/gateway/middleware/verified-tokens.ts';
import {
  asymmetricToken,
  bearer,
  claims,
  hmacToken,
  noneToken,
  problemOf,
  SECRET,
  testApp,
  type TestApp,
} from './gateway-fixture.ts';

// The foundation is tested on its own: the API routes (another module) are not registered.
vi.mock('../../src/gateway/routes/index.ts', () => ({ registerApiRoutes: () => undefined }));

const WHOAMI = '/api/v1/__test/whoami';

async function expect401(app: TestApp['app'], init: RequestInit, detail?: RegExp): Promise<void> {
  const res = await app.request(WHOAMI, init);
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  const body = await problemOf(res);
  expect(body.code).toBe('unauthorized');
  if (detail !== undefined) expect(body.detail).toMatch(detail);
}

describe('auth - HS256 secret mode', () => {
  const { app } = testApp();

  it('auth - a valid token sets the principal (unknown roles ignored, cid kept)', async () => {
    const res = await app.request(
      WHOAMI,
      bearer(hmacToken(claims({ roles: ['designer', 'root', 'member'], cid: 'c9' }), SECRET)),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ employee: 'e1', tenant: 't1', roles: ['designer', 'member'], companyId: 'c9' });
  });

  it('auth - no Authorization header → 401 with WWW-Authenticate: Bearer', () => expect401(app, {}, /missing/));
  it('auth - a non-Bearer header → 401', () =>
    expect401(app, { headers: { Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } }));
  it('auth - garbage instead of a JWT → 401', () => expect401(app, bearer('not.a.jwt')));
  it('auth - an expired token → 401', () =>
    expect401(app, bearer(hmacToken(claims({ exp: 1_800_000_000 - 31 }), SECRET)), /expired/));
  it('auth - a token without exp → 401', () =>
    expect401(app, bearer(hmacToken(claims({ exp: undefined }), SECRET)), /exp/));
  it('auth - a token signed with another secret → 401', () =>
    expect401(app, bearer(hmacToken(claims(), `${SECRET}-other`)), /signature/));
  it('auth - alg none → 401', () => expect401(app, bearer(noneToken(claims())), /algorithm/));
  it('auth - HS384 / HS512 (not the pinned HS256) → 401', async () => {
    await expect401(app, bearer(hmacToken(claims(), SECRET, { alg: 'HS384', typ: 'JWT' })), /algorithm/);
    await expect401(app, bearer(hmacToken(claims(), SECRET, { alg: 'HS512', typ: 'JWT' })), /algorithm/);
  });
  it('auth - an RS256 token (signed with an RSA key) against the secret → 401', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return expect401(app, bearer(asymmetricToken(claims(), privateKey, { alg: 'RS256', typ: 'JWT' })), /algorithm/);
  });
  it('auth - missing tid / sub / roles, or roles not an array → 401', async () => {
    for (const bad of [{ tid: undefined }, { sub: '' }, { roles: undefined }, { roles: 'admin' }, { cid: 42 }]) {
      await expect401(app, bearer(hmacToken(claims(bad), SECRET)));
    }
  });
  it('auth - a tid, sub or cid that is not a storable id (padded, path-like, unicode, control characters, longer than its column) → 401', async () => {
    const bad = [
      ...[
        't1 ',
        ' t1',
        't1\t',
        '../t1',
        't1/x',
        't1\u0000',
        'tü',
        '😀',
        '\u202et1',
        "t1' OR 1=1 --",
        't'.repeat(65),
        '',
      ].map((tid) => ({ tid })),
      ...['e1 ', 'e1\n', '../e1', 'é', 'e'.repeat(101)].map((sub) => ({ sub })),
      ...['c1 ', 'c/1', 'c'.repeat(65)].map((cid) => ({ cid })),
    ];
    for (const claim of bad) await expect401(app, bearer(hmacToken(claims(claim), SECRET)), /claim/);
    const longest = { tid: 't'.repeat(64), sub: 'e'.repeat(100), cid: 'c'.repeat(64) };
    const res = await app.request(WHOAMI, bearer(hmacToken(claims({ ...longest, roles: ['member'] }), SECRET)));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      employee: longest.sub,
      tenant: longest.tid,
      roles: ['member'],
      companyId: longest.cid,
    });
  });
  it('auth - exp within the 30 s clock tolerance is accepted; nbf in the future is not', async () => {
    expect((await app.request(WHOAMI, bearer(hmacToken(claims({ exp: 1_800_000_000 - 20 }), SECRET)))).status).toBe(
      200,
    );
    await expect401(app, bearer(hmacToken(claims({ nbf: 1_800_000_000 + 120 }), SECRET)), /nbf/);
  });
});

describe('auth - verified tokens are remembered, times are not', () => {
  let nowMs = 1_800_000_000_000;
  const { app } = testApp({}, { now: () => nowMs });

  it('auth - a remembered token is refused once it expires (exp is checked on every request)', async () => {
    const token = hmacToken(claims({ exp: 1_800_000_000 + 60 }), SECRET);
    expect((await app.request(WHOAMI, bearer(token))).status).toBe(200);
    expect((await app.request(WHOAMI, bearer(token))).status).toBe(200);
    nowMs += 120_000; // past exp + the 30 s tolerance
    await expect401(app, bearer(token), /expired/);
  });

  it('auth - a remembered token with one character of its signature changed is verified again and refused', async () => {
    const token = hmacToken(claims({ exp: nowMs / 1000 + 3600 }), SECRET);
    expect((await app.request(WHOAMI, bearer(token))).status).toBe(200);
    const i = token.length - 10; // inside the signature (its last character carries padding bits only in part)
    const forged = `${token.slice(0, i)}${token[i] === 'A' ? 'B' : 'A'}${token.slice(i + 1)}`;
    await expect401(app, bearer(forged), /signature/);
  });

  it('auth - a signed payload that is not a JSON object, and a truncated or empty signature → 401', async () => {
    const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
    const signed = (payloadText: string) => {
      const input = `${b64('{"alg":"HS256","typ":"JWT"}')}.${b64(payloadText)}`;
      return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    };
    await expect401(app, bearer(signed('[1,2]')), /not a JSON object/);
    await expect401(app, bearer(signed('"sub"')), /not a JSON object/);
    await expect401(app, bearer(signed('null')), /not a JSON object/);
    await expect401(app, bearer(signed('{"sub":')), /well-formed/);
    const token = hmacToken(claims({ exp: nowMs / 1000 + 3600 }), SECRET);
    await expect401(app, bearer(token.slice(0, -4)), /signature/);
    await expect401(app, bearer(token.slice(0, token.lastIndexOf('.') + 1)), /signature/);
  });

  it('auth - a token minted by `bflow token` (hono sign) is accepted', async () => {
    const token = await signToken(SECRET, { sub: 'alice', tid: 'acme', roles: ['member'] }, 3600, nowMs);
    expect((await app.request(WHOAMI, bearer(token))).status).toBe(200);
  });
});

describe('auth - VerifiedTokens', () => {
  it('auth - entries expire after the TTL and the oldest goes first beyond the bound', () => {
    let now = 0;
    const tokens = new VerifiedTokens<number>(2, 1000, () => now);
    tokens.set('a', 1);
    tokens.set('b', 2);
    expect(tokens.get('a')).toBe(1);
    tokens.set('c', 3); // a, b, c → the oldest insert (a) goes
    expect([tokens.get('a'), tokens.get('b'), tokens.get('c')]).toEqual([undefined, 2, 3]);
    now = 1000;
    expect(tokens.get('b')).toBeUndefined();
    expect(tokens.size).toBe(1);
  });
});

describe('auth - role guard', () => {
  const { app } = testApp();
  const as = (roles: string[]) => bearer(hmacToken(claims({ roles }), SECRET));

  it('auth - a member on a designer route → 403 forbidden', async () => {
    const res = await app.request('/api/v1/__test/designer', as(['member', 'integration']));
    expect(res.status).toBe(403);
    expect((await problemOf(res)).code).toBe('forbidden');
  });
  it('auth - a designer passes; an admin passes every guard', async () => {
    expect((await app.request('/api/v1/__test/designer', as(['designer']))).status).toBe(200);
    expect((await app.request('/api/v1/__test/designer', as(['admin']))).status).toBe(200);
  });
  it('auth - a token with no known role is authenticated but refused by guards', async () => {
    expect((await app.request(WHOAMI, as(['superuser']))).status).toBe(200);
    expect((await app.request('/api/v1/__test/designer', as(['superuser']))).status).toBe(403);
  });
});

describe('auth - JWKS mode (RS256 / ES256) against a JWKS server on 127.0.0.1', () => {
  let server: Server;
  let fetches = 0;
  let serve = true;
  let url = '';
  let rsa: { privateKey: KeyObject; publicKey: KeyObject };
  let ec: { privateKey: KeyObject; publicKey: KeyObject };
  let app: TestApp['app'];

  beforeAll(async () => {
    rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keys = [
      { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa1', alg: 'RS256', use: 'sig' },
      { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec1', alg: 'ES256', use: 'sig' },
    ];
    server = createServer((_req, res) => {
      fetches++;
      if (!serve) return void res.writeHead(500).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    app = testApp({ auth: { jwksUrl: url } }).app;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('auth - RS256 and ES256 tokens with a known kid pass; the JWKS is fetched once and cached', async () => {
    const rs = asymmetricToken(claims(), rsa.privateKey, { alg: 'RS256', typ: 'JWT', kid: 'rsa1' });
    const es = asymmetricToken(claims({ sub: 'e2' }), ec.privateKey, { alg: 'ES256', typ: 'JWT', kid: 'ec1' });
    const before = fetches;
    expect((await app.request(WHOAMI, bearer(rs))).status).toBe(200);
    const who = await app.request(WHOAMI, bearer(es));
    expect(who.status).toBe(200);
    expect(((await who.json()) as { employee: string }).employee).toBe('e2');
    expect(fetches - before).toBeLessThanOrEqual(1);
  });

  it('auth - HS/RS confusion: an HS256 token whose secret is the RSA public key PEM → 401', async () => {
    const pem = rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    await expect401(app, bearer(hmacToken(claims(), pem, { alg: 'HS256', typ: 'JWT', kid: 'rsa1' })), /algorithm/);
    await expect401(app, bearer(hmacToken(claims(), pem, { alg: 'HS256', typ: 'JWT' })), /algorithm/);
  });

  it('auth - alg none, RS384, a key of the wrong type for its kid, an unknown kid, a foreign key → 401', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expect401(app, bearer(noneToken(claims())), /algorithm/);
    await expect401(
      app,
      bearer(asymmetricToken(claims(), rsa.privateKey, { alg: 'RS384', typ: 'JWT', kid: 'rsa1' })),
      /algorithm/,
    );
    await expect401(app, bearer(asymmetricToken(claims(), ec.privateKey, { alg: 'ES256', typ: 'JWT', kid: 'rsa1' })));
    await expect401(
      app,
      bearer(asymmetricToken(claims(), rsa.privateKey, { alg: 'RS256', typ: 'JWT', kid: 'nope' })),
      /kid/,
    );
    await expect401(
      app,
      bearer(asymmetricToken(claims(), other.privateKey, { alg: 'RS256', typ: 'JWT', kid: 'rsa1' })),
      /signature/,
    );
    await expect401(app, bearer(asymmetricToken(claims(), rsa.privateKey, { alg: 'RS256', typ: 'JWT' })), /kid/);
  });

  it('auth - an expired RS256 token → 401', () =>
    expect401(
      app,
      bearer(
        asymmetricToken(claims({ exp: 1_700_000_000 }), rsa.privateKey, { alg: 'RS256', typ: 'JWT', kid: 'rsa1' }),
      ),
      /expired/,
    ));

  it('auth - JWKS unreachable with nothing cached → 503 auth_unavailable with Retry-After, not 401 or 500', async () => {
    serve = false;
    try {
      const fresh = testApp({ auth: { jwksUrl: url } }).app;
      const res = await fresh.request(
        WHOAMI,
        bearer(asymmetricToken(claims(), rsa.privateKey, { alg: 'RS256', typ: 'JWT', kid: 'rsa1' })),
      );
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect((await problemOf(res)).code).toBe('auth_unavailable');
    } finally {
      serve = true;
    }
  });
});

describe('auth - options', () => {
  it('auth - neither or both of secret and jwksUrl, or a short secret, are refused at start', () => {
    expect(() => testApp({ auth: {} })).toThrow(/exactly one/);
    expect(() => testApp({ auth: { secret: SECRET, jwksUrl: 'http://127.0.0.1:1/jwks' } })).toThrow(/exactly one/);
    expect(() => testApp({ auth: { secret: 'short' } })).toThrow(/32 characters/);
  });
});
