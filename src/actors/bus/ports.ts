import type { MessageHeaders } from '../nats/message-headers.ts';
import type { ActionCommand, EngineErrorDetail, MigrateCommand, RuntimeState } from '../../engine/index.ts';

/**
 * Ports of the shard bus: NATS request/reply (a subject per shard) and its in-process twin implement them;
 * one contract suite runs against both.
 */

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
    }
  | {
      /** Moves the runtime to another version of its workflow (a migration plan's executor sends it). */
      kind: 'migrate';
      tenant: string;
      runtimeId: string;
      migration: MigrateCommand;
      /** migrationKey(plan, runtime): a runtime is migrated once per plan. */
      idempotencyKey: string;
    };

export interface Problem {
  /** Stable code (docs/api.md#errors): action_not_allowed, not_assignee, version_conflict, runtime_not_found, … */
  code: string;
  message: string;
  errors?: readonly EngineErrorDetail[];
  retryable: boolean;
  /** `migration_blocked`: why the runtime cannot migrate (a MigrationBlock). */
  reason?: string;
}

/**
 * A read of one runtime's live state from its owner (`GET /runtimes/{id}`): answered from the actor's memory
 * when it is live there (`ok` with the state), else `not_live` (the caller reads the read model), or
 * `shard_moved` when the shard is not held here. It never activates an actor, never reads a store, and
 * never waits behind the runtime's mailbox: a command's reply is sent after the actor moved on, so a read
 * sent after that reply sees the command's effect.
 */
export interface ShardRead {
  kind: 'read';
  tenant: string;
  runtimeId: string;
}

/** What travels to a shard's owner: a command (start, action) or a live read. */
export type ShardMessage = ShardRequest | ShardRead;

/** The answer to a ShardRequest, sent only after the transition is committed. */
export type ShardReply =
  | { ok: true; state: RuntimeState; created?: boolean; replayed?: boolean }
  | { ok: false; problem: Problem };

/** What serves a shard: a message (with the headers it came with, if any) to its reply. */
export type ShardHandler = (request: ShardMessage, headers?: MessageHeaders) => Promise<ShardReply>;

/** Request/reply to shards: NATS (a subject per shard) or the in-process twin. */
export interface ShardBus {
  /** Answers requests for `shard` until the returned function is called. */
  serve(shard: number, handler: ShardHandler): Promise<() => Promise<void>>;
  /**
   * Sends one request, with `headers` (as NATS message headers) when given; rejects with BusError('no_responders' | 'timeout' |
   * 'bus_unavailable').
   */
  request(shard: number, request: ShardMessage, timeoutMs: number, headers?: MessageHeaders): Promise<ShardReply>;
  close(): Promise<void>;
}
