import { pino, type Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { DueTimer, RuntimeStore } from '../../store/ports.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { TimerDelivery } from '../runtime-host/runtime-commands.ts';
import { ShardLoops, type PassResult } from '../shard-loops.ts';
import {
  atLeast,
  checkOptions,
  nonNegative,
  positive,
  resolveOptions,
  type OptionDefaults,
  type Resolved,
} from '../../shared/options.ts';

/** What delivering a timer to its runtime did (RuntimeHost.deliverTimer). */
export type { TimerDelivery };

export interface TimerMetrics {
  /** Seconds from a timer's due time to its firing. */
  lag: Histogram;
  /** Deliveries by result (fired, stale, failed) and timer kind (sla_due, reminder): a fired `sla_due` is an SLA breach. */
  deliveries: Counter<'result' | 'kind'>;
}

/** Creates the timer service's metrics on `registry` (once per registry; share among services). */
export function registerTimerMetrics(registry: Registry): TimerMetrics {
  const registers = [registry];
  return {
    lag: new Histogram({
      name: 'bflow_timer_lag_seconds',
      help: 'Delay between a durable timer being due and firing',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200],
      registers,
    }),
    deliveries: new Counter({
      name: 'bflow_timer_deliveries_total',
      help: 'Timer deliveries by result (fired, stale, failed) and kind (sla_due, reminder)',
      labelNames: ['result', 'kind'],
      registers,
    }),
  };
}

export interface TimerServiceOptions {
  /**
   * The timer table (RuntimeStore). With `shardsWithDueTimers`, one probe per `pollMs` finds the shards
   * with due timers and only those are polled; each shard is still polled every `idlePollMs` besides.
   */
  store: Pick<RuntimeStore, 'dueTimers' | 'deleteTimer'> & Partial<Pick<RuntimeStore, 'shardsWithDueTimers'>>;
  /** Steps the timer's runtime (RuntimeHost.deliverTimer); a throw counts as `failed`. */
  deliver: (timer: DueTimer) => Promise<TimerDelivery>;
  /** Decides which timers are due. @default systemClock */
  clock?: Clock;
  /** How often due timers are looked for: one probe of every open shard, or (without a probe) a poll of each. @default 500 */
  pollMs?: number;
  /** With a probe: how often each shard is polled anyway (the probe failing or missing a shard). @default 20 × pollMs */
  idlePollMs?: number;
  /** Timers fetched per poll. @default 100 */
  batch?: number;
  /** Deliveries in flight per shard (the host serialises those of one runtime). @default 16 */
  concurrency?: number;
  /** First retry delay of a failed delivery (or a failed poll); doubles per failure. @default 250 */
  backoffMinMs?: number;
  /** @default 30000 */
  backoffMaxMs?: number;
  /** @default none (no metrics) */
  metrics?: TimerMetrics;
  /** @default a silent logger */
  logger?: Logger;
}

export const DEFAULT_TIMER_SERVICE_OPTIONS = Object.freeze({
  clock: systemClock,
  pollMs: 500,
  batch: 100,
  concurrency: 16,
  backoffMinMs: 250,
  backoffMaxMs: 30_000,
  logger: pino({ level: 'silent' }),
} satisfies OptionDefaults<TimerServiceOptions>);

type ResolvedTimerServiceOptions = Resolved<TimerServiceOptions, typeof DEFAULT_TIMER_SERVICE_OPTIONS> & {
  idlePollMs: number;
};

interface Retry {
  failures: number;
  /** performance.now() before which the timer is not delivered again. */
  notBefore: number;
}

/**
 * Fires the durable timers of the shards this node holds: every `pollMs` (or on
 * `wake()`), fetches the due timers of each open shard, delivers each, and
 * deletes it once delivered (`fired`) or found moot (`stale`). Delivery is at
 * least once: a timer whose delivery failed, or whose node died before the
 * delete, is delivered again, and a re-fired timer for a closed stage is a no-op.
 *
 * @example
 * const timers = new TimerService({ store, deliver: (t) => host.deliverTimer(t.tenant, t.runtimeId, t) });
 * leases.onChange((c) => (c.type === 'acquired' ? timers.openShard(c.shard) : void timers.closeShard(c.shard)));
 */
export class TimerService {
  private readonly options: ResolvedTimerServiceOptions;
  private readonly loops: ShardLoops;
  /** Per shard: timer key → retry state of a timer whose delivery failed. */
  private readonly retries = new Map<number, Map<string, Retry>>();
  private probeTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(options: TimerServiceOptions) {
    const resolved = resolveOptions(DEFAULT_TIMER_SERVICE_OPTIONS, options);
    this.options = { ...resolved, idlePollMs: options.idlePollMs ?? 20 * resolved.pollMs };
    checkOptions('TimerService', this.options, {
      pollMs: positive,
      idlePollMs: positive,
      batch: atLeast(1),
      concurrency: atLeast(1),
      backoffMinMs: positive,
      backoffMaxMs: nonNegative,
    });
    const probing = options.store.shardsWithDueTimers !== undefined;
    this.loops = new ShardLoops({
      pass: (shard, open) => this.pass(shard, open),
      pollMs: probing ? this.options.idlePollMs : this.options.pollMs,
      backoffMinMs: this.options.backoffMinMs,
      backoffMaxMs: this.options.backoffMaxMs,
      onError: (shard, err) => this.options.logger.warn({ err, shard }, 'timer poll failed'),
    });
  }

  /** Starts polling `shard` (call when its lease is acquired). */
  openShard(shard: number): void {
    this.retries.set(shard, this.retries.get(shard) ?? new Map());
    this.loops.open(shard);
    this.scheduleProbe();
  }

  /** Stops polling `shard` at once (lease lost or released); resolves when its deliveries in flight ended. */
  async closeShard(shard: number): Promise<void> {
    await this.loops.close(shard);
    if (!this.loops.isOpen(shard)) this.retries.delete(shard);
  }

  /** Polls now (one shard, or all), e.g. after the clock was moved in a test. */
  wake(shard?: number): void {
    this.loops.wake(shard);
  }

  openShards(): number[] {
    return this.loops.shards();
  }

  /** Closes every shard. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.probeTimer);
    await this.loops.stop();
    this.retries.clear();
  }

  /** Every `pollMs` while shards are open: one query for the shards with due timers; wakes their loops. */
  private scheduleProbe(): void {
    const probe = this.options.store.shardsWithDueTimers?.bind(this.options.store);
    if (!probe || this.probeTimer || this.stopped) return;
    this.probeTimer = setTimeout(async () => {
      const shards = this.loops.shards();
      try {
        if (shards.length > 0)
          for (const shard of await probe(shards, this.options.clock.now())) this.loops.wake(shard);
      } catch (err) {
        this.options.logger.debug({ err }, 'timer probe failed; shards are still polled every idlePollMs');
      }
      this.probeTimer = undefined;
      if (this.loops.shards().length > 0) this.scheduleProbe();
    }, this.options.pollMs);
    this.probeTimer.unref();
  }

  private async pass(shard: number, open: () => boolean): Promise<PassResult> {
    const due = await this.options.store.dueTimers(shard, this.options.clock.now(), this.options.batch);
    const retries = this.retries.get(shard) ?? new Map<string, Retry>();
    if (due.length < this.options.batch) forgetVanished(retries, due);
    const ready = due.filter((t) => (retries.get(timerKey(t))?.notBefore ?? 0) <= performance.now());
    let next = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      while (open() && next < ready.length) {
        if (await this.fire(ready[next++]!, retries)) done += 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, ready.length) }, worker));
    // A full page with progress may hide more due timers; one without progress waits for the retries' backoff.
    return due.length === this.options.batch && done > 0 ? 'more' : 'idle';
  }

  /** Delivers one timer; true when it is done with (and deleted). */
  private async fire(timer: DueTimer, retries: Map<string, Retry>): Promise<boolean> {
    const result = await this.deliver(timer);
    this.options.metrics?.deliveries.inc({ result, kind: timer.kind });
    if (result === 'failed') {
      const failures = (retries.get(timerKey(timer))?.failures ?? 0) + 1;
      const delay = Math.min(this.options.backoffMaxMs, this.options.backoffMinMs * 2 ** Math.min(failures - 1, 30));
      retries.set(timerKey(timer), { failures, notBefore: performance.now() + delay });
      return false;
    }
    retries.delete(timerKey(timer));
    if (result === 'fired')
      this.options.metrics?.lag.observe(Math.max(0, this.options.clock.now() - timer.dueAt) / 1000);
    // Firing a reminder re-arms it under the same id in the same commit: delete only the occurrence that fired.
    await this.options.store.deleteTimer(timer.tenant, timer.id, timer.dueAt);
    return true;
  }

  private async deliver(timer: DueTimer): Promise<TimerDelivery> {
    try {
      return await this.options.deliver(timer);
    } catch (err) {
      this.options.logger.warn({ err, timer: timer.id, tenant: timer.tenant }, 'timer delivery threw');
      return 'failed';
    }
  }
}

const timerKey = (t: DueTimer): string => `${t.tenant}\u0000${t.id}`;

function forgetVanished(retries: Map<string, Retry>, due: readonly DueTimer[]): void {
  if (retries.size === 0) return;
  const present = new Set(due.map(timerKey));
  for (const k of retries.keys()) if (!present.has(k)) retries.delete(k);
}
