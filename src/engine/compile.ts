import { assign, setup, type AnyStateMachine } from 'xstate';
import { indexWorkflow, isTerminal, type WorkflowIndex } from './compiled-workflow.ts';
import type { WorkflowDefinition } from './definition-schema.ts';
import type { NodeId } from './ids.ts';
import type { RuntimeState } from './runtime-state.ts';

/** A published version compiled to an XState machine, with its indexes. */
export interface CompiledWorkflow extends WorkflowIndex {
  machine: AnyStateMachine;
  /** XState state key of each node (node ids may contain dots, which XState reserves). */
  stateKeys: ReadonlyMap<NodeId, string>;
}

/** The event that moves the machine to the state the engine decided. */
export interface AdvanceEvent {
  type: 'advance';
  state: RuntimeState;
}

const CACHE_LIMIT = 1000;
const cache = new Map<string, CompiledWorkflow>();

/**
 * Compiles a validated, published definition; cached per `workflowId@version`
 * (versions are immutable). Call `validateDefinition` first.
 */
export function compileWorkflow(def: WorkflowDefinition, workflowId: string, version: number): CompiledWorkflow {
  const key = `${workflowId}@${version}`;
  const hit = cache.get(key);
  if (hit && hit.def === def) return hit;
  const index = indexWorkflow(def, workflowId, version);
  const stateKeys = new Map(def.nodes.map((n, i) => [n.id, `n${i}`]));
  const compiled: CompiledWorkflow = { ...index, stateKeys, machine: buildMachine(index, stateKeys) };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, compiled);
  return compiled;
}

/**
 * One state per node. `advance` adopts the state the engine decided; eventless
 * transitions then move to its node, but only along edges the definition
 * allows: its associations, a return to a node that precedes it, or back to
 * the initial node (return, withdraw, change_request).
 */
function buildMachine(wf: WorkflowIndex, stateKeys: ReadonlyMap<NodeId, string>): AnyStateMachine {
  const logic = setup({
    types: {} as { context: RuntimeState; events: AdvanceEvent; input: RuntimeState },
    actions: { adopt: assign(({ event }) => event.state) },
    guards: {
      atNode: ({ context }, params: { node: NodeId }) => context.stages[context.stages.length - 1]?.node === params.node,
    },
  });
  const states: Record<string, object> = {};
  for (const node of wf.def.nodes) {
    const edges = edgesFrom(wf, node.id);
    states[stateKeys.get(node.id)!] = {
      on: { advance: { actions: 'adopt' } },
      always: edges.map((to) => ({ guard: { type: 'atNode', params: { node: to } }, target: stateKeys.get(to)! })),
      ...(isTerminal(node) && { tags: ['finished'] }),
    };
  }
  const machine = logic.createMachine({
    id: `wf-${wf.key.replace(/[^A-Za-z0-9_-]/g, '_')}`,
    context: ({ input }) => input,
    initial: stateKeys.get(wf.initial.id)!,
    states: states as never,
  });
  // The states are generated, so their keys are only known as strings at compile time.
  return machine as unknown as AnyStateMachine;
}

function edgesFrom(wf: WorkflowIndex, from: NodeId): NodeId[] {
  const edges = new Set<NodeId>();
  for (const a of wf.outgoing.get(from) ?? []) edges.add(a.to);
  for (const p of wf.predecessors.get(from) ?? []) edges.add(p);
  edges.add(wf.initial.id);
  edges.delete(from);
  return [...edges];
}
