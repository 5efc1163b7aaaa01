import { pino, type Logger } from 'pino';
import type { WebhookDeliverer } from './webhook-deliverer.ts';
import type { WebhookMetrics } from './webhook-metrics.ts';
import {
  atLeast,
  checkOptions,
  nonNegative,
  resolveOptions,
  type OptionDefaults,
  type Resolved,
} from '../../shared/options.ts';

/** Options of {@link WebhookQueue}; every field has a default. */
export interface WebhookQueueOptions {
  /** Events delivered at once. @default 16 */
  concurrency?: number;
  /** Events waiting; a full queue drops the newest (counted as `dropped`, logged). @default 10_000 */
  maxPending?: number;
  /** @default none (no metrics) */
  metrics?: WebhookMetrics;
  /** @default a silent logger */
  logger?: Logger;
}

export const DEFAULT_WEBHOOK_QUEUE_OPTIONS = Object.freeze({
  concurrency: 16,
  maxPending: 10_000,
  logger: pino({ level: 'silent' }),
} satisfies OptionDefaults<WebhookQueueOptions>);

/**
 * The embedded mode's feed of the webhook deliverer: the in-process event
 * stream calls `push` for each stored event; up to `concurrency` deliveries
 * run at once and the rest wait in a bounded queue. Nothing here is durable
 * (neither is the embedded store): events still queued at exit are lost.
 */
export class WebhookQueue {
  readonly #pending: Uint8Array[] = [];
  readonly #options: Resolved<WebhookQueueOptions, typeof DEFAULT_WEBHOOK_QUEUE_OPTIONS>;
  #running = 0;
  #idle: (() => void)[] = [];
  #stopped = false;

  constructor(
    private readonly deliverer: Pick<WebhookDeliverer, 'deliver' | 'stop'>,
    options: WebhookQueueOptions = {},
  ) {
    this.#options = resolveOptions(DEFAULT_WEBHOOK_QUEUE_OPTIONS, options);
    checkOptions('WebhookQueue', this.#options, { concurrency: atLeast(1), maxPending: nonNegative });
  }

  push(body: Uint8Array): void {
    if (this.#stopped) return;
    if (this.#pending.length >= this.#options.maxPending) {
      this.#options.metrics?.events.inc({ result: 'dropped' });
      this.#options.logger.warn({ pending: this.#pending.length }, 'webhook queue full: event dropped');
      return;
    }
    this.#pending.push(body);
    this.#pump();
  }

  /** Resolves once nothing is queued or being delivered. */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Drops what is queued, cuts backoffs short, waits for the deliveries in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#pending.length = 0;
    this.deliverer.stop();
    await this.idle();
  }

  #pump(): void {
    while (this.#running < this.#options.concurrency && this.#pending.length > 0) {
      const body = this.#pending.shift()!;
      this.#running++;
      void this.#deliver(body).finally(() => {
        this.#running--;
        this.#pump();
        if (this.#running === 0 && this.#pending.length === 0) for (const resolve of this.#idle.splice(0)) resolve();
      });
    }
  }

  async #deliver(body: Uint8Array): Promise<void> {
    try {
      await this.deliverer.deliver(body);
      this.#options.metrics?.events.inc({ result: 'done' });
    } catch (err) {
      // The store is in process: a failed read is a bug, not an outage to wait out.
      this.#options.metrics?.events.inc({ result: 'dropped' });
      this.#options.logger.error({ err }, 'webhook queue: delivery failed');
    }
  }
}
