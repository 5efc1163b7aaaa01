import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Metrics of the notifier. */
export interface NotificationMetrics {
  /** Notifications by channel and result: sent, failed (dead letter), skipped (no address, channel off). */
  notifications: Counter<'channel' | 'result'>;
  /** Provider attempts by channel and result: failed, refused, circuit_open (sent ones are in `notifications`). */
  attempts: Counter<'channel' | 'result'>;
  /** From the event's commit to the notification's delivery, by channel. */
  lag: Histogram<'channel'>;
  /** 1 while a channel's provider breaker is open. */
  breakerOpen: Gauge<'channel'>;
  /** Events taken from the stream by what became of them: done, retried. */
  events: Counter<'result'>;
}

/** Registers the notifier's metrics on `registry`, reusing any already registered there. */
export function registerNotificationMetrics(registry: Registry): NotificationMetrics {
  const registers = [registry];
  const get = <M>(name: string, make: () => M): M => (registry.getSingleMetric(name) as M | undefined) ?? make();
  return {
    notifications: get(
      'bflow_notifications_total',
      () =>
        new Counter({
          name: 'bflow_notifications_total',
          help: 'Notifications by channel and result (sent, failed = dead letter, skipped)',
          labelNames: ['channel', 'result'],
          registers,
        }),
    ),
    attempts: get(
      'bflow_notification_attempts_total',
      () =>
        new Counter({
          name: 'bflow_notification_attempts_total',
          help: 'Provider attempts that did not send, by channel and result (failed, refused, circuit_open)',
          labelNames: ['channel', 'result'],
          registers,
        }),
    ),
    lag: get(
      'bflow_notification_lag_seconds',
      () =>
        new Histogram({
          name: 'bflow_notification_lag_seconds',
          help: "From the event's commit to the notification's delivery",
          labelNames: ['channel'],
          buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
          registers,
        }),
    ),
    breakerOpen: get(
      'bflow_notification_breaker_open',
      () =>
        new Gauge({
          name: 'bflow_notification_breaker_open',
          help: "1 while the channel's provider circuit breaker is open",
          labelNames: ['channel'],
          registers,
        }),
    ),
    events: get(
      'bflow_notifier_events_total',
      () =>
        new Counter({
          name: 'bflow_notifier_events_total',
          help: 'Events the notifier took from the stream, by result (done, retried)',
          labelNames: ['result'],
          registers,
        }),
    ),
  };
}
