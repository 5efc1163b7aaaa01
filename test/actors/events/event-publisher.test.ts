import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ActorError } from '../../../src/actors/errors.ts';
import { eventFilter, eventSubject } from '../../../src/actors/events/event-subject.ts';
import { MemoryEventPublisher } from '../../../src/actors/events/memory-event-publisher.ts';
import { JetStreamEventPublisher } from '../../../src/actors/events/jetstream-event-publisher.ts';
import type { EventPublisher } from '../../../src/actors/events/ports.ts';
import { connectTestNats, uniquePrefix } from '../nats-fixture.ts';

const body = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** One stored event as the cases compare it (`traceparent`: the header, when it has one). */
interface StoredMessage {
  subject: string;
  payload: string;
  traceparent?: string;
}

/** What the shared cases need from a publisher and the stream behind it. */
interface PublisherSubject {
  prefix: string;
  publisher: EventPublisher;
  /** Stored events matching `filter` (a NATS subject filter), oldest first. */
  stored(filter: string): Promise<StoredMessage[]>;
}

const events = [
  { tenant: 'acme', app: 'purchase.order', type: 'task.assigned' },
  { tenant: 'acme', app: 'purchase', type: 'task.assigned' },
  { tenant: 'acme', app: 'purchase.order', type: 'runtime.started' },
  { tenant: 'globex', app: 'purchase.order', type: 'task.assigned' },
  { tenant: 'acme', app: 'leave request', type: 'stage.entered' },
];

function publisherCases(name: string, make: () => Promise<PublisherSubject>): void {
  describe(`event publisher (${name})`, () => {
    let s: PublisherSubject;
    beforeEach(async () => {
      s = await make();
    });

    it('event publisher - the same event id published twice is stored once', async () => {
      const subject = eventSubject(s.prefix, events[0]!);
      await s.publisher.publish(subject, 'ev-1', body('first'));
      await s.publisher.publish(subject, 'ev-1', body('retry'));
      await s.publisher.publish(subject, 'ev-2', body('second'));
      expect(await s.stored(`${s.prefix}.events.>`)).toEqual([
        { subject, payload: 'first' },
        { subject, payload: 'second' },
      ]);
    });

    it('event publisher - encoded subjects filter by tenant, app and type', async () => {
      for (const [i, e] of events.entries())
        await s.publisher.publish(eventSubject(s.prefix, e), `f-${i}`, body(`e${i}`));
      const payloads = async (filter: string): Promise<string[]> => (await s.stored(filter)).map((m) => m.payload);
      expect(await payloads(eventFilter(s.prefix, { tenant: 'acme', app: 'purchase.order' }))).toEqual(['e0', 'e2']);
      expect(await payloads(`${s.prefix}.events.acme.purchase%2Eorder.*`)).toEqual(['e0', 'e2']);
      expect(await payloads(eventFilter(s.prefix, { app: 'purchase.order', type: 'task.assigned' }))).toEqual([
        'e0',
        'e3',
      ]);
      expect(await payloads(eventFilter(s.prefix, { tenant: 'acme', app: 'leave request' }))).toEqual(['e4']);
      expect(await payloads(eventFilter(s.prefix, { tenant: 'globex' }))).toEqual(['e3']);
    });

    it('event publisher - headers given with an event are stored with it (the trace context its consumers read)', async () => {
      const subject = eventSubject(s.prefix, events[0]!);
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      await s.publisher.publish(subject, 'h-1', body('traced'), events[0], { traceparent });
      await s.publisher.publish(subject, 'h-2', body('plain'));
      expect(await s.stored(`${s.prefix}.events.>`)).toEqual([
        { subject, payload: 'traced', traceparent },
        { subject, payload: 'plain' },
      ]);
    });

    it('event publisher - a subject outside the event stream is refused', async () => {
      await expect(s.publisher.publish(`${s.prefix}.other.x`, 'ev-x', body('x'))).rejects.toThrow(RangeError);
    });
  });
}

describe('event publisher on JetStream', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const streams: string[] = [];

  beforeAll(async () => {
    nc = await connectTestNats('events-test');
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
  });

  /** A publisher on a private prefix and stream (deleted after the suite). */
  async function fresh(options: { duplicateWindowMs?: number; ackTimeoutMs?: number } = {}) {
    const prefix = uniquePrefix('ev');
    const stream = `${prefix.toUpperCase()}_EVENTS`;
    streams.push(stream);
    const publisher = await JetStreamEventPublisher.create(nc, { prefix, stream, ...options });
    return { prefix, stream, publisher };
  }

  publisherCases('jetstream', async () => {
    const { prefix, stream, publisher } = await fresh();
    const js = jetstream(nc);
    return {
      prefix,
      publisher,
      stored: async (filter) => {
        const consumer = await js.consumers.get(stream, { filter_subjects: filter });
        // Fetch exactly what matches, so the fetch need not wait for its expiry.
        const pending = (await consumer.info()).num_pending;
        if (pending === 0) return [];
        const out: StoredMessage[] = [];
        const batch = await consumer.fetch({ max_messages: pending, expires: 2_000 });
        for await (const m of batch) {
          const traceparent = m.headers?.get('traceparent');
          out.push({ subject: m.subject, payload: text(m.data), ...(traceparent && { traceparent }) });
        }
        return out;
      },
    };
  });

  it('event publisher - the stream de-duplicates on Nats-Msg-Id within the configured window', async () => {
    const { prefix, stream, publisher } = await fresh({ duplicateWindowMs: 30_000 });
    const info = await jsm.streams.info(stream);
    expect(info.config.subjects).toEqual([`${prefix}.events.>`]);
    expect(info.config.duplicate_window).toBe(30_000 * 1_000_000);
    const subject = eventSubject(prefix, events[1]!);
    await Promise.all([1, 2, 3].map(() => publisher.publish(subject, 'same', body('x'))));
    expect((await jsm.streams.info(stream)).state.messages).toBe(1);
  });

  it('event publisher - creating again keeps the stream and applies a changed duplicate window', async () => {
    const { prefix, stream, publisher } = await fresh();
    await publisher.publish(eventSubject(prefix, events[0]!), 'keep-1', body('kept'));
    await JetStreamEventPublisher.create(nc, { prefix, stream, duplicateWindowMs: 60_000 });
    const info = await jsm.streams.info(stream);
    expect(info.config.duplicate_window).toBe(60_000 * 1_000_000);
    expect(info.state.messages).toBe(1);
  });

  it('event publisher - a publish the stream does not acknowledge throws event_publish_failed', async () => {
    const { prefix, stream, publisher } = await fresh({ ackTimeoutMs: 500 });
    await jsm.streams.delete(stream);
    const err = await publisher.publish(eventSubject(prefix, events[0]!), 'lost', body('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActorError);
    expect(err).toMatchObject({ code: 'event_publish_failed', retryable: true });
  });

  it('event publisher - a publish that reaches a listener but no stream times out as event_publish_failed; many in flight at once are each acknowledged', async () => {
    const { prefix, stream, publisher } = await fresh({ ackTimeoutMs: 300 });
    const acked = await Promise.all(
      events.map((e, i) => publisher.publish(eventSubject(prefix, e), `many-${i}`, body(String(i)))),
    );
    expect(acked).toHaveLength(events.length);
    expect((await jsm.streams.info(stream)).state.messages).toBe(events.length);
    await jsm.streams.delete(stream);
    const silent = nc.subscribe(`${prefix}.events.>`); // interest, so no "no responders"; never answers
    try {
      const err = await publisher
        .publish(eventSubject(prefix, events[0]!), 'silent', body('x'))
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'event_publish_failed' });
      expect(String((err as Error).message)).toContain('timed out');
    } finally {
      silent.unsubscribe();
    }
  });
});

describe('event publisher in process', () => {
  publisherCases('memory', async () => {
    const prefix = 'bflow';
    const publisher = new MemoryEventPublisher({ prefix });
    return {
      prefix,
      publisher,
      stored: async (filter) =>
        publisher.messages(filter).map((m) => ({
          subject: m.subject,
          payload: text(m.payload),
          ...(m.headers?.traceparent && { traceparent: m.headers.traceparent }),
        })),
    };
  });

  it('event publisher - an id is stored again once its duplicate window has passed', async () => {
    let now = 1_000;
    const publisher = new MemoryEventPublisher({ duplicateWindowMs: 100, clock: { now: () => now } });
    const subject = eventSubject('bflow', events[0]!);
    await publisher.publish(subject, 'a', body('1'));
    now += 99;
    await publisher.publish(subject, 'a', body('2'));
    now += 1;
    await publisher.publish(subject, 'a', body('3'));
    expect(publisher.messages().map((m) => [m.seq, text(m.payload)])).toEqual([
      [1, '1'],
      [2, '3'],
    ]);
  });

  it('event publisher - the twin keeps the last maxRetained events; listeners and sequence numbers see them all', async () => {
    const publisher = new MemoryEventPublisher({ maxRetained: 3 });
    let heard = 0;
    publisher.subscribe('bflow.events.>', () => heard++);
    for (let i = 0; i < 2000; i++)
      await publisher.publish(eventSubject('bflow', events[0]!), `k-${i}`, body(String(i)));
    expect(publisher.messages().map((m) => [m.seq, m.msgId])).toEqual([
      [1998, 'k-1997'],
      [1999, 'k-1998'],
      [2000, 'k-1999'],
    ]);
    expect(heard).toBe(2000);
  });

  it('event publisher - listeners follow a filter; failNext makes one publish fail', async () => {
    const publisher = new MemoryEventPublisher();
    const seen: string[] = [];
    const stop = publisher.subscribe(eventFilter('bflow', { app: 'purchase.order' }), (e) => seen.push(e.msgId));
    for (const [i, e] of events.entries()) await publisher.publish(eventSubject('bflow', e), `l-${i}`, body('x'));
    publisher.failNext();
    await expect(publisher.publish(eventSubject('bflow', events[0]!), 'l-9', body('x'))).rejects.toMatchObject({
      code: 'event_publish_failed',
    });
    stop();
    await publisher.publish(eventSubject('bflow', events[0]!), 'l-10', body('x'));
    expect(seen).toEqual(['l-0', 'l-2', 'l-3']);
  });
});
