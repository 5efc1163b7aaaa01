import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { CompiledWorkflow } from '../../engine/index.ts';
import type { InboxItem } from '../../store/ports.ts';
import { principalFrom, requireRole } from '../middleware/auth.ts';
import type { GatewayEnv } from '../gateway-env.ts';
import { iso, json, problems } from '../schemas/common.ts';
import { clusterSchema, inboxQuery, inboxSchema, type InboxItemView } from '../schemas/tasks.ts';
import { paged, type ApiContext } from './route-kit.ts';

const getInbox = createRoute({
  method: 'get',
  path: '/api/v1/tasks',
  tags: ['Tasks'],
  summary: "The caller's inbox: open (default) or done tasks, oldest first",
  request: { query: inboxQuery },
  responses: { 200: json(inboxSchema, 'A page of tasks'), ...problems(422) },
});

const getCluster = createRoute({
  method: 'get',
  path: '/api/v1/cluster',
  tags: ['Operations'],
  summary: 'Nodes, shards, and the owner and epoch of each shard',
  middleware: [requireRole('admin')] as const,
  responses: { 200: json(clusterSchema, 'The shard map'), ...problems(503) },
});

/**
 * The page's views: each item titled by its node in the runtime's pinned version (the read model names it),
 * each distinct version looked up once (compiled versions are cached).
 */
async function inboxViews(ctx: ApiContext, tenant: string, items: readonly InboxItem[]): Promise<InboxItemView[]> {
  const versionOf = (item: InboxItem): string => `${item.version}@${item.workflowId}`;
  const loading = new Map<string, Promise<CompiledWorkflow>>();
  for (const item of items)
    if (!loading.has(versionOf(item)))
      loading.set(versionOf(item), ctx.compiled(tenant, item.workflowId, item.version));
  // Promise.all, not one await after another: a second rejection would go unhandled meanwhile.
  const loaded = await Promise.all(loading.values());
  const compiled = new Map([...loading.keys()].map((version, i) => [version, loaded[i]!]));
  return items.map((item) => {
    const title = compiled.get(versionOf(item))!.nodes.get(item.node)?.title ?? item.node;
    const view: InboxItemView = {
      runtimeId: item.runtimeId,
      app: item.app,
      docId: item.docId,
      node: item.node,
      title,
      assignedAt: iso(item.assignedAt),
    };
    if (item.dueAt !== undefined) view.dueAt = iso(item.dueAt);
    return view;
  });
}

export function registerTaskRoutes(app: OpenAPIHono<GatewayEnv>, ctx: ApiContext): void {
  app.openapi(getInbox, async (c) => {
    const principal = principalFrom(c);
    const { status, limit, cursor } = c.req.valid('query');
    const page = await paged(ctx.deps.read.inbox(principal.tenant, principal.employee, status, limit, cursor));
    const items = await inboxViews(ctx, principal.tenant, page.items);
    return c.json({ items, nextCursor: page.nextCursor }, 200);
  });

  app.openapi(getCluster, async (c) => c.json(await ctx.deps.cluster(), 200));
}
