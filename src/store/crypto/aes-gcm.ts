import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** AES-256-GCM with a random 96-bit nonce: `nonce ‖ tag ‖ ciphertext`. */

const NONCE = 12;
const TAG = 16;
export const KEY_BYTES = 32;

/**
 * Nonces are cut from a pool of random bytes refilled 4,096 at a time: one `randomBytes` call per seal was
 * half of sealing's CPU on the approve path (a system call each). Still 96 random bits per nonce, never reused
 * (a refill allocates a new pool; the slices handed out stay as they were).
 */
const POOL_NONCES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

function nextNonce(): Buffer {
  if (offset + NONCE > pool.length) {
    pool = randomBytes(NONCE * POOL_NONCES);
    offset = 0;
  }
  const nonce = pool.subarray(offset, offset + NONCE);
  offset += NONCE;
  return nonce;
}

/** `plaintext` as bytes, or as a string (encoded as UTF-8 by the cipher: no intermediate copy). */
export function sealBytes(key: Buffer, plaintext: Buffer | string, aad: Buffer): Buffer {
  const nonce = nextNonce();
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const head = typeof plaintext === 'string' ? cipher.update(plaintext, 'utf8') : cipher.update(plaintext);
  const tail = cipher.final();
  return Buffer.concat([nonce, cipher.getAuthTag(), head, tail]);
}

/** The plaintext, or undefined when `sealed` does not authenticate under `key` and `aad`. */
export function openBytes(key: Buffer, sealed: Buffer, aad: Buffer): Buffer | undefined {
  if (sealed.length < NONCE + TAG) return undefined;
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(NONCE, NONCE + TAG));
  try {
    const head = decipher.update(sealed.subarray(NONCE + TAG));
    return Buffer.concat([head, decipher.final()]);
  } catch {
    return undefined;
  }
}
