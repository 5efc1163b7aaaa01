import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimerService, type TimerDelivery } from '../../../src/actors/timers/timer-service.ts';
import { MySqlRuntimeStore } from '../../../src/store/mysql/runtime-store.ts';
import { MySqlTransitionWriter } from '../../../src/store/mysql/transition-writer.ts';
import type { DueTimer } from '../../../src/store/ports.ts';
import { useTestDatabase, type TestDatabase } from '../../harness/mysql.ts';
import { waitFor } from '../../harness/wait.ts';
import { commitOk, step, T0, uniqueShard, uniqueTenant } from '../../store/fixtures.ts';

let db: TestDatabase;
let writer: MySqlTransitionWriter;
beforeAll(async () => {
  db = await useTestDatabase('timer_service');
  writer = new MySqlTransitionWriter(db.pool);
});
afterAll(async () => {
  await writer?.close();
  await db?.drop();
});

const clock = {
  t: T0,
  now(): number {
    return this.t;
  },
};

async function timerRows(pool: mysql.Pool, tenant: string): Promise<{ id: string; due_at: number }[]> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>('SELECT id, due_at FROM timers WHERE tenant = ? ORDER BY id', [
    tenant,
  ]);
  return rows.map((r) => ({ id: String(r.id), due_at: Number(r.due_at) }));
}

describe('timer service on MySQL', () => {
  it('timer service - a timer due while its node is dead fires on the new owner', async () => {
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    await commitOk(
      writer,
      step({ tenant, id: 'r1', shard, timersSet: [{ id: 'r1:0:sla', kind: 'sla_due', dueAt: T0 + 60_000, stage: 0 }] }),
    );

    // The old owner polls while the timer is not due yet, then dies.
    clock.t = T0;
    let oldPolls = 0;
    const oldStore = new MySqlRuntimeStore(db.pool);
    const oldDelivered: DueTimer[] = [];
    const old = new TimerService({
      store: {
        dueTimers: (...a) => (oldPolls++, oldStore.dueTimers(...a)),
        deleteTimer: (t, id) => oldStore.deleteTimer(t, id),
      },
      deliver: async (t) => (oldDelivered.push(t), 'fired'),
      clock,
      pollMs: 5,
    });
    old.openShard(shard);
    await waitFor(() => oldPolls >= 2, { what: 'the old owner polling' });
    await old.stop();
    expect(oldDelivered).toEqual([]);

    // Time passes with nobody holding the shard; a new node takes it over with its own store and service.
    clock.t = T0 + 3_600_000;
    const delivered: DueTimer[] = [];
    const fresh = new TimerService({
      store: new MySqlRuntimeStore(db.pool),
      deliver: async (t) => (delivered.push(t), 'fired'),
      clock,
      pollMs: 5,
    });
    try {
      fresh.openShard(shard);
      await waitFor(async () => (await timerRows(db.pool, tenant)).length === 0, {
        what: 'the timer fired and deleted',
      });
    } finally {
      await fresh.stop();
    }
    expect(delivered).toEqual([
      { id: 'r1:0:sla', tenant, runtimeId: 'r1', kind: 'sla_due', stage: 0, dueAt: T0 + 60_000 },
    ]);
  });

  it('timer service - a reminder re-armed by its own step survives the delete (MySQL upsert by id)', async () => {
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    await commitOk(
      writer,
      step({
        tenant,
        id: 'r1',
        shard,
        timersSet: [{ id: 'r1:0:remind', kind: 'reminder', dueAt: T0 + 60_000, stage: 0 }],
      }),
    );
    clock.t = T0 + 120_000;
    let steps = 0;
    const deliver = async (t: DueTimer): Promise<TimerDelivery> => {
      steps += 1;
      await commitOk(
        writer,
        step({ tenant, id: 'r1', shard, baseRevision: 1, timersSet: [{ ...t, dueAt: clock.t + 3_600_000 }] }),
      );
      return 'fired';
    };
    const svc = new TimerService({ store: new MySqlRuntimeStore(db.pool), deliver, clock, pollMs: 5 });
    try {
      svc.openShard(shard);
      await waitFor(() => steps === 1, { what: 'the reminder step' });
      await svc.closeShard(shard); // waits for the delivery (and the delete decision) in flight
    } finally {
      await svc.stop();
    }
    expect(await timerRows(db.pool, tenant)).toEqual([{ id: 'r1:0:remind', due_at: T0 + 120_000 + 3_600_000 }]);
  });
});
