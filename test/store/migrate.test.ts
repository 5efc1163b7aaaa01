import { cp, mkdtemp, appendFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMigrations, runMigrations, splitStatements } from '../../src/store/migrate.ts';
import { StoreError } from '../../src/store/errors.ts';
import { reapChildren, runToExit, spawnTsx } from '../harness/child.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';

const MIGRATIONS = fileURLToPath(new URL('../../src/store/migrations/', import.meta.url));
const dbs: TestDatabase[] = [];
const fresh = async (prefix: string) => {
  const db = await useTestDatabase(prefix, { migrate: false });
  dbs.push(db);
  return db;
};
const versions = async (pool: mysql.Pool) => {
  const [rows] = await pool.query<mysql.RowDataPacket[]>('SELECT version FROM schema_migrations ORDER BY version');
  return rows.map((r) => String(r.version));
};

afterAll(async () => {
  reapChildren();
  await Promise.all(dbs.map((d) => d.drop()));
});

describe('migrate', () => {
  it('migrate - splits statements on semicolons at line ends, skipping comments', () => {
    expect(splitStatements("-- c\nCREATE TABLE a (\n  -- why;\n  x INT);\n-- only comment;\nSELECT 'a;b';\n")).toEqual([
      'CREATE TABLE a (\n  x INT)',
      "SELECT 'a;b'",
    ]);
  });

  it('migrate - files are read in numeric version order (1000 after 999), other files ignored', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bflow-mig-order-'));
    try {
      for (const f of ['1000_d.sql', '999_c.sql', '002_b.sql', '001_a.sql', 'notes.txt'])
        await appendFile(join(dir, f), 'SELECT 1;\n');
      expect((await loadMigrations(dir)).map((m) => m.file)).toEqual([
        '001_a.sql',
        '002_b.sql',
        '999_c.sql',
        '1000_d.sql',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('migrate - applies every migration once, a second run is a no-op', async () => {
    const db = await fresh('mig_once');
    const all = (await loadMigrations()).map((m) => m.file);
    expect((await runMigrations(db.pool)).applied).toEqual(all);
    expect((await runMigrations(db.pool)).applied).toEqual([]);
    expect(await versions(db.pool)).toHaveLength(all.length);
    const [tables] = await db.pool.query<mysql.RowDataPacket[]>("SHOW TABLES LIKE 'runtimes'");
    expect(tables).toHaveLength(1);
  });

  it('migrate - two processes migrating one fresh database at once both succeed, each migration applied once', async () => {
    const db = await fresh('mig_race');
    const runs = await Promise.all([0, 1].map(() => runToExit(spawnTsx('test/fixtures/migrate-child.ts', [db.url]))));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const applied = runs.flatMap((r) => (JSON.parse(r.stdout.trim()) as { applied: string[] }).applied);
    const all = (await loadMigrations()).map((m) => m.file);
    expect(applied.sort()).toEqual(all.sort());
    expect(await versions(db.pool)).toHaveLength(all.length);
  }, 60_000);

  it('migrate - an applied migration whose file changed is refused with migration_modified', async () => {
    const db = await fresh('mig_mod');
    const dir = await mkdtemp(join(tmpdir(), 'bflow-mig-'));
    try {
      await cp(MIGRATIONS, dir, { recursive: true });
      await runMigrations(db.pool, undefined, { dir });
      await appendFile(join(dir, '001_initial.sql'), '\n-- edited\n');
      const err = await runMigrations(db.pool, undefined, { dir }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).code).toBe('migration_modified');
      expect((err as StoreError).message).toContain('001_initial.sql');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
