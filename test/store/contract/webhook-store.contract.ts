import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../../src/store/errors.ts';
import { MAX_WEBHOOKS_PER_TENANT, type WebhookRecord, type WebhookStore } from '../../../src/store/webhook-ports.ts';
import { T0, uniqueTenant } from '../fixtures.ts';

export interface WebhookSubject {
  webhooks: WebhookStore;
  cleanup(): Promise<void>;
}

const record = (tenant: string, id: string, over: Partial<WebhookRecord> = {}): WebhookRecord => ({
  id,
  tenant,
  url: `https://erp.example.com/hooks/${id}?q=ünï`,
  events: ['stage.entered', 'runtime.finished'],
  secret: 'whsec-0123456789abcdef',
  createdAt: T0,
  ...over,
});

/** The WebhookStore contract: create (idempotent by id), get, keyset list, the per-tenant fan-out list, delete; per tenant. */
export function webhookStoreContract(name: string, makeSubject: () => Promise<WebhookSubject>): void {
  describe(`${name} - webhook store`, () => {
    let s: WebhookSubject;
    let tenant: string;
    beforeEach(async () => {
      s = await makeSubject();
      tenant = uniqueTenant('wh');
    });
    afterEach(async () => {
      await s.cleanup();
    });

    it('webhooks - create then get returns the record as stored, secret included', async () => {
      const r = record(tenant, 'wh-1');
      expect(await s.webhooks.create(r)).toEqual({ created: true, record: r });
      expect(await s.webhooks.get(tenant, 'wh-1')).toEqual(r);
      expect(await s.webhooks.get(tenant, 'wh-2')).toBeUndefined();
    });

    it('webhooks - a second create of an id keeps the first record and says so', async () => {
      const first = record(tenant, 'wh-1');
      await s.webhooks.create(first);
      expect(
        await s.webhooks.create(record(tenant, 'wh-1', { url: 'https://other.example.com', events: ['*'] })),
      ).toEqual({ created: false, record: first });
      expect(await s.webhooks.get(tenant, 'wh-1')).toEqual(first);
    });

    it('webhooks - list pages by id with opaque cursors; a bad cursor is invalid_record', async () => {
      for (const id of ['wh-c', 'wh-a', 'wh-e', 'wh-b', 'wh-d']) await s.webhooks.create(record(tenant, id));
      const first = await s.webhooks.list(tenant, 2);
      expect(first.items.map((r) => r.id)).toEqual(['wh-a', 'wh-b']);
      const second = await s.webhooks.list(tenant, 2, first.nextCursor!);
      expect(second.items.map((r) => r.id)).toEqual(['wh-c', 'wh-d']);
      const last = await s.webhooks.list(tenant, 2, second.nextCursor!);
      expect(last).toEqual({ items: [record(tenant, 'wh-e')], nextCursor: null });
      await expect(s.webhooks.list(tenant, 2, 'bm9wZQ')).rejects.toBeInstanceOf(StoreError);
      await expect(s.webhooks.list(tenant, 0)).rejects.toBeInstanceOf(StoreError);
    });

    it('webhooks - forTenant lists by id, at most the per-tenant limit + 1', async () => {
      expect(await s.webhooks.forTenant(tenant)).toEqual([]);
      const many = Array.from({ length: MAX_WEBHOOKS_PER_TENANT + 3 }, (_, i) =>
        record(tenant, `wh-${String(i).padStart(3, '0')}`),
      );
      for (const r of many) await s.webhooks.create(r);
      const listed = await s.webhooks.forTenant(tenant);
      expect(listed).toHaveLength(MAX_WEBHOOKS_PER_TENANT + 1);
      expect(listed[0]).toEqual(many[0]);
    });

    it('webhooks - delete removes it once', async () => {
      await s.webhooks.create(record(tenant, 'wh-1'));
      expect(await s.webhooks.delete(tenant, 'wh-1')).toBe(true);
      expect(await s.webhooks.delete(tenant, 'wh-1')).toBe(false);
      expect(await s.webhooks.get(tenant, 'wh-1')).toBeUndefined();
      expect(await s.webhooks.forTenant(tenant)).toEqual([]);
      // The id is free again.
      expect((await s.webhooks.create(record(tenant, 'wh-1'))).created).toBe(true);
    });

    it('tenants - tenant B neither sees nor deletes tenant A webhooks; ids are per tenant', async () => {
      const other = uniqueTenant('wh-b');
      await s.webhooks.create(record(tenant, 'wh-1'));
      expect(await s.webhooks.get(other, 'wh-1')).toBeUndefined();
      expect(await s.webhooks.delete(other, 'wh-1')).toBe(false);
      expect((await s.webhooks.list(other, 50)).items).toEqual([]);
      expect(await s.webhooks.forTenant(other)).toEqual([]);
      expect((await s.webhooks.create(record(other, 'wh-1', { url: 'https://b.example.com' }))).created).toBe(true);
      expect((await s.webhooks.get(tenant, 'wh-1'))?.url).toBe(record(tenant, 'wh-1').url);
    });

    it('webhooks - a stored record is a copy: mutating what was passed or returned changes nothing', async () => {
      const r = record(tenant, 'wh-1');
      await s.webhooks.create(r);
      r.events.push('comment.added');
      const got = await s.webhooks.get(tenant, 'wh-1');
      got!.events.length = 0;
      expect((await s.webhooks.get(tenant, 'wh-1'))?.events).toEqual(['stage.entered', 'runtime.finished']);
    });
  });
}
