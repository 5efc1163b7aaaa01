import {
  checkSampleLimit,
  type AnalyticsReader,
  type RuntimeStages,
  type StageSampleFilter,
  type StageSamples,
} from '../analytics-ports.ts';
import { compareStrings } from './sorted-list.ts';
import { key, type MemoryTables } from './tables.ts';

/** The twin of the MySQL analytics read: same filter, order and bound (it scans the tenant's runtimes in memory). */
export class MemoryAnalyticsReader implements AnalyticsReader {
  constructor(private readonly t: MemoryTables) {}

  async stageSamples(
    tenant: string,
    workflowId: string,
    filter: StageSampleFilter,
    limit: number,
  ): Promise<StageSamples> {
    checkSampleLimit(limit);
    const matched: RuntimeStages[] = [];
    for (const id of this.t.runtimeIds.get(tenant)?.after(undefined, Number.MAX_SAFE_INTEGER) ?? []) {
      const state = this.t.runtimes.get(key(tenant, id))?.state;
      if (state === undefined || state.runtime.workflowId !== workflowId) continue;
      const { version, createdAt } = state.runtime;
      if (filter.version !== undefined && version !== filter.version) continue;
      if (filter.since !== undefined && createdAt < filter.since) continue;
      matched.push({ runtimeId: id, version, createdAt, stages: state.stages });
    }
    matched.sort((a, b) => b.createdAt - a.createdAt || compareStrings(b.runtimeId, a.runtimeId));
    return { runtimes: structuredClone(matched.slice(0, limit)), truncated: matched.length > limit };
  }
}
