import { randomBytes } from 'node:crypto';
import type {
  DomainEvent,
  Effects,
  RuntimeState,
  RuntimeStatus,
  TaskChange,
  TimerSet,
} from '../../src/engine/index.ts';
import { expect } from 'vitest';
import type { TransitionRecord, TransitionWriter } from '../../src/store/ports.ts';

/** 2023-11-14T22:13:20Z: every fixture time is an offset from here. */
export const T0 = 1_700_000_000_000;

let counter = 0;

/** A tenant id no other test uses, so suites can share one database. */
export function uniqueTenant(label = 't'): string {
  return `${label}-${++counter}-${randomBytes(3).toString('hex')}`;
}

/** A shard number no other test of this process uses (timers and outbox are polled per shard, across tenants). */
export function uniqueShard(): number {
  return 1000 + (++counter % 30_000);
}

export interface StepOptions {
  tenant: string;
  id: string;
  shard?: number;
  /** Revision the step starts from; 0 = a new runtime. @default 0 */
  baseRevision?: number;
  app?: string;
  docId?: string;
  companyId?: string;
  /** The pinned workflow version. @default 1 (of 'wf-po') */
  version?: number;
  /** @default 'in_progress' */
  status?: RuntimeStatus;
  /** Time of the step. @default T0 + 1000 * revision */
  at?: number;
  /** Assignees given an open task at this step's stage (index `revision - 1`, node `n<revision>`). */
  assignees?: string[];
  /** Extra task rows as they now stand (e.g. an earlier stage's task closed as done). */
  tasks?: TaskChange[];
  idempotency?: { key: string; response?: unknown };
  /** How many domain events the step emits. @default 1 */
  events?: number;
  timersSet?: TimerSet[];
  timersCancelled?: string[];
}

/**
 * A hand-built engine step: the state after `baseRevision + 1` steps (one stage
 * per step, the last open unless the status is final), one log entry per step,
 * plus the effects of this step. Valid-looking; no engine involved.
 */
export function step(o: StepOptions): TransitionRecord {
  const revision = (o.baseRevision ?? 0) + 1;
  const at = o.at ?? T0 + 1000 * revision;
  const state = runtimeState({ ...o, revision, at });
  const node = `n${revision}`;
  const assigned: TaskChange[] = (o.assignees ?? []).map((assignee) => ({
    stage: revision - 1,
    node,
    assignee,
    status: 'open',
    assignedAt: at,
  }));
  const effects: Effects = {
    log: [
      {
        seq: revision,
        at,
        actor: 'emp-creator',
        action: revision === 1 ? 'submit' : 'approve',
        fromNode: `n${revision - 1}`,
        toNode: node,
      },
    ],
    tasks: [...assigned, ...(o.tasks ?? [])],
    events: Array.from({ length: o.events ?? 1 }, (_, i) => event(state, `${o.id}:${state.seq}:${i}`, at)),
    timersSet: o.timersSet ?? [],
    timersCancelled: o.timersCancelled ?? [],
  };
  const record: TransitionRecord = {
    tenant: o.tenant,
    shard: o.shard ?? 7,
    baseRevision: revision - 1,
    state,
    effects,
  };
  if (o.idempotency) record.idempotency = o.idempotency;
  return record;
}

export function runtimeState(o: StepOptions & { revision: number; at: number }): RuntimeState {
  const status = o.status ?? 'in_progress';
  const finished = status !== 'in_progress' && status !== 'created' && status !== 'failed';
  const stages = Array.from({ length: o.revision }, (_, i) => {
    const last = i === o.revision - 1;
    const open = last && !finished;
    const tasks = last ? (o.assignees ?? []).map((assignee) => ({ assignee, status: 'open' as const })) : [];
    return open
      ? { node: `n${i + 1}`, status: 'open' as const, enteredAt: o.at, tasks }
      : {
          node: `n${i + 1}`,
          status: 'closed' as const,
          enteredAt: T0 + 1000 * i,
          exitedAt: T0 + 1000 * (i + 1),
          exitAction: 'approve',
          tasks,
        };
  });
  const state: RuntimeState = {
    v: 1,
    runtime: {
      id: o.id,
      tenant: o.tenant,
      app: o.app ?? 'purchase.order',
      docId: o.docId ?? `doc-${o.id}`,
      workflowId: 'wf-po',
      version: o.version ?? 1,
      creator: 'emp-creator',
      createdAt: T0,
    },
    status,
    doc: { amount: 1200, currency: 'EUR', note: 'ünïcödé "quotes" \\ back', lines: [{ sku: 'A', qty: 2 }] },
    stages,
    seq: o.revision,
    revision: o.revision,
    updatedAt: o.at,
  };
  if (o.companyId !== undefined) state.runtime.companyId = o.companyId;
  if (status === 'failed') state.failure = { code: 'no_assignee', message: 'nobody to assign', node: `n${o.revision}` };
  return state;
}

function event(state: RuntimeState, id: string, at: number): DomainEvent {
  const r = state.runtime;
  return {
    id,
    type: 'stage.entered',
    tenant: r.tenant,
    app: r.app,
    docId: r.docId,
    runtimeId: r.id,
    workflowId: r.workflowId,
    version: r.version,
    actor: 'emp-creator',
    at,
    data: { node: `n${state.revision}` },
  };
}

/** Commits a record that must be accepted (a fixture mistake fails here, not in a later assertion). */
export async function commitOk(writer: TransitionWriter, record: TransitionRecord): Promise<void> {
  expect(await writer.commit(record)).toMatchObject({ ok: true });
}
