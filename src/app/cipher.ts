import type mysql from 'mysql2/promise';
import type { Logger } from 'pino';
import { verifyKeyRing } from '../store/crypto/data-keys.ts';
import { EnvelopeCipher, type FieldCipher, PlaintextCipher } from '../store/crypto/field-cipher.ts';
import { MySqlDataKeyStore } from '../store/mysql/data-key-store.ts';
import type { EncryptionConfig } from './master-keys.ts';

const ER_NO_SUCH_TABLE = 1146;

/**
 * The cipher of a cluster process (docs/security.md): the configured ring over the data keys in `pool` (the
 * primary), checked first: every master key id the database uses must be in the ring and unwrap what it
 * wrapped, or the process refuses to start with an error naming the id.
 */
export async function startCipher(
  encryption: EncryptionConfig,
  pool: mysql.Pool,
  logger: Logger,
): Promise<FieldCipher> {
  const { keys, encrypt, compress, source } = encryption;
  if (keys === undefined) {
    logger.warn('encryption at rest is off (BFLOW_ENCRYPTION=off, no master keys): values are written as plaintext');
    return new PlaintextCipher(compress);
  }
  const store = new MySqlDataKeyStore(pool);
  try {
    await verifyKeyRing(store, keys);
  } catch (err) {
    // A gateway may start before the first node migrated the database: nothing is encrypted yet.
    if ((err as { errno?: number }).errno !== ER_NO_SUCH_TABLE) throw err;
  }
  if (!encrypt) logger.warn('BFLOW_ENCRYPTION=off: new values are written as plaintext (encrypted ones still read)');
  logger.info({ source, activeKey: keys.active.id, keys: keys.ids }, 'encryption at rest: master keys checked');
  return new EnvelopeCipher(keys, store, { encrypt, compress });
}
