import { z } from '@hono/zod-openapi';
import { MIGRATION_BLOCKS } from '../../engine/index.ts';
import { idSchema, instant } from './common.ts';

/** A node id as definitions spell them (docs/definitions.md). */
const nodeId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'a node id: letters, digits, _ . : -');

const version = z.number().int().min(1).max(1_000_000);

export const migrationFilterSchema = z
  .strictObject({
    status: z.enum(['created', 'in_progress']).optional(),
    node: nodeId.optional().openapi({ description: 'Only runtimes open at this node of the source version.' }),
  })
  .openapi('MigrationFilter');

export const migrationBody = z
  .strictObject({
    fromVersion: version.openapi({ description: 'The version whose running runtimes move.', example: 1 }),
    toVersion: version.openapi({ description: 'The version they move to.', example: 2 }),
    toWorkflowId: idSchema.optional().openapi({
      description:
        'The workflow of toVersion (default: this one). Runtimes move only between versions of their own workflow.',
    }),
    nodeMap: z
      .record(nodeId, nodeId)
      .refine((m) => Object.keys(m).length <= 500, 'at most 500 entries')
      .default({})
      .openapi({
        description: 'Source node → target node. A node not listed maps to the node of the same id.',
        example: { manager: 'line-manager' },
      }),
    allowEndNodes: z
      .boolean()
      .optional()
      .openapi({ description: 'Allow nodes to map into end nodes (the runtimes there finish).' }),
    filter: migrationFilterSchema.optional(),
    dryRun: z.boolean().optional().openapi({ description: 'Count what would happen, with samples; change nothing.' }),
  })
  .openapi('MigrationPlanInput');
export type MigrationBody = z.infer<typeof migrationBody>;

const sampleSchema = z.object({ runtimeId: z.string(), node: z.string(), message: z.string().optional() });
const blockedCounts = z
  .record(z.string(), z.number().int())
  .openapi({ description: `Runtimes that cannot move, by reason: ${MIGRATION_BLOCKS.join(', ')}.` });
const samplesSchema = z
  .record(z.string(), z.array(sampleSchema))
  .openapi({ description: 'Up to 5 runtimes per outcome (`migrated` or a blocked reason).' });

export const migrationPlanSchema = z
  .object({
    id: z.string(),
    workflowId: z.string(),
    fromVersion: z.number().int(),
    toVersion: z.number().int(),
    nodeMap: z.record(z.string(), z.string()),
    allowEndNodes: z.boolean(),
    filter: migrationFilterSchema.optional(),
    status: z.enum(['running', 'completed', 'cancelled']),
    auto: z.boolean().openapi({ description: 'Created by autoMigrate when a version was published.' }),
    createdBy: z.string(),
    createdAt: instant,
    updatedAt: instant,
    finishedAt: instant.optional(),
    progress: z.object({ migrated: z.number().int(), blocked: blockedCounts, samples: samplesSchema }),
  })
  .openapi('MigrationPlan');

export const migrationListSchema = z.object({ items: z.array(migrationPlanSchema) }).openapi('MigrationPlanList');

export const dryRunSchema = z
  .object({
    dryRun: z.literal(true),
    candidates: z.number().int().openapi({ description: 'Active runtimes of the source version the plan takes.' }),
    migratable: z.number().int(),
    blocked: blockedCounts,
    samples: samplesSchema,
  })
  .openapi('MigrationDryRun');

export const migrationParams = z.object({
  id: idSchema.openapi({ param: { name: 'id', in: 'path' }, example: 'wf-po' }),
  planId: idSchema.openapi({ param: { name: 'planId', in: 'path' }, example: '3f2a…' }),
});

const diffEntry = z.object({
  key: z.string(),
  change: z.enum(['added', 'removed', 'changed']),
  before: z.unknown().optional(),
  after: z.unknown().optional(),
});

export const versionDiffSchema = z
  .object({
    workflowId: z.string(),
    from: z.number().int(),
    to: z.number().int(),
    nodes: z.array(diffEntry),
    associations: z.array(diffEntry),
    conditions: z.array(diffEntry),
    fields: z.array(diffEntry),
    zones: z.array(diffEntry),
    collaborators: z.array(diffEntry),
    settings: z.array(diffEntry),
  })
  .openapi('VersionDiff');

export const versionSummarySchema = z
  .object({
    workflowId: z.string(),
    version: z.number().int(),
    contentHash: z.string(),
    publishedAt: instant,
    publishedBy: z.string().optional(),
    changeLog: z.string().optional(),
  })
  .openapi('WorkflowVersionSummary');

export const versionListSchema = z.object({ items: z.array(versionSummarySchema) }).openapi('WorkflowVersionList');

export const diffParams = z.object({
  id: idSchema.openapi({ param: { name: 'id', in: 'path' }, example: 'wf-po' }),
  a: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .openapi({ param: { name: 'a', in: 'path' }, example: 1 }),
  b: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .openapi({ param: { name: 'b', in: 'path' }, example: 2 }),
});

export const publishBody = z
  .strictObject({
    changeLog: z.string().max(4000).optional().openapi({ description: 'What changed, for the versions list.' }),
  })
  .openapi('PublishInput');
