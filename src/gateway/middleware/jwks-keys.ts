import type { JsonWebKey } from 'node:crypto';

/** A JWKS entry (RFC 7517) as hono's verify takes it. */
export type JwksKey = JsonWebKey & { kid: string; alg?: string };

/** Options of {@link JwksKeys}. */
export interface JwksKeysOptions {
  url: string;
  timeoutMs: number;
  cacheMs: number;
  /** Least time between refetches caused by an unknown kid. */
  minRefreshMs: number;
  now: () => number;
}

/** The JWKS endpoint could not be read and no keys are cached. */
export class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError';
}

/**
 * Keys of a JWKS endpoint: fetched with a timeout, cached for `cacheMs`,
 * refetched early (at most every `minRefreshMs`) when a token names an
 * unknown `kid` (the IdP rotated keys). Stale keys are served while a refresh
 * fails; concurrent requests share one fetch.
 */
export class JwksKeys {
  private keys: JwksKey[] | undefined;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;
  private failedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: JwksKeysOptions) {}

  /** The key with `kid`, or undefined when the endpoint does not list it. */
  async find(kid: string): Promise<JwksKey | undefined> {
    const age = this.options.now() - this.fetchedAt;
    if (this.keys === undefined || age >= this.options.cacheMs) await this.refresh();
    let key = this.keys?.find((k) => k.kid === kid);
    const now = this.options.now();
    if (
      key === undefined &&
      now - this.fetchedAt >= this.options.minRefreshMs &&
      now - this.failedAt >= this.options.minRefreshMs
    ) {
      await this.refresh();
      key = this.keys?.find((k) => k.kid === kid);
    }
    return key;
  }

  private async refresh(): Promise<void> {
    // Just failed with nothing cached: answer at once rather than make every request wait for a timeout.
    if (this.keys === undefined && this.options.now() - this.failedAt < 1_000)
      throw new JwksUnavailableError('cannot read the JWKS (failed just now)');
    this.inflight ??= this.fetchKeys().finally(() => {
      this.inflight = undefined;
    });
    try {
      await this.inflight;
    } catch (error) {
      this.failedAt = this.options.now();
      // Keep serving the cached keys; try again after minRefreshMs, not on every request.
      this.fetchedAt = Math.max(this.fetchedAt, this.failedAt - this.options.cacheMs + this.options.minRefreshMs);
      if (this.keys === undefined)
        throw new JwksUnavailableError(
          `cannot read the JWKS: ${error instanceof Error ? error.message : String(error)}`,
        );
    }
  }

  private async fetchKeys(): Promise<void> {
    const response = await fetch(this.options.url, {
      signal: AbortSignal.timeout(this.options.timeoutMs),
      headers: { accept: 'application/json' },
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = (await response.json()) as { keys?: unknown };
    if (!Array.isArray(body.keys)) throw new Error('no "keys" array');
    this.keys = body.keys.filter(
      (k): k is JwksKey => typeof k === 'object' && k !== null && typeof (k as { kid?: unknown }).kid === 'string',
    );
    this.fetchedAt = this.options.now();
  }
}
