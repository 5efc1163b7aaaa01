import type { WorkflowIndex } from './compiled-workflow.ts';
import { evaluateCondition } from './conditions.ts';
import { EngineError } from './errors.ts';
import type { NodeId } from './ids.ts';

/**
 * The node a runtime moves to when it leaves `from` forward: the first
 * association (in file order) whose condition holds, else the `else` branch.
 * Conditions are evaluated here, on the server, against the runtime's document.
 */
export function nextNode(wf: WorkflowIndex, from: NodeId, doc: Readonly<Record<string, unknown>>): NodeId {
  let fallback: NodeId | undefined;
  for (const association of wf.outgoing.get(from) ?? []) {
    if (association.else) {
      fallback ??= association.to;
      continue;
    }
    if (association.condition === undefined) return association.to;
    try {
      if (evaluateCondition(association.condition, doc, wf.fields)) return association.to;
    } catch (error) {
      if (!(error instanceof EngineError)) throw error;
      const path = `associations[${wf.def.associations.indexOf(association)}].condition`;
      throw new EngineError(
        'condition_error',
        `${path} (from "${from}" to "${association.to}"): ${error.message}; fix the document with an update`,
        [{ path, message: error.message }],
      );
    }
  }
  if (fallback !== undefined) return fallback;
  throw new EngineError(
    'condition_error',
    `no association from "${from}" holds for this document and none is marked else`,
  );
}
