import {
  jetstreamManager,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { Counter, Registry } from 'prom-client';
import { ActorError } from '../errors.ts';
import {
  eventRoot,
  parseEventSubject,
  webhookQueueRoot,
  webhookQueueSubject,
  type EventSubjectFields,
} from './event-subject.ts';
import type { EventPublisher } from './ports.ts';
import type { MessageHeaders } from '../nats/message-headers.ts';
import { PubAckInbox } from './pub-ack-inbox.ts';
import {
  checkOptions,
  integer,
  nonNegative,
  positive,
  resolveOptions,
  type OptionDefaults,
  type Resolved,
} from '../../shared/options.ts';

/** Options of {@link JetStreamEventPublisher}. */
export interface JetStreamEventPublisherOptions {
  /** Subject root of the cluster; the stream binds `<prefix>.events.>`. @default 'bflow' */
  prefix?: string;
  /** @default 'BFLOW_EVENTS' */
  stream?: string;
  /**
   * How long the stream remembers a `Nats-Msg-Id` (the event id): a re-publish
   * within it (the outbox relay retrying after a lost PubAck) is stored once.
   * Must exceed the relay's longest retry gap. @default 120_000
   */
  duplicateWindowMs?: number;
  /** How long events are kept, for consumers that fall behind or replay. 0 = forever. @default 604_800_000 (7 days) */
  maxAgeMs?: number;
  /** Stream replicas (1 on a single server; 3 in a production cluster). @default 1 */
  replicas?: number;
  /** How long `publish` waits for the PubAck. @default 5_000 */
  ackTimeoutMs?: number;
  /** Where the metrics are registered. @default a private registry */
  registry?: Registry;
  /**
   * Also queue every event some webhook wants on this work-queue stream (created here, bound to
   * `<prefix>.webhook-queue.>`), which the webhook consumer reads: an event no webhook wants costs no
   * delivery. `wanted` answers from the nodes' webhook cache; when it cannot answer the event is queued.
   * @default none (no webhook queue)
   */
  webhookQueue?: { stream: string; wanted: (tenant: string, type: string) => Promise<boolean> };
}

export const DEFAULT_JETSTREAM_EVENT_PUBLISHER_OPTIONS = Object.freeze({
  prefix: 'bflow',
  stream: 'BFLOW_EVENTS',
  duplicateWindowMs: 120_000,
  maxAgeMs: 604_800_000,
  replicas: 1,
  ackTimeoutMs: 5_000,
} satisfies OptionDefaults<JetStreamEventPublisherOptions>);

type ResolvedOptions = Resolved<JetStreamEventPublisherOptions, typeof DEFAULT_JETSTREAM_EVENT_PUBLISHER_OPTIONS>;

/**
 * EventPublisher over a JetStream stream (the outbox relay's sink). `publish`
 * sends with `Nats-Msg-Id` = event id and resolves only on the stream's
 * PubAck (a duplicate ack counts as success: the event is stored); any other
 * outcome throws ActorError `event_publish_failed`, so the relay keeps the
 * event unpublished and retries. Publishes are pipelined (PubAckInbox).
 * With `webhookQueue`, an event some webhook wants is published to the queue
 * too (same `Nats-Msg-Id`), and `publish` resolves once both acknowledged it.
 */
export class JetStreamEventPublisher implements EventPublisher {
  readonly #acks: PubAckInbox;
  readonly #root: string;
  readonly #prefix: string;
  readonly #published: Counter<'result'>;
  readonly #queued: Counter<'result'>;
  readonly #wanted: ((tenant: string, type: string) => Promise<boolean>) | undefined;

  private constructor(acks: PubAckInbox, options: ResolvedOptions, registry: Registry) {
    this.#acks = acks;
    this.#prefix = options.prefix;
    this.#root = `${eventRoot(options.prefix)}.`;
    this.#published = counter(
      registry,
      'bflow_events_published_total',
      'Event publishes by result: stored, duplicate, failed',
    );
    this.#queued = counter(
      registry,
      'bflow_webhook_queue_published_total',
      'Events queued for webhooks, by result: stored, duplicate, failed',
    );
    this.#wanted = options.webhookQueue?.wanted;
  }

  /** Ensures the stream (and the webhook queue, when asked for) exists with the configured subjects and limits, then returns a publisher. */
  static async create(
    nc: NatsConnection,
    given: JetStreamEventPublisherOptions = {},
  ): Promise<JetStreamEventPublisher> {
    const options = resolveOptions(DEFAULT_JETSTREAM_EVENT_PUBLISHER_OPTIONS, given);
    checkOptions('JetStreamEventPublisher', options, {
      duplicateWindowMs: nonNegative,
      maxAgeMs: nonNegative,
      replicas: integer(1),
      ackTimeoutMs: positive,
    });
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, options.stream, {
      ...streamLimits(options),
      subjects: [`${eventRoot(options.prefix)}.>`],
    });
    const queue = options.webhookQueue;
    if (queue)
      await ensureStream(jsm, queue.stream, {
        ...streamLimits(options),
        subjects: [`${webhookQueueRoot(options.prefix)}.>`],
        retention: RetentionPolicy.Workqueue,
      });
    return new JetStreamEventPublisher(
      new PubAckInbox(nc, options.ackTimeoutMs),
      options,
      options.registry ?? new Registry(),
    );
  }

  /** `fields` (the event's, when the caller has them) spare parsing the subject to decide whether a webhook wants it. */
  async publish(
    subject: string,
    msgId: string,
    payload: Uint8Array,
    fields?: EventSubjectFields,
    headers?: MessageHeaders,
  ): Promise<void> {
    if (!subject.startsWith(this.#root)) {
      throw new RangeError(`event subject ${subject} is outside the stream's ${this.#root}>`);
    }
    const published = this.#publishTo(this.#published, subject, msgId, payload, headers);
    if (this.#wanted === undefined) return published;
    const queued = this.#queue(fields ?? parseEventSubject(this.#prefix, subject), msgId, payload, headers);
    await Promise.all([published, queued]);
  }

  async #queue(
    fields: EventSubjectFields | undefined,
    msgId: string,
    payload: Uint8Array,
    headers: MessageHeaders | undefined,
  ): Promise<void> {
    if (fields === undefined) return;
    // Unknown (the webhook list could not be read): queued, and the consumer reads the list again.
    const wanted = await this.#wanted!(fields.tenant, fields.type).catch(() => true);
    if (wanted) await this.#publishTo(this.#queued, webhookQueueSubject(this.#prefix, fields), msgId, payload, headers);
  }

  async #publishTo(
    count: Counter<'result'>,
    subject: string,
    msgId: string,
    payload: Uint8Array,
    headers: MessageHeaders | undefined,
  ): Promise<void> {
    try {
      const ack = await this.#acks.publish(subject, payload, msgId, headers);
      count.inc({ result: ack.duplicate ? 'duplicate' : 'stored' });
    } catch (err) {
      count.inc({ result: 'failed' });
      const reason = err instanceof Error ? err.message : String(err);
      throw new ActorError('event_publish_failed', `event ${msgId} not acknowledged on ${subject}: ${reason}`, {
        cause: err,
      });
    }
  }

  /** Stops waiting for acknowledgements (publishes in flight fail); the connection stays the caller's. */
  close(): void {
    this.#acks.close();
  }
}

function streamLimits(o: ResolvedOptions): Pick<StreamConfig, 'duplicate_window' | 'max_age' | 'num_replicas'> {
  return { duplicate_window: nanos(o.duplicateWindowMs), max_age: nanos(o.maxAgeMs), num_replicas: o.replicas };
}

/**
 * Creates stream `name`, or brings an existing one's subjects, duplicate window, age limit and replicas to
 * `wanted` (other settings an operator changed are kept; the retention is set only on creation, since a
 * stream's retention cannot change).
 */
async function ensureStream(
  jsm: JetStreamManager,
  name: string,
  wanted: Pick<StreamConfig, 'subjects' | 'duplicate_window' | 'max_age' | 'num_replicas'> &
    Partial<Pick<StreamConfig, 'retention'>>,
): Promise<void> {
  let current: StreamConfig;
  try {
    current = (await jsm.streams.info(name)).config;
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
    // Two nodes racing here is fine: adding an identical stream twice succeeds.
    await jsm.streams.add({ name, ...wanted });
    return;
  }
  const { retention: _setOnCreation, ...updatable } = wanted;
  const same =
    current.subjects.length === updatable.subjects.length &&
    current.subjects.every((s, i) => s === updatable.subjects[i]) &&
    current.duplicate_window === updatable.duplicate_window &&
    current.max_age === updatable.max_age &&
    current.num_replicas === updatable.num_replicas;
  if (!same) await jsm.streams.update(name, { ...current, ...updatable });
}

function counter(registry: Registry, name: string, help: string): Counter<'result'> {
  return (
    (registry.getSingleMetric(name) as Counter<'result'> | undefined) ??
    new Counter({ name, help, labelNames: ['result'], registers: [registry] })
  );
}
