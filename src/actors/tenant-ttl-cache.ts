interface Entry<V> {
  value: Promise<V>;
  loadedAt: number;
  generation: number;
  /** The load succeeded (a refresh-ahead cache may serve it stale). */
  loaded: boolean;
  /** A refresh-ahead load is in flight. */
  refreshing: boolean;
}

/**
 * Values a node reads per tenant and reuses for `ttlMs` (directories, start
 * definitions, webhook lists): a change reaches it within the TTL, or at once
 * after `invalidate(tenant)` (a change notice). Concurrent misses of one key
 * share one load; a failed load is not kept; `ttlMs` 0 caches nothing; at most
 * `maxEntries` entries, the least recently loaded dropped first.
 *
 * With `refreshAhead`, an entry past its TTL (but younger than twice the TTL,
 * and not invalidated) is still served while one load replaces it in the
 * background: readers never wait on a routine refresh. A failed refresh keeps
 * the old value until the next read past the TTL tries again; past twice the
 * TTL a read waits for a fresh load.
 */
export class TenantTtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  /** Per tenant: bumped by `invalidate`, so entries loaded before it are misses. */
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
    private readonly maxEntries = 10_000,
    private readonly refreshAhead = false,
  ) {}

  /** The value under (tenant, key): cached if fresh, else `load()`'s. */
  get(tenant: string, key: string, load: () => Promise<V>): Promise<V> {
    const now = this.now();
    const generation = this.generations.get(tenant) ?? 0;
    const id = JSON.stringify([tenant, key]);
    const hit = this.entries.get(id);
    if (hit && hit.generation === generation) {
      const age = now - hit.loadedAt;
      if (age < this.ttlMs) return hit.value;
      if (this.refreshAhead && hit.loaded && age < 2 * this.ttlMs) {
        if (!hit.refreshing) this.refresh(id, hit, load, now);
        return hit.value;
      }
    }
    const value = load();
    if (this.ttlMs === 0) return value;
    const entry: Entry<V> = { value, loadedAt: now, generation, loaded: false, refreshing: false };
    this.put(id, entry);
    value.then(
      () => {
        entry.loaded = true;
      },
      () => {
        if (this.entries.get(id) === entry) this.entries.delete(id);
      },
    );
    return value;
  }

  /** The tenant's next reads load afresh. */
  invalidate(tenant: string): void {
    this.generations.set(tenant, (this.generations.get(tenant) ?? 0) + 1);
  }

  /** Loads a replacement for `stale` in the background; it takes the entry's place once loaded (unless replaced meanwhile). */
  private refresh(id: string, stale: Entry<V>, load: () => Promise<V>, now: number): void {
    stale.refreshing = true;
    const value = load();
    value.then(
      () => {
        if (this.entries.get(id) === stale)
          this.put(id, { value, loadedAt: now, generation: stale.generation, loaded: true, refreshing: false });
      },
      () => {
        stale.refreshing = false;
      },
    );
  }

  private put(id: string, entry: Entry<V>): void {
    this.entries.delete(id);
    this.entries.set(id, entry);
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(k);
    }
  }
}
