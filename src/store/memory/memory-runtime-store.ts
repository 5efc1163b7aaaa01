import type { RuntimeState } from '../../engine/index.ts';
import { checkLimit, MAX_POLL_LIMIT } from '../pagination.ts';
import type { DueTimer, OutboxEvent, PublishedMark, RuntimeStore, StoredIdempotency } from '../ports.ts';
import { StoreError } from '../errors.ts';
import { replaySteps, stateAtRevision } from '../step-log.ts';
import { key, type MemoryTables } from './tables.ts';

/** The twin of the MySQL runtime store. Everything handed out is a copy. */
export class MemoryRuntimeStore implements RuntimeStore {
  constructor(private readonly t: MemoryTables) {}

  /** The runtime row or `from`, then the steps after its revision replayed over it (as MySQL). */
  async loadRuntime(tenant: string, runtimeId: string, from?: RuntimeState): Promise<RuntimeState | undefined> {
    const row = this.t.runtimes.get(key(tenant, runtimeId));
    const projected = from ?? (row && structuredClone(row.state));
    const after = (this.t.steps.get(key(tenant, runtimeId)) ?? []).filter(
      (s) => s.revision > (projected?.revision ?? 0),
    );
    if (after.length === 0) return projected;
    return replaySteps(
      projected,
      after.map((s) => structuredClone(s.body)),
    );
  }

  async findActiveRuntime(tenant: string, app: string, docId: string): Promise<RuntimeState | undefined> {
    const id = this.t.activeDocs.get(key(tenant, app, docId));
    return id === undefined ? undefined : this.loadRuntime(tenant, id);
  }

  /** The key's step and its reply rebuilt from the log (as MySQL). */
  async findIdempotency(tenant: string, idemKey: string): Promise<StoredIdempotency | undefined> {
    const ref = this.t.idempotency.get(key(tenant, idemKey));
    if (!ref) return undefined;
    const steps = structuredClone(this.t.steps.get(key(tenant, ref.runtimeId)) ?? []);
    const state = stateAtRevision(steps, ref.revision);
    if (!state)
      throw new StoreError('log_incomplete', `runtime ${ref.runtimeId}: cannot rebuild revision ${ref.revision}`);
    const body = steps.find((s) => s.revision === ref.revision)?.body;
    const isStart = body !== undefined && body.base !== true && 'init' in body.change;
    return {
      key: idemKey,
      runtimeId: ref.runtimeId,
      response: isStart ? { state, created: true } : { state },
      createdAt: ref.createdAt,
    };
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

  async markPublished(marks: readonly PublishedMark[]): Promise<void> {
    for (const { shard, position } of marks) {
      if (position <= (this.t.published.get(shard) ?? 0)) continue;
      this.t.published.set(shard, position);
      const pending = this.t.unpublished.get(shard);
      for (const p of pending?.keys() ?? []) if (p <= position) pending?.delete(p);
    }
  }
}
