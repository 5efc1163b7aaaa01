import { MemoryLeaseCluster, MemoryLeaseManager } from '../../../src/actors/leases/memory-lease-manager.ts';
import { leaseManagerContract } from './lease-manager.contract.ts';

leaseManagerContract('memory', {
  create: async ({ nodeId, shardCount }) => new MemoryLeaseManager({ nodeId, shardCount }),
  createPeers: async ({ nodeIds, shardCount }) => {
    const cluster = new MemoryLeaseCluster();
    return nodeIds.map((nodeId) => new MemoryLeaseManager({ nodeId, shardCount, cluster }));
  },
  cleanup: async () => undefined,
  acquireDeadlineMs: 1000,
});
