import type { Stage } from '../engine/index.ts';
import { StoreError } from './errors.ts';

/** Most runtimes one analytics read may count (the bound on its work). */
export const MAX_ANALYTICS_RUNTIMES = 10_000;

/** Which runtimes of a workflow the analytics read counts. */
export interface StageSampleFilter {
  /** Only runtimes pinned to this published version. */
  version?: number;
  /** Only runtimes created at or after this instant (epoch ms). */
  since?: number;
}

/** The stages of one runtime, as the analytics aggregation needs them. */
export interface RuntimeStages {
  runtimeId: string;
  version: number;
  createdAt: number;
  stages: Stage[];
}

export interface StageSamples {
  /** Newest first (by creation, then id descending), at most the limit asked for. */
  runtimes: RuntimeStages[];
  /** More runtimes matched than the limit: the oldest were left out. */
  truncated: boolean;
}

/** Read side of `GET /api/v1/analytics/workflows/{id}`: the stages of a workflow's newest runtimes. */
export interface AnalyticsReader {
  stageSamples(tenant: string, workflowId: string, filter: StageSampleFilter, limit: number): Promise<StageSamples>;
}

/** Refuses a sample size outside 1..{@link MAX_ANALYTICS_RUNTIMES}. */
export function checkSampleLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_ANALYTICS_RUNTIMES) {
    throw new StoreError(
      'invalid_record',
      `analytics limit must be an integer from 1 to ${MAX_ANALYTICS_RUNTIMES}, got ${limit}`,
    );
  }
}
