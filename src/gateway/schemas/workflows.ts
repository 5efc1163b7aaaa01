import { z } from '@hono/zod-openapi';
import { companyIdSchema, idSchema, instant } from './common.ts';

/**
 * A workflow definition (docs/definitions.md). Only "a JSON object" is checked
 * here: `validateDefinition` checks the rest so that every error carries the
 * engine's path (`nodes[2].exit.approve`).
 */
export const definitionSchema = z.record(z.string(), z.unknown()).openapi('WorkflowDefinition', {
  description: 'A workflow definition as in DEFINITIONS.md (app, name, fields, zones, nodes, associations, …).',
  example: {
    app: 'purchase.order',
    name: 'Purchase order approval',
    nodes: [{ id: 'start', kind: 'initial', title: 'Requester' }],
  },
});

export const workflowSummarySchema = z
  .object({
    id: z.string(),
    app: z.string(),
    name: z.string(),
    latestVersion: z.number().int().nullable(),
    createdAt: instant,
    updatedAt: instant,
  })
  .openapi('WorkflowSummary');

export const workflowSchema = workflowSummarySchema.extend({ draft: definitionSchema }).openapi('Workflow');

export const workflowListSchema = z
  .object({ items: z.array(workflowSummarySchema), nextCursor: z.string().nullable() })
  .openapi('WorkflowList');

export const workflowListQuery = z.object({
  app: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9_.-]+$/, 'an application code such as purchase.order')
    .optional(),
});

export const versionSchema = z
  .object({
    workflowId: z.string(),
    version: z.number().int(),
    definition: definitionSchema,
    contentHash: z.string(),
    publishedAt: instant,
    publishedBy: z.string().optional(),
    changeLog: z.string().optional(),
  })
  .openapi('WorkflowVersion');

export const publishedSchema = z
  .object({
    id: z.string(),
    version: z.number().int(),
    migrationPlanId: z
      .string()
      .optional()
      .openapi({ description: 'The plan autoMigrate created to move the previous version’s runtimes.' }),
  })
  .openapi('Published');

export const validSchema = z.object({ valid: z.literal(true) }).openapi('Valid');

export const versionParams = z.object({
  id: idSchema.openapi({ param: { name: 'id', in: 'path' }, example: 'wf-po' }),
  version: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .openapi({ param: { name: 'version', in: 'path' }, example: 1 }),
});

export const appParams = z.object({
  app: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9_.-]+$/, 'an application code such as purchase.order')
    .openapi({ param: { name: 'app', in: 'path' }, example: 'purchase.order' }),
});

export const appConfigBody = z
  .object({
    workflowId: idSchema,
    mode: z.enum(['apply', 'unapply', 'pending']),
    companyId: companyIdSchema.optional().openapi({ description: 'Omitted: the tenant-wide default.' }),
    autoMigrate: z.boolean().optional().openapi({
      description:
        'When a new version of the workflow is published, migrate the previous version’s running runtimes to it (identity mapping). @default false',
    }),
  })
  .openapi('AppConfigInput');

export const appConfigSchema = z
  .object({
    app: z.string(),
    companyId: z.string(),
    workflowId: z.string(),
    mode: z.enum(['apply', 'unapply', 'pending']),
    autoMigrate: z.boolean(),
  })
  .openapi('AppConfig');
