import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { InboxItem } from '../../store/ports.ts';
import { principalFrom, requireRole } from '../middleware/auth.ts';
import type { GatewayEnv, Principal } from '../gateway-env.ts';
import { iso, json, problems } from '../schemas/common.ts';
import { clusterSchema, inboxQuery, inboxSchema, type InboxItemView } from '../schemas/tasks.ts';
import { below } from '../shard-problems.ts';
import { paged, type ApiContext } from './route-kit.ts';

/** Runtimes whose pinned version the inbox remembers (a runtime's version never changes). */
const PINS_KEPT = 10_000;

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

type Pin = { workflowId: string; version: number } | undefined;

/**
 * Each inbox item's title is its node's title in the runtime's version. The
 * read model's items do not name the version, so it is looked up once per
 * runtime (bounded, least recently used first) and the compiled version is cached.
 */
class Titles {
  private readonly pins = new Map<string, Promise<Pin>>();

  constructor(private readonly ctx: ApiContext) {}

  async of(tenant: string, item: InboxItem): Promise<string> {
    const pin = await this.pin(tenant, item.runtimeId);
    if (!pin) return item.node;
    const wf = await this.ctx.compiled(tenant, pin.workflowId, pin.version);
    return wf.nodes.get(item.node)?.title ?? item.node;
  }

  private pin(tenant: string, runtimeId: string): Promise<Pin> {
    const key = JSON.stringify([tenant, runtimeId]);
    const hit = this.pins.get(key);
    if (hit) return hit;
    const loading = below(this.ctx.deps.read.getRuntime(tenant, runtimeId)).then((s) => s && { workflowId: s.runtime.workflowId, version: s.runtime.version });
    this.pins.set(key, loading);
    loading.then((p) => p ?? this.pins.delete(key), () => this.pins.delete(key));
    for (const k of this.pins.keys()) {
      if (this.pins.size <= PINS_KEPT) break;
      this.pins.delete(k);
    }
    return loading;
  }
}

async function inboxItemView(titles: Titles, principal: Principal, item: InboxItem): Promise<InboxItemView> {
  const view: InboxItemView = {
    runtimeId: item.runtimeId,
    app: item.app,
    docId: item.docId,
    node: item.node,
    title: await titles.of(principal.tenant, item),
    assignedAt: iso(item.assignedAt),
  };
  if (item.dueAt !== undefined) view.dueAt = iso(item.dueAt);
  return view;
}

export function registerTaskRoutes(app: OpenAPIHono<GatewayEnv>, ctx: ApiContext): void {
  const titles = new Titles(ctx);
  app.openapi(getInbox, async (c) => {
    const principal = principalFrom(c);
    const { status, limit, cursor } = c.req.valid('query');
    const page = await paged(ctx.deps.read.inbox(principal.tenant, principal.employee, status, limit, cursor));
    const items = await Promise.all(page.items.map((item) => inboxItemView(titles, principal, item)));
    return c.json({ items, nextCursor: page.nextCursor }, 200);
  });

  app.openapi(getCluster, async (c) => c.json(await below(ctx.deps.cluster()), 200));
}
