/**
 * Ports of shard leasing: the NATS KV lease manager and its in-process twin implement them;
 * one contract suite runs against both.
 */

/** A shard this node holds, with its fencing epoch (the lease key's KV revision). */
export interface HeldShard {
  shard: number;
  epoch: number;
}

export type LeaseChange =
  | { type: 'acquired'; shard: number; epoch: number }
  /** The lease could not be renewed (or was taken): stop serving the shard at once. */
  | { type: 'lost'; shard: number }
  /** Handed over gracefully after `drain` finished. */
  | { type: 'released'; shard: number };

/** What the lease manager asks of the shard host before giving a shard up. */
export interface ShardDrainer {
  /** Stop taking new commands for the shard, finish in-flight ones, flush; resolves when it is safe to release. */
  drain(shard: number): Promise<void>;
}

export interface ClusterView {
  shardCount: number;
  nodes: { id: string; lastSeen: number; shards: number }[];
  shards: { shard: number; node: string | null; epoch: number | null }[];
}

/**
 * Shard ownership. Claims free shards (create-if-absent), renews held ones by
 * compare-and-set well inside the TTL, aims at ceil(shards / live nodes) and
 * hands surplus shards over gracefully (drain, then delete the key).
 */
export interface LeaseManager {
  readonly nodeId: string;
  readonly shardCount: number;
  /** Registers the node and starts claiming/renewing. Refuses (throws) if the cluster's recorded shard count differs. */
  start(drainer: ShardDrainer): Promise<void>;
  /** Drains and releases every held shard, deregisters the node. */
  stop(): Promise<void>;
  held(): readonly HeldShard[];
  /** True while this node holds `shard` (at `epoch`, when given). */
  holds(shard: number, epoch?: number): boolean;
  onChange(listener: (change: LeaseChange) => void): () => void;
  view(): Promise<ClusterView>;
}
