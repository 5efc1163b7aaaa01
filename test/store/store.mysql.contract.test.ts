import { afterAll } from 'vitest';
import { MySqlAnalyticsReader } from '../../src/store/mysql/analytics-reader.ts';
import { MySqlDirectoryStore } from '../../src/store/mysql/directory-store.ts';
import { MySqlReadModel } from '../../src/store/mysql/read-model.ts';
import { MySqlRuntimeStore } from '../../src/store/mysql/runtime-store.ts';
import { MySqlWorkflowStore } from '../../src/store/mysql/workflow-store.ts';
import { MySqlTransitionWriter } from '../../src/store/mysql/transition-writer.ts';
import { MySqlNotificationStore } from '../../src/store/mysql/notification-store.ts';
import { MySqlWebhookStore } from '../../src/store/mysql/webhook-store.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';
import { EnvelopeCipher } from '../../src/store/crypto/field-cipher.ts';
import { generateMasterKey, keyRing } from '../../src/store/crypto/key-ring.ts';
import { MySqlDataKeyStore } from '../../src/store/mysql/data-key-store.ts';
import { analyticsReaderContract } from './contract/analytics-reader.contract.ts';
import { directoryStoreContract } from './contract/directory-store.contract.ts';
import { readModelContract } from './contract/read-model.contract.ts';
import { runtimeStoreContract } from './contract/runtime-store.contract.ts';
import type { StoreSubject } from './contract/subject.ts';
import { notificationStoreContract } from './contract/notification-store.contract.ts';
import { webhookStoreContract } from './contract/webhook-store.contract.ts';
import { workflowStoreContract } from './contract/workflow-store.contract.ts';
import { migrationPlanStoreContract } from './contract/migration-plan-store.contract.ts';
import { MySqlMigrationPlanStore } from '../../src/store/mysql/migration-plan-store.ts';

// One database for the file; every test works in its own tenant (and shard), so tests don't see each other.
let db: Promise<TestDatabase> | undefined;
afterAll(async () => {
  if (db !== undefined) await (await db).drop();
});

const pool = async () => (await (db ??= useTestDatabase('store_contract'))).pool;

// Encrypted at rest, as a cluster runs (docs/security.md): one cipher per file, its data keys in the test database.
const ring = keyRing([generateMasterKey('contract')]);
let cipher: Promise<EnvelopeCipher> | undefined;
const options = async () => ({
  cipher: await (cipher ??= pool().then((p) => new EnvelopeCipher(ring, new MySqlDataKeyStore(p)))),
});

async function mysqlSubject(): Promise<StoreSubject> {
  const p = await pool();
  const o = await options();
  const writer = new MySqlTransitionWriter(p, o);
  return {
    writer,
    store: new MySqlRuntimeStore(p, o),
    read: new MySqlReadModel(p, o),
    directory: new MySqlDirectoryStore(p),
    workflows: new MySqlWorkflowStore(p, o),
    rewindProjection: async (tenant, runtimeId, state) => {
      await p.query('UPDATE runtimes SET state = ?, revision = ?, status = ? WHERE tenant = ? AND id = ?', [
        JSON.stringify(state),
        state.revision,
        state.status,
        tenant,
        runtimeId,
      ]);
    },
    cleanup: () => writer.close(),
  };
}

runtimeStoreContract('mysql', mysqlSubject);
readModelContract('mysql', mysqlSubject);
directoryStoreContract('mysql', mysqlSubject);
workflowStoreContract('mysql', mysqlSubject);
webhookStoreContract('mysql', async () => ({
  webhooks: new MySqlWebhookStore(await pool(), await options()),
  cleanup: async () => undefined,
}));
analyticsReaderContract('mysql', async () => {
  const p = await pool();
  const o = await options();
  const writer = new MySqlTransitionWriter(p, o);
  return { writer, analytics: new MySqlAnalyticsReader(p, o), cleanup: () => writer.close() };
});
notificationStoreContract('mysql', async () => ({
  notifications: new MySqlNotificationStore(await pool(), await options()),
  cleanup: async () => undefined,
}));
migrationPlanStoreContract('mysql', async () => {
  const p = await pool();
  const o = await options();
  const writer = new MySqlTransitionWriter(p, o);
  return { plans: new MySqlMigrationPlanStore(p, o), writer, cleanup: () => writer.close() };
});
