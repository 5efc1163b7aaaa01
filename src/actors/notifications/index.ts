/** Notifications: events → in-app, email, SMS and push, once per (event, recipient, channel). */
export {
  JetStreamNotificationConsumer,
  type JetStreamNotificationConsumerOptions,
} from './jetstream-notification-consumer.ts';
export {
  MemoryNotificationFeed,
  NotificationBatcher,
  type NotificationBatcherOptions,
  parseEvent,
} from './notification-batcher.ts';
export { registerNotificationMetrics, type NotificationMetrics } from './notification-metrics.ts';
export { planStep, type PlannedNotification } from './notification-plan.ts';
export { MemoryNotificationSignal, NatsNotificationSignal, type NotificationSignal } from './notification-signal.ts';
export {
  MAX_TEMPLATE_LENGTH,
  renderNotification,
  settingsTemplateProblems,
  templateProblem,
  type TemplateProblem,
} from './notification-templates.ts';
export { Notifier, type NotifierOptions } from './notifier.ts';
export { ProviderChannel, type ProviderChannelOptions } from './provider-channel.ts';
export {
  pushSender,
  smsSender,
  smtpSender,
  type PushOptions,
  type SmsOptions,
  type SmtpOptions,
} from './provider-senders.ts';
