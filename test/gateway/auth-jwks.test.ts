import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuthOptions } from '../../src/gateway/gateway-options.ts';
import { asymmetricToken, bearer, claims, NOW_SEC, problemOf, testApp } from './gateway-fixture.ts';

// Auth is tested on its own: the API routes are not registered.
vi.mock('../../src/gateway/routes/index.ts', () => ({ registerApiRoutes: () => undefined }));

const WHOAMI = '/api/v1/__test/whoami';

type Keys = Record<string, { privateKey: KeyObject; publicKey: KeyObject }>;

/** What the JWKS server does: serve these kids, answer 500, or accept the connection and never answer. */
type Serving = string[] | 'down' | 'hang';

/** A JWKS endpoint on 127.0.0.1 serving RSA keys by kid, counting its fetches. */
async function jwksServer(
  keys: Keys,
): Promise<{ url: string; serve: (s: Serving) => void; fetches: () => number; close: () => Promise<void> }> {
  let serving: Serving = [];
  let fetches = 0;
  const server: Server = createServer((_req, res) => {
    fetches++;
    if (serving === 'hang') return;
    if (serving === 'down') return void res.writeHead(500).end();
    const jwks = serving.map((kid) => ({
      ...keys[kid]!.publicKey.export({ format: 'jwk' }),
      kid,
      alg: 'RS256',
      use: 'sig',
    }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: jwks }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    serve: (s) => void (serving = s),
    fetches: () => fetches,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A URL on 127.0.0.1 where nothing listens. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/jwks.json`;
}

describe('auth jwks - keys from a JWKS server on 127.0.0.1 (jose)', () => {
  const keys: Keys = {};
  let jwks: Awaited<ReturnType<typeof jwksServer>>;
  let n = 0;
  /** A fresh token (a new `sub` each time, so no verified token is found again) signed with `kid`'s key. */
  const token = (kid: string, extra: Record<string, unknown> = {}) =>
    bearer(
      asymmetricToken(claims({ sub: `u${++n}`, ...extra }), keys[kid]!.privateKey, { alg: 'RS256', typ: 'JWT', kid }),
    );
  const app = (auth: Partial<AuthOptions> = {}) => testApp({ auth: { jwksUrl: jwks.url, ...auth } }).app;

  beforeAll(async () => {
    for (const kid of ['k1', 'k2']) keys[kid] = generateKeyPairSync('rsa', { modulusLength: 2048 });
    jwks = await jwksServer(keys);
  });
  afterAll(() => jwks.close());

  it('auth jwks - key rotation: a token naming a kid the cached set lacks refetches the JWKS and passes', async () => {
    jwks.serve(['k1']);
    const gateway = app({ jwksMinRefreshMs: 0 });
    expect((await gateway.request(WHOAMI, token('k1'))).status).toBe(200);
    const before = jwks.fetches();
    jwks.serve(['k1', 'k2']); // the IdP rotates
    expect((await gateway.request(WHOAMI, token('k2'))).status).toBe(200);
    expect(jwks.fetches()).toBe(before + 1);
    expect((await gateway.request(WHOAMI, token('k2'))).status).toBe(200);
    expect(jwks.fetches()).toBe(before + 1); // cached now
  });

  it('auth jwks - an unknown kid right after a fetch is a 401 without a refetch (jwksMinRefreshMs)', async () => {
    jwks.serve(['k1']);
    const gateway = app({ jwksMinRefreshMs: 60_000 });
    expect((await gateway.request(WHOAMI, token('k1'))).status).toBe(200);
    const before = jwks.fetches();
    jwks.serve(['k1', 'k2']);
    const res = await gateway.request(WHOAMI, token('k2'));
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toMatch(/kid "k2"/);
    expect(jwks.fetches()).toBe(before);
  });

  it('auth jwks - an unreachable JWKS URL → 503 auth_unavailable with Retry-After', async () => {
    const res = await testApp({ auth: { jwksUrl: await deadUrl() } }).app.request(WHOAMI, token('k1'));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await problemOf(res)).toMatchObject({ code: 'auth_unavailable', title: 'Service Unavailable' });
  });

  it('auth jwks - a JWKS server that never answers → 503 once the fetch times out', async () => {
    jwks.serve('hang');
    try {
      const res = await app({ jwksTimeoutMs: 200 }).request(WHOAMI, token('k1'));
      expect(res.status).toBe(503);
      expect((await problemOf(res)).code).toBe('auth_unavailable');
    } finally {
      jwks.serve(['k1']);
    }
  });

  it('auth jwks - while the JWKS fails, the keys fetched last keep verifying and the endpoint is not asked on every request', async () => {
    jwks.serve(['k1']);
    const gateway = app({ jwksCacheMs: 1, jwksMinRefreshMs: 60_000 });
    expect((await gateway.request(WHOAMI, token('k1'))).status).toBe(200);
    const fetchedBy = Date.now();
    jwks.serve('down');
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(fetchedBy + 1)); // the 1 ms cache has expired
    const before = jwks.fetches();
    expect((await gateway.request(WHOAMI, token('k1'))).status).toBe(200); // refetch fails: the last keys serve
    expect(jwks.fetches()).toBe(before + 1);
    expect((await gateway.request(WHOAMI, token('k1'))).status).toBe(200);
    const unknown = await gateway.request(WHOAMI, token('k2'));
    expect(unknown.status).toBe(401);
    expect(jwks.fetches()).toBe(before + 1);
    jwks.serve(['k1']);
  });

  it('auth jwks - time claims are refused with the words of the HS256 path: no exp, nbf in the future, expired', async () => {
    jwks.serve(['k1']);
    const gateway = app();
    for (const [extra, detail] of [
      [{ exp: undefined }, /no numeric "exp"/],
      [{ exp: 'soon' }, /no numeric "exp"/],
      [{ nbf: NOW_SEC + 120 }, /not valid yet \("nbf"\)/],
      [{ exp: NOW_SEC - 31 }, /expired/],
    ] as const) {
      const res = await gateway.request(WHOAMI, token('k1', extra));
      expect(res.status).toBe(401);
      expect((await problemOf(res)).detail).toMatch(detail);
    }
  });

  it('auth jwks - a jwksUrl that is not an http(s) URL is refused at start', () => {
    expect(() => testApp({ auth: { jwksUrl: 'not a url' } })).toThrow(/http\(s\) URL/);
    expect(() => testApp({ auth: { jwksUrl: 'file:///etc/jwks.json' } })).toThrow(/http\(s\) URL/);
  });
});
