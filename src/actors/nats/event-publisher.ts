import { jetstreamManager, JetStreamApiCodes, JetStreamApiError, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { Counter, Registry } from 'prom-client';
import { ActorError } from '../errors.ts';
import { eventRoot } from '../event-subject.ts';
import type { EventPublisher } from '../ports.ts';
import { PubAckInbox } from './pub-ack-inbox.ts';

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
}

type ResolvedOptions = Required<Omit<JetStreamEventPublisherOptions, 'registry'>>;

/**
 * EventPublisher over a JetStream stream (the outbox relay's sink). `publish`
 * sends with `Nats-Msg-Id` = event id and resolves only on the stream's
 * PubAck (a duplicate ack counts as success: the event is stored); any other
 * outcome throws ActorError `event_publish_failed`, so the relay keeps the
 * event unpublished and retries. Publishes are pipelined (PubAckInbox).
 */
export class JetStreamEventPublisher implements EventPublisher {
  readonly #acks: PubAckInbox;
  readonly #root: string;
  readonly #published: Counter<'result'>;

  private constructor(acks: PubAckInbox, o: ResolvedOptions, registry: Registry) {
    this.#acks = acks;
    this.#root = `${eventRoot(o.prefix)}.`;
    this.#published = publishedCounter(registry);
  }

  /** Ensures the stream exists with the configured subjects and duplicate window, then returns a publisher. */
  static async create(nc: NatsConnection, options: JetStreamEventPublisherOptions = {}): Promise<JetStreamEventPublisher> {
    const o: ResolvedOptions = {
      prefix: options.prefix ?? 'bflow',
      stream: options.stream ?? 'BFLOW_EVENTS',
      duplicateWindowMs: options.duplicateWindowMs ?? 120_000,
      maxAgeMs: options.maxAgeMs ?? 604_800_000,
      replicas: options.replicas ?? 1,
      ackTimeoutMs: options.ackTimeoutMs ?? 5_000,
    };
    await ensureEventStream(await jetstreamManager(nc), o);
    return new JetStreamEventPublisher(new PubAckInbox(nc, o.ackTimeoutMs), o, options.registry ?? new Registry());
  }

  async publish(subject: string, msgId: string, payload: Uint8Array): Promise<void> {
    if (!subject.startsWith(this.#root)) {
      throw new RangeError(`event subject ${subject} is outside the stream's ${this.#root}>`);
    }
    try {
      const ack = await this.#acks.publish(subject, payload, msgId);
      this.#published.inc({ result: ack.duplicate ? 'duplicate' : 'stored' });
    } catch (err) {
      this.#published.inc({ result: 'failed' });
      const reason = err instanceof Error ? err.message : String(err);
      throw new ActorError('event_publish_failed', `event ${msgId} not acknowledged on ${subject}: ${reason}`, { cause: err });
    }
  }

  /** Stops waiting for acknowledgements (publishes in flight fail); the connection stays the caller's. */
  close(): void {
    this.#acks.close();
  }
}

/**
 * Creates the event stream, or brings an existing one's subjects, duplicate
 * window, age limit and replicas to the configured values (other settings an
 * operator changed are kept).
 */
export async function ensureEventStream(jsm: JetStreamManager, o: Omit<ResolvedOptions, 'ackTimeoutMs'>): Promise<void> {
  const wanted = {
    subjects: [`${eventRoot(o.prefix)}.>`],
    duplicate_window: nanos(o.duplicateWindowMs),
    max_age: nanos(o.maxAgeMs),
    num_replicas: o.replicas,
  } satisfies Partial<StreamConfig>;
  let current: StreamConfig;
  try {
    current = (await jsm.streams.info(o.stream)).config;
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
    // Two nodes racing here is fine: adding an identical stream twice succeeds.
    await jsm.streams.add({ name: o.stream, ...wanted });
    return;
  }
  const same =
    current.subjects.length === 1 &&
    current.subjects[0] === wanted.subjects[0] &&
    current.duplicate_window === wanted.duplicate_window &&
    current.max_age === wanted.max_age &&
    current.num_replicas === wanted.num_replicas;
  if (!same) await jsm.streams.update(o.stream, { ...current, ...wanted });
}

function publishedCounter(registry: Registry): Counter<'result'> {
  const name = 'bflow_events_published_total';
  return (
    (registry.getSingleMetric(name) as Counter<'result'> | undefined) ??
    new Counter({ name, help: 'Event publishes by result: stored, duplicate, failed', labelNames: ['result'], registers: [registry] })
  );
}
