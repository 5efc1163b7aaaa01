import type mysql from 'mysql2/promise';
import type { DomainEvent, RuntimeState } from '../../engine/index.ts';
import type { DueTimer, OutboxEvent, RuntimeStore, StoredIdempotency } from '../ports.ts';
import { checkLimit, MAX_POLL_LIMIT } from '../pagination.ts';
import {
  execute,
  num,
  readJson,
  selectRows,
  sqlContext,
  str,
  type MySqlRepositoryOptions,
  type Row,
  type SqlContext,
} from './sql.ts';

/** The write side's reads over MySQL: activation, idempotency, timers and outbox polling. */
export class MySqlRuntimeStore implements RuntimeStore {
  private readonly ctx: SqlContext;

  constructor(pool: mysql.Pool, options: MySqlRepositoryOptions = {}) {
    this.ctx = sqlContext(pool, options);
  }

  async loadRuntime(tenant: string, runtimeId: string): Promise<RuntimeState | undefined> {
    const rows = await this.select('SELECT state FROM runtimes WHERE tenant = ? AND id = ?', [tenant, runtimeId]);
    return rows[0] ? readJson<RuntimeState>(rows[0].state) : undefined;
  }

  async findActiveRuntime(tenant: string, app: string, docId: string): Promise<RuntimeState | undefined> {
    // Served by the unique key: active_doc is the doc id only while the runtime is active.
    const rows = await this.select('SELECT state FROM runtimes WHERE tenant = ? AND app = ? AND active_doc = ?', [
      tenant,
      app,
      docId,
    ]);
    return rows[0] ? readJson<RuntimeState>(rows[0].state) : undefined;
  }

  async findIdempotency(tenant: string, key: string): Promise<StoredIdempotency | undefined> {
    const rows = await this.select(
      'SELECT idem_key, runtime_id, response, created_at FROM idempotency_keys WHERE tenant = ? AND idem_key = ?',
      [tenant, key],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      key: str(row.idem_key),
      runtimeId: str(row.runtime_id),
      response: readJson(row.response),
      createdAt: num(row.created_at),
    };
  }

  async dueTimers(shard: number, now: number, limit: number): Promise<DueTimer[]> {
    const rows = await this.select(
      'SELECT tenant, id, runtime_id, kind, stage, due_at FROM timers ' +
        'WHERE shard = ? AND due_at <= ? ORDER BY due_at LIMIT ?',
      [shard, now, checkLimit(limit, MAX_POLL_LIMIT)],
    );
    return rows.map(toTimer);
  }

  async shardsWithDueTimers(shards: readonly number[], now: number): Promise<number[]> {
    if (shards.length === 0) return [];
    // One index dive per shard on timers_due (shard, due_at): its earliest timer.
    const rows = await this.select(
      'SELECT shard, MIN(due_at) AS first_due FROM timers WHERE shard IN (?) GROUP BY shard',
      [[...shards]],
    );
    return rows.filter((r) => num(r.first_due) <= now).map((r) => num(r.shard));
  }

  async deleteTimer(tenant: string, timerId: string, dueAt?: number): Promise<void> {
    if (dueAt === undefined) {
      await execute(this.ctx.db, this.ctx.timeout, 'DELETE FROM timers WHERE tenant = ? AND id = ?', [tenant, timerId]);
    } else {
      await execute(this.ctx.db, this.ctx.timeout, 'DELETE FROM timers WHERE tenant = ? AND id = ? AND due_at = ?', [
        tenant,
        timerId,
        dueAt,
      ]);
    }
  }

  async unpublishedEvents(shard: number, limit: number): Promise<OutboxEvent[]> {
    const rows = await this.select(
      'SELECT position, shard, events, created_at FROM outbox ' +
        'WHERE shard = ? AND published_at IS NULL ORDER BY position LIMIT ?',
      [shard, checkLimit(limit, MAX_POLL_LIMIT)],
    );
    return rows.flatMap((r) =>
      readJson<DomainEvent[]>(r.events).map((event) => ({
        position: num(r.position),
        shard: num(r.shard),
        event,
        createdAt: num(r.created_at),
      })),
    );
  }

  async markPublished(positions: readonly number[]): Promise<void> {
    if (positions.length === 0) return;
    for (let i = 0; i < positions.length; i += MAX_POLL_LIMIT) {
      const chunk = positions.slice(i, i + MAX_POLL_LIMIT);
      await execute(
        this.ctx.db,
        this.ctx.timeout,
        'UPDATE outbox SET published_at = ? WHERE position IN (?) AND published_at IS NULL',
        [this.ctx.now(), chunk],
      );
    }
  }

  private select(sql: string, values: unknown[]): Promise<Row[]> {
    return selectRows(this.ctx.db, this.ctx.timeout, sql, values);
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
