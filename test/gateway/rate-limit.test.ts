import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { MemoryRateLimitStore } from '../../src/gateway/rate-limit/memory-rate-limit-store.ts';
import { RedisRateLimitStore } from '../../src/gateway/rate-limit/redis-rate-limit-store.ts';
import type { RateLimitStore } from '../../src/gateway/rate-limit/rate-limit-store.ts';
import { bearer, claims, hmacToken, NOW_MS, problemOf, SECRET, testApp } from './gateway-fixture.ts';

vi.mock('../../src/gateway/routes/index.ts', () => ({ registerApiRoutes: () => undefined }));

const REDIS_URL = process.env.BFLOW_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
// The shared server: a unique prefix per run, and only our keys are deleted afterwards.
const PREFIX = `bflow-test-rl-${randomBytes(6).toString('hex')}`;
const admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
const stores: RateLimitStore[] = [];

afterAll(async () => {
  for (const store of stores) await store.close();
  for await (const keys of admin.scanStream({ match: `${PREFIX}:*`, count: 500 })) {
    if ((keys as string[]).length > 0) await admin.del(...(keys as string[]));
  }
  admin.disconnect();
});

const WHOAMI = '/api/v1/__test/whoami';
const as = (sub: string, tid = 't1') => bearer(hmacToken(claims({ sub, tid }), SECRET));

async function statuses(app: ReturnType<typeof testApp>['app'], n: number, init: RequestInit): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await app.request(WHOAMI, init)).status);
  return out;
}

describe('rate limit - in-process buckets', () => {
  it('rate limit - the burst passes, the next request → 429 rate_limited with Retry-After', async () => {
    const { app } = testApp({ rateLimit: { perMinute: 60, burst: 3 } });
    expect(await statuses(app, 3, as('e1'))).toEqual([200, 200, 200]);
    const res = await app.request(WHOAMI, as('e1'));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect((await problemOf(res)).code).toBe('rate_limited');
  });

  it('rate limit - a concurrent burst of 60: exactly the burst (10) passes, 50 are 429 with Retry-After', async () => {
    const { app, registry } = testApp({ rateLimit: { perMinute: 60, burst: 10 } });
    const replies = await Promise.all(Array.from({ length: 60 }, () => app.request(WHOAMI, as('e-burst'))));
    expect(replies.filter((r) => r.status === 200)).toHaveLength(10);
    const limited = replies.filter((r) => r.status === 429);
    expect(limited).toHaveLength(50);
    for (const r of limited) expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await registry.metrics()).toMatch(/bflow_rate_limited_total 50/);
  });

  it('rate limit - buckets are per (tenant, sub): another client or tenant is not limited', async () => {
    const { app } = testApp({ rateLimit: { perMinute: 60, burst: 2 } });
    expect(await statuses(app, 3, as('e1'))).toEqual([200, 200, 429]);
    expect(await statuses(app, 2, as('e2'))).toEqual([200, 200]);
    expect(await statuses(app, 2, as('e1', 't2'))).toEqual([200, 200]);
  });

  it('rate limit - tokens come back at perMinute (injected clock)', async () => {
    let now = NOW_MS;
    const clock = () => now;
    const { app } = testApp(
      { rateLimit: { perMinute: 30, burst: 1, store: new MemoryRateLimitStore({ now: clock }) } },
      { now: clock },
    );
    expect(await statuses(app, 2, as('e1'))).toEqual([200, 429]);
    expect((await app.request(WHOAMI, as('e1'))).headers.get('retry-after')).toBe('2');
    now += 2_000;
    expect(await statuses(app, 2, as('e1'))).toEqual([200, 429]);
  });

  it('rate limit - operations routes are not limited', async () => {
    const { app } = testApp({ rateLimit: { perMinute: 1, burst: 1 } });
    for (let i = 0; i < 5; i++) expect((await app.request('/health')).status).toBe(200);
  });
});

describe('rate limit - Redis store shared by gateway replicas', () => {
  const store = async () => {
    const s = await RedisRateLimitStore.create({ url: REDIS_URL, prefix: PREFIX });
    stores.push(s);
    return s;
  };

  it('rate limit - two replicas share one bucket: the burst across both, then 429 with Retry-After', async () => {
    const a = testApp({ rateLimit: { perMinute: 60, burst: 4, store: await store() } }).app;
    const b = testApp({ rateLimit: { perMinute: 60, burst: 4, store: await store() } }).app;
    const who = as(`e-${randomBytes(3).toString('hex')}`);
    const seen = [...(await statuses(a, 2, who)), ...(await statuses(b, 2, who))];
    expect(seen).toEqual([200, 200, 200, 200]);
    const res = await b.request(WHOAMI, who);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await problemOf(res)).code).toBe('rate_limited');
    expect((await a.request(WHOAMI, who)).status).toBe(429);
    const keys = await admin.keys(`${PREFIX}:rl:*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(await admin.pttl(keys[0] ?? '')).toBeGreaterThan(0);
  });

  it('rate limit - a concurrent burst of 60 across two replicas sharing Redis: exactly the burst (10) passes', async () => {
    const a = testApp({ rateLimit: { perMinute: 1, burst: 10, store: await store() } }).app;
    const b = testApp({ rateLimit: { perMinute: 1, burst: 10, store: await store() } }).app;
    const who = as(`e-${randomBytes(3).toString('hex')}`);
    const replies = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).request(WHOAMI, who)));
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(50);
  });

  it('rate limit - Redis unreachable → requests pass (fail open), counted in bflow_rate_limit_store_errors_total', async () => {
    const down = await RedisRateLimitStore.create({ url: 'redis://127.0.0.1:1', prefix: PREFIX });
    stores.push(down);
    const { app, registry } = testApp({ rateLimit: { perMinute: 60, burst: 1, store: down } });
    expect(await statuses(app, 3, as('e1'))).toEqual([200, 200, 200]);
    expect(await registry.metrics()).toMatch(/bflow_rate_limit_store_errors_total 3/);
  });
});
