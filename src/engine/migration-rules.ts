import { isTerminal, type WorkflowIndex } from './compiled-workflow.ts';
import type { NodeDefinition } from './definition-schema.ts';
import type { EngineErrorDetail } from './errors.ts';
import type { NodeId } from './ids.ts';

/**
 * The mapping rules of a migration between two versions of a workflow (docs/domain.md#migrating-runtimes):
 * a node of the source version goes to the node its `nodeMap` entry names, else to the node of the same id
 * in the target (the identity mapping `autoMigrate` uses). Kinds must match (initial → initial, task →
 * task); a node maps into an end node (approved, completed: the runtime finishes there) only when the plan
 * says `allowEndNodes`. Fields declared in both versions keep their type.
 */
export interface MigrationMapping {
  fromVersion: number;
  toVersion: number;
  /** Source node id → target node id; nodes not listed keep their id. */
  nodeMap: Readonly<Record<NodeId, NodeId>>;
  /** Runtimes may be mapped into end nodes (finishing them). @default false */
  allowEndNodes?: boolean;
}

/** Why one runtime cannot migrate (a dry run counts each; execution reports them). */
export const MIGRATION_BLOCKS = [
  'other_workflow',
  'not_on_version',
  'finished',
  'failed',
  'unmapped_node',
  'incompatible_kind',
  'end_node_not_allowed',
  'document_invalid',
  'no_assignee',
] as const;
export type MigrationBlock = (typeof MIGRATION_BLOCKS)[number];

export type NodeTarget = { ok: true; node: NodeDefinition } | { ok: false; block: MigrationBlock; message: string };

/** Where runtimes at `nodeId` of the source version go in the target version. */
export function targetNode(from: WorkflowIndex, to: WorkflowIndex, m: MigrationMapping, nodeId: NodeId): NodeTarget {
  const source = from.nodes.get(nodeId);
  const explicit = Object.hasOwn(m.nodeMap, nodeId) ? m.nodeMap[nodeId] : undefined;
  const targetId = explicit ?? nodeId;
  const node = to.nodes.get(targetId);
  if (!node) {
    return {
      ok: false,
      block: 'unmapped_node',
      message:
        explicit === undefined
          ? `version ${to.version} has no node "${nodeId}": map it in nodeMap`
          : `version ${to.version} has no node "${targetId}"`,
    };
  }
  if (source && isTerminal(node) && !isTerminal(source)) {
    return m.allowEndNodes === true
      ? { ok: true, node }
      : {
          ok: false,
          block: 'end_node_not_allowed',
          message: `"${nodeId}" maps into end node "${targetId}": set allowEndNodes to finish runtimes there`,
        };
  }
  if (source && source.kind !== node.kind) {
    return {
      ok: false,
      block: 'incompatible_kind',
      message: `"${nodeId}" is a ${source.kind} node and "${targetId}" a ${node.kind} node`,
    };
  }
  return { ok: true, node };
}

/**
 * A plan's static checks, each error naming its path: every `nodeMap` entry joins nodes that exist in their
 * versions and are compatible, every node runtimes are at (`occupied`) has a target, and the fields both
 * versions declare keep their type. Empty: the plan is valid.
 */
export function validateMigration(
  from: WorkflowIndex,
  to: WorkflowIndex,
  m: MigrationMapping,
  occupied: Iterable<NodeId>,
): EngineErrorDetail[] {
  const errors: EngineErrorDetail[] = [];
  if (from.workflowId !== to.workflowId)
    errors.push({
      path: 'toVersion',
      message: `version ${to.version} is not a version of workflow ${from.workflowId}`,
    });
  if (m.fromVersion === m.toVersion)
    errors.push({ path: 'toVersion', message: 'is the version the runtimes are on already' });
  for (const [old, target] of Object.entries(m.nodeMap)) {
    const path = `nodeMap.${old}`;
    const source = from.nodes.get(old);
    if (!source) {
      errors.push({ path, message: `version ${from.version} has no node "${old}"` });
      continue;
    }
    if (isTerminal(source)) {
      errors.push({ path, message: `"${old}" is an end node: no runtime is open there` });
      continue;
    }
    const found = targetNode(from, to, m, old);
    if (!found.ok) errors.push({ path, message: found.message });
    else if (target !== found.node.id) errors.push({ path, message: `maps to "${found.node.id}"` });
  }
  for (const node of new Set(occupied)) {
    if (Object.hasOwn(m.nodeMap, node)) continue;
    const found = targetNode(from, to, m, node);
    if (!found.ok)
      errors.push({ path: `nodeMap.${node}`, message: `runtimes are open at "${node}": ${found.message}` });
  }
  for (const [name, type] of Object.entries(from.fields)) {
    const next = Object.hasOwn(to.fields, name) ? to.fields[name] : undefined;
    if (next !== undefined && next !== type)
      errors.push({
        path: `fields.${name}`,
        message: `is a ${type} in version ${from.version} and a ${next} in version ${to.version}: documents would not fit`,
      });
  }
  return errors;
}
