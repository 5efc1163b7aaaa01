import type mysql from 'mysql2/promise';
import type { DomainEvent, RuntimeState } from '../../engine/index.ts';
import type { DueTimer, OutboxEvent, PublishedMark, RuntimeStore, StoredIdempotency } from '../ports.ts';
import { checkLimit, MAX_POLL_LIMIT } from '../pagination.ts';
import { replaySteps, stateAtRevision, stepEvents, type StepBody } from '../step-log.ts';
import { StoreError } from '../errors.ts';
import { ENCRYPTED } from '../crypto/encrypted-columns.ts';
import { num, openJson, sqlContext, str, type MySqlRepositoryOptions, type Row, type SqlContext } from './sql.ts';
import { openState, openStepBody } from './sealed-columns.ts';

/**
 * The write side's reads over MySQL: activation (the runtime row, then the log after it), idempotency by
 * reference to the log, timers, and the outbox read from the log behind each shard's published watermark.
 */
export class MySqlRuntimeStore implements RuntimeStore {
  private readonly ctx: SqlContext;
  /** Shards whose pre-004 outbox rows this store handed out unpublished (marked with the watermark). */
  private readonly legacyOutbox = new Set<number>();
  /** Shards whose pre-004 outbox has nothing left unpublished (nothing writes it any more: not read again). */
  private readonly legacyDrained = new Set<number>();

  constructor(pool: mysql.Pool, options: MySqlRepositoryOptions = {}) {
    this.ctx = sqlContext(pool, options);
  }

  /** The runtime row (a projection) or `from`, then the runtime's steps after its revision replayed over it. */
  async loadRuntime(tenant: string, runtimeId: string, from?: RuntimeState): Promise<RuntimeState | undefined> {
    let projected = from;
    if (projected === undefined) {
      const rows = await this.ctx.select('SELECT state FROM runtimes WHERE tenant = ? AND id = ?', [tenant, runtimeId]);
      projected = rows[0] ? await openState(this.ctx.cipher, tenant, runtimeId, rows[0].state) : undefined;
    }
    const steps = await this.ctx.select(
      'SELECT revision, body FROM runtime_steps WHERE tenant = ? AND runtime_id = ? AND revision > ? ORDER BY revision',
      [tenant, runtimeId, projected?.revision ?? 0],
    );
    if (steps.length === 0) return projected;
    return replaySteps(projected, await Promise.all(steps.map((r) => this.stepBody(tenant, runtimeId, r))));
  }

  async findActiveRuntime(tenant: string, app: string, docId: string): Promise<RuntimeState | undefined> {
    const rows = await this.ctx.select(
      'SELECT runtime_id FROM active_documents WHERE tenant = ? AND app = ? AND doc_id = ?',
      [tenant, app, docId],
    );
    return rows[0] ? this.loadRuntime(tenant, str(rows[0].runtime_id)) : undefined;
  }

  /**
   * The key's step, and the first reply rebuilt from the log: the state at the step's revision (replayed
   * from the runtime's start or base step), `created` for a start. Keys from before migration 004 answer
   * their stored reply.
   */
  async findIdempotency(tenant: string, key: string): Promise<StoredIdempotency | undefined> {
    const rows = await this.ctx.select(
      'SELECT runtime_id, revision, created_at FROM runtime_steps WHERE tenant = ? AND idem_key = ?',
      [tenant, key],
    );
    const row = rows[0];
    if (!row) return this.findLegacyIdempotency(tenant, key);
    const runtimeId = str(row.runtime_id);
    const revision = num(row.revision);
    const steps = await this.ctx.select(
      'SELECT revision, body FROM runtime_steps WHERE tenant = ? AND runtime_id = ? AND revision <= ? ORDER BY revision',
      [tenant, runtimeId, revision],
    );
    const bodies = await Promise.all(
      steps.map(async (r) => ({ revision: num(r.revision), body: await this.stepBody(tenant, runtimeId, r) })),
    );
    const state = stateAtRevision(bodies, revision);
    if (!state) {
      throw new StoreError(
        'log_incomplete',
        `runtime ${runtimeId}: its log cannot rebuild revision ${revision} (no start or base step before it)`,
      );
    }
    const step = bodies[bodies.length - 1]?.body;
    const isStart = step !== undefined && step.base !== true && 'init' in step.change;
    return {
      key,
      runtimeId,
      response: isStart ? { state, created: true } : { state },
      createdAt: num(row.created_at),
    };
  }

  private async findLegacyIdempotency(tenant: string, key: string): Promise<StoredIdempotency | undefined> {
    const rows = await this.ctx.select(
      'SELECT idem_key, runtime_id, response, created_at FROM idempotency_keys WHERE tenant = ? AND idem_key = ?',
      [tenant, key],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      key: str(row.idem_key),
      runtimeId: str(row.runtime_id),
      response: await openJson(this.ctx.cipher, tenant, ENCRYPTED.idempotencyResponse, key, row.response),
      createdAt: num(row.created_at),
    };
  }

  async dueTimers(shard: number, now: number, limit: number): Promise<DueTimer[]> {
    const rows = await this.ctx.select(
      'SELECT tenant, id, runtime_id, kind, stage, due_at FROM timers ' +
        'WHERE shard = ? AND due_at <= ? ORDER BY due_at LIMIT ?',
      [shard, now, checkLimit(limit, MAX_POLL_LIMIT)],
    );
    return rows.map(toTimer);
  }

  async shardsWithDueTimers(shards: readonly number[], now: number): Promise<number[]> {
    if (shards.length === 0) return [];
    // One index dive per shard on timers_due (shard, due_at): its earliest timer.
    const rows = await this.ctx.select(
      'SELECT shard, MIN(due_at) AS first_due FROM timers WHERE shard IN (?) GROUP BY shard',
      [[...shards]],
    );
    return rows.filter((r) => num(r.first_due) <= now).map((r) => num(r.shard));
  }

  async deleteTimer(tenant: string, timerId: string, dueAt?: number): Promise<void> {
    if (dueAt === undefined) {
      await this.ctx.exec('DELETE FROM timers WHERE tenant = ? AND id = ?', [tenant, timerId]);
    } else {
      await this.ctx.exec('DELETE FROM timers WHERE tenant = ? AND id = ? AND due_at = ?', [tenant, timerId, dueAt]);
    }
  }

  /**
   * The old outbox's unpublished rows of the shard first (an upgraded cluster's backlog: their positions
   * precede every step's), then the steps with events after the shard's published watermark.
   */
  async unpublishedEvents(shard: number, limit: number): Promise<OutboxEvent[]> {
    checkLimit(limit, MAX_POLL_LIMIT);
    const legacy = this.legacyDrained.has(shard)
      ? []
      : await this.ctx.select(
          'SELECT position, shard, tenant, events, created_at FROM outbox ' +
            'WHERE shard = ? AND published_at IS NULL ORDER BY position LIMIT ?',
          [shard, limit],
        );
    if (legacy.length === 0) this.legacyDrained.add(shard);
    else {
      this.legacyOutbox.add(shard);
      const events = await Promise.all(
        legacy.map((r) =>
          openJson<DomainEvent[]>(this.ctx.cipher, str(r.tenant), ENCRYPTED.outboxEvents, str(r.position), r.events),
        ),
      );
      return legacy.flatMap((r, i) =>
        events[i]!.map((event) => ({
          position: num(r.position),
          shard: num(r.shard),
          event,
          createdAt: num(r.created_at),
        })),
      );
    }
    const rows = await this.ctx.select(
      'SELECT s.tenant, s.runtime_id, s.revision, s.position, s.body, s.created_at FROM runtime_steps s ' +
        'WHERE s.shard = ? AND s.events > 0 AND s.position > ' +
        '(SELECT COALESCE(MAX(w.published_position), 0) FROM shard_watermarks w WHERE w.shard = ?) ' +
        'ORDER BY s.position LIMIT ?',
      [shard, shard, limit],
    );
    const bodies = await Promise.all(rows.map((r) => this.stepBody(str(r.tenant), str(r.runtime_id), r)));
    return rows.flatMap((r, i) =>
      stepEvents(str(r.tenant), str(r.runtime_id), bodies[i]!).map((event) => ({
        position: num(r.position),
        shard,
        event,
        createdAt: num(r.created_at),
      })),
    );
  }

  /** One upsert per call: each shard's watermark moves to the highest position given, never back. */
  async markPublished(marks: readonly PublishedMark[]): Promise<void> {
    const highest = new Map<number, number>();
    for (const m of marks) highest.set(m.shard, Math.max(m.position, highest.get(m.shard) ?? 0));
    if (highest.size === 0) return;
    const now = this.ctx.now();
    for (const [shard, position] of highest) {
      if (!this.legacyOutbox.has(shard)) continue;
      await this.ctx.exec(
        'UPDATE outbox SET published_at = ? WHERE shard = ? AND position <= ? AND published_at IS NULL',
        [now, shard, position],
      );
    }
    await this.ctx.exec(
      'INSERT INTO shard_watermarks (shard, published_position, projected_position, updated_at) VALUES ? ' +
        'ON DUPLICATE KEY UPDATE published_position = GREATEST(published_position, VALUES(published_position)), ' +
        'updated_at = VALUES(updated_at)',
      // In shard order, as every writer of these rows locks them: no lock-order deadlock.
      [[...highest].sort(([a], [b]) => a - b).map(([shard, position]) => [shard, position, 0, now])],
    );
  }

  /** A runtime_steps row's body (columns `revision`, `body`), opened. */
  private stepBody(tenant: string, runtimeId: string, r: Row): Promise<StepBody> {
    return openStepBody(this.ctx.cipher, tenant, runtimeId, num(r.revision), r.body);
  }
}

function toTimer(r: Row): DueTimer {
  return {
    id: str(r.id),
    tenant: str(r.tenant),
    runtimeId: str(r.runtime_id),
    kind: str(r.kind) as DueTimer['kind'],
    stage: num(r.stage),
    dueAt: num(r.due_at),
  };
}
