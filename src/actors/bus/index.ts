/** The shard bus: commands to the node that holds a runtime's shard (NATS request/reply, or in process). */
export type { Problem, ShardBus, ShardReply, ShardRequest } from './ports.ts';
export { MemoryShardBus, type MemoryShardBusOptions } from './memory-shard-bus.ts';
export { NatsShardBus, type NatsShardBusOptions, shardSubject } from './nats-shard-bus.ts';
export { RoutingClient, type RoutingClientOptions, type RoutingOutcome, type SendOptions } from './routing-client.ts';
