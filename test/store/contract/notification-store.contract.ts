import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryClaim, NewNotification, NotificationStore } from '../../../src/store/notification-ports.ts';
import { T0, uniqueTenant } from '../fixtures.ts';

export interface NotificationSubject {
  notifications: NotificationStore;
  cleanup(): Promise<void>;
}

const note = (tenant: string, recipient: string, i: number): NewNotification => ({
  tenant,
  recipient,
  dedupeKey: `rt-1:${i}:0|${recipient}|in_app`,
  kind: 'task_assigned',
  eventId: `rt-1:${i}:0`,
  runtimeId: 'rt-1',
  app: 'purchase.order',
  docId: 'PO-1',
  title: `Task ${i} — ünï`,
  body: 'Please approve',
  link: 'https://bflow.example.com/runtimes/rt-1',
  createdAt: T0 + i,
});

const claim = (tenant: string, key: string, owner: string, now: number, ttl = 1000): DeliveryClaim => ({
  tenant,
  dedupeKey: key,
  channel: 'email',
  recipient: 'pur-mgr',
  eventId: 'rt-1:1:0',
  kind: 'task_assigned',
  owner,
  claimedUntil: now + ttl,
  now,
});

/** The NotificationStore contract: the in-app inbox (dedupe, cursor, unread, read), delivery claims, preferences, settings. */
export function notificationStoreContract(name: string, makeSubject: () => Promise<NotificationSubject>): void {
  describe(`${name} - notification store`, () => {
    let s: NotificationSubject;
    let tenant: string;
    beforeEach(async () => {
      s = await makeSubject();
      tenant = uniqueTenant('nt');
    });
    afterEach(async () => {
      await s.cleanup();
    });

    it('notifications - a dedupe key is stored once; list is newest first with a cursor and the unread count', async () => {
      const items = [1, 2, 3].map((i) => note(tenant, 'bob', i));
      expect(await s.notifications.addInApp(items)).toBe(3);
      expect(await s.notifications.addInApp([items[0]!, note(tenant, 'bob', 4)])).toBe(1);
      const first = await s.notifications.list(tenant, 'bob', 3);
      expect(first.items.map((n) => n.eventId)).toEqual(['rt-1:4:0', 'rt-1:3:0', 'rt-1:2:0']);
      expect(first.unread).toBe(4);
      expect(first.items[0]).toMatchObject({ ...note(tenant, 'bob', 4) });
      const second = await s.notifications.list(tenant, 'bob', 3, first.nextCursor!);
      expect(second.items.map((n) => n.eventId)).toEqual(['rt-1:1:0']);
      expect(second.nextCursor).toBeNull();
      expect((await s.notifications.list(tenant, 'carol', 10)).items).toEqual([]);
      expect((await s.notifications.list(uniqueTenant('other'), 'bob', 10)).items).toEqual([]);
    });

    it('notifications - after(seq) catches up in order; read and read-all change the unread count', async () => {
      await s.notifications.addInApp([1, 2, 3].map((i) => note(tenant, 'bob', i)));
      const all = await s.notifications.after(tenant, 'bob', 0, 10);
      expect(all.map((n) => n.eventId)).toEqual(['rt-1:1:0', 'rt-1:2:0', 'rt-1:3:0']);
      expect((await s.notifications.after(tenant, 'bob', all[0]!.seq, 10)).map((n) => n.eventId)).toEqual([
        'rt-1:2:0',
        'rt-1:3:0',
      ]);
      expect(await s.notifications.markRead(tenant, 'bob', all[1]!.seq, T0 + 100)).toBe(true);
      expect(await s.notifications.markRead(tenant, 'carol', all[1]!.seq, T0 + 100)).toBe(false);
      expect(await s.notifications.markRead(tenant, 'bob', 987_654_321, T0 + 100)).toBe(false);
      expect((await s.notifications.list(tenant, 'bob', 10)).unread).toBe(2);
      expect(await s.notifications.markAllRead(tenant, 'bob', T0 + 200)).toBe(2);
      const page = await s.notifications.list(tenant, 'bob', 10);
      expect(page.unread).toBe(0);
      expect(page.items.find((n) => n.seq === all[1]!.seq)?.readAt).toBe(T0 + 100);
    });

    it('deliveries - a claim is held by one owner until it lapses; sent is final; dead shows as a dead letter', async () => {
      const a = await s.notifications.claim([claim(tenant, 'k1', 'a', T0), claim(tenant, 'k2', 'a', T0)]);
      expect(a).toEqual({
        held: new Map([
          ['k1', 0],
          ['k2', 0],
        ]),
        busy: new Set(),
      });
      expect(await s.notifications.claim([claim(tenant, 'k1', 'b', T0 + 10)])).toEqual({
        held: new Map(),
        busy: new Set(['k1']),
      });
      // The same owner again (its redelivery) still holds it.
      expect((await s.notifications.claim([claim(tenant, 'k1', 'a', T0 + 10)])).held).toEqual(new Map([['k1', 0]]));
      await s.notifications.finish([
        { tenant, dedupeKey: 'k1', owner: 'a', status: 'sent', attempts: 1, now: T0 + 20 },
        { tenant, dedupeKey: 'k2', owner: 'b', status: 'sent', attempts: 1, now: T0 + 20 }, // not b's: ignored
      ]);
      // k1 sent: nobody sends it again, even after its claim lapsed; k2 lapsed: b takes it over.
      const later = await s.notifications.claim([
        claim(tenant, 'k1', 'b', T0 + 5000),
        claim(tenant, 'k2', 'b', T0 + 5000),
      ]);
      expect(later).toEqual({ held: new Map([['k2', 0]]), busy: new Set() });
      await s.notifications.finish([
        { tenant, dedupeKey: 'k2', owner: 'b', status: 'dead', attempts: 5, error: 'HTTP 400', now: T0 + 6000 },
      ]);
      const dead = await s.notifications.deadLetters(tenant, 10);
      expect(dead.items).toEqual([
        {
          tenant,
          dedupeKey: 'k2',
          channel: 'email',
          recipient: 'pur-mgr',
          eventId: 'rt-1:1:0',
          kind: 'task_assigned',
          attempts: 5,
          error: 'HTTP 400',
          at: T0 + 6000,
        },
      ]);
      expect(await s.notifications.claim([claim(tenant, 'k2', 'c', T0 + 99_000)])).toEqual({
        held: new Map(),
        busy: new Set(),
      });
      expect((await s.notifications.deadLetters(uniqueTenant('other'), 10)).items).toEqual([]);
    });

    it('deliveries - a retry releases the claim at once and keeps the attempts made', async () => {
      await s.notifications.claim([claim(tenant, 'r1', 'a', T0, 60_000)]);
      await s.notifications.finish([
        { tenant, dedupeKey: 'r1', owner: 'a', status: 'retry', attempts: 2, error: 'timeout', now: T0 + 1 },
      ]);
      expect((await s.notifications.claim([claim(tenant, 'r1', 'b', T0 + 2)])).held).toEqual(new Map([['r1', 2]]));
      expect((await s.notifications.deadLetters(tenant, 10)).items).toEqual([]);
    });

    it('deliveries - one claim batch may span tenants; each tenant keeps its own rows', async () => {
      const other = uniqueTenant('nt2');
      const got = await s.notifications.claim([claim(tenant, 'm1', 'a', T0), claim(other, 'm2', 'a', T0)]);
      expect(got).toEqual({
        held: new Map([
          ['m1', 0],
          ['m2', 0],
        ]),
        busy: new Set(),
      });
      await s.notifications.finish([
        { tenant, dedupeKey: 'm1', owner: 'a', status: 'dead', attempts: 1, error: 'x', now: T0 + 1 },
        { tenant: other, dedupeKey: 'm2', owner: 'a', status: 'sent', attempts: 1, now: T0 + 1 },
      ]);
      expect((await s.notifications.deadLetters(tenant, 10)).items.map((d) => d.dedupeKey)).toEqual(['m1']);
      expect((await s.notifications.deadLetters(other, 10)).items).toEqual([]);
    });

    it('dead letters - newest first with a cursor', async () => {
      for (let i = 0; i < 3; i++) {
        await s.notifications.claim([claim(tenant, `d${i}`, 'a', T0)]);
        await s.notifications.finish([
          { tenant, dedupeKey: `d${i}`, owner: 'a', status: 'dead', attempts: 1, error: 'x', now: T0 + i },
        ]);
      }
      const first = await s.notifications.deadLetters(tenant, 2);
      expect(first.items.map((d) => d.dedupeKey)).toEqual(['d2', 'd1']);
      const second = await s.notifications.deadLetters(tenant, 2, first.nextCursor!);
      expect(second.items.map((d) => d.dedupeKey)).toEqual(['d0']);
      expect(second.nextCursor).toBeNull();
    });

    it('preferences and settings - stored per employee and per tenant, replaced on save', async () => {
      expect(await s.notifications.preferences(tenant, ['bob', 'carol'])).toEqual(new Map());
      const prefs = { channels: { task_assigned: ['in_app' as const] }, pushTokens: ['tok-1'] };
      await s.notifications.setPreferences(tenant, 'bob', prefs, T0);
      expect(await s.notifications.preferences(tenant, ['bob', 'carol'])).toEqual(new Map([['bob', prefs]]));
      await s.notifications.setPreferences(tenant, 'bob', { channels: {}, pushTokens: [] }, T0 + 1);
      expect((await s.notifications.preferences(tenant, ['bob'])).get('bob')).toEqual({ channels: {}, pushTokens: [] });
      expect(await s.notifications.settings(tenant)).toBeUndefined();
      const settings = {
        defaultChannels: ['in_app' as const],
        disabledChannels: ['sms' as const],
        templates: { task_assigned: { subject: 'Hi {{recipient.name}}' } },
      };
      await s.notifications.setSettings(tenant, settings, T0);
      expect(await s.notifications.settings(tenant)).toEqual(settings);
    });
  });
}
