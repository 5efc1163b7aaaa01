export interface WaitOptions {
  /** Give up after this long. @default 10000 */
  deadlineMs?: number;
  /** Pause between polls. @default 25 */
  intervalMs?: number;
  /** Named in the timeout error. */
  what?: string;
}

/**
 * Polls `condition` until it returns a truthy value (returned) or the deadline passes (throws).
 * A throwing condition counts as "not yet"; its last error is attached to the timeout.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.deadlineMs ?? 10_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const what = options.what ?? 'condition';
      throw new Error(`timed out after ${options.deadlineMs ?? 10_000} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 25));
  }
}
