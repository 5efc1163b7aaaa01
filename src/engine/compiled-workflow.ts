import type { Association, FieldType, NodeDefinition, WorkflowDefinition } from './definition-schema.ts';
import type { NodeId } from './ids.ts';

/** A published definition with the indexes every step needs, built once per version. */
export interface WorkflowIndex {
  /** Cache key: `workflowId@version`. */
  key: string;
  workflowId: string;
  version: number;
  def: WorkflowDefinition;
  fields: Readonly<Record<string, FieldType>>;
  initial: NodeDefinition;
  nodes: ReadonlyMap<NodeId, NodeDefinition>;
  /** Associations leaving each node, in file order. */
  outgoing: ReadonlyMap<NodeId, readonly Association[]>;
  /** Nodes from which each node can be reached (its possible `return` targets). */
  predecessors: ReadonlyMap<NodeId, ReadonlySet<NodeId>>;
  /** Fields of each zone id. */
  zoneFields: ReadonlyMap<string, readonly string[]>;
}

export function indexWorkflow(def: WorkflowDefinition, workflowId: string, version: number): WorkflowIndex {
  const nodes = new Map(def.nodes.map((n) => [n.id, n]));
  const initial = def.nodes.find((n) => n.kind === 'initial');
  if (!initial) throw new Error(`workflow ${workflowId}@${version} has no initial node; validate it before compiling`);
  const outgoing = new Map<NodeId, Association[]>(def.nodes.map((n) => [n.id, []]));
  for (const a of def.associations) outgoing.get(a.from)?.push(a);
  return {
    key: `${workflowId}@${version}`,
    workflowId,
    version,
    def,
    fields: def.fields,
    initial,
    nodes,
    outgoing,
    predecessors: predecessorSets(def, outgoing),
    zoneFields: new Map(def.zones.map((z) => [z.id, z.fields])),
  };
}

/** For each node, every node that has a path to it (reverse reachability). */
function predecessorSets(def: WorkflowDefinition, outgoing: ReadonlyMap<NodeId, readonly Association[]>) {
  const incoming = new Map<NodeId, NodeId[]>(def.nodes.map((n) => [n.id, []]));
  for (const [from, list] of outgoing) for (const a of list) incoming.get(a.to)?.push(from);
  const result = new Map<NodeId, Set<NodeId>>();
  for (const node of def.nodes) {
    const seen = new Set<NodeId>();
    const stack = [...(incoming.get(node.id) ?? [])];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      stack.push(...(incoming.get(id) ?? []));
    }
    result.set(node.id, seen);
  }
  return result;
}

/** The node definition, or an error naming the missing id (a state pinned to another version). */
export function nodeOf(wf: WorkflowIndex, id: NodeId): NodeDefinition {
  const node = wf.nodes.get(id);
  if (!node) throw new Error(`node "${id}" is not in workflow ${wf.key}`);
  return node;
}

export function isTerminal(node: NodeDefinition): boolean {
  return node.kind === 'approved' || node.kind === 'completed';
}
