import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { diffState } from '../../../src/engine/index.ts';
import { MemoryLeaseCluster, MemoryLeaseManager } from '../../../src/actors/leases/index.ts';
import { RetentionJob, registerRetentionMetrics } from '../../../src/actors/retention/index.ts';
import { MemoryStore } from '../../../src/store/memory/memory-store.ts';
import { DAY_MS, type RetentionStore } from '../../../src/store/retention-ports.ts';
import type { TransitionRecord } from '../../../src/store/ports.ts';
import { step, T0 } from '../../store/fixtures.ts';
import { TestClock } from '../runtime-host/runtime-host-fixture.ts';
import { waitFor } from '../../harness/wait.ts';

const SHARD = 5;

/** An in-process store with `n` runtimes of three steps each, all published, the first `finished` of them completed. */
async function seeded(clock: TestClock, n: number, finished = 0): Promise<MemoryStore> {
  const store = new MemoryStore({ now: () => clock.now() });
  for (let i = 0; i < n; i++) {
    let before: TransitionRecord | undefined;
    for (let base = 0; base < 3; base++) {
      const r = step({
        tenant: 't1',
        id: `r${i}`,
        shard: SHARD,
        baseRevision: base,
        at: clock.now(),
        idempotency: { key: `r${i}-k${base}` },
        ...(base === 2 && i < finished ? { status: 'completed' as const } : {}),
      });
      const record = before ? { ...r, change: diffState(before.state, r.state) } : r;
      expect(await store.commit(record)).toMatchObject({ ok: true });
      before = record;
    }
  }
  const events = await store.unpublishedEvents(SHARD, 10_000);
  await store.markPublished([{ shard: SHARD, position: Math.max(...events.map((e) => e.position)) }]);
  return store;
}

/** `base` with some of its methods replaced. */
function patched(base: RetentionStore, patch: Partial<RetentionStore>): RetentionStore {
  return {
    forgetIdempotencyKeys: (before, limit) => base.forgetIdempotencyKeys(before, limit),
    prunePublishedOutbox: (before, limit) => base.prunePublishedOutbox(before, limit),
    compactSteps: (before, limit, mode, now) => base.compactSteps(before, limit, mode, now),
    removeFinishedRuntimes: (before, limit, mode, now) => base.removeFinishedRuntimes(before, limit, mode, now),
    pruneAuditLogs: (now, limit) => base.pruneAuditLogs(now, limit),
    getPolicy: (tenant) => base.getPolicy(tenant),
    setPolicy: (tenant, policy, now) => base.setPolicy(tenant, policy, now),
    ...patch,
  };
}

/** A lease manager that holds every shard (the embedded mode's). */
async function holdingLeases(clock: TestClock): Promise<MemoryLeaseManager> {
  const leases = new MemoryLeaseManager({ shardCount: 4, clock });
  await leases.start({ drain: async () => undefined });
  return leases;
}

describe('retention job', () => {
  it('retention job - on the lease holder, with a fake clock: prunes what is past each cut, counts rows per table, records its success', async () => {
    const clock = new TestClock(T0);
    const store = await seeded(clock, 4, 2);
    const registry = new Registry();
    const job = new RetentionJob({
      store: store.retention,
      leases: await holdingLeases(clock),
      clock,
      metrics: registerRetentionMetrics(registry),
      idempotencyDays: 7,
      eventsDays: 30,
      finishedDays: 90,
      mode: 'delete',
      batchSize: 2,
      intervalMs: 0,
    });
    expect(await job.runOnce()).toEqual({ result: 'done', rows: {} }); // nothing is old yet
    clock.advance(8 * DAY_MS);
    expect(await job.runOnce()).toEqual({ result: 'done', rows: { 'runtime_steps.idem_key': 12 } });
    expect(await store.findIdempotency('t1', 'r3-k2')).toBeUndefined();
    clock.advance(30 * DAY_MS);
    const compacted = await job.runOnce();
    expect(compacted.rows).toEqual({ runtime_steps: 8 }); // two steps below each runtime's base
    clock.advance(60 * DAY_MS);
    const removed = await job.runOnce();
    expect(removed).toEqual({ result: 'done', rows: { runtimes: 2, runtime_steps: 2 } });
    expect(await store.loadRuntime('t1', 'r0')).toBeUndefined();
    expect((await store.loadRuntime('t1', 'r3'))?.revision).toBe(3);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/bflow_retention_rows_total\{table="runtime_steps"\} 10/);
    expect(metrics).toMatch(/bflow_retention_rows_total\{table="runtime_steps.idem_key"\} 12/);
    expect(metrics).toMatch(/bflow_retention_rows_total\{table="runtimes"\} 2/);
    expect(metrics).toMatch(/bflow_retention_runs_total\{result="done"\} 4/);
    expect(metrics).toMatch(new RegExp(`bflow_retention_last_success_timestamp_seconds ${clock.now() / 1000}`));
    expect(metrics).toMatch(/bflow_retention_run_duration_seconds_count 4/);
  });

  it('retention job - one node of a cluster runs it: the holder of shard 0; the other skips', async () => {
    const clock = new TestClock(T0);
    const store = await seeded(clock, 1);
    clock.advance(400 * DAY_MS);
    const cluster = new MemoryLeaseCluster();
    const holder = new MemoryLeaseManager({ nodeId: 'a', shardCount: 4, clock, cluster });
    await holder.start({ drain: async () => undefined });
    const other = new MemoryLeaseManager({ nodeId: 'b', shardCount: 4, clock, cluster });
    await other.start({ drain: async () => undefined });
    const job = (leases: MemoryLeaseManager) =>
      new RetentionJob({ store: store.retention, leases, clock, intervalMs: 0, mode: 'delete' });
    expect(holder.holds(0)).toBe(true);
    expect(await job(other).runOnce()).toEqual({ result: 'skipped', rows: {} });
    expect(await store.findIdempotency('t1', 'r0-k0')).toBeDefined();
    expect((await job(holder).runOnce()).result).toBe('done');
    expect(await store.findIdempotency('t1', 'r0-k0')).toBeUndefined();
  });

  it('retention job - bounded: it stops between batches once the lease is lost or its time budget is spent (partial, not a success)', async () => {
    const clock = new TestClock(T0);
    const store = await seeded(clock, 10);
    clock.advance(400 * DAY_MS);
    let batches = 0;
    let holds = true;
    const counting = patched(store.retention, {
      forgetIdempotencyKeys: async (before, limit) => {
        batches += 1;
        if (batches === 3) holds = false;
        return store.retention.forgetIdempotencyKeys(before, limit);
      },
    });
    const registry = new Registry();
    const metrics = registerRetentionMetrics(registry);
    const leases = { holds: () => holds };
    const run = await new RetentionJob({
      store: counting,
      leases,
      clock,
      batchSize: 1,
      intervalMs: 0,
      metrics,
    }).runOnce();
    expect(run.result).toBe('partial');
    expect(batches).toBe(3);
    expect(run.rows).toEqual({ 'runtime_steps.idem_key': 3 });

    const slow = patched(store.retention, {
      forgetIdempotencyKeys: async (before, limit) => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        return store.retention.forgetIdempotencyKeys(before, limit);
      },
    });
    const timed = new RetentionJob({
      store: slow,
      leases: { holds: () => true },
      clock,
      batchSize: 1,
      intervalMs: 0,
      runTimeoutMs: 50,
      metrics,
    });
    const partial = await timed.runOnce();
    expect(partial.result).toBe('partial');
    expect(partial.rows['runtime_steps.idem_key']).toBeLessThanOrEqual(3);
    expect(await registry.metrics()).toMatch(/bflow_retention_runs_total\{result="partial"\} 2/);
    expect(await registry.metrics()).not.toMatch(/bflow_retention_last_success_timestamp_seconds [1-9]/);
  });

  it('retention job - 0 days keeps that kind for ever; a failing store fails the run (counted) and the next run goes on', async () => {
    const clock = new TestClock(T0);
    const store = await seeded(clock, 2, 2);
    clock.advance(1000 * DAY_MS);
    const registry = new Registry();
    const metrics = registerRetentionMetrics(registry);
    const keepAll = new RetentionJob({
      store: store.retention,
      leases: { holds: () => true },
      clock,
      idempotencyDays: 0,
      eventsDays: 0,
      finishedDays: 0,
      intervalMs: 0,
      metrics,
    });
    expect(await keepAll.runOnce()).toEqual({ result: 'done', rows: {} });
    let fail = true;
    const flaky = patched(store.retention, {
      forgetIdempotencyKeys: async (before, limit) => {
        if (fail) throw new Error('MySQL unavailable');
        return store.retention.forgetIdempotencyKeys(before, limit);
      },
    });
    const job = new RetentionJob({ store: flaky, leases: { holds: () => true }, clock, intervalMs: 0, metrics });
    await expect(job.runOnce()).rejects.toThrow('MySQL unavailable');
    fail = false;
    expect((await job.runOnce()).result).toBe('done');
    expect(await registry.metrics()).toMatch(/bflow_retention_runs_total\{result="failed"\} 1/);
  });
});

describe('retention job - timer', () => {
  it('retention job - start runs it every interval until stop', async () => {
    const clock = new TestClock(T0);
    const store = await seeded(clock, 1);
    let runs = 0;
    const counting = patched(store.retention, {
      pruneAuditLogs: async (now, limit) => {
        runs += 1;
        return store.retention.pruneAuditLogs(now, limit);
      },
    });
    const job = new RetentionJob({ store: counting, leases: { holds: () => true }, clock, intervalMs: 20 });
    job.start();
    job.start(); // once
    await waitFor(() => runs >= 3, { what: 'three runs' });
    await job.stop();
    const stopped = runs;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(runs).toBe(stopped);
  });
});
