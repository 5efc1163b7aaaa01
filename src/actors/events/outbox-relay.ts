import { pino, type Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DomainEvent } from '../../engine/index.ts';
import type { OutboxEvent, PublishedMark, RuntimeStore } from '../../store/ports.ts';
import { eventMsgId, eventSubject } from './event-subject.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { EventPublisher } from './ports.ts';
import { ShardLoops, type PassResult } from '../shard-loops.ts';
import {
  checkOptions,
  nonNegative,
  positive,
  resolveOptions,
  atLeast,
  type OptionDefaults,
  type Resolved,
} from '../../shared/options.ts';

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
    unpublished: new Gauge({
      name: 'bflow_outbox_unpublished',
      help: 'Unpublished outbox events last seen per shard',
      labelNames: ['shard'],
      registers,
    }),
    published: new Counter({
      name: 'bflow_outbox_published_total',
      help: 'Outbox events published and acknowledged',
      registers,
    }),
    publishFailures: new Counter({
      name: 'bflow_outbox_publish_failures_total',
      help: 'Outbox publishes not acknowledged',
      registers,
    }),
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
  /** Poll per open shard not caught up, for what `committed` did not publish (failures, a previous owner's backlog). @default 1000 */
  pollMs?: number;
  /**
   * Poll per caught-up shard: a safety net only, since every commit is told to `committed` and a shard that
   * falls behind is polled at once. @default 10 × pollMs
   */
  idlePollMs?: number;
  /** How long published positions wait to be marked, so marks coalesce into fewer UPDATEs. @default 100 */
  markDelayMs?: number;
  /** Events read, published (pipelined) and marked per round. @default 100 */
  batch?: number;
  /** First delay after a failed round; doubles per consecutive failure. @default 250 */
  backoffMinMs?: number;
  /** @default 30000 */
  backoffMaxMs?: number;
  /** @default none (no metrics) */
  metrics?: OutboxMetrics;
  /** @default a silent logger */
  logger?: Logger;
}

export const DEFAULT_OUTBOX_RELAY_OPTIONS = Object.freeze({
  clock: systemClock,
  pollMs: 1000,
  markDelayMs: 100,
  batch: 100,
  backoffMinMs: 250,
  backoffMaxMs: 30_000,
  logger: pino({ level: 'silent' }),
} satisfies OptionDefaults<OutboxRelayOptions>);

type ResolvedOutboxRelayOptions = Resolved<OutboxRelayOptions, typeof DEFAULT_OUTBOX_RELAY_OPTIONS> & {
  idlePollMs: number;
};

const encoder = new TextEncoder();

/**
 * Moves committed domain events from the log of each shard this node holds
 * (the events on its runtime_steps rows) to the event stream, at least once
 * (Nats-Msg-Id = event id, so the stream's duplicate window keeps one copy of
 * what is published twice). Progress is one watermark per shard: the position
 * up to which its steps' events are published.
 *
 * Two ways, one order per shard:
 * - `committed(shard, events, position)`, told by the host after each commit,
 *   publishes the events it already holds in memory, pipelined with those of
 *   other commits, and advances the shard's watermark in one coalesced upsert:
 *   no read. It does so only while the shard is *caught up*.
 * - A poll per open shard reads the steps after the watermark in position
 *   order, publishes their events and advances the watermark. A failed publish leaves its transition and every later
 *   one of the batch unmarked, to be retried in order after a backoff. A shard
 *   is opened not caught up (a previous owner may have left a backlog), falls
 *   behind on a failed publish, and is caught up again once a poll finds
 *   nothing left and no commit was passed over meanwhile. A shard behind is
 *   polled every `pollMs`; a caught-up one only every `idlePollMs`.
 *
 * @example
 * const relay = new OutboxRelay({ store, publisher, prefix: 'bflow' });
 * relay.openShard(7);
 * const outcome = await writer.commit(record);
 * if (outcome.ok) relay.committed(7, record.effects.events, outcome.outboxPosition);
 */
export class OutboxRelay {
  private readonly options: ResolvedOutboxRelayOptions;
  private readonly loops: ShardLoops;
  /** Per open shard: whether `committed` may publish (no older row may be left), and whether it passed one over. */
  private readonly progress = new Map<number, { caughtUp: boolean; passedOver: boolean }>();
  /** Commits told to `committed`, published together on the next turn of the event loop. */
  private pending: { shard: number; position: number; events: readonly DomainEvent[]; createdAt: number }[] = [];
  private publishing: Promise<void> | undefined;
  /** Steps published by `committed`, to advance their shards' watermarks in one upsert (one in flight at a time). */
  private toMark: PublishedMark[] = [];
  private marking: Promise<void> | undefined;

  constructor(options: OutboxRelayOptions) {
    const resolved = resolveOptions(DEFAULT_OUTBOX_RELAY_OPTIONS, options);
    this.options = { ...resolved, idlePollMs: options.idlePollMs ?? 10 * resolved.pollMs };
    checkOptions('OutboxRelay', this.options, {
      pollMs: positive,
      idlePollMs: positive,
      markDelayMs: nonNegative,
      batch: atLeast(1),
      backoffMinMs: positive,
      backoffMaxMs: nonNegative,
    });
    this.loops = new ShardLoops({
      pass: (shard, open) => this.pass(shard, open),
      pollMs: (shard) => (this.progress.get(shard)?.caughtUp ? this.options.idlePollMs : this.options.pollMs),
      backoffMinMs: this.options.backoffMinMs,
      backoffMaxMs: this.options.backoffMaxMs,
      onError: (shard, err) => this.options.logger.warn({ err, shard }, 'outbox relay round failed'),
    });
  }

  /** Starts relaying `shard`'s outbox (call when its lease is acquired). */
  openShard(shard: number): void {
    if (!this.progress.has(shard)) this.progress.set(shard, { caughtUp: false, passedOver: false });
    this.loops.open(shard);
  }

  /** Stops relaying `shard` at once; resolves when the round in flight ended (its acks marked). */
  async closeShard(shard: number): Promise<void> {
    this.progress.delete(shard);
    await this.loops.close(shard);
    if (!this.loops.isOpen(shard)) this.options.metrics?.unpublished.remove({ shard: String(shard) });
  }

  /** Polls now (every shard when omitted). A backoff in progress is not cut short. */
  wake(shard?: number): void {
    this.loops.wake(shard);
  }

  /**
   * A transition with `events` committed on `shard` as outbox row `position`: publishes them now if the
   * shard is caught up, else (or without a position) leaves them to the shard's poll, woken at once.
   */
  committed(shard: number, events: readonly DomainEvent[], position: number | undefined): void {
    const progress = this.progress.get(shard);
    if (events.length === 0) return;
    if (!progress) {
      this.publishUnheld(shard, events, position ?? 0, this.options.clock.now());
      return;
    }
    if (position === undefined || !progress.caughtUp) {
      progress.passedOver = true;
      this.wake(shard);
      return;
    }
    this.pending.push({ shard, position, events, createdAt: this.options.clock.now() });
    if (this.pending.length === 1 && !this.publishing) setImmediate(() => this.publishPending());
  }

  /**
   * A commit on `shard` may have been written without its events reaching `committed` (its outcome was lost):
   * from now on the shard's events go out through the poll, which reads the log after the watermark, until it
   * is caught up again. Without this a later commit published from memory would move the watermark past it.
   */
  fallBehind(shard: number): void {
    const progress = this.progress.get(shard);
    if (!progress) return;
    progress.caughtUp = false;
    progress.passedOver = true;
    this.wake(shard);
  }

  openShards(): number[] {
    return this.loops.shards();
  }

  /** Closes every shard, after what `committed` was told has been published and marked. */
  async stop(): Promise<void> {
    while (this.publishing || this.marking || this.pending.length > 0) {
      if (!this.publishing && this.pending.length > 0) this.publishPending();
      await this.publishing;
      await this.marking;
    }
    await Promise.all(this.loops.shards().map((s) => this.closeShard(s)));
  }

  /** Publishes what `committed` queued (one batch in flight; what comes meanwhile waits for it). */
  private publishPending(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.publishing = this.publishCommitted(batch)
      .catch((err: unknown) => this.options.logger.warn({ err }, 'outbox publish of committed events failed'))
      .finally(() => {
        this.publishing = undefined;
        if (this.pending.length > 0) this.publishPending();
      });
  }

  private async publishCommitted(queued: typeof this.pending): Promise<void> {
    // A shard that fell behind (or was closed) since: its rows are the poll's now, in order.
    const batch = queued.filter((c) => {
      const progress = this.progress.get(c.shard);
      if (progress?.caughtUp) return true;
      if (progress) progress.passedOver = true;
      else this.publishUnheld(c.shard, c.events, c.position, c.createdAt);
      this.wake(c.shard);
      return false;
    });
    const events: OutboxEvent[] = batch.flatMap((c) =>
      c.events.map((event) => ({ position: c.position, shard: c.shard, event, createdAt: c.createdAt })),
    );
    const results = await this.publishEach(events);
    const failedShards = new Set<number>();
    const positions: PublishedMark[] = [];
    for (let i = 0, e = 0; i < batch.length; e += batch[i]!.events.length, i++) {
      const c = batch[i]!;
      const ok =
        !failedShards.has(c.shard) && results.slice(e, e + c.events.length).every((r) => r.status === 'fulfilled');
      if (ok) positions.push({ shard: c.shard, position: c.position });
      else failedShards.add(c.shard);
    }
    this.observePublished(events, results);
    for (const shard of failedShards) {
      // Behind from here on: the poll republishes this shard's unmarked rows in order.
      const progress = this.progress.get(shard);
      if (progress) progress.caughtUp = false;
      const mine = events.map((e, i) => [e, results[i]!] as const).filter(([e]) => e.shard === shard);
      const firstFailed = mine.findIndex(([, r]) => r.status === 'rejected');
      this.reportFailures(
        shard,
        mine.map(([e]) => e),
        mine.map(([, r]) => r),
        firstFailed,
      );
      this.wake(shard);
    }
    if (positions.length > 0) this.mark(positions);
  }

  /**
   * Events of a commit on a shard this node no longer holds (committed under a lease lost meanwhile, e.g. by
   * a node frozen past it): published now, not marked, since the watermark is the new owner's. A new owner
   * already caught up when that commit landed would never read it from the log; when it does, the stream's
   * msg-id window keeps one copy.
   */
  private publishUnheld(shard: number, events: readonly DomainEvent[], position: number, createdAt: number): void {
    const outbox = events.map((event) => ({ position, shard, event, createdAt }));
    void this.publishEach(outbox).then((results) => {
      this.observePublished(outbox, results);
      const failed = results.filter((r) => r.status === 'rejected').length;
      const log = { shard, position, events: events.length, failed };
      if (failed > 0) this.options.logger.warn(log, 'events of a commit on a shard no longer held: not all published');
      else this.options.logger.info(log, 'events of a commit on a shard no longer held: published');
    });
  }

  /**
   * Marks `positions` published after `markDelayMs`, coalescing with marks already waiting (one UPDATE in
   * flight). A failed mark, or a crash before it, leaves the rows to the poll, which publishes them again
   * (the stream keeps one copy).
   */
  private mark(positions: readonly PublishedMark[]): void {
    this.toMark.push(...positions);
    if (this.marking !== undefined) return;
    const run = async (): Promise<void> => {
      while (this.toMark.length > 0) {
        if (this.options.markDelayMs > 0) await new Promise((r) => setTimeout(r, this.options.markDelayMs));
        const chunk = this.toMark;
        this.toMark = [];
        try {
          await this.options.store.markPublished(chunk);
        } catch (err) {
          this.options.logger.warn(
            { err, rows: chunk.length },
            'marking published outbox rows failed; the poll will publish them again',
          );
        }
      }
    };
    this.marking = run().finally(() => {
      this.marking = undefined;
    });
  }

  private async pass(shard: number, open: () => boolean): Promise<PassResult> {
    const progress = this.progress.get(shard);
    if (progress) progress.passedOver = false;
    const events = await this.options.store.unpublishedEvents(shard, this.options.batch);
    this.setUnpublished(shard, events.length);
    if (events.length === 0 || !open()) {
      if (progress && events.length === 0 && !progress.passedOver) progress.caughtUp = true;
      return 'idle';
    }
    const acked = await this.publishAll(shard, events);
    const positions = completePositions(events, acked);
    const last = positions[positions.length - 1];
    if (last !== undefined) await this.options.store.markPublished([{ shard, position: last }]);
    this.setUnpublished(shard, events.length - acked);
    if (acked < events.length) {
      if (progress) progress.caughtUp = false;
      return 'failed';
    }
    // `batch` limits transitions (outbox rows), each of which may carry several events.
    return positions.length === this.options.batch ? 'more' : 'idle';
  }

  /** Publishes `events` pipelined; returns the length of the acknowledged prefix. */
  private async publishAll(shard: number, events: readonly OutboxEvent[]): Promise<number> {
    const results = await this.publishEach(events);
    const firstFailed = results.findIndex((r) => r.status === 'rejected');
    const acked = firstFailed === -1 ? events.length : firstFailed;
    this.observePublished(events.slice(0, acked), results.slice(0, acked));
    if (firstFailed !== -1) this.reportFailures(shard, events, results, firstFailed);
    return acked;
  }

  private publishEach(events: readonly OutboxEvent[]): Promise<PromiseSettledResult<void>[]> {
    return Promise.allSettled(
      events.map((e) =>
        this.options.publisher.publish(
          eventSubject(this.options.prefix, e.event),
          eventMsgId(e.event),
          encoder.encode(JSON.stringify(e.event)),
          e.event,
        ),
      ),
    );
  }

  /** Lag and count of the acknowledged ones among `events`. */
  private observePublished(events: readonly OutboxEvent[], results: readonly PromiseSettledResult<void>[]): void {
    const now = this.options.clock.now();
    let acked = 0;
    events.forEach((e, i) => {
      if (results[i]?.status !== 'fulfilled') return;
      acked += 1;
      this.options.metrics?.lag.observe(Math.max(0, now - e.createdAt) / 1000);
    });
    this.options.metrics?.published.inc(acked);
  }

  private reportFailures(
    shard: number,
    events: readonly OutboxEvent[],
    results: readonly PromiseSettledResult<void>[],
    firstFailed: number,
  ): void {
    const failed = results.filter((r) => r.status === 'rejected').length;
    this.options.metrics?.publishFailures.inc(failed);
    const first = results[firstFailed];
    const err = first?.status === 'rejected' ? first.reason : undefined;
    // Later events that were acknowledged anyway stay unmarked and are re-published (deduplicated) after the
    // failed one, but the stream already holds them ahead of it: say so rather than reorder silently.
    const overtaken = results.slice(firstFailed).filter((r) => r.status === 'fulfilled').length;
    this.options.metrics?.overtaken.inc(overtaken);
    this.options.logger.warn(
      {
        err,
        shard,
        failed,
        overtaken,
        position: events[firstFailed]?.position,
        eventId: events[firstFailed]?.event.id,
      },
      overtaken > 0
        ? 'outbox publish failed; later events of the batch reached the stream ahead of it'
        : 'outbox publish failed',
    );
  }

  private setUnpublished(shard: number, n: number): void {
    this.options.metrics?.unpublished.set({ shard: String(shard) }, n);
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
