import { z } from 'zod';

/**
 * The workflow definition format of docs/definitions.md, as a zod schema.
 * Objects are strict: an unknown key is an error naming its path, so a typo in a
 * definition never silently changes behaviour.
 */

const id = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'use letters, digits, _ . : -');

export const FIELD_TYPES = ['string', 'number', 'boolean', 'date', 'employee', 'array'] as const;
export const fieldTypeSchema = z.enum(FIELD_TYPES);
export type FieldType = z.infer<typeof fieldTypeSchema>;

export const OPERATORS = ['=', '!=', '<', '<=', '>', '>=', 'is', 'contains', 'not_contain'] as const;
export const operatorSchema = z.enum(OPERATORS);
export type Operator = z.infer<typeof operatorSchema>;

export const FUNCTIONS = ['max', 'min', 'sumItemIf', 'contains'] as const;

export type Literal = string | number | boolean | null;
export type FieldRef = { field: string };
export type FunctionCall = { fn: (typeof FUNCTIONS)[number]; args: Operand[] };
/** A field name (left side only), a literal (right side), `{field}` or a function call. */
export type Operand = Literal | FieldRef | FunctionCall | Condition;
export type ConditionLeaf = { left: Operand; op: Operator; right: Operand };
export type Condition = ConditionLeaf | { and: Condition[] } | { or: Condition[] };

const literalSchema = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]);
const fieldRefSchema = z.strictObject({ field: z.string().min(1) });

export const operandSchema: z.ZodType<Operand> = z.lazy(() =>
  z.union([
    literalSchema,
    fieldRefSchema,
    z.strictObject({ fn: z.enum(FUNCTIONS), args: z.array(operandSchema).max(20) }),
    conditionSchema,
  ]),
);

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.strictObject({ left: operandSchema, op: operatorSchema, right: operandSchema }),
    z.strictObject({ and: z.array(conditionSchema).min(1).max(100) }),
    z.strictObject({ or: z.array(conditionSchema).min(1).max(100) }),
  ]),
);

export const POSITIONS = ['manager_1', 'manager_2', 'upper_manager'] as const;
export const GROUP_LEVEL = /^group_level:(\d{1,3})$/;

export const memberSchema = z.union([
  z.strictObject({ employee: id }),
  z.strictObject({ group: id }),
  z.strictObject({ position: z.string() }),
]);
export type Member = z.infer<typeof memberSchema>;

export const collaboratorsSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('in_form'), field: z.string().min(1) }),
  z.strictObject({ type: z.literal('out_form') }),
  z.strictObject({ type: z.literal('in_workflow'), members: z.array(memberSchema).min(1).max(1000) }),
]);
export type Collaborators = z.infer<typeof collaboratorsSchema>;

export const TASK_ACTIONS = ['approve', 'reject', 'return', 'complete'] as const;
export const taskActionSchema = z.enum(TASK_ACTIONS);
export type TaskAction = z.infer<typeof taskActionSchema>;

export const NODE_KINDS = ['initial', 'task', 'approved', 'completed'] as const;

const isoDuration = z
  .string()
  .regex(
    /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/,
    'an ISO-8601 duration such as PT24H or P2D',
  );

export const nodeSchema = z.strictObject({
  id,
  kind: z.enum(NODE_KINDS),
  title: z.string().min(1).max(200),
  // Kept as plain strings so the validator can name a bad action by its path.
  actions: z.array(z.string()).max(10).optional(),
  collaborators: collaboratorsSchema.optional(),
  exit: z.record(z.string(), z.union([z.number().int(), z.literal('all')])).optional(),
  zones: z
    .strictObject({ editable: z.array(z.string()).default([]), hidden: z.array(z.string()).default([]) })
    .optional(),
  allowSelfApproval: z.boolean().optional(),
  sla: z
    .strictObject({ due: isoDuration, escalateTo: memberSchema.optional(), remindEvery: isoDuration.optional() })
    .optional(),
});
export type NodeDefinition = z.infer<typeof nodeSchema>;

export const associationSchema = z.strictObject({
  from: z.string().min(1),
  to: z.string().min(1),
  condition: conditionSchema.optional(),
  else: z.boolean().optional(),
});
export type Association = z.infer<typeof associationSchema>;

export const zoneSchema = z.strictObject({ id, title: z.string().min(1).max(200), fields: z.array(z.string()).min(1) });
export type Zone = z.infer<typeof zoneSchema>;

export const workflowDefinitionSchema = z.strictObject({
  app: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9_.-]+$/, 'an application code such as purchase.order'),
  name: z.string().min(1).max(200),
  multiCompany: z.boolean().optional(),
  beneficiary: z.string().min(1).optional(),
  fields: z.record(z.string().min(1).max(100), fieldTypeSchema).default({}),
  zones: z.array(zoneSchema).max(100).default([]),
  actionNames: z.record(z.string(), z.string().max(100)).optional(),
  nodes: z.array(nodeSchema).min(1).max(500),
  associations: z.array(associationSchema).max(2000).default([]),
});
/** A parsed definition (defaults applied). */
export type WorkflowDefinition = z.infer<typeof workflowDefinitionSchema>;
/** A definition as written in a file, before defaults. */
export type WorkflowDefinitionInput = z.input<typeof workflowDefinitionSchema>;
