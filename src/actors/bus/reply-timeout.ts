import { BusError } from '../errors.ts';
import type { ShardReply } from './ports.ts';

/**
 * The reply, or BusError `timeout` after `timeoutMs`. The handler keeps running and its reply is dropped, as
 * when a NATS request times out: the routing client's retry joins it through the idempotency key.
 */
export function replyWithin(reply: Promise<ShardReply>, timeoutMs: number, shard: number): Promise<ShardReply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new BusError('timeout', `no reply for shard ${shard} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    reply.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
