import type { WebhookRecord, WebhookStore } from '../../store/webhook-ports.ts';
import { TenantTtlCache } from '../tenant-ttl-cache.ts';

/**
 * A cache of each tenant's webhooks, so events cost one store read per tenant
 * per `ttlMs`. A new or deleted webhook takes effect at once after
 * `invalidate(tenant)` (a change notice), else within twice the TTL: a list
 * past its TTL is still used while it is read again in the background.
 * Concurrent misses of one tenant share one read; a failed read is not kept;
 * at most 10,000 tenants' lists are kept.
 */
export class WebhookDirectory {
  readonly #cache: TenantTtlCache<WebhookRecord[]>;

  constructor(
    private readonly store: Pick<WebhookStore, 'forTenant'>,
    ttlMs: number,
  ) {
    this.#cache = new TenantTtlCache(ttlMs, () => performance.now(), 10_000, true);
  }

  forTenant(tenant: string): Promise<WebhookRecord[]> {
    return this.#cache.get(tenant, 'webhooks', () => this.store.forTenant(tenant));
  }

  /** The tenant's next lookup reads its list afresh. */
  invalidate(tenant: string): void {
    this.#cache.invalidate(tenant);
  }
}
