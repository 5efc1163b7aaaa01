import { ApiError } from '../api-error.ts';

/** The payload of a verified token. */
export type Claims = Record<string, unknown>;

/**
 * Verifies a bearer token's signature with the algorithm the caller has pinned
 * (`alg`, checked against the mode's list) and returns its claims; throws a 401
 * ApiError for a token it refuses.
 */
export type TokenVerifier = (token: string, alg: string, kid: unknown) => Promise<Claims>;

/** The 401 of every refused token: its detail says what is wrong with the token. */
export const unauthorized = (detail: string): ApiError => new ApiError(401, 'unauthorized', detail);

/**
 * `exp` (required), `nbf` and `iat` against the clock, with `toleranceSec` of
 * leeway for clock skew between issuer and gateway. Checked on every request,
 * not only when a token's signature is verified.
 */
export function checkTimes(claims: Claims, nowSec: number, toleranceSec: number): void {
  const { exp, nbf, iat } = claims;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw unauthorized('the token has no numeric "exp" claim');
  if (exp + toleranceSec <= nowSec) throw unauthorized('the token has expired');
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf - toleranceSec > nowSec))
    throw unauthorized('the token is not valid yet ("nbf")');
  if (iat !== undefined && (typeof iat !== 'number' || iat - toleranceSec > nowSec))
    throw unauthorized('the token was issued in the future ("iat")');
}
