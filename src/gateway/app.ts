import { OpenAPIHono } from '@hono/zod-openapi';
import { cors } from 'hono/cors';
import { ApiError } from './api-error.ts';
import type { GatewayDeps } from './gateway-deps.ts';
import type { GatewayEnv } from './gateway-env.ts';
import { resolveGatewayOptions, type GatewayOptions } from './gateway-options.ts';
import { bodyLimit } from './middleware/body-limit.ts';
import { auth } from './middleware/auth.ts';
import { FailedAuthLimiter } from './middleware/failed-auth.ts';
import { fixedHeaders, SECURITY_HEADERS } from './middleware/fixed-headers.ts';
import { httpMetrics } from './middleware/http-metrics.ts';
import { rateLimit } from './middleware/rate-limit.ts';
import { requestContext } from './middleware/request-context.ts';
import { errorHandler, notFoundHandler } from './problems/error-handler.ts';
import { validationHook } from './problems/request-validation.ts';
import { MemoryRateLimitStore } from './rate-limit/memory-rate-limit-store.ts';
import { registerApiRoutes } from './routes/index.ts';
import { registerConsoleRoutes } from './routes/console.ts';
import { registerOperationRoutes } from './routes/operations.ts';

export { problemResponse } from './problems/problem-body.ts';
export { validationHook } from './problems/request-validation.ts';
export { hasRole, principalFrom, requireRole } from './middleware/auth.ts';
export type { GatewayOptions } from './gateway-options.ts';

/** Headers a browser client may send / read (CORS). */
const CORS_ALLOW = ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id'];
const CORS_EXPOSE = ['X-Request-Id', 'Retry-After', 'Location'];

/**
 * The gateway's Hono app (no server: `serve({ fetch: app.fetch })` or
 * `app.request()` in tests). Middleware, outermost first:
 * request id + logger → metrics (so 413s, 401s and 429s are timed too) →
 * secure headers → CORS (preflights answered before auth) → body limit →
 * on `/api/v1/*`: auth (with the failed-authentication limit per client IP) → rate limit; then the API routes, the operations
 * routes, the web console (`/console`), and one error handler for everything.
 * @throws GatewayOptionsError for a bad option (at start, never per request)
 */
export function createApp(deps: GatewayDeps, options: GatewayOptions): OpenAPIHono<GatewayEnv> {
  const o = resolveGatewayOptions(options);
  const now = deps.now ?? Date.now;
  const app = new OpenAPIHono<GatewayEnv>({ defaultHook: validationHook });

  app.use(requestContext({ logger: deps.logger, traceOf: deps.traceOf, ...(deps.newId && { newId: deps.newId }) }));
  app.use(httpMetrics(deps.registry));
  app.use(fixedHeaders(SECURITY_HEADERS));
  if (o.corsOrigins.length > 0) {
    app.use(
      cors({
        origin: [...o.corsOrigins],
        allowHeaders: CORS_ALLOW,
        exposeHeaders: CORS_EXPOSE,
        maxAge: 600,
        allowMethods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
      }),
    );
  }
  app.use(
    bodyLimit(o.bodyLimitBytes, () => {
      throw new ApiError(413, 'payload_too_large', `the request body is larger than ${o.bodyLimitBytes} bytes`);
    }),
  );
  const rateLimitStore = o.rateLimit.store ?? new MemoryRateLimitStore({ now });
  const limiter = new FailedAuthLimiter({ ...o.failedAuth, store: rateLimitStore, registry: deps.registry, now });
  app.use('/api/v1/*', auth(o.auth, now, { limiter, trustedProxyHops: o.failedAuth.trustedProxyHops }));
  app.use('/api/v1/*', rateLimit({ ...o.rateLimit, store: rateLimitStore, registry: deps.registry }));

  registerApiRoutes(app, deps);
  registerOperationRoutes(app, deps, { readyTimeoutMs: o.readyTimeoutMs, version: o.version });
  registerConsoleRoutes(app, o.console);

  app.onError(errorHandler(deps.logger));
  app.notFound(notFoundHandler);
  return app;
}
