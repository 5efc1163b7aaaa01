/** Webhook delivery: the deliverer, its queue (JetStream work queue, or in process) and the target policy. */
export { JetStreamWebhookConsumer, type JetStreamWebhookConsumerOptions } from './jetstream-webhook-consumer.ts';
export {
  type DeliveryReport,
  type EventEnvelope,
  WebhookDeliverer,
  type WebhookDelivererOptions,
} from './webhook-deliverer.ts';
export { registerWebhookMetrics, type WebhookMetrics } from './webhook-metrics.ts';
export { WebhookQueue, type WebhookQueueOptions } from './webhook-queue.ts';
export { webhookSignature } from './webhook-sender.ts';
export { MAX_WEBHOOK_URL_LENGTH, webhookUrlProblem } from './webhook-target.ts';
