import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  registerTimerMetrics,
  TimerService,
  type TimerDelivery,
  type TimerServiceOptions,
} from '../../../src/actors/timers/timer-service.ts';
import type { TimerSet } from '../../../src/engine/index.ts';
import { MemoryStore } from '../../../src/store/memory/memory-store.ts';
import type { DueTimer } from '../../../src/store/ports.ts';
import { waitFor } from '../../harness/wait.ts';
import { commitOk, step, T0, uniqueShard, uniqueTenant } from '../../store/fixtures.ts';

const clock = {
  t: T0,
  now(): number {
    return this.t;
  },
};
const services: TimerService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.stop()));
  clock.t = T0;
});

/** The store, counting polls so a test can wait for "a few more polls happened". */
function counting(store: MemoryStore) {
  const s = {
    polls: 0,
    perShard: new Map<number, number>(),
    dueTimers: (shard: number, now: number, limit: number) => {
      s.polls += 1;
      s.perShard.set(shard, (s.perShard.get(shard) ?? 0) + 1);
      return store.dueTimers(shard, now, limit);
    },
    deleteTimer: (tenant: string, id: string, dueAt?: number) => store.deleteTimer(tenant, id, dueAt),
    /** Resolves after `n` more polls. */
    afterPolls: (n: number) => {
      const target = s.polls + n;
      return waitFor(() => s.polls >= target, { what: `${n} more polls` });
    },
  };
  return s;
}

function service(o: Partial<TimerServiceOptions> & Pick<TimerServiceOptions, 'store' | 'deliver'>): TimerService {
  const svc = new TimerService({ clock, pollMs: 5, backoffMinMs: 5, backoffMaxMs: 20, ...o });
  services.push(svc);
  return svc;
}

const timer = (id: string, dueAt: number, kind: TimerSet['kind'] = 'sla_due', stage = 0): TimerSet => ({
  id,
  kind,
  dueAt,
  stage,
});

async function setTimers(
  store: MemoryStore,
  tenant: string,
  shard: number,
  runtimeId: string,
  timers: TimerSet[],
): Promise<void> {
  await commitOk(store, step({ tenant, id: runtimeId, shard, timersSet: timers }));
}

const remaining = async (store: MemoryStore, shard: number) =>
  (await store.dueTimers(shard, Number.MAX_SAFE_INTEGER, 500)).map((t) => t.id).sort();

describe('timer service', () => {
  it('timer service - due timers are delivered once, deleted, and the lag is measured', async () => {
    const store = new MemoryStore();
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    clock.t = T0 + 100_000;
    await setTimers(store, tenant, shard, 'r1', [
      timer('r1:0:sla', T0 + 10_000),
      timer('r1:0:remind', T0 + 200_000, 'reminder'),
    ]);
    await setTimers(store, tenant, shard, 'r2', [timer('r2:0:sla', T0 + 40_000)]);
    const delivered: string[] = [];
    const registry = new Registry();
    const s = counting(store);
    const svc = service({
      store: s,
      deliver: async (t) => (delivered.push(t.id), 'fired'),
      metrics: registerTimerMetrics(registry),
    });
    svc.openShard(shard);
    await waitFor(() => delivered.length === 2, { what: 'two deliveries' });
    await s.afterPolls(3);
    expect(delivered).toEqual(['r1:0:sla', 'r2:0:sla']);
    expect(await remaining(store, shard)).toEqual(['r1:0:remind']);
    const text = await registry.metrics();
    expect(text).toContain('bflow_timer_lag_seconds_sum 150'); // 90 s + 60 s late
    expect(text).toContain('bflow_timer_lag_seconds_count 2');
  });

  it('timer service - a future timer is not delivered until the clock reaches it', async () => {
    const store = new MemoryStore();
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    await setTimers(store, tenant, shard, 'r1', [timer('r1:0:sla', T0 + 60_000)]);
    const delivered: DueTimer[] = [];
    const s = counting(store);
    const svc = service({ store: s, deliver: async (t) => (delivered.push(t), 'fired') });
    svc.openShard(shard);
    await s.afterPolls(3);
    clock.t = T0 + 59_999;
    await s.afterPolls(3);
    expect(delivered).toEqual([]);
    clock.t = T0 + 60_000;
    svc.wake(shard);
    await waitFor(() => delivered.length === 1, { what: 'the delivery' });
    expect(delivered[0]).toEqual({
      id: 'r1:0:sla',
      tenant,
      runtimeId: 'r1',
      kind: 'sla_due',
      stage: 0,
      dueAt: T0 + 60_000,
    });
  });

  it('timer service - a failed (or throwing) delivery stays and is retried; a stale one is deleted; counted by result and kind', async () => {
    const store = new MemoryStore();
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    clock.t = T0 + 100_000;
    await setTimers(store, tenant, shard, 'r1', [timer('r1:0:sla', T0)]);
    await setTimers(store, tenant, shard, 'r2', [timer('r2:0:sla', T0)]);
    await setTimers(store, tenant, shard, 'r3', [timer('r3:0:reminder', T0, 'reminder')]);
    const attempts = new Map<string, number>();
    const deliver = async (t: DueTimer): Promise<TimerDelivery> => {
      const n = (attempts.get(t.id) ?? 0) + 1;
      attempts.set(t.id, n);
      if (t.id === 'r2:0:sla') return 'stale';
      if (t.id === 'r3:0:reminder') return 'fired';
      if (n === 1) return 'failed';
      if (n === 2) throw new Error('host exploded');
      return 'fired';
    };
    const registry = new Registry();
    service({ store, deliver, metrics: registerTimerMetrics(registry) }).openShard(shard);
    await waitFor(async () => (await remaining(store, shard)).length === 0, { what: 'every timer deleted' });
    expect(Object.fromEntries(attempts)).toEqual({ 'r1:0:sla': 3, 'r2:0:sla': 1, 'r3:0:reminder': 1 });
    const counts = (await registry.getSingleMetric('bflow_timer_deliveries_total')!.get()).values;
    expect(Object.fromEntries(counts.map((v) => [`${v.labels.result}/${v.labels.kind}`, v.value]))).toEqual({
      'failed/sla_due': 2,
      'fired/sla_due': 1,
      'stale/sla_due': 1,
      'fired/reminder': 1,
    });
  });

  it('timer service - closing a shard stops it at once, even mid-batch', async () => {
    const store = new MemoryStore();
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    clock.t = T0 + 100_000;
    await setTimers(store, tenant, shard, 'r1', [timer('r1:0:sla', T0 + 1), timer('r1:1:sla', T0 + 2, 'sla_due', 1)]);
    let release: (d: TimerDelivery) => void = () => undefined;
    const delivered: string[] = [];
    const deliver = (t: DueTimer) => (delivered.push(t.id), new Promise<TimerDelivery>((r) => (release = r)));
    const s = counting(store);
    const svc = service({ store: s, deliver, concurrency: 1 });
    svc.openShard(shard);
    await waitFor(() => delivered.length === 1, { what: 'the first delivery' });
    const closed = svc.closeShard(shard);
    release('fired');
    await closed;
    const polls = s.perShard.get(shard);
    await setTimers(store, tenant, shard, 'r2', [timer('r2:0:sla', T0)]);
    const other = uniqueShard();
    svc.openShard(other);
    svc.wake();
    await s.afterPolls(5); // all on the other shard, still open
    expect(s.perShard.get(shard)).toBe(polls);
    expect(s.perShard.get(other)).toBeGreaterThanOrEqual(5);
    expect(delivered).toEqual(['r1:0:sla']);
    expect(await remaining(store, shard)).toEqual(['r1:1:sla', 'r2:0:sla']);
    expect(svc.openShards()).toEqual([other]);
  });

  it('timer service - ownership moved: an old owner hung mid-delivery and two new ones on the shard lose no timer', async () => {
    const store = new MemoryStore();
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    clock.t = T0 + 100_000;
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const id = `r${i}:0:sla`;
      ids.push(id);
      await setTimers(store, tenant, shard, `r${i}`, [timer(id, T0 + i)]);
    }
    // The host: a timer's first delivery fires it, a repeat finds nothing to do (its stage moved on).
    const fired = new Map<string, number>();
    const deliveries: string[] = [];
    const host = async (t: DueTimer): Promise<TimerDelivery> => {
      deliveries.push(t.id);
      await new Promise((r) => setImmediate(r));
      fired.set(t.id, (fired.get(t.id) ?? 0) + 1);
      return fired.get(t.id) === 1 ? 'fired' : 'stale';
    };
    // The old owner hangs on its first delivery (it died mid-flight), the new owner takes over.
    let unhang: (d: TimerDelivery) => void = () => undefined;
    const hung = new Promise<TimerDelivery>((r) => (unhang = r));
    let first = true;
    const old = service({
      store,
      batch: 10,
      concurrency: 1,
      deliver: (t) => (deliveries.push(t.id), first ? ((first = false), hung) : host(t)),
    });
    old.openShard(shard);
    await waitFor(() => deliveries.length === 1, { what: "the old owner's delivery" });
    const a = service({ store, batch: 7, deliver: host });
    const b = service({ store, batch: 5, deliver: host });
    a.openShard(shard);
    b.openShard(shard);
    await waitFor(async () => (await remaining(store, shard)).length === 0, { what: 'every timer deleted' });
    unhang('failed');
    await old.stop();
    expect([...fired.values()].every((n) => n >= 1)).toBe(true);
    expect([...fired.keys()].sort()).toEqual([...ids].sort());
    expect(new Set(deliveries)).toEqual(new Set(ids));
  });

  it('timer service - a fired reminder re-armed under the same id by its step is not deleted', async () => {
    const store = new MemoryStore();
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    clock.t = T0 + 100_000;
    await setTimers(store, tenant, shard, 'r1', [timer('r1:0:remind', T0 + 50_000, 'reminder')]);
    // Like the engine: firing a reminder commits the next one under the same id.
    const deliver = async (t: DueTimer): Promise<TimerDelivery> => {
      await commitOk(
        store,
        step({ tenant, id: 'r1', shard, baseRevision: 1, timersSet: [timer(t.id, clock.t + 3_600_000, 'reminder')] }),
      );
      return 'fired';
    };
    const s = counting(store);
    service({ store: s, deliver }).openShard(shard);
    await waitFor(async () => (await store.loadRuntime(tenant, 'r1'))?.revision === 2, { what: 'the reminder step' });
    await s.afterPolls(3);
    expect(await store.dueTimers(shard, Number.MAX_SAFE_INTEGER, 10)).toEqual([
      { id: 'r1:0:remind', tenant, runtimeId: 'r1', kind: 'reminder', stage: 0, dueAt: T0 + 100_000 + 3_600_000 },
    ]);
  });

  it('timer service - a fired reminder its step did not re-arm is deleted', async () => {
    const store = new MemoryStore();
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    clock.t = T0 + 100_000;
    await setTimers(store, tenant, shard, 'r1', [timer('r1:0:remind', T0 + 50_000, 'reminder')]);
    const delivered: string[] = [];
    service({ store, deliver: async (t) => (delivered.push(t.id), 'fired') }).openShard(shard);
    await waitFor(async () => (await remaining(store, shard)).length === 0, { what: 'the reminder deleted' });
    expect(delivered).toEqual(['r1:0:remind']);
  });

  it('timer service - with a probe, one query per poll finds the shards with due timers and only those are polled', async () => {
    const store = new MemoryStore();
    const tenant = uniqueTenant();
    const shards = Array.from({ length: 6 }, () => uniqueShard());
    const [busy] = shards;
    clock.t = T0 + 100_000;
    const s = counting(store);
    let probes = 0;
    const delivered: string[] = [];
    const svc = service({
      store: {
        ...s,
        shardsWithDueTimers: (open: readonly number[], now: number) => (probes++, store.shardsWithDueTimers(open, now)),
      },
      deliver: async (t) => (delivered.push(t.id), 'fired'),
      idlePollMs: 600_000,
    });
    for (const shard of shards) svc.openShard(shard);
    await waitFor(() => s.polls >= shards.length, { what: 'the first pass of each shard' });
    await waitFor(() => probes >= 3, { what: 'a few probes' });
    expect(s.polls).toBe(shards.length); // nothing due: no shard polled again
    await setTimers(store, tenant, busy!, 'pr1', [timer('pr1:0:sla', T0 + 50_000)]);
    await waitFor(() => delivered.length === 1, { what: 'the due timer fired after a probe' });
    expect(delivered).toEqual(['pr1:0:sla']);
    for (const shard of shards.slice(1)) expect(s.perShard.get(shard)).toBe(1);
  });
});
