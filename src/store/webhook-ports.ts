import type { Page } from './ports.ts';

/**
 * Webhook registrations: where a tenant wants its domain events POSTed. The
 * gateway writes them (`/api/v1/webhooks`); the deliverers read a tenant's
 * list per event. MySQL and the in-process twin implement the port; one
 * contract suite runs against both.
 */

/** One registration. `secret` signs every delivery (HMAC-SHA256) and is never returned by the API. */
export interface WebhookRecord {
  id: string;
  tenant: string;
  /** http(s) URL the events are POSTed to. */
  url: string;
  /** Event types delivered (`"*"` = all of them). */
  events: string[];
  secret: string;
  createdAt: number;
}

/** Most webhooks {@link WebhookStore.forTenant} returns: the bound on one event's fan-out. */
export const MAX_WEBHOOKS_PER_TENANT = 100;

export interface WebhookStore {
  /**
   * Stores a new registration. An existing id of the tenant is kept as it is
   * and returned with `created: false` (an idempotent create uses a key-derived id).
   */
  create(record: WebhookRecord): Promise<{ created: boolean; record: WebhookRecord }>;
  get(tenant: string, id: string): Promise<WebhookRecord | undefined>;
  /** Keyset page ordered by id. */
  list(tenant: string, limit: number, cursor?: string): Promise<Page<WebhookRecord>>;
  /** The tenant's registrations, by id, at most {@link MAX_WEBHOOKS_PER_TENANT} + 1 (so a caller can tell the limit is reached). */
  forTenant(tenant: string): Promise<WebhookRecord[]>;
  /** false when there was no such registration. */
  delete(tenant: string, id: string): Promise<boolean>;
}
