import { retryAfterSec, type BucketRule, type RateLimitStore, type TakeResult } from './rate-limit-store.ts';

interface Bucket {
  tokens: number;
  at: number;
}

/** Options of {@link MemoryRateLimitStore}. */
export interface MemoryRateLimitStoreOptions {
  /** @default Date.now */
  now?: () => number;
  /** Buckets kept before full ones are dropped (a full bucket is the same as no bucket). @default 100_000 */
  maxBuckets?: number;
}

/** In-process token buckets: the twin of the Redis store, limits per gateway replica. */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private readonly maxBuckets: number;

  constructor(options: MemoryRateLimitStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.maxBuckets = options.maxBuckets ?? 100_000;
  }

  async take(key: string, rule: BucketRule): Promise<TakeResult> {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: rule.burst, at: now };
    const refilled = Math.min(rule.burst, bucket.tokens + (Math.max(0, now - bucket.at) * rule.perMinute) / 60_000);
    const allowed = refilled >= 1;
    const tokens = allowed ? refilled - 1 : refilled;
    this.buckets.delete(key); // re-insert: Map order is least recently used first
    this.buckets.set(key, { tokens, at: now });
    if (this.buckets.size > this.maxBuckets) this.evict();
    return { allowed, remaining: Math.floor(tokens), retryAfterSec: allowed ? 0 : retryAfterSec(1 - tokens, rule) };
  }

  async peek(key: string, rule: BucketRule): Promise<TakeResult> {
    const bucket = this.buckets.get(key);
    if (bucket === undefined) return { allowed: true, remaining: rule.burst, retryAfterSec: 0 };
    const tokens = Math.min(
      rule.burst,
      bucket.tokens + (Math.max(0, this.now() - bucket.at) * rule.perMinute) / 60_000,
    );
    const allowed = tokens >= 1;
    return { allowed, remaining: Math.floor(tokens), retryAfterSec: allowed ? 0 : retryAfterSec(1 - tokens, rule) };
  }

  async close(): Promise<void> {
    this.buckets.clear();
  }

  /** Drops the least recently used tenth: they are the ones most likely refilled. */
  private evict(): void {
    let drop = Math.ceil(this.maxBuckets / 10);
    for (const key of this.buckets.keys()) {
      if (drop-- <= 0) break;
      this.buckets.delete(key);
    }
  }
}
