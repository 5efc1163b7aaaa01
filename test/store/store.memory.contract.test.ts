import { MemoryStore } from '../../src/store/memory/memory-store.ts';
import { key } from '../../src/store/memory/tables.ts';
import { analyticsReaderContract } from './contract/analytics-reader.contract.ts';
import { directoryStoreContract } from './contract/directory-store.contract.ts';
import { readModelContract } from './contract/read-model.contract.ts';
import { runtimeStoreContract } from './contract/runtime-store.contract.ts';
import type { StoreSubject } from './contract/subject.ts';
import { notificationStoreContract } from './contract/notification-store.contract.ts';
import { webhookStoreContract } from './contract/webhook-store.contract.ts';
import { workflowStoreContract } from './contract/workflow-store.contract.ts';
import { migrationPlanStoreContract } from './contract/migration-plan-store.contract.ts';

async function memorySubject(): Promise<StoreSubject> {
  const store = new MemoryStore();
  return {
    writer: store,
    store,
    read: store,
    directory: store,
    workflows: store,
    rewindProjection: async (tenant, runtimeId, state) => {
      const row = store.tables.runtimes.get(key(tenant, runtimeId));
      if (row) row.state = structuredClone(state);
    },
    cleanup: () => store.close(),
  };
}

runtimeStoreContract('memory', memorySubject);
readModelContract('memory', memorySubject);
directoryStoreContract('memory', memorySubject);
workflowStoreContract('memory', memorySubject);

webhookStoreContract('memory', async () => {
  const store = new MemoryStore();
  return { webhooks: store.webhooks, cleanup: () => store.close() };
});
analyticsReaderContract('memory', async () => {
  const store = new MemoryStore();
  return { writer: store.writer, analytics: store.analytics, cleanup: () => store.close() };
});
notificationStoreContract('memory', async () => {
  const store = new MemoryStore();
  return { notifications: store.notifications, cleanup: () => store.close() };
});
migrationPlanStoreContract('memory', async () => {
  const store = new MemoryStore();
  return { plans: store.migrations, writer: store.writer, cleanup: () => store.close() };
});
