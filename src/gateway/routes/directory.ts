import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { Employee, Group } from '../../engine/index.ts';
import { ApiError } from '../api-error.ts';
import { principalFrom, requireRole } from '../middleware/auth.ts';
import type { GatewayEnv } from '../gateway-env.ts';
import { idParam, json, jsonBody, problems } from '../schemas/common.ts';
import {
  employeeBody,
  employeeSchema,
  groupBody,
  groupSchema,
  importBody,
  importResult,
  MAX_IMPORT_ITEMS,
} from '../schemas/directory.ts';
import type { ApiContext } from './route-kit.ts';

const tags = ['Directory'];
const roles = requireRole('admin', 'integration');

const idParams = (example: string) => z.object({ id: idParam('id', example) });

/** Counts the items before the schema runs, so an oversized import is a 413 and is not validated item by item. */
const countItems: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  const body: unknown = await c.req.json().catch(() => undefined);
  if (typeof body === 'object' && body !== null) {
    const { employees, groups } = body as { employees?: unknown; groups?: unknown };
    const count = (Array.isArray(employees) ? employees.length : 0) + (Array.isArray(groups) ? groups.length : 0);
    if (count > MAX_IMPORT_ITEMS) {
      throw new ApiError(
        413,
        'payload_too_large',
        `an import carries at most ${MAX_IMPORT_ITEMS} items (got ${count}); split it into several calls`,
      );
    }
  }
  await next();
};

const putEmployee = createRoute({
  method: 'put',
  path: '/api/v1/directory/employees/{id}',
  tags,
  summary: 'Create or replace an employee',
  middleware: [roles] as const,
  request: { params: idParams('alice'), body: jsonBody(employeeBody) },
  responses: { 200: json(employeeSchema, 'The stored employee'), ...problems(422) },
});

const putGroup = createRoute({
  method: 'put',
  path: '/api/v1/directory/groups/{id}',
  tags,
  summary: 'Create or replace a group of the org chart',
  middleware: [roles] as const,
  request: { params: idParams('g-finance'), body: jsonBody(groupBody) },
  responses: { 200: json(groupSchema, 'The stored group'), ...problems(422) },
});

const importDirectory = createRoute({
  method: 'post',
  path: '/api/v1/directory/import',
  tags,
  summary: `Bulk upsert of employees and groups (at most ${MAX_IMPORT_ITEMS} items)`,
  middleware: [roles, countItems] as const,
  request: { body: jsonBody(importBody) },
  responses: { 200: json(importResult, 'How many of each were upserted'), ...problems(413, 422) },
});

export function registerDirectoryRoutes(app: OpenAPIHono<GatewayEnv>, ctx: ApiContext): void {
  const directory = ctx.deps.directory;
  app.openapi(putEmployee, async (c) => {
    const employee: Employee = { ...c.req.valid('json'), id: c.req.valid('param').id };
    await directory.upsertEmployees(principalFrom(c).tenant, [employee]);
    return c.json(employee, 200);
  });
  app.openapi(putGroup, async (c) => {
    const group: Group = { ...c.req.valid('json'), id: c.req.valid('param').id };
    await directory.upsertGroups(principalFrom(c).tenant, [group]);
    return c.json(group, 200);
  });
  app.openapi(importDirectory, async (c) => {
    const { employees, groups } = c.req.valid('json');
    const tenant = principalFrom(c).tenant;
    // Groups first: employees reference them.
    await directory.upsertGroups(tenant, groups);
    await directory.upsertEmployees(tenant, employees);
    return c.json({ employees: employees.length, groups: groups.length }, 200);
  });
}
