import type { DataKeyStore, WrappedDataKey } from '../crypto/data-keys.ts';

/** The in-process twin of MySqlDataKeyStore: same order, same compare-and-set. */
export class MemoryDataKeyStore implements DataKeyStore {
  readonly #keys = new Map<string, WrappedDataKey>();

  async load(tenants: readonly string[]): Promise<WrappedDataKey[]> {
    const wanted = new Set(tenants);
    return this.#sorted().filter((k) => wanted.has(k.tenant));
  }

  async insert(key: WrappedDataKey): Promise<boolean> {
    const id = keyOf(key);
    if (this.#keys.has(id)) return false;
    this.#keys.set(id, { ...key });
    return true;
  }

  async page(after: { tenant: string; version: number } | undefined, limit: number): Promise<WrappedDataKey[]> {
    return this.#sorted()
      .filter(
        (k) =>
          after === undefined || k.tenant > after.tenant || (k.tenant === after.tenant && k.version > after.version),
      )
      .slice(0, limit);
  }

  async rewrap(key: WrappedDataKey, previous: WrappedDataKey): Promise<boolean> {
    const stored = this.#keys.get(keyOf(key));
    if (stored?.masterKeyId !== previous.masterKeyId || stored.wrapped !== previous.wrapped) return false;
    this.#keys.set(keyOf(key), { ...stored, masterKeyId: key.masterKeyId, wrapped: key.wrapped });
    return true;
  }

  async samplePerMasterKey(): Promise<WrappedDataKey[]> {
    const first = new Map<string, WrappedDataKey>();
    for (const k of this.#sorted()) if (!first.has(k.masterKeyId)) first.set(k.masterKeyId, k);
    return [...first.values()].sort((a, b) => (a.masterKeyId < b.masterKeyId ? -1 : 1));
  }

  #sorted(): WrappedDataKey[] {
    return [...this.#keys.values()]
      .map((k) => ({ ...k }))
      .sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : a.version - b.version));
  }
}

const keyOf = (k: { tenant: string; version: number }): string => `${k.tenant}\u0000${k.version}`;
