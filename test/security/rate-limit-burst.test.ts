import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/gateway/app.ts';
import { poDoc, SECRET, TENANT_A, TENANT_B } from '../gateway/test-backend.ts';
import { SECURITY_HEADERS } from './security-checks.ts';
import { twoTenants, type TwoTenants } from './two-tenants.ts';

/**
 * A burst of concurrent writes through the real API routes: exactly the
 * bucket's burst is served, the rest is 429 `rate_limited` with Retry-After
 * and the security headers, a refused write creates nothing, and one
 * caller's burst limits neither another caller nor the same employee id in
 * another tenant. The clock is the test gateway's (fixed): no refill.
 */

const BURST = 5;
const SENT = 40;

describe('rate limit under a burst', () => {
  let t: TwoTenants;
  let app: ReturnType<typeof createApp>;
  beforeAll(async () => {
    t = await twoTenants('memory', 'burst');
    app = createApp(t.gw.deps, { auth: { secret: SECRET }, rateLimit: { perMinute: 1, burst: BURST } });
  });
  afterAll(() => t?.close());

  const bearer = async (tid: string, sub: string) =>
    `Bearer ${await sign({ sub, tid, roles: ['member'], exp: Math.floor(t.gw.clock.now() / 1000) + 3600 }, SECRET, 'HS256')}`;
  const start = (auth: string, docId: string) =>
    app.request('/api/v1/runtimes', {
      method: 'POST',
      headers: { Authorization: auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ app: 'purchase.order', docId, doc: poDoc(3) }),
    });

  it(`rate limit burst - ${SENT} concurrent starts: ${BURST} runtimes created, the rest 429 with Retry-After and security headers, nothing else created`, async () => {
    const before = (await t.gw.store.read.listRuntimes(TENANT_A, {}, 500)).items.length;
    const auth = await bearer(TENANT_A, 'alice');
    const replies = await Promise.all(Array.from({ length: SENT }, (_, i) => start(auth, `BURST-${i}`)));
    const created = replies.filter((r) => r.status === 201);
    const limited = replies.filter((r) => r.status === 429);
    expect(created).toHaveLength(BURST);
    expect(limited).toHaveLength(SENT - BURST);
    for (const r of limited) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(r.headers.get(name), name).toMatch(value);
      expect(((await r.json()) as { code: string }).code).toBe('rate_limited');
    }
    expect((await t.gw.store.read.listRuntimes(TENANT_A, {}, 500)).items.length).toBe(before + BURST);
  });

  it('rate limit burst - the limited caller does not limit another employee, nor the same employee id in another tenant', async () => {
    const limited = await start(await bearer(TENANT_A, 'alice'), 'BURST-after');
    expect(limited.status).toBe(429);
    expect((await start(await bearer(TENANT_A, 'bob'), 'BURST-bob')).status).toBe(201);
    expect((await start(await bearer(TENANT_B, 'alice'), 'BURST-b')).status).toBe(201);
  });
});
