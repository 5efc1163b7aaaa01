import type mysql from 'mysql2/promise';
import { ENCRYPTED, pairId } from '../crypto/encrypted-columns.ts';
import type { EnvelopeCipher } from '../crypto/field-cipher.ts';
import { execute, num, type Row, selectRows, str } from './sql.ts';

/**
 * `bflow keys rewrap-data --tenant T`: gives the tenant a new data key version and re-encrypts every
 * encrypted column of its rows with it, online: a row is read, re-sealed and written back only if it still
 * holds what was read (compare-and-set), so a row a node changes meanwhile is left to the next pass. Rows
 * written before encryption (plaintext) are sealed too. The Redis snapshots are not touched: they are a
 * cache, re-sealed with the new version as their runtimes next change (the older versions stay to open them).
 */

interface EncryptedColumn {
  /** The column in the table. */
  name: string;
  /** Its name in the associated data (ENCRYPTED). */
  aad: string;
  /** A column of the JSON type: the sealed text is stored as a JSON string. */
  json?: true;
}

interface TableSpec {
  table: string;
  /** The keyset order after `tenant` (the primary key's columns, or the auto-increment id). */
  keys: readonly string[];
  columns: readonly EncryptedColumn[];
  /** More columns the row id needs. */
  extra?: readonly string[];
  rowId(row: Row): string;
}

const TABLES: readonly TableSpec[] = [
  {
    table: 'runtimes',
    keys: ['id'],
    columns: [{ name: 'state', aad: ENCRYPTED.runtimeState }],
    rowId: (r) => str(r.id),
  },
  {
    table: 'runtime_steps',
    keys: ['runtime_id', 'revision'],
    columns: [{ name: 'body', aad: ENCRYPTED.stepBody }],
    rowId: (r) => pairId(str(r.runtime_id), num(r.revision)),
  },
  {
    table: 'runtime_log',
    keys: ['runtime_id', 'seq'],
    columns: [
      { name: 'changes', aad: ENCRYPTED.logChanges },
      { name: 'command', aad: ENCRYPTED.logCommand },
      { name: 'comment', aad: ENCRYPTED.logComment },
    ],
    rowId: (r) => pairId(str(r.runtime_id), num(r.seq)),
  },
  {
    table: 'idempotency_keys',
    keys: ['idem_key'],
    columns: [{ name: 'response', aad: ENCRYPTED.idempotencyResponse }],
    rowId: (r) => str(r.idem_key),
  },
  {
    table: 'outbox',
    keys: ['position'],
    columns: [{ name: 'events', aad: ENCRYPTED.outboxEvents }],
    rowId: (r) => str(r.position),
  },
  {
    table: 'webhooks',
    keys: ['id'],
    columns: [{ name: 'secret', aad: ENCRYPTED.webhookSecret }],
    rowId: (r) => str(r.id),
  },
  {
    table: 'workflows',
    keys: ['id'],
    columns: [{ name: 'draft', aad: ENCRYPTED.workflowDraft, json: true }],
    rowId: (r) => str(r.id),
  },
  {
    table: 'workflow_versions',
    keys: ['workflow_id', 'version'],
    columns: [{ name: 'definition', aad: ENCRYPTED.versionDefinition, json: true }],
    rowId: (r) => pairId(str(r.workflow_id), num(r.version)),
  },
  {
    table: 'notifications',
    keys: ['seq'],
    extra: ['dedupe_key'],
    columns: [
      { name: 'title', aad: ENCRYPTED.notificationTitle },
      { name: 'body', aad: ENCRYPTED.notificationBody },
    ],
    rowId: (r) => str(r.dedupe_key),
  },
];

/** The tables and columns rewrap-data re-encrypts (docs/security.md lists the same). */
export const REWRAPPED_COLUMNS: readonly string[] = TABLES.flatMap((t) => t.columns.map((c) => `${t.table}.${c.name}`));

export interface RewrapProgress {
  table: string;
  /** Rows of the tenant read so far in this table. */
  read: number;
  /** Rows re-encrypted. */
  rewritten: number;
  /** The table's rows of the tenant (counted before the pass). */
  total: number;
}

export interface RewrapReport {
  version: number;
  rewritten: number;
  /** Encrypted values not under `version` after the last pass (rows nodes wrote with the previous key meanwhile). */
  left: number;
  passes: number;
}

export interface RewrapOptions {
  pool: mysql.Pool;
  cipher: EnvelopeCipher;
  tenant: string;
  /** Rows per read. @default 500 */
  pageSize?: number;
  /** Passes at most: another pass runs while values are left under older versions. @default 3 */
  passes?: number;
  /** The wait before another pass: nodes see the new version within their key refresh (60 s). @default 60000 */
  waitMs?: number;
  timeoutMs?: number;
  onProgress?: (p: RewrapProgress) => void;
}

export async function rewrapTenantData(o: RewrapOptions): Promise<RewrapReport> {
  const version = await o.cipher.newVersion(o.tenant);
  const report: RewrapReport = { version, rewritten: 0, left: 0, passes: 0 };
  const maxPasses = o.passes ?? 3;
  for (;;) {
    report.passes += 1;
    for (const spec of TABLES) report.rewritten += await rewrapTable(o, spec, version);
    report.left = await countLeft(o, version);
    if (report.left === 0 || report.passes >= maxPasses) return report;
    await new Promise((resolve) => setTimeout(resolve, o.waitMs ?? 60_000));
  }
}

const sealedPrefix = (version: number, json: boolean): string => `${json ? '"' : ''}bf1.${version}.`;

async function rewrapTable(o: RewrapOptions, spec: TableSpec, version: number): Promise<number> {
  const timeout = o.timeoutMs ?? 30_000;
  const pageSize = o.pageSize ?? 500;
  const [counted] = await selectRows(o.pool, timeout, `SELECT COUNT(*) AS n FROM ${spec.table} WHERE tenant = ?`, [
    o.tenant,
  ]);
  const progress: RewrapProgress = { table: spec.table, read: 0, rewritten: 0, total: num(counted?.n ?? 0) };
  const select = [...spec.keys, ...(spec.extra ?? []), ...spec.columns.map((c) => c.name)].join(', ');
  const order = spec.keys.join(', ');
  let after: unknown[] | undefined;
  for (;;) {
    const rows = await selectRows(
      o.pool,
      timeout,
      `SELECT ${select} FROM ${spec.table} WHERE tenant = ?${after ? ` AND (${order}) > (${after.map(() => '?').join(', ')})` : ''} ORDER BY ${order} LIMIT ?`,
      [o.tenant, ...(after ?? []), pageSize],
    );
    for (const row of rows) if (await rewrapRow(o, spec, row, version, timeout)) progress.rewritten += 1;
    progress.read += rows.length;
    o.onProgress?.({ ...progress });
    if (rows.length < pageSize) return progress.rewritten;
    const last = rows[rows.length - 1]!;
    after = spec.keys.map((k) => last[k]);
  }
}

/** Re-seals the row's values not under `version`; written only if the row still holds what was read. */
async function rewrapRow(
  o: RewrapOptions,
  spec: TableSpec,
  row: Row,
  version: number,
  timeout: number,
): Promise<boolean> {
  const rowId = spec.rowId(row);
  const sets: string[] = [];
  const setValues: unknown[] = [];
  const guards: string[] = [];
  const guardValues: unknown[] = [];
  for (const c of spec.columns) {
    const stored = row[c.name];
    if (stored === null || stored === undefined) continue;
    const text = Buffer.isBuffer(stored) ? stored.toString('utf8') : String(stored);
    if (text.startsWith(sealedPrefix(version, c.json === true))) continue;
    // A JSON column holds its sealed text as a JSON string (or, before encryption, the JSON itself).
    const inner = c.json && text.startsWith('"') ? (JSON.parse(text) as string) : text;
    const plain = await o.cipher.open(o.tenant, c.aad, rowId, inner);
    const sealed = o.cipher.seal(o.tenant, c.aad, rowId, plain);
    sets.push(`${c.name} = ?`);
    setValues.push(c.json ? JSON.stringify(sealed) : sealed);
    guards.push(c.json ? `CAST(${c.name} AS CHAR) = ?` : `${c.name} = ?`);
    guardValues.push(text);
  }
  if (sets.length === 0) return false;
  const keys = spec.keys.map((k) => `${k} = ?`);
  const result = await execute(
    o.pool,
    timeout,
    `UPDATE ${spec.table} SET ${sets.join(', ')} WHERE tenant = ? AND ${[...keys, ...guards].join(' AND ')}`,
    [...setValues, o.tenant, ...spec.keys.map((k) => row[k]), ...guardValues],
  );
  return result.affectedRows === 1;
}

/** Values of the tenant not sealed with `version`. */
async function countLeft(o: RewrapOptions, version: number): Promise<number> {
  let left = 0;
  for (const spec of TABLES) {
    const notUnder = spec.columns.map(
      (c) => `SUM(${c.name} IS NOT NULL AND ${c.json ? `CAST(${c.name} AS CHAR)` : c.name} NOT LIKE ?)`,
    );
    const [row] = await selectRows(
      o.pool,
      o.timeoutMs ?? 30_000,
      `SELECT ${notUnder.join(' + ')} AS n FROM ${spec.table} WHERE tenant = ?`,
      [...spec.columns.map((c) => `${sealedPrefix(version, c.json === true)}%`), o.tenant],
    );
    left += num(row?.n ?? 0);
  }
  return left;
}
