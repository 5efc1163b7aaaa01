import { MemoryShardBus } from '../../../src/actors/bus/memory-shard-bus.ts';
import { shardBusContract } from './shard-bus.contract.ts';

shardBusContract('memory', async () => {
  const bus = new MemoryShardBus();
  return { server: bus, client: bus, cleanup: () => bus.close() };
});

shardBusContract('memory, 2 ms hop', async () => {
  const bus = new MemoryShardBus({ hopMs: 2 });
  return { server: bus, client: bus, cleanup: () => bus.close() };
});
