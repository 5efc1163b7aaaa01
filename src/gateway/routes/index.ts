import type { OpenAPIHono } from '@hono/zod-openapi';
import type { GatewayDeps } from '../gateway-deps.ts';
import type { GatewayEnv } from '../gateway-env.ts';
import { registerActionRoutes } from './actions.ts';
import { registerAnalyticsRoutes } from './analytics.ts';
import { registerAppConfigRoutes } from './app-config.ts';
import { registerDirectoryRoutes } from './directory.ts';
import { registerMigrationRoutes } from './migrations.ts';
import { registerNotificationRoutes } from './notifications.ts';
import { ApiContext } from './route-kit.ts';
import { registerRetentionRoutes } from './retention.ts';
import { registerRuntimeRoutes } from './runtimes.ts';
import { registerTaskRoutes } from './tasks.ts';
import { registerWebhookRoutes } from './webhooks.ts';
import { registerWorkflowRoutes } from './workflows.ts';

/**
 * Registers every `/api/v1` route (docs/api.md#endpoints). Each route checks the caller's role first (403), then
 * validates with the zod schemas of `../schemas` (the ones the OpenAPI
 * document shows; a failure is the app's `defaultHook`: 422
 * `validation_failed`), and scopes every store call and shard request to the
 * caller's tenant (another tenant's object is a 404).
 */
export function registerApiRoutes(app: OpenAPIHono<GatewayEnv>, deps: GatewayDeps): void {
  const ctx = new ApiContext(deps);
  registerDirectoryRoutes(app, ctx);
  registerWorkflowRoutes(app, ctx);
  registerAppConfigRoutes(app, ctx);
  registerMigrationRoutes(app, ctx);
  registerRuntimeRoutes(app, ctx);
  registerActionRoutes(app, ctx);
  registerTaskRoutes(app, ctx);
  registerWebhookRoutes(app, ctx);
  registerNotificationRoutes(app, ctx);
  registerAnalyticsRoutes(app, ctx);
  registerRetentionRoutes(app, ctx);
}
