import { POSITIONS, TASK_ACTIONS, type Member, type NodeDefinition } from './definition-schema.ts';
import { jsonPath, quoteList } from './json-path.ts';
import { checkEmployeeField } from './validate-fields.ts';
import type { ValidationContext } from './validation-context.ts';

const GROUP_LEVEL = /^group_level:(0|[1-9][0-9]?)$/;
const POSITION_HINT = `${POSITIONS.join(', ')} or group_level:N (N from 0 to 99)`;

/** Per-node rules: actions, exit counts, collaborators, SLA and zones. */
export function checkNodes(ctx: ValidationContext): void {
  ctx.def.nodes.forEach((node, i) => {
    const path = `nodes[${i}]`;
    if (node.kind === 'task') checkTaskNode(ctx, node, path);
    else checkSystemNode(ctx, node, path);
    checkExit(ctx, node, path);
    checkNodeZones(ctx, node, path);
  });
}

/** Initial and terminal nodes: the runtime decides who acts (the creator) and what they can do. */
function checkSystemNode(ctx: ValidationContext, node: NodeDefinition, path: string): void {
  const role =
    node.kind === 'initial' ? 'the initial node (always assigned to the creator)' : `a ${node.kind} (terminal) node`;
  if (node.actions !== undefined && node.actions.length > 0) {
    ctx.report(`${path}.actions`, `${role} takes no listed actions; remove "actions"`);
  }
  if (node.collaborators !== undefined) {
    ctx.report(`${path}.collaborators`, `${role} has no collaborators to configure; remove "collaborators"`);
  }
  if (node.sla !== undefined) ctx.report(`${path}.sla`, `an SLA applies to task nodes only; remove "sla" from ${role}`);
}

function checkTaskNode(ctx: ValidationContext, node: NodeDefinition, path: string): void {
  checkActions(ctx, node.actions ?? [], `${path}.actions`);
  checkCollaborators(ctx, node, path);
  const escalateTo = node.sla?.escalateTo;
  if (escalateTo !== undefined) checkMember(ctx, escalateTo, `${path}.sla.escalateTo`);
}

function checkActions(ctx: ValidationContext, actions: readonly string[], path: string): void {
  if (actions.length === 0) {
    ctx.report(path, `a task node needs at least one action: any of ${quoteList(TASK_ACTIONS)}`);
  }
  const known: readonly string[] = TASK_ACTIONS;
  actions.forEach((action, j) => {
    const first = actions.indexOf(action);
    if (!known.includes(action)) {
      ctx.report(`${path}[${j}]`, `unknown action "${action}"; use one of ${quoteList(TASK_ACTIONS)}`);
    } else if (first !== j) {
      ctx.report(`${path}[${j}]`, `"${action}" is listed twice (also ${path}[${first}]); remove one`);
    }
  });
}

function checkCollaborators(ctx: ValidationContext, node: NodeDefinition, path: string): void {
  const collaborators = node.collaborators;
  if (collaborators === undefined) {
    ctx.report(`${path}.collaborators`, 'a task node needs collaborators: type "in_form", "out_form" or "in_workflow"');
  } else if (collaborators.type === 'in_form') {
    checkEmployeeField(ctx, collaborators.field, `${path}.collaborators.field`, 'an in_form collaborator');
  } else if (collaborators.type === 'in_workflow') {
    collaborators.members.forEach((member, j) => checkMember(ctx, member, `${path}.collaborators.members[${j}]`));
  }
}

function checkMember(ctx: ValidationContext, member: Member, path: string): void {
  if (!('position' in member)) return;
  const known: readonly string[] = POSITIONS;
  if (!known.includes(member.position) && !GROUP_LEVEL.test(member.position)) {
    ctx.report(`${path}.position`, `unknown position "${member.position}"; use ${POSITION_HINT}`);
  }
}

function checkExit(ctx: ValidationContext, node: NodeDefinition, path: string): void {
  const actions = node.actions ?? [];
  for (const [action, count] of Object.entries(node.exit ?? {})) {
    const at = jsonPath(['exit', action], path);
    if (!actions.includes(action)) {
      ctx.report(
        at,
        `"${action}" is not among this node's actions (${quoteList(actions)}); add it to "actions" or remove this exit rule`,
      );
    }
    if (count !== 'all') checkExitCount(ctx, node, count, at);
  }
}

function checkExitCount(ctx: ValidationContext, node: NodeDefinition, count: number, at: string): void {
  if (count < 1) {
    ctx.report(at, `exit count ${count} must be a positive integer or "all"`);
    return;
  }
  const fixed = fixedEmployees(node);
  if (fixed !== undefined && count > fixed) {
    ctx.report(
      at,
      `needs ${count} assignees to act but the collaborators list only ${fixed} distinct employee(s); lower it, use "all", or add members`,
    );
  }
}

/** The number of distinct assignees when the collaborators are only fixed employees; undefined otherwise. */
function fixedEmployees(node: NodeDefinition): number | undefined {
  const collaborators = node.collaborators;
  if (collaborators?.type !== 'in_workflow') return undefined;
  const ids = new Set<string>();
  for (const member of collaborators.members) {
    if (!('employee' in member)) return undefined;
    ids.add(member.employee);
  }
  return ids.size;
}

function checkNodeZones(ctx: ValidationContext, node: NodeDefinition, path: string): void {
  const declared = ctx.def.zones.map((zone) => zone.id);
  const { editable = [], hidden = [] } = node.zones ?? {};
  for (const [key, ids] of [
    ['editable', editable],
    ['hidden', hidden],
  ] as const) {
    ids.forEach((id, j) => {
      if (!declared.includes(id)) {
        ctx.report(`${path}.zones.${key}[${j}]`, `no zone with id "${id}"; declared zones: ${quoteList(declared)}`);
      } else if (key === 'hidden' && editable.includes(id)) {
        ctx.report(
          `${path}.zones.hidden[${j}]`,
          `zone "${id}" is also editable here; a zone can be editable or hidden, not both`,
        );
      }
    });
  }
}
