import type { ShardReply, ShardRequest } from '../bus/ports.ts';
import { replayed } from './replies.ts';

interface InFlight {
  request: ShardRequest;
  reply: Promise<ShardReply>;
}

/**
 * Requests being handled, by (tenant, idempotency key). The gateway sends a
 * request again when a try times out, often while the first is still queued
 * in the runtime's mailbox; the copy joins the first instead of repeating its
 * work (a start's reads, a command's key look-ups) and gets the same reply,
 * marked `replayed` when it is a success (as a replay of a committed key is).
 * Only an identical target joins (same kind and runtime id); another request
 * reusing the key runs as before and meets the store's unique key.
 * An entry is removed when its request settles.
 */
export class InFlightRequests {
  private readonly pending = new Map<string, InFlight>();

  constructor(private readonly joined: () => void = () => undefined) {}

  run(request: ShardRequest, handle: () => Promise<ShardReply>): Promise<ShardReply> {
    // A tenant never holds U+0000, so the first one ends it: a plain join, not a JSON array per command.
    const key = `${request.tenant}\u0000${request.idempotencyKey}`;
    const first = this.pending.get(key);
    if (first && first.request.kind === request.kind && first.request.runtimeId === request.runtimeId) {
      this.joined();
      return first.reply.then((reply) => (reply.ok ? replayed(reply) : reply));
    }
    const reply = handle();
    if (first) return reply;
    const entry: InFlight = { request, reply };
    this.pending.set(key, entry);
    const settle = (): void => {
      if (this.pending.get(key) === entry) this.pending.delete(key);
    };
    reply.then(settle, settle);
    return reply;
  }
}
