import { createHmac, createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { Writable } from 'node:stream';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createApp, requireRole } from '../../src/gateway/app.ts';
import type { GatewayDeps } from '../../src/gateway/gateway-deps.ts';
import type { GatewayEnv } from '../../src/gateway/gateway-env.ts';
import type { GatewayOptions } from '../../src/gateway/gateway-options.ts';

export const SECRET = 'test-secret-0123456789-abcdefghijklmnop';
/** A fixed clock for the app; tokens are built relative to it. */
export const NOW_MS = 1_800_000_000_000;
export const NOW_SEC = NOW_MS / 1000;

export interface TestApp {
  app: OpenAPIHono<GatewayEnv>;
  deps: GatewayDeps;
  registry: Registry;
  /** JSON log lines written by the app's logger. */
  logs: Record<string, unknown>[];
}

/** A GatewayDeps with stubs only: these tests exercise the foundation, not the API routes. */
export function fakeDeps(
  overrides: Partial<GatewayDeps> = {},
  logLevel = 'info',
): { deps: GatewayDeps; logs: Record<string, unknown>[] } {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('not used by the foundation tests')) });
  const deps: GatewayDeps = {
    router: unused as GatewayDeps['router'],
    read: unused as GatewayDeps['read'],
    workflows: unused as GatewayDeps['workflows'],
    directory: unused as GatewayDeps['directory'],
    cluster: () => Promise.reject(new Error('not used')),
    readiness: async () => ({ store: true, bus: true }),
    registry: new Registry(),
    logger: pino({ level: logLevel }, sink),
    now: () => NOW_MS,
    ...overrides,
  };
  return { deps, logs };
}

/** createApp plus a few probe routes under /api/v1/__test (behind auth and rate limit like any API route). */
export function testApp(
  options: Partial<GatewayOptions> = {},
  overrides: Partial<GatewayDeps> = {},
  logLevel = 'info',
): TestApp {
  const { deps, logs } = fakeDeps(overrides, logLevel);
  const app = createApp(deps, { auth: { secret: SECRET }, ...options });
  app.get('/api/v1/__test/whoami', (c) => {
    const p = c.get('principal');
    return c.json({
      employee: p.employee,
      tenant: p.tenant,
      roles: [...p.roles].sort(),
      companyId: p.companyId ?? null,
    });
  });
  app.get('/api/v1/__test/designer', requireRole('designer'), (c) => c.json({ ok: true }));
  app.get('/api/v1/__test/items/:id', (c) => c.json({ id: c.req.param('id') }));
  app.get('/api/v1/__test/boom', () => {
    throw new Error('db password is hunter2');
  });
  app.get('/api/v1/__test/coded/:code', (c) => {
    throw Object.assign(new Error(`layer said ${c.req.param('code')}`), {
      code: c.req.param('code'),
      errors: [{ path: 'a.b', message: 'bad' }],
      retryAfterMs: 2_500,
    });
  });
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/__test/echo',
      summary: 'echo a body',
      request: {
        body: { content: { 'application/json': { schema: z.object({ name: z.string(), n: z.number().int() }) } } },
      },
      responses: {
        200: {
          description: 'the body',
          content: { 'application/json': { schema: z.object({ name: z.string(), n: z.number() }) } },
        },
      },
    }),
    (c) => c.json(c.req.valid('json'), 200),
  );
  return { app, deps, registry: deps.registry, logs };
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Claims of a valid token (sub e1, tenant t1, member) expiring in an hour. */
export const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  sub: 'e1',
  tid: 't1',
  roles: ['member'],
  iat: NOW_SEC - 10,
  exp: NOW_SEC + 3600,
  ...extra,
});

/** An HMAC-signed JWT with any header (HS256/384/512 by header.alg). */
export function hmacToken(
  payload: Record<string, unknown>,
  secret: string | Buffer,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[String(header['alg'])] ?? 'sha256';
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

/** An RS256 / ES256 JWT signed with `key`. */
export function asymmetricToken(
  payload: Record<string, unknown>,
  key: KeyObject | string,
  header: Record<string, unknown>,
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const privateKey = typeof key === 'string' ? createPrivateKey(key) : key;
  const signature = cryptoSign(
    'sha256',
    Buffer.from(input),
    privateKey.asymmetricKeyType === 'ec' ? { key: privateKey, dsaEncoding: 'ieee-p1363' } : privateKey,
  );
  return `${input}.${signature.toString('base64url')}`;
}

/** An unsigned `alg: none` token. */
export const noneToken = (payload: Record<string, unknown>): string =>
  `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;

export const bearer = (token: string): { headers: Record<string, string> } => ({
  headers: { Authorization: `Bearer ${token}` },
});

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { path: string; message: string }[];
}

/** Asserts a problem+json response and returns its body. */
export async function problemOf(res: Response): Promise<Problem> {
  if (!(res.headers.get('content-type') ?? '').startsWith('application/problem+json')) {
    throw new Error(`not a problem: ${res.status} ${res.headers.get('content-type')} ${await res.text()}`);
  }
  return (await res.json()) as Problem;
}
