import type { Role } from '../../src/gateway/gateway-env.ts';
import { poDoc } from '../gateway/test-backend.ts';
import { PO_DEFINITION } from './hostile-requests.ts';
import type { TenantAObjects } from './two-tenants.ts';

/**
 * Every endpoint of the gateway, classified as docs/api.md#roles says: who may call it,
 * whether it writes, and what a caller of another tenant gets when it names
 * tenant A's objects. The matrix test checks this table against the app's
 * own route list (the OpenAPI document and the router), so an endpoint added
 * without a row here fails the suite.
 */

/** `admin` passes every role guard (the tenant's superuser); `any` is any authenticated caller, with or without a role. */
export type Access = { roles: readonly Role[] } | 'any' | 'public';

/**
 * What tenant B gets when it names tenant A's objects (B's admin, so no role stops it):
 * - `not_found`: 404 exactly as for an id that exists nowhere;
 * - `same_as_missing`: the same refusal (status, code) as for an id that exists nowhere (A's workflow in an app config);
 * - `own_tenant`: the call succeeds in B's own namespace (upserts, starts, lists, validation), touching nothing of A;
 * - `item_not_found`: a batch answers 200 with each item's problem 404, as for a runtime that exists nowhere;
 * - `unscoped`: no tenant data at all (the cluster's shard map).
 */
export type Foreign = 'not_found' | 'same_as_missing' | 'own_tenant' | 'item_not_found' | 'unscoped';

export interface Call {
  path: string;
  body?: unknown;
}

export interface Endpoint {
  /** `METHOD /path/{param}` as the OpenAPI document names it. */
  key: string;
  access: Access;
  write: boolean;
  /** A request that is valid for tenant A's caller and names A's objects (`a`); `missing` swaps in ids that exist nowhere. */
  call(a: TenantAObjects, missing?: boolean): Call;
  foreign: Foreign;
  /** A long-lived response (Server-Sent Events): called with `?wait=0` so it ends; the fuzz leaves it out. */
  streams?: true;
}

const RUNTIME_ROLES: readonly Role[] = ['member', 'integration', 'admin'];
const DESIGN_ROLES: readonly Role[] = ['designer', 'admin'];
const DIRECTORY_ROLES: readonly Role[] = ['admin', 'integration'];
const INTEGRATION_ROLES: readonly Role[] = ['admin', 'integration'];
const NOWHERE = 'nowhere-0000';

const rt = (a: TenantAObjects, missing?: boolean) => (missing ? NOWHERE : (a.runtimeIds[0] ?? ''));
const wf = (a: TenantAObjects, missing?: boolean) => (missing ? NOWHERE : a.workflowId);

export const ENDPOINTS: readonly Endpoint[] = [
  // directory
  {
    key: 'PUT /api/v1/directory/employees/{id}',
    access: { roles: DIRECTORY_ROLES },
    write: true,
    foreign: 'own_tenant',
    call: (a) => ({
      path: `/api/v1/directory/employees/${a.employeeId}`,
      body: { name: 'Renamed', groupId: a.groupId, companyId: 'c1', email: 'renamed@example.com' },
    }),
  },
  {
    key: 'PUT /api/v1/directory/groups/{id}',
    access: { roles: DIRECTORY_ROLES },
    write: true,
    foreign: 'own_tenant',
    call: (a) => ({
      path: `/api/v1/directory/groups/${a.groupId}`,
      body: { name: 'Renamed', managerId: a.employeeId },
    }),
  },
  {
    key: 'POST /api/v1/directory/import',
    access: { roles: DIRECTORY_ROLES },
    write: true,
    foreign: 'own_tenant',
    call: (a) => ({
      path: '/api/v1/directory/import',
      body: {
        employees: [{ id: a.employeeId, name: 'Imported', companyId: 'c1' }],
        groups: [{ id: a.groupId, name: 'Imported', parentId: a.groupId }],
      },
    }),
  },
  // workflows
  {
    key: 'POST /api/v1/workflows',
    access: { roles: DESIGN_ROLES },
    write: true,
    foreign: 'own_tenant',
    call: (a) => ({ path: '/api/v1/workflows', body: { ...PO_DEFINITION, app: a.app, name: 'Created' } }),
  },
  {
    key: 'GET /api/v1/workflows',
    access: { roles: DESIGN_ROLES },
    write: false,
    foreign: 'own_tenant',
    call: (a) => ({ path: `/api/v1/workflows?app=${a.app}` }),
  },
  {
    key: 'GET /api/v1/workflows/{id}',
    access: { roles: DESIGN_ROLES },
    write: false,
    foreign: 'not_found',
    call: (a, m) => ({ path: `/api/v1/workflows/${wf(a, m)}` }),
  },
  {
    key: 'PUT /api/v1/workflows/{id}',
    access: { roles: DESIGN_ROLES },
    write: true,
    foreign: 'not_found',
    call: (a, m) => ({
      path: `/api/v1/workflows/${wf(a, m)}`,
      body: { ...PO_DEFINITION, app: a.app, name: 'Replaced' },
    }),
  },
  {
    key: 'POST /api/v1/workflows/validate',
    access: { roles: DESIGN_ROLES },
    write: false,
    foreign: 'own_tenant',
    call: () => ({ path: '/api/v1/workflows/validate', body: PO_DEFINITION }),
  },
  {
    key: 'POST /api/v1/workflows/{id}/publish',
    access: { roles: DESIGN_ROLES },
    write: true,
    foreign: 'not_found',
    call: (a, m) => ({ path: `/api/v1/workflows/${wf(a, m)}/publish` }),
  },
  {
    key: 'GET /api/v1/workflows/{id}/versions/{version}',
    access: { roles: DESIGN_ROLES },
    write: false,
    foreign: 'not_found',
    call: (a, m) => ({ path: `/api/v1/workflows/${wf(a, m)}/versions/1` }),
  },
  {
    key: 'GET /api/v1/workflows/{id}/versions',
    access: { roles: DESIGN_ROLES },
    write: false,
    foreign: 'not_found',
    call: (a, m) => ({ path: `/api/v1/workflows/${wf(a, m)}/versions` }),
  },
  {
    key: 'GET /api/v1/workflows/{id}/versions/{a}/diff/{b}',
    access: { roles: DESIGN_ROLES },
    write: false,
    foreign: 'not_found',
    call: (a, m) => ({ path: `/api/v1/workflows/${wf(a, m)}/versions/1/diff/1` }),
  },
  // migration plans
  {
    key: 'POST /api/v1/workflows/{id}/migrations',
    access: { roles: DESIGN_ROLES },
    // A dry run of version 1 onto itself: refused (422), nothing stored.
    write: true,
    foreign: 'not_found',
    call: (a, m) => ({
      path: `/api/v1/workflows/${wf(a, m)}/migrations`,
      body: { fromVersion: 1, toVersion: 1, dryRun: true },
    }),
  },
  {
    key: 'GET /api/v1/workflows/{id}/migrations',
    access: { roles: DESIGN_ROLES },
    write: false,
    foreign: 'not_found',
    call: (a, m) => ({ path: `/api/v1/workflows/${wf(a, m)}/migrations` }),
  },
  {
    key: 'GET /api/v1/workflows/{id}/migrations/{planId}',
    access: { roles: DESIGN_ROLES },
    write: false,
    foreign: 'not_found',
    call: (a, m) => ({ path: `/api/v1/workflows/${wf(a, m)}/migrations/${a.planId}` }),
  },
  {
    key: 'POST /api/v1/workflows/{id}/migrations/{planId}/cancel',
    access: { roles: DESIGN_ROLES },
    write: true,
    foreign: 'not_found',
    call: (a, m) => ({ path: `/api/v1/workflows/${wf(a, m)}/migrations/${a.planId}/cancel` }),
  },
  {
    key: 'PUT /api/v1/apps/{app}/config',
    access: { roles: DESIGN_ROLES },
    write: true,
    foreign: 'same_as_missing',
    call: (a, m) => ({
      path: `/api/v1/apps/${a.app}/config`,
      body: { workflowId: wf(a, m), mode: 'pending', companyId: 'c1' },
    }),
  },
  // runtimes
  {
    key: 'POST /api/v1/runtimes',
    access: { roles: RUNTIME_ROLES },
    write: true,
    foreign: 'own_tenant',
    call: (a) => ({
      path: '/api/v1/runtimes',
      body: { app: 'purchase.order', docId: a.docIds[0], doc: poDoc(7), companyId: 'c1' },
    }),
  },
  {
    key: 'GET /api/v1/runtimes',
    access: { roles: RUNTIME_ROLES },
    write: false,
    foreign: 'own_tenant',
    call: () => ({ path: '/api/v1/runtimes?app=purchase.order' }),
  },
  {
    key: 'GET /api/v1/runtimes/{id}',
    access: { roles: RUNTIME_ROLES },
    write: false,
    foreign: 'not_found',
    call: (a, m) => ({ path: `/api/v1/runtimes/${rt(a, m)}` }),
  },
  {
    key: 'GET /api/v1/runtimes/{id}/history',
    access: { roles: RUNTIME_ROLES },
    write: false,
    foreign: 'not_found',
    call: (a, m) => ({ path: `/api/v1/runtimes/${rt(a, m)}/history` }),
  },
  {
    key: 'POST /api/v1/runtimes/{id}/actions',
    access: { roles: RUNTIME_ROLES },
    write: true,
    foreign: 'not_found',
    call: (a, m) => ({ path: `/api/v1/runtimes/${rt(a, m)}/actions`, body: { action: 'comment', comment: 'matrix' } }),
  },
  {
    key: 'POST /api/v1/actions/batch',
    access: { roles: RUNTIME_ROLES },
    write: true,
    foreign: 'item_not_found',
    call: (a, m) => ({
      path: '/api/v1/actions/batch',
      body: {
        items: (m ? [NOWHERE] : a.runtimeIds).map((runtimeId) => ({ runtimeId, action: 'comment', comment: 'matrix' })),
      },
    }),
  },
  // webhooks (the GET before the DELETE: the role test deletes A's webhook last)
  {
    key: 'POST /api/v1/webhooks',
    access: { roles: INTEGRATION_ROLES },
    write: true,
    foreign: 'own_tenant',
    call: () => ({
      path: '/api/v1/webhooks',
      body: { url: 'https://hooks.example.com/bflow', events: ['*'], secret: 'matrix-webhook-secret-0123' },
    }),
  },
  {
    key: 'GET /api/v1/webhooks',
    access: { roles: INTEGRATION_ROLES },
    write: false,
    foreign: 'own_tenant',
    call: () => ({ path: '/api/v1/webhooks?limit=500' }),
  },
  {
    key: 'GET /api/v1/webhooks/{id}',
    access: { roles: INTEGRATION_ROLES },
    write: false,
    foreign: 'not_found',
    call: (a, m) => ({ path: `/api/v1/webhooks/${m ? NOWHERE : a.webhookId}` }),
  },
  {
    key: 'DELETE /api/v1/webhooks/{id}',
    access: { roles: INTEGRATION_ROLES },
    write: true,
    foreign: 'not_found',
    call: (a, m) => ({ path: `/api/v1/webhooks/${m ? NOWHERE : a.webhookId}` }),
  },
  // notifications
  {
    key: 'GET /api/v1/notifications',
    access: 'any',
    write: false,
    foreign: 'own_tenant',
    call: () => ({ path: '/api/v1/notifications?limit=500' }),
  },
  {
    key: 'POST /api/v1/notifications/{id}/read',
    access: 'any',
    write: true,
    foreign: 'not_found',
    call: (_a, m) => ({ path: `/api/v1/notifications/${m ? 987654321 : 1}/read` }),
  },
  {
    key: 'POST /api/v1/notifications/read-all',
    access: 'any',
    write: true,
    foreign: 'own_tenant',
    call: () => ({ path: '/api/v1/notifications/read-all' }),
  },
  {
    key: 'GET /api/v1/notifications/stream',
    access: 'any',
    write: false,
    foreign: 'own_tenant',
    streams: true,
    call: () => ({ path: '/api/v1/notifications/stream?wait=0' }),
  },
  {
    key: 'GET /api/v1/notifications/preferences',
    access: 'any',
    write: false,
    foreign: 'own_tenant',
    call: () => ({ path: '/api/v1/notifications/preferences' }),
  },
  {
    key: 'PUT /api/v1/notifications/preferences',
    access: 'any',
    write: true,
    foreign: 'own_tenant',
    call: () => ({ path: '/api/v1/notifications/preferences', body: { channels: { task_assigned: ['in_app'] } } }),
  },
  {
    key: 'GET /api/v1/notifications/settings',
    access: { roles: ['admin'] },
    write: false,
    foreign: 'own_tenant',
    call: () => ({ path: '/api/v1/notifications/settings' }),
  },
  {
    key: 'PUT /api/v1/notifications/settings',
    access: { roles: ['admin'] },
    write: true,
    foreign: 'own_tenant',
    call: () => ({ path: '/api/v1/notifications/settings', body: {} }),
  },
  {
    key: 'GET /api/v1/notifications/dead-letters',
    access: { roles: INTEGRATION_ROLES },
    write: false,
    foreign: 'own_tenant',
    call: () => ({ path: '/api/v1/notifications/dead-letters?limit=500' }),
  },
  // analytics
  {
    key: 'GET /api/v1/analytics/workflows/{id}',
    access: { roles: DESIGN_ROLES },
    write: false,
    foreign: 'not_found',
    call: (a, m) => ({ path: `/api/v1/analytics/workflows/${wf(a, m)}` }),
  },
  // retention
  {
    key: 'GET /api/v1/retention-policy',
    access: { roles: ['admin'] },
    write: false,
    foreign: 'own_tenant',
    call: () => ({ path: '/api/v1/retention-policy' }),
  },
  {
    key: 'PUT /api/v1/retention-policy',
    access: { roles: ['admin'] },
    write: true,
    foreign: 'own_tenant',
    call: () => ({ path: '/api/v1/retention-policy', body: { auditLogDays: 3650 } }),
  },
  // tasks and operations
  {
    key: 'GET /api/v1/tasks',
    access: 'any',
    write: false,
    foreign: 'own_tenant',
    call: () => ({ path: '/api/v1/tasks?status=open' }),
  },
  {
    key: 'GET /api/v1/cluster',
    access: { roles: ['admin'] },
    write: false,
    foreign: 'unscoped',
    call: () => ({ path: '/api/v1/cluster' }),
  },
  { key: 'GET /health', access: 'public', write: false, foreign: 'unscoped', call: () => ({ path: '/health' }) },
  { key: 'GET /ready', access: 'public', write: false, foreign: 'unscoped', call: () => ({ path: '/ready' }) },
  { key: 'GET /metrics', access: 'public', write: false, foreign: 'unscoped', call: () => ({ path: '/metrics' }) },
  {
    key: 'GET /openapi.json',
    access: 'public',
    write: false,
    foreign: 'unscoped',
    call: () => ({ path: '/openapi.json' }),
  },
  { key: 'GET /docs', access: 'public', write: false, foreign: 'unscoped', call: () => ({ path: '/docs' }) },
  {
    key: 'GET /docs/assets/{file}',
    access: 'public',
    write: false,
    foreign: 'unscoped',
    call: () => ({ path: '/docs/assets/docs-init.js' }),
  },
  // The web console's page and files (it calls /api/v1 with the user's token). `GET /console/dev-users` exists in
  // the embedded mode only, so the matrix's gateway does not serve it.
  { key: 'GET /console', access: 'public', write: false, foreign: 'unscoped', call: () => ({ path: '/console' }) },
  { key: 'GET /console/', access: 'public', write: false, foreign: 'unscoped', call: () => ({ path: '/console/' }) },
  {
    key: 'GET /console/assets/{file}',
    access: 'public',
    write: false,
    foreign: 'unscoped',
    call: () => ({ path: '/console/assets/main.js' }),
  },
];

export const methodOf = (e: Endpoint): string => e.key.slice(0, e.key.indexOf(' '));

/** The roles tried on every endpoint: each known role alone, none, and only unknown ones. */
export const ROLE_SETS: Readonly<Record<string, readonly string[]>> = {
  member: ['member'],
  designer: ['designer'],
  integration: ['integration'],
  admin: ['admin'],
  none: [],
  unknown: ['root', 'superuser', 'ADMIN'],
};

/** Whether a caller holding `roles` may call `e` (the role table of docs/api.md#roles; admin passes every guard). */
export function admits(e: Endpoint, roles: readonly string[]): boolean {
  if (e.access === 'public' || e.access === 'any') return true;
  return roles.includes('admin') || e.access.roles.some((r) => roles.includes(r));
}

/** Route keys of the app, from its OpenAPI document and its router (hono `:param` → OpenAPI `{param}`). */
export function routeKeys(
  openapi: { paths: Record<string, Record<string, unknown>> },
  routes: readonly { method: string; path: string }[],
): string[] {
  const keys = new Set<string>();
  for (const [path, ops] of Object.entries(openapi.paths)) {
    for (const method of Object.keys(ops))
      if (['get', 'put', 'post', 'delete', 'patch'].includes(method)) keys.add(`${method.toUpperCase()} ${path}`);
  }
  for (const r of routes) {
    if (r.method === 'ALL' || r.path.includes('*')) continue;
    keys.add(`${r.method} ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
  }
  return [...keys].sort();
}
