import { randomBytes } from 'node:crypto';
import { sign } from 'hono/jwt';

/** Claims of a bflow access token (docs/api.md#authentication). */
export interface TokenClaims {
  /** Employee id. */
  sub: string;
  /** Tenant id. */
  tid: string;
  roles: readonly string[];
  /** Company id, when the caller acts for one company. */
  cid?: string;
}

/**
 * An HS256 token for `claims`, valid for `ttlSec` from `now` (epoch ms): what
 * an identity provider would issue, for development and tests.
 *
 * @example
 * const token = await signToken(secret, { sub: 'alice', tid: 'demo', roles: ['member'] }, 3600);
 */
export function signToken(secret: string, claims: TokenClaims, ttlSec: number, now = Date.now()): Promise<string> {
  const iat = Math.floor(now / 1000);
  return sign({ ...claims, roles: [...claims.roles], iat, exp: iat + ttlSec }, secret, 'HS256');
}

/** A random HS256 secret for the embedded mode when BFLOW_JWT_SECRET is unset (printed at start, gone at exit). */
export function generateDevSecret(): string {
  return randomBytes(32).toString('base64url');
}
