import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { diffVersions, validateDefinition, type WorkflowDefinition } from '../../engine/index.ts';
import type { WorkflowRecord, WorkflowVersion } from '../../store/ports.ts';
import { ApiError } from '../api-error.ts';
import { principalFrom, requireRole } from '../middleware/auth.ts';
import type { GatewayEnv } from '../gateway-env.ts';
import { idParam, iso, json, jsonBody, pageQuery, problems } from '../schemas/common.ts';
import {
  definitionSchema,
  publishedSchema,
  validSchema,
  versionParams,
  versionSchema,
  workflowListQuery,
  workflowListSchema,
  workflowSchema,
} from '../schemas/workflows.ts';
import { diffParams, publishBody, versionDiffSchema, versionListSchema } from '../schemas/migrations.ts';
import { MigrationPlanner } from '../migration-planner.ts';
import { notFound, type ApiContext } from './route-kit.ts';

const tags = ['Workflows'];
const roles = requireRole('designer', 'admin');
const middleware = [roles];
const idParams = z.object({ id: idParam('id', 'wf-po') });
const definitionBody = jsonBody(definitionSchema);

const createWorkflow = createRoute({
  method: 'post',
  path: '/api/v1/workflows',
  tags,
  middleware,
  summary: 'Create a workflow from a valid definition (its draft)',
  request: { body: definitionBody },
  responses: { 201: json(workflowSchema, 'The new workflow'), ...problems(422) },
});
const listWorkflows = createRoute({
  method: 'get',
  path: '/api/v1/workflows',
  tags,
  middleware,
  summary: "The tenant's workflows, by id",
  request: { query: pageQuery.extend(workflowListQuery.shape) },
  responses: { 200: json(workflowListSchema, 'A page of workflows'), ...problems(422) },
});
const getWorkflow = createRoute({
  method: 'get',
  path: '/api/v1/workflows/{id}',
  tags,
  middleware,
  summary: 'A workflow with its draft',
  request: { params: idParams },
  responses: { 200: json(workflowSchema, 'The workflow'), ...problems(404, 422) },
});
const putWorkflow = createRoute({
  method: 'put',
  path: '/api/v1/workflows/{id}',
  tags,
  middleware,
  summary: 'Replace the draft (published versions never change; publish to freeze the draft)',
  request: { params: idParams, body: definitionBody },
  responses: { 200: json(workflowSchema, 'The workflow with its new draft'), ...problems(404, 422) },
});
const validateWorkflow = createRoute({
  method: 'post',
  path: '/api/v1/workflows/validate',
  tags,
  middleware,
  summary: 'Validate a definition without storing it',
  request: { body: definitionBody },
  responses: { 200: json(validSchema, 'The definition is valid'), ...problems(422) },
});
const publishWorkflow = createRoute({
  method: 'post',
  path: '/api/v1/workflows/{id}/publish',
  tags,
  middleware,
  summary:
    'Freeze the draft as the next immutable version (200 with the latest version when the draft is unchanged); with autoMigrate on an app config of the workflow, running runtimes of the previous version migrate to it',
  request: { params: idParams, body: { required: false, content: { 'application/json': { schema: publishBody } } } },
  responses: {
    201: json(publishedSchema, 'A new version'),
    200: json(publishedSchema, 'The draft equals the latest version'),
    ...problems(404, 422),
  },
});
const listVersions = createRoute({
  method: 'get',
  path: '/api/v1/workflows/{id}/versions',
  tags,
  middleware,
  summary: 'The published versions, oldest first, with who published each and its change log',
  request: { params: idParams },
  responses: { 200: json(versionListSchema, 'The versions'), ...problems(404, 422) },
});
const diffVersionsRoute = createRoute({
  method: 'get',
  path: '/api/v1/workflows/{id}/versions/{a}/diff/{b}',
  tags,
  middleware,
  summary: 'What changed from version a to version b: nodes, associations, conditions, fields, zones, collaborators',
  request: { params: diffParams },
  responses: { 200: json(versionDiffSchema, 'The structural diff'), ...problems(404, 422) },
});
const getVersion = createRoute({
  method: 'get',
  path: '/api/v1/workflows/{id}/versions/{version}',
  tags,
  middleware,
  summary: 'A published version',
  request: { params: versionParams },
  responses: { 200: json(versionSchema, 'The version'), ...problems(404, 422) },
});

/** The engine's verdict; an invalid definition → 422 `validation_failed` with the engine's paths. */
function validDefinition(input: unknown): WorkflowDefinition {
  const result = validateDefinition(input);
  if (!result.ok) throw new ApiError(422, 'validation_failed', 'the workflow definition is invalid', result.errors);
  return result.definition;
}

function workflowSummary(r: WorkflowRecord) {
  return {
    id: r.id,
    app: r.app,
    name: r.name,
    latestVersion: r.latestVersion,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}

const workflowBody = (r: WorkflowRecord) => ({ ...workflowSummary(r), draft: r.draft as Record<string, unknown> });

function versionBody(v: WorkflowVersion) {
  const { publishedAt, definition, ...rest } = v;
  return { ...rest, definition: definition as Record<string, unknown>, publishedAt: iso(publishedAt) };
}

function versionSummary(v: Omit<WorkflowVersion, 'definition'>) {
  return { ...v, publishedAt: iso(v.publishedAt) };
}

/** Keyset page over the (id-sorted) list: the cursor is the last id served, base64url. */
function pageOf(records: WorkflowRecord[], limit: number, cursor: string | undefined) {
  const after = cursor === undefined ? undefined : Buffer.from(cursor, 'base64url').toString('utf8');
  const rest = after === undefined ? records : records.filter((r) => r.id > after);
  const items = rest.slice(0, limit);
  const last = items[items.length - 1];
  const nextCursor = rest.length > limit && last ? Buffer.from(last.id, 'utf8').toString('base64url') : null;
  return { items: items.map(workflowSummary), nextCursor };
}

export function registerWorkflowRoutes(app: OpenAPIHono<GatewayEnv>, ctx: ApiContext): void {
  const store = ctx.deps.workflows;
  const load = async (tenant: string, id: string): Promise<WorkflowRecord> =>
    (await store.getWorkflow(tenant, id)) ??
    (() => {
      throw notFound('workflow', id);
    })();

  app.openapi(createWorkflow, async (c) => {
    const definition = validDefinition(c.req.valid('json'));
    const record = await store.createWorkflow(principalFrom(c).tenant, ctx.newId(), definition, ctx.now());
    return c.json(workflowBody(record), 201);
  });

  app.openapi(listWorkflows, async (c) => {
    const { app: appCode, limit, cursor } = c.req.valid('query');
    const records = await store.listWorkflows(principalFrom(c).tenant, appCode);
    return c.json(pageOf(records, limit, cursor), 200);
  });

  app.openapi(getWorkflow, async (c) =>
    c.json(workflowBody(await load(principalFrom(c).tenant, c.req.valid('param').id)), 200),
  );

  app.openapi(putWorkflow, async (c) => {
    const { tenant } = principalFrom(c);
    const { id } = c.req.valid('param');
    const current = await load(tenant, id);
    const definition = validDefinition(c.req.valid('json'));
    if (definition.app !== current.app) {
      throw new ApiError(422, 'validation_failed', "a workflow's app cannot change; create a new workflow", [
        { path: 'app', message: `must stay ${current.app}` },
      ]);
    }
    if (!(await store.updateDraft(tenant, id, definition, ctx.now()))) throw notFound('workflow', id);
    return c.json(workflowBody(await load(tenant, id)), 200);
  });

  app.openapi(validateWorkflow, async (c) => {
    validDefinition(c.req.valid('json'));
    return c.json({ valid: true as const }, 200);
  });

  app.openapi(publishWorkflow, async (c) => {
    const { tenant } = principalFrom(c);
    const { id } = c.req.valid('param');
    const before = await load(tenant, id);
    // Re-checked: the draft was valid when saved, but the engine's rules may have grown since.
    validDefinition(before.draft);
    const { changeLog } = c.req.valid('json');
    const meta = { publishedBy: principalFrom(c).employee, ...(changeLog !== undefined && { changeLog }) };
    const published = await store.publish(tenant, id, ctx.now(), meta);
    if (!published) throw notFound('workflow', id);
    if (published.version === before.latestVersion) return c.json({ id, version: published.version }, 200);
    const planId = await autoMigrate(ctx, tenant, id, before.latestVersion, published.version);
    if (planId !== undefined) c.get('logger').info({ planId, workflowId: id }, 'autoMigrate: migration plan created');
    return c.json({ id, version: published.version, ...(planId !== undefined && { migrationPlanId: planId }) }, 201);
  });

  app.openapi(listVersions, async (c) => {
    const { tenant } = principalFrom(c);
    const { id } = c.req.valid('param');
    await load(tenant, id);
    return c.json({ items: (await store.listVersions(tenant, id)).map(versionSummary) }, 200);
  });

  app.openapi(diffVersionsRoute, async (c) => {
    const { tenant } = principalFrom(c);
    const { id, a, b } = c.req.valid('param');
    const [from, to] = await Promise.all([store.getVersion(tenant, id, a), store.getVersion(tenant, id, b)]);
    if (!from) throw notFound('version', `${id}@${a}`);
    if (!to) throw notFound('version', `${id}@${b}`);
    return c.json({ workflowId: id, from: a, to: b, ...diffVersions(from.definition, to.definition) }, 200);
  });

  app.openapi(getVersion, async (c) => {
    const { id, version } = c.req.valid('param');
    const stored = await store.getVersion(principalFrom(c).tenant, id, version);
    if (!stored) throw notFound('version', `${id}@${version}`);
    return c.json(versionBody(stored), 200);
  });
}

/**
 * autoMigrate: when an app config bound to the workflow asks for it, the previous version's running runtimes
 * migrate to the new one under the identity mapping (a plan created by `system`; runtimes that cannot move are
 * reported as blocked on the plan). Returns the plan's id, if one was created.
 */
async function autoMigrate(
  ctx: ApiContext,
  tenant: string,
  workflowId: string,
  previous: number | null,
  version: number,
): Promise<string | undefined> {
  const plans = ctx.deps.migrations;
  if (previous === null || plans === undefined) return undefined;
  const configs = await ctx.deps.workflows.appConfigsOf(tenant, workflowId);
  if (!configs.some((config) => config.autoMigrate === true)) return undefined;
  const spec = { workflowId, fromVersion: previous, toVersion: version, nodeMap: {} };
  const { plan } = await new MigrationPlanner(ctx, plans).create(tenant, spec, 'system', true);
  return plan.id;
}
