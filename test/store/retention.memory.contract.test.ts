import { MemoryStore } from '../../src/store/memory/memory-store.ts';
import { T0 } from './fixtures.ts';
import { retentionContract } from './contract/retention.contract.ts';

retentionContract('memory', async () => {
  const clock = { now: T0 };
  const store = new MemoryStore({ now: () => clock.now });
  return {
    writer: store.writer,
    store: store.runtimes,
    read: store.read,
    retention: store.retention,
    clock,
    cleanup: () => store.close(),
  };
});
