import { outsideTrace, type TraceScope } from '../../shared/trace-scope.ts';
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
 * `headers`, and hands `handle` that span's scope (its outgoing calls run in it). `attributes` name the event
 * (tenant, app, type). Consumers default to running `handle` outside any trace.
 */
export type TraceConsume = <T>(
  name: string,
  headers: MessageHeaders | undefined,
  attributes: Readonly<Record<string, string>>,
  handle: (inTrace: TraceScope) => Promise<T>,
) => Promise<T>;

/** The TraceConsume of a consumer not traced. */
export const untracedConsume: TraceConsume = (_name, _headers, _attributes, handle) => handle(outsideTrace);
