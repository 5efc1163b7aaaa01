/** A node's shards: opens and closes each shard's serving, timers and outbox as its lease comes and goes. */
export { ShardNode, type ShardNodeParts } from './shard-node.ts';
