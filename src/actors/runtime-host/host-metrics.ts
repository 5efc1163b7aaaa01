import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** How a request ended, for the latency histogram. */
export type CommandOutcome = 'ok' | 'replayed' | 'refused' | 'conflict' | 'unavailable' | 'error';

export type PassivationReason = 'idle' | 'capacity' | 'shard' | 'failure';

/** The runtime host's metrics. Gauges move by inc/dec, so hosts sharing a registry add up. */
export interface HostMetrics {
  actorsLive: Gauge;
  /** Commands queued or running, summed over every actor's mailbox. */
  mailboxDepth: Gauge;
  /** Seconds from a request's arrival to its reply, by kind (start | command | timer) and outcome. */
  commandDuration: Histogram<'kind' | 'outcome'>;
  passivations: Counter<'reason'>;
  /** Steps retried after a version conflict (another writer committed first). */
  conflictRetries: Counter;
  /** Requests that joined an identical one in flight (same tenant, idempotency key and runtime) instead of running again. */
  joinedRequests: Counter;
}

/** Creates the host's metrics on `registry`, or returns those already registered there. */
export function registerHostMetrics(registry: Registry): HostMetrics {
  const registers = [registry];
  return {
    actorsLive: metric(
      registry,
      'bflow_actors_live',
      () => new Gauge({ name: 'bflow_actors_live', help: 'Runtime actors in memory', registers }),
    ),
    mailboxDepth: metric(
      registry,
      'bflow_mailbox_depth',
      () =>
        new Gauge({ name: 'bflow_mailbox_depth', help: 'Requests queued or running in runtime mailboxes', registers }),
    ),
    commandDuration: metric(
      registry,
      'bflow_command_duration_seconds',
      () =>
        new Histogram({
          name: 'bflow_command_duration_seconds',
          help: 'Runtime request latency on the owning node (mailbox wait included), by kind and outcome',
          labelNames: ['kind', 'outcome'],
          buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers,
        }),
    ),
    passivations: metric(
      registry,
      'bflow_actor_passivations_total',
      () =>
        new Counter({
          name: 'bflow_actor_passivations_total',
          help: 'Actors dropped from memory, by reason (idle, capacity, shard, failure)',
          labelNames: ['reason'],
          registers,
        }),
    ),
    conflictRetries: metric(
      registry,
      'bflow_command_conflict_retries_total',
      () =>
        new Counter({
          name: 'bflow_command_conflict_retries_total',
          help: 'Steps retried after a version conflict',
          registers,
        }),
    ),
    joinedRequests: metric(
      registry,
      'bflow_requests_joined_total',
      () =>
        new Counter({
          name: 'bflow_requests_joined_total',
          help: 'Requests answered by joining an identical request in flight (same tenant, idempotency key and runtime)',
          registers,
        }),
    ),
  };
}

function metric<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
