import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { decode, verify } from 'hono/jwt';
import { ApiError } from '../api-error.ts';
import type { ResolvedAuthOptions } from '../gateway-options.ts';
import { ROLES, type GatewayEnv, type Principal, type Role } from '../gateway-env.ts';
import { isId, MAX_ID_LENGTH } from '../ids.ts';
import { JwksKeys, JwksUnavailableError } from './jwks-keys.ts';
import { VerifiedTokens } from './verified-tokens.ts';

type Claims = Record<string, unknown>;
type Verifier = (token: string, alg: string, kid: unknown) => Promise<Claims>;

const unauthorized = (detail: string): ApiError => new ApiError(401, 'unauthorized', detail);

/** Verified tokens remembered (see VerifiedTokens): how many, and for how long at most. */
const VERIFIED_TOKENS_MAX = 10_000;
const VERIFIED_TOKENS_TTL_MS = 60_000;

// Times are checked here (with the tolerance and the injected clock), not by hono.
const SKIP_TIMES = { exp: false, nbf: false, iat: false } as const;

function bearerToken(header: string | undefined): string {
  const match = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i.exec(header?.trim() ?? '');
  if (match?.[1] === undefined)
    throw unauthorized(
      header === undefined ? 'missing Authorization: Bearer token' : 'the Authorization header is not "Bearer <JWT>"',
    );
  return match[1];
}

function tokenHeader(token: string): { alg: unknown; kid: unknown } {
  try {
    const { header } = decode(token);
    return { alg: (header as { alg?: unknown }).alg, kid: (header as { kid?: unknown }).kid };
  } catch {
    throw unauthorized('the token is not a well-formed JWT');
  }
}

/**
 * HS256 with node:crypto: one synchronous HMAC and a constant-time compare (WebCrypto, as hono's
 * `verify` uses it, imports the key and runs a job per token: 127 µs against 6 µs here). The caller has pinned
 * the algorithm and `bearerToken` the shape: three base64url parts.
 */
function secretVerifier(secret: string): Verifier {
  const key = createSecretKey(Buffer.from(secret, 'utf8'));
  return async (token) => {
    const [header = '', payload = '', signature = ''] = token.split('.');
    const expected = createHmac('sha256', key).update(`${header}.${payload}`).digest();
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw unauthorized('the token signature is not valid');
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      throw unauthorized('the token is not a well-formed JWT');
    }
    if (claims === null || typeof claims !== 'object' || Array.isArray(claims))
      throw unauthorized('the token payload is not a JSON object');
    return claims as Claims;
  };
}

function jwksVerifier(keys: JwksKeys): Verifier {
  return async (token, alg, kid) => {
    if (typeof kid !== 'string' || kid === '') throw unauthorized('the token has no "kid" header naming a JWKS key');
    let key;
    try {
      key = await keys.find(kid);
    } catch (error) {
      if (error instanceof JwksUnavailableError)
        throw new ApiError(503, 'auth_unavailable', 'the token keys (JWKS) cannot be read right now; retry', [], 5);
      throw error;
    }
    if (key === undefined) throw unauthorized(`no JWKS key has kid "${kid}"`);
    if (key.alg !== undefined && key.alg !== alg) throw unauthorized(`JWKS key "${kid}" is for ${key.alg}, not ${alg}`);
    try {
      return await verify(token, key, { alg: alg as 'RS256', ...SKIP_TIMES });
    } catch {
      throw unauthorized('the token signature is not valid');
    }
  };
}

function checkTimes(claims: Claims, nowSec: number, toleranceSec: number): void {
  const { exp, nbf, iat } = claims;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw unauthorized('the token has no numeric "exp" claim');
  if (exp + toleranceSec <= nowSec) throw unauthorized('the token has expired');
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf - toleranceSec > nowSec))
    throw unauthorized('the token is not valid yet ("nbf")');
  if (iat !== undefined && (typeof iat !== 'number' || iat - toleranceSec > nowSec))
    throw unauthorized('the token was issued in the future ("iat")');
}

/**
 * The principal of verified claims; unknown roles are ignored (a newer issuer may know more).
 * `sub`, `tid` and `cid` must be ids the store can hold as they are: MySQL
 * compares VARCHARs with PAD SPACE, so a tenant `"acme "` would read and
 * write tenant `acme`'s rows, and one longer than its column fails as a 5xx.
 */
export function principalOf(claims: Claims): Principal {
  const { sub, tid, roles, cid } = claims;
  if (!isId(sub, MAX_ID_LENGTH.id))
    throw unauthorized(
      `the token's "sub" claim is not an employee id (1–${MAX_ID_LENGTH.id} of letters, digits and _ . : @ -)`,
    );
  if (!isId(tid, MAX_ID_LENGTH.tenant))
    throw unauthorized(
      `the token's "tid" claim is not a tenant id (1–${MAX_ID_LENGTH.tenant} of letters, digits and _ . : @ -)`,
    );
  if (!Array.isArray(roles)) throw unauthorized('the token has no "roles" array claim');
  if (cid !== undefined && !isId(cid, MAX_ID_LENGTH.company))
    throw unauthorized(
      `the token's "cid" claim is not a company id (1–${MAX_ID_LENGTH.company} of letters, digits and _ . : @ -)`,
    );
  const known = roles.filter((r): r is Role => (ROLES as readonly unknown[]).includes(r));
  const principal: Principal = { employee: sub, tenant: tid, roles: new Set(known) };
  if (cid !== undefined) principal.companyId = cid;
  return principal;
}

/**
 * Verifies `Authorization: Bearer <JWT>` and sets `principal`. The algorithm is
 * pinned by the mode (HS256 with a secret; RS256/ES256 with JWKS) before any key
 * is touched; `exp` is required. Any failure → 401 `unauthorized`.
 */
export function auth(options: ResolvedAuthOptions, now: () => number = Date.now): MiddlewareHandler<GatewayEnv> {
  const { mode } = options;
  const allowed: readonly string[] = mode.kind === 'secret' ? ['HS256'] : mode.algorithms;
  const verifyToken =
    mode.kind === 'secret'
      ? secretVerifier(mode.secret)
      : jwksVerifier(
          new JwksKeys({
            url: mode.url,
            timeoutMs: options.jwksTimeoutMs,
            cacheMs: options.jwksCacheMs,
            minRefreshMs: options.jwksMinRefreshMs,
            now,
          }),
        );
  const verified = new VerifiedTokens<{ claims: Claims; principal: Principal }>(
    VERIFIED_TOKENS_MAX,
    VERIFIED_TOKENS_TTL_MS,
    now,
  );
  return createMiddleware<GatewayEnv>(async (c, next) => {
    const token = bearerToken(c.req.header('Authorization'));
    let known = verified.get(token);
    if (known === undefined) {
      const { alg, kid } = tokenHeader(token);
      if (typeof alg !== 'string' || !allowed.includes(alg)) {
        throw unauthorized(
          `the token algorithm ${JSON.stringify(alg)} is not accepted (expected ${allowed.join(' or ')})`,
        );
      }
      const claims = await verifyToken(token, alg, kid);
      known = { claims, principal: principalOf(claims) };
      // Remembered only once valid in every way but time, which is checked on every request below.
      verified.set(token, known);
    }
    checkTimes(known.claims, Math.floor(now() / 1000), options.clockToleranceSec);
    c.set('principal', known.principal);
    await next();
  });
}

/** True when the principal has one of `roles`; `admin` has every role (the tenant's superuser). */
export function hasRole(principal: Principal, ...roles: readonly Role[]): boolean {
  return principal.roles.has('admin') || roles.some((r) => principal.roles.has(r));
}

/**
 * Route guard: 403 `forbidden` unless the caller has one of `roles` (admin passes every guard).
 * @example app.openapi(createRoute({ ..., middleware: [requireRole('designer')] }), handler)
 */
export function requireRole(...roles: readonly Role[]): MiddlewareHandler<GatewayEnv> {
  return createMiddleware<GatewayEnv>(async (c, next) => {
    const principal = principalFrom(c);
    if (!hasRole(principal, ...roles))
      throw new ApiError(403, 'forbidden', `this operation requires the role ${roles.join(' or ')}`);
    await next();
  });
}

/** The authenticated caller; 401 when the route is not behind `auth` (a wiring mistake fails closed). */
export function principalFrom(c: Context<GatewayEnv>): Principal {
  const principal = c.get('principal') as Principal | undefined;
  if (principal === undefined) throw unauthorized('authentication required');
  return principal;
}
