import { NatsLeaseManager } from '../../../src/actors/leases/nats-lease-manager.ts';
import { useTestNats, type TestNats } from '../../harness/nats-server.ts';
import { leaseManagerContract } from './lease-manager.contract.ts';

let nats: TestNats | undefined;

leaseManagerContract('nats', {
  create: async ({ nodeId, shardCount }) => {
    nats ??= await useTestNats('lease_contract');
    // Each manager gets a cluster of its own: the contract speaks of a lone node.
    return new NatsLeaseManager({
      nc: await nats.connect(nodeId),
      nodeId,
      shardCount,
      cluster: `${nats.prefix}_${nodeId.replace(/\W/g, '_')}`,
      ttlMs: 3000,
      settleMs: 100,
    });
  },
  createPeers: async ({ nodeIds, shardCount }) => {
    nats ??= await useTestNats('lease_contract');
    const cluster = `${nats.prefix}_${nodeIds.join('_').replace(/\W/g, '_')}`;
    return Promise.all(
      nodeIds.map(
        async (nodeId) =>
          new NatsLeaseManager({
            nc: await nats!.connect(nodeId),
            nodeId,
            shardCount,
            cluster,
            ttlMs: 3000,
            settleMs: 100,
          }),
      ),
    );
  },
  cleanup: async () => nats?.cleanup(),
  acquireDeadlineMs: 5000,
});
