import { pino, type Logger } from 'pino';
import { BusError } from '../errors.ts';
import { wireCopy } from './json-codec.ts';
import { replyWithin } from './reply-timeout.ts';
import type { MessageHeaders } from '../nats/message-headers.ts';
import type { ShardBus, ShardHandler, ShardMessage, ShardReply } from './ports.ts';
import { checkOptions, nonNegative, resolveOptions, type OptionDefaults } from '../../shared/options.ts';

type Handler = ShardHandler;

/** Options of {@link MemoryShardBus}. */
export interface MemoryShardBusOptions {
  /**
   * Simulated one-way network hop, applied to the request and to the reply.
   * 0 still answers asynchronously (after a macrotask), like a real bus. @default 0
   */
  hopMs?: number;
  /** @default a silent logger */
  logger?: Logger;
}

export const DEFAULT_MEMORY_SHARD_BUS_OPTIONS = Object.freeze({
  hopMs: 0,
  logger: pino({ level: 'silent' }),
} satisfies OptionDefaults<MemoryShardBusOptions>);

const INTERNAL: ShardReply = { ok: false, problem: { code: 'internal', message: 'internal error', retryable: false } };

/**
 * In-process twin of the NATS shard bus, with the same semantics: no handler
 * for a shard → `no_responders`; no reply within the timeout → `timeout` (the
 * handler keeps running, its reply is dropped); a throwing handler → an
 * `internal` problem; requests and replies are copied through JSON, as on the
 * wire. Several handlers of one shard (a handover) all receive the request
 * and the first reply wins, as with two plain NATS subscriptions.
 */
export class MemoryShardBus implements ShardBus {
  readonly #handlers = new Map<number, Set<Handler>>();
  readonly #hopMs: number;
  readonly #log: Logger;
  #closed = false;

  constructor(options: MemoryShardBusOptions = {}) {
    const { hopMs, logger } = resolveOptions(DEFAULT_MEMORY_SHARD_BUS_OPTIONS, options);
    checkOptions('MemoryShardBus', { hopMs }, { hopMs: nonNegative });
    this.#hopMs = hopMs;
    this.#log = logger;
  }

  async serve(shard: number, handler: Handler): Promise<() => Promise<void>> {
    this.#assertOpen();
    // A distinct function per serve() call, so serving the same handler twice unsubscribes independently.
    const entry: Handler = (request, headers) => handler(request, headers);
    let set = this.#handlers.get(shard);
    if (!set) this.#handlers.set(shard, (set = new Set()));
    set.add(entry);
    return async () => {
      set.delete(entry);
      if (set.size === 0 && this.#handlers.get(shard) === set) this.#handlers.delete(shard);
    };
  }

  async request(
    shard: number,
    request: ShardMessage,
    timeoutMs: number,
    headers?: MessageHeaders,
  ): Promise<ShardReply> {
    this.#assertOpen();
    const payload = wireCopy(request);
    await this.#hop();
    const handlers = [...(this.#handlers.get(shard) ?? [])];
    if (handlers.length === 0) throw new BusError('no_responders', `no responders for shard ${shard}`);
    const replies = handlers.map((h) => this.#answer(h, wireCopy(payload), shard, headers && { ...headers }));
    return replyWithin(Promise.race(replies), Math.max(1, Math.ceil(timeoutMs)), shard);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#handlers.clear();
  }

  /** Shards with at least one handler (for tests and the embedded node's probes). */
  served(): number[] {
    return [...this.#handlers.keys()].sort((a, b) => a - b);
  }

  async #answer(handler: Handler, request: ShardMessage, shard: number, headers?: MessageHeaders): Promise<ShardReply> {
    let reply: ShardReply;
    try {
      reply = wireCopy(await handler(request, headers));
    } catch (err) {
      this.#log.error({ err, shard }, 'shard handler failed');
      reply = INTERNAL;
    }
    await this.#hop();
    return reply;
  }

  #hop(): Promise<void> {
    return new Promise((resolve) => (this.#hopMs > 0 ? setTimeout(resolve, this.#hopMs) : setImmediate(resolve)));
  }

  #assertOpen(): void {
    if (this.#closed) throw new BusError('bus_unavailable', 'shard bus is closed');
  }
}
