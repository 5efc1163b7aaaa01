import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { InboxItem } from '../../store/ports.ts';
import { principalFrom, requireRole } from '../middleware/auth.ts';
import type { GatewayEnv, Principal } from '../gateway-env.ts';
import { iso, json, problems } from '../schemas/common.ts';
import { clusterSchema, inboxQuery, inboxSchema, type InboxItemView } from '../schemas/tasks.ts';
import { below } from '../shard-problems.ts';
import { paged, type ApiContext } from './route-kit.ts';

const getInbox = createRoute({
  method: 'get', path: '/api/v1/tasks', tags: ['Tasks'], summary: "The caller's inbox: open (default) or done tasks, oldest first",
  request: { query: inboxQuery },
  responses: { 200: json(inboxSchema, 'A page of tasks'), ...problems(422) },
});

const getCluster = createRoute({
  method: 'get', path: '/api/v1/cluster', tags: ['Operations'], summary: 'Nodes, shards, and the owner and epoch of each shard',
  middleware: [requireRole('admin')] as const,
  responses: { 200: json(clusterSchema, 'The shard map'), ...problems(503) },
});

/** An item's title: its node's title in the runtime's pinned version (the read model names it; compiled versions are cached). */
async function titleOf(ctx: ApiContext, tenant: string, item: InboxItem): Promise<string> {
  const wf = await ctx.compiled(tenant, item.workflowId, item.version);
  return wf.nodes.get(item.node)?.title ?? item.node;
}

async function inboxItemView(ctx: ApiContext, principal: Principal, item: InboxItem): Promise<InboxItemView> {
  const view: InboxItemView = {
    runtimeId: item.runtimeId,
    app: item.app,
    docId: item.docId,
    node: item.node,
    title: await titleOf(ctx, principal.tenant, item),
    assignedAt: iso(item.assignedAt),
  };
  if (item.dueAt !== undefined) view.dueAt = iso(item.dueAt);
  return view;
}

export function registerTaskRoutes(app: OpenAPIHono<GatewayEnv>, ctx: ApiContext): void {
  app.openapi(getInbox, async (c) => {
    const principal = principalFrom(c);
    const { status, limit, cursor } = c.req.valid('query');
    const page = await paged(ctx.deps.read.inbox(principal.tenant, principal.employee, status, limit, cursor));
    const items = await Promise.all(page.items.map((item) => inboxItemView(ctx, principal, item)));
    return c.json({ items, nextCursor: page.nextCursor }, 200);
  });

  app.openapi(getCluster, async (c) => c.json(await below(ctx.deps.cluster()), 200));
}
