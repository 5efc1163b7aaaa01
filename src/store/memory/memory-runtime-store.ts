import type { RuntimeState } from '../../engine/index.ts';
import { checkLimit, MAX_POLL_LIMIT } from '../pagination.ts';
import type { DueTimer, OutboxEvent, RuntimeStore, StoredIdempotency } from '../ports.ts';
import { key, type MemoryTables } from './tables.ts';

/** The twin of the MySQL runtime store. Everything handed out is a copy. */
export class MemoryRuntimeStore implements RuntimeStore {
  constructor(private readonly t: MemoryTables) {}

  async loadRuntime(tenant: string, runtimeId: string): Promise<RuntimeState | undefined> {
    const row = this.t.runtimes.get(key(tenant, runtimeId));
    return row && structuredClone(row.state);
  }

  async findActiveRuntime(tenant: string, app: string, docId: string): Promise<RuntimeState | undefined> {
    const id = this.t.activeDocs.get(key(tenant, app, docId));
    return id === undefined ? undefined : this.loadRuntime(tenant, id);
  }

  async findIdempotency(tenant: string, idemKey: string): Promise<StoredIdempotency | undefined> {
    const stored = this.t.idempotency.get(key(tenant, idemKey));
    return stored && structuredClone(stored);
  }

  async dueTimers(shard: number, now: number, limit: number): Promise<DueTimer[]> {
    checkLimit(limit, MAX_POLL_LIMIT);
    const due: DueTimer[] = [];
    for (const { shard: _shard, ...timer } of this.t.timers.get(shard)?.values() ?? []) {
      if (timer.dueAt <= now) due.push(timer);
    }
    return due.sort((a, b) => a.dueAt - b.dueAt).slice(0, limit);
  }

  async shardsWithDueTimers(shards: readonly number[], now: number): Promise<number[]> {
    return shards.filter((shard) => [...(this.t.timers.get(shard)?.values() ?? [])].some((t) => t.dueAt <= now));
  }

  async deleteTimer(tenant: string, timerId: string, dueAt?: number): Promise<void> {
    this.t.deleteTimer(key(tenant, timerId), dueAt);
  }

  async unpublishedEvents(shard: number, limit: number): Promise<OutboxEvent[]> {
    checkLimit(limit, MAX_POLL_LIMIT);
    const out: OutboxEvent[] = [];
    let rows = 0;
    for (const row of this.t.unpublished.get(shard)?.values() ?? []) {
      if (rows++ >= limit) break;
      for (const event of row.events)
        out.push({ position: row.position, shard: row.shard, event: structuredClone(event), createdAt: row.createdAt });
    }
    return out;
  }

  async markPublished(positions: readonly number[]): Promise<void> {
    for (const position of positions) {
      const row = this.t.outbox.get(position);
      if (!row || row.published) continue;
      row.published = true;
      this.t.unpublished.get(row.shard)?.delete(position);
    }
  }
}
