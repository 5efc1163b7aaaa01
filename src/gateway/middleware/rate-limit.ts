import type { MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { Counter, type Registry } from 'prom-client';
import { ApiError } from '../api-error.ts';
import type { GatewayEnv } from '../gateway-env.ts';
import { loggableError } from '../loggable-error.ts';
import type { BucketRule, RateLimitStore } from '../rate-limit/rate-limit-store.ts';
import { principalFrom } from './auth.ts';

const ERRORS = 'bflow_rate_limit_store_errors_total';
const LIMITED = 'bflow_rate_limited_total';

function counter(registry: Registry, name: string, help: string): Counter {
  return (registry.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, registers: [registry] });
}

export interface RateLimitMiddlewareOptions extends BucketRule {
  store: RateLimitStore;
  registry: Registry;
}

/** The bucket key of a caller: tenant and client (`sub`), each encoded so neither can forge the other. */
export const bucketKey = (tenant: string, sub: string): string =>
  `${encodeURIComponent(tenant)}:${encodeURIComponent(sub)}`;

/**
 * After `auth`: one token per request from the (tenant, sub) bucket; none left
 * → 429 `rate_limited` with `Retry-After`. A failing store lets the request
 * through (fail open, counted): the limiter must never cause a 5xx.
 */
export function rateLimit(options: RateLimitMiddlewareOptions): MiddlewareHandler<GatewayEnv> {
  const errors = counter(options.registry, ERRORS, 'Rate-limit store failures (requests let through unlimited)');
  const limited = counter(options.registry, LIMITED, 'Requests refused with 429');
  const rule: BucketRule = { perMinute: options.perMinute, burst: options.burst };
  let warnedAt = Number.NEGATIVE_INFINITY; // one log line per 10 s while the store is down, not one per request
  return createMiddleware<GatewayEnv>(async (c, next) => {
    const principal = principalFrom(c);
    let result;
    try {
      result = await options.store.take(bucketKey(principal.tenant, principal.employee), rule);
    } catch (err) {
      errors.inc();
      if (Date.now() - warnedAt > 10_000) {
        warnedAt = Date.now();
        c.get('logger').warn({ err: loggableError(err) }, 'rate-limit store failed; requests let through unlimited');
      }
    }
    if (result !== undefined && !result.allowed) {
      limited.inc();
      throw new ApiError(
        429,
        'rate_limited',
        `more than ${rule.perMinute} requests a minute (burst ${rule.burst}) for this client; retry after the delay given`,
        [],
        result.retryAfterSec,
      );
    }
    await next();
  });
}
