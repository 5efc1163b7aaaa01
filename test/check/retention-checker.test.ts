import type mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { RetentionJob, type RetentionSettings } from '../../src/actors/retention/index.ts';
import { checkInvariants, type InvariantReport } from '../../src/check/index.ts';
import { MySqlRetentionStore } from '../../src/store/mysql/retention-store.ts';
import { DAY_MS } from '../../src/store/retention-ports.ts';
import { uniquePrefix } from '../actors/nats-fixture.ts';
import { commandRequest as cmd, ok } from '../actors/runtime-host/runtime-host-fixture.ts';
import { useCheckerStack, type Scenario } from './checker-fixture.ts';

const PREFIX = uniquePrefix('retcheck');
// A database of its own: retention works across every tenant of it.
const checker = useCheckerStack('retention_checker', 'bflow-test-retention-checker', PREFIX);
const STREAM = checker.stream;

const pool = (): mysql.Pool => checker.db().pool;
const count = async (sql: string, values: unknown[]): Promise<number> =>
  Number((await pool().query<mysql.RowDataPacket[]>(sql, values))[0][0]?.n);

function check(s: Scenario): Promise<InvariantReport> {
  return checkInvariants({
    pool: pool(),
    tenant: s.tenant,
    nats: { connection: checker.nc(), stream: STREAM },
    acknowledged: s.acknowledged,
    pageSize: 2,
  });
}

/** A fake clock far ahead of every row written: each cut of `settings` has passed. */
const later = { now: () => Date.now() + 400 * DAY_MS };

/** One retention run as the lease holder would, to the end. */
async function retain(settings: RetentionSettings): Promise<Record<string, number | undefined>> {
  const job = new RetentionJob({
    store: new MySqlRetentionStore(pool()),
    leases: { holds: () => true },
    clock: later,
    intervalMs: 0,
    batchSize: 3, // many small batches
    ...settings,
  });
  const run = await job.runOnce();
  expect(run.result).toBe('done');
  return run.rows;
}

/** An active runtime of the scenario (retention compacts it but never removes it). */
async function activeRuntime(s: Scenario): Promise<{ id: string; status: string }> {
  const [row] = (
    await pool().query<mysql.RowDataPacket[]>(
      "SELECT id, status FROM runtimes WHERE tenant = ? AND status IN ('created', 'in_progress') ORDER BY id LIMIT 1",
      [s.tenant],
    )
  )[0];
  if (!row) throw new Error(`no active runtime in ${s.tenant}`);
  return { id: String(row.id), status: String(row.status) };
}

describe('invariant checker after retention', () => {
  let a: Scenario;
  let b: Scenario;

  it('retention checker - after keys are forgotten and logs compacted the checker passes, and the rows are really gone', async () => {
    a = await checker.stack().scenario();
    b = await checker.stack().scenario();
    expect((await check(a)).ok).toBe(true);
    const stepsBefore = await count('SELECT COUNT(*) AS n FROM runtime_steps WHERE tenant = ?', [a.tenant]);
    const rows = await retain({ idempotencyDays: 1, eventsDays: 1, finishedDays: 0, mode: 'delete' });
    expect(rows.runtime_steps).toBeGreaterThan(0);
    expect(rows['runtime_steps.idem_key']).toBeGreaterThan(0);
    const stepsAfter = await count('SELECT COUNT(*) AS n FROM runtime_steps WHERE tenant = ?', [a.tenant]);
    expect(stepsAfter).toBeLessThan(stepsBefore);
    expect(
      await count('SELECT COUNT(*) AS n FROM runtime_steps WHERE tenant = ? AND idem_key IS NOT NULL', [a.tenant]),
    ).toBe(0);
    for (const s of [a, b]) {
      const report = await check(s);
      expect(report.ok, report.summary).toBe(true);
    }
  });

  it('retention checker - after finished runtimes are archived and a tenant policy removed their audit log, the checker still passes', async () => {
    await checker.stack().scenario(); // more to prune alongside
    await new MySqlRetentionStore(pool()).setPolicy(b.tenant, { auditLogDays: 1 }, Date.now());
    const rows = await retain({ idempotencyDays: 1, eventsDays: 1, finishedDays: 1, mode: 'archive' });
    expect(rows.runtimes).toBeGreaterThan(0);
    expect(rows.runtime_log).toBeGreaterThan(0);
    const reportA = await check(a);
    expect(reportA.ok, reportA.summary).toBe(true);
    expect(reportA.counts.removedByRetention).toBeGreaterThan(0);
    // a's audit log stays (no policy); b's removed runtimes left nothing behind.
    expect(
      await count(
        'SELECT COUNT(*) AS n FROM runtime_log WHERE tenant = ? AND runtime_id NOT IN (SELECT id FROM runtimes WHERE tenant = ?)',
        [a.tenant, a.tenant],
      ),
    ).toBeGreaterThan(0);
    expect(
      await count(
        'SELECT COUNT(*) AS n FROM runtime_log WHERE tenant = ? AND runtime_id NOT IN (SELECT id FROM runtimes WHERE tenant = ?)',
        [b.tenant, b.tenant],
      ),
    ).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM runtimes_archive WHERE tenant = ?', [a.tenant])).toBe(
      reportA.counts.removedByRetention,
    );
    const reportB = await check(b);
    expect(reportB.ok, reportB.summary).toBe(true);
  });

  it('retention checker - a real loss is still caught: a key cleared past the cursor, a runtime deleted by hand, a logged command removed', async () => {
    const c = await checker.stack().scenario();
    await retain({ idempotencyDays: 1, eventsDays: 1, finishedDays: 1, mode: 'delete' });
    expect((await check(c)).ok).toBe(true);
    // A command after the run: its step is past the idempotency cursor, so clearing its key is a loss.
    const active = await activeRuntime(c);
    const comment = cmd(c.tenant, active.id, 'alice', 'comment', { comment: 'after retention' });
    ok(await checker.stack().host.handle(comment));
    c.acknowledged.push({ tenant: c.tenant, runtimeId: active.id, idempotencyKey: comment.idempotencyKey });
    await checker.stack().relayAll(c.tenant);
    expect((await check(c)).ok).toBe(true);
    await pool().query('UPDATE runtime_steps SET idem_key = NULL WHERE tenant = ? AND idem_key = ?', [
      c.tenant,
      comment.idempotencyKey,
    ]);
    const cleared = await check(c);
    expect(cleared.idempotencyMismatches).toEqual([
      { idempotencyKey: comment.idempotencyKey, problem: 'no record', runtimeId: active.id },
    ]);

    // The active runtime's rows deleted by hand (the ledger knows nothing of it): reported.
    for (const table of ['runtime_steps', 'tasks']) {
      await pool().query(`DELETE FROM ${table} WHERE tenant = ? AND runtime_id = ?`, [c.tenant, active.id]);
    }
    await pool().query('DELETE FROM runtimes WHERE tenant = ? AND id = ?', [c.tenant, active.id]);
    const deleted = await check(c);
    expect(deleted.ok).toBe(false);
    expect(deleted.replayMismatches.map((m) => m.reason)).toContain(
      'log or task rows of a runtime that does not exist',
    );
    expect(deleted.events.notCommitted.length).toBeGreaterThan(0);

    // And its logged commands removed too: the acknowledged ones are lost.
    await pool().query('DELETE FROM runtime_log WHERE tenant = ? AND runtime_id = ?', [c.tenant, active.id]);
    const lost = await check(c);
    expect(lost.lost.map((l) => l.runtimeId)).toContain(active.id);
  });
});
