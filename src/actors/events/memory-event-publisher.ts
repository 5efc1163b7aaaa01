import { ActorError } from '../errors.ts';
import { eventRoot, subjectMatches } from './event-subject.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { EventPublisher } from './ports.ts';
import type { MessageHeaders } from '../nats/message-headers.ts';
import type { EventSubjectFields } from './event-subject.ts';
import { checkOptions, integer, nonNegative, resolveOptions, type OptionDefaults } from '../../shared/options.ts';

/** Options of {@link MemoryEventPublisher}. */
export interface MemoryEventPublisherOptions {
  /** @default 'bflow' */
  prefix?: string;
  /** A re-publish of an event id within this window is not stored again (as JetStream's duplicate_window). @default 120_000 */
  duplicateWindowMs?: number;
  /** @default systemClock */
  clock?: Clock;
  /**
   * How many stored events are kept for `messages()` (the oldest are dropped, as a stream's max_msgs does);
   * listeners see every event. Bounds the memory of a long-running embedded process. @default 100_000
   */
  maxRetained?: number;
}

export const DEFAULT_MEMORY_EVENT_PUBLISHER_OPTIONS = Object.freeze({
  prefix: 'bflow',
  duplicateWindowMs: 120_000,
  clock: systemClock,
  maxRetained: 100_000,
} satisfies OptionDefaults<MemoryEventPublisherOptions>);

/** One stored event, as a stream consumer would see it. */
export interface StoredEvent {
  /** Stream sequence, from 1. */
  seq: number;
  subject: string;
  msgId: string;
  payload: Uint8Array;
  at: number;
  /** The headers it was published with, if any. */
  headers?: MessageHeaders;
}

/**
 * In-process twin of the JetStream event publisher: keeps the last
 * `maxRetained` stored events in order, de-duplicates by event id within the window, refuses subjects
 * outside `<prefix>.events.>`, and lets listeners follow a subject filter.
 */
export class MemoryEventPublisher implements EventPublisher {
  readonly #root: string;
  readonly #windowMs: number;
  readonly #clock: Clock;
  readonly #events: StoredEvent[] = [];
  readonly #maxRetained: number;
  #seq = 0;
  /** Event id → when it was first stored. */
  readonly #seen = new Map<string, number>();
  readonly #listeners = new Set<{ filter: string; listener: (event: StoredEvent) => void }>();
  readonly #failures: Error[] = [];

  constructor(options: MemoryEventPublisherOptions = {}) {
    const resolved = resolveOptions(DEFAULT_MEMORY_EVENT_PUBLISHER_OPTIONS, options);
    checkOptions('MemoryEventPublisher', resolved, { duplicateWindowMs: nonNegative, maxRetained: integer(0) });
    this.#root = `${eventRoot(resolved.prefix)}.`;
    this.#windowMs = resolved.duplicateWindowMs;
    this.#clock = resolved.clock;
    this.#maxRetained = resolved.maxRetained;
  }

  async publish(
    subject: string,
    msgId: string,
    payload: Uint8Array,
    _fields?: EventSubjectFields,
    headers?: MessageHeaders,
  ): Promise<void> {
    if (!subject.startsWith(this.#root)) {
      throw new RangeError(`event subject ${subject} is outside the stream's ${this.#root}>`);
    }
    const failure = this.#failures.shift();
    if (failure)
      throw new ActorError('event_publish_failed', `event ${msgId} not acknowledged: ${failure.message}`, {
        cause: failure,
      });
    const now = this.#clock.now();
    this.#forgetBefore(now - this.#windowMs);
    if (this.#seen.has(msgId)) return;
    this.#seen.set(msgId, now);
    const event: StoredEvent = { seq: ++this.#seq, subject, msgId, payload: payload.slice(), at: now };
    if (headers) event.headers = { ...headers };
    this.#events.push(event);
    // Dropped in chunks, so a full buffer costs one splice per 1,024 events rather than a shift per event.
    if (this.#events.length > this.#maxRetained + 1024) this.#events.splice(0, this.#events.length - this.#maxRetained);
    for (const l of this.#listeners) if (subjectMatches(l.filter, subject)) l.listener(event);
  }

  /** Drops ids older than the window; insertion order is time order, so only the front is scanned. */
  #forgetBefore(limit: number): void {
    for (const [id, at] of this.#seen) {
      if (at > limit) return;
      this.#seen.delete(id);
    }
  }

  /** Stored events, oldest first, optionally those matching a NATS subject filter. */
  messages(filter?: string): StoredEvent[] {
    const kept = this.#events.slice(-this.#maxRetained);
    return filter === undefined ? kept : kept.filter((e) => subjectMatches(filter, e.subject));
  }

  /** Calls `listener` for each event stored from now on whose subject matches `filter`; returns the unsubscribe. */
  subscribe(filter: string, listener: (event: StoredEvent) => void): () => void {
    const entry = { filter, listener };
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  /** Makes the next publish fail (for outbox relay tests); queued failures are used in order. */
  failNext(error: Error = new Error('simulated publish failure')): void {
    this.#failures.push(error);
  }
}
