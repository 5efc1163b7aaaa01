import {
  allowedActions,
  editableFields,
  hiddenFields,
  redactDocument,
  type CompiledWorkflow,
  type RuntimeState,
  type Stage,
  type Viewer,
} from '../engine/index.ts';
import type { StoredLogEntry } from '../store/ports.ts';
import { iso } from './schemas/common.ts';
import type { HistoryView, RuntimeView, StageView } from './schemas/runtimes.ts';

/**
 * The runtime as one caller sees it (docs/api.md#the-runtime-view): the document
 * without the caller's hidden fields (admins see all), and the actions and
 * fields the caller may use now. Pure: the caller loads the compiled version.
 */
export function runtimeView(wf: CompiledWorkflow, state: RuntimeState, viewer: Viewer): RuntimeView {
  const { runtime } = state;
  const view: RuntimeView = {
    id: runtime.id,
    app: runtime.app,
    docId: runtime.docId,
    creator: runtime.creator,
    workflowId: runtime.workflowId,
    version: runtime.version,
    status: state.status,
    stages: state.stages.map((s) => stageView(wf, s)),
    doc: viewer.admin ? { ...state.doc } : redactDocument(wf, state, viewer.employee),
    allowedActions: allowedActions(wf, state, viewer),
    editableFields: editableList(wf, state, viewer.employee),
    createdAt: iso(runtime.createdAt),
    updatedAt: iso(state.updatedAt),
    revision: state.revision,
  };
  if (runtime.companyId !== undefined) view.companyId = runtime.companyId;
  if (state.failure) view.failure = { ...state.failure };
  return view;
}

/** Every stage with its times, and the log with changes to the caller's hidden fields left out. */
export function historyView(
  wf: CompiledWorkflow,
  state: RuntimeState,
  log: readonly StoredLogEntry[],
  viewer: Viewer,
): HistoryView {
  const hidden = viewer.admin ? new Set<string>() : hiddenFields(wf, state, viewer.employee);
  const stages = state.stages.map((s) => {
    const stage = { ...stageView(wf, s), enteredAt: iso(s.enteredAt) };
    return s.exitedAt === undefined ? stage : { ...stage, exitedAt: iso(s.exitedAt) };
  });
  return { stages, log: log.map((entry) => logView(entry, hidden)) };
}

function stageView(wf: CompiledWorkflow, stage: Stage): StageView {
  const view: StageView = {
    node: stage.node,
    title: wf.nodes.get(stage.node)?.title ?? stage.node,
    status: stage.status,
    tasks: stage.tasks.map((t) =>
      t.action === undefined
        ? { assignee: t.assignee, status: t.status }
        : { assignee: t.assignee, status: t.status, action: t.action },
    ),
  };
  if (stage.exitAction !== undefined) view.exitAction = stage.exitAction;
  if (stage.dueAt !== undefined) view.dueAt = iso(stage.dueAt);
  return view;
}

/**
 * The engine's `'all'` (the creator's initial stage without zones) becomes the
 * declared fields plus the document's own, so clients always get a list.
 */
function editableList(wf: CompiledWorkflow, state: RuntimeState, employee: string): string[] {
  const fields = editableFields(wf, state, employee);
  if (fields !== 'all') return [...fields].sort();
  return [...new Set([...Object.keys(wf.def.fields), ...Object.keys(state.doc)])].sort();
}

function logView(entry: StoredLogEntry, hidden: ReadonlySet<string>): HistoryView['log'][number] {
  // `command` (the logged start input or command) may hold hidden fields and is for replay only: never served.
  const { changes, at, command: _command, ...rest } = entry;
  const view: HistoryView['log'][number] = { ...rest, at: iso(at) };
  if (changes) {
    const visible = Object.entries(changes).filter(([field]) => !hidden.has(field));
    if (visible.length > 0) view.changes = Object.fromEntries(visible);
  }
  return view;
}
