import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { toNatsHeaders, type MessageHeaders } from '../nats/message-headers.ts';

/** What the stream answered to one publish. */
export interface PubAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

interface Pending {
  resolve: (ack: PubAck) => void;
  reject: (err: Error) => void;
  /** performance.now() after which the publish has timed out. */
  deadline: number;
}

/**
 * JetStream publishes pipelined over one reply subscription: each publish is a
 * plain NATS publish with `Nats-Msg-Id` and a reply subject `<inbox>.<n>`, and
 * the stream's PubAck comes back to the one wildcard subscription. nats.js's
 * `js.publish` is a request per message: a timer, a deferred and a stack-
 * capturing error object each (the error is built even when the ack arrives),
 * several percent of a node's CPU at a few thousand events a second. Here a
 * single sweep times out what is overdue.
 *
 * @example
 * const acks = new PubAckInbox(nc, 5_000);
 * const ack = await acks.publish('bflow.events.t1.po.created', payload, 't1.rt-1:1:0');
 */
export class PubAckInbox {
  readonly #nc: NatsConnection;
  readonly #inbox: string;
  readonly #sub: Subscription;
  readonly #pending = new Map<string, Pending>();
  readonly #sweep: NodeJS.Timeout;
  #next = 0;

  /** `timeoutMs`: how long each publish waits for its PubAck (one for all, so deadlines come in publish order). */
  constructor(
    nc: NatsConnection,
    private readonly timeoutMs: number,
    sweepMs = 250,
  ) {
    this.#nc = nc;
    this.#inbox = createInbox();
    this.#sub = nc.subscribe(`${this.#inbox}.*`, {
      callback: (err, msg) => (err ? this.#failAll(err) : this.#answer(msg)),
    });
    this.#sweep = setInterval(() => this.#timeOut(), sweepMs);
    this.#sweep.unref();
  }

  /**
   * Publishes `payload` on `subject` with `msgId` (and `extra` headers); resolves with the PubAck, rejects on an
   * error answer, no stream, or the timeout.
   */
  publish(subject: string, payload: Uint8Array, msgId: string, extra?: MessageHeaders): Promise<PubAck> {
    const token = (this.#next++).toString(36);
    const h = headers();
    h.set('Nats-Msg-Id', msgId);
    if (extra) toNatsHeaders(extra, h);
    return new Promise<PubAck>((resolve, reject) => {
      this.#pending.set(token, { resolve, reject, deadline: performance.now() + this.timeoutMs });
      try {
        this.#nc.publish(subject, payload, { reply: `${this.#inbox}.${token}`, headers: h });
      } catch (err) {
        this.#pending.delete(token);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Stops listening; publishes still waiting are rejected. */
  close(): void {
    clearInterval(this.#sweep);
    this.#sub.unsubscribe();
    this.#failAll(new Error('publisher closed'));
  }

  #answer(msg: Msg): void {
    const token = msg.subject.slice(this.#inbox.length + 1);
    const pending = this.#pending.get(token);
    if (!pending) return; // timed out already
    this.#pending.delete(token);
    if (msg.headers?.hasError) {
      const noStream = msg.headers.code === 503;
      pending.reject(
        new Error(
          noStream
            ? 'no stream listens on the subject (no responders)'
            : `status ${msg.headers.code} ${msg.headers.description}`,
        ),
      );
      return;
    }
    let answer: { stream?: string; seq?: number; duplicate?: boolean; error?: { code?: number; description?: string } };
    try {
      answer = msg.json();
    } catch {
      pending.reject(new Error('invalid PubAck'));
      return;
    }
    if (answer.error)
      pending.reject(new Error(`stream error ${answer.error.code ?? '?'}: ${answer.error.description ?? ''}`));
    else if (!answer.stream) pending.reject(new Error('invalid PubAck: no stream'));
    else pending.resolve({ stream: answer.stream, seq: answer.seq ?? 0, duplicate: answer.duplicate === true });
  }

  #timeOut(): void {
    const now = performance.now();
    // Oldest first, and every publish has the same timeout: the first one not due ends the sweep.
    for (const [token, pending] of this.#pending) {
      if (pending.deadline > now) break;
      this.#pending.delete(token);
      pending.reject(new Error('timed out waiting for the PubAck'));
    }
  }

  #failAll(err: Error): void {
    for (const pending of this.#pending.values()) pending.reject(err);
    this.#pending.clear();
  }
}
