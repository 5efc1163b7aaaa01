import { z } from '@hono/zod-openapi';
import { instant, pageQuery } from './common.ts';

export const inboxQuery = pageQuery.extend({ status: z.enum(['open', 'done']).default('open') });

export const inboxItemSchema = z
  .object({
    runtimeId: z.string(),
    app: z.string(),
    docId: z.string(),
    node: z.string(),
    title: z.string().openapi({ description: "The node's title in the runtime's workflow version" }),
    assignedAt: instant,
    dueAt: instant.optional(),
  })
  .openapi('Task');
export type InboxItemView = z.infer<typeof inboxItemSchema>;

export const inboxSchema = z
  .object({ items: z.array(inboxItemSchema), nextCursor: z.string().nullable() })
  .openapi('Inbox');

export const clusterSchema = z
  .object({
    shardCount: z.number().int(),
    nodes: z.array(z.object({ id: z.string(), lastSeen: z.number(), shards: z.number().int() })),
    shards: z.array(z.object({ shard: z.number().int(), node: z.string().nullable(), epoch: z.number().nullable() })),
  })
  .openapi('Cluster');
