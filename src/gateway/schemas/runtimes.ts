import { z } from '@hono/zod-openapi';
import { ACTIONS, RUNTIME_STATUSES } from '../../engine/index.ts';
import {
  companyIdSchema,
  fieldsObject,
  idSchema,
  idempotencyKeySchema,
  instant,
  pageQuery,
  problemSchema,
} from './common.ts';

/** Most items one `POST /actions/batch` may carry. */
export const MAX_BATCH_ITEMS = 100;

const appCode = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.-]+$/, 'an application code such as purchase.order');
const docDescription = 'Document parameters; conditions read them.';

export const startBody = z
  .object({
    app: appCode.openapi({ example: 'purchase.order' }),
    docId: idSchema.openapi({ example: 'PO-2026-0001' }),
    doc: fieldsObject().openapi({ description: docDescription }),
    companyId: companyIdSchema.optional().openapi({ description: "Default: the token's company." }),
  })
  .openapi('StartRuntime');

const commandFields = {
  action: z.enum(ACTIONS),
  comment: z.string().max(10_000).optional(),
  toNode: idSchema.optional(),
  toEmployee: idSchema.optional(),
  fromEmployee: idSchema.optional(),
  nextAssignee: idSchema.optional(),
  patch: fieldsObject().optional(),
  expectedRevision: z.number().int().min(0).optional(),
};

export const actionBody = z.object(commandFields).openapi('RuntimeAction');
export type ActionBody = z.infer<typeof actionBody>;

export const batchItem = z.object({
  runtimeId: idSchema,
  ...commandFields,
  idempotencyKey: idempotencyKeySchema.optional().openapi({
    description: "Default: the request's Idempotency-Key (or a fresh one) followed by `:<index>`.",
  }),
});
export type BatchItem = z.infer<typeof batchItem>;

export const batchBody = z
  .object({ items: z.array(batchItem).min(1).max(MAX_BATCH_ITEMS) })
  .openapi('ActionBatch', { description: `At most ${MAX_BATCH_ITEMS} items; items of one runtime run in order.` });

const taskView = z.object({
  assignee: z.string(),
  status: z.enum(['open', 'done', 'skipped']),
  action: z.string().optional(),
});

export const stageViewSchema = z
  .object({
    node: z.string(),
    title: z.string(),
    status: z.enum(['open', 'closed']),
    exitAction: z.string().optional(),
    dueAt: instant.optional(),
    tasks: z.array(taskView),
  })
  .openapi('Stage');
export type StageView = z.infer<typeof stageViewSchema>;

export const runtimeViewSchema = z
  .object({
    id: z.string(),
    app: z.string(),
    docId: z.string(),
    companyId: z.string().optional(),
    creator: z.string(),
    workflowId: z.string(),
    version: z.number().int(),
    status: z.enum(RUNTIME_STATUSES),
    failure: z.object({ code: z.string(), message: z.string(), node: z.string() }).optional(),
    stages: z.array(stageViewSchema),
    doc: z
      .record(z.string(), z.unknown())
      .openapi({ description: "Without the caller's hidden fields (admins see all)." }),
    allowedActions: z.array(z.enum(ACTIONS)),
    editableFields: z.array(z.string()),
    createdAt: instant,
    updatedAt: instant,
    revision: z.number().int(),
  })
  .openapi('Runtime');
export type RuntimeView = z.infer<typeof runtimeViewSchema>;

export const runtimeListQuery = pageQuery.extend({
  app: appCode.optional(),
  docId: idSchema.optional(),
  status: z.enum(RUNTIME_STATUSES).optional(),
});

export const runtimeListSchema = z
  .object({ items: z.array(runtimeViewSchema), nextCursor: z.string().nullable() })
  .openapi('RuntimeList');

export const batchResultSchema = z
  .object({
    results: z.array(
      z.object({
        runtimeId: z.string(),
        status: z.number().int().openapi({ description: 'HTTP status of this item' }),
        runtime: runtimeViewSchema.optional(),
        problem: problemSchema.optional(),
      }),
    ),
  })
  .openapi('ActionBatchResult');
export type BatchResult = z.infer<typeof batchResultSchema>['results'][number];

export const historyStageSchema = stageViewSchema
  .extend({ enteredAt: instant, exitedAt: instant.optional() })
  .openapi('HistoryStage');

export const logEntrySchema = z
  .object({
    seq: z.number().int(),
    at: instant,
    actor: z.string(),
    action: z.string(),
    fromNode: z.string(),
    toNode: z.string().optional(),
    comment: z.string().optional(),
    changes: z
      .record(z.string(), z.tuple([z.unknown(), z.unknown()]))
      .optional()
      .openapi({ description: "field → [before, after], without the caller's hidden fields" }),
  })
  .openapi('LogEntry');

export const historySchema = z
  .object({ stages: z.array(historyStageSchema), log: z.array(logEntrySchema) })
  .openapi('RuntimeHistory');
export type HistoryView = z.infer<typeof historySchema>;
