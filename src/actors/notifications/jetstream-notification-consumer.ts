import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  JetStreamApiCodes,
  JetStreamApiError,
  type Consumer,
  type ConsumerConfig,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { pino, type Logger } from 'pino';
import { eventRoot, parseEventSubject } from '../events/event-subject.ts';
import { type TraceConsume, untracedConsume } from '../events/ports.ts';
import { fromNatsHeaders } from '../nats/message-headers.ts';
import { SendNextTurn } from '../nats/send-next-turn.ts';
import { parseEvent, type NotificationBatcher } from './notification-batcher.ts';

export interface JetStreamNotificationConsumerOptions {
  /** The event stream (BFLOW_EVENTS). */
  stream: string;
  /** @default 'bflow' */
  prefix?: string;
  /** Durable consumer shared by every notifier of the cluster. @default '<prefix>_notifier' */
  durable?: string;
  /** Events pulled ahead. @default 200 */
  pullAhead?: number;
  /** The stream redelivers an event not acknowledged within this (kept alive while in hand). @default 30_000 */
  ackWaitMs?: number;
  /** Deliveries of one event before the stream stops offering it. @default 50 */
  maxDeliver?: number;
  /** Wraps each event from its take to its settling (tracing: a span linked to the command's trace). @default runs it */
  traceConsume?: TraceConsume;
  logger?: Logger;
}

/**
 * Feeds committed events from BFLOW_EVENTS to the notifier: one durable pull
 * consumer per cluster, shared by every notifier replica, so each event goes
 * to one replica at a time. An event is acknowledged after its batch is
 * handled; one to retry is nak'd with its delay; one whose replica dies comes
 * back after the ack wait. A new consumer starts at the stream's end (no
 * notifications for history).
 */
export class JetStreamNotificationConsumer {
  #runner: Promise<void> = Promise.resolve();
  #messages: ConsumerMessages | undefined;
  #stopping = false;
  readonly #inHand = new Set<JsMsg>();
  readonly #keepAlive: NodeJS.Timeout;
  readonly #acks: SendNextTurn;

  private constructor(
    private readonly consumer: Consumer,
    private readonly batcher: NotificationBatcher,
    private readonly pullAhead: number,
    private readonly logger: Logger,
    ackWaitMs: number,
    private readonly prefix: string,
    private readonly traceConsume: TraceConsume,
  ) {
    this.#acks = new SendNextTurn((err) => logger.warn({ err }, 'notifier: ack failed; the event comes back'));
    this.#keepAlive = setInterval(
      () => {
        for (const msg of this.#inHand) msg.working();
      },
      Math.max(500, ackWaitMs / 3),
    );
    this.#keepAlive.unref();
  }

  static async start(
    nc: NatsConnection,
    batcher: NotificationBatcher,
    options: JetStreamNotificationConsumerOptions,
  ): Promise<JetStreamNotificationConsumer> {
    const prefix = options.prefix ?? 'bflow';
    const durable = options.durable ?? `${prefix}_notifier`;
    const ackWaitMs = options.ackWaitMs ?? 30_000;
    const maxDeliver = options.maxDeliver ?? 50;
    await ensureConsumer(nc, options.stream, durable, `${eventRoot(prefix)}.>`, ackWaitMs, maxDeliver);
    const consumer = await jetstream(nc).consumers.get(options.stream, durable);
    const started = new JetStreamNotificationConsumer(
      consumer,
      batcher,
      options.pullAhead ?? 200,
      options.logger ?? pino({ level: 'silent' }),
      ackWaitMs,
      prefix,
      options.traceConsume ?? untracedConsume,
    );
    started.#runner = started.#run();
    return started;
  }

  /** Stops pulling and waits for the batch in hand; events buffered but not handled come back after the ack wait. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#messages?.close().catch(() => undefined);
    await this.#runner;
    await this.batcher.idle();
    clearInterval(this.#keepAlive);
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopping) {
      try {
        this.#messages = await this.consumer.consume({ max_messages: this.pullAhead, expires: 2_000 });
        if (this.#stopping) await this.#messages.close();
        for await (const msg of this.#messages) {
          failures = 0;
          this.#take(msg);
          // Pull no further ahead than the batcher can hold: what is pulled waits here, kept alive.
          while (this.#inHand.size >= this.pullAhead && !this.#stopping) await this.batcher.idle();
        }
        if (this.#stopping) return;
        throw new Error('the event stream ended the pull');
      } catch (err) {
        if (this.#stopping) return;
        if (failures++ === 0) this.logger.warn({ err }, 'notifier: pull failed; retrying with backoff');
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1_000 * 2 ** Math.min(failures - 1, 5))));
      }
    }
  }

  #take(msg: JsMsg): void {
    this.#inHand.add(msg);
    const headers = msg.headers && fromNatsHeaders(msg.headers);
    const fields = { ...parseEventSubject(this.prefix, msg.subject) };
    void this.traceConsume('bflow.notification.handle', headers, fields, () => this.#handOver(msg));
  }

  /** Hands the event to the batcher; settles once the batcher has settled it. */
  #handOver(msg: JsMsg): Promise<void> {
    return new Promise((handled) => {
      this.batcher.push({
        event: parseEvent(msg.data),
        settle: (result, delayMs) => {
          this.#inHand.delete(msg);
          handled();
          if (this.#stopping && result === 'retry') return; // comes back after the ack wait
          if (result === 'done') this.#acks.queue(() => msg.ack());
          else this.#acks.queue(() => msg.nak(delayMs));
        },
      });
    });
  }
}

async function ensureConsumer(
  nc: NatsConnection,
  stream: string,
  durable: string,
  filter: string,
  ackWaitMs: number,
  maxDeliver: number,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const wanted = { ack_wait: nanos(ackWaitMs), max_deliver: maxDeliver };
  try {
    const current = (await jsm.consumers.info(stream, durable)).config;
    if (current.ack_wait !== wanted.ack_wait || current.max_deliver !== wanted.max_deliver)
      await jsm.consumers.update(stream, durable, wanted);
    return;
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
  }
  const config: Partial<ConsumerConfig> = {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    filter_subject: filter,
    ...wanted,
  };
  await jsm.consumers.add(stream, config);
}
