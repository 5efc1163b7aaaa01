import { nodeOf, type WorkflowIndex } from './compiled-workflow.ts';
import type { EmployeeId } from './ids.ts';
import { currentStage, type RuntimeState, type Task } from './runtime-state.ts';

/** The actor's open task on the open stage, if any. */
export function openTaskOf(state: RuntimeState, actor: EmployeeId): Task | undefined {
  return currentStage(state)?.tasks.find((t) => t.assignee === actor && t.status === 'open');
}

/**
 * Fields the actor may edit now: the open stage's editable zones for its
 * assignees (an initial node without zones lets the creator edit every
 * field), else nothing.
 */
export function editableFields(wf: WorkflowIndex, state: RuntimeState, actor: EmployeeId): ReadonlySet<string> | 'all' {
  const stage = currentStage(state);
  if (!stage || !openTaskOf(state, actor)) return new Set();
  const node = nodeOf(wf, stage.node);
  if (node.kind === 'initial' && node.zones === undefined) return 'all';
  return fieldsOfZones(wf, node.zones?.editable ?? []);
}

/**
 * Fields hidden from a viewer: the hidden zones of every node where the viewer
 * holds (or held) a task, the creator's initial stage included. Admins see
 * everything (the caller decides that).
 */
export function hiddenFields(wf: WorkflowIndex, state: RuntimeState, viewer: EmployeeId): ReadonlySet<string> {
  const hidden = new Set<string>();
  for (const stage of state.stages) {
    const zones = nodeOf(wf, stage.node).zones?.hidden;
    if (!zones || zones.length === 0 || !stage.tasks.some((t) => t.assignee === viewer)) continue;
    for (const field of fieldsOfZones(wf, zones)) hidden.add(field);
  }
  return hidden;
}

/** The document without the viewer's hidden fields. */
export function redactDocument(wf: WorkflowIndex, state: RuntimeState, viewer: EmployeeId): Record<string, unknown> {
  const hidden = hiddenFields(wf, state, viewer);
  if (hidden.size === 0) return { ...state.doc };
  const doc: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(state.doc)) if (!hidden.has(key)) doc[key] = value;
  return doc;
}

function fieldsOfZones(wf: WorkflowIndex, zoneIds: readonly string[]): Set<string> {
  const fields = new Set<string>();
  for (const id of zoneIds) for (const f of wf.zoneFields.get(id) ?? []) fields.add(f);
  return fields;
}
