/** Stable codes of encryption at rest (docs/security.md). */
export type CipherErrorCode =
  /** BFLOW_MASTER_KEYS / BFLOW_MASTER_KEY_FILE is missing or malformed. */
  | 'key_ring_invalid'
  /** A data key is wrapped with a master key id the ring does not hold. */
  | 'master_key_missing'
  /** The ring's key under an id does not unwrap what that id wrapped (a wrong key given for the id). */
  | 'master_key_wrong'
  /** A ciphertext names a data key version the tenant does not have. */
  | 'data_key_missing'
  /** A ciphertext does not authenticate: altered, or copied from another tenant, table or row. */
  | 'ciphertext_mismatch';

/** A failure of encryption at rest with a stable `code`; the message names the key id or the row and says what to do. */
export class CipherError extends Error {
  override readonly name = 'CipherError';
  constructor(
    readonly code: CipherErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
