import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';
import type { ExternalChannel } from '../../store/notification-ports.ts';
import type { NotificationMetrics } from './notification-metrics.ts';
import type { AttemptResult, OutgoingMessage, ProviderSend } from './provider-senders.ts';

/** Retries and the circuit breaker of one channel; every field has a default. */
export interface ProviderChannelOptions {
  /** Provider attempts per delivery, over every redelivery of its event, before it becomes a dead letter. @default 6 */
  maxAttempts?: number;
  /** Attempts within one handling of the event before it is left for a redelivery. @default 3 */
  attemptsPerRound?: number;
  /** Backoff before the second attempt of a round; doubles per attempt (equal jitter). @default 500 */
  backoffMinMs?: number;
  /** @default 5_000 */
  backoffMaxMs?: number;
  /** How long an open breaker fails fast before letting one probe through. @default 10_000 */
  resetTimeoutMs?: number;
  /** Failure percentage within the window that opens the breaker. @default 50 */
  errorThresholdPercentage?: number;
  /** Attempts within the window before the breaker may open. @default 5 */
  volumeThreshold?: number;
}

/** What became of one delivery in this round. */
export type RoundOutcome =
  | { status: 'sent'; attempts: number }
  | { status: 'dead'; attempts: number; error: string }
  /** Not yet (provider failing or breaker open): the event comes back. */
  | { status: 'retry'; attempts: number; error: string };

class RetryableFailure extends Error {}

/**
 * One channel's provider behind a circuit breaker (opossum): each delivery is
 * tried up to `attemptsPerRound` times with backoff; a permanent refusal, or
 * the `maxAttempts`-th failure over all rounds, makes it dead; otherwise it is
 * left for the event's redelivery. While the breaker is open nothing reaches
 * the provider and no attempt is counted: an outage delays deliveries, it
 * does not kill them.
 */
export class ProviderChannel {
  readonly #breaker: CircuitBreaker<[OutgoingMessage], AttemptResult>;
  readonly #options: Required<ProviderChannelOptions>;
  readonly #stopping = new AbortController();

  constructor(
    readonly channel: ExternalChannel,
    send: ProviderSend,
    options: ProviderChannelOptions = {},
    private readonly metrics?: NotificationMetrics,
    logger?: Logger,
  ) {
    this.#options = {
      maxAttempts: 6,
      attemptsPerRound: 3,
      backoffMinMs: 500,
      backoffMaxMs: 5_000,
      resetTimeoutMs: 10_000,
      errorThresholdPercentage: 50,
      volumeThreshold: 5,
      ...options,
    };
    this.#breaker = new CircuitBreaker(
      async (m: OutgoingMessage) => {
        const result = await send(m);
        if (!result.ok && result.retryable) throw new RetryableFailure(result.error);
        return result;
      },
      {
        timeout: false, // each sender has its own timeout
        resetTimeout: this.#options.resetTimeoutMs,
        errorThresholdPercentage: this.#options.errorThresholdPercentage,
        volumeThreshold: this.#options.volumeThreshold,
      },
    );
    this.#breaker.on('open', () => {
      metrics?.breakerOpen.set({ channel }, 1);
      logger?.warn({ channel }, 'notifications: provider breaker opened');
    });
    this.#breaker.on('close', () => {
      metrics?.breakerOpen.set({ channel }, 0);
      logger?.info({ channel }, 'notifications: provider breaker closed');
    });
  }

  /** One round of one delivery; `attemptsBefore` were made in earlier rounds. */
  async deliver(message: OutgoingMessage, attemptsBefore: number): Promise<RoundOutcome> {
    let attempts = attemptsBefore;
    let error = '';
    for (let round = 0; round < this.#options.attemptsPerRound; round++) {
      if (this.#stopping.signal.aborted) break;
      if (round > 0) await this.#pause(round);
      try {
        attempts++;
        const result = await this.#breaker.fire(message);
        if (result.ok) return { status: 'sent', attempts };
        this.metrics?.attempts.inc({ channel: this.channel, result: 'refused' });
        return { status: 'dead', attempts, error: result.error };
      } catch (err) {
        if ((err as { code?: string }).code === 'EOPENBREAKER' || (err as { code?: string }).code === 'ESHUTDOWN') {
          attempts--; // never reached the provider
          this.metrics?.attempts.inc({ channel: this.channel, result: 'circuit_open' });
          return { status: 'retry', attempts, error: 'circuit open' };
        }
        error = err instanceof Error ? err.message : String(err);
        this.metrics?.attempts.inc({ channel: this.channel, result: 'failed' });
        if (attempts >= this.#options.maxAttempts) return { status: 'dead', attempts, error };
      }
    }
    return { status: 'retry', attempts, error };
  }

  stop(): void {
    this.#stopping.abort();
    this.#breaker.shutdown();
  }

  #pause(round: number): Promise<void> {
    const base = Math.min(this.#options.backoffMaxMs, this.#options.backoffMinMs * 2 ** (round - 1));
    const ms = base / 2 + Math.random() * (base / 2);
    return new Promise((resolve) => {
      const signal = this.#stopping.signal;
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
