import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';
import type { WebhookMetrics } from './webhook-metrics.ts';
import {
  atLeast,
  checkOptions,
  nonNegative,
  positive,
  resolveOptions,
  type OptionDefaults,
} from '../../shared/options.ts';

/** Options of the per-webhook circuit breakers; every field has a default. */
export interface WebhookBreakerOptions {
  /** How long an open breaker fails fast before letting one probe through. @default 30_000 */
  resetTimeoutMs?: number;
  /** Failure percentage within the window that opens the breaker. @default 50 */
  errorThresholdPercentage?: number;
  /** Attempts within the window before the breaker may open. @default 5 */
  volumeThreshold?: number;
  /** Length of the rolling statistics window. @default 60_000 */
  rollingWindowMs?: number;
  /** Breakers kept (one per webhook); past it the least recently used is dropped. @default 10_000 */
  maxBreakers?: number;
}

export const DEFAULT_WEBHOOK_BREAKER_OPTIONS = Object.freeze({
  resetTimeoutMs: 30_000,
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  rollingWindowMs: 60_000,
  maxBreakers: 10_000,
} satisfies OptionDefaults<WebhookBreakerOptions>);

type Action = () => Promise<unknown>;

/**
 * One opossum breaker per webhook (target): failures of one endpoint open
 * only its breaker, so a dead receiver fails fast instead of holding the
 * deliverer's slots while other webhooks wait.
 */
export class WebhookBreakers {
  readonly #options: Required<WebhookBreakerOptions>;
  readonly #breakers = new Map<string, CircuitBreaker<[Action], unknown>>();
  readonly #open = new Set<string>();

  constructor(
    options: WebhookBreakerOptions,
    private readonly metrics: WebhookMetrics | undefined,
    private readonly logger: Logger,
  ) {
    this.#options = resolveOptions(DEFAULT_WEBHOOK_BREAKER_OPTIONS, options);
    checkOptions('WebhookBreakers', this.#options, {
      resetTimeoutMs: nonNegative,
      errorThresholdPercentage: nonNegative,
      volumeThreshold: nonNegative,
      rollingWindowMs: positive,
      maxBreakers: atLeast(1),
    });
  }

  /** Runs `action` through the webhook's breaker; rejects with code `EOPENBREAKER` while it is open. */
  fire<T>(webhookId: string, action: () => Promise<T>): Promise<T> {
    return this.#breaker(webhookId).fire(action) as Promise<T>;
  }

  /** Stops every breaker's timers. */
  shutdown(): void {
    for (const b of this.#breakers.values()) b.shutdown();
    this.#breakers.clear();
    this.#open.clear();
    this.metrics?.breakersOpen.set(0);
  }

  #breaker(id: string): CircuitBreaker<[Action], unknown> {
    const found = this.#breakers.get(id);
    if (found) {
      // Map order is recency order: re-insert on use.
      this.#breakers.delete(id);
      this.#breakers.set(id, found);
      return found;
    }
    if (this.#breakers.size >= this.#options.maxBreakers) this.#evictOldest();
    const breaker = new CircuitBreaker((action: Action) => action(), {
      timeout: false,
      resetTimeout: this.#options.resetTimeoutMs,
      errorThresholdPercentage: this.#options.errorThresholdPercentage,
      volumeThreshold: this.#options.volumeThreshold,
      rollingCountTimeout: this.#options.rollingWindowMs,
    });
    breaker.on('open', () => {
      this.#setOpen(id, true);
      this.logger.warn(
        { webhook: id, resetTimeoutMs: this.#options.resetTimeoutMs },
        'webhook breaker open: deliveries to it fail fast',
      );
    });
    breaker.on('halfOpen', () => this.#setOpen(id, false));
    breaker.on('close', () => this.#setOpen(id, false));
    this.#breakers.set(id, breaker);
    return breaker;
  }

  #evictOldest(): void {
    const [oldest] = this.#breakers.keys();
    if (oldest === undefined) return;
    this.#breakers.get(oldest)?.shutdown();
    this.#breakers.delete(oldest);
    this.#setOpen(oldest, false);
  }

  #setOpen(id: string, open: boolean): void {
    if (open) this.#open.add(id);
    else this.#open.delete(id);
    this.metrics?.breakersOpen.set(this.#open.size);
  }
}
