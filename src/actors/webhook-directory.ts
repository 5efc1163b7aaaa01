import type { WebhookRecord, WebhookStore } from '../store/webhook-ports.ts';
import { TenantTtlCache } from './tenant-ttl-cache.ts';

/**
 * A short-lived cache of each tenant's webhooks, so a burst of events costs
 * one store read per tenant per `ttlMs` (a new or deleted webhook takes effect
 * within it). Concurrent misses of one tenant share one read; a failed read is
 * not kept; at most 10,000 tenants' lists are kept.
 */
export class WebhookDirectory {
  readonly #cache: TenantTtlCache<WebhookRecord[]>;

  constructor(
    private readonly store: Pick<WebhookStore, 'forTenant'>,
    ttlMs: number,
  ) {
    this.#cache = new TenantTtlCache(ttlMs, () => performance.now());
  }

  forTenant(tenant: string): Promise<WebhookRecord[]> {
    return this.#cache.get(tenant, 'webhooks', () => this.store.forTenant(tenant));
  }
}
