import type { NodeDefinition } from './definition-schema.ts';
import { isElse } from './validate-associations.ts';
import { TERMINAL_KINDS, type ValidationContext } from './validation-context.ts';

const EXIT_ACTIONS = ['approve', 'complete'];

/** Exactly one initial node, unique node ids, at least one terminal node. */
export function checkNodeSet(ctx: ValidationContext): void {
  const { nodes } = ctx.def;
  const initials = indexesWhere(nodes, (n) => n.kind === 'initial');
  if (initials.length === 0)
    ctx.report('nodes', 'no initial node; add one node with "kind": "initial" (the creator\'s stage)');
  for (const i of initials.slice(1)) {
    ctx.report(
      `nodes[${i}].kind`,
      `a second initial node (nodes[${initials[0]}] is the initial one); keep exactly one`,
    );
  }
  nodes.forEach((node, i) => {
    const first = ctx.nodeIndex.get(node.id);
    if (first !== i)
      ctx.report(
        `nodes[${i}].id`,
        `duplicate node id "${node.id}" (also nodes[${first}].id); give each node its own id`,
      );
  });
  if (!nodes.some((n) => TERMINAL_KINDS.has(n.kind))) {
    ctx.report(
      'nodes',
      'no terminal node; add a node with "kind": "approved" or "completed" for the runtime to finish in',
    );
  }
}

/** Every node reachable from the initial one, and a terminal node reachable from every node. */
export function checkReachability(ctx: ValidationContext): void {
  const initial = ctx.def.nodes.find((n) => n.kind === 'initial');
  const edges = ctx.def.associations.filter((a) => ctx.nodeIndex.has(a.from) && ctx.nodeIndex.has(a.to));
  const forward = reach(
    initial ? [initial.id] : [],
    edges.map((a) => [a.from, a.to] as const),
  );
  const terminals = ctx.def.nodes.filter((n) => TERMINAL_KINDS.has(n.kind)).map((n) => n.id);
  const backward = reach(
    terminals,
    edges.map((a) => [a.to, a.from] as const),
  );
  ctx.def.nodes.forEach((node, i) => {
    if (initial && !forward.has(node.id)) {
      ctx.report(
        `nodes[${i}]`,
        `"${node.id}" cannot be reached from the initial node "${initial.id}"; add an association to it or remove it`,
      );
    }
    if (terminals.length > 0 && !backward.has(node.id) && !isDeadEndTask(ctx, node)) {
      ctx.report(
        `nodes[${i}]`,
        `no approved/completed node can be reached from "${node.id}"; add associations leading to a terminal node`,
      );
    }
  });
}

/** A task node that could leave but has nowhere to go; checkExits reports it more precisely. */
function isDeadEndTask(ctx: ValidationContext, node: NodeDefinition): boolean {
  return node.kind === 'task' && hasExitAction(node) && !ctx.outgoing.has(node.id);
}

const hasExitAction = (node: NodeDefinition): boolean => (node.actions ?? []).some((a) => EXIT_ACTIONS.includes(a));

function reach(starts: readonly string[], edges: readonly (readonly [string, string])[]): Set<string> {
  const next = new Map<string, string[]>();
  for (const [a, b] of edges) next.set(a, [...(next.get(a) ?? []), b]);
  const seen = new Set(starts);
  const queue = [...starts];
  for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
    for (const to of next.get(id) ?? []) {
      if (seen.has(to)) continue;
      seen.add(to);
      queue.push(to);
    }
  }
  return seen;
}

/** How nodes leave: approve/complete paired with outgoing associations, and an else when all are conditional. */
export function checkExits(ctx: ValidationContext): void {
  ctx.def.nodes.forEach((node, i) => {
    const out = ctx.outgoing.get(node.id) ?? [];
    if (node.kind === 'task') checkTaskExit(ctx, node, `nodes[${i}]`, out);
    if (out.length > 0 && out.every((a) => isConditional(ctx, a))) {
      ctx.report(
        `nodes[${i}]`,
        `when none of the conditions of ${refs(out)} hold the runtime has no way out of "${node.id}"; ` +
          `add {"from": "${node.id}", "to": …, "else": true}`,
      );
    }
  });
}

function checkTaskExit(ctx: ValidationContext, node: NodeDefinition, path: string, out: readonly number[]): void {
  if (out.length > 0 && !hasExitAction(node)) {
    ctx.report(
      `${path}.actions`,
      `associations leave "${node.id}" (${refs(out)}) but no action takes them; add "approve" or "complete"`,
    );
  }
  if (out.length === 0 && hasExitAction(node)) {
    ctx.report(
      path,
      `"${node.id}" can be approved/completed but no association leaves it; add one from "${node.id}" to the next node`,
    );
  }
}

function isConditional(ctx: ValidationContext, index: number): boolean {
  const assoc = ctx.def.associations[index];
  return assoc !== undefined && assoc.condition !== undefined && !isElse(assoc);
}

/** `associations[1], [2]` */
function refs(indexes: readonly number[]): string {
  return indexes.map((a, k) => (k === 0 ? `associations[${a}]` : `[${a}]`)).join(', ');
}

function indexesWhere<T>(items: readonly T[], predicate: (item: T) => boolean): number[] {
  return items.flatMap((item, i) => (predicate(item) ? [i] : []));
}
