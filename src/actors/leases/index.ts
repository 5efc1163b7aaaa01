/** Shard ownership: leases in NATS KV (or in process), fencing epochs, the cluster's shard map. */
export type { ClusterView, HeldShard, LeaseChange, LeaseManager, ShardDrainer } from './ports.ts';
export { LeaseBucketReader, type LeaseBucketReaderOptions } from './lease-bucket-reader.ts';
export { LeaseError, type LeaseErrorCode } from './lease-errors.ts';
export { MemoryLeaseCluster, MemoryLeaseManager, type MemoryLeaseManagerOptions } from './memory-lease-manager.ts';
export { NatsLeaseManager, type NatsLeaseManagerOptions } from './nats-lease-manager.ts';
