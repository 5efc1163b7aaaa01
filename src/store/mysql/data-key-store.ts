import type mysql from 'mysql2/promise';
import type { DataKeyStore, WrappedDataKey } from '../crypto/data-keys.ts';
import { num, sqlContext, str, type MySqlRepositoryOptions, type Row, type SqlContext } from './sql.ts';

const COLUMNS = 'tenant, version, master_key_id, wrapped_key, created_at';

/** The wrapped data keys over MySQL (`tenant_data_keys`, migration 008). Use the primary: a key is read back at once. */
export class MySqlDataKeyStore implements DataKeyStore {
  private readonly ctx: SqlContext;

  constructor(pool: mysql.Pool, options: MySqlRepositoryOptions = {}) {
    this.ctx = sqlContext(pool, options);
  }

  async load(tenants: readonly string[]): Promise<WrappedDataKey[]> {
    if (tenants.length === 0) return [];
    const rows = await this.ctx.select(`SELECT ${COLUMNS} FROM tenant_data_keys WHERE tenant IN (?)`, [[...tenants]]);
    return rows.map(toKey);
  }

  async insert(key: WrappedDataKey): Promise<boolean> {
    const result = await this.ctx.exec(`INSERT IGNORE INTO tenant_data_keys (${COLUMNS}) VALUES (?, ?, ?, ?, ?)`, [
      key.tenant,
      key.version,
      key.masterKeyId,
      key.wrapped,
      key.createdAt,
    ]);
    return result.affectedRows === 1;
  }

  async page(after: { tenant: string; version: number } | undefined, limit: number): Promise<WrappedDataKey[]> {
    const rows =
      after === undefined
        ? await this.ctx.select(`SELECT ${COLUMNS} FROM tenant_data_keys ORDER BY tenant, version LIMIT ?`, [limit])
        : await this.ctx.select(
            `SELECT ${COLUMNS} FROM tenant_data_keys WHERE tenant > ? OR (tenant = ? AND version > ?) ORDER BY tenant, version LIMIT ?`,
            [after.tenant, after.tenant, after.version, limit],
          );
    return rows.map(toKey);
  }

  async rewrap(key: WrappedDataKey, previous: WrappedDataKey): Promise<boolean> {
    const result = await this.ctx.exec(
      'UPDATE tenant_data_keys SET master_key_id = ?, wrapped_key = ? WHERE tenant = ? AND version = ? AND master_key_id = ? AND wrapped_key = ?',
      [key.masterKeyId, key.wrapped, key.tenant, key.version, previous.masterKeyId, previous.wrapped],
    );
    return result.affectedRows === 1;
  }

  async samplePerMasterKey(): Promise<WrappedDataKey[]> {
    // One index dive per master key id (tenant_data_keys_by_master), then its first row.
    const rows = await this.ctx.select(
      `SELECT ${COLUMNS} FROM tenant_data_keys k JOIN (SELECT master_key_id AS id, MIN(tenant) AS t FROM tenant_data_keys GROUP BY master_key_id) m
       ON k.master_key_id = m.id AND k.tenant = m.t ORDER BY k.master_key_id`,
      [],
    );
    const seen = new Set<string>();
    return rows.map(toKey).filter((k) => !seen.has(k.masterKeyId) && seen.add(k.masterKeyId));
  }
}

function toKey(r: Row): WrappedDataKey {
  return {
    tenant: str(r.tenant),
    version: num(r.version),
    masterKeyId: str(r.master_key_id),
    wrapped: str(r.wrapped_key),
    createdAt: num(r.created_at),
  };
}
