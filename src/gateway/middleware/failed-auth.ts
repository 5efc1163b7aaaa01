import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { ApiError } from '../api-error.ts';
import { loggableError } from '../loggable-error.ts';
import type { BucketRule, RateLimitStore, TakeResult } from '../rate-limit/rate-limit-store.ts';

/** Per IP, what this gateway saw since its last audit line about it. */
interface Seen {
  failures: number;
  refused: number;
  reason: string;
  loggedAt: number;
}

export interface FailedAuthLimiterOptions extends BucketRule {
  store: RateLimitStore;
  registry: Registry;
  now: () => number;
  /** IPs remembered for the audit lines (least recently seen dropped first). @default 10_000 */
  maxTracked?: number;
}

/** How often one IP's failures are written to the audit log at most. */
const AUDIT_EVERY_MS = 60_000;

/**
 * Failed authentications per client IP: each failure (a missing, malformed, forged or expired token)
 * takes a token from the IP's bucket (`authfail/<ip>` in the rate-limit store, so every gateway replica
 * shares it when the store is Redis). Before a token that is not known good is decoded and verified, the
 * IP's bucket is looked at (`peek`): an empty one → 429 `auth_rate_limited` with Retry-After, without
 * touching the token. Tokens verified before (the auth middleware's cache) never come here.
 *
 * Repeated failures leave an audit line (`audit: "auth_failures"`, warn): when an IP's bucket runs empty,
 * or it failed `burst` times on this gateway, then at most once a minute per IP while it goes on; it names
 * the IP, the failures and refusals since the last line and the last reason, never the token.
 *
 * Like the request rate limit it fails open: a store that fails lets the request on to verification
 * (counted in `bflow_rate_limit_store_errors_total`); the audit line still comes from this gateway's count.
 */
export class FailedAuthLimiter {
  readonly #o: FailedAuthLimiterOptions;
  readonly #rule: BucketRule;
  readonly #seen = new Map<string, Seen>();
  readonly #failures: Counter;
  readonly #refused: Counter;
  readonly #storeErrors: Counter;
  #warnedAt = Number.NEGATIVE_INFINITY;

  constructor(options: FailedAuthLimiterOptions) {
    this.#o = options;
    this.#rule = { perMinute: options.perMinute, burst: options.burst };
    const { registry } = options;
    this.#failures = counter(registry, 'bflow_auth_failures_total', 'Requests refused 401 by authentication');
    this.#refused = counter(
      registry,
      'bflow_auth_failures_limited_total',
      'Requests refused 429 auth_rate_limited: their IP failed authentication too often',
    );
    this.#storeErrors = counter(
      registry,
      'bflow_rate_limit_store_errors_total',
      'Rate-limit store failures (requests let through unlimited)',
    );
  }

  /** Before verifying a token: 429 `auth_rate_limited` when the IP has no failures left. */
  async refuseIfBlocked(ip: string, logger: Logger): Promise<void> {
    const bucket = await this.#call(() => this.#o.store.peek(failureKey(ip), this.#rule), logger);
    if (bucket === undefined || bucket.allowed) return;
    this.#refused.inc();
    const seen = this.#track(ip);
    seen.refused += 1;
    this.#audit(ip, seen, false, logger);
    throw new ApiError(
      429,
      'auth_rate_limited',
      `too many failed authentications from this address (more than ${this.#rule.burst} at once, ` +
        `${this.#rule.perMinute} a minute); retry with a valid token after the delay given`,
      [],
      bucket.retryAfterSec,
    );
  }

  /** After a refused token: takes one of the IP's failures and writes the audit line when due. */
  async failed(ip: string, reason: string, logger: Logger): Promise<void> {
    this.#failures.inc();
    const seen = this.#track(ip);
    seen.failures += 1;
    seen.reason = reason;
    const bucket = await this.#call(() => this.#o.store.take(failureKey(ip), this.#rule), logger);
    this.#audit(ip, seen, bucket !== undefined && (!bucket.allowed || bucket.remaining === 0), logger);
  }

  #audit(ip: string, seen: Seen, emptied: boolean, logger: Logger): void {
    const now = this.#o.now();
    const repeated = emptied || seen.failures + seen.refused >= this.#rule.burst;
    if (!repeated || now - seen.loggedAt < AUDIT_EVERY_MS) return;
    logger.warn(
      { audit: 'auth_failures', ip, count: seen.failures, refused: seen.refused, reason: seen.reason },
      'repeated authentication failures from one address',
    );
    seen.failures = 0;
    seen.refused = 0;
    seen.loggedAt = now;
  }

  #track(ip: string): Seen {
    const seen = this.#seen.get(ip) ?? { failures: 0, refused: 0, reason: '', loggedAt: Number.NEGATIVE_INFINITY };
    this.#seen.delete(ip); // re-insert: Map order is least recently seen first
    this.#seen.set(ip, seen);
    if (this.#seen.size > (this.#o.maxTracked ?? 10_000)) this.#seen.delete(this.#seen.keys().next().value!);
    return seen;
  }

  async #call(op: () => Promise<TakeResult>, logger: Logger): Promise<TakeResult | undefined> {
    try {
      return await op();
    } catch (err) {
      this.#storeErrors.inc();
      if (Date.now() - this.#warnedAt > 10_000) {
        this.#warnedAt = Date.now();
        logger.warn({ err: loggableError(err) }, 'rate-limit store failed; failed authentications not limited');
      }
      return undefined;
    }
  }
}

/** The bucket of an IP's failures. `/` never occurs raw in a (tenant, sub) bucket key (both are URI-encoded). */
export const failureKey = (ip: string): string => `authfail/${ip}`;

function counter(registry: Registry, name: string, help: string): Counter {
  return (registry.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, registers: [registry] });
}
