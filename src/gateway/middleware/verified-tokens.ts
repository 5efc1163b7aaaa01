/**
 * Recently verified tokens, so a client sending the same bearer token on every
 * request pays for its signature check once (a check through WebCrypto, as jose
 * runs it for JWKS tokens, costs ~100 µs: a quarter of the gateway's CPU per
 * request under load). Keyed by the
 * whole token string: a token is only ever found again if it is byte-identical
 * to one whose signature was verified. Entries live at most `ttlMs` (so a key
 * removed from the JWKS stops being honoured within it); `exp`/`nbf` are still
 * checked on every request by the caller. Bounded: the oldest entry goes first.
 */
export class VerifiedTokens<T> {
  readonly #entries = new Map<string, { value: T; until: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  get(token: string): T | undefined {
    const entry = this.#entries.get(token);
    if (entry === undefined) return undefined;
    if (entry.until <= this.now()) {
      this.#entries.delete(token);
      return undefined;
    }
    return entry.value;
  }

  set(token: string, value: T): void {
    if (this.maxEntries <= 0) return;
    this.#entries.delete(token);
    this.#entries.set(token, { value, until: this.now() + this.ttlMs });
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
