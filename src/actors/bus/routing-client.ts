import { Counter, Histogram, Registry } from 'prom-client';
import { ActorError, BusError, isBusError } from '../errors.ts';
import type { RuntimeState } from '../../engine/index.ts';
import type { ShardBus, ShardReply, ShardRequest } from './ports.ts';
import { shardOf } from '../shard-of.ts';
import {
  checkOptions,
  integer,
  nonNegative,
  positive,
  resolveOptions,
  type OptionDefaults,
  type Resolved,
} from '../../shared/options.ts';

/** Options of {@link RoutingClient}; every field but `shardCount` has a default. */
export interface RoutingClientOptions {
  /** The cluster's fixed shard count (must match the nodes'). */
  shardCount: number;
  /** Pause before the first retry; doubles with each retry. @default 25 */
  firstDelayMs?: number;
  /** Ceiling of the pause between retries. @default 1_000 */
  maxDelayMs?: number;
  /** Timeout of one try (one NATS request); also capped by what is left of the deadline. @default 2_000 */
  tryTimeoutMs?: number;
  /** Overall budget of a `send` when the call names none. @default 5_000 */
  deadlineMs?: number;
  /** Retry-After hint carried by `shard_unavailable`. @default 1_000 */
  retryAfterMs?: number;
  /** Timeout of a live read (`readLive`, one try: the caller falls back to the read model). @default 500 */
  readTimeoutMs?: number;
  /** Where the metrics are registered (shared by every client on it). @default a private registry */
  registry?: Registry;
  /** Source of jitter in [0, 1). @default Math.random */
  random?: () => number;
}

export const DEFAULT_ROUTING_CLIENT_OPTIONS = Object.freeze({
  firstDelayMs: 25,
  maxDelayMs: 1_000,
  tryTimeoutMs: 2_000,
  deadlineMs: 5_000,
  retryAfterMs: 1_000,
  readTimeoutMs: 500,
  random: Math.random,
} satisfies OptionDefaults<RoutingClientOptions>);

export interface SendOptions {
  /** Overall budget of this call, in ms from now. @default RoutingClientOptions.deadlineMs */
  deadlineMs?: number;
}

/** Outcome of a live read: the owner's memory had the runtime, had not, or did not answer. */
export type LiveReadOutcome = 'live' | 'not_live' | 'unreachable';

/** Outcome label of the request duration histogram. */
export type RoutingOutcome = 'ok' | 'problem' | 'shard_unavailable' | 'bus_unavailable' | 'error';

interface RoutingMetrics {
  duration: Histogram<'outcome'>;
  retries: Counter<'reason'>;
  liveReads: Counter<'outcome'>;
}

/**
 * What the gateway uses to reach the node that holds a runtime's shard.
 * `no_responders` (shard moving, node down), `timeout` and a `shard_moved`
 * reply (the node is handing the shard over) are retried with
 * exponential backoff and equal jitter until the deadline, then reported as
 * `shard_unavailable` (503 + Retry-After). Every try sends the same request
 * object, hence the same idempotency key: a command that committed on a try
 * whose reply was lost is answered by the node with its first result.
 * `bus_unavailable` (connection closed or lost) is not retried here: NATS
 * reconnects on its own and the client retries after the 503.
 *
 * @example
 * const client = new RoutingClient(bus, { shardCount: 64 });
 * const reply = await client.send(request, { deadlineMs: 3_000 });
 */
export class RoutingClient {
  readonly #bus: ShardBus;
  readonly #options: Resolved<RoutingClientOptions, typeof DEFAULT_ROUTING_CLIENT_OPTIONS>;
  readonly #metrics: RoutingMetrics;

  constructor(bus: ShardBus, options: RoutingClientOptions) {
    this.#bus = bus;
    this.#options = resolveOptions(DEFAULT_ROUTING_CLIENT_OPTIONS, options);
    checkOptions('RoutingClient', this.#options, {
      shardCount: integer(1),
      firstDelayMs: nonNegative,
      maxDelayMs: nonNegative,
      tryTimeoutMs: positive,
      deadlineMs: nonNegative,
      retryAfterMs: nonNegative,
      readTimeoutMs: positive,
    });
    this.#metrics = routingMetrics(options.registry ?? new Registry());
  }

  /** The shard a runtime lives on. */
  shardFor(runtimeId: string): number {
    return shardOf(runtimeId, this.#options.shardCount);
  }

  /**
   * Sends `request` to its shard and returns the node's reply (which may be a
   * problem). Rejects with ActorError `shard_unavailable` at the deadline, or
   * BusError `bus_unavailable` at once.
   */
  async send(request: ShardRequest, options: SendOptions = {}): Promise<ShardReply> {
    const started = performance.now();
    const deadline = started + (options.deadlineMs ?? this.#options.deadlineMs);
    const end = this.#metrics.duration.startTimer();
    try {
      const reply = await this.#sendUntil(this.shardFor(request.runtimeId), request, deadline);
      end({ outcome: reply.ok ? 'ok' : 'problem' });
      return reply;
    } catch (err) {
      end({ outcome: outcomeOf(err) });
      throw err;
    }
  }

  /**
   * The runtime's state from its owner's memory when it is live there, else undefined: not live, the shard
   * moving, the owner slow or unreachable (one try of `readTimeoutMs`). The caller then reads the read model.
   */
  async readLive(tenant: string, runtimeId: string): Promise<RuntimeState | undefined> {
    let outcome: LiveReadOutcome = 'unreachable';
    try {
      const reply = await this.#bus.request(
        this.shardFor(runtimeId),
        { kind: 'read', tenant, runtimeId },
        this.#options.readTimeoutMs,
      );
      outcome = reply.ok ? 'live' : reply.problem.code === 'not_live' ? 'not_live' : 'unreachable';
      return reply.ok ? reply.state : undefined;
    } catch (err) {
      if (!isBusError(err)) throw err;
      return undefined;
    } finally {
      this.#metrics.liveReads.inc({ outcome });
    }
  }

  async #sendUntil(shard: number, request: ShardRequest, deadline: number): Promise<ShardReply> {
    for (let retry = 0; ; retry++) {
      // At least one try, even with a budget already spent.
      const left = Math.max(1, deadline - performance.now());
      let lastError: BusError;
      try {
        const reply = await this.#bus.request(shard, request, Math.min(this.#options.tryTimeoutMs, left));
        // A node that is handing the shard over (or just lost it) answers shard_moved: the new owner will answer.
        if (reply.ok || reply.problem.code !== 'shard_moved') return reply;
        lastError = new BusError('no_responders', `shard ${shard} moved: ${reply.problem.message}`);
      } catch (err) {
        if (!isBusError(err, 'no_responders', 'timeout')) throw err;
        lastError = err;
      }
      const pause = Math.min(this.#backoff(retry), deadline - performance.now());
      if (pause <= 0) throw this.#unavailable(shard, retry + 1, lastError);
      this.#metrics.retries.inc({ reason: lastError.code });
      await sleep(pause);
      if (performance.now() >= deadline) throw this.#unavailable(shard, retry + 1, lastError);
    }
  }

  /** Equal jitter: half the exponential delay fixed, half random, so retries of many callers spread out without collapsing to zero. */
  #backoff(retry: number): number {
    const base = Math.min(this.#options.maxDelayMs, this.#options.firstDelayMs * 2 ** Math.min(retry, 30));
    return base / 2 + this.#options.random() * (base / 2);
  }

  #unavailable(shard: number, tries: number, cause: BusError): ActorError {
    return new ActorError(
      'shard_unavailable',
      `shard ${shard} did not answer after ${tries} tries (last: ${cause.code})`,
      {
        cause,
        retryAfterMs: this.#options.retryAfterMs,
      },
    );
  }
}

function outcomeOf(err: unknown): RoutingOutcome {
  if (err instanceof ActorError && (err.code === 'shard_unavailable' || err.code === 'bus_unavailable'))
    return err.code;
  return 'error';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The client's metrics on `registry`, created once and shared by every client registered there. */
function routingMetrics(registry: Registry): RoutingMetrics {
  const durationName = 'bflow_routing_request_duration_seconds';
  const retriesName = 'bflow_routing_retries_total';
  const duration =
    (registry.getSingleMetric(durationName) as Histogram<'outcome'> | undefined) ??
    new Histogram({
      name: durationName,
      help: 'Duration of a routed shard request, retries included, by outcome',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  const retries =
    (registry.getSingleMetric(retriesName) as Counter<'reason'> | undefined) ??
    new Counter({
      name: retriesName,
      help: 'Shard request retries by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
  const liveReadsName = 'bflow_routing_live_reads_total';
  const liveReads =
    (registry.getSingleMetric(liveReadsName) as Counter<'outcome'> | undefined) ??
    new Counter({
      name: liveReadsName,
      help: "Single-runtime reads asked of the owner's memory, by outcome (live, not_live, unreachable: the read model answered)",
      labelNames: ['outcome'],
      registers: [registry],
    });
  return { duration, retries, liveReads };
}
