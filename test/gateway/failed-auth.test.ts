import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { serveHttp } from '../../src/app/gateway-server.ts';
import { RedisRateLimitStore } from '../../src/gateway/rate-limit/redis-rate-limit-store.ts';
import type { RateLimitStore } from '../../src/gateway/rate-limit/rate-limit-store.ts';
import { claims, hmacToken, problemOf, SECRET, testApp } from './gateway-fixture.ts';

vi.mock('../../src/gateway/routes/index.ts', () => ({ registerApiRoutes: () => undefined }));

/** Every signature check the gateway makes, counted (the limit must refuse before them). */
const verifications = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../src/gateway/middleware/hs256-verifier.ts', async (load) => {
  const real = await load<typeof import('../../src/gateway/middleware/hs256-verifier.ts')>();
  return {
    hs256Verifier: (secret: string) => {
      const verify = real.hs256Verifier(secret);
      return (...args: Parameters<typeof verify>) => {
        verifications.count += 1;
        return verify(...args);
      };
    },
  };
});

const REDIS_URL = process.env.BFLOW_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `bflow-test-fa-${randomBytes(6).toString('hex')}`;
const stores: RateLimitStore[] = [];
afterAll(async () => {
  for (const store of stores) await store.close();
  const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  for await (const keys of admin.scanStream({ match: `${PREFIX}:*`, count: 500 })) {
    if ((keys as string[]).length > 0) await admin.del(...(keys as string[]));
  }
  admin.disconnect();
});
beforeEach(() => {
  verifications.count = 0;
});

const WHOAMI = '/api/v1/__test/whoami';
const FORGED = hmacToken(claims({ sub: 'mallory' }), 'not-the-secret-0123456789-abcdefghij');
const GOOD = hmacToken(claims({ sub: 'alice' }), SECRET);
/** A request from `ip` through one trusted proxy (which appended the address it received from). */
const from = (ip: string, token: string, spoofed = '') => ({
  headers: { Authorization: `Bearer ${token}`, 'X-Forwarded-For': `${spoofed}${ip}` },
});
const behindProxy = { failedAuth: { perMinute: 1, burst: 5, trustedProxyHops: 1 } };

describe('failed authentication - per-IP limit', () => {
  it('failed auth - a burst of bad tokens from one IP: 401 for the burst, then 429 auth_rate_limited with Retry-After, unverified', async () => {
    const { app, registry } = testApp(behindProxy);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await app.request(WHOAMI, from('203.0.113.7', FORGED))).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    expect(verifications.count).toBe(5);

    for (let i = 0; i < 20; i++) {
      const res = await app.request(WHOAMI, from('203.0.113.7', FORGED));
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const problem = await problemOf(res);
      expect(problem.code).toBe('auth_rate_limited');
      expect(problem.status).toBe(429);
    }
    // Refused before the token was decoded or its signature checked.
    expect(verifications.count).toBe(5);
    // Even a good token, new to this gateway, waits: the address is refused, not the token.
    expect((await app.request(WHOAMI, from('203.0.113.7', GOOD))).status).toBe(429);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/bflow_auth_failures_total 5/);
    expect(metrics).toMatch(/bflow_auth_failures_limited_total 21/);
  });

  it('failed auth - another IP with a good token is unaffected, and so is a token verified before the block', async () => {
    const { app } = testApp(behindProxy);
    const known = hmacToken(claims({ sub: 'bob' }), SECRET);
    expect((await app.request(WHOAMI, from('198.51.100.1', known))).status).toBe(200);
    for (let i = 0; i < 8; i++) await app.request(WHOAMI, from('198.51.100.1', FORGED));
    expect((await app.request(WHOAMI, from('198.51.100.1', FORGED))).status).toBe(429);

    const other = await app.request(WHOAMI, from('198.51.100.2', GOOD));
    expect(other.status).toBe(200);
    expect(((await other.json()) as { employee: string }).employee).toBe('alice');
    // Bob's token was verified before: the cache answers it without verification, so the limit does not apply.
    expect((await app.request(WHOAMI, from('198.51.100.1', known))).status).toBe(200);
  });

  it('failed auth - X-Forwarded-For entries left of the trusted hops are ignored: a client cannot pick its address', async () => {
    const { app } = testApp(behindProxy);
    for (let i = 0; i < 5; i++) await app.request(WHOAMI, from('192.0.2.9', FORGED, `10.9.9.${i}, `));
    expect((await app.request(WHOAMI, from('192.0.2.9', FORGED, '10.1.1.1, '))).status).toBe(429);
  });

  it('failed auth - repeated failures leave one audit line: ip, count, reason, never the token', async () => {
    const { app, logs } = testApp(behindProxy);
    for (let i = 0; i < 7; i++) await app.request(WHOAMI, from('203.0.113.50', FORGED));
    const audit = logs.filter((l) => l['audit'] === 'auth_failures');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      level: 40,
      ip: '203.0.113.50',
      count: 5,
      reason: 'signature_refused',
      msg: 'repeated authentication failures from one address',
    });
    expect(JSON.stringify(logs)).not.toContain(FORGED.split('.')[2]);
    // A missing header and a malformed one count too; one line a minute per address at most.
    const other = testApp(behindProxy);
    for (let i = 0; i < 5; i++)
      await other.app.request(WHOAMI, { headers: { 'X-Forwarded-For': '203.0.113.51', Authorization: 'Basic x' } });
    expect(other.logs.filter((l) => l['audit'] === 'auth_failures')).toEqual([
      expect.objectContaining({ ip: '203.0.113.51', count: 5, reason: 'malformed_token' }),
    ]);
  });

  it('failed auth - the socket peer is the address without a trusted proxy (served over HTTP)', async () => {
    const { app } = testApp({ failedAuth: { perMinute: 1, burst: 2 } });
    const server = await serveHttp(app.fetch, 0, pino({ level: 'silent' }));
    try {
      const get = (token: string, spoof: string) =>
        fetch(`${server.url}${WHOAMI}`, { headers: { Authorization: `Bearer ${token}`, 'X-Forwarded-For': spoof } });
      expect((await get(FORGED, '1.1.1.1')).status).toBe(401);
      expect((await get(FORGED, '2.2.2.2')).status).toBe(401);
      const refused = await get(FORGED, '3.3.3.3');
      expect(refused.status).toBe(429);
      expect((await problemOf(refused)).code).toBe('auth_rate_limited');
    } finally {
      await server.close(100);
    }
  });
});

describe('failed authentication - Redis store', () => {
  const store = async (url = REDIS_URL) => {
    const s = await RedisRateLimitStore.create({ url, prefix: PREFIX });
    stores.push(s);
    return s;
  };

  it('failed auth - two gateway replicas share the failures of an IP through Redis', async () => {
    const a = testApp({ ...behindProxy, rateLimit: { store: await store() } }).app;
    const b = testApp({ ...behindProxy, rateLimit: { store: await store() } }).app;
    const ip = `203.0.113.${randomBytes(1)[0]}`;
    for (let i = 0; i < 5; i++) expect((await (i % 2 ? a : b).request(WHOAMI, from(ip, FORGED))).status).toBe(401);
    expect((await a.request(WHOAMI, from(ip, FORGED))).status).toBe(429);
    expect((await b.request(WHOAMI, from(ip, FORGED))).status).toBe(429);
    expect((await b.request(WHOAMI, from('198.51.100.77', GOOD))).status).toBe(200);
  });

  it('failed auth - Redis unreachable: the limit fails open (401s, never 429), counted, and the audit line still comes', async () => {
    const down = await store('redis://127.0.0.1:1');
    const { app, registry, logs } = testApp({ ...behindProxy, rateLimit: { store: down } });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await app.request(WHOAMI, from('203.0.113.99', FORGED))).status);
    expect(statuses).toEqual(Array(8).fill(401));
    expect((await app.request(WHOAMI, from('203.0.113.99', GOOD))).status).toBe(200);
    expect(await registry.metrics()).toMatch(/bflow_rate_limit_store_errors_total [1-9]\d*/);
    expect(logs.filter((l) => l['audit'] === 'auth_failures')).toEqual([
      expect.objectContaining({ ip: '203.0.113.99', count: 5 }),
    ]);
  });
});
