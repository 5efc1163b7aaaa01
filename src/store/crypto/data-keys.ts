import { randomBytes } from 'node:crypto';
import { KEY_BYTES, openBytes, sealBytes } from './aes-gcm.ts';
import { CipherError } from './crypto-errors.ts';
import type { MasterKey, MasterKeyRing } from './key-ring.ts';

/**
 * Per-tenant data keys, stored wrapped (AES-256-GCM under a master key, bound to the tenant and version):
 * migration 008's `tenant_data_keys`. A tenant's newest version seals new values; older versions stay to
 * open what they sealed until `bflow keys rewrap-data` re-encrypts it.
 */
export interface WrappedDataKey {
  tenant: string;
  version: number;
  masterKeyId: string;
  /** base64 of nonce ‖ tag ‖ wrapped key. */
  wrapped: string;
  createdAt: number;
}

/** Where the wrapped data keys live (MySQL: MySqlDataKeyStore; in process: MemoryDataKeyStore). */
export interface DataKeyStore {
  /** Every data key of these tenants. */
  load(tenants: readonly string[]): Promise<WrappedDataKey[]>;
  /** Inserts the key unless the tenant has that version already; true when inserted. */
  insert(key: WrappedDataKey): Promise<boolean>;
  /** Up to `limit` keys after `after` in (tenant, version) order. */
  page(after: { tenant: string; version: number } | undefined, limit: number): Promise<WrappedDataKey[]>;
  /** Stores `key`'s new wrapping if the stored one is still `previous` (compare-and-set); true when replaced. */
  rewrap(key: WrappedDataKey, previous: WrappedDataKey): Promise<boolean>;
  /** One key per master key id in use (the start-up check of the ring). */
  samplePerMasterKey(): Promise<WrappedDataKey[]>;
}

const aad = (tenant: string, version: number): Buffer => Buffer.from(`bflow-data-key\u0000${tenant}\u0000${version}`);

/** A new random data key for `tenant` at `version`, wrapped with `master`. */
export function newDataKey(
  master: MasterKey,
  tenant: string,
  version: number,
  now: number,
): { key: Buffer; stored: WrappedDataKey } {
  const key = randomBytes(KEY_BYTES);
  return { key, stored: wrapDataKey(master, tenant, version, key, now) };
}

export function wrapDataKey(
  master: MasterKey,
  tenant: string,
  version: number,
  key: Buffer,
  now: number,
): WrappedDataKey {
  const wrapped = sealBytes(master.key, key, aad(tenant, version)).toString('base64');
  return { tenant, version, masterKeyId: master.id, wrapped, createdAt: now };
}

/** The data key's bytes; a CipherError naming the master key id when the ring lacks it or holds another key under it. */
export function unwrapDataKey(ring: MasterKeyRing, stored: WrappedDataKey): Buffer {
  const master = ring.get(stored.masterKeyId);
  const what = `data key ${stored.version} of tenant ${stored.tenant}`;
  if (master === undefined) {
    throw new CipherError(
      'master_key_missing',
      `${what} is wrapped with master key "${stored.masterKeyId}", which the key ring (${ring.ids.join(', ')}) does not hold: add it to BFLOW_MASTER_KEYS`,
    );
  }
  const key = openBytes(master.key, Buffer.from(stored.wrapped, 'base64'), aad(stored.tenant, stored.version));
  if (key === undefined || key.length !== KEY_BYTES) {
    throw new CipherError(
      'master_key_wrong',
      `master key "${stored.masterKeyId}" does not unwrap ${what}: the key given under id "${stored.masterKeyId}" is not the one that wrapped it`,
    );
  }
  return key;
}

/**
 * The start-up check: every master key id in use is in the ring and unwraps a key it wrapped. Throws a
 * CipherError naming the first id that fails; never lets a node start on the wrong keys.
 */
export async function verifyKeyRing(store: DataKeyStore, ring: MasterKeyRing): Promise<void> {
  for (const sample of await store.samplePerMasterKey()) unwrapDataKey(ring, sample);
}
