import type { Context, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { matchedRoutes } from 'hono/route';
import { Histogram, type Registry } from 'prom-client';
import type { GatewayEnv } from '../gateway-env.ts';

const NAME = 'bflow_http_request_duration_seconds';

/** The histogram, registered once per registry (several apps may share one in tests). */
function histogram(registry: Registry): Histogram<'method' | 'route' | 'status'> {
  const existing = registry.getSingleMetric(NAME);
  if (existing !== undefined) return existing as Histogram<'method' | 'route' | 'status'>;
  return new Histogram({
    name: NAME,
    help: 'HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
}

/**
 * The route *template* (`/api/v1/runtimes/:id`), never the raw path, so the
 * label set stays bounded: the last matched handler registered for a method
 * (middleware are registered for ALL); `unmatched` for 404s and preflights.
 */
export function routeTemplate(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i];
    if (route !== undefined && route.method !== 'ALL') return route.path;
  }
  return 'unmatched';
}

/** Times every request into `bflow_http_request_duration_seconds{method,route,status}`. */
export function httpMetrics(registry: Registry): MiddlewareHandler<GatewayEnv> {
  const h = histogram(registry);
  return createMiddleware<GatewayEnv>(async (c, next) => {
    const end = h.startTimer();
    try {
      await next();
    } finally {
      end({ method: c.req.method, route: routeTemplate(c), status: String(c.res.status) });
    }
  });
}
