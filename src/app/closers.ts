import type { Logger } from 'pino';

/**
 * What a composition root has opened so far (pools, connections, servers,
 * loops), closed last first: all of it at stop, or what a start got to before
 * a later step threw. A failed start must not leave a pool or a socket behind:
 * in a process it keeps the event loop alive, so `bflow node` would print its
 * error and hang instead of exiting.
 *
 * @example
 * const closers = new Closers(logger);
 * return closers.starting(async () => {
 *   const pool = closers.add('mysql pool', createMySqlPool(url), (p) => p.end());
 *   await runMigrations(pool); // throws → the pool is ended, the error rethrown
 *   return { stop: () => closers.close() };
 * });
 */
export class Closers {
  readonly #steps: { what: string; close: () => unknown }[] = [];
  #closing: Promise<void> | undefined;

  constructor(private readonly logger: Pick<Logger, 'warn'>) {}

  /** Registers how to close `value`, just opened; returns it. */
  add<T>(what: string, value: T, close: (value: T) => unknown): T {
    this.#steps.push({ what, close: () => close(value) });
    return value;
  }

  /** Registers a closing step that has no value of its own (a subscription, a loop). */
  defer(what: string, close: () => unknown): void {
    this.#steps.push({ what, close });
  }

  /** Runs `start`; when it throws, closes what it registered, then rethrows. */
  async starting<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start();
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** Closes everything registered, last first; a step that fails is logged and the next still runs. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const step of this.#steps.splice(0).reverse()) {
        try {
          await step.close();
        } catch (err) {
          this.logger.warn({ err }, `closing ${step.what} failed`);
        }
      }
    })();
    return this.#closing;
  }
}
