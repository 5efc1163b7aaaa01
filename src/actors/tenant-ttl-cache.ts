interface Entry<V> {
  value: Promise<V>;
  loadedAt: number;
  generation: number;
}

/**
 * Values a node reads per tenant and reuses for `ttlMs` (directories, start
 * definitions, webhook lists): a change reaches it within the TTL, or at once
 * after `invalidate(tenant)` (a change notice). Concurrent misses of one key
 * share one load; a failed load is not kept; `ttlMs` 0 caches nothing; at most
 * `maxEntries` entries, the least recently loaded dropped first.
 */
export class TenantTtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  /** Per tenant: bumped by `invalidate`, so entries loaded before it are misses. */
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
    private readonly maxEntries = 10_000,
  ) {}

  /** The value under (tenant, key): cached if fresh, else `load()`'s. */
  get(tenant: string, key: string, load: () => Promise<V>): Promise<V> {
    const now = this.now();
    const generation = this.generations.get(tenant) ?? 0;
    const id = JSON.stringify([tenant, key]);
    const hit = this.entries.get(id);
    if (hit && hit.generation === generation && now - hit.loadedAt < this.ttlMs) return hit.value;
    const value = load();
    if (this.ttlMs === 0) return value;
    const entry: Entry<V> = { value, loadedAt: now, generation };
    this.entries.delete(id);
    this.entries.set(id, entry);
    value.catch(() => {
      if (this.entries.get(id) === entry) this.entries.delete(id);
    });
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(k);
    }
    return value;
  }

  /** The tenant's next reads load afresh. */
  invalidate(tenant: string): void {
    this.generations.set(tenant, (this.generations.get(tenant) ?? 0) + 1);
  }
}
