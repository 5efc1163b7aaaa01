import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../../src/store/migrate.ts';
import { withDatabase } from '../../src/store/mysql/mysql-url.ts';
import { createMySqlPool } from '../../src/store/mysql/pool.ts';
import { MySqlTransitionWriter } from '../../src/store/mysql/transition-writer.ts';
import { makeRecord } from '../fixtures/transition-records.ts';
import { startPrivateMariaDb, type PrivateMariaDb } from '../harness/mysql.ts';
import { waitFor } from '../harness/wait.ts';

let server: PrivateMariaDb | undefined;
let pool: mysql.Pool | undefined;
afterAll(async () => {
  await pool?.end().catch(() => undefined);
  await server?.destroy();
});

describe('transition writer outage', () => {
  it('transition writer outage - MySQL down: store_unavailable, breaker fails fast, recovers when MySQL is back', async () => {
    server = await startPrivateMariaDb();
    const admin = await mysql.createConnection({ uri: server.url });
    await admin.query('CREATE DATABASE bflow');
    await admin.end();
    pool = createMySqlPool(withDatabase(server.url, 'bflow'), { connectTimeoutMs: 1000 });
    await runMigrations(pool);
    const w = new MySqlTransitionWriter(pool, { breakerResetMs: 300, breakerVolumeThreshold: 2, queryTimeoutMs: 2000 });
    expect(await w.commit(makeRecord({ id: 'before' }))).toMatchObject({ ok: true });

    server.kill('SIGKILL');
    const failures = [];
    for (let i = 0; i < 4; i++) failures.push(await w.commit(makeRecord({ id: `down${i}` })));
    for (const f of failures) expect(f).toMatchObject({ ok: false, code: 'store_unavailable' });
    // The breaker is open: answered without trying MySQL (the message says so), not after a query timeout.
    expect(await w.commit(makeRecord({ id: 'open' }))).toMatchObject({
      code: 'store_unavailable',
      message: expect.stringMatching(/open/i),
    });

    await server.start();
    await waitFor(async () => (await w.commit(makeRecord({ id: 'after' }))).ok, {
      deadlineMs: 20_000,
      intervalMs: 100,
      what: 'writer recovery',
    });
    const [rows] = await pool.query<mysql.RowDataPacket[]>('SELECT id FROM runtimes ORDER BY id');
    expect(rows.map((r) => r.id)).toEqual(['after', 'before']);
    await w.close();
  }, 90_000);
});
