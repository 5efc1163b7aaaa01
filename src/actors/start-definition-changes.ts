import type { NatsConnection } from '@nats-io/transport-node';

/**
 * Start-definition change notices: a gateway that changed a tenant's app
 * config or published a workflow version tells every node, which drops its
 * cached app configs and workflow records of that tenant at once (instead of
 * after the host's `startDefinitionTtlMs`), so the next start uses the change.
 * Core NATS, fire and forget: a lost notice only means the TTL applies.
 * (The twin of nats/directory-changes.ts.)
 */
export function startDefinitionChangesSubject(cluster: string): string {
  return `${cluster}.definitions.changed`;
}

export function announceStartDefinitionChange(nc: NatsConnection, cluster: string, tenant: string): void {
  if (!nc.isClosed()) nc.publish(startDefinitionChangesSubject(cluster), JSON.stringify({ tenant }));
}

/** Calls `changed(tenant)` for each notice until the returned function is called. */
export function onStartDefinitionChange(nc: NatsConnection, cluster: string, changed: (tenant: string) => void): () => void {
  const sub = nc.subscribe(startDefinitionChangesSubject(cluster), {
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
