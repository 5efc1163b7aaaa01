import { pino, type Logger } from 'pino';
import type { DomainEvent } from '../../engine/index.ts';
import type { NotificationMetrics } from './notification-metrics.ts';
import type { Notifier } from './notifier.ts';

/** One event taken from the stream (or the in-process feed), with how to settle it. */
export interface FeedItem {
  /** undefined: not a domain event (settled done, nothing sent). */
  event: DomainEvent | undefined;
  settle(result: 'done' | 'retry', delayMs?: number): void;
}

export interface NotificationBatcherOptions {
  /** Events handed to the notifier at once, at most. @default 100 */
  maxBatch?: number;
  /**
   * How long a batch gathers before it is handled, unless it is full: a few events written together cost the
   * store a few statements, not a few per event. @default 5
   */
  lingerMs?: number;
  /** Redelivery delay after the store failed a batch. @default 5_000 */
  retryDelayMs?: number;
  metrics?: NotificationMetrics;
  logger?: Logger;
}

/**
 * Micro-batches events for the notifier: whatever arrived while the previous
 * batch was handled is the next batch (up to `maxBatch`), so an idle notifier
 * handles an event at once and a busy one writes in batches.
 */
export class NotificationBatcher {
  readonly #buffer: FeedItem[] = [];
  #running: Promise<void> | undefined;
  readonly #maxBatch: number;
  readonly #retryDelayMs: number;
  readonly #lingerMs: number;
  readonly #logger: Logger;

  constructor(
    private readonly notifier: Notifier,
    private readonly options: NotificationBatcherOptions = {},
  ) {
    this.#maxBatch = options.maxBatch ?? 100;
    this.#retryDelayMs = options.retryDelayMs ?? 5_000;
    this.#lingerMs = options.lingerMs ?? 5;
    this.#logger = options.logger ?? pino({ level: 'silent' });
  }

  push(item: FeedItem): void {
    this.#buffer.push(item);
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
    });
  }

  /** Events buffered or in a batch. */
  get pending(): number {
    return this.#buffer.length + (this.#running === undefined ? 0 : 1);
  }

  /** Resolves when nothing is buffered or in hand. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #drain(): Promise<void> {
    while (this.#buffer.length > 0) {
      if (this.#lingerMs > 0 && this.#buffer.length < this.#maxBatch)
        await new Promise((resolve) => setTimeout(resolve, this.#lingerMs));
      await this.#handle(this.#buffer.splice(0, this.#maxBatch));
    }
  }

  async #handle(batch: FeedItem[]): Promise<void> {
    const events = batch.flatMap((i) => (i.event === undefined ? [] : [i.event]));
    try {
      const { retry } = await this.notifier.handle(events);
      for (const item of batch) {
        const delay = item.event === undefined ? undefined : retry.get(item.event.id);
        this.#settle(item, delay === undefined ? 'done' : 'retry', delay);
      }
    } catch (err) {
      this.#logger.warn({ err, events: events.length }, 'notifier: batch failed; its events come back later');
      for (const item of batch) this.#settle(item, 'retry', this.#retryDelayMs);
    }
  }

  #settle(item: FeedItem, result: 'done' | 'retry', delayMs?: number): void {
    this.options.metrics?.events.inc({ result: result === 'done' ? 'done' : 'retried' });
    item.settle(result, delayMs);
  }
}

/** The domain event in a stream message's bytes, or undefined. */
export function parseEvent(payload: Uint8Array): DomainEvent | undefined {
  try {
    const e = JSON.parse(
      Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'),
    ) as DomainEvent;
    return typeof e?.id === 'string' && typeof e.type === 'string' && typeof e.tenant === 'string' && e.data
      ? e
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The embedded feed: events from the in-process stream; a retried event is
 * pushed again after its delay, at most `maxDeliveries` times (then dropped
 * and logged), and nothing is retried after `stop()`.
 */
export class MemoryNotificationFeed {
  readonly #timers = new Set<NodeJS.Timeout>();
  #stopped = false;

  constructor(
    private readonly batcher: NotificationBatcher,
    private readonly maxDeliveries = 50,
    private readonly logger: Logger = pino({ level: 'silent' }),
  ) {}

  push(payload: Uint8Array, deliveries = 1): void {
    if (this.#stopped) return;
    const event = parseEvent(payload);
    this.batcher.push({
      event,
      settle: (result, delayMs) => {
        if (result === 'done' || this.#stopped) return;
        if (deliveries >= this.maxDeliveries) {
          this.logger.warn({ eventId: event?.id, deliveries }, 'notifier: event dropped after its last delivery');
          return;
        }
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          this.push(payload, deliveries + 1);
        }, delayMs ?? 0);
        timer.unref();
        this.#timers.add(timer);
      },
    });
  }

  idle(): Promise<void> {
    return this.batcher.idle();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await this.batcher.idle();
  }
}
