import { assign, setup, type AnyActorScope, type AnyStateMachine } from 'xstate';
import { inertScope } from './inert-scope.ts';
import { indexWorkflow, isTerminal, type WorkflowIndex } from './compiled-workflow.ts';
import type { WorkflowDefinition } from './definition-schema.ts';
import type { NodeId } from './ids.ts';
import type { RuntimeState } from './runtime-state.ts';

/** A published version compiled to an XState machine, with its indexes. */
export interface CompiledWorkflow extends WorkflowIndex {
  machine: AnyStateMachine;
  /** Reused by every pure transition of this machine (see inert-scope.ts). */
  scope: AnyActorScope;
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
  const machine = buildMachine(index, stateKeys);
  const compiled: CompiledWorkflow = { ...index, stateKeys, machine, scope: inertScope(machine, sampleState(index)) };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, compiled);
  return compiled;
}

/**
 * One state per node. `advance` carries the state the engine decided; the
 * machine adopts it and moves to its node, but only along edges the definition
 * allows: its associations, a return to a node that precedes it, or back to
 * the initial node (return, withdraw, change_request). Anything else stays put
 * and `step` reports the broken invariant.
 */
function buildMachine(wf: WorkflowIndex, stateKeys: ReadonlyMap<NodeId, string>): AnyStateMachine {
  const logic = setup({
    types: {} as { context: RuntimeState; events: AdvanceEvent; input: RuntimeState },
    actions: { adopt: assign(({ event }) => event.state) },
    guards: {
      movesTo: ({ event }, params: { node: NodeId }) =>
        event.state.stages[event.state.stages.length - 1]?.node === params.node,
    },
  });
  const states: Record<string, object> = {};
  for (const node of wf.def.nodes) {
    const moves = edgesFrom(wf, node.id).map((to) => ({
      guard: { type: 'movesTo', params: { node: to } },
      target: stateKeys.get(to)!,
      actions: 'adopt',
    }));
    states[stateKeys.get(node.id)!] = {
      on: { advance: [...moves, { guard: { type: 'movesTo', params: { node: node.id } }, actions: 'adopt' }] },
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

/** A minimal state at the initial node: the input the scope's actor is created with. */
function sampleState(wf: WorkflowIndex): RuntimeState {
  const runtime = {
    id: '',
    tenant: '',
    app: wf.def.app,
    docId: '',
    workflowId: wf.workflowId,
    version: wf.version,
    creator: '',
    createdAt: 0,
  };
  const stages = [{ node: wf.initial.id, status: 'open' as const, enteredAt: 0, tasks: [] }];
  return { v: 1, runtime, status: 'created', doc: {}, stages, seq: 0, revision: 0, updatedAt: 0 };
}

function edgesFrom(wf: WorkflowIndex, from: NodeId): NodeId[] {
  const edges = new Set<NodeId>();
  for (const a of wf.outgoing.get(from) ?? []) edges.add(a.to);
  for (const p of wf.predecessors.get(from) ?? []) edges.add(p);
  edges.add(wf.initial.id);
  edges.delete(from);
  return [...edges];
}
