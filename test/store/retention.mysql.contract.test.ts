import { MySqlReadModel } from '../../src/store/mysql/read-model.ts';
import { MySqlRetentionStore } from '../../src/store/mysql/retention-store.ts';
import { MySqlRuntimeStore } from '../../src/store/mysql/runtime-store.ts';
import { MySqlTransitionWriter } from '../../src/store/mysql/transition-writer.ts';
import { testCipher } from '../harness/master-keys.ts';
import { useTestDatabase } from '../harness/mysql.ts';
import { T0 } from './fixtures.ts';
import { retentionContract } from './contract/retention.contract.ts';

// A database of its own: retention scans every tenant's rows. Encrypted at rest, as a cluster runs: compaction
// opens the log's bodies and seals the base step it writes.
retentionContract('mysql', async () => {
  const db = await useTestDatabase('retention_contract');
  const clock = { now: T0 };
  const now = () => clock.now;
  const { cipher } = testCipher(db.pool);
  const writer = new MySqlTransitionWriter(db.pool, { now, cipher });
  return {
    writer,
    store: new MySqlRuntimeStore(db.pool, { now, cipher }),
    read: new MySqlReadModel(db.pool, { cipher }),
    retention: new MySqlRetentionStore(db.pool, { now, cipher }),
    clock,
    cleanup: async () => {
      await writer.close();
      await db.drop();
    },
  };
});
