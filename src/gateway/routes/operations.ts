import type { OpenAPIHono } from '@hono/zod-openapi';
import type { GatewayDeps } from '../gateway-deps.ts';
import type { GatewayEnv } from '../gateway-env.ts';
import { loggableError } from '../loggable-error.ts';
import { registerDocsRoutes } from './docs.ts';

export interface OperationRoutesOptions {
  /** `/ready` answers 503 when the checks take longer. */
  readyTimeoutMs: number;
  /** `info.version` of the OpenAPI document. */
  version: string;
}

/** Name of the bearer security scheme in the OpenAPI document (routes may name it in `security`). */
export const BEARER_SCHEME = 'bearerAuth';

type Readiness = { ready: boolean; checks: Record<string, boolean>; detail?: string };

async function readiness(deps: GatewayDeps, timeoutMs: number): Promise<Readiness> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Error(`readiness checks took longer than ${timeoutMs} ms`);
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late), timeoutMs);
  });
  try {
    const checks = await Promise.race([deps.readiness(), timeout]);
    return { ready: Object.values(checks).every((ok) => ok), checks };
  } catch (err) {
    deps.logger.warn({ err: loggableError(err) }, 'readiness check failed');
    // Unauthenticated endpoint: a dependency's own message (a URL, a host, a credential) stays in the logs.
    return {
      ready: false,
      checks: {},
      detail: err === late ? late.message : 'a readiness check failed; the logs say which',
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Probes and documentation, all without auth:
 * - `GET /health`: the process is alive (no dependency checked).
 * - `GET /ready`: 200 `{ready: true, checks}` only when every check of
 *   `deps.readiness()` is true within the timeout; else 503 with the checks.
 * - `GET /metrics`: Prometheus text of `deps.registry`. Unauthenticated by
 *   design (scrapers hold no JWT): SREs restrict it at the network level
 *   (load balancer / ingress do not route it from outside).
 * - `GET /openapi.json` (OpenAPI 3.1, bearer scheme), `GET /docs` (Swagger UI, its files under `/docs/assets/`).
 */
export function registerOperationRoutes(
  app: OpenAPIHono<GatewayEnv>,
  deps: GatewayDeps,
  options: OperationRoutesOptions,
): void {
  app.get('/health', (c) => c.json({ status: 'ok' }));

  app.get('/ready', async (c) => {
    const result = await readiness(deps, options.readyTimeoutMs);
    return c.json(result, result.ready ? 200 : 503);
  });

  app.get('/metrics', async (c) =>
    c.body(await deps.registry.metrics(), 200, { 'Content-Type': deps.registry.contentType }),
  );

  app.openAPIRegistry.registerComponent('securitySchemes', BEARER_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'claims: sub (employee id, 1–100), tid (tenant id, 1–64), roles (admin|designer|integration|member), exp, optional cid (company id, 1–64); ' +
      'ids are letters, digits and _ . : @ - (anything else is a 401)',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'bflow',
      version: options.version,
      description: 'Approval-workflow runtime API (v1). Errors are application/problem+json.',
    },
    security: [{ [BEARER_SCHEME]: [] }],
  });

  registerDocsRoutes(app);
}
