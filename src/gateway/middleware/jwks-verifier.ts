import { createLocalJWKSet, createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { ApiError } from '../api-error.ts';
import type { JwksAlgorithm } from '../gateway-options.ts';
import { type Claims, checkTimes, type TokenVerifier, unauthorized } from './token-claims.ts';

/** Options of {@link jwksVerifier}. */
export interface JwksVerifierOptions {
  url: string;
  /** Algorithms accepted (the token's `alg` must be one of them). */
  algorithms: readonly JwksAlgorithm[];
  /** Timeout of one JWKS fetch. */
  timeoutMs: number;
  /** How long fetched keys are used before a refetch. */
  cacheMs: number;
  /** Least time between refetches caused by an unknown `kid`, and between tries while the endpoint fails. */
  minRefreshMs: number;
  clockToleranceSec: number;
  /** The clock `exp`/`nbf` are checked against (key caching runs on the wall clock, as jose's does). */
  now: () => number;
}

/** The JWKS endpoint cannot be read (or serves no usable keys) and no keys were fetched before. */
class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError';
}

/** After a failed fetch with nothing cached, requests fail at once for this long instead of each waiting on a fetch. */
const FAIL_FAST_MS = 1_000;

/** Errors of key selection: the token names no usable key (a 401). Any other failure is the endpoint's. */
const isKeySelectionError = (err: unknown): boolean =>
  err instanceof errors.JWKSNoMatchingKey ||
  err instanceof errors.JWKSMultipleMatchingKeys ||
  err instanceof errors.JOSENotSupported;

/**
 * jose's remote key set (fetch with a timeout, cache, refetch on an unknown
 * `kid` at most every `minRefreshMs`), plus what it does not do: while the
 * endpoint fails, the keys fetched last keep verifying tokens, and the endpoint
 * is tried again only every `minRefreshMs` (every second while no keys were
 * ever fetched) rather than on every request.
 */
function jwksKeys(o: JwksVerifierOptions): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(o.url), {
    timeoutDuration: Math.ceil(o.timeoutMs),
    cacheMaxAge: o.cacheMs,
    cooldownDuration: o.minRefreshMs,
  });
  let failedAt = Number.NEGATIVE_INFINITY;
  let stale: JWTVerifyGetKey | undefined;
  const fromStale: JWTVerifyGetKey = async (header, token) => {
    if (stale === undefined) throw new JwksUnavailableError('cannot read the JWKS and no keys were fetched before');
    try {
      return await stale(header, token);
    } catch (err) {
      if (isKeySelectionError(err)) throw err;
      throw new JwksUnavailableError('the JWKS keys fetched last cannot be used', { cause: err });
    }
  };
  return async (header, token) => {
    if (Date.now() - failedAt < (stale === undefined ? Math.min(FAIL_FAST_MS, o.minRefreshMs) : o.minRefreshMs))
      return fromStale(header, token);
    try {
      return await remote(header, token);
    } catch (err) {
      if (isKeySelectionError(err)) throw err;
      failedAt = Date.now();
      const last = remote.jwks();
      stale = last === undefined ? undefined : createLocalJWKSet(last);
      return fromStale(header, token);
    }
  };
}

/** A jose refusal as the gateway's 401 (or 503 when the keys cannot be read). */
function refusal(err: unknown, alg: string, kid: string, nowSec: number, toleranceSec: number): never {
  if (err instanceof JwksUnavailableError)
    throw new ApiError(503, 'auth_unavailable', 'the token keys (JWKS) cannot be read right now; retry', [], 5);
  if (err instanceof errors.JWKSNoMatchingKey) throw unauthorized(`no JWKS key has kid "${kid}" for ${alg}`);
  if (err instanceof errors.JWKSMultipleMatchingKeys) throw unauthorized(`several JWKS keys have kid "${kid}"`);
  if (err instanceof errors.JWSSignatureVerificationFailed) throw unauthorized('the token signature is not valid');
  if (err instanceof errors.JWTExpired || err instanceof errors.JWTClaimValidationFailed) {
    // The same words as a token checked by the HS256 path: checkTimes throws for a time claim.
    checkTimes(err.payload, nowSec, toleranceSec);
    throw unauthorized(`the token's "${err.claim}" claim is not valid`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported)
    throw unauthorized(`the token algorithm ${JSON.stringify(alg)} is not accepted`);
  if (err instanceof errors.JOSEError) throw unauthorized('the token is not a well-formed JWT');
  throw err;
}

/**
 * RS256 / ES256 tokens verified by jose against the keys of a JWKS endpoint.
 * The token must name its key (`kid`); the algorithm is pinned to
 * `algorithms`; `exp` is required.
 */
export function jwksVerifier(o: JwksVerifierOptions): TokenVerifier {
  const keys = jwksKeys(o);
  const algorithms = [...o.algorithms];
  return async (token, alg, kid) => {
    if (typeof kid !== 'string' || kid === '') throw unauthorized('the token has no "kid" header naming a JWKS key');
    const nowMs = o.now();
    try {
      const { payload } = await jwtVerify(token, keys, {
        algorithms,
        requiredClaims: ['exp'],
        currentDate: new Date(nowMs),
        clockTolerance: o.clockToleranceSec,
      });
      return payload as Claims;
    } catch (err) {
      return refusal(err, alg, kid, Math.floor(nowMs / 1000), o.clockToleranceSec);
    }
  };
}
