import type { Context, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { decode } from 'hono/jwt';
import { ApiError } from '../api-error.ts';
import type { ResolvedAuthOptions } from '../gateway-options.ts';
import { ROLES, type GatewayEnv, type Principal, type Role } from '../gateway-env.ts';
import { isId, MAX_ID_LENGTH } from '../ids.ts';
import { clientIp } from './client-ip.ts';
import type { FailedAuthLimiter } from './failed-auth.ts';
import { hs256Verifier } from './hs256-verifier.ts';
import { jwksVerifier } from './jwks-verifier.ts';
import { type Claims, checkTimes, type TokenVerifier, unauthorized } from './token-claims.ts';
import { VerifiedTokens } from './verified-tokens.ts';

/** Verified tokens remembered (see VerifiedTokens): how many, and for how long at most. */
const VERIFIED_TOKENS_MAX = 10_000;
const VERIFIED_TOKENS_TTL_MS = 60_000;

/** The JWT of an `Authorization: Bearer <JWT>` header, or undefined when the header is not one. */
function bearerOf(header: string | undefined): string | undefined {
  return /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i.exec(header?.trim() ?? '')?.[1];
}

function bearerToken(header: string | undefined): string {
  const token = bearerOf(header);
  if (token === undefined)
    throw unauthorized(
      header === undefined ? 'missing Authorization: Bearer token' : 'the Authorization header is not "Bearer <JWT>"',
    );
  return token;
}

function tokenHeader(token: string): { alg: unknown; kid: unknown } {
  try {
    const { header } = decode(token);
    return { alg: (header as { alg?: unknown }).alg, kid: (header as { kid?: unknown }).kid };
  } catch {
    throw unauthorized('the token is not a well-formed JWT');
  }
}

function verifierOf(options: ResolvedAuthOptions, now: () => number): TokenVerifier {
  const { mode } = options;
  if (mode.kind === 'secret') return hs256Verifier(mode.secret);
  return jwksVerifier({
    url: mode.url,
    algorithms: mode.algorithms,
    timeoutMs: options.jwksTimeoutMs,
    cacheMs: options.jwksCacheMs,
    minRefreshMs: options.jwksMinRefreshMs,
    clockToleranceSec: options.clockToleranceSec,
    now,
  });
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

/** What a refused token failed (the audit log's `reason`). */
export type AuthFailureReason =
  | 'missing_token'
  | 'malformed_token'
  | 'algorithm_refused'
  | 'signature_refused'
  | 'claims_refused'
  | 'expired_or_not_yet_valid';

/** The failed-authentication limit of {@link auth}: the limiter, and how to find a request's client IP. */
export interface AuthFailureLimit {
  limiter: FailedAuthLimiter;
  trustedProxyHops: number;
}

/**
 * Verifies `Authorization: Bearer <JWT>` and sets `principal`. The algorithm is
 * pinned by the mode (HS256 with a secret; RS256/ES256 with JWKS) before any key
 * is touched; `exp` is required. Any failure → 401 `unauthorized`, but JWKS
 * keys that cannot be read → 503 `auth_unavailable` with Retry-After.
 * With `failures`, a token not verified before is looked at only while its IP has failures left
 * (else 429 `auth_rate_limited`), and every 401 counts against the IP (see FailedAuthLimiter).
 */
export function auth(
  options: ResolvedAuthOptions,
  now: () => number = Date.now,
  failures?: AuthFailureLimit,
): MiddlewareHandler<GatewayEnv> {
  const { mode } = options;
  const allowed: readonly string[] = mode.kind === 'secret' ? ['HS256'] : mode.algorithms;
  const verifyToken = verifierOf(options, now);
  const verified = new VerifiedTokens<{ claims: Claims; principal: Principal }>(
    VERIFIED_TOKENS_MAX,
    VERIFIED_TOKENS_TTL_MS,
    now,
  );
  /**
   * `ip`: the client's, when the failed-authentication limit applies (a limit and a known address).
   * `step` says what was being checked when a failure was thrown (the audit log's reason: never the token).
   */
  const authenticate = async (
    c: Context<GatewayEnv>,
    ip: string | undefined,
    step: { reason: AuthFailureReason },
  ): Promise<Principal> => {
    const header = c.req.header('Authorization');
    const bearer = bearerOf(header);
    let known = bearer === undefined ? undefined : verified.get(bearer);
    if (known === undefined) {
      if (ip !== undefined) await failures?.limiter.refuseIfBlocked(ip, c.get('logger'));
      step.reason = header === undefined ? 'missing_token' : 'malformed_token';
      const token = bearerToken(header);
      const { alg, kid } = tokenHeader(token);
      step.reason = 'algorithm_refused';
      if (typeof alg !== 'string' || !allowed.includes(alg)) {
        throw unauthorized(
          `the token algorithm ${JSON.stringify(alg)} is not accepted (expected ${allowed.join(' or ')})`,
        );
      }
      step.reason = 'signature_refused';
      const claims = await verifyToken(token, alg, kid);
      step.reason = 'claims_refused';
      known = { claims, principal: principalOf(claims) };
      // Remembered only once valid in every way but time, which is checked on every request below.
      verified.set(token, known);
    }
    step.reason = 'expired_or_not_yet_valid';
    checkTimes(known.claims, Math.floor(now() / 1000), options.clockToleranceSec);
    return known.principal;
  };
  return createMiddleware<GatewayEnv>(async (c, next) => {
    const ip = failures === undefined ? undefined : clientIp(c, failures.trustedProxyHops);
    const step = { reason: 'missing_token' as AuthFailureReason };
    let principal: Principal;
    try {
      principal = await authenticate(c, ip, step);
    } catch (err) {
      if (ip !== undefined && err instanceof ApiError && err.status === 401)
        await failures?.limiter.failed(ip, step.reason, c.get('logger'));
      throw err;
    }
    c.set('principal', principal);
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
