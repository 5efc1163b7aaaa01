import type mysql from 'mysql2/promise';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMySqlPool } from '../../src/store/mysql/pool.ts';
import { MySqlReadModel } from '../../src/store/mysql/read-model.ts';
import { readJson } from '../../src/store/mysql/sql.ts';
import { stepEvents, type StepBody } from '../../src/store/step-log.ts';
import { mysqlStatementCounts } from '../../src/store/mysql/statement-metrics.ts';
import { MySqlTransitionWriter, type TransitionWriterOptions } from '../../src/store/mysql/transition-writer.ts';
import { registerTransitionWriterMetrics } from '../../src/store/mysql/writer-metrics.ts';
import { makeRecord } from '../fixtures/transition-records.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';

const pools: mysql.Pool[] = [];
const writers: MySqlTransitionWriter[] = [];

afterAll(async () => {
  await Promise.all(writers.map((w) => w.close().catch(() => undefined)));
  await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
});

// Every case runs on a pool with one statement per query and on a multipleStatements pool (writes in one round trip).
describe.each([
  { mode: 'one statement per query', multipleStatements: false },
  { mode: 'multiple statements per query', multipleStatements: true },
])('transition writer, $mode', ({ multipleStatements }) => {
  let db: TestDatabase;
  let writerPool: mysql.Pool;

  beforeAll(async () => {
    db = await useTestDatabase(multipleStatements ? 'writer_multi' : 'writer');
    writerPool = multipleStatements
      ? createMySqlPool(db.url, { connectionLimit: 4, multipleStatements, countStatements: true })
      : db.pool;
    if (multipleStatements) pools.push(writerPool);
  });
  afterAll(async () => {
    await Promise.all(writers.splice(0).map((w) => w.close().catch(() => undefined)));
    await db?.drop();
  });

  function writer(options: TransitionWriterOptions = {}, pool?: mysql.Pool): MySqlTransitionWriter {
    const w = new MySqlTransitionWriter(pool ?? writerPool, options);
    writers.push(w);
    return w;
  }

  async function rows(sql: string, values: unknown[] = []): Promise<mysql.RowDataPacket[]> {
    const [r] = await db.pool.query<mysql.RowDataPacket[]>(sql, values);
    return r;
  }

  /** A runtime's history as the API reads it (audit-log.ts). */
  const history = (id: string) => new MySqlReadModel(db.pool).runtimeLog('t1', id);

  const revisionOf = async (id: string) =>
    Number((await rows('SELECT revision FROM runtimes WHERE id = ?', [id]))[0]?.revision ?? 0);

  describe('transition writer', () => {
    it('transition writer - commits a new runtime and an update with every row, read back', async () => {
      const w = writer();
      const r1 = makeRecord({ id: 'rb1', idempotencyKey: 'k-rb1' });
      expect(await w.commit(r1)).toMatchObject({ ok: true });
      const r2 = makeRecord({ id: 'rb1', base: 1, status: 'approved', timers: 'cancel' });
      expect(await w.commit(r2)).toMatchObject({ ok: true });

      const [rt] = await rows('SELECT * FROM runtimes WHERE tenant = ? AND id = ?', ['t1', 'rb1']);
      expect(rt).toMatchObject({
        app: 'purchase',
        doc_id: 'doc-rb1',
        status: 'approved',
        current_node: 'n2',
        revision: 2,
        shard: 3,
      });
      expect(rt?.active_doc).toBeNull();
      expect(readJson(rt?.state)).toEqual(r2.state);
      const log = await history('rb1');
      expect(log.map((l) => [l.seq, l.action, l.toNode])).toEqual([
        [1, 'approve', 'n1'],
        [2, 'approve', 'n2'],
      ]);
      expect(log[0]?.changes).toEqual({ amount: [0, 100] });
      expect(
        await rows('SELECT stage, assignee FROM tasks WHERE runtime_id = ? ORDER BY stage, assignee', ['rb1']),
      ).toHaveLength(4);
      // The log: one step row each, the events and the idempotency key on it; no outbox or idempotency_keys row.
      const steps = await rows(
        'SELECT runtime_id, revision, shard, idem_key, events, body FROM runtime_steps WHERE tenant = ? AND runtime_id = ? ORDER BY position',
        ['t1', 'rb1'],
      );
      expect(steps.map((o) => [o.runtime_id, o.revision, o.shard, o.idem_key, o.events])).toEqual([
        ['rb1', 1, 3, 'k-rb1', 2],
        ['rb1', 2, 3, null, 2],
      ]);
      const events = steps.map((o) => stepEvents('t1', 'rb1', readJson<StepBody>(o.body)));
      expect(events.flat().map((e) => e.id)).toEqual(['rb1:1:0', 'rb1:1:1', 'rb1:2:0', 'rb1:2:1']);
      expect(events[1]?.[0]).toEqual(r2.effects.events[0]);
      expect(await rows("SELECT * FROM outbox WHERE runtime_id = 'rb1'")).toHaveLength(0);
      expect(await rows("SELECT * FROM idempotency_keys WHERE idem_key = 'k-rb1'")).toHaveLength(0);
      // The start claimed the document's slot and the approval released it, in their own transactions.
      expect(await rows("SELECT * FROM active_documents WHERE doc_id = 'doc-rb1'")).toHaveLength(0);
      expect(await rows('SELECT * FROM timers WHERE runtime_id = ?', ['rb1'])).toHaveLength(0);
    });

    it('transition writer - two writers on the same base revision: one wins, the loser fails alone', async () => {
      const setup = writer();
      expect(await setup.commit(makeRecord({ id: 'race' }))).toMatchObject({ ok: true });
      const poolB = createMySqlPool(db.url, { connectionLimit: 4, multipleStatements });
      pools.push(poolB);
      const [a, b] = [writer({ maxDelayMs: 20 }), writer({ maxDelayMs: 20 }, poolB)];
      const batch = (w: MySqlTransitionWriter, side: string) =>
        Promise.all([
          w.commit(makeRecord({ id: 'race', base: 1, marker: side })),
          ...[1, 2, 3].map((i) => w.commit(makeRecord({ id: `race-${side}${i}`, marker: side }))),
        ]);
      const [outA, outB] = await Promise.all([batch(a, 'a'), batch(b, 'b')]);
      expect([a.stats.batches, b.stats.batches]).toEqual([1, 1]);
      const raceOutcomes = [outA[0], outB[0]];
      expect(raceOutcomes.filter((o) => o?.ok)).toHaveLength(1);
      expect(raceOutcomes.find((o) => !o?.ok)).toMatchObject({ ok: false, code: 'conflict' });
      for (const o of [...outA.slice(1), ...outB.slice(1)]) expect(o).toMatchObject({ ok: true });
      const winner = outA[0]?.ok ? 'a' : 'b';
      expect((await history('race')).find((l) => l.seq === 2)?.comment).toBe(winner);
      expect(await revisionOf('race')).toBe(2);
      expect(await rows("SELECT id FROM runtimes WHERE id LIKE 'race-%'")).toHaveLength(6);
    });

    it('transition writer - records queued by one synchronous run share a batch, even when a batch is already due', async () => {
      const w = writer({ maxDelayMs: 2 });
      const first = w.commit(makeRecord({ id: 'due-0' }));
      // The event loop is held past maxDelayMs before the timer can fire: the batch is due as the group is queued.
      const until = performance.now() + 10;
      while (performance.now() < until) {
        /* busy */
      }
      const group = Array.from({ length: 10 }, (_, i) => w.commit(makeRecord({ id: `due-${i + 1}` })));
      const outcomes = await Promise.all([first, ...group]);
      expect(outcomes.every((o) => o.ok)).toBe(true);
      expect(w.stats).toMatchObject({ batches: 1, records: 11 });
    });

    it('transition writer - a batch of commands on existing runtimes reads nothing: one transaction, guarded updates', async () => {
      const w = writer({ maxDelayMs: 20 });
      await Promise.all(
        ['nr1', 'nr2', 'nr3'].map(async (id) => expect(await w.commit(makeRecord({ id }))).toMatchObject({ ok: true })),
      );
      const reads = () => [...mysqlStatementCounts.reads.values()].reduce((a, b) => a + b, 0);
      const [readsBefore, txBefore, slowBefore, queriesBefore] = [
        reads(),
        mysqlStatementCounts.transactions,
        w.stats.slowPaths,
        mysqlStatementCounts.queries,
      ];
      const outcomes = await Promise.all(
        ['nr1', 'nr2', 'nr3'].map((id) => w.commit(makeRecord({ id, base: 1, idempotencyKey: `k2-${id}` }))),
      );
      expect(outcomes).toMatchObject([{ ok: true }, { ok: true }, { ok: true }]);
      expect(reads() - readsBefore).toBe(0);
      expect(mysqlStatementCounts.transactions - txBefore).toBe(1);
      expect(w.stats.slowPaths).toBe(slowBefore);
      // START TRANSACTION, the writes, the revision guards (checked by the server) and COMMIT: one round trip.
      if (multipleStatements) expect(mysqlStatementCounts.queries - queriesBefore).toBe(1);
      expect(await Promise.all(['nr1', 'nr2', 'nr3'].map(revisionOf))).toEqual([2, 2, 2]);
    });

    it('transition writer - a stale record found by the guarded update sends its batch the slow way: it fails alone, the rest commit', async () => {
      const w = writer({ maxDelayMs: 20 });
      expect(await w.commit(makeRecord({ id: 'st1' }))).toMatchObject({ ok: true });
      expect(await w.commit(makeRecord({ id: 'st2' }))).toMatchObject({ ok: true });
      expect(await writer().commit(makeRecord({ id: 'st1', base: 1, marker: 'other owner' }))).toMatchObject({
        ok: true,
      });
      const slowBefore = w.stats.slowPaths;
      const [stale, fresh] = await Promise.all([
        w.commit(makeRecord({ id: 'st1', base: 1 })),
        w.commit(makeRecord({ id: 'st2', base: 1 })),
      ]);
      expect(stale).toMatchObject({ ok: false, code: 'conflict' });
      expect(fresh).toMatchObject({ ok: true });
      expect(w.stats.slowPaths).toBe(slowBefore + 1);
      expect((await history('st1')).find((l) => l.seq === 2)?.comment).toBe('other owner');
      expect([await revisionOf('st1'), await revisionOf('st2')]).toEqual([2, 2]);
    });

    it('transition writer - duplicate active document fails alone with duplicate_runtime', async () => {
      const w = writer({ maxDelayMs: 20 });
      expect(await w.commit(makeRecord({ id: 'dupA', docId: 'D1' }))).toMatchObject({ ok: true });
      const out = await Promise.all([
        w.commit(makeRecord({ id: 'dupB', docId: 'D1' })),
        w.commit(makeRecord({ id: 'dupC', docId: 'D2' })),
        w.commit(makeRecord({ id: 'dupD', docId: 'D2' })),
        w.commit(makeRecord({ id: 'dupE', docId: 'D3' })),
      ]);
      expect(out.map((o) => (o.ok ? 'ok' : o.code))).toEqual(['duplicate_runtime', 'ok', 'duplicate_runtime', 'ok']);
      expect((await rows("SELECT id FROM runtimes WHERE id LIKE 'dup%' ORDER BY id")).map((r) => r.id)).toEqual([
        'dupA',
        'dupC',
        'dupE',
      ]);
      expect(await rows("SELECT * FROM runtime_steps WHERE runtime_id IN ('dupB', 'dupD')")).toHaveLength(0);
    });

    it('transition writer - a finished runtime frees its document for a new one in the same batch', async () => {
      const w = writer({ maxDelayMs: 20 });
      expect(await w.commit(makeRecord({ id: 'freeA', docId: 'F1' }))).toMatchObject({ ok: true });
      const out = await Promise.all([
        w.commit(makeRecord({ id: 'freeA', docId: 'F1', base: 1, status: 'cancelled' })),
        w.commit(makeRecord({ id: 'freeB', docId: 'F1' })),
      ]);
      expect(out).toMatchObject([{ ok: true }, { ok: true }]);
    });

    it('transition writer - chained records of one runtime in one batch commit in order; a broken chain conflicts', async () => {
      const w = writer({ maxDelayMs: 20 });
      const out = await Promise.all([
        w.commit(makeRecord({ id: 'chain' })),
        w.commit(makeRecord({ id: 'chain', base: 1 })),
        w.commit(makeRecord({ id: 'chain', base: 2 })),
        w.commit(makeRecord({ id: 'chain', base: 2, marker: 'stale' })),
        w.commit(makeRecord({ id: 'chain' })),
      ]);
      expect(out.map((o) => (o.ok ? 'ok' : o.code))).toEqual(['ok', 'ok', 'ok', 'conflict', 'conflict']);
      expect(w.stats.batches).toBe(1);
      expect(await revisionOf('chain')).toBe(3);
      expect((await history('chain')).map((l) => l.seq)).toEqual([1, 2, 3]);
      expect(await rows('SELECT stage FROM tasks WHERE runtime_id = ?', ['chain'])).toHaveLength(6);
    });

    it('transition writer - duplicate idempotency key fails alone', async () => {
      const w = writer({ maxDelayMs: 20 });
      expect(await w.commit(makeRecord({ id: 'idA', idempotencyKey: 'K1' }))).toMatchObject({ ok: true });
      const out = await Promise.all([
        w.commit(makeRecord({ id: 'idB', idempotencyKey: 'K1' })),
        w.commit(makeRecord({ id: 'idC', idempotencyKey: 'K2' })),
        w.commit(makeRecord({ id: 'idD', idempotencyKey: 'K2' })),
      ]);
      expect(out.map((o) => (o.ok ? 'ok' : o.code))).toEqual([
        'duplicate_idempotency_key',
        'ok',
        'duplicate_idempotency_key',
      ]);
    });

    it('transition writer - a lost race found only by a write (a step another writer logged) fails alone via the slow path', async () => {
      const w = writer({ maxDelayMs: 20 });
      await db.pool.query(
        "INSERT INTO runtime_steps (tenant, runtime_id, revision, shard, events, body, created_at) VALUES ('t1', 'slowB', 1, 3, 0, '{}', 1)",
      );
      const out = await Promise.all(['slowA', 'slowB', 'slowC'].map((id) => w.commit(makeRecord({ id }))));
      expect(out.map((o) => (o.ok ? 'ok' : o.code))).toEqual(['ok', 'conflict', 'ok']);
      expect(w.stats.slowPaths).toBe(1);
      expect((await rows("SELECT id FROM runtimes WHERE id LIKE 'slow%' ORDER BY id")).map((r) => r.id)).toEqual([
        'slowA',
        'slowC',
      ]);
      expect(await rows("SELECT * FROM tasks WHERE runtime_id = 'slowB'")).toHaveLength(0);
    });

    it('transition writer - concurrent commits are grouped into few transactions, metrics recorded', async () => {
      const registry = new Registry();
      const metrics = registerTransitionWriterMetrics(registry);
      const w = writer({ metrics });
      const out = await Promise.all(Array.from({ length: 300 }, (_, i) => w.commit(makeRecord({ id: `grp${i}` }))));
      expect(out.every((o) => o.ok)).toBe(true);
      expect(w.stats.records).toBe(300);
      expect(w.stats.transactions).toBeLessThanOrEqual(4);
      const text = await registry.metrics();
      expect(text).toContain('bflow_store_writer_outcomes_total{outcome="ok"} 300');
      expect(text).toMatch(/bflow_store_writer_batch_size_count \d/);
    });

    it('transition writer - each committed record is told its step position, on the fast path and the slow path', async () => {
      const w = writer({ maxDelayMs: 20 });
      const fast = await Promise.all(Array.from({ length: 30 }, (_, i) => w.commit(makeRecord({ id: `pos${i}` }))));
      await db.pool.query(
        "INSERT INTO runtime_steps (tenant, runtime_id, revision, shard, events, body, created_at) VALUES ('t1', 'posSlowB', 1, 3, 0, '{}', 1)",
      );
      const slow = await Promise.all(['posSlowA', 'posSlowB', 'posSlowC'].map((id) => w.commit(makeRecord({ id }))));
      expect(w.stats.slowPaths).toBe(1);
      const stored = new Map(
        (await rows("SELECT runtime_id, position FROM runtime_steps WHERE runtime_id LIKE 'pos%'")).map((r) => [
          r.runtime_id,
          Number(r.position),
        ]),
      );
      const ids = [...Array.from({ length: 30 }, (_, i) => `pos${i}`), 'posSlowA', 'posSlowB', 'posSlowC'];
      const told = [...fast, ...slow].map((o) => (o.ok ? o.outboxPosition : o.code));
      // posSlowB lost to the step inserted above (its row is that step's).
      expect(told).toEqual(ids.map((id) => (id === 'posSlowB' ? 'conflict' : stored.get(id))));
    });

    it('transition writer - a batch whose every record the plan refuses writes nothing and answers each', async () => {
      const w = writer();
      expect(await w.commit(makeRecord({ id: 'allRefusedA', docId: 'AR1' }))).toMatchObject({ ok: true });
      // A start of another runtime for the same document: refused from the active-document read, no write left.
      expect(await w.commit(makeRecord({ id: 'allRefusedB', docId: 'AR1' }))).toMatchObject({
        ok: false,
        code: 'duplicate_runtime',
      });
      expect(await rows("SELECT id FROM runtimes WHERE id = 'allRefusedB'")).toHaveLength(0);
    });

    it('transition writer - close flushes what is queued, then refuses new records', async () => {
      const w = writer({ maxDelayMs: 1000 });
      const pending = w.commit(makeRecord({ id: 'closing' }));
      await w.close();
      expect(await pending).toMatchObject({ ok: true });
      await expect(w.commit(makeRecord({ id: 'closed' }))).rejects.toMatchObject({ code: 'writer_closed' });
    });
  });
});
