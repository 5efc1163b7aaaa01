/**
 * Sends queued for the end of this turn of the event loop, run together.
 *
 * nats.js writes what was sent to the socket one microtask after the first
 * send, so sends made in different callbacks (one reply per finished command,
 * one ack per delivered event) each become a write system call of their own.
 * On a busy node those writes were a tenth of its CPU. Queued here, the sends
 * of one turn run back to back in a `setImmediate`, and nats.js writes them
 * in one go. The delay is the rest of the current turn.
 *
 * @example
 * const sends = new SendNextTurn((err) => log.error({ err }, 'send failed'));
 * sends.queue(() => msg.respond(payload));
 * await sends.turn(); const reply = await nc.request(subject, payload);
 */
export class SendNextTurn {
  #queued: (() => void)[] = [];

  constructor(private readonly onError: (err: unknown) => void) {}

  /** Resolves at the end of this turn, with the other sends of the turn (send right after awaiting it). */
  turn(): Promise<void> {
    return new Promise((resolve) => this.queue(resolve));
  }

  queue(send: () => void): void {
    this.#queued.push(send);
    if (this.#queued.length === 1) setImmediate(() => this.#run());
  }

  #run(): void {
    const queued = this.#queued;
    this.#queued = [];
    for (const send of queued) {
      try {
        send();
      } catch (err) {
        this.onError(err);
      }
    }
  }
}
