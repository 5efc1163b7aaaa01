import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { loadConfig } from '../../src/app/config.ts';
import { DEMO_TENANT, seedDemo } from '../../src/app/demo/demo-seed.ts';
import { signToken, type TokenClaims } from '../../src/app/dev-token.ts';
import { startEmbedded, type EmbeddedBackend } from '../../src/app/embedded.ts';
import { createApp, type GatewayOptions } from '../../src/gateway/app.ts';
import type { GatewayDeps } from '../../src/gateway/gateway-deps.ts';

/**
 * The security suites' gateway: the real app (createApp) over the embedded
 * backend (`bflow all`) with the demo tenant seeded, as `npm start` runs it.
 */

export const SECRET = 'security-tests-secret-0123456789-abcdefghij';
export { DEMO_TENANT };

/** The demo PO document (every declared field of examples/purchase-order.json). */
export const poDoc = (amount: number): Record<string, unknown> => ({
  amount,
  currency: 'VND',
  requester: 'alice',
  items: [{ category: 'capex', total: 1 }],
  note: 'n',
  supplier: 'ACME',
});

/** JSON log lines written to memory (never to the terminal). */
export function memoryLogger(level = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

export interface SecurityGateway {
  app: ReturnType<typeof createApp>;
  backend: EmbeddedBackend;
  deps: GatewayDeps;
  token(claims: TokenClaims, ttlSec?: number): Promise<string>;
  /** A request as `claims` (JSON body when given). */
  call(
    claims: TokenClaims,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
  stop(): Promise<void>;
}

/** Embedded backend (4 shards), demo seed, the app with a rate limit no test reaches unless `options` says so. */
export async function securityGateway(
  options: Partial<GatewayOptions> = {},
  logger: Logger = pino({ level: 'silent' }),
): Promise<SecurityGateway> {
  const backend = await startEmbedded({ ...loadConfig({}), shards: 4 }, logger);
  await seedDemo(backend.deps);
  const deps: GatewayDeps = { ...backend.deps, logger };
  const app = createApp(deps, {
    auth: { secret: SECRET },
    rateLimit: { perMinute: 1_000_000, burst: 1_000_000 },
    ...options,
  });
  const token = (claims: TokenClaims, ttlSec = 3600) => signToken(SECRET, claims, ttlSec);
  async function call(
    claims: TokenClaims,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const init: RequestInit = { method, headers: { Authorization: `Bearer ${await token(claims)}`, ...headers } };
    if (body !== undefined) {
      (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return app.request(path, init);
  }
  return { app, backend, deps, token, call, stop: () => backend.stop() };
}

export const demoMember = (sub: string): TokenClaims => ({ sub, tid: DEMO_TENANT, roles: ['member'] });
export const demoAdmin: TokenClaims = { sub: 'ceo', tid: DEMO_TENANT, roles: ['admin'] };
export const demoDesigner: TokenClaims = { sub: 'dee', tid: DEMO_TENANT, roles: ['designer'] };

/** Starts a PO as `creator`; throws unless 201. */
export async function startPo(
  gw: SecurityGateway,
  docId: string,
  creator = 'alice',
  amount = 5_000_000,
): Promise<{ id: string; revision: number }> {
  const res = await gw.call(demoMember(creator), 'POST', '/api/v1/runtimes', {
    app: 'purchase.order',
    docId,
    doc: poDoc(amount),
  });
  if (res.status !== 201) throw new Error(`start ${docId}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; revision: number };
}

/** Sends one action; throws unless 200. */
export async function actOk(
  gw: SecurityGateway,
  claims: TokenClaims,
  id: string,
  body: Record<string, unknown>,
): Promise<void> {
  const res = await gw.call(claims, 'POST', `/api/v1/runtimes/${id}/actions`, body);
  if (res.status !== 200) throw new Error(`${String(body['action'])} ${id}: ${res.status} ${await res.text()}`);
}

/** Markers of a leaked stack trace or internal path in a response body. */
export const LEAK_PATTERNS: readonly RegExp[] = [
  /\bat [\w$.<>]+ \(/, // "at fn (file:line)"
  /\bat (file|node):/,
  /node:internal/,
  /node_modules/,
  /\/work\/main|\/src\/(gateway|engine|store|actors)\//,
  /\.ts:\d+/,
  /\b(TypeError|RangeError|ReferenceError|SyntaxError)\b/,
  /Maximum call stack/,
];

/** The first leak marker found in `text`, or undefined. */
export function leakIn(text: string): string | undefined {
  return LEAK_PATTERNS.find((p) => p.test(text))?.source;
}
