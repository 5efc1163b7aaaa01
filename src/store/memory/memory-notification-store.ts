import { checkLimit, decodeCursor, encodeCursor, toPage } from '../pagination.ts';
import type { Page } from '../ports.ts';
import type {
  ClaimResult,
  DeadLetter,
  DeliveryClaim,
  DeliveryOutcome,
  NewNotification,
  NotificationPreferences,
  NotificationSettings,
  NotificationStore,
  StoredNotification,
} from '../notification-ports.ts';

interface DeliveryRow extends Omit<DeliveryClaim, 'now'> {
  status: 'pending' | 'sent' | 'dead';
  attempts: number;
  error?: string;
  updatedAt: number;
}

/** The twin of the MySQL notification store: same order, same cursors, same claim rules. Everything handed out is a copy. */
export class MemoryNotificationStore implements NotificationStore {
  #seq = 0;
  /** tenant → recipient → notifications in seq order. */
  readonly #inbox = new Map<string, Map<string, StoredNotification[]>>();
  /** `tenant|dedupeKey` of every in-app notification. */
  readonly #inAppKeys = new Set<string>();
  readonly #deliveries = new Map<string, DeliveryRow>();
  readonly #preferences = new Map<string, NotificationPreferences>();
  readonly #settings = new Map<string, NotificationSettings>();

  async addInApp(items: readonly NewNotification[]): Promise<number> {
    let added = 0;
    for (const item of items) {
      const key = `${item.tenant}|${item.dedupeKey}`;
      if (this.#inAppKeys.has(key)) continue;
      this.#inAppKeys.add(key);
      this.#listOf(item.tenant, item.recipient, true).push({ ...structuredClone(item), seq: ++this.#seq });
      added++;
    }
    return added;
  }

  async list(
    tenant: string,
    recipient: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<StoredNotification> & { unread: number }> {
    checkLimit(limit);
    const before = cursor === undefined ? undefined : decodeCursor<[number]>(cursor, ['number'])[0];
    const all = this.#listOf(tenant, recipient, false);
    const rows = all
      .filter((n) => before === undefined || n.seq < before)
      .reverse()
      .slice(0, limit + 1)
      .map((n) => structuredClone(n));
    const unread = all.filter((n) => n.readAt === undefined).length;
    return { ...toPage(rows, limit, (last) => encodeCursor([last.seq])), unread };
  }

  async after(tenant: string, recipient: string, seq: number, limit: number): Promise<StoredNotification[]> {
    return this.#listOf(tenant, recipient, false)
      .filter((n) => n.seq > seq)
      .slice(0, limit)
      .map((n) => structuredClone(n));
  }

  async markRead(tenant: string, recipient: string, seq: number, now: number): Promise<boolean> {
    const found = this.#listOf(tenant, recipient, false).find((n) => n.seq === seq);
    if (found === undefined) return false;
    found.readAt ??= now;
    return true;
  }

  async markAllRead(tenant: string, recipient: string, now: number): Promise<number> {
    let marked = 0;
    for (const n of this.#listOf(tenant, recipient, false)) {
      if (n.readAt !== undefined) continue;
      n.readAt = now;
      marked++;
    }
    return marked;
  }

  async claim(claims: readonly DeliveryClaim[]): Promise<ClaimResult> {
    const held = new Map<string, number>();
    const busy = new Set<string>();
    for (const { now, ...claim } of claims) {
      const key = `${claim.tenant}|${claim.dedupeKey}`;
      const row = this.#deliveries.get(key);
      if (row === undefined) {
        this.#deliveries.set(key, { ...claim, status: 'pending', attempts: 0, updatedAt: now });
        held.set(claim.dedupeKey, 0);
      } else if (row.status === 'pending' && (row.owner === claim.owner || row.claimedUntil < now)) {
        row.owner = claim.owner;
        row.claimedUntil = claim.claimedUntil;
        held.set(claim.dedupeKey, row.attempts);
      } else if (row.status === 'pending') busy.add(claim.dedupeKey);
    }
    return { held, busy };
  }

  async finish(outcomes: readonly DeliveryOutcome[]): Promise<void> {
    for (const o of outcomes) {
      const row = this.#deliveries.get(`${o.tenant}|${o.dedupeKey}`);
      if (row === undefined || row.owner !== o.owner || row.status !== 'pending') continue;
      row.status = o.status === 'retry' ? 'pending' : o.status;
      if (o.status === 'retry') row.claimedUntil = 0;
      row.attempts = o.attempts;
      row.updatedAt = o.now;
      if (o.error !== undefined) row.error = o.error;
    }
  }

  async deadLetters(tenant: string, limit: number, cursor?: string): Promise<Page<DeadLetter>> {
    checkLimit(limit);
    const before = cursor === undefined ? undefined : decodeCursor<[number, string]>(cursor, ['number', 'string']);
    const rows = [...this.#deliveries.values()]
      .filter((r) => r.tenant === tenant && r.status === 'dead')
      .sort((a, b) => b.updatedAt - a.updatedAt || (a.dedupeKey < b.dedupeKey ? 1 : a.dedupeKey > b.dedupeKey ? -1 : 0))
      .filter(
        (r) =>
          before === undefined || r.updatedAt < before[0] || (r.updatedAt === before[0] && r.dedupeKey < before[1]),
      )
      .slice(0, limit + 1)
      .map(toDeadLetter);
    return toPage(rows, limit, (last) => encodeCursor([last.at, last.dedupeKey]));
  }

  async preferences(tenant: string, employees: readonly string[]): Promise<Map<string, NotificationPreferences>> {
    const found = new Map<string, NotificationPreferences>();
    for (const e of employees) {
      const p = this.#preferences.get(`${tenant}|${e}`);
      if (p !== undefined) found.set(e, structuredClone(p));
    }
    return found;
  }

  async setPreferences(
    tenant: string,
    employee: string,
    preferences: NotificationPreferences,
    _now?: number,
  ): Promise<void> {
    this.#preferences.set(`${tenant}|${employee}`, structuredClone(preferences));
  }

  async settings(tenant: string): Promise<NotificationSettings | undefined> {
    const s = this.#settings.get(tenant);
    return s && structuredClone(s);
  }

  async setSettings(tenant: string, settings: NotificationSettings, _now?: number): Promise<void> {
    this.#settings.set(tenant, structuredClone(settings));
  }

  #listOf(tenant: string, recipient: string, create: boolean): StoredNotification[] {
    let byRecipient = this.#inbox.get(tenant);
    if (byRecipient === undefined) {
      if (!create) return [];
      byRecipient = new Map();
      this.#inbox.set(tenant, byRecipient);
    }
    let list = byRecipient.get(recipient);
    if (list === undefined) {
      if (!create) return [];
      list = [];
      byRecipient.set(recipient, list);
    }
    return list;
  }
}

function toDeadLetter(r: DeliveryRow): DeadLetter {
  return {
    tenant: r.tenant,
    dedupeKey: r.dedupeKey,
    channel: r.channel,
    recipient: r.recipient,
    eventId: r.eventId,
    kind: r.kind,
    attempts: r.attempts,
    error: r.error ?? '',
    at: r.updatedAt,
  };
}
