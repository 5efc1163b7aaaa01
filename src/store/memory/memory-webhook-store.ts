import { checkLimit, decodeCursor, encodeCursor, toPage } from '../pagination.ts';
import type { Page } from '../ports.ts';
import { MAX_WEBHOOKS_PER_TENANT, type WebhookRecord, type WebhookStore } from '../webhook-ports.ts';
import { compareStrings } from './sorted-list.ts';
import { getOrCreate } from './tables.ts';

/** The twin of the MySQL webhook store: same order, same cursors. Everything handed out is a copy. */
export class MemoryWebhookStore implements WebhookStore {
  /** tenant → id → record. A tenant holds few webhooks, so reads sort on the way out. */
  readonly #byTenant = new Map<string, Map<string, WebhookRecord>>();

  async create(record: WebhookRecord): Promise<{ created: boolean; record: WebhookRecord }> {
    const webhooks = getOrCreate(this.#byTenant, record.tenant, () => new Map<string, WebhookRecord>());
    const existing = webhooks.get(record.id);
    if (existing) return { created: false, record: structuredClone(existing) };
    webhooks.set(record.id, structuredClone(record));
    return { created: true, record: structuredClone(record) };
  }

  async get(tenant: string, id: string): Promise<WebhookRecord | undefined> {
    const found = this.#byTenant.get(tenant)?.get(id);
    return found && structuredClone(found);
  }

  async list(tenant: string, limit: number, cursor?: string): Promise<Page<WebhookRecord>> {
    checkLimit(limit);
    const after = cursor === undefined ? undefined : decodeCursor<[string]>(cursor, ['string'])[0];
    const rows = this.#sorted(tenant).filter((r) => after === undefined || r.id > after);
    return toPage(rows.slice(0, limit + 1), limit, (last) => encodeCursor([last.id]));
  }

  async forTenant(tenant: string): Promise<WebhookRecord[]> {
    return this.#sorted(tenant).slice(0, MAX_WEBHOOKS_PER_TENANT + 1);
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    return this.#byTenant.get(tenant)?.delete(id) ?? false;
  }

  #sorted(tenant: string): WebhookRecord[] {
    return [...(this.#byTenant.get(tenant)?.values() ?? [])]
      .sort((a, b) => compareStrings(a.id, b.id))
      .map((r) => structuredClone(r));
  }
}
