import type { EventSubjectFields } from './event-subject.ts';

/** Domain events leaving the outbox: JetStream stream BFLOW_EVENTS, or the in-process twin. */
export interface EventPublisher {
  /**
   * Publishes with `msgId` (see eventMsgId in event-subject.ts) as the de-duplication id; resolves when the stream
   * acknowledged it. `fields`, the event's tenant, app and type when the caller has them, spare parsing `subject`.
   */
  publish(subject: string, msgId: string, payload: Uint8Array, fields?: EventSubjectFields): Promise<void>;
}
