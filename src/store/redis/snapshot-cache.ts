import CircuitBreaker from 'opossum';
import { Redis, type ChainableCommander } from 'ioredis';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { RuntimeState } from '../../engine/index.ts';
import type { SnapshotCache } from '../ports.ts';
import { ENCRYPTED } from '../crypto/encrypted-columns.ts';
import { type FieldCipher, PLAINTEXT_CIPHER } from '../crypto/field-cipher.ts';
import { BREAKER_STATE, snapshotCacheMetrics, type CacheOp, type SnapshotCacheMetrics } from './cache-metrics.ts';
import {
  checkOptions,
  nonNegative,
  positive,
  resolveOptions,
  type OptionDefaults,
  type Resolved,
} from '../../shared/options.ts';

/** Options of {@link RedisSnapshotCache}; every field has a default. */
export interface RedisSnapshotCacheOptions {
  /** @default 'redis://127.0.0.1:6379' */
  url?: string;
  /** One per cluster; keys are `<prefix>:rt:<tenant>:<runtimeId>`. @default 'bflow' */
  prefix?: string;
  /** Lifetime of an entry, refreshed by every write. @default 86_400_000 (24 h) */
  ttlMs?: number;
  /** ioredis timeout of one command. @default 250 */
  commandTimeoutMs?: number;
  /** ioredis timeout of one connection attempt. @default 1_000 */
  connectTimeoutMs?: number;
  /** Ceiling of the reconnect backoff (100 ms × attempt). @default 2_000 */
  maxReconnectDelayMs?: number;
  /** Breaker timeout of one cache call (a whole pipeline). @default 500 */
  callTimeoutMs?: number;
  /** How long the open breaker skips Redis before letting one probe through. @default 5_000 */
  resetTimeoutMs?: number;
  /** Failure percentage within the rolling window that opens the breaker. @default 50 */
  errorThresholdPercentage?: number;
  /** Calls within the rolling window before the breaker may open. @default 5 */
  volumeThreshold?: number;
  /** Length of the breaker's rolling statistics window. @default 10_000 */
  rollingWindowMs?: number;
  /**
   * Bound on the keys remembered as unsynced (their last write or delete was
   * lost, so Redis may hold an older revision); past it, the oldest are
   * forgotten and only MySQL's version check guards them. @default 100_000
   */
  maxUnsyncedKeys?: number;
  /** Where the metrics are registered. @default a private registry (metrics not exported) */
  registry?: Registry;
  /** @default a silent logger */
  logger?: Logger;
  /** Seals each snapshot (docs/security.md); the revision before it stays plaintext. @default PLAINTEXT_CIPHER */
  cipher?: FieldCipher;
}

export const DEFAULT_REDIS_SNAPSHOT_CACHE_OPTIONS = Object.freeze({
  url: 'redis://127.0.0.1:6379',
  prefix: 'bflow',
  ttlMs: 86_400_000,
  commandTimeoutMs: 250,
  connectTimeoutMs: 1_000,
  maxReconnectDelayMs: 2_000,
  callTimeoutMs: 500,
  resetTimeoutMs: 5_000,
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  rollingWindowMs: 10_000,
  maxUnsyncedKeys: 100_000,
  logger: pino({ level: 'silent' }),
  cipher: PLAINTEXT_CIPHER,
} satisfies OptionDefaults<RedisSnapshotCacheOptions>);

type ResolvedCacheOptions = Resolved<RedisSnapshotCacheOptions, typeof DEFAULT_REDIS_SNAPSHOT_CACHE_OPTIONS> & {
  registry: Registry;
};

function resolveCacheOptions(given: RedisSnapshotCacheOptions): ResolvedCacheOptions {
  const options = {
    ...resolveOptions(DEFAULT_REDIS_SNAPSHOT_CACHE_OPTIONS, given),
    registry: given.registry ?? new Registry(),
  };
  checkOptions('RedisSnapshotCache', options, {
    ttlMs: positive,
    commandTimeoutMs: positive,
    connectTimeoutMs: positive,
    maxReconnectDelayMs: nonNegative,
    callTimeoutMs: positive,
    resetTimeoutMs: nonNegative,
    errorThresholdPercentage: nonNegative,
    volumeThreshold: nonNegative,
    rollingWindowMs: positive,
    maxUnsyncedKeys: nonNegative,
  });
  return options;
}

/**
 * Values are `<revision>|<state JSON>`: the script below reads only the first
 * bytes (GETRANGE) to compare revisions, so a write costs O(1) in Redis
 * whatever the state's size, and a read stays one GET.
 * KEYS[1] key; ARGV[1] revision; ARGV[2] encoded value; ARGV[3] ttl ms.
 * Returns 1 when written, 0 when a newer revision is already cached.
 */
const SET_IF_NEWER = `
local head = redis.call('GETRANGE', KEYS[1], 0, 20)
local cur = string.match(head, '^(%d+)|')
if cur and tonumber(cur) > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

type ScriptedPipeline = ChainableCommander & {
  bflowSetIfNewer(key: string, revision: number, value: string, ttlMs: number): ScriptedPipeline;
};

type Guarded<T> = { ok: true; value: T } | { ok: false };

/**
 * Snapshot cache on Redis behind a circuit breaker. Redis failures and
 * slowness never reach the caller: a read becomes a miss, a write is dropped,
 * both counted; while the breaker is open Redis is not called at all.
 */
export class RedisSnapshotCache implements SnapshotCache {
  private readonly breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;
  private readonly metrics: SnapshotCacheMetrics;
  /** Keys whose last write/delete was lost: read as misses until a write succeeds. */
  private readonly unsynced = new Set<string>();

  private constructor(
    private readonly client: Redis,
    private readonly options: ResolvedCacheOptions,
  ) {
    this.metrics = snapshotCacheMetrics(options.registry);
    this.breaker = this.createBreaker();
    client.defineCommand('bflowSetIfNewer', { numberOfKeys: 1, lua: SET_IF_NEWER });
    client.on('error', (err: Error) => options.logger.debug({ err }, 'snapshot cache: redis error'));
  }

  /** Connects (waiting at most `connectTimeoutMs`); never fails: an unreachable Redis only means misses. */
  static async create(given: RedisSnapshotCacheOptions = {}): Promise<RedisSnapshotCache> {
    const options = resolveCacheOptions(given);
    const client = new Redis(options.url, {
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: options.connectTimeoutMs,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      // Commands issued in one turn of the event loop go out in one write (one syscall, not one per request).
      enableAutoPipelining: true,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (attempt) => Math.min(attempt * 100, options.maxReconnectDelayMs),
    });
    const cache = new RedisSnapshotCache(client, options);
    await cache.waitReady();
    return cache;
  }

  /** The breaker's state, as the gauge reports it. */
  get breakerState(): keyof typeof BREAKER_STATE {
    if (this.breaker.opened) return 'open';
    return this.breaker.halfOpen ? 'halfOpen' : 'closed';
  }

  async get(tenant: string, runtimeId: string): Promise<RuntimeState | undefined> {
    const key = this.key(tenant, runtimeId);
    if (this.unsynced.has(key)) {
      this.metrics.misses.inc();
      return undefined;
    }
    const raw = await this.guard('get', () => this.client.get(key));
    if (!raw.ok) return undefined;
    const state = raw.value === null ? undefined : await this.decode(raw.value, tenant, runtimeId);
    (state ? this.metrics.hits : this.metrics.misses).inc();
    return state;
  }

  async setMany(entries: readonly { tenant: string; state: RuntimeState }[]): Promise<void> {
    if (entries.length === 0) return;
    const written = await this.guard('set', async () => {
      await this.options.cipher.ready(new Set(entries.map((e) => e.tenant)));
      return this.writeAll(entries);
    });
    for (const { tenant, state } of entries) this.track(this.key(tenant, state.runtime.id), written.ok);
  }

  async delete(tenant: string, runtimeId: string): Promise<void> {
    const key = this.key(tenant, runtimeId);
    const deleted = await this.guard('delete', () => this.client.del(key));
    this.track(key, deleted.ok);
  }

  async close(): Promise<void> {
    this.breaker.shutdown();
    if (this.client.status === 'ready') await this.client.quit().catch(() => undefined);
    this.client.disconnect();
  }

  private key(tenant: string, runtimeId: string): string {
    return `${this.options.prefix}:rt:${tenant}:${runtimeId}`;
  }

  /**
   * A lost write may leave an older revision in Redis (an outage without
   * restart, a timeout after which Redis still answered nothing): until a
   * write of that key succeeds, this node reads it from MySQL instead.
   */
  private track(key: string, synced: boolean): void {
    this.unsynced.delete(key);
    if (synced) return;
    this.unsynced.add(key);
    if (this.unsynced.size <= this.options.maxUnsyncedKeys) return;
    const oldest = this.unsynced.values().next();
    if (!oldest.done) this.unsynced.delete(oldest.value);
  }

  private async writeAll(entries: readonly { tenant: string; state: RuntimeState }[]): Promise<void> {
    const pipe = this.client.pipeline() as ScriptedPipeline;
    for (const { tenant, state } of entries) {
      const sealed = this.options.cipher.seal(tenant, ENCRYPTED.snapshot, state.runtime.id, JSON.stringify(state));
      const value = `${state.revision}|${sealed}`;
      pipe.bflowSetIfNewer(this.key(tenant, state.runtime.id), state.revision, value, this.options.ttlMs);
    }
    const results = (await pipe.exec()) ?? [];
    for (const [err, written] of results) {
      if (err) throw err;
      if (written === 0) this.metrics.staleWrites.inc();
    }
  }

  /**
   * A value that does not open or parse, or belongs to another runtime, is treated as a miss (and logged:
   * a snapshot copied under another runtime's key does not open).
   */
  private async decode(raw: string, tenant: string, runtimeId: string): Promise<RuntimeState | undefined> {
    try {
      const text = await this.options.cipher.open(
        tenant,
        ENCRYPTED.snapshot,
        runtimeId,
        raw.slice(raw.indexOf('|') + 1),
      );
      const state = JSON.parse(text) as RuntimeState;
      return state.runtime?.id === runtimeId ? state : undefined;
    } catch (err) {
      this.metrics.errors.inc({ op: 'get' });
      this.options.logger.warn(
        { err, tenant, runtimeId },
        'snapshot cache: a snapshot does not decode; read from MySQL',
      );
      return undefined;
    }
  }

  /** Runs a Redis call through the breaker; any failure is counted and reported as `ok: false`. */
  private async guard<T>(op: CacheOp, call: () => Promise<T>): Promise<Guarded<T>> {
    try {
      return { ok: true, value: (await this.breaker.fire(call)) as T };
    } catch (err) {
      const skipped = (err as { code?: string }).code === 'EOPENBREAKER';
      (skipped ? this.metrics.skipped : this.metrics.errors).inc({ op });
      if (!skipped) this.options.logger.debug({ err, op }, 'snapshot cache: call failed');
      return { ok: false };
    }
  }

  private createBreaker(): CircuitBreaker<[() => Promise<unknown>], unknown> {
    const { options } = this;
    const breaker = new CircuitBreaker((call: () => Promise<unknown>) => call(), {
      timeout: options.callTimeoutMs,
      resetTimeout: options.resetTimeoutMs,
      errorThresholdPercentage: options.errorThresholdPercentage,
      volumeThreshold: options.volumeThreshold,
      rollingCountTimeout: options.rollingWindowMs,
    });
    const gauge = this.metrics.breakerState;
    gauge.set(BREAKER_STATE.closed);
    breaker.on('open', () => {
      gauge.set(BREAKER_STATE.open);
      options.logger.warn({ resetTimeoutMs: options.resetTimeoutMs }, 'snapshot cache: breaker open, skipping redis');
    });
    breaker.on('halfOpen', () => gauge.set(BREAKER_STATE.halfOpen));
    breaker.on('close', () => {
      gauge.set(BREAKER_STATE.closed);
      options.logger.info('snapshot cache: breaker closed, redis back');
    });
    return breaker;
  }

  private waitReady(): Promise<void> {
    if (this.client.status === 'ready') return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.client.off('ready', done).off('error', done);
        resolve();
      };
      const timer = setTimeout(done, this.options.connectTimeoutMs);
      this.client.once('ready', done).once('error', done);
    });
  }
}
