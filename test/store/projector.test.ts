import type mysql from 'mysql2/promise';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { diffState, type RuntimeState } from '../../src/engine/index.ts';
import { createMySqlPool } from '../../src/store/mysql/pool.ts';
import { MySqlReadModel } from '../../src/store/mysql/read-model.ts';
import { mysqlStatementCounts } from '../../src/store/mysql/statement-metrics.ts';
import { isUnavailable } from '../../src/store/mysql/sql.ts';
import { MySqlRuntimeStore } from '../../src/store/mysql/runtime-store.ts';
import { MySqlTransitionWriter } from '../../src/store/mysql/transition-writer.ts';
import { registerTransitionWriterMetrics } from '../../src/store/mysql/writer-metrics.ts';
import type { TransitionRecord } from '../../src/store/ports.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';
import { waitFor } from '../harness/wait.ts';
import { step, T0, uniqueShard, uniqueTenant } from './fixtures.ts';

// The log-first commit with projections after it (projectionDelayMs > 0): what a batch writes, what the
// projector writes later, coalesced, and a new owner projecting what a dead one committed but never projected.

let db: TestDatabase | undefined;
const writers: MySqlTransitionWriter[] = [];
beforeAll(async () => {
  db = await useTestDatabase('projector');
});
afterAll(async () => {
  await Promise.all(writers.map((w) => w.close()));
  await db?.drop();
});

const pool = (): mysql.Pool => db!.pool;
const rows = async (sql: string, values: unknown[] = []) => (await pool().query<mysql.RowDataPacket[]>(sql, values))[0];
const writer = (projectionDelayMs: number): MySqlTransitionWriter => {
  const w = new MySqlTransitionWriter(pool(), { projectionDelayMs });
  writers.push(w);
  return w;
};

/** A runtime's steps 1..n, each record carrying its change from the one before. */
function chain(tenant: string, id: string, shard: number, n: number, extra: Partial<TransitionRecord> = {}) {
  const records: TransitionRecord[] = [];
  let prev: RuntimeState | undefined;
  for (let i = 0; i < n; i++) {
    const r = step({ tenant, id, shard, baseRevision: i, assignees: [`emp-${i}`] });
    r.change = prev === undefined ? { init: r.state } : diffState(prev, r.state);
    records.push({ ...r, ...extra });
    prev = r.state;
  }
  return records;
}

/** Makes MySQL refuse every runtime row inserted with an id LIKE `idPattern` (a SIGNAL, not an outage); returns its undo. */
async function refuseRuntimes(db: mysql.Pool, idPattern = 'poison'): Promise<() => Promise<unknown>> {
  await db.query(
    "CREATE TRIGGER refuse_poison BEFORE INSERT ON runtimes FOR EACH ROW IF NEW.id LIKE ? THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused for the test'; END IF",
    [idPattern],
  );
  return () => db.query('DROP TRIGGER refuse_poison');
}

/** Opens a transaction on `locker` holding `shard`'s watermark row (created if missing): projecting the shard waits on it. */
async function lockWatermark(locker: mysql.PoolConnection, shard: number): Promise<void> {
  await locker.query('START TRANSACTION');
  await locker.query(
    'INSERT IGNORE INTO shard_watermarks (shard, published_position, projected_position, updated_at) VALUES (?, 0, 0, 0)',
    [shard],
  );
  await locker.query('SELECT * FROM shard_watermarks WHERE shard = ? FOR UPDATE', [shard]);
}

async function commitAll(w: MySqlTransitionWriter, records: readonly TransitionRecord[]): Promise<void> {
  for (const r of records) expect(await w.commit(r)).toMatchObject({ ok: true });
}

describe('projector (log-first commit, projections after it)', () => {
  it('projector - statements: each commit writes the log only; one window of 4 runtimes × 3 steps is one transaction of 4 writes', async () => {
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    const counting = createMySqlPool(db!.url, { connectionLimit: 2, multipleStatements: true, countStatements: true });
    const w = new MySqlTransitionWriter(counting, { projectionDelayMs: 60_000 });
    const c = mysqlStatementCounts;
    try {
      const chains = ['a', 'b', 'c', 'd'].map((id) => chain(tenant, id, shard, 3));
      const [commits0, writes0] = [c.commits, c.writes];
      for (let i = 0; i < 3; i++) await Promise.all(chains.map((steps) => w.commit(steps[i]!)));
      const commits = c.commits - commits0;
      // Per batch: the runtime_steps insert, plus the first batch's document slots (four starts).
      expect(c.writes - writes0).toBe(commits + 1);
      expect(await rows('SELECT * FROM tasks WHERE tenant = ?', [tenant])).toHaveLength(0);
      expect(await rows('SELECT * FROM runtimes WHERE tenant = ?', [tenant])).toHaveLength(0);
      const [commits1, writes1] = [c.commits, c.writes];
      await w.flush();
      expect(c.commits - commits1).toBe(1);
      // Watermark row ensured, runtimes (4 rows), tasks (the last version of each), watermark advanced: 12 steps,
      // 4 writes (the history is the log's).
      expect(c.writes - writes1).toBe(4);
      expect(await rows('SELECT * FROM tasks WHERE tenant = ?', [tenant])).toHaveLength(12);
      expect(w.projector!.stats).toMatchObject({ transactions: 1, steps: 12, runtimeRows: 4 });
    } finally {
      await w.close();
      await counting.end();
    }
  });

  it('projector - a batch writes the log; the history shows a step at once, the inbox once projected; several steps of one runtime in a window are one runtime row write, one write per task', async () => {
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    const w = writer(60_000); // nothing is projected until flush()
    const records = chain(tenant, 'r1', shard, 5);
    await commitAll(w, records);
    const last = records[4]!.state;

    // Committed: in the log, not yet in the projections. The write side reads it anyway (row + log replay).
    expect(await rows('SELECT revision FROM runtime_steps WHERE tenant = ? ORDER BY revision', [tenant])).toHaveLength(
      5,
    );
    expect(await rows('SELECT * FROM runtimes WHERE tenant = ?', [tenant])).toHaveLength(0);
    expect(await rows('SELECT * FROM runtime_log WHERE tenant = ?', [tenant])).toHaveLength(0);
    const store = new MySqlRuntimeStore(pool());
    expect(await store.loadRuntime(tenant, 'r1')).toEqual(last);
    expect((await store.findActiveRuntime(tenant, 'purchase.order', 'doc-r1'))?.revision).toBe(5);
    // The inbox rows are projections too; the history reads the log's entries.
    const read = new MySqlReadModel(pool());
    expect((await read.inbox(tenant, 'emp-4', 'open', 10)).items).toEqual([]);
    const pending = await read.runtimeLog(tenant, 'r1');
    expect(pending.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);

    const before = { ...w.projector!.stats };
    await w.flush();
    const stats = w.projector!.stats;
    expect(stats.transactions - before.transactions).toBe(1);
    expect(stats.steps - before.steps).toBe(5);
    expect(stats.runtimeRows - before.runtimeRows).toBe(1); // five steps, one runtime row write
    // Each task's last version, named by its step (the runtime row is written in the same transaction).
    expect((await read.inbox(tenant, 'emp-4', 'open', 10)).items).toMatchObject([
      { runtimeId: 'r1', workflowId: last.runtime.workflowId, version: last.runtime.version, node: 'n5' },
    ]);

    expect(await read.getRuntime(tenant, 'r1')).toEqual(last);
    expect(await read.runtimeLog(tenant, 'r1')).toEqual(pending); // the projection holds what the log showed
    expect((await read.inbox(tenant, 'emp-4', 'open', 10)).items.map((i) => i.runtimeId)).toEqual(['r1']);
    const [mark] = await rows('SELECT projected_position FROM shard_watermarks WHERE shard = ?', [shard]);
    const [top] = await rows('SELECT MAX(position) AS p FROM runtime_steps WHERE shard = ?', [shard]);
    expect(Number(mark?.projected_position)).toBe(Number(top?.p));
  });

  it('projector - a node killed between the log commit and the projection: the next owner projects its steps, timers included', async () => {
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    const dead = writer(3_600_000); // commits, and dies before its projector ran
    const due = T0 + 3_600_000;
    const timed = chain(tenant, 'dead-1', shard, 2).map((r, i) =>
      i === 1
        ? {
            ...r,
            effects: {
              ...r.effects,
              timersSet: [{ id: 'dead-1:sla', kind: 'sla_due' as const, stage: 1, dueAt: due }],
            },
          }
        : r,
    );
    await commitAll(dead, timed);
    await commitAll(dead, chain(tenant, 'dead-2', shard, 1));
    const store = new MySqlRuntimeStore(pool());
    expect(await store.dueTimers(shard, due, 10)).toEqual([]); // the SLA timer is not projected yet

    // The new owner catches the shard up before serving its timers.
    const owner = writer(60_000);
    await owner.catchUp(shard);
    expect(owner.projector!.stats.caughtUp).toBe(3);
    expect((await store.dueTimers(shard, due, 10)).map((t) => [t.runtimeId, t.id])).toEqual([['dead-1', 'dead-1:sla']]);
    const read = new MySqlReadModel(pool());
    expect(await read.getRuntime(tenant, 'dead-1')).toEqual(timed[1]!.state);
    expect((await read.runtimeLog(tenant, 'dead-1')).map((e) => e.seq)).toEqual([1, 2]);
    expect((await read.getRuntime(tenant, 'dead-2'))?.revision).toBe(1);

    // Its own next step projects after them; nothing is projected twice.
    const next = step({ tenant, id: 'dead-1', shard, baseRevision: 2 });
    next.change = diffState(timed[1]!.state, next.state);
    await commitAll(owner, [next]);
    await owner.flush();
    expect(owner.projector!.stats.steps).toBe(4);
    expect((await read.runtimeLog(tenant, 'dead-1')).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it("projector - without a catch-up, a new owner's first projection of a shard projects the steps before its own first", async () => {
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    const dead = writer(3_600_000);
    await commitAll(dead, chain(tenant, 'left', shard, 2));
    const owner = writer(60_000);
    await commitAll(owner, chain(tenant, 'mine', shard, 1));
    await owner.flush();
    expect(owner.projector!.stats).toMatchObject({ steps: 3, caughtUp: 2, runtimeRows: 2 });
    const read = new MySqlReadModel(pool());
    expect((await read.getRuntime(tenant, 'left'))?.revision).toBe(2);
    expect((await read.getRuntime(tenant, 'mine'))?.revision).toBe(1);
  });

  it('projector - a step committed between two of its own but never handed to it (its answer lost, e.g. MySQL stopped at COMMIT) is projected with them, over the own state before it', async () => {
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    const owner = writer(60_000);
    // `lost` stands for the owner's commit whose answer never came back: committed, never queued for projection.
    const lost = writer(3_600_000);
    const [s1, s2, s3] = chain(tenant, 'gap', shard, 3) as [TransitionRecord, TransitionRecord, TransitionRecord];
    await commitAll(owner, [s1]);
    await commitAll(lost, [s2, ...chain(tenant, 'gap-other', shard, 1)]);
    await commitAll(owner, [s3]);
    await owner.flush();
    expect(owner.projector!.stats).toMatchObject({ steps: 4, caughtUp: 2 });
    const read = new MySqlReadModel(pool());
    expect(await read.getRuntime(tenant, 'gap')).toEqual(s3.state);
    expect((await read.runtimeLog(tenant, 'gap')).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect((await read.getRuntime(tenant, 'gap-other'))?.revision).toBe(1);
    const [mark] = await rows('SELECT projected_position FROM shard_watermarks WHERE shard = ?', [shard]);
    const [top] = await rows('SELECT MAX(position) AS p FROM runtime_steps WHERE shard = ?', [shard]);
    expect(Number(mark?.projected_position)).toBe(Number(top?.p));
  });

  it('projector - a backlog beyond projectionBacklog makes the next batch wait for the projection, which runs at once (memory and lag stay bounded)', async () => {
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    const w = new MySqlTransitionWriter(pool(), { projectionDelayMs: 60_000, projectionBacklog: 3 });
    writers.push(w);
    const records = chain(tenant, 'bk', shard, 6);
    await commitAll(w, records.slice(0, 4)); // 4 steps waiting: one above the bound
    expect(w.projector!.stats.steps).toBe(0);
    expect(await rows('SELECT * FROM runtimes WHERE tenant = ?', [tenant])).toHaveLength(0);
    // The fifth commit waits for them to be projected, 60 s before their window ends.
    expect(await w.commit(records[4]!)).toMatchObject({ ok: true });
    expect(w.projector!.stats.steps).toBe(4);
    expect(await rows('SELECT revision FROM runtimes WHERE tenant = ?', [tenant])).toEqual([{ revision: 4 }]);
    expect(await w.commit(records[5]!)).toMatchObject({ ok: true }); // 2 waiting: no wait
    expect(w.projector!.stats.steps).toBe(4);
    await w.flush();
    expect(await rows('SELECT revision FROM runtimes WHERE tenant = ?', [tenant])).toEqual([{ revision: 6 }]);
  });

  it('projector - the document slot is claimed and released in the commit, ahead of the projections', async () => {
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    const w = writer(60_000);
    await commitAll(w, chain(tenant, 'a', shard, 1));
    expect(await w.commit(step({ tenant, id: 'b', docId: 'doc-a', shard }))).toMatchObject({
      ok: false,
      code: 'duplicate_runtime',
    });
    const done = step({ tenant, id: 'a', docId: 'doc-a', shard, baseRevision: 1, status: 'approved' });
    await commitAll(w, [done]);
    await commitAll(w, [step({ tenant, id: 'b', docId: 'doc-a', shard })]);
    await w.flush();
    const read = new MySqlReadModel(pool());
    expect((await read.getRuntime(tenant, 'a'))?.status).toBe('approved');
    expect((await read.getRuntime(tenant, 'b'))?.revision).toBe(1);
  });

  it("projector - a document's next runtime, on another shard, is projected even before its previous runtime's finish is", async () => {
    const tenant = uniqueTenant();
    const [s1, s2] = [uniqueShard(), uniqueShard()];
    // Two nodes: each writer owns one of the shards and projects it on its own.
    const [w1, w2] = [writer(60_000), writer(60_000)];
    await commitAll(w1, chain(tenant, 'a', s1, 1));
    await w1.flush();
    await commitAll(w1, [step({ tenant, id: 'a', docId: 'doc-a', shard: s1, baseRevision: 1, status: 'approved' })]);
    await commitAll(w2, [step({ tenant, id: 'b', docId: 'doc-a', shard: s2 })]);
    await w2.flush();
    const read = new MySqlReadModel(pool());
    expect((await read.getRuntime(tenant, 'b'))?.status).toBe('in_progress');
    expect((await read.getRuntime(tenant, 'a'))?.status).toBe('in_progress'); // its finish not projected yet
    await w1.flush();
    expect((await read.getRuntime(tenant, 'a'))?.status).toBe('approved');
  });

  it('projector - a step that reopens a finished runtime claims its document in the commit, before any projection', async () => {
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    const w = writer(60_000);
    await commitAll(w, chain(tenant, 'a', shard, 1));
    await commitAll(w, [step({ tenant, id: 'a', docId: 'doc-a', shard, baseRevision: 1, status: 'approved' })]);
    await commitAll(w, [step({ tenant, id: 'b', docId: 'doc-a', shard })]);
    const reopen = { ...step({ tenant, id: 'a', docId: 'doc-a', shard, baseRevision: 2 }), reopens: true };
    expect(await w.commit(reopen)).toMatchObject({ ok: false, code: 'duplicate_runtime' });
    await commitAll(w, [step({ tenant, id: 'b', docId: 'doc-a', shard, baseRevision: 1, status: 'rejected' })]);
    expect(await w.commit(reopen)).toMatchObject({ ok: true });
    expect(await rows('SELECT runtime_id FROM active_documents WHERE tenant = ?', [tenant])).toEqual([
      { runtime_id: 'a' },
    ]);
    await w.flush();
    const read = new MySqlReadModel(pool());
    expect((await read.getRuntime(tenant, 'a'))?.status).toBe('in_progress');
    expect((await read.getRuntime(tenant, 'b'))?.status).toBe('rejected');
  });

  it('projector - a task opened and closed within one window is one write of its last version; the inbox shows it once projected', async () => {
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    const w = writer(60_000);
    const [opened, closing] = chain(tenant, 'r1', shard, 2);
    // The second step closes the first one's task (emp-0) and opens its own (emp-1).
    closing!.effects.tasks.push({
      stage: 0,
      node: 'n1',
      assignee: 'emp-0',
      status: 'done',
      action: 'approve',
      assignedAt: T0,
      closedAt: T0 + 2000,
    });
    await commitAll(w, [opened!, closing!]);
    const read = new MySqlReadModel(pool());
    expect((await read.inbox(tenant, 'emp-0', 'open', 10)).items).toEqual([]);
    await w.flush();
    expect(
      await rows('SELECT assignee, status, action FROM tasks WHERE tenant = ? ORDER BY assignee', [tenant]),
    ).toEqual([
      { assignee: 'emp-0', status: 'done', action: 'approve' },
      { assignee: 'emp-1', status: 'open', action: null },
    ]);
    expect((await read.inbox(tenant, 'emp-0', 'done', 10)).items).toMatchObject([{ runtimeId: 'r1', stage: 0 }]);
    expect((await read.inbox(tenant, 'emp-1', 'open', 10)).items).toMatchObject([{ runtimeId: 'r1', stage: 1 }]);
  });

  it('projector - a step queued while a projection runs waits out the rest of its own window, not a new one', async () => {
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    const w = writer(60_000);
    await commitAll(w, chain(tenant, 'first', shard, 1));
    // The projection of the first step waits on the shard's watermark row, held here.
    const locker = await pool().getConnection();
    try {
      await lockWatermark(locker, shard);
      const flushed = w.flush();
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        await commitAll(w, chain(tenant, 'second', shard, 1)); // queued behind the projection in flight
        vi.setSystemTime(Date.now() + 61_000); // its 60 s window is over while the projection still waits
        await locker.query('COMMIT');
        await flushed;
        await new Promise((resolve) => setImmediate(resolve)); // the run's end has armed the next one
      } finally {
        vi.useRealTimers();
      }
    } finally {
      locker.release();
    }
    // Projected right after the first projection, not 60 s later.
    await waitFor(async () => (await rows('SELECT id FROM runtimes WHERE tenant = ?', [tenant])).length === 2, {
      what: 'the second step projected',
    });
  });

  it('projector - a batch that timed out inside the server (held by a lock) is settled, its connection gone, before the next batch; the shard is projected up to its last step', async () => {
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    const settled: number[][] = [];
    const w = new MySqlTransitionWriter(pool(), {
      projectionDelayMs: 50,
      queryTimeoutMs: 400,
      onUncertainSettled: (shards) => settled.push([...shards]),
    });
    writers.push(w);
    const [s1] = chain(tenant, 'late', shard, 1) as [TransitionRecord];
    // Another transaction holds the document slot s1 claims: the batch's query waits inside the server, before its COMMIT.
    const locker = await pool().getConnection();
    try {
      await locker.query('START TRANSACTION');
      await locker.query(
        "INSERT INTO active_documents (tenant, app, doc_id, runtime_id) VALUES (?, 'purchase.order', 'doc-late', 'late')",
        [tenant],
      );
      expect(await w.commit(s1)).toMatchObject({ ok: false, code: 'store_unavailable' });
      // Let go: the server may run the rest of the query, COMMIT included, for a client that gave up on it (a
      // frozen server does: chaos mysql-freeze), or notice the client is gone and roll back (MariaDB, here).
      await locker.query('ROLLBACK');
    } finally {
      locker.release();
    }
    await waitFor(() => settled.length > 0, { what: 'the uncertain batch settled' });
    expect(settled).toEqual([[shard]]);
    // Whether it committed or was killed first, the log and the projections agree once the projector ran.
    await waitFor(
      async () => {
        const [mark] = await rows('SELECT projected_position FROM shard_watermarks WHERE shard = ?', [shard]);
        const [top] = await rows('SELECT MAX(position) AS p FROM runtime_steps WHERE shard = ?', [shard]);
        return top?.p === null || Number(mark?.projected_position) === Number(top?.p);
      },
      { what: 'the shard projected up to its last step' },
    );
    const steps = await rows('SELECT revision FROM runtime_steps WHERE tenant = ?', [tenant]);
    const read = new MySqlReadModel(pool());
    expect((await read.getRuntime(tenant, 'late'))?.revision).toBe(steps.length === 1 ? 1 : undefined);
    // The next batch on the shard commits after the settle, with a higher position.
    const next = chain(tenant, 'after', shard, 1);
    await commitAll(w, next);
  });

  it("projector - metrics: projections by result, the oldest step's wait from its commit, the backlog back to 0 once projected", async () => {
    const own = await useTestDatabase('projector_metrics');
    const registry = new Registry();
    const w = new MySqlTransitionWriter(own.pool, {
      projectionDelayMs: 60_000,
      metrics: registerTransitionWriterMetrics(registry),
      onProjectionError: () => undefined,
    });
    const text = () => registry.metrics();
    try {
      await commitAll(w, chain('t-metrics', 'r1', 1, 2));
      expect(await text()).toContain('bflow_store_writer_projection_backlog_steps 2');
      expect(await text()).toContain('bflow_store_writer_projections_total{result="failed"} 0');
      await w.flush();
      expect(await text()).toContain('bflow_store_writer_projections_total{result="ok"} 1');
      expect(await text()).toContain('bflow_store_writer_projection_lag_seconds_count 1');
      expect(await text()).toContain('bflow_store_writer_projection_backlog_steps 0');
      await own.pool.query('RENAME TABLE runtimes TO runtimes_away'); // the next projection fails, and is retried
      await commitAll(w, chain('t-metrics', 'r2', 1, 1));
      const flushed = w.flush();
      await waitFor(async () => (await text()).includes('bflow_store_writer_projections_total{result="failed"} 1'), {
        what: 'a failed projection counted',
      });
      expect(await text()).toContain('bflow_store_writer_projection_backlog_steps 1');
      await own.pool.query('RENAME TABLE runtimes_away TO runtimes');
      await flushed;
      expect(await text()).toContain('bflow_store_writer_projections_total{result="ok"} 2');
      expect(await text()).toContain('bflow_store_writer_projection_backlog_steps 0');
    } finally {
      await w.close();
      await own.drop();
    }
  });

  it('projector - a shard whose rows MySQL keeps refusing holds back only its own steps: after two refusals each shard is projected on its own', async () => {
    const own = await useTestDatabase('projector_isolate');
    const errors: unknown[] = [];
    const registry = new Registry();
    const w = new MySqlTransitionWriter(own.pool, {
      projectionDelayMs: 50,
      onProjectionError: (e) => errors.push(e),
      metrics: registerTransitionWriterMetrics(registry),
    });
    const read = new MySqlReadModel(own.pool);
    const [bad, good] = [uniqueShard(), uniqueShard()].sort((a, b) => a - b); // the refused shard goes first
    try {
      const accept = await refuseRuntimes(own.pool);
      await commitAll(w, [...chain('t-iso', 'poison', bad!, 1), ...chain('t-iso', 'fine', good!, 2)]);
      await waitFor(async () => (await read.getRuntime('t-iso', 'fine'))?.revision === 2, {
        what: "the other shard's runtime projected",
      });
      expect(await read.getRuntime('t-iso', 'poison')).toBeUndefined();
      expect(errors.length).toBeGreaterThanOrEqual(2);
      expect(String((errors[0] as Error).message)).toContain('refused for the test');
      // The good shard keeps moving while the bad one fails, at its own pace: the bad shard's retries back off on
      // their own (100 ms doubling), so ten projections of the good shard in a row see few of them (one each
      // with a backoff shared by all shards).
      const refusedBefore = errors.length;
      for (let i = 0; i < 10; i++) {
        await commitAll(w, chain('t-iso', `later-${i}`, good!, 1));
        await waitFor(async () => (await read.getRuntime('t-iso', `later-${i}`)) !== undefined, {
          what: `later step ${i} projected`,
        });
      }
      expect(errors.length - refusedBefore).toBeLessThanOrEqual(7); // 10 with a backoff shared by all shards
      expect(await read.getRuntime('t-iso', 'poison')).toBeUndefined();
      await accept();
      await w.flush();
      expect((await read.getRuntime('t-iso', 'poison'))?.revision).toBe(1);
      expect(w.projector!.stats.steps).toBe(13);
      expect(await registry.metrics()).toContain('bflow_store_writer_projection_backlog_steps 0');
    } finally {
      await w.close();
      await own.drop();
    }
  });

  it("projector - a new owner's catch-up of a shard whose rows MySQL refuses is retried on the shard's own backoff and resolves only once it is projected; held steps past the backlog bound become a catch-up", async () => {
    const own = await useTestDatabase('projector_isolate_catchup');
    const errors: unknown[] = [];
    const registry = new Registry();
    const dead = new MySqlTransitionWriter(own.pool, { projectionDelayMs: 3_600_000 }); // commits, never projects
    const w = new MySqlTransitionWriter(own.pool, {
      projectionDelayMs: 50,
      projectionBacklog: 3,
      onProjectionError: (e) => errors.push(e),
      metrics: registerTransitionWriterMetrics(registry),
    });
    const read = new MySqlReadModel(own.pool);
    const projected = async (id: string) => (await read.getRuntime('t-cu', id)) !== undefined;
    const [bad, good] = [uniqueShard(), uniqueShard()].sort((a, b) => a - b);
    try {
      const accept = await refuseRuntimes(own.pool, 'poison%');
      await commitAll(dead, chain('t-cu', 'poison', bad!, 1));
      let caughtUp = false;
      const catching = w.catchUp(bad!).then(() => (caughtUp = true));
      // Two refusals, then the catch-up alone is held: retried on its own timer, again and again.
      await waitFor(() => errors.length >= 5, { what: 'the held catch-up retried' });
      await commitAll(w, chain('t-cu', 'fine', good!, 1));
      await waitFor(() => projected('fine'), { what: 'the other shard projected meanwhile' });
      // The owner's own steps of the refused shard join its hold, and past the bound (3) it keeps a catch-up instead.
      await commitAll(w, chain('t-cu', 'poison-b', bad!, 4));
      await waitFor(async () => (await registry.metrics()).includes('bflow_store_writer_projection_backlog_steps 0'), {
        what: "the held steps counted out of the backlog, the shard's catch-up holding them",
      });
      expect(caughtUp).toBe(false);
      expect(await projected('poison')).toBe(false);
      await accept();
      await catching; // no flush: the hold timer retries the shard
      expect(await projected('poison')).toBe(true);
      expect((await read.getRuntime('t-cu', 'poison-b'))?.revision).toBe(4);
      expect(w.projector!.stats.steps).toBe(6); // each step once: poison, fine, poison-b 1..4
      expect(w.projector!.stats.caughtUp).toBe(5); // poison-b's steps too, read back from the log
      expect(await registry.metrics()).toContain('bflow_store_writer_projection_backlog_steps 0');
    } finally {
      await w.close();
      await dead.close();
      await own.drop();
    }
  });

  it("projector - a new owner's catch-up of a shard resolves once that shard is projected, while another shard's rows keep being refused", async () => {
    const own = await useTestDatabase('projector_catchup_apart');
    const errors: unknown[] = [];
    const dead = new MySqlTransitionWriter(own.pool, { projectionDelayMs: 3_600_000 }); // commits, never projects
    const w = new MySqlTransitionWriter(own.pool, { projectionDelayMs: 50, onProjectionError: (e) => errors.push(e) });
    const read = new MySqlReadModel(own.pool);
    const [bad, acquired] = [uniqueShard(), uniqueShard()].sort((a, b) => a - b);
    try {
      const accept = await refuseRuntimes(own.pool);
      await commitAll(w, chain('t-apart', 'poison', bad!, 1));
      await waitFor(() => errors.length >= 3, { what: 'the refused shard projected on its own' });
      await commitAll(dead, chain('t-apart', 'inherited', acquired!, 2));
      let caughtUp = false;
      const catching = w.catchUp(acquired!).then(() => (caughtUp = true));
      await waitFor(() => caughtUp, { what: 'the catch-up of the acquired shard' });
      expect((await read.getRuntime('t-apart', 'inherited'))?.revision).toBe(2);
      expect(await read.getRuntime('t-apart', 'poison')).toBeUndefined();
      await catching;
      await accept();
      await w.flush();
      expect((await read.getRuntime('t-apart', 'poison'))?.revision).toBe(1);
    } finally {
      await w.close();
      await dead.close();
      await own.drop();
    }
  });

  it('projector - a catch-up called while a round runs is projected right after it, not a window later', async () => {
    const own = await useTestDatabase('projector_catchup_next');
    const dead = new MySqlTransitionWriter(own.pool, { projectionDelayMs: 3_600_000 }); // commits, never projects
    const w = new MySqlTransitionWriter(own.pool, { projectionDelayMs: 3_600_000, queryTimeoutMs: 10_000 });
    const read = new MySqlReadModel(own.pool);
    const [busy, acquired] = [uniqueShard(), uniqueShard()];
    const locker = await own.pool.getConnection();
    try {
      await lockWatermark(locker, busy!);
      await commitAll(w, chain('t-next', 'busy', busy!, 1));
      const flushing = w.flush(); // a round starts, and waits on the lock
      await commitAll(dead, chain('t-next', 'inherited', acquired!, 1));
      let caughtUp = false;
      const catching = w.catchUp(acquired!).then(() => (caughtUp = true));
      await locker.query('ROLLBACK');
      await flushing;
      await waitFor(() => caughtUp, { what: 'the catch-up projected after the round (not an hour later)' });
      await catching;
      expect((await read.getRuntime('t-next', 'inherited'))?.revision).toBe(1);
    } finally {
      locker.release();
      await w.close();
      await dead.close();
      await own.drop();
    }
  });

  it('projector - a flush projects what MySQL accepts and does not wait on a shard whose rows it keeps refusing (a drain cannot hang on it)', async () => {
    const own = await useTestDatabase('projector_flush_refused');
    const errors: unknown[] = [];
    const w = new MySqlTransitionWriter(own.pool, { projectionDelayMs: 50, onProjectionError: (e) => errors.push(e) });
    const read = new MySqlReadModel(own.pool);
    const [bad, good] = [uniqueShard(), uniqueShard()].sort((a, b) => a - b);
    try {
      const accept = await refuseRuntimes(own.pool);
      await commitAll(w, chain('t-flush', 'poison', bad!, 1));
      await waitFor(() => errors.length >= 3, { what: 'the refused shard held' });
      await commitAll(w, chain('t-flush', 'fine', good!, 1));
      const refused = errors.length;
      await w.flush(); // retries the held shard at once: refused again, held again, and the flush is done
      expect(errors.length).toBeGreaterThan(refused);
      expect((await read.getRuntime('t-flush', 'fine'))?.revision).toBe(1);
      expect(await read.getRuntime('t-flush', 'poison')).toBeUndefined();
      await accept();
      await w.flush();
      expect((await read.getRuntime('t-flush', 'poison'))?.revision).toBe(1);
    } finally {
      await w.close();
      await own.drop();
    }
  });

  it('projector - an outage in the middle of a round of one transaction per shard: the shards before it stay projected, the rest wait for it to end; every step is projected once', async () => {
    const own = await useTestDatabase('projector_isolate_outage');
    const errors: unknown[] = [];
    const w = new MySqlTransitionWriter(own.pool, {
      projectionDelayMs: 50,
      queryTimeoutMs: 300,
      onProjectionError: (e) => errors.push(e),
    });
    const read = new MySqlReadModel(own.pool);
    const projected = async (id: string) => (await read.getRuntime('t-out', id)) !== undefined;
    // In shard order: the refused shard, a healthy one, the one an outage hits, one after it.
    const [bad, good, held, after] = [uniqueShard(), uniqueShard(), uniqueShard(), uniqueShard()].sort((a, b) => a - b);
    const locker = await own.pool.getConnection();
    try {
      const accept = await refuseRuntimes(own.pool);
      await commitAll(w, [...chain('t-out', 'poison', bad!, 1), ...chain('t-out', 'fine', good!, 1)]);
      await waitFor(() => projected('fine'), { what: 'one transaction per shard, after two refusals' });
      // The outage: the held shard's watermark row is locked, so its transaction times out (as a frozen server's would).
      await lockWatermark(locker, held!);
      await commitAll(w, [
        ...chain('t-out', 'fine-2', good!, 1),
        ...chain('t-out', 'held', held!, 2),
        ...chain('t-out', 'after', after!, 1),
      ]);
      await waitFor(() => errors.some((e) => isUnavailable(e)), { what: 'the outage reported' });
      await waitFor(() => projected('fine-2'), { what: 'the shard before the outage projected' });
      expect(await projected('held')).toBe(false);
      expect(await projected('after')).toBe(false); // not tried: the round stopped at the outage
      await locker.query('ROLLBACK');
      // Still one transaction per shard (the bad shard still refuses): the held and the later shard move on.
      await waitFor(async () => (await projected('held')) && (await projected('after')), {
        what: 'the shards after the outage projected once it ended',
      });
      expect(await projected('poison')).toBe(false);
      await accept();
      await w.flush();
      expect((await read.getRuntime('t-out', 'held'))?.revision).toBe(2);
      expect(await projected('poison')).toBe(true);
      expect(w.projector!.stats.steps).toBe(6); // each step once
      const marks = await own.pool.query<mysql.RowDataPacket[]>(
        'SELECT w.shard, w.projected_position AS projected, MAX(s.position) AS top FROM shard_watermarks w JOIN runtime_steps s ON s.shard = w.shard GROUP BY w.shard',
      );
      for (const m of marks[0]) expect(Number(m.projected)).toBe(Number(m.top));
      expect(marks[0]).toHaveLength(4);
    } finally {
      locker.release();
      await w.close();
      await own.drop();
    }
  });

  it('projector - closing gives up a projection MySQL refuses (the next owner projects the log), never hangs', async () => {
    const own = await useTestDatabase('projector_close');
    const errors: unknown[] = [];
    const w = new MySqlTransitionWriter(own.pool, {
      projectionDelayMs: 60_000,
      onProjectionError: (e) => errors.push(e),
    });
    try {
      await commitAll(w, chain('t-close', 'r1', 1, 2));
      await own.pool.query('DROP TABLE runtimes'); // every projection of these steps now fails
      await w.close();
      expect(errors.length).toBeGreaterThan(0);
      expect(w.projector!.stats.transactions).toBe(0);
      const [count] = await own.pool.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM runtime_steps');
      expect(Number(count[0]?.n)).toBe(2); // the log keeps them for the next owner
    } finally {
      await own.drop();
    }
  });
});
