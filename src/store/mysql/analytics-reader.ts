import type mysql from 'mysql2/promise';
import type { Stage } from '../../engine/index.ts';
import {
  checkSampleLimit,
  type AnalyticsReader,
  type StageSampleFilter,
  type StageSamples,
} from '../analytics-ports.ts';
import { num, sqlContext, str, type MySqlRepositoryOptions, type SqlContext } from './sql.ts';
import { openState } from './sealed-columns.ts';

/**
 * The analytics read over MySQL (a read replica is fine): the newest runtimes
 * of a workflow by the `runtimes_by_workflow` index (migration 003), reading
 * only `$.stages` of each state, at most `limit` rows (+1 to tell truncation).
 */
export class MySqlAnalyticsReader implements AnalyticsReader {
  private readonly ctx: SqlContext;

  constructor(pool: mysql.Pool, options: MySqlRepositoryOptions = {}) {
    this.ctx = sqlContext(pool, options);
  }

  async stageSamples(
    tenant: string,
    workflowId: string,
    filter: StageSampleFilter,
    limit: number,
  ): Promise<StageSamples> {
    checkSampleLimit(limit);
    const where = ['tenant = ?', 'workflow_id = ?'];
    const values: unknown[] = [tenant, workflowId];
    if (filter.since !== undefined) {
      where.push('created_at >= ?');
      values.push(filter.since);
    }
    if (filter.version !== undefined) {
      where.push('version = ?');
      values.push(filter.version);
    }
    const rows = await this.ctx.select(
      `SELECT id, version, created_at, state FROM runtimes WHERE ${where.join(' AND ')} ` +
        'ORDER BY created_at DESC, id DESC LIMIT ?',
      [...values, limit + 1],
    );
    const runtimes = await Promise.all(
      rows.slice(0, limit).map(async (r) => {
        const state = await openState(this.ctx.cipher, tenant, str(r.id), r.state);
        return {
          runtimeId: str(r.id),
          version: num(r.version),
          createdAt: num(r.created_at),
          stages: (state.stages ?? []) as Stage[],
        };
      }),
    );
    return { runtimes, truncated: rows.length > limit };
  }
}
