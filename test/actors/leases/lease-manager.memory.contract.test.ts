import { MemoryLeaseManager } from '../../../src/actors/leases/memory-lease-manager.ts';
import { leaseManagerContract } from './lease-manager.contract.ts';

leaseManagerContract('memory', {
  create: async ({ nodeId, shardCount }) => new MemoryLeaseManager({ nodeId, shardCount }),
  cleanup: async () => undefined,
  acquireDeadlineMs: 1000,
});
