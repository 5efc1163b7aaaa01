import { readFileSync } from 'node:fs';
import { CipherError } from '../store/crypto/crypto-errors.ts';
import { generateMasterKey, keyRing, type MasterKeyRing, parseKeyRing } from '../store/crypto/key-ring.ts';

/** Encryption at rest as configured (docs/security.md): the master key ring and whether new values are sealed. */
export interface EncryptionConfig {
  /** The master keys; undefined only in a cluster with BFLOW_ENCRYPTION=off and no keys given. */
  keys?: MasterKeyRing;
  /** Where the keys came from; `generated`: made up at start (the embedded mode with no keys set), gone at exit. */
  source: 'BFLOW_MASTER_KEYS' | 'BFLOW_MASTER_KEY_FILE' | 'generated' | 'none';
  /** BFLOW_ENCRYPTION=on (default): new values are sealed. Off: written as plaintext (benchmarks); reads still open. */
  encrypt: boolean;
  /** BFLOW_COMPRESSION=on (default): the large JSON columns are deflated before they are sealed; reads open both. */
  compress: boolean;
}

/** The variables that name the master keys, as the process's environment gives them (non-empty). */
export interface MasterKeyVariables {
  BFLOW_MASTER_KEYS?: string | undefined;
  BFLOW_MASTER_KEY_FILE?: string | undefined;
}

/**
 * The ring BFLOW_MASTER_KEYS or the file BFLOW_MASTER_KEY_FILE holds, or undefined when neither is set.
 * Throws a CipherError (`key_ring_invalid`) naming the variable and the bad entry (never a key's bytes).
 */
export function keyRingFromEnv(
  env: MasterKeyVariables,
): { ring: MasterKeyRing; source: EncryptionConfig['source'] } | undefined {
  const { BFLOW_MASTER_KEYS: keys, BFLOW_MASTER_KEY_FILE: file } = env;
  if (keys && file)
    throw new CipherError('key_ring_invalid', 'set only one of BFLOW_MASTER_KEYS and BFLOW_MASTER_KEY_FILE');
  if (keys) return { ring: parseKeyRing(keys, 'BFLOW_MASTER_KEYS'), source: 'BFLOW_MASTER_KEYS' };
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CipherError(
      'key_ring_invalid',
      `BFLOW_MASTER_KEY_FILE=${JSON.stringify(file)}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  return { ring: parseKeyRing(text, `BFLOW_MASTER_KEY_FILE (${file})`), source: 'BFLOW_MASTER_KEY_FILE' };
}

/** The embedded mode's ring when none is set: one random key, for this process only. */
export function generatedKeyRing(): MasterKeyRing {
  return keyRing([generateMasterKey('generated')]);
}

/** Says what a cluster role is missing. */
export const MISSING_KEYS =
  'needs BFLOW_MASTER_KEYS or BFLOW_MASTER_KEY_FILE: the master keys that encrypt data at rest (docs/security.md), ' +
  'e.g. BFLOW_MASTER_KEYS="k1:$(openssl rand -base64 32)"';
