import { MySqlReadModel } from '../../src/store/mysql/read-model.ts';
import { MySqlRetentionStore } from '../../src/store/mysql/retention-store.ts';
import { MySqlRuntimeStore } from '../../src/store/mysql/runtime-store.ts';
import { MySqlTransitionWriter } from '../../src/store/mysql/transition-writer.ts';
import { useTestDatabase } from '../harness/mysql.ts';
import { T0 } from './fixtures.ts';
import { retentionContract } from './contract/retention.contract.ts';

// A database of its own: retention scans every tenant's rows.
retentionContract('mysql', async () => {
  const db = await useTestDatabase('retention_contract');
  const clock = { now: T0 };
  const now = () => clock.now;
  const writer = new MySqlTransitionWriter(db.pool, { now });
  return {
    writer,
    store: new MySqlRuntimeStore(db.pool, { now }),
    read: new MySqlReadModel(db.pool),
    retention: new MySqlRetentionStore(db.pool, { now }),
    clock,
    cleanup: async () => {
      await writer.close();
      await db.drop();
    },
  };
});
