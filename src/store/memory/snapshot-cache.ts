import type { RuntimeState } from '../../engine/index.ts';
import type { SnapshotCache } from '../ports.ts';
import { atLeast, checkOptions, positive, resolveOptions, type OptionDefaults } from '../../shared/options.ts';

/** Options of {@link MemorySnapshotCache}; every field has a default. */
export interface MemorySnapshotCacheOptions {
  /** Lifetime of an entry, refreshed by every write. @default 86_400_000 (24 h) */
  ttlMs?: number;
  /** Bound on the number of entries; the least recently used is evicted first. @default 10_000 */
  maxEntries?: number;
  /** Clock (epoch ms), injected so tests can move time. @default Date.now */
  now?: () => number;
}

export const DEFAULT_MEMORY_SNAPSHOT_CACHE_OPTIONS = Object.freeze({
  ttlMs: 86_400_000,
  maxEntries: 10_000,
  now: Date.now,
} satisfies OptionDefaults<MemorySnapshotCacheOptions>);

interface Entry {
  revision: number;
  /** Stored as JSON, like Redis, so callers never share objects with the cache. */
  json: string;
  expiresAt: number;
}

/** In-process twin of the Redis snapshot cache: same keys, TTL and newer-revision-wins rule. */
export class MemorySnapshotCache implements SnapshotCache {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: MemorySnapshotCacheOptions = {}) {
    const resolved = resolveOptions(DEFAULT_MEMORY_SNAPSHOT_CACHE_OPTIONS, options);
    checkOptions('MemorySnapshotCache', resolved, { ttlMs: positive, maxEntries: atLeast(1) });
    this.ttlMs = resolved.ttlMs;
    this.maxEntries = resolved.maxEntries;
    this.now = resolved.now;
  }

  /** Number of live and not yet collected entries (for tests and gauges). */
  get size(): number {
    return this.entries.size;
  }

  async get(tenant: string, runtimeId: string): Promise<RuntimeState | undefined> {
    const key = cacheKey(tenant, runtimeId);
    const entry = this.live(key);
    if (!entry) return undefined;
    this.touch(key, entry);
    return JSON.parse(entry.json) as RuntimeState;
  }

  async setMany(entries: readonly { tenant: string; state: RuntimeState }[]): Promise<void> {
    for (const { tenant, state } of entries) this.setOne(cacheKey(tenant, state.runtime.id), state);
  }

  async delete(tenant: string, runtimeId: string): Promise<void> {
    this.entries.delete(cacheKey(tenant, runtimeId));
  }

  async close(): Promise<void> {
    this.entries.clear();
  }

  private setOne(key: string, state: RuntimeState): void {
    const current = this.live(key);
    if (current && current.revision > state.revision) return;
    this.touch(key, { revision: state.revision, json: JSON.stringify(state), expiresAt: this.now() + this.ttlMs });
    this.evictOverflow();
  }

  /** The entry if present and not expired; an expired one is dropped. */
  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Re-inserts so Map order is least-recently-used first. */
  private touch(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  private evictOverflow(): void {
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) return;
      this.entries.delete(key);
    }
  }
}

function cacheKey(tenant: string, runtimeId: string): string {
  // JSON keeps (tenant, id) pairs distinct even when ids contain separators.
  return JSON.stringify([tenant, runtimeId]);
}
