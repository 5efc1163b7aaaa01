import type mysql from 'mysql2/promise';
import { EnvelopeCipher } from '../../src/store/crypto/field-cipher.ts';
import { type MasterKeyRing, parseKeyRing } from '../../src/store/crypto/key-ring.ts';
import { MySqlDataKeyStore } from '../../src/store/mysql/data-key-store.ts';

/**
 * The master key ring every bflow process a test or bench starts on a cluster runs with (BFLOW_MASTER_KEYS,
 * docs/security.md): fixed, so that processes sharing a database agree. A test key; never use it for real data.
 */
export const TEST_MASTER_KEYS = 'test-1:gEvLtMrVu07oJ60cx0xF/QK2DAdAjhO4evaJ3ktjaNE=';

export const testKeyRing = (): MasterKeyRing => parseKeyRing(TEST_MASTER_KEYS, 'TEST_MASTER_KEYS');

/** What a test passes to a MySQL adapter reading what processes started with TEST_MASTER_KEYS wrote. */
export const testCipher = (pool: mysql.Pool): { cipher: EnvelopeCipher } => ({
  cipher: new EnvelopeCipher(testKeyRing(), new MySqlDataKeyStore(pool)),
});
