import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { stageStatistics, type WorkflowDefinition } from '../../engine/index.ts';
import type { AnalyticsReader } from '../../store/analytics-ports.ts';
import { ApiError } from '../api-error.ts';
import type { GatewayEnv } from '../gateway-env.ts';
import { principalFrom, requireRole } from '../middleware/auth.ts';
import { analyticsQuery, workflowAnalyticsSchema } from '../schemas/analytics.ts';
import { idParam, iso, json, problems } from '../schemas/common.ts';
import { notFound, type ApiContext } from './route-kit.ts';

const getWorkflowAnalytics = createRoute({
  method: 'get',
  path: '/api/v1/analytics/workflows/{id}',
  tags: ['Analytics'],
  middleware: [requireRole('designer', 'admin')],
  summary:
    'Per node of a workflow: visits, exits by action, time in stage p50/p90 and SLA breaches, over its newest runtimes',
  request: { params: z.object({ id: idParam('id', 'wf-po') }), query: analyticsQuery },
  responses: {
    200: json(workflowAnalyticsSchema, 'Statistics per node, and which runtimes they come from'),
    ...problems(404, 422),
  },
});

function readerOf(ctx: ApiContext): AnalyticsReader {
  const reader = ctx.deps.analytics;
  if (!reader) throw new ApiError(503, 'unavailable', 'analytics are not configured on this gateway');
  return reader;
}

/**
 * The definition whose node order (and titles) the answer follows: the
 * version asked for, else the latest published one, else the draft.
 */
async function definitionFor(
  ctx: ApiContext,
  tenant: string,
  id: string,
  version: number | undefined,
): Promise<WorkflowDefinition> {
  const workflow = await ctx.deps.workflows.getWorkflow(tenant, id);
  if (!workflow) throw notFound('workflow', id);
  const wanted = version ?? workflow.latestVersion ?? undefined;
  if (wanted === undefined) return workflow.draft;
  const stored = await ctx.deps.workflows.getVersion(tenant, id, wanted);
  if (!stored) throw notFound('version', `${id}@${wanted}`);
  return stored.definition;
}

export function registerAnalyticsRoutes(app: OpenAPIHono<GatewayEnv>, ctx: ApiContext): void {
  app.openapi(getWorkflowAnalytics, async (c) => {
    const reader = readerOf(ctx);
    const { tenant } = principalFrom(c);
    const { id } = c.req.valid('param');
    const { version, since, limit } = c.req.valid('query');
    const definition = await definitionFor(ctx, tenant, id, version);
    const sinceMs = since === undefined ? undefined : Date.parse(since);
    const filter = {
      ...(version === undefined ? {} : { version }),
      ...(sinceMs === undefined ? {} : { since: sinceMs }),
    };
    const samples = await reader.stageSamples(tenant, id, filter, limit);
    const titles = new Map(definition.nodes.map((n) => [n.id, n.title]));
    const nodes = stageStatistics(
      samples.runtimes.map((r) => r.stages),
      definition.nodes.map((n) => n.id),
    ).map((s) => (titles.has(s.node) ? { ...s, title: titles.get(s.node)! } : s));
    const oldest = samples.runtimes[samples.runtimes.length - 1];
    return c.json(
      {
        workflowId: id,
        version: version ?? null,
        since: sinceMs === undefined ? null : iso(sinceMs),
        sample: {
          runtimes: samples.runtimes.length,
          limit,
          truncated: samples.truncated,
          oldestCreatedAt: oldest ? iso(oldest.createdAt) : null,
        },
        nodes,
      },
      200,
    );
  });
}
