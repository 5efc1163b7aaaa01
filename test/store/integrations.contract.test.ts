import { afterAll } from 'vitest';
import { MemoryStore } from '../../src/store/memory/memory-store.ts';
import { MySqlAnalyticsReader } from '../../src/store/mysql/analytics-reader.ts';
import { MySqlTransitionWriter } from '../../src/store/mysql/transition-writer.ts';
import { MySqlWebhookStore } from '../../src/store/mysql/webhook-store.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';
import { analyticsReaderContract } from './contract/analytics-reader.case.ts';
import { webhookStoreContract } from './contract/webhook-store.case.ts';

// The webhook store and the analytics read, on the in-process twin and on MariaDB/MySQL (one database for the file).
let db: Promise<TestDatabase> | undefined;
afterAll(async () => {
  if (db !== undefined) await (await db).drop();
});
const pool = async () => (await (db ??= useTestDatabase('integrations'))).pool;

webhookStoreContract('memory', async () => {
  const store = new MemoryStore();
  return { webhooks: store.webhooks, cleanup: () => store.close() };
});
webhookStoreContract('mysql', async () => ({
  webhooks: new MySqlWebhookStore(await pool()),
  cleanup: async () => undefined,
}));

analyticsReaderContract('memory', async () => {
  const store = new MemoryStore();
  return { writer: store.writer, analytics: store.analytics, cleanup: () => store.close() };
});
analyticsReaderContract('mysql', async () => {
  const p = await pool();
  const writer = new MySqlTransitionWriter(p);
  return { writer, analytics: new MySqlAnalyticsReader(p), cleanup: () => writer.close() };
});
