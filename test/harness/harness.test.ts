import { afterAll, describe, expect, it } from 'vitest';
import { startPrivateMariaDb, useTestDatabase, type PrivateMariaDb } from './mysql.ts';
import { waitFor } from './wait.ts';
import mysql from 'mysql2/promise';

describe('harness', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('harness - useTestDatabase creates a migrated database and drops it', async () => {
    const db = await useTestDatabase('harness');
    cleanups.push(db.drop);
    const [rows] = await db.pool.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM schema_migrations');
    expect(Number(rows[0]?.n)).toBeGreaterThan(0);
    await db.drop();
  });

  it('harness - private mariadb starts, crashes and restarts', async () => {
    const server: PrivateMariaDb = await startPrivateMariaDb();
    cleanups.push(server.destroy);
    const ping = async () => {
      const c = await mysql.createConnection({ uri: server.url, connectTimeout: 1000 });
      await c.end();
      return true;
    };
    expect(await ping()).toBe(true);
    server.kill('SIGKILL');
    await waitFor(async () => !(await ping().catch(() => false)), { deadlineMs: 10_000, what: 'server down' });
    await server.start();
    expect(await ping()).toBe(true);
  }, 90_000);
});
