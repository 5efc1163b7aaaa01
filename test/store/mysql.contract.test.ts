import { afterAll } from 'vitest';
import { MySqlDirectoryStore } from '../../src/store/mysql/directory-store.ts';
import { MySqlReadModel } from '../../src/store/mysql/read-model.ts';
import { MySqlRuntimeStore } from '../../src/store/mysql/runtime-store.ts';
import { MySqlWorkflowStore } from '../../src/store/mysql/workflow-store.ts';
import { MySqlTransitionWriter } from '../../src/store/mysql/transition-writer.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';
import { directoryStoreContract } from './contract/directory-store.case.ts';
import { readModelContract } from './contract/read-model.case.ts';
import { runtimeStoreContract } from './contract/runtime-store.case.ts';
import type { StoreSubject } from './contract/subject.ts';
import { workflowStoreContract } from './contract/workflow-store.case.ts';

// One database for the file; every test works in its own tenant (and shard), so tests don't see each other.
let db: Promise<TestDatabase> | undefined;
afterAll(async () => {
  if (db !== undefined) await (await db).drop();
});

async function mysqlSubject(): Promise<StoreSubject> {
  db ??= useTestDatabase('store_contract');
  const { pool } = await db;
  const writer = new MySqlTransitionWriter(pool);
  return {
    writer,
    store: new MySqlRuntimeStore(pool),
    read: new MySqlReadModel(pool),
    directory: new MySqlDirectoryStore(pool),
    workflows: new MySqlWorkflowStore(pool),
    cleanup: () => writer.close(),
  };
}

runtimeStoreContract('mysql', mysqlSubject);
readModelContract('mysql', mysqlSubject);
directoryStoreContract('mysql', mysqlSubject);
workflowStoreContract('mysql', mysqlSubject);
