import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diffState } from '../../../src/engine/index.ts';
import { commitOk, step, T0, uniqueShard, uniqueTenant } from '../fixtures.ts';
import type { MakeSubject, StoreSubject } from './subject.ts';

/** The TransitionWriter + RuntimeStore contract: what a commit makes durable and what the write side reads back. */
export function runtimeStoreContract(name: string, makeSubject: MakeSubject): void {
  describe(`${name} - writer and runtime store`, () => {
    let s: StoreSubject;
    let tenant: string;
    beforeEach(async () => {
      s = await makeSubject();
      tenant = uniqueTenant();
    });
    afterEach(async () => {
      await s.cleanup();
    });

    it('commit - a new runtime is visible to loadRuntime, getRuntime, runtimeLog and inbox', async () => {
      const record = step({ tenant, id: 'r1', assignees: ['emp-2'] });
      expect(await s.writer.commit(record)).toMatchObject({ ok: true });
      expect(await s.store.loadRuntime(tenant, 'r1')).toEqual(record.state);
      expect(await s.read.getRuntime(tenant, 'r1')).toEqual(record.state);
      expect(await s.read.runtimeLog(tenant, 'r1')).toEqual(record.effects.log);
      const inbox = await s.read.inbox(tenant, 'emp-2', 'open', 10);
      expect(inbox).toEqual({
        items: [
          {
            runtimeId: 'r1',
            app: 'purchase.order',
            docId: 'doc-r1',
            workflowId: 'wf-po',
            version: 1,
            node: 'n1',
            stage: 0,
            status: 'open',
            assignedAt: T0 + 1000,
          },
        ],
        nextCursor: null,
      });
      expect(await s.store.findActiveRuntime(tenant, 'purchase.order', 'doc-r1')).toEqual(record.state);
    });

    it('commit - the first log entry of a step carries its cause and idempotency key; later entries and causeless records none', async () => {
      const input = {
        id: 'r1',
        tenant,
        app: 'purchase.order',
        docId: 'doc-r1',
        workflowId: 'wf-po',
        version: 1,
        creator: 'emp-creator',
        doc: { amount: 1200, note: 'ünïcödé "quotes"', lines: [{ sku: 'A' }] },
      };
      await commitOk(s.writer, {
        ...step({ tenant, id: 'r1', idempotency: { key: 'k-start', response: 1 } }),
        cause: { start: input },
      });
      const approve = {
        type: 'approve' as const,
        actor: 'emp-2',
        admin: true,
        comment: 'ok',
        nextAssignee: 'emp-3',
        patch: { amount: 1300 },
      };
      await commitOk(s.writer, {
        ...step({ tenant, id: 'r1', baseRevision: 1, idempotency: { key: 'k-approve', response: 2 } }),
        cause: { command: approve },
      });
      const timer = { type: 'timer' as const, timerId: 'r1:sla:1', kind: 'sla_due' as const, stage: 1 };
      await commitOk(s.writer, { ...step({ tenant, id: 'r1', baseRevision: 2 }), cause: { command: timer } });
      await commitOk(
        s.writer,
        step({ tenant, id: 'r1', baseRevision: 3, idempotency: { key: 'k-bare', response: 4 } }),
      );
      const twoEntries = step({ tenant, id: 'r1', baseRevision: 4 });
      twoEntries.effects.log.push({ ...twoEntries.effects.log[0]!, seq: 6, action: 'finish' });
      const cancel = { type: 'cancel' as const, actor: 'emp-creator' };
      await commitOk(s.writer, { ...twoEntries, cause: { command: cancel } });
      const causeless = step({ tenant, id: 'r1', baseRevision: 5 });
      causeless.effects.log[0]!.seq = 7;
      await commitOk(s.writer, causeless);
      const log = await s.read.runtimeLog(tenant, 'r1');
      expect(log.map((e) => [e.seq, e.command])).toEqual([
        [1, { idempotencyKey: 'k-start', start: input }],
        [2, { idempotencyKey: 'k-approve', command: approve }],
        [3, { command: timer }],
        [4, { idempotencyKey: 'k-bare' }],
        [5, { command: cancel }],
        [6, undefined],
        [7, undefined],
      ]);
      expect(log.filter((e) => e.command === undefined).every((e) => !('command' in e))).toBe(true);
    });

    it('commit - the next step replaces the state, appends the log and upserts tasks', async () => {
      await s.writer.commit(step({ tenant, id: 'r1', assignees: ['emp-2'] }));
      const closed = {
        stage: 0,
        node: 'n1',
        assignee: 'emp-2',
        status: 'done' as const,
        action: 'approve',
        assignedAt: T0 + 1000,
        closedAt: T0 + 2000,
      };
      const next = step({ tenant, id: 'r1', baseRevision: 1, assignees: ['emp-3'], tasks: [closed] });
      expect(await s.writer.commit(next)).toMatchObject({ ok: true });
      expect((await s.store.loadRuntime(tenant, 'r1'))?.revision).toBe(2);
      expect((await s.read.runtimeLog(tenant, 'r1')).map((e) => e.seq)).toEqual([1, 2]);
      expect((await s.read.inbox(tenant, 'emp-2', 'open', 10)).items).toEqual([]);
      expect(
        (await s.read.inbox(tenant, 'emp-2', 'done', 10)).items.map((i) => [i.runtimeId, i.stage, i.status]),
      ).toEqual([['r1', 0, 'done']]);
      expect((await s.read.inbox(tenant, 'emp-3', 'open', 10)).items.map((i) => i.node)).toEqual(['n2']);
    });

    it('commit - a stale base revision is a conflict and writes nothing', async () => {
      await s.writer.commit(step({ tenant, id: 'r1' }));
      await s.writer.commit(step({ tenant, id: 'r1', baseRevision: 1 }));
      const stale = step({
        tenant,
        id: 'r1',
        baseRevision: 1,
        assignees: ['emp-9'],
        idempotency: { key: 'k-stale', response: 1 },
      });
      expect(await s.writer.commit(stale)).toMatchObject({ ok: false, code: 'conflict' });
      expect((await s.store.loadRuntime(tenant, 'r1'))?.revision).toBe(2);
      expect(await s.read.runtimeLog(tenant, 'r1')).toHaveLength(2);
      expect((await s.read.inbox(tenant, 'emp-9', 'open', 10)).items).toEqual([]);
      expect(await s.store.findIdempotency(tenant, 'k-stale')).toBeUndefined();
    });

    it('commit - a base revision ahead of the stored one, or of a missing runtime, is a conflict', async () => {
      expect(await s.writer.commit(step({ tenant, id: 'ghost', baseRevision: 3 }))).toMatchObject({
        ok: false,
        code: 'conflict',
      });
      await s.writer.commit(step({ tenant, id: 'r1' }));
      expect(await s.writer.commit(step({ tenant, id: 'r1', baseRevision: 2 }))).toMatchObject({
        ok: false,
        code: 'conflict',
      });
      expect(await s.store.loadRuntime(tenant, 'ghost')).toBeUndefined();
    });

    it('commit - inserting an existing runtime id (base revision 0) is a conflict', async () => {
      await s.writer.commit(step({ tenant, id: 'r1', docId: 'd1' }));
      expect(await s.writer.commit(step({ tenant, id: 'r1', docId: 'd2' }))).toMatchObject({
        ok: false,
        code: 'conflict',
      });
      expect((await s.store.loadRuntime(tenant, 'r1'))?.runtime.docId).toBe('d1');
    });

    it('commit - concurrent steps from one revision: exactly one wins', async () => {
      await s.writer.commit(step({ tenant, id: 'r1' }));
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          s.writer.commit(step({ tenant, id: 'r1', baseRevision: 1, assignees: [`emp-${i}`] })),
        ),
      );
      expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
      expect(outcomes.filter((o) => !o.ok && o.code === 'conflict')).toHaveLength(7);
      expect(await s.read.runtimeLog(tenant, 'r1')).toHaveLength(2);
    });

    it('commit - a second active runtime for the document is duplicate_runtime', async () => {
      await s.writer.commit(step({ tenant, id: 'r1', docId: 'po-1' }));
      const second = step({ tenant, id: 'r2', docId: 'po-1', assignees: ['emp-2'] });
      expect(await s.writer.commit(second)).toMatchObject({ ok: false, code: 'duplicate_runtime' });
      expect(await s.store.loadRuntime(tenant, 'r2')).toBeUndefined();
      expect((await s.read.inbox(tenant, 'emp-2', 'open', 10)).items).toEqual([]);
      expect((await s.store.findActiveRuntime(tenant, 'purchase.order', 'po-1'))?.runtime.id).toBe('r1');
      // Another app's document with the same id is another document.
      expect(await s.writer.commit(step({ tenant, id: 'r3', docId: 'po-1', app: 'leave.request' }))).toMatchObject({
        ok: true,
      });
    });

    it('commit - a failed runtime still holds its document', async () => {
      await s.writer.commit(step({ tenant, id: 'r1', docId: 'po-1', status: 'failed' }));
      expect(await s.writer.commit(step({ tenant, id: 'r2', docId: 'po-1' }))).toMatchObject({
        ok: false,
        code: 'duplicate_runtime',
      });
    });

    it('commit - a finished runtime frees the document for a new runtime', async () => {
      await s.writer.commit(step({ tenant, id: 'r1', docId: 'po-1' }));
      expect(
        await s.writer.commit(step({ tenant, id: 'r1', docId: 'po-1', baseRevision: 1, status: 'approved' })),
      ).toMatchObject({ ok: true });
      expect(await s.store.findActiveRuntime(tenant, 'purchase.order', 'po-1')).toBeUndefined();
      expect(await s.writer.commit(step({ tenant, id: 'r2', docId: 'po-1' }))).toMatchObject({ ok: true });
      expect((await s.store.findActiveRuntime(tenant, 'purchase.order', 'po-1'))?.runtime.id).toBe('r2');
      expect((await s.store.loadRuntime(tenant, 'r1'))?.status).toBe('approved');
    });

    it('commit - reactivating a finished runtime while another holds the document is duplicate_runtime', async () => {
      await commitOk(s.writer, step({ tenant, id: 'r1', docId: 'po-1' }));
      await commitOk(s.writer, step({ tenant, id: 'r1', docId: 'po-1', baseRevision: 1, status: 'approved' }));
      await commitOk(s.writer, step({ tenant, id: 'r2', docId: 'po-1' }));
      const reopen = { ...step({ tenant, id: 'r1', docId: 'po-1', baseRevision: 2 }), reopens: true };
      expect(await s.writer.commit(reopen)).toMatchObject({ ok: false, code: 'duplicate_runtime' });
      expect((await s.store.loadRuntime(tenant, 'r1'))?.status).toBe('approved');
    });

    it('commit - reopening a finished runtime claims its document again: a start of the document is then duplicate_runtime', async () => {
      await commitOk(s.writer, step({ tenant, id: 'r1', docId: 'po-1' }));
      await commitOk(s.writer, step({ tenant, id: 'r1', docId: 'po-1', baseRevision: 1, status: 'approved' }));
      await commitOk(s.writer, { ...step({ tenant, id: 'r1', docId: 'po-1', baseRevision: 2 }), reopens: true });
      expect(await s.writer.commit(step({ tenant, id: 'r2', docId: 'po-1' }))).toMatchObject({
        ok: false,
        code: 'duplicate_runtime',
      });
      expect((await s.store.findActiveRuntime(tenant, 'purchase.order', 'po-1'))?.runtime.id).toBe('r1');
    });

    it('commit - a state whose revision does not follow the base is refused', async () => {
      const bad = step({ tenant, id: 'r1' });
      bad.state.revision = 5;
      await expect(s.writer.commit(bad)).rejects.toMatchObject({ name: 'StoreError', code: 'invalid_record' });
    });

    it('idempotency - a repeated key is duplicate_idempotency_key; the lookup rebuilds the first reply from the log', async () => {
      const first = step({ tenant, id: 'r1', idempotency: { key: 'k1' } });
      await commitOk(s.writer, first);
      const again = step({ tenant, id: 'r1', baseRevision: 1, idempotency: { key: 'k1' } });
      expect(await s.writer.commit(again)).toMatchObject({ ok: false, code: 'duplicate_idempotency_key' });
      expect((await s.store.loadRuntime(tenant, 'r1'))?.revision).toBe(1);
      // A start's reply: its state and `created`.
      expect(await s.store.findIdempotency(tenant, 'k1')).toMatchObject({
        key: 'k1',
        runtimeId: 'r1',
        response: { state: first.state, created: true },
      });
      expect(await s.store.findIdempotency(tenant, 'k-unknown')).toBeUndefined();
    });

    it('idempotency - by reference: a retry gets the state at the revision its key committed, not the current one', async () => {
      const start = step({ tenant, id: 'r1', idempotency: { key: 'k-start' } });
      await commitOk(s.writer, start);
      const second = { ...step({ tenant, id: 'r1', baseRevision: 1, idempotency: { key: 'k-2' } }) };
      second.change = diffState(start.state, second.state);
      await commitOk(s.writer, second);
      const third = step({ tenant, id: 'r1', baseRevision: 2, idempotency: { key: 'k-3' } });
      third.change = diffState(second.state, third.state);
      await commitOk(s.writer, third);
      expect((await s.store.findIdempotency(tenant, 'k-2'))?.response).toEqual({ state: second.state });
      expect((await s.store.findIdempotency(tenant, 'k-3'))?.response).toEqual({ state: third.state });
      expect((await s.store.findIdempotency(tenant, 'k-start'))?.response).toEqual({
        state: start.state,
        created: true,
      });
    });

    it('idempotency - keys are per tenant', async () => {
      const other = uniqueTenant('b');
      await s.writer.commit(step({ tenant, id: 'r1', idempotency: { key: 'k1' } }));
      const theirs = step({ tenant: other, id: 'r1', docId: 'other-doc', idempotency: { key: 'k1' } });
      expect(await s.writer.commit(theirs)).toMatchObject({ ok: true });
      expect((await s.store.findIdempotency(other, 'k1'))?.response).toMatchObject({
        state: { runtime: { tenant: other } },
      });
      expect((await s.store.findIdempotency(tenant, 'k1'))?.response).toMatchObject({ state: { runtime: { tenant } } });
    });

    it('activation - the runtime row, then the log replayed after it: a step without a projected row is still loaded', async () => {
      const start = step({ tenant, id: 'r1' });
      await commitOk(s.writer, start);
      const next = step({ tenant, id: 'r1', baseRevision: 1 });
      next.change = diffState(start.state, next.state);
      await commitOk(s.writer, next);
      expect(await s.store.loadRuntime(tenant, 'r1')).toEqual(next.state);
      // The projection lags the log (the runtime row is back at revision 1): loading replays step 2 over it.
      await s.rewindProjection(tenant, 'r1', start.state);
      expect(await s.read.getRuntime(tenant, 'r1')).toEqual(start.state);
      expect(await s.store.loadRuntime(tenant, 'r1')).toEqual(next.state);
    });

    it('activation - from a snapshot (Redis): only the log after its revision is replayed over it', async () => {
      const start = step({ tenant, id: 'r1' });
      await commitOk(s.writer, start);
      const next = step({ tenant, id: 'r1', baseRevision: 1 });
      next.change = diffState(start.state, next.state);
      await commitOk(s.writer, next);
      expect(await s.store.loadRuntime(tenant, 'r1', structuredClone(start.state))).toEqual(next.state);
      expect(await s.store.loadRuntime(tenant, 'r1', structuredClone(next.state))).toEqual(next.state);
    });

    it('copies - mutating a state read back or committed never changes the stored one', async () => {
      const record = step({ tenant, id: 'r1' });
      await s.writer.commit(record);
      record.state.doc.amount = -1;
      const read = await s.store.loadRuntime(tenant, 'r1');
      read!.doc.amount = -2;
      expect((await s.read.getRuntime(tenant, 'r1'))?.doc.amount).toBe(1200);
    });
  });

  describe(`${name} - timers and outbox`, () => {
    let s: StoreSubject;
    let tenant: string;
    let shard: number;
    beforeEach(async () => {
      s = await makeSubject();
      tenant = uniqueTenant();
      shard = uniqueShard();
    });
    afterEach(async () => {
      await s.cleanup();
    });

    const timer = (id: string, dueAt: number) => ({ id, kind: 'sla_due' as const, dueAt, stage: 0 });

    it('timers - due by shard and time, oldest first; deleted ones stay gone', async () => {
      await s.writer.commit(
        step({
          tenant,
          id: 'r1',
          shard,
          timersSet: [timer('t-late', T0 + 500), timer('t-early', T0 + 100), timer('t-future', T0 + 9000)],
        }),
      );
      await s.writer.commit(step({ tenant, id: 'r2', shard: shard + 1, timersSet: [timer('t-other-shard', T0)] }));
      const due = await s.store.dueTimers(shard, T0 + 500, 100);
      expect(due).toEqual([
        { id: 't-early', tenant, runtimeId: 'r1', kind: 'sla_due', stage: 0, dueAt: T0 + 100 },
        { id: 't-late', tenant, runtimeId: 'r1', kind: 'sla_due', stage: 0, dueAt: T0 + 500 },
      ]);
      expect((await s.store.dueTimers(shard, T0 + 500, 1)).map((t) => t.id)).toEqual(['t-early']);
      await s.store.deleteTimer(tenant, 't-early');
      await s.store.deleteTimer(tenant, 't-early');
      expect((await s.store.dueTimers(shard, T0 + 10_000, 100)).map((t) => t.id)).toEqual(['t-late', 't-future']);
    });

    it('timers - setting an id again moves it; a cancelled timer never fires', async () => {
      await s.writer.commit(
        step({ tenant, id: 'r1', shard, timersSet: [timer('sla', T0 + 100), timer('remind', T0 + 200)] }),
      );
      await s.writer.commit(
        step({
          tenant,
          id: 'r1',
          shard,
          baseRevision: 1,
          timersSet: [timer('sla', T0 + 5000)],
          timersCancelled: ['remind'],
        }),
      );
      expect(await s.store.dueTimers(shard, T0 + 1000, 100)).toEqual([]);
      expect((await s.store.dueTimers(shard, T0 + 5000, 100)).map((t) => [t.id, t.dueAt])).toEqual([
        ['sla', T0 + 5000],
      ]);
    });

    it('timers - deleting is tenant-scoped', async () => {
      const other = uniqueTenant('b');
      await s.writer.commit(step({ tenant, id: 'r1', shard, timersSet: [timer('sla', T0)] }));
      await s.store.deleteTimer(other, 'sla');
      expect(await s.store.dueTimers(shard, T0, 10)).toHaveLength(1);
    });

    it('outbox - unpublished events by shard, one position per transition, in order; markPublished hides them', async () => {
      await s.writer.commit(step({ tenant, id: 'r1', shard, events: 2 }));
      await s.writer.commit(step({ tenant, id: 'r2', shard: shard + 1, events: 1 }));
      await s.writer.commit(step({ tenant, id: 'r1', shard, baseRevision: 1, events: 3 }));
      await s.writer.commit(step({ tenant, id: 'r3', shard, events: 1 }));
      const pending = await s.store.unpublishedEvents(shard, 100);
      expect(pending.map((e) => e.event.id)).toEqual([
        ...['1:0', '1:1', '2:0', '2:1', '2:2'].map((n) => `r1:${n}`),
        'r3:1:0',
      ]);
      const positions = [...new Set(pending.map((e) => e.position))];
      expect(positions).toHaveLength(3);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
      expect(pending.map((e) => e.position)).toEqual([
        positions[0],
        positions[0],
        positions[1],
        positions[1],
        positions[1],
        positions[2],
      ]);
      expect(pending.every((e) => e.shard === shard && e.event.tenant === tenant)).toBe(true);
      // The limit counts transitions, never splitting one.
      expect((await s.store.unpublishedEvents(shard, 2)).map((e) => e.position)).toEqual(
        pending.slice(0, 5).map((e) => e.position),
      );
      // One watermark per shard: it moves to the highest position marked, never back.
      await s.store.markPublished([{ shard, position: positions[1]! }]);
      await s.store.markPublished([{ shard, position: positions[0]! }]);
      expect((await s.store.unpublishedEvents(shard, 100)).map((e) => e.position)).toEqual([positions[2]]);
      await s.store.markPublished([]);
      expect(await s.store.unpublishedEvents(shard + 1, 100)).toHaveLength(1);
    });

    it('outbox - a refused commit leaves no events or timers', async () => {
      await s.writer.commit(step({ tenant, id: 'r1', shard, events: 0 }));
      await s.writer.commit(step({ tenant, id: 'r1', shard, events: 1, timersSet: [timer('x', T0)] }));
      expect(await s.store.unpublishedEvents(shard, 100)).toEqual([]);
      expect(await s.store.dueTimers(shard, T0 + 1, 100)).toEqual([]);
    });

    it('polls - a limit outside 1..10000 is refused', async () => {
      await expect(s.store.dueTimers(shard, T0, 0)).rejects.toMatchObject({ name: 'StoreError' });
      await expect(s.store.unpublishedEvents(shard, 10_001)).rejects.toMatchObject({ name: 'StoreError' });
    });
  });
}
