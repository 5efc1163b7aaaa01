import { RequestError, TimeoutError, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { pino, type Logger } from 'pino';
import { BusError } from '../errors.ts';
import { decodeJson, encodeJson } from './json-codec.ts';
import type { MessageHeaders } from '../nats/message-headers.ts';
import type { Problem, ShardBus, ShardHandler, ShardMessage, ShardReply } from './ports.ts';
import { SendNextTurn } from '../nats/send-next-turn.ts';
import { fromNatsHeaders, toNatsHeaders } from '../nats/message-headers.ts';
import { resolveOptions, type OptionDefaults } from '../../shared/options.ts';

/** Options of {@link NatsShardBus}. */
export interface NatsShardBusOptions {
  /** Subject root of one cluster: shard n is served on `<prefix>.shard.<n>`. @default 'bflow' */
  prefix?: string;
  /** Handler failures are logged here (the reply carries no stack). @default a silent logger */
  logger?: Logger;
}

export const DEFAULT_NATS_SHARD_BUS_OPTIONS = Object.freeze({
  prefix: 'bflow',
  logger: pino({ level: 'silent' }),
} satisfies OptionDefaults<NatsShardBusOptions>);

/** The subject a shard is served on. */
export function shardSubject(prefix: string, shard: number): string {
  return `${prefix}.shard.${shard}`;
}

/** Longest wait for the server to confirm an unsubscribe before `close`/stop resolve anyway. */
const FLUSH_CAP_MS = 2_000;

const INTERNAL: ShardReply = { ok: false, problem: { code: 'internal', message: 'internal error', retryable: false } };

function internal(message: string): ShardReply {
  const problem: Problem = { code: 'internal', message, retryable: false };
  return { ok: false, problem };
}

/**
 * ShardBus over NATS core request/reply, one subject per shard.
 *
 * `serve` uses a plain subscription, not a queue group: exactly one node holds
 * a shard's lease, and a queue group would hide the rare case where two do.
 * During a handover two nodes may briefly both subscribe (the old holder lost
 * its lease but has not yet noticed, while the new one already serves). NATS
 * then delivers the request to both; the requester keeps the first reply and
 * the second is dropped (the muxed inbox has already resolved). Both nodes may
 * try the command, but only one commit can win: the per-runtime version check
 * in MySQL fences the stale owner, and the idempotency key makes the loser's
 * retry answer with the winner's result. A node must stop serving as soon as
 * it sees `lost`, which keeps that window to one lease-renewal interval.
 *
 * The connection belongs to the caller: `close` ends this bus's subscriptions,
 * never the connection.
 */
export class NatsShardBus implements ShardBus {
  readonly #nc: NatsConnection;
  readonly #prefix: string;
  readonly #log: Logger;
  readonly #subs = new Set<Subscription>();
  #closed = false;
  /** False between a disconnect and the reconnect: requests then fail at once instead of waiting out their timeout. */
  #connected = true;

  /** Replies and requests of one turn of the event loop go out in one socket write. */
  readonly #sends = new SendNextTurn((err) => this.#log.error({ err }, 'shard bus send failed'));

  constructor(nc: NatsConnection, options: NatsShardBusOptions = {}) {
    this.#nc = nc;
    const { prefix, logger } = resolveOptions(DEFAULT_NATS_SHARD_BUS_OPTIONS, options);
    this.#prefix = prefix;
    this.#log = logger;
    void this.#followConnection();
  }

  async serve(shard: number, handler: ShardHandler): Promise<() => Promise<void>> {
    this.#assertOpen();
    const sub = this.#nc.subscribe(shardSubject(this.#prefix, shard), {
      callback: (err, msg) => {
        if (err) this.#log.error({ err, shard }, 'shard subscription failed');
        else void this.#answer(msg, handler, shard);
      },
    });
    this.#subs.add(sub);
    // Resolve once the server knows the interest, so a request sent right after serve() reaches us.
    // (While reconnecting, nats.js re-subscribes by itself; until then requesters retry no_responders.)
    await this.#flushQuietly();
    if (this.#nc.isClosed()) {
      this.#subs.delete(sub);
      throw new BusError('bus_unavailable', `NATS connection closed while serving shard ${shard}`);
    }
    return async () => {
      if (!this.#subs.delete(sub)) return;
      // Drain, not unsubscribe: a request the server already sent us is answered (shard_moved, the host has
      // let the shard go) instead of dropped, which would leave its sender waiting out its try timeout.
      if (this.#nc.isClosed() || this.#nc.isDraining()) return sub.unsubscribe();
      await this.#capped(sub.drain());
    };
  }

  async request(
    shard: number,
    request: ShardMessage,
    timeoutMs: number,
    headers?: MessageHeaders,
  ): Promise<ShardReply> {
    this.#assertOpen();
    const subject = shardSubject(this.#prefix, shard);
    // While reconnecting, nats.js would buffer the request and let it time out: the caller answers 503 now instead.
    if (!this.#connected)
      throw new BusError('bus_unavailable', `NATS connection lost (reconnecting); ${subject} not tried`);
    const timeout = Math.max(1, Math.ceil(timeoutMs));
    let msg: Msg;
    const payload = encodeJson(request);
    await this.#sends.turn();
    try {
      msg = await this.#nc.request(subject, payload, { timeout, ...(headers && { headers: toNatsHeaders(headers) }) });
    } catch (err) {
      throw toBusError(err, subject, timeout);
    }
    return decodeJson<ShardReply>(msg.data);
  }

  /** Stops serving every shard of this bus. Handlers already running still reply. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const sub of this.#subs) sub.unsubscribe();
    this.#subs.clear();
    await this.#flushQuietly();
  }

  async #answer(msg: Msg, handler: ShardHandler, shard: number): Promise<void> {
    if (!msg.reply) {
      this.#log.warn({ shard }, 'shard message without a reply subject ignored');
      return;
    }
    let reply: ShardReply;
    try {
      reply = await handler(decodeJson<ShardMessage>(msg.data), msg.headers && fromNatsHeaders(msg.headers));
    } catch (err) {
      this.#log.error({ err, shard }, 'shard handler failed');
      reply = INTERNAL;
    }
    this.#sends.queue(() => this.#respond(msg, reply, shard));
  }

  #respond(msg: Msg, reply: ShardReply, shard: number): void {
    try {
      msg.respond(encodeJson(reply));
    } catch (err) {
      // Typically max_payload exceeded; a closed connection fails the fallback too.
      this.#log.error({ err, shard }, 'shard reply could not be sent');
      try {
        msg.respond(encodeJson(internal('reply could not be sent')));
      } catch {
        /* the requester times out and retries */
      }
    }
  }

  async #followConnection(): Promise<void> {
    for await (const s of this.#nc.status()) {
      if (s.type === 'disconnect') this.#connected = false;
      else if (s.type === 'reconnect') this.#connected = true;
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new BusError('bus_unavailable', 'shard bus is closed');
    if (this.#nc.isClosed()) throw new BusError('bus_unavailable', 'NATS connection is closed');
  }

  /**
   * Waits until the server has seen our (un)subscriptions, at most
   * FLUSH_CAP_MS. nats.js leaves a flush pending forever when the connection
   * is closed meanwhile, hence the race with `closed()`.
   */
  async #flushQuietly(): Promise<void> {
    if (this.#nc.isClosed() || this.#nc.isDraining()) return;
    await this.#capped(this.#nc.flush());
  }

  /** Waits for `work`, at most FLUSH_CAP_MS and no longer than the connection lives; never rejects. */
  async #capped(work: Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, FLUSH_CAP_MS)));
    try {
      await Promise.race([work, this.#nc.closed(), cap]);
    } catch {
      /* losing the connection unsubscribes too */
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Maps a nats.js v3 request failure to a BusError (no responders arrives as a RequestError whose cause is NoRespondersError). */
function toBusError(err: unknown, subject: string, timeoutMs: number): BusError {
  if (err instanceof TimeoutError)
    return new BusError('timeout', `no reply on ${subject} within ${timeoutMs} ms`, { cause: err });
  if (err instanceof RequestError && err.isNoResponders()) {
    return new BusError('no_responders', `no responders on ${subject}`, { cause: err });
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new BusError('bus_unavailable', `request on ${subject} failed: ${reason}`, { cause: err });
}
