import type { OpenAPIHono } from '@hono/zod-openapi';
import type { GatewayDeps } from '../gateway-deps.ts';
import type { GatewayEnv } from '../gateway-env.ts';

/** Registers every `/api/v1` route on the app (placeholder until the API routes land). */
export function registerApiRoutes(app: OpenAPIHono<GatewayEnv>, deps: GatewayDeps): void {
  void app;
  void deps;
}
