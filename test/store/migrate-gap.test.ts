import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMigrations, runMigrations } from '../../src/store/migrate.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';

let db: TestDatabase | undefined;
let dir: string | undefined;
afterAll(async () => {
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('migrations - numbering gaps', () => {
  it('migrate - the shipped files are in version order and include 003_webhooks', async () => {
    const versions = (await loadMigrations()).map((m) => m.version);
    expect(versions).toEqual([...versions].sort());
    expect((await loadMigrations()).map((m) => m.file)).toContain('003_webhooks.sql');
  });

  it('migrate - files apply in order across a gap, and a file filling the gap later is applied then', async () => {
    db = await useTestDatabase('migrate_gap', { migrate: false });
    dir = await mkdtemp(join(tmpdir(), 'bflow-migrations-'));
    await writeFile(join(dir, '001_a.sql'), 'CREATE TABLE gap_a (id INT PRIMARY KEY);\n');
    await writeFile(join(dir, '003_c.sql'), 'ALTER TABLE gap_a ADD COLUMN c INT NULL;\n');
    expect(await runMigrations(db.pool, undefined, { dir })).toEqual({ applied: ['001_a.sql', '003_c.sql'] });
    await writeFile(join(dir, '002_b.sql'), 'CREATE TABLE gap_b (id INT PRIMARY KEY);\n');
    expect(await runMigrations(db.pool, undefined, { dir })).toEqual({ applied: ['002_b.sql'] });
    expect(await runMigrations(db.pool, undefined, { dir })).toEqual({ applied: [] });
    const [rows] = await db.pool.query<mysql.RowDataPacket[]>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(['001', '002', '003']);
  });
});
