/**
 * bench/inbox-seed — fills a tenant with `runtimes` purchase orders straight
 * into MySQL (multi-row INSERTs from 4 connections): the runtime row with a
 * real engine state, 5 log rows each, and 2 task rows each (the creator's done
 * start task; a manager task for one of `users` users `u-0` …, open for every
 * 5th runtime, else done — so each user has runtimes/users/5 open tasks among
 * runtimes/users tasks). A marker row in `bench_seed` records a finished seed,
 * so a kept database (BENCH_KEEP_DB=1) is seeded once.
 */
import { readFileSync } from 'node:fs';
import type mysql from 'mysql2/promise';
import { shardOf } from '../src/actors/shard-of.ts';
import { compileWorkflow, start, step, workflowDefinitionSchema, type RuntimeState } from '../src/engine/index.ts';
import { orgChart } from '../test/fixtures/org-chart.ts';
import { benchDoc } from './http-load.ts';

export interface SeedOptions {
  tenant: string;
  runtimes: number;
  users: number;
  shards: number;
  /** Rows per INSERT. @default 1000 */
  batch?: number;
}

export interface SeedReport {
  seeded: boolean;
  seconds: number;
  runtimes: number;
  logRows: number;
  taskRows: number;
}

const T0 = Date.UTC(2025, 0, 1);
const LOG_PER_RUNTIME = 5;
const CONNECTIONS = 4;

/** A purchase order's state after submit (at the manager), and after its approval (approved), as JSON templates. */
function stateTemplates(tenant: string): { open: string; approved: string } {
  const def = workflowDefinitionSchema.parse(
    JSON.parse(readFileSync(new URL('../examples/purchase-order.json', import.meta.url), 'utf8')),
  );
  const wf = compileWorkflow(def, 'wf-po', 1);
  const doc = benchDoc(5_000_000, 0);
  const started = start(
    wf,
    { id: '@ID@', tenant, app: def.app, docId: '@DOC@', workflowId: 'wf-po', version: 1, creator: 'alice', doc },
    orgChart,
    T0,
  );
  if (!started.ok) throw started.error;
  const submitted = step(wf, started.state, { type: 'submit', actor: 'alice' }, orgChart, T0 + 1000);
  if (!submitted.ok) throw submitted.error;
  const approved = step(wf, submitted.state, { type: 'approve', actor: 'pur-mgr', comment: 'ok' }, orgChart, T0 + 2000);
  if (!approved.ok) throw approved.error;
  const json = (s: RuntimeState) => JSON.stringify(s);
  return { open: json(submitted.state), approved: json(approved.state) };
}

async function markerOf(pool: mysql.Pool, name: string): Promise<number | undefined> {
  await pool.query(
    'CREATE TABLE IF NOT EXISTS bench_seed (name VARCHAR(100) PRIMARY KEY, value BIGINT NOT NULL, done_at BIGINT NOT NULL)',
  );
  const [rows] = await pool.query<mysql.RowDataPacket[]>('SELECT value FROM bench_seed WHERE name = ?', [name]);
  return rows[0] ? Number(rows[0].value) : undefined;
}

/** Seeds unless the marker says this exact seed is there; a partial earlier seed is cleared first. */
export async function seedInbox(
  pool: mysql.Pool,
  o: SeedOptions,
  progress: (line: string) => void = () => undefined,
): Promise<SeedReport> {
  const name = `inbox:${o.tenant}:${o.runtimes}:${o.users}`;
  const report = {
    seeded: false,
    seconds: 0,
    runtimes: o.runtimes,
    logRows: o.runtimes * LOG_PER_RUNTIME,
    taskRows: o.runtimes * 2,
  };
  if ((await markerOf(pool, name)) === o.runtimes) return report;
  const started = performance.now();
  for (const table of ['runtimes', 'runtime_log', 'tasks'])
    await pool.query(
      `DELETE FROM ${table} WHERE tenant = ? AND ${table === 'runtimes' ? 'id' : 'runtime_id'} LIKE 'ib-%'`,
      [o.tenant],
    );
  const templates = stateTemplates(o.tenant);
  const batch = o.batch ?? 1000;
  let next = 0;
  let done = 0;
  const insertChunk = async (from: number, to: number) => {
    const runtimes: unknown[][] = [];
    const log: unknown[][] = [];
    const tasks: unknown[][] = [];
    for (let i = from; i < to; i++) {
      const id = `ib-${String(i).padStart(9, '0')}`;
      const docId = `po-${i}`;
      const open = i % 5 === 0;
      const at = T0 + i * 1000;
      const state = (open ? templates.open : templates.approved).replaceAll('@ID@', id).replaceAll('@DOC@', docId);
      runtimes.push([
        o.tenant,
        id,
        'purchase.order',
        docId,
        null,
        'wf-po',
        1,
        open ? 'in_progress' : 'approved',
        open ? 'manager' : 'approved',
        state,
        open ? 2 : 3,
        shardOf(id, o.shards),
        at,
        at + 2000,
      ]);
      const assignee = `u-${i % o.users}`;
      log.push(
        [o.tenant, id, 1, at, 'alice', 'start', 'start', null, null, null],
        [o.tenant, id, 2, at + 1000, 'alice', 'submit', 'start', 'manager', null, null],
        [o.tenant, id, 3, at + 1500, 'alice', 'comment', 'manager', null, 'please hurry', null],
        [
          o.tenant,
          id,
          4,
          at + 1800,
          'pur-mgr',
          'update',
          'manager',
          null,
          'fixed the note',
          '{"note":["restock","restock soon"]}',
        ],
        [
          o.tenant,
          id,
          5,
          at + 2000,
          assignee,
          open ? 'comment' : 'approve',
          'manager',
          open ? null : 'approved',
          'ok',
          null,
        ],
      );
      tasks.push(
        [o.tenant, id, 0, 'alice', 'start', 'purchase.order', docId, 'done', 'submit', at, at + 1000, null],
        [
          o.tenant,
          id,
          1,
          assignee,
          'manager',
          'purchase.order',
          docId,
          open ? 'open' : 'done',
          open ? null : 'approve',
          at + 1000,
          open ? null : at + 2000,
          at + 1000 + 86_400_000,
        ],
      );
    }
    const conn = await pool.getConnection();
    try {
      await conn.query('START TRANSACTION');
      await conn.query({
        sql: 'INSERT INTO runtimes (tenant, id, app, doc_id, company_id, workflow_id, version, status, current_node, state, revision, shard, created_at, updated_at) VALUES ?',
        values: [runtimes],
        timeout: 120_000,
      });
      await conn.query({
        sql: 'INSERT INTO runtime_log (tenant, runtime_id, seq, at, actor, action, from_node, to_node, comment, changes) VALUES ?',
        values: [log],
        timeout: 120_000,
      });
      await conn.query({
        sql: 'INSERT INTO tasks (tenant, runtime_id, stage, assignee, node, app, doc_id, status, action, assigned_at, closed_at, due_at) VALUES ?',
        values: [tasks],
        timeout: 120_000,
      });
      await conn.query('COMMIT');
    } finally {
      conn.release();
    }
  };
  let lastReport = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < o.runtimes) {
        const from = next;
        const to = Math.min(o.runtimes, from + batch);
        next = to;
        await insertChunk(from, to);
        done += to - from;
        if (performance.now() - lastReport > 10_000) {
          lastReport = performance.now();
          progress(
            `  seeded ${done.toLocaleString('en')} / ${o.runtimes.toLocaleString('en')} runtimes (${((performance.now() - started) / 1000).toFixed(0)} s)`,
          );
        }
      }
    }),
  );
  await pool.query('REPLACE INTO bench_seed VALUES (?, ?, ?)', [name, o.runtimes, Date.now()]);
  return { ...report, seeded: true, seconds: (performance.now() - started) / 1000 };
}
