import type { RateLimitStore } from './rate-limit/rate-limit-store.ts';

/** Asymmetric algorithms a JWKS key may sign with (HS* never: a public key is no secret). */
export type JwksAlgorithm = 'RS256' | 'ES256';

/**
 * How bearer tokens (JWT) are verified. Exactly one of `secret` and `jwksUrl`.
 * The algorithm is pinned by the mode, never taken from the token: HS256 with
 * `secret`; RS256/ES256 with keys from `jwksUrl`. `alg: none`, HS/RS confusion
 * and every other algorithm are refused.
 */
export interface AuthOptions {
  /** HS256 shared secret (`BFLOW_JWT_SECRET`), at least 32 characters. */
  secret?: string;
  /** JWKS endpoint, http(s) (`BFLOW_JWKS_URL`); tokens must carry the `kid` of one of its keys. */
  jwksUrl?: string;
  /** Algorithms accepted with JWKS keys. @default ['RS256', 'ES256'] */
  jwksAlgorithms?: readonly JwksAlgorithm[];
  /** Leeway for `exp`, `nbf` and `iat` against clock skew between issuer and gateway. @default 30 */
  clockToleranceSec?: number;
  /** Timeout of one JWKS fetch. @default 3_000 */
  jwksTimeoutMs?: number;
  /** How long fetched JWKS keys are used before a refresh. @default 600_000 (10 min) */
  jwksCacheMs?: number;
  /**
   * Least time between two refetches caused by an unknown `kid` (key rotation), so bad tokens cannot hammer the
   * IdP; also between two tries while the endpoint fails (the keys fetched last keep serving meanwhile). @default 30_000
   */
  jwksMinRefreshMs?: number;
}

/** CORS for browser clients (the web console). */
export interface CorsOptions {
  /** Allowed origins, e.g. `https://console.example.com`. @default [] (no CORS headers: browsers on other origins are refused) */
  origins: readonly string[];
}

/**
 * Token bucket per (tenant, client) where client is the token's `sub`:
 * `burst` requests at once, refilled at `perMinute`.
 */
export interface RateLimitOptions {
  /** Sustained requests per minute per (tenant, sub). @default 600 */
  perMinute?: number;
  /** Bucket capacity: requests allowed at once after a quiet period. @default 100 */
  burst?: number;
  /**
   * Where buckets live. The Redis store shares them across gateway replicas;
   * a store failure lets the request through (counted in
   * `bflow_rate_limit_store_errors_total`), never a 5xx.
   * @default an in-process store (limits per replica)
   */
  store?: RateLimitStore;
}

/**
 * Failed authentications per client IP (a missing, malformed, forged or expired token): `burst` at once,
 * refilled at `perMinute`; past that the IP's requests with a token not verified before answer 429
 * `auth_rate_limited` before the token is decoded or its signature checked. The buckets live in the
 * rate limit's store (`RateLimitOptions.store`), and fail open like it.
 */
export interface FailedAuthOptions {
  /** @default 30 */
  perMinute?: number;
  /** @default 20 */
  burst?: number;
  /**
   * Proxies (load balancers) in front of the gateway that each append the address they received from to
   * `X-Forwarded-For`: the client IP is the entry that many from the right. @default 0 (the socket's peer)
   */
  trustedProxyHops?: number;
}

/** A demo user of the console's dev sign-in, with a ready token. */
export interface DevUser {
  sub: string;
  roles: readonly string[];
  /** Who the user is, for the sign-in list (e.g. "pur-mgr: approves alice's orders"). */
  label: string;
  token: string;
}

/** The web console at `/console` (docs/console.md). */
export interface ConsoleOptions {
  /**
   * Lists the demo users with fresh tokens for the dev sign-in (`GET /console/dev-users`). Only the embedded
   * mode sets it; elsewhere the route answers 404 and users paste a token. @default undefined
   */
  devUsers?: () => Promise<readonly DevUser[]>;
}

/** Options of {@link createApp}; only `auth` is required. */
export interface GatewayOptions {
  auth: AuthOptions;
  /** @default { origins: [] } */
  cors?: CorsOptions;
  /** @default { perMinute: 600, burst: 100, store: in-process } */
  rateLimit?: RateLimitOptions;
  /** @default { perMinute: 30, burst: 20, trustedProxyHops: 0 } */
  failedAuth?: FailedAuthOptions;
  /** Largest request body; bigger → 413 `payload_too_large`. @default 1_048_576 (1 MiB) */
  bodyLimitBytes?: number;
  /** `/ready` answers 503 when the checks take longer. @default 2_000 */
  readyTimeoutMs?: number;
  /** `info.version` of `/openapi.json`. @default '0.1.0' */
  version?: string;
  /** @default { } (the console without the dev sign-in) */
  console?: ConsoleOptions;
}

export interface ResolvedAuthOptions {
  mode: { kind: 'secret'; secret: string } | { kind: 'jwks'; url: string; algorithms: readonly JwksAlgorithm[] };
  clockToleranceSec: number;
  jwksTimeoutMs: number;
  jwksCacheMs: number;
  jwksMinRefreshMs: number;
}

export interface ResolvedGatewayOptions {
  auth: ResolvedAuthOptions;
  corsOrigins: readonly string[];
  rateLimit: { perMinute: number; burst: number; store: RateLimitStore | undefined };
  failedAuth: { perMinute: number; burst: number; trustedProxyHops: number };
  bodyLimitBytes: number;
  readyTimeoutMs: number;
  version: string;
  console: ConsoleOptions;
}

/** A bad GatewayOptions value, named. */
export class GatewayOptionsError extends Error {
  override readonly name = 'GatewayOptionsError';
  readonly code = 'config_invalid';
}

const nonNegative = (name: string, value: number): number => {
  if (!Number.isFinite(value) || value < 0)
    throw new GatewayOptionsError(`gateway option ${name}=${value}: must be zero or a positive number`);
  return value;
};

function httpUrl(name: string, value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:')
    throw new GatewayOptionsError(`gateway option ${name}=${JSON.stringify(value)}: must be an http(s) URL`);
  return value;
}

const positive = (name: string, value: number): number => {
  if (!Number.isFinite(value) || value <= 0)
    throw new GatewayOptionsError(`gateway option ${name}=${value}: must be a positive number`);
  return value;
};

function resolveAuth(o: AuthOptions): ResolvedAuthOptions {
  if ((o.secret === undefined) === (o.jwksUrl === undefined)) {
    throw new GatewayOptionsError(
      'gateway option auth: set exactly one of secret (BFLOW_JWT_SECRET) and jwksUrl (BFLOW_JWKS_URL)',
    );
  }
  if (o.secret !== undefined && o.secret.length < 32)
    throw new GatewayOptionsError('gateway option auth.secret: must be at least 32 characters');
  const algorithms = o.jwksAlgorithms ?? ['RS256', 'ES256'];
  for (const alg of algorithms) {
    if (alg !== 'RS256' && alg !== 'ES256')
      throw new GatewayOptionsError(`gateway option auth.jwksAlgorithms: "${String(alg)}" is not RS256 or ES256`);
  }
  return {
    mode:
      o.secret !== undefined
        ? { kind: 'secret', secret: o.secret }
        : { kind: 'jwks', url: httpUrl('auth.jwksUrl', o.jwksUrl ?? ''), algorithms },
    clockToleranceSec: o.clockToleranceSec ?? 30,
    jwksTimeoutMs: positive('auth.jwksTimeoutMs', o.jwksTimeoutMs ?? 3_000),
    jwksCacheMs: positive('auth.jwksCacheMs', o.jwksCacheMs ?? 600_000),
    jwksMinRefreshMs: nonNegative('auth.jwksMinRefreshMs', o.jwksMinRefreshMs ?? 30_000),
  };
}

/** Applies the defaults and checks each value once, at start. */
export function resolveGatewayOptions(o: GatewayOptions): ResolvedGatewayOptions {
  return {
    auth: resolveAuth(o.auth),
    corsOrigins: o.cors?.origins ?? [],
    rateLimit: {
      perMinute: positive('rateLimit.perMinute', o.rateLimit?.perMinute ?? 600),
      burst: positive('rateLimit.burst', o.rateLimit?.burst ?? 100),
      store: o.rateLimit?.store,
    },
    failedAuth: {
      perMinute: positive('failedAuth.perMinute', o.failedAuth?.perMinute ?? 30),
      burst: positive('failedAuth.burst', o.failedAuth?.burst ?? 20),
      trustedProxyHops: nonNegative('failedAuth.trustedProxyHops', o.failedAuth?.trustedProxyHops ?? 0),
    },
    bodyLimitBytes: positive('bodyLimitBytes', o.bodyLimitBytes ?? 1_048_576),
    readyTimeoutMs: positive('readyTimeoutMs', o.readyTimeoutMs ?? 2_000),
    version: o.version ?? '0.1.0',
    console: o.console ?? {},
  };
}
