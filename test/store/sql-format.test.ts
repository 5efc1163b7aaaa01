import fc from 'fast-check';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSql } from '../../src/store/mysql/sql-format.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';

describe('formatSql - placeholders as MySQL literals', () => {
  it('sql format - strings, numbers, null, booleans, lists and rows', () => {
    expect(formatSql('SELECT ?, ?, ?, ?, ?, ?', ['a', 1.5, null, undefined, true, 12n])).toBe(
      "SELECT 'a', 1.5, NULL, NULL, true, 12",
    );
    expect(formatSql('SELECT * FROM t WHERE id IN (?)', [['a', 'b']])).toBe("SELECT * FROM t WHERE id IN ('a', 'b')");
    expect(
      formatSql('INSERT INTO t (a, b) VALUES ?', [
        [
          ['x', 1],
          ['y', null],
        ],
      ]),
    ).toBe("INSERT INTO t (a, b) VALUES ('x', 1), ('y', NULL)");
    expect(formatSql('SELECT ?', 'one value')).toBe("SELECT 'one value'");
  });

  it('sql format - only backslash, quote and NUL are escaped; JSON quotes stay as they are', () => {
    expect(formatSql('SELECT ?', [`{"a":"it's \\"x\\""}\0`])).toBe(`SELECT '{"a":"it''s \\\\"x\\\\""}\\0'`);
    expect(formatSql('SELECT ?', ['line\nbreak\ttab'])).toBe("SELECT 'line\nbreak\ttab'");
  });

  it('sql format - a ? inside a value is not a placeholder; missing values leave the placeholder, extra ones are ignored', () => {
    expect(formatSql('SELECT ?, ?', ['?', 'b'])).toBe("SELECT '?', 'b'");
    expect(formatSql('SELECT ?, ?', ['a'])).toBe("SELECT 'a', ?");
    expect(formatSql('SELECT ?', ['a', 'b'])).toBe("SELECT 'a'");
    expect(formatSql('SELECT 1', [])).toBe('SELECT 1');
    expect(formatSql('SELECT 1', undefined)).toBe('SELECT 1');
  });

  it("sql format - other values and SQL where a ? may not be a placeholder go to mysql2's format", () => {
    expect(formatSql("SELECT '?', ?", ['a'])).toBe("SELECT '?', 'a'");
    expect(formatSql('SELECT ?? FROM t WHERE a = ?', ['col', 'x'])).toBe("SELECT `col` FROM t WHERE a = 'x'");
    expect(formatSql('SELECT ? -- ?', ['a'])).toBe("SELECT 'a' -- ?");
    expect(formatSql('SELECT ?', [new Date(Date.UTC(2026, 0, 2, 3, 4, 5))], 'Z')).toBe(
      "SELECT '2026-01-02 03:04:05.000'",
    );
    expect(formatSql('SELECT ?', [Buffer.from('hi')])).toBe("SELECT X'6869'");
    expect(formatSql('SELECT ?', [Number.NaN])).toBe('SELECT NaN'); // as mysql2: the server refuses it
  });
});

describe('formatSql - what MariaDB reads back', () => {
  let db: TestDatabase;
  let pool: mysql.Pool;
  beforeAll(async () => {
    db = await useTestDatabase('sql_format', { migrate: false });
    pool = db.pool;
  });
  afterAll(async () => {
    await db.drop();
  });

  it('sql format - any string, quotes, backslashes, NUL and non-ASCII included, comes back unchanged', async () => {
    const text = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({
        unit: fc.constantFrom("'", '"', '\\', '\0', '?', ';', '\n', '\x1a', '%', '_', 'a', 'é', '😀'),
        maxLength: 40,
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 5 }), async (strings) => {
        const [rows] = await pool.query<mysql.RowDataPacket[]>({
          sql: `SELECT ${strings.map(() => 'CAST(? AS CHAR CHARACTER SET utf8mb4) AS v').join(', ')}`,
          rowsAsArray: true,
          values: strings,
          timeout: 10_000,
        });
        expect(rows[0]).toEqual(strings);
      }),
      { numRuns: 200 },
    );
  });

  it('sql format - a multi-row insert with JSON, numbers and NULLs stores each value as given', async () => {
    await pool.query('CREATE TABLE fmt (id INT PRIMARY KEY, doc JSON, note VARCHAR(100) NULL, n DOUBLE NULL)');
    const doc = { text: `it's a "quote" \\ back\nslash`, nested: { list: [1, 'two', null] } };
    await pool.query({
      sql: 'INSERT INTO fmt (id, doc, note, n) VALUES ?',
      values: [
        [
          [1, JSON.stringify(doc), null, 1.25],
          [2, '{}', "O'Brien", null],
        ],
      ],
      timeout: 10_000,
    });
    const [rows] = await pool.query<mysql.RowDataPacket[]>(
      'SELECT id, CAST(doc AS CHAR) AS doc, note, n FROM fmt ORDER BY id',
    );
    expect(rows.map((r) => ({ ...r, doc: JSON.parse(String(r.doc)) }))).toEqual([
      { id: 1, doc, note: null, n: 1.25 },
      { id: 2, doc: {}, note: "O'Brien", n: null },
    ]);
  });
});
