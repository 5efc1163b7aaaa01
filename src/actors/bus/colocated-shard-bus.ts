import { pino, type Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import { BusError } from '../errors.ts';
import type { MessageHeaders } from '../nats/message-headers.ts';
import type { ShardBus, ShardHandler, ShardMessage, ShardReply } from './ports.ts';
import { replyWithin } from './reply-timeout.ts';
import { resolveOptions, type OptionDefaults } from '../../shared/options.ts';

type Handler = ShardHandler;

/** Options of {@link ColocatedShardBus}. */
export interface ColocatedShardBusOptions {
  /** Where `bflow_shard_requests_total{path}` is registered. @default a private registry */
  registry?: Registry;
  /** Handler failures are logged here. @default a silent logger */
  logger?: Logger;
}

export const DEFAULT_COLOCATED_SHARD_BUS_OPTIONS = Object.freeze({
  logger: pino({ level: 'silent' }),
} satisfies OptionDefaults<Omit<ColocatedShardBusOptions, 'registry'>>);

/** Where a request went: a direct call into this process's handler, or the wrapped bus. */
export type ShardRequestPath = 'local' | 'remote';

const INTERNAL: ShardReply = { ok: false, problem: { code: 'internal', message: 'internal error', retryable: false } };

/**
 * The bus of a process that both hosts shards and routes commands (`bflow all`, embedded or in a cluster).
 * `serve` registers the handler here and on the wrapped bus (other gateways still reach this node over NATS);
 * `request` for a shard this process serves calls its handler directly, in this turn: no NATS hop, no JSON (the
 * headers are handed over as they are, so a trace continues across the local call as it does across NATS).
 * Every other shard goes through the wrapped bus.
 *
 * The handler is the same `RuntimeHost.handle` a NATS subscription calls, so the rules are the same: a request
 * runs only under the epoch it was accepted under, a draining shard answers `shard_moved` to new requests (the
 * routing client retries; once the drain ends the shard is unserved here and the retry goes over the wrapped
 * bus to the new owner), copies of an idempotency key join, and a reply is sent only after its commit.
 *
 * Requests and replies are shared, not copied: the caller must not change a request after sending it, and the
 * reply's state is the live actor's (immutable by the host's rules).
 */
export class ColocatedShardBus implements ShardBus {
  readonly #remote: ShardBus;
  readonly #local = new Map<number, Handler>();
  readonly #requests: Counter<'path'>;
  readonly #log: Logger;
  #closed = false;

  constructor(remote: ShardBus, options: ColocatedShardBusOptions = {}) {
    this.#remote = remote;
    this.#log = resolveOptions(DEFAULT_COLOCATED_SHARD_BUS_OPTIONS, options).logger;
    this.#requests = shardRequestCounter(options.registry ?? new Registry());
  }

  async serve(shard: number, handler: Handler): Promise<() => Promise<void>> {
    if (this.#closed) throw new BusError('bus_unavailable', 'shard bus is closed');
    const unserveRemote = await this.#remote.serve(shard, handler);
    this.#local.set(shard, handler);
    return async () => {
      if (this.#local.get(shard) === handler) this.#local.delete(shard);
      await unserveRemote();
    };
  }

  request(shard: number, request: ShardMessage, timeoutMs: number, headers?: MessageHeaders): Promise<ShardReply> {
    if (this.#closed) return Promise.reject(new BusError('bus_unavailable', 'shard bus is closed'));
    const handler = this.#local.get(shard);
    this.#requests.inc({ path: handler ? 'local' : 'remote' });
    if (!handler) return this.#remote.request(shard, request, timeoutMs, headers);
    return replyWithin(this.#call(handler, request, shard, headers), Math.max(1, Math.ceil(timeoutMs)), shard);
  }

  /** Shards whose requests are answered in process. */
  servedHere(): number[] {
    return [...this.#local.keys()].sort((a, b) => a - b);
  }

  /** Stops serving (here and on the wrapped bus) and closes the wrapped bus. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#local.clear();
    await this.#remote.close();
  }

  async #call(handler: Handler, request: ShardMessage, shard: number, headers?: MessageHeaders): Promise<ShardReply> {
    try {
      return await handler(request, headers);
    } catch (err) {
      this.#log.error({ err, shard }, 'shard handler failed');
      return INTERNAL;
    }
  }
}

function shardRequestCounter(registry: Registry): Counter<'path'> {
  const name = 'bflow_shard_requests_total';
  return (
    (registry.getSingleMetric(name) as Counter<'path'> | undefined) ??
    new Counter({
      name,
      help: 'Shard requests sent by this process, by path: local (a call into its own host) or remote (the bus)',
      labelNames: ['path'],
      registers: [registry],
    })
  );
}
