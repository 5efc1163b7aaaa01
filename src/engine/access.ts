import { nodeOf, type WorkflowIndex } from './compiled-workflow.ts';
import { ACTIONS, type ActionName } from './commands.ts';
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

export interface Viewer {
  employee: EmployeeId;
  admin?: boolean;
}

/**
 * The actions `viewer` may send now, as the engine would accept them (given
 * their required fields: a comment, a toEmployee, a nextAssignee where the
 * next stage is out_form…). Shown in the runtime view as `allowedActions`.
 */
export function allowedActions(wf: WorkflowIndex, state: RuntimeState, viewer: Viewer): ActionName[] {
  const { employee, admin = false } = viewer;
  const isCreator = employee === state.runtime.creator;
  const involved = isCreator || admin || state.stages.some((s) => s.tasks.some((t) => t.assignee === employee));
  const actions = new Set<ActionName>();
  if (involved) actions.add('comment');
  switch (state.status) {
    case 'cancelled':
      break;
    case 'approved':
    case 'completed':
    case 'rejected':
      if (isCreator || admin) actions.add('change_request').add('cancel');
      break;
    case 'failed':
      if (admin) actions.add('reassign');
      if (isCreator || admin) actions.add('withdraw').add('cancel');
      break;
    default:
      addStageActions(wf, state, employee, isCreator || admin, admin, actions);
  }
  return ACTIONS.filter((a) => actions.has(a));
}

function addStageActions(
  wf: WorkflowIndex,
  state: RuntimeState,
  employee: EmployeeId,
  owner: boolean,
  admin: boolean,
  actions: Set<ActionName>,
): void {
  const stage = currentStage(state);
  if (!stage) return;
  const node = nodeOf(wf, stage.node);
  const mine = openTaskOf(state, employee) !== undefined;
  if (node.kind === 'initial') {
    if (mine)
      actions.add(state.stages[state.stages.length - 2]?.exitAction === 'return' ? 'resubmit' : 'submit').add('update');
    if (owner) actions.add('cancel');
    return;
  }
  if (mine) {
    for (const a of node.actions ?? []) if ((ACTIONS as readonly string[]).includes(a)) actions.add(a as ActionName);
    actions.add('reassign');
    const editable = editableFields(wf, state, employee);
    if (editable === 'all' || editable.size > 0) actions.add('update');
  }
  if (admin && stage.tasks.some((t) => t.status === 'open')) actions.add('reassign');
  if (owner) actions.add('withdraw');
}
