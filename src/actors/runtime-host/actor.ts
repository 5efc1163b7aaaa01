import type { CompiledWorkflow, RuntimeState } from '../../engine/index.ts';
import type { ShardReply } from '../bus/ports.ts';

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
  /** The version the runtime runs; a committed migration switches it. */
  wf: CompiledWorkflow;
  /** Idempotency key → reply, oldest first (bounded by recentKeysPerActor). */
  readonly recent: Map<string, OkReply>;
  /** Clock time of the last request handled (for idle passivation). */
  lastUsed: number;
  /**
   * Whether `state` is known to be what MySQL holds (loaded from it, or committed by this actor). An actor
   * activated from the snapshot cache is not: a previous owner may have died between its commit and the cache
   * refresh. A commit on a stale state is fenced by the revision check; a refusal is re-checked on a fresh load.
   */
  confirmed: boolean;
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
