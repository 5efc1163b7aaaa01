import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppConfig } from '../../store/ports.ts';
import { ApiError } from '../api-error.ts';
import { principalFrom, requireRole } from '../middleware/auth.ts';
import type { GatewayEnv } from '../gateway-env.ts';
import { json, jsonBody, problems } from '../schemas/common.ts';
import { appConfigBody, appConfigSchema, appParams } from '../schemas/workflows.ts';
import type { ApiContext } from './route-kit.ts';

const putAppConfig = createRoute({
  method: 'put',
  path: '/api/v1/apps/{app}/config',
  tags: ['Workflows'],
  summary: 'Bind an app (per company, or tenant-wide) to a workflow of the tenant and set its mode',
  middleware: [requireRole('designer', 'admin')] as const,
  request: { params: appParams, body: jsonBody(appConfigBody) },
  responses: { 200: json(appConfigSchema, 'The stored config'), ...problems(422) },
});

export function registerAppConfigRoutes(app: OpenAPIHono<GatewayEnv>, ctx: ApiContext): void {
  app.openapi(putAppConfig, async (c) => {
    const { tenant } = principalFrom(c);
    const { app: appCode } = c.req.valid('param');
    const { workflowId, mode, companyId = '', autoMigrate = false } = c.req.valid('json');
    // Another tenant's workflow is as absent as one that never existed.
    const workflow = await ctx.deps.workflows.getWorkflow(tenant, workflowId);
    if (!workflow)
      throw new ApiError(422, 'validation_failed', `workflow ${workflowId} not found`, [
        { path: 'workflowId', message: 'no such workflow' },
      ]);
    if (workflow.app !== appCode) {
      throw new ApiError(422, 'validation_failed', `workflow ${workflowId} is for app ${workflow.app}`, [
        { path: 'workflowId', message: `is a workflow of ${workflow.app}, not ${appCode}` },
      ]);
    }
    const config: AppConfig = { tenant, companyId, app: appCode, mode, workflowId, autoMigrate };
    await ctx.deps.workflows.setAppConfig(config);
    return c.json({ app: appCode, companyId, workflowId, mode, autoMigrate }, 200);
  });
}
