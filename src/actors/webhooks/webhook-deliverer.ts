import { outsideTrace, type TraceScope } from '../../shared/trace-scope.ts';
import { pino, type Logger } from 'pino';
import type { WebhookRecord, WebhookStore } from '../../store/webhook-ports.ts';
import { WebhookBreakers, type WebhookBreakerOptions } from './webhook-breakers.ts';
import type { DeliveryOutcome, WebhookMetrics } from './webhook-metrics.ts';
import { postWebhook, webhookSignature, type AttemptResult, type WebhookRequest } from './webhook-sender.ts';
import { WebhookDirectory } from './webhook-directory.ts';
import {
  atLeast,
  checkOptions,
  InvalidOptionError,
  nonNegative,
  positive,
  resolveOptions,
  type OptionDefaults,
  type Resolved,
} from '../../shared/options.ts';

/** Options of {@link WebhookDeliverer}; every field but `webhooks` has a default. */
export interface WebhookDelivererOptions {
  /** Where the tenant's registrations are read. */
  webhooks: Pick<WebhookStore, 'forTenant'>;
  /** Deadline of one POST (connect to status line). @default 5_000 */
  timeoutMs?: number;
  /** POSTs per event and webhook, the first included, before giving up. @default 6 */
  maxAttempts?: number;
  /** Backoff before the second attempt; doubles per attempt (equal jitter). @default 1_000 */
  backoffMinMs?: number;
  /** Ceiling of one backoff, also of an honoured Retry-After. @default 60_000 */
  backoffMaxMs?: number;
  /** false: refuse loopback/private/link-local targets (BFLOW_WEBHOOK_ALLOW_PRIVATE). @default true */
  allowPrivate?: boolean;
  /**
   * How long a tenant's webhook list is reused before it is read again in the background (past twice this, an
   * event waits for the read); `invalidateWebhooks` drops it at once. @default 30_000
   */
  webhookCacheMs?: number;
  /** The per-webhook circuit breakers. @default DEFAULT_WEBHOOK_BREAKER_OPTIONS */
  breaker?: WebhookBreakerOptions;
  /** @default none (no metrics) */
  metrics?: WebhookMetrics;
  /** @default a silent logger */
  logger?: Logger;
  /** Jitter source in [0, 1). @default Math.random */
  random?: () => number;
  /** One POST (a seam for tests). @default postWebhook */
  send?: (request: WebhookRequest) => Promise<AttemptResult>;
}

export const DEFAULT_WEBHOOK_DELIVERER_OPTIONS = Object.freeze({
  timeoutMs: 5_000,
  maxAttempts: 6,
  backoffMinMs: 1_000,
  backoffMaxMs: 60_000,
  allowPrivate: true,
  webhookCacheMs: 30_000,
  breaker: {},
  logger: pino({ level: 'silent' }),
  random: Math.random,
  send: postWebhook,
} satisfies OptionDefaults<WebhookDelivererOptions>);

/** The fields of a domain event the deliverer reads (the body is sent as it came). */
export interface EventEnvelope {
  id: string;
  type: string;
  tenant: string;
  /** The event's time (epoch ms), when the body carries one. */
  at?: number;
}

export interface DeliveryReport {
  webhookId: string;
  outcome: DeliveryOutcome;
  attempts: number;
}

/** An attempt the breaker counts as a failure (and the deliverer may retry). */
class RetryableAttempt extends Error {
  constructor(readonly result: AttemptResult) {
    super(describe(result));
  }
}

/**
 * Delivers one committed domain event to every webhook of its tenant that
 * subscribes to its type: all webhooks in parallel; each one a signed POST
 * retried with exponential backoff and jitter on network errors, timeouts,
 * 5xx, 408 and 429 (honouring Retry-After), up to `maxAttempts`, through that
 * webhook's circuit breaker. Resolves when every webhook has an outcome; the
 * caller acknowledges the event then (at least once: receivers dedupe by
 * `X-Bflow-Event-Id`). `stop()` cuts backoffs short with outcome `aborted`.
 *
 * @example
 * const deliverer = new WebhookDeliverer({ webhooks: store });
 * const reports = await deliverer.deliver(payloadBytes);
 */
export class WebhookDeliverer {
  readonly #options: Resolved<WebhookDelivererOptions, typeof DEFAULT_WEBHOOK_DELIVERER_OPTIONS>;
  readonly #directory: WebhookDirectory;
  readonly #breakers: WebhookBreakers;
  readonly #stopping = new AbortController();

  constructor(given: WebhookDelivererOptions) {
    const options = resolveOptions(DEFAULT_WEBHOOK_DELIVERER_OPTIONS, given);
    this.#options = options;
    checkOptions('WebhookDeliverer', options, {
      timeoutMs: positive,
      maxAttempts: atLeast(1),
      backoffMinMs: nonNegative,
      webhookCacheMs: nonNegative,
    });
    if (!(options.backoffMaxMs >= options.backoffMinMs)) {
      const problem = `must be at least backoffMinMs (${options.backoffMinMs}), got ${options.backoffMaxMs}`;
      throw new InvalidOptionError('WebhookDeliverer', 'backoffMaxMs', problem);
    }
    this.#directory = new WebhookDirectory(options.webhooks, options.webhookCacheMs);
    this.#breakers = new WebhookBreakers(options.breaker, options.metrics, options.logger);
  }

  /**
   * Delivers the event whose JSON is `body` (sent byte for byte). An
   * unreadable body is logged and delivered nowhere. Rejects only when the
   * tenant's webhooks cannot be read (retry the event later). `tenant`, when
   * the caller knows it (from the event's subject), lets an event of a tenant
   * without webhooks be passed over without parsing its body. Each POST runs in `inTrace` (the delivery's
   * trace, when the event's command was traced).
   */
  async deliver(body: Uint8Array, tenant?: string, inTrace: TraceScope = outsideTrace): Promise<DeliveryReport[]> {
    const told = tenant === undefined ? undefined : await this.#directory.forTenant(tenant);
    if (told?.length === 0) return [];
    const event = envelopeOf(body);
    if (event === undefined) {
      this.#options.logger.warn({ bytes: body.byteLength }, 'webhook deliverer: not a domain event, skipped');
      return [];
    }
    // The body's tenant decides; the list already read serves when it is the same tenant.
    const webhooks =
      told !== undefined && event.tenant === tenant ? told : await this.#directory.forTenant(event.tenant);
    const targets = webhooks.filter((w) => subscribes(w, event.type));
    return Promise.all(targets.map((w) => this.#deliverTo(w, event, body, inTrace)));
  }

  /** Whether some webhook of `tenant` subscribes to events of `type` (from the cached list; rejects when it cannot be read). */
  async wanted(tenant: string, type: string): Promise<boolean> {
    return (await this.#directory.forTenant(tenant)).some((w) => subscribes(w, type));
  }

  /** The tenant's webhooks changed (a change notice): its next event reads them afresh. */
  invalidateWebhooks(tenant: string): void {
    this.#directory.invalidate(tenant);
  }

  /** Cuts every backoff short (outcome `aborted`) and stops the breakers. In-flight POSTs end by their timeout. */
  stop(): void {
    this.#stopping.abort();
    this.#breakers.shutdown();
  }

  get stopped(): boolean {
    return this.#stopping.signal.aborted;
  }

  async #deliverTo(
    webhook: WebhookRecord,
    event: EventEnvelope,
    body: Uint8Array,
    inTrace: TraceScope,
  ): Promise<DeliveryReport> {
    const started = performance.now();
    let attempts = 0;
    let outcome: DeliveryOutcome | undefined;
    let last: AttemptResult | undefined;
    while (outcome === undefined) {
      if (this.stopped) {
        outcome = 'aborted';
        break;
      }
      attempts++;
      const result = await this.#attempt(webhook, event, body, attempts, inTrace);
      last = result.attempt;
      if (result.verdict !== 'retry') outcome = result.verdict;
      else if (attempts >= this.#options.maxAttempts) outcome = 'failed';
      else await this.#pause(attempts, last);
    }
    this.#report(webhook, event, outcome, attempts, last, started);
    return { webhookId: webhook.id, outcome, attempts };
  }

  async #attempt(
    webhook: WebhookRecord,
    event: EventEnvelope,
    body: Uint8Array,
    attempt: number,
    inTrace: TraceScope,
  ): Promise<{ verdict: DeliveryOutcome | 'retry'; attempt?: AttemptResult }> {
    const request: WebhookRequest = {
      url: webhook.url,
      body,
      headers: headersFor(webhook, event, body, attempt),
      timeoutMs: this.#options.timeoutMs,
      allowPrivate: this.#options.allowPrivate,
    };
    const timer = this.#options.metrics?.attemptDuration.startTimer();
    try {
      const result = await this.#breakers.fire(webhook.id, async () => {
        const r = await inTrace(() => this.#options.send(request));
        this.#options.metrics?.attempts.inc({ result: resultClass(r) });
        if (isRetryable(r)) throw new RetryableAttempt(r);
        return r;
      });
      return {
        verdict: result.kind === 'response' && result.status >= 200 && result.status < 300 ? 'delivered' : 'rejected',
        attempt: result,
      };
    } catch (err) {
      if (err instanceof RetryableAttempt) return { verdict: 'retry', attempt: err.result };
      const code = (err as { code?: string }).code;
      if (code === 'EOPENBREAKER') return { verdict: 'circuit_open' };
      // stop() shut the breakers down between the loop's check and this attempt.
      if (code === 'ESHUTDOWN') return { verdict: 'aborted' };
      throw err;
    } finally {
      timer?.();
    }
  }

  /** Equal jitter over an exponential base; a longer Retry-After wins, both capped at backoffMaxMs. */
  #pause(attempts: number, last: AttemptResult | undefined): Promise<void> {
    const base = Math.min(this.#options.backoffMaxMs, this.#options.backoffMinMs * 2 ** Math.min(attempts - 1, 30));
    const jittered = base / 2 + this.#options.random() * (base / 2);
    const asked = last?.kind === 'response' ? (last.retryAfterMs ?? 0) : 0;
    return sleep(Math.min(this.#options.backoffMaxMs, Math.max(jittered, asked)), this.#stopping.signal);
  }

  #report(
    webhook: WebhookRecord,
    event: EventEnvelope,
    outcome: DeliveryOutcome,
    attempts: number,
    last: AttemptResult | undefined,
    started: number,
  ): void {
    this.#options.metrics?.deliveries.inc({ outcome });
    this.#options.metrics?.deliveryDuration.observe({ outcome }, (performance.now() - started) / 1000);
    if (outcome === 'delivered') {
      if (event.at !== undefined) this.#options.metrics?.lag.observe(Math.max(0, Date.now() - event.at) / 1000);
      return;
    }
    const fields = {
      webhook: webhook.id,
      tenant: event.tenant,
      eventId: event.id,
      eventType: event.type,
      attempts,
      last: last && describe(last),
    };
    if (outcome === 'aborted') this.#options.logger.info(fields, 'webhook delivery aborted (stopping)');
    else this.#options.logger.warn({ ...fields, outcome }, 'webhook delivery given up');
  }
}

function envelopeOf(body: Uint8Array): EventEnvelope | undefined {
  try {
    const e = JSON.parse(
      Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'),
    ) as Partial<EventEnvelope>;
    if (typeof e.id !== 'string' || typeof e.type !== 'string' || typeof e.tenant !== 'string') return undefined;
    return typeof e.at === 'number'
      ? { id: e.id, type: e.type, tenant: e.tenant, at: e.at }
      : { id: e.id, type: e.type, tenant: e.tenant };
  } catch {
    return undefined;
  }
}

const subscribes = (w: WebhookRecord, type: string): boolean => w.events.includes('*') || w.events.includes(type);

function headersFor(
  webhook: WebhookRecord,
  event: EventEnvelope,
  body: Uint8Array,
  attempt: number,
): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    'User-Agent': 'bflow-webhooks/1',
    'X-Bflow-Event-Id': event.id,
    'X-Bflow-Event-Type': event.type,
    'X-Bflow-Webhook-Id': webhook.id,
    'X-Bflow-Delivery-Attempt': String(attempt),
    'X-Bflow-Timestamp': String(Math.floor(Date.now() / 1000)),
    'X-Bflow-Signature': webhookSignature(webhook.secret, body),
  };
}

/** Network errors, timeouts, 5xx, 408 and 429 may pass; any other answer will not change. */
function isRetryable(r: AttemptResult): boolean {
  if (r.kind === 'timeout' || r.kind === 'network') return true;
  return r.kind === 'response' && (r.status >= 500 || r.status === 408 || r.status === 429);
}

function resultClass(r: AttemptResult): string {
  if (r.kind !== 'response') return r.kind;
  if (r.status === 429) return '429';
  return `${Math.floor(r.status / 100)}xx`;
}

function describe(r: AttemptResult): string {
  switch (r.kind) {
    case 'response':
      return `HTTP ${r.status}`;
    case 'timeout':
      return 'timeout';
    default:
      return `${r.kind}: ${r.message}`;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
