import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { RetentionStore, StoredRetentionPolicy } from '../../store/retention-ports.ts';
import { ApiError } from '../api-error.ts';
import type { GatewayEnv } from '../gateway-env.ts';
import { principalFrom, requireRole } from '../middleware/auth.ts';
import { iso, json, jsonBody, problems } from '../schemas/common.ts';
import { retentionPolicyBody, retentionPolicySchema } from '../schemas/retention.ts';
import type { ApiContext } from './route-kit.ts';

const tags = ['Retention'];
const admin = [requireRole('admin')];

const getPolicy = createRoute({
  method: 'get',
  path: '/api/v1/retention-policy',
  tags,
  middleware: admin,
  summary: "The tenant's retention policy (the defaults when it never set one)",
  responses: { 200: json(retentionPolicySchema, 'The policy'), ...problems(503) },
});
const putPolicy = createRoute({
  method: 'put',
  path: '/api/v1/retention-policy',
  tags,
  middleware: admin,
  summary: "Set the tenant's retention policy: how long finished runtimes' audit logs are kept",
  request: { body: jsonBody(retentionPolicyBody) },
  responses: { 200: json(retentionPolicySchema, 'The policy as saved'), ...problems(422, 503) },
});

const view = (p: StoredRetentionPolicy | undefined) => ({
  auditLogDays: p?.auditLogDays ?? null,
  updatedAt: p === undefined ? null : iso(p.updatedAt),
});

/** `/api/v1/retention-policy` (admin): the tenant's audit-log retention (docs/operations.md#retention). */
export function registerRetentionRoutes(app: OpenAPIHono<GatewayEnv>, ctx: ApiContext): void {
  app.openapi(getPolicy, async (c) => c.json(view(await storeOf(ctx).getPolicy(principalFrom(c).tenant)), 200));

  app.openapi(putPolicy, async (c) => {
    const { tenant } = principalFrom(c);
    const { auditLogDays } = c.req.valid('json');
    return c.json(view(await storeOf(ctx).setPolicy(tenant, { auditLogDays }, ctx.now())), 200);
  });
}

function storeOf(ctx: ApiContext): RetentionStore {
  const store = ctx.deps.retention;
  if (!store) throw new ApiError(503, 'unavailable', 'retention is not configured on this gateway');
  return store;
}
