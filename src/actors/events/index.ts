/** Domain events after commit: the outbox relay and the event stream (JetStream BFLOW_EVENTS, or in process). */
export { type EventPublisher, type TraceConsume, untracedConsume } from './ports.ts';
export { type ClusterStreams, clusterStreams } from './cluster-streams.ts';
export {
  encodeToken,
  decodeToken,
  eventFilter,
  eventMsgId,
  eventRoot,
  eventSubject,
  type EventSubjectFields,
  parseEventSubject,
} from './event-subject.ts';
export { JetStreamEventPublisher, type JetStreamEventPublisherOptions } from './jetstream-event-publisher.ts';
export { MemoryEventPublisher, type MemoryEventPublisherOptions, type StoredEvent } from './memory-event-publisher.ts';
export { OutboxRelay, type OutboxRelayOptions, registerOutboxMetrics } from './outbox-relay.ts';
