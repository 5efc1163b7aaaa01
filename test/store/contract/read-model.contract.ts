import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InboxItem, Page } from '../../../src/store/ports.ts';
import { commitOk, step, T0, uniqueTenant } from '../fixtures.ts';
import type { MakeSubject, StoreSubject } from './subject.ts';

/** Reads every page of a keyset listing. */
async function allPages<T>(first: () => Promise<Page<T>>, next: (cursor: string) => Promise<Page<T>>): Promise<T[][]> {
  const pages = [await first()];
  for (let cursor = pages[0]!.nextCursor; cursor !== null; cursor = pages[pages.length - 1]!.nextCursor) {
    pages.push(await next(cursor));
    if (pages.length > 100) throw new Error('pagination does not end');
  }
  return pages.map((p) => p.items);
}

const inboxKey = (i: InboxItem): string => `${i.assignedAt}|${i.runtimeId}|${i.stage}`;

/** The ReadModel contract: views, keyset pages and tenant isolation. */
export function readModelContract(name: string, makeSubject: MakeSubject): void {
  describe(`${name} - read model`, () => {
    let s: StoreSubject;
    let tenant: string;
    beforeEach(async () => {
      s = await makeSubject();
      tenant = uniqueTenant();
    });
    afterEach(async () => {
      await s.cleanup();
    });

    it('inbox - 23 tasks paged by 5 come complete, in (assignedAt, runtimeId, stage) order, without duplicates', async () => {
      // Ties on assignedAt (three per instant) and two stages of one runtime exercise every part of the key.
      for (let i = 0; i < 21; i++) {
        const id = `r${String((i * 8) % 21).padStart(2, '0')}`;
        await commitOk(s.writer, step({ tenant, id, assignees: ['boss', 'other'], at: T0 + Math.floor(i / 3) }));
      }
      await commitOk(s.writer, step({ tenant, id: 'r00', baseRevision: 1, assignees: ['boss'], at: T0 + 2 }));
      await commitOk(s.writer, step({ tenant, id: 'r00', baseRevision: 2, assignees: ['boss'], at: T0 + 2 }));
      const pages = await allPages(
        () => s.read.inbox(tenant, 'boss', 'open', 5),
        (cursor) => s.read.inbox(tenant, 'boss', 'open', 5, cursor),
      );
      expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 5, 3]);
      const keys = pages.flat().map(inboxKey);
      expect(keys).toHaveLength(23);
      expect(new Set(keys).size).toBe(23);
      const sorted = [...pages.flat()].sort(
        (a, b) =>
          a.assignedAt - b.assignedAt ||
          (a.runtimeId < b.runtimeId ? -1 : a.runtimeId > b.runtimeId ? 1 : 0) ||
          a.stage - b.stage,
      );
      expect(keys).toEqual(sorted.map(inboxKey));
      expect(
        pages
          .flat()
          .filter((i) => i.runtimeId === 'r00')
          .map((i) => i.stage),
      ).toEqual([0, 1, 2]);
    });

    it('inbox - pages asked for at once (users, statuses, cursors, limits, tenants) are each what it is alone', async () => {
      const other = uniqueTenant();
      for (let i = 0; i < 12; i++) {
        await commitOk(
          s.writer,
          step({
            tenant,
            id: `r${String(i).padStart(2, '0')}`,
            assignees: i % 3 === 0 ? ['boss'] : ['boss', 'other'],
            at: T0 + Math.floor(i / 2),
          }),
        );
      }
      await commitOk(s.writer, step({ tenant: other, id: 'r00', assignees: ['boss'], at: T0 }));
      const done = {
        stage: 0,
        node: 'n1',
        assignee: 'boss',
        status: 'done' as const,
        action: 'approve',
        assignedAt: T0 + 100,
        closedAt: T0 + 200,
      };
      await s.writer.commit(step({ tenant, id: 'r05', baseRevision: 1, tasks: [done] }));
      const second = (await s.read.inbox(tenant, 'boss', 'open', 4)).nextCursor!;
      const asks = [
        () => s.read.inbox(tenant, 'boss', 'open', 4),
        () => s.read.inbox(tenant, 'boss', 'open', 4, second),
        () => s.read.inbox(tenant, 'other', 'open', 50),
        () => s.read.inbox(tenant, 'boss', 'done', 10),
        () => s.read.inbox(tenant, 'nobody', 'open', 10),
        () => s.read.inbox(other, 'boss', 'open', 10),
        () => s.read.inbox(tenant, 'boss', 'open', 1),
      ];
      const alone = [];
      for (const ask of asks) alone.push(await ask());
      const together = await Promise.all(asks.map((ask) => ask()));
      expect(together).toEqual(alone);
      expect(alone.map((p) => p.items.length)).toEqual([4, 4, 8, 1, 0, 1, 1]);
      await expect(
        Promise.all([s.read.inbox(tenant, 'boss', 'open', 4), s.read.inbox(tenant, 'boss', 'open', 0)]),
      ).rejects.toMatchObject({ name: 'StoreError' });
    });

    it('inbox - an exact page ends with a null cursor; status selects open or done', async () => {
      for (let i = 0; i < 4; i++) await commitOk(s.writer, step({ tenant, id: `r${i}`, assignees: ['boss'] }));
      const done = {
        stage: 0,
        node: 'n1',
        assignee: 'boss',
        status: 'done' as const,
        action: 'approve',
        assignedAt: T0 + 1000,
        closedAt: T0 + 2000,
      };
      await s.writer.commit(step({ tenant, id: 'r0', baseRevision: 1, tasks: [done] }));
      const open = await s.read.inbox(tenant, 'boss', 'open', 3);
      expect(open.items.map((i) => i.runtimeId)).toEqual(['r1', 'r2', 'r3']);
      expect(open.nextCursor).toBeNull();
      expect((await s.read.inbox(tenant, 'boss', 'done', 3)).items.map((i) => [i.runtimeId, i.status])).toEqual([
        ['r0', 'done'],
      ]);
      expect(await s.read.inbox(tenant, 'nobody', 'open', 3)).toEqual({ items: [], nextCursor: null });
    });

    it('inbox - dueAt is carried when the task has one', async () => {
      const task = {
        stage: 0,
        node: 'n1',
        assignee: 'boss',
        status: 'open' as const,
        assignedAt: T0,
        dueAt: T0 + 86_400_000,
      };
      await s.writer.commit(step({ tenant, id: 'r1', tasks: [task] }));
      expect((await s.read.inbox(tenant, 'boss', 'open', 10)).items[0]).toMatchObject({ dueAt: T0 + 86_400_000 });
    });

    it("inbox - each item names its runtime's pinned workflow version", async () => {
      await commitOk(s.writer, step({ tenant, id: 'r1', assignees: ['boss'], at: T0 }));
      await commitOk(s.writer, step({ tenant, id: 'r2', assignees: ['boss'], at: T0 + 1, version: 3 }));
      const items = (await s.read.inbox(tenant, 'boss', 'open', 10)).items;
      expect(items.map((i) => [i.runtimeId, i.workflowId, i.version])).toEqual([
        ['r1', 'wf-po', 1],
        ['r2', 'wf-po', 3],
      ]);
    });

    it('getRuntime - runtimes asked for at once are each what it is alone (found, missing, another tenant)', async () => {
      const other = uniqueTenant();
      await commitOk(s.writer, step({ tenant, id: 'r1', assignees: ['boss'] }));
      await commitOk(s.writer, step({ tenant, id: 'r2', assignees: ['boss'] }));
      await commitOk(s.writer, step({ tenant: other, id: 'r1', assignees: ['boss'] }));
      const asks: [string, string][] = [
        [tenant, 'r1'],
        [tenant, 'missing'],
        [tenant, 'r2'],
        [other, 'r1'],
        [other, 'r2'],
        [tenant, 'r1'],
      ];
      const alone = [];
      for (const [t, id] of asks) alone.push(await s.read.getRuntime(t, id));
      const together = await Promise.all(asks.map(([t, id]) => s.read.getRuntime(t, id)));
      expect(together).toEqual(alone);
      expect(alone.map((r) => r && [r.runtime.tenant, r.runtime.id])).toEqual([
        [tenant, 'r1'],
        undefined,
        [tenant, 'r2'],
        [other, 'r1'],
        undefined,
        [tenant, 'r1'],
      ]);
    });

    it('listRuntimes - filters by app, docId and status; pages by id', async () => {
      for (let i = 0; i < 12; i++) {
        const app = i % 3 === 0 ? 'leave.request' : 'purchase.order';
        await commitOk(
          s.writer,
          step({ tenant, id: `r${String(i).padStart(2, '0')}`, app, docId: i === 9 ? 'd1' : `d${i}` }),
        );
      }
      await commitOk(
        s.writer,
        step({ tenant, id: 'r01', app: 'purchase.order', docId: 'd1', baseRevision: 1, status: 'approved' }),
      );
      const ids = async (filter: Parameters<StoreSubject['read']['listRuntimes']>[1], limit = 5): Promise<string[][]> =>
        (
          await allPages(
            () => s.read.listRuntimes(tenant, filter, limit),
            (cursor) => s.read.listRuntimes(tenant, filter, limit, cursor),
          )
        ).map((page) => page.map((r) => r.runtime.id));
      expect(await ids({})).toEqual([
        ['r00', 'r01', 'r02', 'r03', 'r04'],
        ['r05', 'r06', 'r07', 'r08', 'r09'],
        ['r10', 'r11'],
      ]);
      expect((await ids({ app: 'leave.request' })).flat()).toEqual(['r00', 'r03', 'r06', 'r09']);
      expect((await ids({ app: 'purchase.order', status: 'in_progress' }, 3)).flat()).toEqual([
        'r02',
        'r04',
        'r05',
        'r07',
        'r08',
        'r10',
        'r11',
      ]);
      expect((await ids({ status: 'approved' })).flat()).toEqual(['r01']);
      expect((await ids({ docId: 'd1' })).flat()).toEqual(['r01', 'r09']);
      expect((await ids({ app: 'purchase.order', docId: 'd1' })).flat()).toEqual(['r01']);
      expect(await s.read.listRuntimes(tenant, { app: 'none' }, 5)).toEqual({ items: [], nextCursor: null });
    });

    it('limits - outside 1..500 are refused, and so is a malformed cursor', async () => {
      await expect(s.read.inbox(tenant, 'boss', 'open', 0)).rejects.toMatchObject({ name: 'StoreError' });
      await expect(s.read.inbox(tenant, 'boss', 'open', 501)).rejects.toMatchObject({ name: 'StoreError' });
      await expect(s.read.listRuntimes(tenant, {}, 1.5)).rejects.toMatchObject({ name: 'StoreError' });
      await expect(s.read.listRuntimes(tenant, {}, 10, 'not a cursor')).rejects.toMatchObject({ name: 'StoreError' });
      await expect(
        s.read.inbox(tenant, 'boss', 'open', 10, Buffer.from('["x"]').toString('base64url')),
      ).rejects.toMatchObject({ name: 'StoreError' });
      expect((await s.read.listRuntimes(tenant, {}, 500)).items).toEqual([]);
    });

    it('tenants - tenant B never sees tenant A runtime, log, inbox or list', async () => {
      const other = uniqueTenant('b');
      await s.writer.commit(step({ tenant, id: 'r1', assignees: ['boss'] }));
      expect(await s.read.getRuntime(other, 'r1')).toBeUndefined();
      expect(await s.store.loadRuntime(other, 'r1')).toBeUndefined();
      expect(await s.store.findActiveRuntime(other, 'purchase.order', 'doc-r1')).toBeUndefined();
      expect(await s.read.runtimeLog(other, 'r1')).toEqual([]);
      expect((await s.read.inbox(other, 'boss', 'open', 10)).items).toEqual([]);
      expect((await s.read.listRuntimes(other, {}, 10)).items).toEqual([]);
      // The same runtime id and document in tenant B are B's own.
      expect(await s.writer.commit(step({ tenant: other, id: 'r1', assignees: ['boss'] }))).toMatchObject({ ok: true });
      expect((await s.read.inbox(tenant, 'boss', 'open', 10)).items).toHaveLength(1);
    });
  });
}
