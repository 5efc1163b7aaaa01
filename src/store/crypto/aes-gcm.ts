import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** AES-256-GCM with a random 96-bit nonce: `nonce ‖ tag ‖ ciphertext`. */

const NONCE = 12;
const TAG = 16;
export const KEY_BYTES = 32;

export function sealBytes(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const head = cipher.update(plaintext);
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
