import { randomBytes } from 'node:crypto';
import { KEY_BYTES } from './aes-gcm.ts';
import { CipherError } from './crypto-errors.ts';

/** One master key: the id stored next to each data key it wraps, and its 32 bytes. */
export interface MasterKey {
  id: string;
  key: Buffer;
}

/** The master keys a process holds; the first is the active one (new data keys are wrapped with it). */
export interface MasterKeyRing {
  active: MasterKey;
  get(id: string): MasterKey | undefined;
  readonly ids: readonly string[];
}

const ID = /^[A-Za-z0-9_.-]{1,64}$/;

export function keyRing(keys: readonly MasterKey[]): MasterKeyRing {
  const byId = new Map(keys.map((k) => [k.id, k]));
  const active = keys[0];
  if (active === undefined) throw new CipherError('key_ring_invalid', 'a key ring needs at least one key');
  return { active, get: (id) => byId.get(id), ids: keys.map((k) => k.id) };
}

/**
 * Parses `<id>:<32-byte key, base64>[,<id>:<key>…]` (the first key is the active one), as BFLOW_MASTER_KEYS or
 * the content of BFLOW_MASTER_KEY_FILE holds it (commas or line breaks between keys). `source` names where the
 * text came from in errors, which name the bad entry by its id or position (never the key bytes).
 */
export function parseKeyRing(text: string, source: string): MasterKeyRing {
  const entries = text
    .split(/[,\n\r]+/)
    .map((e) => e.trim())
    .filter((e) => e !== '' && !e.startsWith('#'));
  if (entries.length === 0) throw new CipherError('key_ring_invalid', `${source} holds no key: use <id>:<base64 key>`);
  const keys: MasterKey[] = [];
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    const where = `${source} entry ${i + 1}`;
    if (colon <= 0) throw new CipherError('key_ring_invalid', `${where}: expected <id>:<base64 key>`);
    const id = entry.slice(0, colon);
    if (!ID.test(id))
      throw new CipherError('key_ring_invalid', `${where}: key id "${id}" must be 1-64 letters, digits, _ . -`);
    const encoded = entry.slice(colon + 1).trim();
    const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded) ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
    if (key.length !== KEY_BYTES)
      throw new CipherError(
        'key_ring_invalid',
        `${where}: key "${id}" must be ${KEY_BYTES} bytes in base64 (got ${key.length} bytes); make one with: openssl rand -base64 32`,
      );
    if (keys.some((k) => k.id === id))
      throw new CipherError('key_ring_invalid', `${where}: key id "${id}" is repeated`);
    keys.push({ id, key });
  });
  return keyRing(keys);
}

/** A fresh random master key under `id` (the embedded mode's per-process ring; tests). */
export function generateMasterKey(id: string): MasterKey {
  return { id, key: randomBytes(KEY_BYTES) };
}

/** A ring as BFLOW_MASTER_KEYS spells it. */
export function formatKeyRing(keys: readonly MasterKey[]): string {
  return keys.map((k) => `${k.id}:${k.key.toString('base64')}`).join(',');
}
