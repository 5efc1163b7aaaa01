import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffState } from '../../../src/engine/index.ts';
import type { ReadModel, RuntimeStore, TransitionRecord, TransitionWriter } from '../../../src/store/ports.ts';
import { DAY_MS, type RetentionBatch, type RetentionStore } from '../../../src/store/retention-ports.ts';
import { commitOk, step, uniqueShard, uniqueTenant } from '../fixtures.ts';

/** One store with retention, over a backing store of its own (retention's scans are not per tenant). */
export interface RetentionSubject {
  writer: TransitionWriter;
  store: RuntimeStore;
  read: ReadModel;
  retention: RetentionStore;
  /** The store's clock (steps' commit times), moved by the tests. */
  clock: { now: number };
  cleanup(): Promise<void>;
}

/** Runs one kind of batch until it reports no more; the rows summed. */
async function drain(batch: () => Promise<RetentionBatch>): Promise<Record<string, number>> {
  const total: Record<string, number> = {};
  for (let i = 0; i < 100; i++) {
    const { rows, more } = await batch();
    for (const [table, n] of Object.entries(rows)) total[table] = (total[table] ?? 0) + n;
    if (!more) return total;
  }
  throw new Error('retention batches never ended');
}

/** Publishes every event of `shard` (what the relay does), so its steps may be pruned. */
async function publishAll(store: RuntimeStore, shard: number): Promise<void> {
  const events = await store.unpublishedEvents(shard, 1000);
  if (events.length > 0) await store.markPublished([{ shard, position: Math.max(...events.map((e) => e.position)) }]);
}

/**
 * The RetentionStore contract: what each batch removes, and that what it leaves still works — activation,
 * idempotent replies of keys still kept, the read model, the audit log unless a tenant's policy removes it.
 */
export function retentionContract(name: string, make: () => Promise<RetentionSubject>): void {
  describe(`${name} - retention store`, () => {
    let s: RetentionSubject;
    beforeAll(async () => {
      s = await make();
    });
    afterAll(async () => {
      await s.cleanup();
    });

    /** Commits `n` steps of a runtime (keys `<id>-k<rev>`), each a day after the last; the records. */
    async function runtime(
      tenant: string,
      id: string,
      n: number,
      o: { shard: number; finish?: boolean; assignees?: string[] },
    ): Promise<TransitionRecord[]> {
      const records: TransitionRecord[] = [];
      for (let base = 0; base < n; base++) {
        const last = base === n - 1;
        const r = step({
          tenant,
          id,
          shard: o.shard,
          baseRevision: base,
          at: s.clock.now,
          idempotency: { key: `${id}-k${base + 1}` },
          ...(last && o.finish ? { status: 'completed' as const } : {}),
          ...(o.assignees ? { assignees: o.assignees } : {}),
        });
        const before = records[records.length - 1]?.state;
        const record = before ? { ...r, change: diffState(before, r.state) } : r;
        await commitOk(s.writer, record);
        records.push(record);
        s.clock.now += DAY_MS;
      }
      return records;
    }

    it(`${name} - compaction: steps published and older than the cut leave a base step; the runtime, newer keys and the log stay whole`, async () => {
      const tenant = uniqueTenant('ret');
      const shard = uniqueShard();
      const records = await runtime(tenant, 'r1', 4, { shard });
      await publishAll(s.store, shard);
      s.clock.now += 30 * DAY_MS;
      const fresh = step({ tenant, id: 'r1', shard, baseRevision: 4, at: s.clock.now, idempotency: { key: 'r1-k5' } });
      await commitOk(s.writer, { ...fresh, change: diffState(records[3]!.state, fresh.state) });
      const removed = await drain(() => s.retention.compactSteps(s.clock.now - 10 * DAY_MS, 50, 'delete', s.clock.now));
      expect(removed.runtime_steps).toBeGreaterThanOrEqual(3);

      expect(await s.store.loadRuntime(tenant, 'r1')).toEqual(fresh.state);
      // The key of the newest compacted step is answered from the base step; those below it went with their steps.
      expect(await s.store.findIdempotency(tenant, 'r1-k4')).toMatchObject({
        runtimeId: 'r1',
        response: { state: records[3]!.state },
      });
      expect(await s.store.findIdempotency(tenant, 'r1-k1')).toBeUndefined();
      expect(await s.store.findIdempotency(tenant, 'r1-k5')).toMatchObject({ response: { state: fresh.state } });
      expect(await s.read.getRuntime(tenant, 'r1')).toEqual(fresh.state);
      // The history whole, the compacted steps' commands included (MySQL keeps them as runtime_log rows).
      expect((await s.read.runtimeLog(tenant, 'r1')).map((e) => [e.seq, e.command?.idempotencyKey])).toEqual([
        [1, 'r1-k1'],
        [2, 'r1-k2'],
        [3, 'r1-k3'],
        [4, 'r1-k4'],
        [5, 'r1-k5'],
      ]);
      // Again: nothing more to do, nothing changes.
      await drain(() => s.retention.compactSteps(s.clock.now - 10 * DAY_MS, 50, 'delete', s.clock.now));
      expect(await s.store.loadRuntime(tenant, 'r1')).toEqual(fresh.state);
      expect(await s.store.findIdempotency(tenant, 'r1-k4')).toMatchObject({ response: { state: records[3]!.state } });
    });

    it(`${name} - compaction never touches steps whose events are not published`, async () => {
      const tenant = uniqueTenant('ret');
      const shard = uniqueShard();
      const records = await runtime(tenant, 'r1', 3, { shard });
      s.clock.now += 30 * DAY_MS;
      await drain(() => s.retention.compactSteps(s.clock.now, 50, 'archive', s.clock.now));
      expect(await s.store.findIdempotency(tenant, 'r1-k1')).toMatchObject({ response: { state: records[0]!.state } });
      expect(await s.store.unpublishedEvents(shard, 100)).toHaveLength(3);
      await publishAll(s.store, shard);
    });

    it(`${name} - idempotency keys older than the cut are forgotten (a retry runs afresh); newer ones answer`, async () => {
      const tenant = uniqueTenant('ret');
      const shard = uniqueShard();
      const records = await runtime(tenant, 'r1', 3, { shard });
      // k1 and k2 are older than the cut, k3 is not.
      const cut = records[2]!.state.updatedAt;
      const forgotten = await drain(() => s.retention.forgetIdempotencyKeys(cut, 2));
      expect(forgotten['runtime_steps.idem_key']).toBeGreaterThanOrEqual(2);
      expect(await s.store.findIdempotency(tenant, 'r1-k1')).toBeUndefined();
      expect(await s.store.findIdempotency(tenant, 'r1-k2')).toBeUndefined();
      expect(await s.store.findIdempotency(tenant, 'r1-k3')).toMatchObject({ response: { state: records[2]!.state } });
      expect(await s.store.loadRuntime(tenant, 'r1')).toEqual(records[2]!.state);
      // The key is free again: a new step may commit under it.
      const next = step({ tenant, id: 'r1', shard, baseRevision: 3, at: s.clock.now, idempotency: { key: 'r1-k1' } });
      await commitOk(s.writer, { ...next, change: diffState(records[2]!.state, next.state) });
      await publishAll(s.store, shard);
    });

    it(`${name} - finished runtimes past the cut lose their hot rows (runtime, steps, inbox); the audit log stays; others are untouched`, async () => {
      const tenant = uniqueTenant('ret');
      const shard = uniqueShard();
      await runtime(tenant, 'old', 2, { shard, finish: true, assignees: ['emp-9'] });
      const active = await runtime(tenant, 'active', 2, { shard, assignees: ['emp-9'] });
      await publishAll(s.store, shard);
      const cut = s.clock.now;
      s.clock.now += DAY_MS;
      const recent = await runtime(tenant, 'recent', 1, { shard, finish: true });
      await publishAll(s.store, shard);
      for (const mode of ['archive', 'delete'] as const) {
        await drain(() => s.retention.removeFinishedRuntimes(cut, 10, mode, s.clock.now));
      }
      expect(await s.store.loadRuntime(tenant, 'old')).toBeUndefined();
      expect(await s.read.getRuntime(tenant, 'old')).toBeUndefined();
      expect(await s.store.findIdempotency(tenant, 'old-k1')).toBeUndefined();
      const inbox = await s.read.inbox(tenant, 'emp-9', 'open', 50);
      expect(new Set(inbox.items.map((i) => i.runtimeId))).toEqual(new Set(['active']));
      expect((await s.read.runtimeLog(tenant, 'old')).map((e) => e.seq)).toEqual([1, 2]);
      expect(await s.store.loadRuntime(tenant, 'active')).toEqual(active[1]!.state);
      expect(await s.store.loadRuntime(tenant, 'recent')).toEqual(recent[0]!.state);
      const listed = await s.read.listRuntimes(tenant, {}, 10);
      expect(listed.items.map((r) => r.runtime.id).sort()).toEqual(['active', 'recent']);
    });

    it(`${name} - a finished runtime with unpublished events is not removed`, async () => {
      const tenant = uniqueTenant('ret');
      const shard = uniqueShard();
      const records = await runtime(tenant, 'r1', 2, { shard, finish: true });
      s.clock.now += 400 * DAY_MS;
      await drain(() => s.retention.removeFinishedRuntimes(s.clock.now, 10, 'delete', s.clock.now));
      expect(await s.store.loadRuntime(tenant, 'r1')).toEqual(records[1]!.state);
      await publishAll(s.store, shard);
      await drain(() => s.retention.removeFinishedRuntimes(s.clock.now, 10, 'delete', s.clock.now));
      expect(await s.store.loadRuntime(tenant, 'r1')).toBeUndefined();
    });

    it(`${name} - the audit log goes only by the tenant's policy, that many days after the runtime finished`, async () => {
      const [kept, pruned] = [uniqueTenant('ret'), uniqueTenant('ret')];
      const shard = uniqueShard();
      expect(await s.retention.getPolicy(pruned)).toBeUndefined();
      expect(await s.retention.setPolicy(pruned, { auditLogDays: 10 }, s.clock.now)).toEqual({
        tenant: pruned,
        auditLogDays: 10,
        updatedAt: s.clock.now,
      });
      expect(await s.retention.getPolicy(pruned)).toMatchObject({ auditLogDays: 10 });
      await s.retention.setPolicy(kept, { auditLogDays: null }, s.clock.now);
      for (const tenant of [kept, pruned]) await runtime(tenant, 'r1', 2, { shard, finish: true });
      await publishAll(s.store, shard);
      await drain(() => s.retention.removeFinishedRuntimes(s.clock.now, 10, 'delete', s.clock.now));
      await drain(() => s.retention.pruneAuditLogs(s.clock.now, 10));
      expect(await s.read.runtimeLog(pruned, 'r1')).toHaveLength(2); // not 10 days yet
      s.clock.now += 11 * DAY_MS;
      const audit = await drain(() => s.retention.pruneAuditLogs(s.clock.now, 10));
      expect(audit.runtime_log).toBeGreaterThanOrEqual(2);
      expect(await s.read.runtimeLog(pruned, 'r1')).toEqual([]);
      expect(await s.read.runtimeLog(kept, 'r1')).toHaveLength(2);
    });
  });
}
