import type { ActionCommand, EngineErrorDetail, RuntimeState } from '../engine/index.ts';
import type { EventSubjectFields } from './event-subject.ts';

/**
 * Ports of the actors layer. NATS adapters and in-process twins implement them;
 * one contract suite per port runs against both (STYLE.md rule 3).
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

/** A command for one runtime, as the gateway sends it to the owning shard. */
export type ShardRequest =
  | {
      kind: 'start';
      tenant: string;
      runtimeId: string;
      app: string;
      docId: string;
      companyId?: string;
      creator: string;
      doc: Record<string, unknown>;
      idempotencyKey: string;
    }
  | {
      kind: 'command';
      tenant: string;
      runtimeId: string;
      command: ActionCommand;
      idempotencyKey: string;
      expectedRevision?: number;
    };

export interface Problem {
  /** Stable code of API.md: action_not_allowed, not_assignee, version_conflict, runtime_not_found, … */
  code: string;
  message: string;
  errors?: readonly EngineErrorDetail[];
  retryable: boolean;
}

/** The answer to a ShardRequest, sent only after the transition is committed. */
export type ShardReply =
  | { ok: true; state: RuntimeState; created?: boolean; replayed?: boolean }
  | { ok: false; problem: Problem };

/** Request/reply to shards: NATS (a subject per shard) or the in-process twin. */
export interface ShardBus {
  /** Answers requests for `shard` until the returned function is called. */
  serve(shard: number, handler: (request: ShardRequest) => Promise<ShardReply>): Promise<() => Promise<void>>;
  /** Sends one request; rejects with BusError('no_responders' | 'timeout' | 'bus_unavailable'). */
  request(shard: number, request: ShardRequest, timeoutMs: number): Promise<ShardReply>;
  close(): Promise<void>;
}

/** Domain events leaving the outbox: JetStream stream BFLOW_EVENTS, or the in-process twin. */
export interface EventPublisher {
  /**
   * Publishes with `msgId` (see eventMsgId in event-subject.ts) as the de-duplication id; resolves when the stream
   * acknowledged it. `fields`, the event's tenant, app and type when the caller has them, spare parsing `subject`.
   */
  publish(subject: string, msgId: string, payload: Uint8Array, fields?: EventSubjectFields): Promise<void>;
}

/** Injected time, so tests can move it. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
