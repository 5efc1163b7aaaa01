import type { MessageHeaders } from '../nats/message-headers.ts';
import type { EventSubjectFields } from './event-subject.ts';

/** Domain events leaving the outbox: JetStream stream BFLOW_EVENTS, or the in-process twin. */
export interface EventPublisher {
  /**
   * Publishes with `msgId` (see eventMsgId in event-subject.ts) as the de-duplication id; resolves when the stream
   * acknowledged it. `fields`, the event's tenant, app and type when the caller has them, spare parsing `subject`.
   * `headers` go with the message (its consumers read the trace context there).
   */
  publish(
    subject: string,
    msgId: string,
    payload: Uint8Array,
    fields?: EventSubjectFields,
    headers?: MessageHeaders,
  ): Promise<void>;
}

/**
 * Wraps the handling of one event taken from a stream (`handle` settles once the consumer is done with it):
 * the tracing layer runs it in a span linked to the trace that published the event, read from the message's
 * `headers`. `attributes` name the event (tenant, app, type). Consumers default to running `handle` as it is.
 */
export type TraceConsume = <T>(
  name: string,
  headers: MessageHeaders | undefined,
  attributes: Readonly<Record<string, string>>,
  handle: () => Promise<T>,
) => Promise<T>;

/** The TraceConsume of a consumer not traced. */
export const untracedConsume: TraceConsume = (_name, _headers, _attributes, handle) => handle();
