import { type DataKeyStore, unwrapDataKey, wrapDataKey } from './data-keys.ts';
import { CipherError } from './crypto-errors.ts';
import type { MasterKey, MasterKeyRing } from './key-ring.ts';

export interface RotationReport {
  /** Data keys re-wrapped with the target master key. */
  rewrapped: number;
  /** Data keys wrapped with it already. */
  unchanged: number;
}

/**
 * `bflow keys rotate`: re-wraps every tenant's data keys with `target` (unwrapped with `ring`, which must hold
 * every master key in use). Rewrites no data: the data keys themselves do not change. Each key is replaced by
 * compare-and-set, so a key created or rotated concurrently is never overwritten with a stale wrapping.
 * Idempotent: run it again after a rollout to catch keys other processes created with the previous key.
 */
export async function rotateMasterKey(
  store: DataKeyStore,
  ring: MasterKeyRing,
  target: MasterKey,
  options: { now?: () => number; onProgress?: (report: RotationReport) => void; pageSize?: number } = {},
): Promise<RotationReport> {
  const known = ring.get(target.id);
  if (known !== undefined && !known.key.equals(target.key))
    throw new CipherError(
      'key_ring_invalid',
      `the new master key's id "${target.id}" names another key in the ring: choose a new id`,
    );
  const report: RotationReport = { rewrapped: 0, unchanged: 0 };
  const now = options.now ?? Date.now;
  const pageSize = options.pageSize ?? 500;
  let after: { tenant: string; version: number } | undefined;
  for (;;) {
    const page = await store.page(after, pageSize);
    for (const stored of page) {
      if (stored.masterKeyId === target.id) {
        report.unchanged += 1;
        continue;
      }
      const key = unwrapDataKey(ring, stored);
      const rewrapped = {
        ...wrapDataKey(target, stored.tenant, stored.version, key, now()),
        createdAt: stored.createdAt,
      };
      if (await store.rewrap(rewrapped, stored)) report.rewrapped += 1;
      else report.unchanged += 1; // rotated by another run meanwhile
    }
    options.onProgress?.(report);
    if (page.length < pageSize) return report;
    const last = page[page.length - 1]!;
    after = { tenant: last.tenant, version: last.version };
  }
}
