import type { Member, NodeDefinition, WorkflowDefinition } from './definition-schema.ts';
import { GROUP_LEVEL } from './definition-schema.ts';
import type { DirectoryView, Employee, Group } from './directory.ts';
import type { EmployeeId } from './ids.ts';

/**
 * Assignee resolution (docs/domain.md#positions). Positions are relative to the
 * beneficiary: the employee named by the definition's `beneficiary` field, else
 * the creator.
 */

/** The employee positions are relative to. */
export function beneficiaryOf(
  def: WorkflowDefinition,
  doc: Readonly<Record<string, unknown>>,
  creator: EmployeeId,
): EmployeeId {
  if (def.beneficiary === undefined || !Object.hasOwn(doc, def.beneficiary)) return creator;
  const value = doc[def.beneficiary];
  return typeof value === 'string' && value !== '' ? value : creator;
}

/** Manager of the employee's group; if they manage it themselves, the parent group's manager. */
export function manager1(dir: DirectoryView, employeeId: EmployeeId): EmployeeId | undefined {
  const group = groupOf(dir, employeeId);
  if (!group) return undefined;
  if (group.managerId !== undefined && group.managerId !== employeeId) return group.managerId;
  return parentOf(dir, group)?.managerId;
}

/** Manager of the parent of the employee's group. */
export function upperManager(dir: DirectoryView, employeeId: EmployeeId): EmployeeId | undefined {
  const group = groupOf(dir, employeeId);
  return group ? parentOf(dir, group)?.managerId : undefined;
}

/** Manager of the ancestor group (the employee's own group included) at `level`. */
export function groupLevelManager(dir: DirectoryView, employeeId: EmployeeId, level: number): EmployeeId | undefined {
  const chain = ancestry(dir, groupOf(dir, employeeId));
  const depthOfRoot = chain.length - 1;
  for (let i = 0; i < chain.length; i++) {
    const group = chain[i]!;
    if ((group.level ?? depthOfRoot - i) === level) return group.managerId;
  }
  return undefined;
}

/** The employees one member entry stands for (before filtering inactive ones). */
export function resolveMember(dir: DirectoryView, member: Member, beneficiary: EmployeeId): EmployeeId[] {
  if ('employee' in member) return [member.employee];
  if ('group' in member) return dir.groupMembers(member.group).map((e) => e.id);
  const found = resolvePosition(dir, member.position, beneficiary);
  return found === undefined ? [] : [found];
}

function resolvePosition(dir: DirectoryView, position: string, beneficiary: EmployeeId): EmployeeId | undefined {
  switch (position) {
    case 'manager_1':
      return manager1(dir, beneficiary);
    case 'manager_2': {
      const first = manager1(dir, beneficiary);
      return first === undefined ? undefined : manager1(dir, first);
    }
    case 'upper_manager':
      return upperManager(dir, beneficiary);
    default: {
      const level = GROUP_LEVEL.exec(position);
      return level ? groupLevelManager(dir, beneficiary, Number(level[1])) : undefined;
    }
  }
}

export type AssigneeResult = { ok: true; assignees: EmployeeId[] } | { ok: false; reason: string };

export interface ResolveInput {
  def: WorkflowDefinition;
  node: NodeDefinition;
  doc: Readonly<Record<string, unknown>>;
  creator: EmployeeId;
  dir: DirectoryView;
  /** out_form: the choice made on the stage being left (or, after a return, the earlier visit's assignees). */
  chosen?: readonly EmployeeId[] | undefined;
}

/**
 * The assignees of a new stage at `node`: duplicates removed, inactive and
 * unknown employees skipped, the creator removed when self-approval is off.
 */
export function resolveAssignees(input: ResolveInput): AssigneeResult {
  const candidates = candidatesFor(input);
  if (!candidates.ok) return candidates;
  const seen = new Set<EmployeeId>();
  const assignees: EmployeeId[] = [];
  for (const id of candidates.assignees) {
    if (seen.has(id)) continue;
    seen.add(id);
    if (!isActive(input.dir.employee(id))) continue;
    if (input.node.allowSelfApproval === false && id === input.creator) continue;
    assignees.push(id);
  }
  if (assignees.length === 0) {
    return {
      ok: false,
      reason: `no active assignee could be resolved for node "${input.node.id}" (${describe(input.node)})`,
    };
  }
  return { ok: true, assignees };
}

function candidatesFor({ def, node, doc, creator, dir, chosen }: ResolveInput): AssigneeResult {
  const collaborators = node.collaborators;
  if (!collaborators) return { ok: true, assignees: [creator] };
  switch (collaborators.type) {
    case 'in_form': {
      const value = Object.hasOwn(doc, collaborators.field) ? doc[collaborators.field] : undefined;
      return { ok: true, assignees: typeof value === 'string' && value !== '' ? [value] : [] };
    }
    case 'out_form':
      return { ok: true, assignees: chosen === undefined ? [] : [...chosen] };
    case 'in_workflow': {
      const beneficiary = beneficiaryOf(def, doc, creator);
      return { ok: true, assignees: collaborators.members.flatMap((m) => resolveMember(dir, m, beneficiary)) };
    }
  }
}

function describe(node: NodeDefinition): string {
  const c = node.collaborators;
  if (!c) return 'creator';
  if (c.type === 'in_form') return `in_form field "${c.field}"`;
  if (c.type === 'out_form') return 'out_form: no next assignee was chosen';
  return `in_workflow members ${JSON.stringify(c.members)}`;
}

function isActive(employee: Employee | undefined): boolean {
  return employee?.active === true;
}

function groupOf(dir: DirectoryView, employeeId: EmployeeId): Group | undefined {
  const groupId = dir.employee(employeeId)?.groupId;
  return groupId === undefined ? undefined : dir.group(groupId);
}

function parentOf(dir: DirectoryView, group: Group): Group | undefined {
  return group.parentId === undefined ? undefined : dir.group(group.parentId);
}

/** The group and its ancestors, nearest first; stops at a cycle. */
function ancestry(dir: DirectoryView, start: Group | undefined): Group[] {
  const chain: Group[] = [];
  const seen = new Set<string>();
  for (let g = start; g && !seen.has(g.id); g = parentOf(dir, g)) {
    seen.add(g.id);
    chain.push(g);
  }
  return chain;
}
