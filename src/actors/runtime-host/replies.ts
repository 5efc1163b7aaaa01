import type { RuntimeState } from '../../engine/index.ts';
import type { StoredIdempotency } from '../../store/ports.ts';
import type { OkReply } from './actor.ts';
import type { ShardReply } from '../bus/ports.ts';
import { internal, problem } from './problems.ts';

/**
 * What the host stores with an idempotency key (in the transition's own
 * transaction): the first reply's state, and `created` for a start. A retry
 * with the key is answered with exactly this, marked `replayed`.
 */
export interface StoredResponse {
  state: RuntimeState;
  created?: boolean;
}

export function storedResponse(reply: OkReply): StoredResponse {
  return reply.created === undefined ? { state: reply.state } : { state: reply.state, created: reply.created };
}

/** A remembered reply, answered again. */
export function replayed(reply: OkReply): OkReply {
  return { ...reply, replayed: true };
}

/**
 * The stored first reply of an idempotency key. `runtimeId` is the runtime the
 * retry addresses: a command's key must belong to it. A start's retry may carry
 * a fresh runtime id (pass undefined) but its key must belong to a start.
 */
export function replayStored(stored: StoredIdempotency, runtimeId: string | undefined): ShardReply {
  const response = stored.response as Partial<StoredResponse> | null;
  if (!response || typeof response !== 'object' || !response.state) return internal();
  const isStart = response.created !== undefined;
  if (
    (runtimeId !== undefined && (stored.runtimeId !== runtimeId || isStart)) ||
    (runtimeId === undefined && !isStart)
  ) {
    return problem(
      'idempotency_key_reused',
      `idempotency key ${stored.key} was used for another request (runtime ${stored.runtimeId})`,
    );
  }
  return replayed({ ok: true, ...storedResponse({ ok: true, ...(response as StoredResponse) }) });
}
