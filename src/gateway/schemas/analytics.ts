import { z } from '@hono/zod-openapi';
import { MAX_ANALYTICS_RUNTIMES } from '../../store/analytics-ports.ts';
import { instant } from './common.ts';

export const analyticsQuery = z.object({
  version: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .optional()
    .openapi({ description: 'Only runtimes of this published version' }),
  since: z.iso.datetime({ offset: true }).optional().openapi({
    description: 'Only runtimes created at or after this instant (ISO-8601)',
    example: '2026-01-01T00:00:00Z',
  }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_ANALYTICS_RUNTIMES)
    .default(MAX_ANALYTICS_RUNTIMES)
    .openapi({ description: `How many of the newest matching runtimes to count (at most ${MAX_ANALYTICS_RUNTIMES})` }),
});

const nodeStatistics = z
  .object({
    node: z.string(),
    title: z
      .string()
      .optional()
      .openapi({ description: "The node's title in the definition the nodes are ordered by" }),
    entered: z.number().int().openapi({ description: 'Visits of the node (a runtime entering it twice counts twice)' }),
    open: z.number().int().openapi({ description: 'Visits still open' }),
    exited: z
      .record(z.string(), z.number().int())
      .openapi({ description: 'Closed visits by the action that closed them', example: { approve: 40, return: 3 } }),
    timeInStage: z
      .object({ samples: z.number().int(), p50Ms: z.number().nullable(), p90Ms: z.number().nullable() })
      .openapi({ description: 'Entered → exited over the closed visits (nearest-rank percentiles, ms)' }),
    slaBreaches: z.number().int(),
  })
  .openapi('NodeStatistics');

export const workflowAnalyticsSchema = z
  .object({
    workflowId: z.string(),
    version: z.number().int().nullable(),
    since: instant.nullable(),
    sample: z
      .object({
        runtimes: z.number().int().openapi({ description: 'Runtimes counted' }),
        limit: z.number().int(),
        truncated: z.boolean().openapi({ description: 'More runtimes matched: only the newest `limit` were counted' }),
        oldestCreatedAt: instant.nullable().openapi({ description: 'Creation of the oldest runtime counted' }),
      })
      .openapi({ description: 'The bound on the work: which runtimes the figures come from' }),
    nodes: z
      .array(nodeStatistics)
      .openapi({ description: "The definition's nodes in order (zeros when never visited), then other visited nodes" }),
  })
  .openapi('WorkflowAnalytics');
