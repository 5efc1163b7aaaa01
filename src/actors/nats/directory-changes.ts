import type { NatsConnection } from '@nats-io/transport-node';

/**
 * Directory change notices: a gateway that wrote a tenant's employees or
 * groups tells every node, which drops its cached copy of that directory at
 * once (instead of after the host's directory TTL). Core NATS, fire and
 * forget: a lost notice only means the TTL applies.
 */
export function directoryChangesSubject(cluster: string): string {
  return `${cluster}.directory.changed`;
}

export function announceDirectoryChange(nc: NatsConnection, cluster: string, tenant: string): void {
  if (!nc.isClosed()) nc.publish(directoryChangesSubject(cluster), JSON.stringify({ tenant }));
}

/** Calls `changed(tenant)` for each notice until the returned function is called. */
export function onDirectoryChange(nc: NatsConnection, cluster: string, changed: (tenant: string) => void): () => void {
  const sub = nc.subscribe(directoryChangesSubject(cluster), {
    callback: (err, msg) => {
      if (err) return;
      try {
        const { tenant } = msg.json<{ tenant?: unknown }>();
        if (typeof tenant === 'string') changed(tenant);
      } catch {
        // Not a notice: ignore it.
      }
    },
  });
  return () => sub.unsubscribe();
}
