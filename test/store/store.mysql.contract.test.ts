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

async function mysqlSubject(): Promise<StoreSubject> {
  const p = await pool();
  const writer = new MySqlTransitionWriter(p);
  return {
    writer,
    store: new MySqlRuntimeStore(p),
    read: new MySqlReadModel(p),
    directory: new MySqlDirectoryStore(p),
    workflows: new MySqlWorkflowStore(p),
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
  webhooks: new MySqlWebhookStore(await pool()),
  cleanup: async () => undefined,
}));
analyticsReaderContract('mysql', async () => {
  const p = await pool();
  const writer = new MySqlTransitionWriter(p);
  return { writer, analytics: new MySqlAnalyticsReader(p), cleanup: () => writer.close() };
});
notificationStoreContract('mysql', async () => ({
  notifications: new MySqlNotificationStore(await pool()),
  cleanup: async () => undefined,
}));
migrationPlanStoreContract('mysql', async () => {
  const p = await pool();
  const writer = new MySqlTransitionWriter(p);
  return { plans: new MySqlMigrationPlanStore(p), writer, cleanup: () => writer.close() };
});
