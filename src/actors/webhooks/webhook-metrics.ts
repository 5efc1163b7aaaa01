import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** How a delivery of one event to one webhook ended. */
export type DeliveryOutcome =
  /** A 2xx answer. */
  | 'delivered'
  /** An answer that retrying cannot change (3xx, 4xx other than 408/429) or a refused target: not retried. */
  | 'rejected'
  /** Still failing (network error, timeout, 5xx, 408, 429) after the last attempt: given up. */
  | 'failed'
  /** The webhook's circuit breaker was open: given up at once so a dead endpoint holds nothing up. */
  | 'circuit_open'
  /** The deliverer stopped mid-way; the event is left for redelivery (cluster) or lost (embedded, at exit). */
  | 'aborted'
  /** The embedded queue was full: the event was not attempted. */
  | 'dropped';

/** Metrics of the webhook deliverers; every deliverer on one registry shares them. */
export interface WebhookMetrics {
  deliveries: Counter<'outcome'>;
  /** One POST each, by result class: 2xx, 3xx, 4xx, 429, 5xx, timeout, network, refused. */
  attempts: Counter<'result'>;
  /** From the first attempt to the outcome, retries and backoff included. */
  deliveryDuration: Histogram<'outcome'>;
  /** One POST. */
  attemptDuration: Histogram;
  /** From the event's time (its commit) to its 2xx at a webhook: what a receiver waits. */
  lag: Histogram;
  /** Webhooks whose circuit breaker is open now. */
  breakersOpen: Gauge;
  /** Events taken from the stream (or the embedded queue) by what became of them: done, retried, dropped. */
  events: Counter<'result'>;
}

/** Registers the webhook metrics on `registry`, reusing any already registered there. */
export function registerWebhookMetrics(registry: Registry): WebhookMetrics {
  const registers = [registry];
  const get = <M>(name: string, make: () => M): M => (registry.getSingleMetric(name) as M | undefined) ?? make();
  return {
    deliveries: get(
      'bflow_webhook_deliveries_total',
      () =>
        new Counter({
          name: 'bflow_webhook_deliveries_total',
          help: 'Event deliveries to one webhook by outcome',
          labelNames: ['outcome'],
          registers,
        }),
    ),
    attempts: get(
      'bflow_webhook_attempts_total',
      () =>
        new Counter({
          name: 'bflow_webhook_attempts_total',
          help: 'Webhook POSTs by result class',
          labelNames: ['result'],
          registers,
        }),
    ),
    deliveryDuration: get(
      'bflow_webhook_delivery_duration_seconds',
      () =>
        new Histogram({
          name: 'bflow_webhook_delivery_duration_seconds',
          help: 'Time from the first attempt to the outcome of a delivery (retries included)',
          labelNames: ['outcome'],
          buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
          registers,
        }),
    ),
    attemptDuration: get(
      'bflow_webhook_attempt_duration_seconds',
      () =>
        new Histogram({
          name: 'bflow_webhook_attempt_duration_seconds',
          help: 'Duration of one webhook POST',
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers,
        }),
    ),
    lag: get(
      'bflow_webhook_lag_seconds',
      () =>
        new Histogram({
          name: 'bflow_webhook_lag_seconds',
          help: "From an event's time to its delivery (2xx) at a webhook",
          buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
          registers,
        }),
    ),
    breakersOpen: get(
      'bflow_webhook_breakers_open',
      () =>
        new Gauge({ name: 'bflow_webhook_breakers_open', help: 'Webhooks whose circuit breaker is open', registers }),
    ),
    events: get(
      'bflow_webhook_events_total',
      () =>
        new Counter({
          name: 'bflow_webhook_events_total',
          help: 'Events handled by the webhook deliverer: done (acknowledged), retried (redelivered later), dropped',
          labelNames: ['result'],
          registers,
        }),
    ),
  };
}
