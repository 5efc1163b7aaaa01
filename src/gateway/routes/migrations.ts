import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { MigrationPlan, MigrationPlanStore } from '../../store/migration-ports.ts';
import { ApiError } from '../api-error.ts';
import type { GatewayEnv } from '../gateway-env.ts';
import { principalFrom, requireRole } from '../middleware/auth.ts';
import { MigrationPlanner, planIdOf, samePlan } from '../migration-planner.ts';
import { idempotencyHeaders, idParam, iso, json, jsonBody, problems } from '../schemas/common.ts';
import {
  dryRunSchema,
  migrationBody,
  migrationListSchema,
  migrationParams,
  migrationPlanSchema,
  type MigrationBody,
} from '../schemas/migrations.ts';
import { notFound, type ApiContext } from './route-kit.ts';

const tags = ['Migrations'];
const middleware = [requireRole('designer', 'admin')];
const idParams = z.object({ id: idParam('id', 'wf-po') });

const createPlan = createRoute({
  method: 'post',
  path: '/api/v1/workflows/{id}/migrations',
  tags,
  middleware,
  summary:
    'Migrate running runtimes from one version of the workflow to another (or, with dryRun, count what would happen)',
  request: { params: idParams, headers: idempotencyHeaders, body: jsonBody(migrationBody) },
  responses: {
    202: json(migrationPlanSchema, 'The plan, running: GET it for its progress'),
    200: json(dryRunSchema, 'The dry run: counts and samples per outcome; nothing changed'),
    ...problems(404, 422, 503),
  },
});
const listPlans = createRoute({
  method: 'get',
  path: '/api/v1/workflows/{id}/migrations',
  tags,
  middleware,
  summary: "The workflow's migration plans, newest first",
  request: { params: idParams },
  responses: { 200: json(migrationListSchema, 'The plans'), ...problems(404, 422, 503) },
});
const getPlan = createRoute({
  method: 'get',
  path: '/api/v1/workflows/{id}/migrations/{planId}',
  tags,
  middleware,
  summary: 'A migration plan with its progress',
  request: { params: migrationParams },
  responses: { 200: json(migrationPlanSchema, 'The plan'), ...problems(404, 422, 503) },
});
const cancelPlan = createRoute({
  method: 'post',
  path: '/api/v1/workflows/{id}/migrations/{planId}/cancel',
  tags,
  middleware,
  summary: 'Cancel a running plan: runtimes migrated so far stay migrated, the rest stay where they are',
  request: { params: migrationParams },
  responses: { 200: json(migrationPlanSchema, 'The plan, cancelled'), ...problems(404, 409, 422, 503) },
});

/** A plan as the API shows it. */
export function planView(p: MigrationPlan) {
  return {
    id: p.id,
    workflowId: p.workflowId,
    fromVersion: p.fromVersion,
    toVersion: p.toVersion,
    nodeMap: p.nodeMap,
    allowEndNodes: p.allowEndNodes === true,
    ...(p.filter !== undefined && { filter: p.filter }),
    status: p.status,
    auto: p.auto,
    createdBy: p.createdBy,
    createdAt: iso(p.createdAt),
    updatedAt: iso(p.updatedAt),
    ...(p.finishedAt !== undefined && { finishedAt: iso(p.finishedAt) }),
    progress: {
      migrated: p.progress.migrated,
      blocked: p.progress.blocked as Record<string, number>,
      samples: p.progress.samples as Record<string, { runtimeId: string; node: string; message?: string }[]>,
    },
  };
}

/** The first answer to a repeated Idempotency-Key: the plan it created, or 422 when the key created another plan. */
function replayedPlan(c: Context<GatewayEnv>, plan: MigrationPlan, body: MigrationBody, workflowId: string) {
  if (plan.workflowId !== workflowId || !samePlan(plan, body))
    throw new ApiError(422, 'idempotency_key_reused', 'this Idempotency-Key created a different migration plan');
  c.header('Idempotency-Replayed', 'true');
  return c.json(planView(plan), 202);
}

/** The plan store, or 503 when this gateway has none (the migration routes need the cluster's MySQL). */
export function planStore(ctx: ApiContext): MigrationPlanStore {
  const store = ctx.deps.migrations;
  if (!store) throw new ApiError(503, 'unavailable', 'migration plans are not available on this gateway');
  return store;
}

export function registerMigrationRoutes(app: OpenAPIHono<GatewayEnv>, ctx: ApiContext): void {
  const workflowOf = async (tenant: string, id: string) => {
    const wf = await ctx.deps.workflows.getWorkflow(tenant, id);
    if (!wf) throw notFound('workflow', id);
    return wf;
  };
  const planOf = async (tenant: string, id: string, planId: string) => {
    const plan = await planStore(ctx).getPlan(tenant, planId);
    if (!plan || plan.workflowId !== id) throw notFound('migration plan', planId);
    return plan;
  };

  app.openapi(createPlan, async (c) => {
    const principal = principalFrom(c);
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const plans = planStore(ctx);
    await workflowOf(principal.tenant, id);
    const planner = new MigrationPlanner(ctx, plans);
    const key = c.req.valid('header')['idempotency-key'];
    // A repeat of a created plan answers that plan, whatever its runtimes have done since.
    const planId = key === undefined || body.dryRun === true ? undefined : planIdOf(key);
    const first = planId === undefined ? undefined : await plans.getPlan(principal.tenant, planId);
    if (first !== undefined) return replayedPlan(c, first, body, id);
    const checked = await planner.check(principal.tenant, id, body);
    if (body.dryRun === true) return c.json(await planner.dryRun(principal.tenant, checked, principal.employee), 200);
    const { created, plan } = await planner.create(principal.tenant, checked.spec, principal.employee, false, planId);
    if (!created) return replayedPlan(c, plan, body, id);
    c.get('logger').info(
      { planId: plan.id, workflowId: id, from: plan.fromVersion, to: plan.toVersion },
      'migration plan created',
    );
    return c.json(planView(plan), 202);
  });

  app.openapi(listPlans, async (c) => {
    const { tenant } = principalFrom(c);
    const { id } = c.req.valid('param');
    const plans = planStore(ctx);
    await workflowOf(tenant, id);
    return c.json({ items: (await plans.listPlans(tenant, id)).map(planView) }, 200);
  });

  app.openapi(getPlan, async (c) => {
    const { id, planId } = c.req.valid('param');
    return c.json(planView(await planOf(principalFrom(c).tenant, id, planId)), 200);
  });

  app.openapi(cancelPlan, async (c) => {
    const { tenant } = principalFrom(c);
    const { id, planId } = c.req.valid('param');
    const plan = await planOf(tenant, id, planId);
    if (plan.status !== 'running')
      throw new ApiError(
        409,
        'conflict',
        `migration plan ${planId} is ${plan.status}; only a running plan can be cancelled`,
      );
    const cancelled = await planStore(ctx).cancelPlan(tenant, planId, ctx.now());
    if (!cancelled) throw notFound('migration plan', planId);
    if (cancelled.status !== 'cancelled')
      throw new ApiError(
        409,
        'conflict',
        `migration plan ${planId} is ${cancelled.status}; only a running plan can be cancelled`,
      );
    return c.json(planView(cancelled), 200);
  });
}
