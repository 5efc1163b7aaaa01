/** A token bucket's rule: capacity `burst`, refilled at `perMinute`. */
export interface BucketRule {
  perMinute: number;
  burst: number;
}

/** The answer for one request. */
export interface TakeResult {
  allowed: boolean;
  /** Whole tokens left after this request. */
  remaining: number;
  /** When refused: seconds until a token is back (≥ 1). 0 when allowed. */
  retryAfterSec: number;
}

/**
 * Where the gateway's token buckets live (port). One key per (tenant, client).
 * `take` removes one token if there is one. Implementations: the in-process
 * twin (one replica) and Redis (shared by every gateway replica).
 * A rejected promise means "store unavailable": the caller lets the request through.
 */
export interface RateLimitStore {
  take(key: string, rule: BucketRule): Promise<TakeResult>;
  /**
   * Whether `take` would allow a request now, without taking a token (`remaining` whole tokens there,
   * `retryAfterSec` until one is back when none is). Checks a bucket before work it guards is done
   * (the failed-authentication limit: before a token's signature is verified).
   */
  peek(key: string, rule: BucketRule): Promise<TakeResult>;
  close(): Promise<void>;
}

/** Seconds until one token is back, from a deficit in tokens and the rule. */
export function retryAfterSec(deficit: number, rule: BucketRule): number {
  return Math.max(1, Math.ceil((deficit * 60) / rule.perMinute));
}
