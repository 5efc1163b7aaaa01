import type { NatsConnection } from '@nats-io/transport-node';

/**
 * Change notices: a gateway that changed something nodes cache per tenant
 * tells every node, which drops that tenant's cached copy at once instead of
 * after its TTL.
 * - `directory`: employees or groups written (the host's directory cache);
 * - `definitions`: an app config changed or a workflow version published (the
 *   start path's app-config and workflow caches), so the next start uses it;
 * - `webhooks`: a webhook registered or deleted (the deliverers' webhook lists).
 * Core NATS on `<cluster>.<kind>.changed`, fire and forget: a lost notice only
 * means the TTL applies.
 */
export type TenantChangeKind = 'directory' | 'definitions' | 'webhooks';

export function tenantChangesSubject(cluster: string, kind: TenantChangeKind): string {
  return `${cluster}.${kind}.changed`;
}

export function announceTenantChange(
  nc: NatsConnection,
  cluster: string,
  kind: TenantChangeKind,
  tenant: string,
): void {
  if (!nc.isClosed()) nc.publish(tenantChangesSubject(cluster, kind), JSON.stringify({ tenant }));
}

/** Calls `changed(tenant)` for each notice of `kind` until the returned function is called. */
export function onTenantChange(
  nc: NatsConnection,
  cluster: string,
  kind: TenantChangeKind,
  changed: (tenant: string) => void,
): () => void {
  const sub = nc.subscribe(tenantChangesSubject(cluster, kind), {
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
