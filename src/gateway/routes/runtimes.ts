import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ShardRequest } from '../../actors/bus/index.ts';
import type { RuntimeState } from '../../engine/index.ts';
import { principalFrom, requireRole } from '../middleware/auth.ts';
import type { GatewayEnv, Principal } from '../gateway-env.ts';
import { historyView } from '../runtime-view.ts';
import { idempotencyHeaders, idParam, json, jsonBody, problems } from '../schemas/common.ts';
import {
  historySchema,
  runtimeListQuery,
  runtimeListSchema,
  runtimeViewSchema,
  startBody,
} from '../schemas/runtimes.ts';
import { sendCommand } from '../command-log.ts';
import { idempotencyKeyOf, notFound, paged, viewerOf, type ApiContext } from './route-kit.ts';

const tags = ['Runtimes'];
const middleware = [requireRole('member', 'integration', 'admin')];
const idParams = z.object({ id: idParam('id', 'rt-1') });

const startRuntime = createRoute({
  method: 'post',
  path: '/api/v1/runtimes',
  tags,
  middleware,
  summary: "Start a document's runtime at the initial stage, assigned to the caller",
  request: { headers: idempotencyHeaders, body: jsonBody(startBody) },
  responses: {
    201: json(runtimeViewSchema, 'Started'),
    200: json(runtimeViewSchema, 'The document already has an active runtime: that runtime'),
    ...problems(409, 422, 503),
  },
});
const getRuntime = createRoute({
  method: 'get',
  path: '/api/v1/runtimes/{id}',
  tags,
  middleware,
  summary: 'The runtime as the caller sees it',
  request: { params: idParams },
  responses: { 200: json(runtimeViewSchema, 'The runtime view'), ...problems(404, 422) },
});
const listRuntimes = createRoute({
  method: 'get',
  path: '/api/v1/runtimes',
  tags,
  middleware,
  summary: "The tenant's runtimes, filtered",
  request: { query: runtimeListQuery },
  responses: { 200: json(runtimeListSchema, 'A page of runtime views'), ...problems(422) },
});
const getHistory = createRoute({
  method: 'get',
  path: '/api/v1/runtimes/{id}/history',
  tags,
  middleware,
  summary: 'Every stage with its times, and the audit log',
  request: { params: idParams },
  responses: { 200: json(historySchema, 'The history'), ...problems(404, 422) },
});

export function registerRuntimeRoutes(app: OpenAPIHono<GatewayEnv>, ctx: ApiContext): void {
  const read = ctx.deps.read;
  const load = async (principal: Principal, id: string): Promise<RuntimeState> =>
    (await read.getRuntime(principal.tenant, id)) ??
    (() => {
      throw notFound('runtime', id);
    })();

  app.openapi(startRuntime, async (c) => {
    const principal = principalFrom(c);
    const request = startRequest(
      ctx,
      principal,
      c.req.valid('json'),
      idempotencyKeyOf(ctx, c.req.valid('header')['idempotency-key']),
    );
    const reply = await sendCommand(ctx.deps.router, c.var, principal, request);
    if (reply.replayed) c.header('Idempotency-Replayed', 'true');
    const view = await ctx.view(reply.state, principal);
    return reply.created === false ? c.json(view, 200) : c.json(view, 201);
  });

  // The owner's memory first: it holds the latest committed state (a caller reads its own writes even while
  // the read model lags); the read model when the runtime is not live or its owner does not answer in time.
  const current = async (c: Context<GatewayEnv>, principal: Principal, id: string): Promise<RuntimeState> =>
    (await c.var.inTrace(() => ctx.deps.router.readLive?.(principal.tenant, id))) ?? (await load(principal, id));

  app.openapi(getRuntime, async (c) => {
    const principal = principalFrom(c);
    const state = await current(c, principal, c.req.valid('param').id);
    return c.json(await ctx.view(state, principal), 200);
  });

  app.openapi(listRuntimes, async (c) => {
    const principal = principalFrom(c);
    const { limit, cursor, ...filter } = c.req.valid('query');
    const page = await paged(read.listRuntimes(principal.tenant, filter, limit, cursor));
    const items = await Promise.all(page.items.map((s) => ctx.view(s, principal)));
    return c.json({ items, nextCursor: page.nextCursor }, 200);
  });

  app.openapi(getHistory, async (c) => {
    const principal = principalFrom(c);
    const state = await current(c, principal, c.req.valid('param').id);
    const [wf, log] = await Promise.all([
      ctx.compiled(principal.tenant, state.runtime.workflowId, state.runtime.version),
      read.runtimeLog(principal.tenant, state.runtime.id),
    ]);
    return c.json(historyView(wf, state, log, viewerOf(principal)), 200);
  });
}

function startRequest(
  ctx: ApiContext,
  principal: Principal,
  body: z.infer<typeof startBody>,
  idempotencyKey: string,
): ShardRequest {
  const request: ShardRequest = {
    kind: 'start',
    tenant: principal.tenant,
    runtimeId: ctx.newId(),
    app: body.app,
    docId: body.docId,
    creator: principal.employee,
    doc: body.doc,
    idempotencyKey,
  };
  const companyId = body.companyId ?? principal.companyId;
  if (companyId !== undefined) request.companyId = companyId;
  return request;
}
