/** The shard bus: commands to the node that holds a runtime's shard (NATS request/reply, or in process). */
export type {
  Problem,
  ShardBus,
  ShardHandler,
  ShardMessage,
  ShardRead,
  ShardReply,
  ShardRequest,
} from './ports.ts';
export { ColocatedShardBus, type ColocatedShardBusOptions, type ShardRequestPath } from './colocated-shard-bus.ts';
export { MemoryShardBus, type MemoryShardBusOptions } from './memory-shard-bus.ts';
export { NatsShardBus, type NatsShardBusOptions, shardSubject } from './nats-shard-bus.ts';
export {
  type LiveReadOutcome,
  RoutingClient,
  type RoutingClientOptions,
  type RoutingOutcome,
  type SendOptions,
} from './routing-client.ts';
