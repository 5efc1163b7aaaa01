/** The JetStream streams of one cluster. */
export interface ClusterStreams {
  /** Every committed event, on `<cluster>.events.>` (limits retention: kept for consumers and replay). */
  events: string;
  /** The events some webhook wants, on `<cluster>.webhook-queue.>` (work-queue retention: gone once delivered). */
  webhookQueue: string;
}

/**
 * The stream names of cluster `cluster` (BFLOW_CLUSTER): the default cluster's are `BFLOW_EVENTS` and
 * `BFLOW_WEBHOOK_QUEUE`, another's carry its name, so several clusters (and test runs) can share a NATS server.
 */
export function clusterStreams(cluster: string): ClusterStreams {
  const suffix = cluster === 'bflow' ? '' : `_${cluster}`;
  return { events: `BFLOW_EVENTS${suffix}`, webhookQueue: `BFLOW_WEBHOOK_QUEUE${suffix}` };
}
