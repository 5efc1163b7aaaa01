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
import { parseWebhookQueueSubject, webhookQueueRoot } from '../events/event-subject.ts';
import { type TraceConsume, untracedConsume } from '../events/ports.ts';
import { fromNatsHeaders } from '../nats/message-headers.ts';
import type { WebhookDeliverer } from './webhook-deliverer.ts';
import type { WebhookMetrics } from './webhook-metrics.ts';
import { SendNextTurn } from '../nats/send-next-turn.ts';
import {
  atLeast,
  checkOptions,
  integer,
  nonNegative,
  positive,
  resolveOptions,
  type OptionDefaults,
  type Resolved,
} from '../../shared/options.ts';

/** Options of {@link JetStreamWebhookConsumer}; every field but `stream` has a default. */
export interface JetStreamWebhookConsumerOptions {
  /** The webhook queue stream (created by the event publisher's `webhookQueue`). */
  stream: string;
  /** Subject root of the cluster; the consumer takes `<prefix>.webhook-queue.>`. @default 'bflow' */
  prefix?: string;
  /** Durable consumer shared by every node of the cluster. @default '<prefix>_webhooks' */
  durable?: string;
  /** Events handled at once by this node; twice as many are pulled ahead in one request. @default 16 */
  concurrency?: number;
  /** The stream redelivers an event not acknowledged within this; kept alive with `working()` while delivering. @default 30_000 */
  ackWaitMs?: number;
  /** Deliveries of one event before the stream stops offering it (a process that keeps dying on it). @default 20 */
  maxDeliver?: number;
  /** Redelivery delay of an event whose webhooks could not be read (store down). @default 5_000 */
  retryDelayMs?: number;
  /** How long one pull request stays open on the server (the client renews it); at least 1_000. @default 2_000 */
  pullExpiresMs?: number;
  /** @default none (no metrics) */
  metrics?: WebhookMetrics;
  /** Wraps each event's delivery (tracing: a span linked to the command's trace). @default runs it */
  traceConsume?: TraceConsume;
  /** @default a silent logger */
  logger?: Logger;
}

export const DEFAULT_JETSTREAM_WEBHOOK_CONSUMER_OPTIONS = Object.freeze({
  traceConsume: untracedConsume,
  prefix: 'bflow',
  concurrency: 16,
  ackWaitMs: 30_000,
  maxDeliver: 20,
  retryDelayMs: 5_000,
  pullExpiresMs: 2_000,
  logger: pino({ level: 'silent' }),
} satisfies OptionDefaults<JetStreamWebhookConsumerOptions>);

type ResolvedConsumerOptions = Resolved<
  JetStreamWebhookConsumerOptions,
  typeof DEFAULT_JETSTREAM_WEBHOOK_CONSUMER_OPTIONS
> & {
  durable: string;
};

/**
 * Feeds committed events from JetStream to the webhook deliverer: one durable
 * pull consumer per cluster shared by every `bflow node`, so the stream hands
 * each event to one node. It reads the webhook queue, a work-queue stream to
 * which the event publisher copies only the events some webhook wants (an
 * acknowledged event leaves it), so events no webhook wants cost nothing
 * here. A node pulls events in batches (`consume`: one pull request per
 * batch, renewed before it runs dry, rather than one per event),
 * handles up to `concurrency` at once, delivers each to all of its webhooks
 * (one timer extends the ack deadline of every event still in delivery) and
 * acknowledges it once every webhook has an outcome (delivered or given up).
 * An event whose webhooks cannot be read, or whose delivery was cut short by
 * a stop, is nak'd and comes back — at least once; one pulled but not yet
 * handled when the node stops comes back after the ack wait.
 */
export class JetStreamWebhookConsumer {
  readonly #options: ResolvedConsumerOptions;
  readonly #consumer: Consumer;
  readonly #deliverer: WebhookDeliverer;
  #runner: Promise<void> = Promise.resolve();
  #messages: ConsumerMessages | undefined;
  /** Events in delivery, kept alive together by #keepAlive. */
  readonly #working = new Set<JsMsg>();
  readonly #keepAlive: NodeJS.Timeout;
  #stopping = false;
  readonly #acks: SendNextTurn;

  private constructor(consumer: Consumer, deliverer: WebhookDeliverer, options: ResolvedConsumerOptions) {
    this.#consumer = consumer;
    this.#deliverer = deliverer;
    this.#options = options;
    this.#acks = new SendNextTurn((err) =>
      options.logger.warn({ err }, 'webhook consumer: ack failed; the event comes back'),
    );
    this.#keepAlive = setInterval(
      () => {
        for (const msg of this.#working) msg.working();
      },
      Math.max(500, options.ackWaitMs / 3),
    );
    this.#keepAlive.unref();
  }

  /** Ensures the durable consumer exists, then starts pulling. */
  static async start(
    nc: NatsConnection,
    deliverer: WebhookDeliverer,
    given: JetStreamWebhookConsumerOptions,
  ): Promise<JetStreamWebhookConsumer> {
    const resolved = resolveOptions(DEFAULT_JETSTREAM_WEBHOOK_CONSUMER_OPTIONS, given);
    const options: ResolvedConsumerOptions = {
      ...resolved,
      durable: given.durable ?? `${resolved.prefix}_webhooks`,
      // nats.js refuses pull expiries under 1 s.
      pullExpiresMs: Math.max(1_000, resolved.pullExpiresMs),
    };
    checkOptions('JetStreamWebhookConsumer', options, {
      concurrency: atLeast(1),
      ackWaitMs: positive,
      maxDeliver: integer(1),
      retryDelayMs: nonNegative,
    });
    await ensureConsumer(nc, options);
    const consumer = await jetstream(nc).consumers.get(options.stream, options.durable);
    const started = new JetStreamWebhookConsumer(consumer, deliverer, options);
    started.#runner = started.#run();
    return started;
  }

  /** Stops pulling, cuts deliveries in backoff short (their events are nak'd for another node) and waits for them. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#deliverer.stop();
    await this.#messages?.close().catch(() => undefined);
    await this.#runner;
    clearInterval(this.#keepAlive);
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopping) {
      try {
        this.#messages = await this.#consumer.consume({
          max_messages: this.#options.concurrency * 2,
          expires: this.#options.pullExpiresMs,
        });
        if (this.#stopping) await this.#messages.close();
        await this.#handleAll(this.#messages);
        if (this.#stopping) return;
        failures = 0;
        throw new Error('the event stream ended the pull'); // not expected: pull again after a pause
      } catch (err) {
        if (this.#stopping) return;
        // NATS away: say it once per outage, then back off (1 s doubling to 30 s).
        if (failures++ === 0)
          this.#options.logger.warn({ err }, 'webhook consumer: pull failed; retrying with backoff');
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1_000 * 2 ** Math.min(failures - 1, 5))));
      }
    }
  }

  /** Handles what `messages` yields, `concurrency` at a time, until it ends; waits for the ones in flight. */
  async #handleAll(messages: ConsumerMessages): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    for await (const msg of messages) {
      const handled: Promise<void> = this.#handle(msg).finally(() => inFlight.delete(handled));
      inFlight.add(handled);
      if (inFlight.size >= this.#options.concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  }

  async #handle(msg: JsMsg): Promise<void> {
    if (this.#stopping) return this.#settle(msg, 'retried', 0);
    this.#working.add(msg);
    try {
      const fields = parseWebhookQueueSubject(this.#options.prefix, msg.subject);
      const headers = msg.headers && fromNatsHeaders(msg.headers);
      const reports = await this.#options.traceConsume('bflow.webhook.deliver', headers, { ...fields }, (inTrace) =>
        this.#deliverer.deliver(msg.data, fields?.tenant, inTrace),
      );
      if (reports.some((r) => r.outcome === 'aborted')) this.#settle(msg, 'retried', 0);
      else this.#settle(msg, 'done');
    } catch (err) {
      this.#options.logger.warn(
        { err, seq: msg.seq },
        'webhook consumer: could not read the webhooks; the event comes back later',
      );
      this.#settle(msg, 'retried', this.#options.retryDelayMs);
    } finally {
      this.#working.delete(msg);
    }
  }

  /** Acks and naks of one turn of the event loop go out in one socket write. */
  #settle(msg: JsMsg, result: 'done' | 'retried', delayMs?: number): void {
    if (result === 'done') this.#acks.queue(() => msg.ack());
    else if (delayMs !== undefined && delayMs > 0) this.#acks.queue(() => msg.nak(delayMs));
    else this.#acks.queue(() => msg.nak());
    this.#options.metrics?.events.inc({ result });
  }
}

/** Creates the shared durable consumer; an existing one keeps its position, and gets the configured ack wait and delivery bound. */
async function ensureConsumer(nc: NatsConnection, o: ResolvedConsumerOptions): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const wanted = { ack_wait: nanos(o.ackWaitMs), max_deliver: o.maxDeliver };
  try {
    const current = (await jsm.consumers.info(o.stream, o.durable)).config;
    if (current.ack_wait !== wanted.ack_wait || current.max_deliver !== wanted.max_deliver)
      await jsm.consumers.update(o.stream, o.durable, wanted);
    return;
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
  }
  const config: Partial<ConsumerConfig> = {
    durable_name: o.durable,
    ack_policy: AckPolicy.Explicit,
    // The queue holds only what is still to be delivered (a work-queue stream's consumer must start at its first message).
    deliver_policy: DeliverPolicy.All,
    filter_subject: `${webhookQueueRoot(o.prefix)}.>`,
    ...wanted,
  };
  // Two nodes racing here is fine: adding an identical consumer twice succeeds.
  await jsm.consumers.add(o.stream, config);
}
