import type { WebhookRecord, WebhookStore } from '../store/webhook-ports.ts';

/** Tenants whose webhook lists are kept at once; past it the cache starts over. */
const MAX_TENANTS = 10_000;

/**
 * A short-lived cache of each tenant's webhooks, so a burst of events costs
 * one store read per tenant per `ttlMs` (a new or deleted webhook takes effect
 * within it). Concurrent misses of one tenant share one read; a failed read is
 * not kept.
 */
export class WebhookDirectory {
  readonly #entries = new Map<string, { at: number; list: Promise<WebhookRecord[]> }>();

  constructor(
    private readonly store: Pick<WebhookStore, 'forTenant'>,
    private readonly ttlMs: number,
  ) {}

  forTenant(tenant: string): Promise<WebhookRecord[]> {
    const now = performance.now();
    const hit = this.#entries.get(tenant);
    if (hit && now - hit.at < this.ttlMs) return hit.list;
    if (this.#entries.size >= MAX_TENANTS) this.#entries.clear();
    const list = this.store.forTenant(tenant);
    if (this.ttlMs > 0) {
      this.#entries.set(tenant, { at: now, list });
      list.catch(() => {
        if (this.#entries.get(tenant)?.list === list) this.#entries.delete(tenant);
      });
    }
    return list;
  }
}
