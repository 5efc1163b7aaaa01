import type { WebhookStore } from './webhook-ports.ts';

/** A WebhookStore that reports each tenant whose registrations it changed (after the write), so caches of them can be dropped. */
export function invalidatingWebhooks(inner: WebhookStore, changed: (tenant: string) => void): WebhookStore {
  return {
    async create(record) {
      const result = await inner.create(record);
      if (result.created) changed(record.tenant);
      return result;
    },
    get: (tenant, id) => inner.get(tenant, id),
    list: (tenant, limit, cursor) => inner.list(tenant, limit, cursor),
    forTenant: (tenant) => inner.forTenant(tenant),
    async delete(tenant, id) {
      const deleted = await inner.delete(tenant, id);
      if (deleted) changed(tenant);
      return deleted;
    },
  };
}
