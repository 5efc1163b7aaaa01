import { pino, type Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { OutboxEvent, RuntimeStore } from '../store/ports.ts';
import { eventMsgId, eventSubject } from './event-subject.ts';
import { systemClock, type Clock, type EventPublisher } from './ports.ts';
import { definedOnly, ShardLoops, type PassResult } from './shard-loops.ts';

export interface OutboxMetrics {
  /** Seconds from an event's outbox row being committed to the stream acknowledging it. */
  lag: Histogram;
  /** Unpublished events per shard as last seen by a poll (at most one batch), minus those just marked. */
  unpublished: Gauge<'shard'>;
  published: Counter;
  /** Publishes the stream did not acknowledge. */
  publishFailures: Counter;
  /** Events acknowledged ahead of an earlier event whose publish failed (they reached the stream out of order). */
  overtaken: Counter;
}

/** Creates the outbox relay's metrics on `registry` (once per registry; share among relays). */
export function registerOutboxMetrics(registry: Registry): OutboxMetrics {
  const registers = [registry];
  return {
    lag: new Histogram({
      name: 'bflow_outbox_lag_seconds',
      help: 'Delay between an outbox event being committed and published',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    unpublished: new Gauge({ name: 'bflow_outbox_unpublished', help: 'Unpublished outbox events last seen per shard', labelNames: ['shard'], registers }),
    published: new Counter({ name: 'bflow_outbox_published_total', help: 'Outbox events published and acknowledged', registers }),
    publishFailures: new Counter({ name: 'bflow_outbox_publish_failures_total', help: 'Outbox publishes not acknowledged', registers }),
    overtaken: new Counter({
      name: 'bflow_outbox_overtaken_total',
      help: 'Events acknowledged ahead of an earlier event of their batch whose publish failed',
      registers,
    }),
  };
}

export interface OutboxRelayOptions {
  /** The outbox table (RuntimeStore). */
  store: Pick<RuntimeStore, 'unpublishedEvents' | 'markPublished'>;
  /** JetStream (Nats-Msg-Id = event id) or the in-process twin. */
  publisher: EventPublisher;
  /** Subject prefix of the event stream, e.g. `bflow.events`. */
  prefix: string;
  /** For the lag metric. @default systemClock */
  clock?: Clock;
  /** Slow poll per open shard; commits call `wake()` for low latency. @default 1000 */
  pollMs?: number;
  /** Events read, published (pipelined) and marked per round. @default 100 */
  batch?: number;
  /** First delay after a failed round; doubles per consecutive failure. @default 250 */
  backoffMinMs?: number;
  /** @default 30000 */
  backoffMaxMs?: number;
  metrics?: OutboxMetrics;
  logger?: Logger;
}

const encoder = new TextEncoder();

/**
 * Moves committed domain events from the outbox of each shard this node holds
 * to the event stream: reads a batch of transitions in position order,
 * publishes their events (pipelined, acks awaited together), then marks the
 * transitions whose events were all acknowledged published. At least once:
 * a relay killed between publish and mark publishes the batch again, and the
 * stream's duplicate window (msg id = event id) keeps one copy. A failed
 * publish leaves its transition and every later one of the batch unmarked,
 * to be retried in order after a backoff.
 *
 * @example
 * const relay = new OutboxRelay({ store, publisher, prefix: 'bflow' });
 * relay.openShard(7);
 * await writer.commit(record); relay.wake(7);
 */
export class OutboxRelay {
  private readonly o: Required<Omit<OutboxRelayOptions, 'metrics'>> & { metrics: OutboxMetrics | undefined };
  private readonly loops: ShardLoops;

  constructor(options: OutboxRelayOptions) {
    this.o = {
      clock: systemClock,
      pollMs: 1000,
      batch: 100,
      backoffMinMs: 250,
      backoffMaxMs: 30_000,
      logger: pino({ level: 'silent' }),
      ...definedOnly(options),
      store: options.store,
      publisher: options.publisher,
      prefix: options.prefix,
      metrics: options.metrics,
    };
    if (!(this.o.pollMs > 0 && this.o.batch >= 1 && this.o.backoffMinMs > 0)) {
      throw new RangeError('OutboxRelay: pollMs, batch and backoffMinMs must be positive');
    }
    this.loops = new ShardLoops({
      pass: (shard, open) => this.pass(shard, open),
      pollMs: this.o.pollMs,
      backoffMinMs: this.o.backoffMinMs,
      backoffMaxMs: this.o.backoffMaxMs,
      onError: (shard, err) => this.o.logger.warn({ err, shard }, 'outbox relay round failed'),
    });
  }

  /** Starts relaying `shard`'s outbox (call when its lease is acquired). */
  openShard(shard: number): void {
    this.loops.open(shard);
  }

  /** Stops relaying `shard` at once; resolves when the round in flight ended (its acks marked). */
  async closeShard(shard: number): Promise<void> {
    await this.loops.close(shard);
    if (!this.loops.isOpen(shard)) this.o.metrics?.unpublished.remove({ shard: String(shard) });
  }

  /** Relays now (after a commit to `shard`; every shard when omitted). A backoff in progress is not cut short. */
  wake(shard?: number): void {
    this.loops.wake(shard);
  }

  openShards(): number[] {
    return this.loops.shards();
  }

  /** Closes every shard. */
  async stop(): Promise<void> {
    await Promise.all(this.loops.shards().map((s) => this.closeShard(s)));
  }

  private async pass(shard: number, open: () => boolean): Promise<PassResult> {
    const events = await this.o.store.unpublishedEvents(shard, this.o.batch);
    this.setUnpublished(shard, events.length);
    if (events.length === 0 || !open()) return 'idle';
    const acked = await this.publishAll(shard, events);
    const positions = completePositions(events, acked);
    if (positions.length > 0) await this.o.store.markPublished(positions);
    this.setUnpublished(shard, events.length - acked);
    if (acked < events.length) return 'failed';
    // `batch` limits transitions (outbox rows), each of which may carry several events.
    return positions.length === this.o.batch ? 'more' : 'idle';
  }

  /** Publishes `events` pipelined; returns the length of the acknowledged prefix. */
  private async publishAll(shard: number, events: readonly OutboxEvent[]): Promise<number> {
    const results = await Promise.allSettled(events.map((e) => this.o.publisher.publish(eventSubject(this.o.prefix, e.event), eventMsgId(e.event), encoder.encode(JSON.stringify(e.event)))));
    const firstFailed = results.findIndex((r) => r.status === 'rejected');
    const acked = firstFailed === -1 ? events.length : firstFailed;
    const now = this.o.clock.now();
    for (const e of events.slice(0, acked)) this.o.metrics?.lag.observe(Math.max(0, now - e.createdAt) / 1000);
    this.o.metrics?.published.inc(acked);
    if (firstFailed !== -1) this.reportFailures(shard, events, results, firstFailed);
    return acked;
  }

  private reportFailures(shard: number, events: readonly OutboxEvent[], results: PromiseSettledResult<void>[], firstFailed: number): void {
    const failed = results.filter((r) => r.status === 'rejected').length;
    this.o.metrics?.publishFailures.inc(failed);
    const first = results[firstFailed];
    const err = first?.status === 'rejected' ? first.reason : undefined;
    // Later events that were acknowledged anyway stay unmarked and are re-published (deduplicated) after the
    // failed one, but the stream already holds them ahead of it: say so rather than reorder silently.
    const overtaken = results.slice(firstFailed).filter((r) => r.status === 'fulfilled').length;
    this.o.metrics?.overtaken.inc(overtaken);
    this.o.logger.warn(
      { err, shard, failed, overtaken, position: events[firstFailed]?.position, eventId: events[firstFailed]?.event.id },
      overtaken > 0 ? 'outbox publish failed; later events of the batch reached the stream ahead of it' : 'outbox publish failed',
    );
  }

  private setUnpublished(shard: number, n: number): void {
    this.o.metrics?.unpublished.set({ shard: String(shard) }, n);
  }
}

/** Positions all of whose events are within the acknowledged prefix (a transition's events share one position). */
function completePositions(events: readonly OutboxEvent[], acked: number): number[] {
  const positions: number[] = [];
  for (let i = 0; i < acked; i++) {
    const position = events[i]!.position;
    if (positions[positions.length - 1] !== position) positions.push(position);
  }
  const cut = events[acked]?.position;
  if (cut !== undefined && positions[positions.length - 1] === cut) positions.pop();
  return positions;
}
