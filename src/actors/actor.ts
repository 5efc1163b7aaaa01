import type { CompiledWorkflow, RuntimeState } from '../engine/index.ts';
import type { ShardReply } from './ports.ts';

/** A successful reply, as remembered for idempotent retries. */
export type OkReply = Extract<ShardReply, { ok: true }>;

/**
 * A live runtime actor: only what the next command needs — the current state,
 * its compiled workflow version and the replies of its last few idempotency
 * keys. No logs, no history.
 */
export interface Actor {
  readonly key: string;
  readonly tenant: string;
  readonly runtimeId: string;
  readonly shard: number;
  state: RuntimeState;
  readonly wf: CompiledWorkflow;
  /** Idempotency key → reply, oldest first (bounded by recentKeysPerActor). */
  readonly recent: Map<string, OkReply>;
  /** Clock time of the last request handled (for idle passivation). */
  lastUsed: number;
}

/** The mailbox and registry key of a runtime; tenant and id can't collide (`\u0000` never occurs in ids). */
export function actorKey(tenant: string, runtimeId: string): string {
  return `${tenant}\u0000${runtimeId}`;
}

/** Remembers `reply` under `key`, forgetting the oldest key beyond `limit`. */
export function remember(actor: Actor, key: string, reply: OkReply, limit: number): void {
  if (limit === 0) return;
  actor.recent.delete(key);
  actor.recent.set(key, reply);
  if (actor.recent.size > limit) {
    const oldest = actor.recent.keys().next();
    if (!oldest.done) actor.recent.delete(oldest.value);
  }
}
