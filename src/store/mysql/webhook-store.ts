import type mysql from 'mysql2/promise';
import { checkLimit, decodeCursor, encodeCursor, toPage } from '../pagination.ts';
import type { Page } from '../ports.ts';
import { ENCRYPTED } from '../crypto/encrypted-columns.ts';
import { MAX_WEBHOOKS_PER_TENANT, type WebhookRecord, type WebhookStore } from '../webhook-ports.ts';
import { num, readJson, sqlContext, str, type MySqlRepositoryOptions, type Row, type SqlContext } from './sql.ts';

const COLUMNS = 'tenant, id, url, events, secret, created_at';

/** Webhook registrations over MySQL (`webhooks`, migration 003). Use the primary: a create is read back at once. */
export class MySqlWebhookStore implements WebhookStore {
  private readonly ctx: SqlContext;

  constructor(pool: mysql.Pool, options: MySqlRepositoryOptions = {}) {
    this.ctx = sqlContext(pool, options);
  }

  async create(record: WebhookRecord): Promise<{ created: boolean; record: WebhookRecord }> {
    const r = record;
    await this.ctx.cipher.ready([r.tenant]);
    const secret = this.ctx.cipher.seal(r.tenant, ENCRYPTED.webhookSecret, r.id, r.secret);
    const result = await this.ctx.exec(`INSERT IGNORE INTO webhooks (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`, [
      r.tenant,
      r.id,
      r.url,
      JSON.stringify(r.events),
      secret,
      r.createdAt,
    ]);
    if (result.affectedRows === 1) return { created: true, record: structuredClone(r) };
    const existing = await this.get(r.tenant, r.id);
    // Deleted between the two statements: the caller's create simply lost a race with a delete.
    return existing ? { created: false, record: existing } : this.create(r);
  }

  async get(tenant: string, id: string): Promise<WebhookRecord | undefined> {
    const rows = await this.ctx.select(`SELECT ${COLUMNS} FROM webhooks WHERE tenant = ? AND id = ?`, [tenant, id]);
    return rows[0] && this.toRecord(rows[0]);
  }

  async list(tenant: string, limit: number, cursor?: string): Promise<Page<WebhookRecord>> {
    checkLimit(limit);
    const after = cursor === undefined ? undefined : decodeCursor<[string]>(cursor, ['string'])[0];
    const rows = await this.ctx.select(
      `SELECT ${COLUMNS} FROM webhooks WHERE tenant = ?${after === undefined ? '' : ' AND id > ?'} ORDER BY id LIMIT ?`,
      after === undefined ? [tenant, limit + 1] : [tenant, after, limit + 1],
    );
    return toPage(await Promise.all(rows.map((r) => this.toRecord(r))), limit, (last) => encodeCursor([last.id]));
  }

  async forTenant(tenant: string): Promise<WebhookRecord[]> {
    const rows = await this.ctx.select(`SELECT ${COLUMNS} FROM webhooks WHERE tenant = ? ORDER BY id LIMIT ?`, [
      tenant,
      MAX_WEBHOOKS_PER_TENANT + 1,
    ]);
    return Promise.all(rows.map((r) => this.toRecord(r)));
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    const result = await this.ctx.exec('DELETE FROM webhooks WHERE tenant = ? AND id = ?', [tenant, id]);
    return result.affectedRows > 0;
  }

  private async toRecord(r: Row): Promise<WebhookRecord> {
    const tenant = str(r.tenant);
    const id = str(r.id);
    return {
      tenant,
      id,
      url: str(r.url),
      events: readJson<string[]>(r.events),
      secret: await this.ctx.cipher.open(tenant, ENCRYPTED.webhookSecret, id, str(r.secret)),
      createdAt: num(r.created_at),
    };
  }
}
