import CircuitBreaker from 'opossum';
import { Redis } from 'ioredis';
import type { BucketRule, RateLimitStore, TakeResult } from './rate-limit-store.ts';

/** Options of {@link RedisRateLimitStore}; every field has a default. */
export interface RedisRateLimitStoreOptions {
  /** @default 'redis://127.0.0.1:6379' */
  url?: string;
  /** One per cluster (`BFLOW_CLUSTER`); keys are `<prefix>:rl:<key>`. @default 'bflow' */
  prefix?: string;
  /** ioredis timeout of one command: a slow Redis must not slow every request. @default 100 */
  commandTimeoutMs?: number;
  /** ioredis timeout of one connection attempt. @default 1_000 */
  connectTimeoutMs?: number;
  /** Breaker timeout of one `take`. @default 200 */
  callTimeoutMs?: number;
  /** How long the open breaker skips Redis (requests pass unlimited) before one probe. @default 5_000 */
  resetTimeoutMs?: number;
}

/**
 * The bucket refilled up to now, in `tokens` (and `now`, `rate`, `burst`). The clock is Redis's own (TIME), so
 * replicas with skewed clocks share one bucket consistently. Tokens are kept fractional.
 * KEYS[1] bucket; ARGV[1] tokens per ms; ARGV[2] burst.
 */
const REFILL = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(s[1])
local at = tonumber(s[2])
if tokens == nil or at == nil then tokens = burst; at = now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)`;

/** One atomic refill-and-take. Returns {allowed 0|1, whole tokens left, ms until one token}. */
const TAKE = `${REFILL}
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return {allowed, math.floor(tokens), wait}`;

/** TAKE without the take: the bucket as it would be now, nothing written. The same reply. */
const PEEK = `${REFILL}
if tokens >= 1 then return {1, math.floor(tokens), 0} end
return {0, math.floor(tokens), math.ceil((1 - tokens) / rate)}`;

type TakeReply = [number, number, number];
type ScriptedRedis = Redis & {
  bflowRateLimitTake(key: string, ratePerMs: string, burst: string): Promise<TakeReply>;
  bflowRateLimitPeek(key: string, ratePerMs: string, burst: string): Promise<TakeReply>;
};

/**
 * Token buckets in Redis, shared by every gateway replica. Failures (down,
 * slow, breaker open) reject; the rate-limit middleware then fails open.
 */
export class RedisRateLimitStore implements RateLimitStore {
  private readonly breaker: CircuitBreaker<[string, BucketRule, boolean], TakeResult>;

  private constructor(
    private readonly redis: ScriptedRedis,
    private readonly prefix: string,
    options: RedisRateLimitStoreOptions,
  ) {
    this.breaker = new CircuitBreaker((key: string, rule: BucketRule, take: boolean) => this.call(key, rule, take), {
      timeout: options.callTimeoutMs ?? 200,
      resetTimeout: options.resetTimeoutMs ?? 5_000,
      errorThresholdPercentage: 50,
      volumeThreshold: 5,
    });
  }

  /**
   * Waits for the first connection (at most `connectTimeoutMs`); a Redis that is
   * down does not stop the gateway: it serves, failing open, and reconnects.
   */
  static async create(options: RedisRateLimitStoreOptions = {}): Promise<RedisRateLimitStore> {
    const redis = new Redis(options.url ?? 'redis://127.0.0.1:6379', {
      lazyConnect: true,
      commandTimeout: options.commandTimeoutMs ?? 100,
      connectTimeout: options.connectTimeoutMs ?? 1_000,
      maxRetriesPerRequest: 0,
      // No queue while disconnected: fail at once and let the request through.
      enableOfflineQueue: false,
      // Commands issued in one turn of the event loop go out in one write (one syscall, not one per request).
      enableAutoPipelining: true,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    });
    redis.on('error', () => undefined); // counted by the middleware when a take fails
    redis.defineCommand('bflowRateLimitTake', { numberOfKeys: 1, lua: TAKE });
    redis.defineCommand('bflowRateLimitPeek', { numberOfKeys: 1, lua: PEEK });
    await redis.connect().catch(() => undefined);
    return new RedisRateLimitStore(redis as ScriptedRedis, options.prefix ?? 'bflow', options);
  }

  take(key: string, rule: BucketRule): Promise<TakeResult> {
    return this.breaker.fire(key, rule, true);
  }

  peek(key: string, rule: BucketRule): Promise<TakeResult> {
    return this.breaker.fire(key, rule, false);
  }

  async close(): Promise<void> {
    this.breaker.shutdown();
    this.redis.disconnect();
  }

  private async call(key: string, rule: BucketRule, take: boolean): Promise<TakeResult> {
    const ratePerMs = rule.perMinute / 60_000;
    const args = [`${this.prefix}:rl:${key}`, String(ratePerMs), String(rule.burst)] as const;
    const [allowed, remaining, waitMs] = await (take
      ? this.redis.bflowRateLimitTake(...args)
      : this.redis.bflowRateLimitPeek(...args));
    return {
      allowed: allowed === 1,
      remaining,
      retryAfterSec: allowed === 1 ? 0 : Math.max(1, Math.ceil(waitMs / 1000)),
    };
  }
}
