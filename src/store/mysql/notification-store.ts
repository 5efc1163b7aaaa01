import type mysql from 'mysql2/promise';
import { checkLimit, decodeCursor, encodeCursor, toPage } from '../pagination.ts';
import type { Page } from '../ports.ts';
import type {
  ClaimResult,
  DeadLetter,
  DeliveryClaim,
  DeliveryOutcome,
  ExternalChannel,
  NewNotification,
  NotificationKind,
  NotificationPreferences,
  NotificationSettings,
  NotificationStore,
  StoredNotification,
} from '../notification-ports.ts';
import {
  num,
  optNum,
  readJson,
  sqlContext,
  str,
  type MySqlRepositoryOptions,
  type Row,
  type SqlContext,
} from './sql.ts';
import { ENCRYPTED } from '../crypto/encrypted-columns.ts';

const INBOX_COLUMNS =
  'seq, tenant, recipient, dedupe_key, kind, event_id, runtime_id, app, doc_id, title, body, link, created_at, read_at';
const DEAD_COLUMNS = 'tenant, dedupe_key, channel, recipient, event_id, kind, attempts, last_error, updated_at';

/**
 * Notifications over MySQL (migration 006). Every write of the notifier is one
 * statement per batch: the in-app rows in one INSERT IGNORE, the delivery
 * claims in one INSERT … ON DUPLICATE KEY UPDATE (plus one SELECT to learn
 * which are held), the outcomes in one UPDATE per tenant and owner.
 */
export class MySqlNotificationStore implements NotificationStore {
  private readonly ctx: SqlContext;

  constructor(pool: mysql.Pool, options: MySqlRepositoryOptions = {}) {
    this.ctx = sqlContext(pool, options);
  }

  async addInApp(items: readonly NewNotification[]): Promise<number> {
    if (items.length === 0) return 0;
    const cipher = this.ctx.cipher;
    await cipher.ready(new Set(items.map((n) => n.tenant)));
    const values: unknown[] = [];
    for (const n of items)
      values.push(
        n.tenant,
        n.recipient,
        n.dedupeKey,
        n.kind,
        n.eventId,
        n.runtimeId,
        n.app,
        n.docId,
        cipher.seal(n.tenant, ENCRYPTED.notificationTitle, n.dedupeKey, n.title),
        cipher.seal(n.tenant, ENCRYPTED.notificationBody, n.dedupeKey, n.body),
        n.link,
        n.createdAt,
      );
    const result = await this.ctx.exec(
      `INSERT IGNORE INTO notifications (tenant, recipient, dedupe_key, kind, event_id, runtime_id, app, doc_id, title, body, link, created_at) VALUES ${rows(items.length, 12)}`,
      values,
    );
    return result.affectedRows;
  }

  async list(
    tenant: string,
    recipient: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<StoredNotification> & { unread: number }> {
    checkLimit(limit);
    const before = cursor === undefined ? undefined : decodeCursor<[number]>(cursor, ['number'])[0];
    const [found, counted] = await Promise.all([
      this.ctx.select(
        `SELECT ${INBOX_COLUMNS} FROM notifications WHERE tenant = ? AND recipient = ?${before === undefined ? '' : ' AND seq < ?'} ORDER BY seq DESC LIMIT ?`,
        before === undefined ? [tenant, recipient, limit + 1] : [tenant, recipient, before, limit + 1],
      ),
      this.ctx.select(
        'SELECT COUNT(*) AS n FROM notifications WHERE tenant = ? AND recipient = ? AND read_at IS NULL',
        [tenant, recipient],
      ),
    ]);
    const page = toPage(await this.opened(found), limit, (last) => encodeCursor([last.seq]));
    return { ...page, unread: num(counted[0]?.n ?? 0) };
  }

  async after(tenant: string, recipient: string, seq: number, limit: number): Promise<StoredNotification[]> {
    const found = await this.ctx.select(
      `SELECT ${INBOX_COLUMNS} FROM notifications WHERE tenant = ? AND recipient = ? AND seq > ? ORDER BY seq LIMIT ?`,
      [tenant, recipient, seq, limit],
    );
    return this.opened(found);
  }

  /** Notification rows with their title and body opened. */
  private opened(rows: Row[]): Promise<StoredNotification[]> {
    const cipher = this.ctx.cipher;
    return Promise.all(
      rows.map(async (r) => {
        const n = toNotification(r);
        n.title = await cipher.open(n.tenant, ENCRYPTED.notificationTitle, n.dedupeKey, n.title);
        n.body = await cipher.open(n.tenant, ENCRYPTED.notificationBody, n.dedupeKey, n.body);
        return n;
      }),
    );
  }

  async markRead(tenant: string, recipient: string, seq: number, now: number): Promise<boolean> {
    const result = await this.ctx.exec(
      'UPDATE notifications SET read_at = COALESCE(read_at, ?) WHERE seq = ? AND tenant = ? AND recipient = ?',
      [now, seq, tenant, recipient],
    );
    return result.affectedRows > 0;
  }

  async markAllRead(tenant: string, recipient: string, now: number): Promise<number> {
    const result = await this.ctx.exec(
      'UPDATE notifications SET read_at = ? WHERE tenant = ? AND recipient = ? AND read_at IS NULL',
      [now, tenant, recipient],
    );
    return result.affectedRows;
  }

  async claim(claims: readonly DeliveryClaim[]): Promise<ClaimResult> {
    const held = new Map<string, number>();
    const busy = new Set<string>();
    // One INSERT and one SELECT per owner (a notifier claims as one owner), whatever the tenants.
    for (const [owner, group] of groupBy(claims, (c) => c.owner)) {
      const values: unknown[] = [];
      for (const c of group)
        values.push(
          c.tenant,
          c.dedupeKey,
          c.channel,
          c.recipient,
          c.owner,
          c.claimedUntil,
          c.eventId,
          c.kind,
          c.now,
          c.now,
        );
      // Taken over only while pending and either ours already or lapsed. `owner` is assigned first, so the second
      // IF sees the new owner: it moves claimed_until exactly when the first moved the owner (or it was ours).
      await this.ctx.exec(
        `INSERT INTO notification_deliveries (tenant, dedupe_key, channel, recipient, status, owner, claimed_until, event_id, kind, created_at, updated_at)
         VALUES ${rows(group.length, 10, 4)}
         ON DUPLICATE KEY UPDATE
           owner = IF(status = 'pending' AND (owner = VALUES(owner) OR claimed_until < VALUES(updated_at)), VALUES(owner), owner),
           claimed_until = IF(status = 'pending' AND owner = VALUES(owner), VALUES(claimed_until), claimed_until)`,
        values,
      );
      const found = await this.ctx.select(
        `SELECT tenant, dedupe_key, attempts, owner FROM notification_deliveries WHERE status = 'pending' AND (tenant, dedupe_key) IN (${pairs(group.length)})`,
        group.flatMap((c) => [c.tenant, c.dedupeKey]),
      );
      const asked = new Set(group.map((c) => `${c.tenant}\n${c.dedupeKey}`));
      for (const r of found) {
        if (!asked.has(`${str(r.tenant)}\n${str(r.dedupe_key)}`)) continue;
        if (str(r.owner) === owner) held.set(str(r.dedupe_key), num(r.attempts));
        else busy.add(str(r.dedupe_key));
      }
    }
    return { held, busy };
  }

  async finish(outcomes: readonly DeliveryOutcome[]): Promise<void> {
    // One UPDATE per owner, whatever the tenants.
    for (const [owner, group] of groupBy(outcomes, (o) => o.owner)) {
      const cases = (pick: (o: DeliveryOutcome) => unknown): { sql: string; values: unknown[] } => ({
        sql: `CASE ${group.map(() => 'WHEN tenant = ? AND dedupe_key = ? THEN ?').join(' ')} END`,
        values: group.flatMap((o) => [o.tenant, o.dedupeKey, pick(o)]),
      });
      const status = cases((o) => (o.status === 'retry' ? 'pending' : o.status));
      const attempts = cases((o) => o.attempts);
      const error = cases((o) => o.error?.slice(0, 1000) ?? null);
      await this.ctx.exec(
        `UPDATE notification_deliveries SET status = ${status.sql}, attempts = ${attempts.sql}, last_error = ${error.sql}, updated_at = ?,
           claimed_until = IF(status = 'pending', 0, claimed_until)
         WHERE owner = ? AND status = 'pending' AND (tenant, dedupe_key) IN (${pairs(group.length)})`,
        [
          ...status.values,
          ...attempts.values,
          ...error.values,
          group[0]!.now,
          owner,
          ...group.flatMap((o) => [o.tenant, o.dedupeKey]),
        ],
      );
    }
  }

  async deadLetters(tenant: string, limit: number, cursor?: string): Promise<Page<DeadLetter>> {
    checkLimit(limit);
    const before = cursor === undefined ? undefined : decodeCursor<[number, string]>(cursor, ['number', 'string']);
    const found = await this.ctx.select(
      `SELECT ${DEAD_COLUMNS} FROM notification_deliveries WHERE tenant = ? AND status = 'dead'${
        before === undefined ? '' : ' AND (updated_at < ? OR (updated_at = ? AND dedupe_key < ?))'
      } ORDER BY updated_at DESC, dedupe_key DESC LIMIT ?`,
      before === undefined ? [tenant, limit + 1] : [tenant, before[0], before[0], before[1], limit + 1],
    );
    return toPage(found.map(toDeadLetter), limit, (last) => encodeCursor([last.at, last.dedupeKey]));
  }

  async preferences(tenant: string, employees: readonly string[]): Promise<Map<string, NotificationPreferences>> {
    const found = new Map<string, NotificationPreferences>();
    if (employees.length === 0) return found;
    const rowsRead = await this.ctx.select(
      `SELECT employee_id, preferences FROM notification_preferences WHERE tenant = ? AND employee_id IN (${marks(employees.length)})`,
      [tenant, ...employees],
    );
    for (const r of rowsRead) found.set(str(r.employee_id), readJson<NotificationPreferences>(r.preferences));
    return found;
  }

  async setPreferences(
    tenant: string,
    employee: string,
    preferences: NotificationPreferences,
    now: number,
  ): Promise<void> {
    await this.ctx.exec(
      `INSERT INTO notification_preferences (tenant, employee_id, preferences, updated_at) VALUES (?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE preferences = VALUES(preferences), updated_at = VALUES(updated_at)`,
      [tenant, employee, JSON.stringify(preferences), now],
    );
  }

  async settings(tenant: string): Promise<NotificationSettings | undefined> {
    const found = await this.ctx.select('SELECT settings FROM notification_settings WHERE tenant = ?', [tenant]);
    return found[0] && readJson<NotificationSettings>(found[0].settings);
  }

  async setSettings(tenant: string, settings: NotificationSettings, now: number): Promise<void> {
    await this.ctx.exec(
      `INSERT INTO notification_settings (tenant, settings, updated_at) VALUES (?, ?, ?)
       ON DUPLICATE KEY UPDATE settings = VALUES(settings), updated_at = VALUES(updated_at)`,
      [tenant, JSON.stringify(settings), now],
    );
  }
}

const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');
const pairs = (n: number): string => Array.from({ length: n }, () => '(?, ?)').join(', ');

/** `n` value tuples of `width` placeholders; `literalAt` inserts `'pending'` as the tuple's item at that index. */
function rows(n: number, width: number, literalAt?: number): string {
  const items = Array.from({ length: width }, () => '?');
  if (literalAt !== undefined) items.splice(literalAt, 0, "'pending'");
  const tuple = `(${items.join(', ')})`;
  return Array.from({ length: n }, () => tuple).join(', ');
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list === undefined) groups.set(k, [item]);
    else list.push(item);
  }
  return groups;
}

function toNotification(r: Row): StoredNotification {
  const n: StoredNotification = {
    seq: num(r.seq),
    tenant: str(r.tenant),
    recipient: str(r.recipient),
    dedupeKey: str(r.dedupe_key),
    kind: str(r.kind) as NotificationKind,
    eventId: str(r.event_id),
    runtimeId: str(r.runtime_id),
    app: str(r.app),
    docId: str(r.doc_id),
    title: str(r.title),
    body: str(r.body),
    link: str(r.link),
    createdAt: num(r.created_at),
  };
  const readAt = optNum(r.read_at);
  if (readAt !== undefined) n.readAt = readAt;
  return n;
}

function toDeadLetter(r: Row): DeadLetter {
  return {
    tenant: str(r.tenant),
    dedupeKey: str(r.dedupe_key),
    channel: str(r.channel) as ExternalChannel,
    recipient: str(r.recipient),
    eventId: str(r.event_id),
    kind: str(r.kind) as NotificationKind,
    attempts: num(r.attempts),
    error: r.last_error === null ? '' : str(r.last_error),
    at: num(r.updated_at),
  };
}
