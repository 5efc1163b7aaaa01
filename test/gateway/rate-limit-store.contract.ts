import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { BucketRule, RateLimitStore } from '../../src/gateway/rate-limit/rate-limit-store.ts';
import { waitFor } from '../harness/wait.ts';

/** What the contract needs from an adapter's test file. */
export interface RateLimitStoreHarness {
  /** A store of its own (its keys seen by no other test). */
  create(): Promise<RateLimitStore>;
  /** Removes what the harness left behind (keys, connections); the stores are closed before. */
  cleanup(): Promise<void>;
  /** Whether two stores of the harness share their buckets (Redis: every gateway replica; in-process: none). */
  shared: boolean;
}

/** So slow that no token comes back while a test runs: what is taken stays taken. */
const NO_REFILL = (burst: number): BucketRule => ({ perMinute: 1, burst });

/** One contract suite for every RateLimitStore adapter (the in-process twin and Redis). */
export function rateLimitStoreContract(name: string, h: RateLimitStoreHarness): void {
  describe(`${name} - rate limit store contract`, () => {
    const stores: RateLimitStore[] = [];
    const open = async (): Promise<RateLimitStore> => {
      const store = await h.create();
      stores.push(store);
      return store;
    };
    // Every test takes from keys of its own.
    const key = (label: string): string => `t-${randomBytes(4).toString('hex')}:${label}`;
    afterAll(async () => {
      await Promise.all(stores.map((s) => s.close()));
      await h.cleanup();
    });

    it(`${name} - a new key allows the burst, counting the tokens left down to 0, then refuses`, async () => {
      const store = await open();
      const k = key('burst');
      const rule = NO_REFILL(3);
      const taken = [];
      for (let i = 0; i < 4; i++) taken.push(await store.take(k, rule));
      expect(taken.map((t) => [t.allowed, t.remaining])).toEqual([
        [true, 2],
        [true, 1],
        [true, 0],
        [false, 0],
      ]);
      expect(taken.slice(0, 3).map((t) => t.retryAfterSec)).toEqual([0, 0, 0]);
    });

    it(`${name} - a refusal says when a token is back: at least 1 s, at most one token's refill time`, async () => {
      const store = await open();
      for (const perMinute of [1, 6, 60, 600]) {
        const k = key(`retry-${perMinute}`);
        const rule = { perMinute, burst: 1 };
        expect((await store.take(k, rule)).allowed).toBe(true);
        // A fast rule may have refilled a token meanwhile: take until refused.
        let refused = await store.take(k, rule);
        while (refused.allowed) refused = await store.take(k, rule);
        expect(refused.retryAfterSec, `perMinute ${perMinute}`).toBeGreaterThanOrEqual(1);
        expect(refused.retryAfterSec, `perMinute ${perMinute}`).toBeLessThanOrEqual(Math.ceil(60 / perMinute));
      }
    });

    it(`${name} - peek says what take would, and takes nothing`, async () => {
      const store = await open();
      const k = key('peek');
      const rule = NO_REFILL(2);
      expect(await store.peek(k, rule)).toEqual({ allowed: true, remaining: 2, retryAfterSec: 0 });
      expect(await store.peek(k, rule)).toEqual({ allowed: true, remaining: 2, retryAfterSec: 0 });
      await store.take(k, rule);
      expect(await store.peek(k, rule)).toMatchObject({ allowed: true, remaining: 1 });
      await store.take(k, rule);
      const empty = await store.peek(k, rule);
      expect(empty.allowed).toBe(false);
      expect(empty.remaining).toBe(0);
      expect(empty.retryAfterSec).toBeGreaterThanOrEqual(1);
      expect(empty.retryAfterSec).toBeLessThanOrEqual(60);
      expect((await store.take(k, rule)).allowed).toBe(false);
    });

    it(`${name} - keys are independent: an empty bucket limits no other key`, async () => {
      const store = await open();
      const [a, b] = [key('a'), key('b')];
      expect((await store.take(a, NO_REFILL(1))).allowed).toBe(true);
      expect((await store.take(a, NO_REFILL(1))).allowed).toBe(false);
      expect(await store.take(b, NO_REFILL(1))).toEqual({ allowed: true, remaining: 0, retryAfterSec: 0 });
    });

    it(`${name} - an emptied bucket gets tokens back at perMinute`, async () => {
      const store = await open();
      const k = key('refill');
      // 6,000 a minute: a token every 10 ms.
      const rule = { perMinute: 6_000, burst: 2 };
      let refusals = 0;
      for (let i = 0; i < 10_000 && refusals === 0; i++) if (!(await store.take(k, rule)).allowed) refusals++;
      expect(refusals).toBe(1);
      await waitFor(async () => (await store.take(k, rule)).allowed, { what: 'a token back' });
    });

    it(`${name} - a bucket never holds more than the burst, however fast it refills`, async () => {
      const store = await open();
      const k = key('cap');
      // A million a minute: many tokens refill between two takes, and the bucket stays capped at the burst.
      const rule = { perMinute: 1_000_000, burst: 3 };
      const until = Date.now() + 20;
      const remaining: number[] = [];
      while (remaining.length < 5 || Date.now() < until) remaining.push((await store.take(k, rule)).remaining);
      expect(Math.max(...remaining)).toBeLessThanOrEqual(rule.burst - 1);
    });

    it(`${name} - concurrent takes on one key: exactly the burst is allowed`, async () => {
      const store = await open();
      const k = key('concurrent');
      const results = await Promise.all(Array.from({ length: 30 }, () => store.take(k, NO_REFILL(7))));
      expect(results.filter((r) => r.allowed)).toHaveLength(7);
      expect(results.filter((r) => !r.allowed).every((r) => r.retryAfterSec >= 1)).toBe(true);
    });

    it(`${name} - two stores share their buckets exactly when the adapter is a shared one`, async () => {
      const [a, b] = [await open(), await open()];
      const k = key('shared');
      expect((await a.take(k, NO_REFILL(2))).allowed).toBe(true);
      const second = await b.take(k, NO_REFILL(2));
      expect(second.remaining).toBe(h.shared ? 0 : 1);
    });
  });
}
