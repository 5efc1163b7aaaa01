import { expect } from 'vitest';
import type { ActionCommand } from '../../../src/engine/index.ts';
import type { ShardReply, ShardRequest } from '../../../src/actors/bus/ports.ts';
import type {
  CommitOutcome,
  DirectoryStore,
  TransitionRecord,
  TransitionWriter,
  WorkflowStore,
} from '../../../src/store/ports.ts';
import { loadExample } from '../../fixtures/engine-driver.ts';
import { employees, groups } from '../../fixtures/org-chart.ts';

/** 2026-01-05T09:00:00Z */
export const T0 = Date.UTC(2026, 0, 5, 9);
export const PO_WORKFLOW = 'wf-po';
export const PO_APP = 'purchase.order';

/** A clock tests move by hand. */
export class TestClock {
  constructor(public t = T0) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** The org chart, the purchase-order example published through the WorkflowStore, and its app config in `apply` mode. */
export async function seedTenant(
  stores: { workflows: WorkflowStore; directory: DirectoryStore },
  tenant: string,
): Promise<void> {
  await stores.directory.upsertGroups(tenant, groups);
  await stores.directory.upsertEmployees(tenant, employees);
  await stores.workflows.createWorkflow(tenant, PO_WORKFLOW, loadExample('purchase-order'), T0);
  const published = await stores.workflows.publish(tenant, PO_WORKFLOW, T0);
  expect(published?.version).toBe(1);
  await stores.workflows.setAppConfig({ tenant, companyId: '', app: PO_APP, mode: 'apply', workflowId: PO_WORKFLOW });
}

let keys = 0;
export const newKey = (label = 'k'): string => `${label}-${++keys}-${Math.random().toString(36).slice(2, 8)}`;

import { poDoc } from '../../fixtures/purchase-order-doc.ts';

export { poDoc };

export function startRequest(
  tenant: string,
  runtimeId: string,
  docId: string,
  o: Partial<Extract<ShardRequest, { kind: 'start' }>> = {},
): ShardRequest {
  return {
    kind: 'start',
    tenant,
    runtimeId,
    app: PO_APP,
    docId,
    creator: 'alice',
    doc: poDoc(5_000_000),
    idempotencyKey: newKey('start'),
    ...o,
  };
}

type Extra = Omit<ActionCommand, 'type' | 'actor'>;

export function commandRequest(
  tenant: string,
  runtimeId: string,
  actor: string,
  type: ActionCommand['type'],
  extra: Extra = {},
  o: { idempotencyKey?: string; expectedRevision?: number } = {},
): ShardRequest {
  const request: ShardRequest = {
    kind: 'command',
    tenant,
    runtimeId,
    command: { type, actor, ...extra },
    idempotencyKey: o.idempotencyKey ?? newKey('cmd'),
  };
  if (o.expectedRevision !== undefined) request.expectedRevision = o.expectedRevision;
  return request;
}

/** Asserts a successful reply and returns it. */
export function ok(reply: ShardReply): Extract<ShardReply, { ok: true }> {
  if (!reply.ok) throw new Error(`expected ok, got problem ${reply.problem.code}: ${reply.problem.message}`);
  return reply;
}

/** Asserts a problem reply and returns its problem. */
export function problemOf(reply: ShardReply): Extract<ShardReply, { ok: false }>['problem'] {
  if (reply.ok) throw new Error(`expected a problem, got state at revision ${reply.state.revision}`);
  return reply.problem;
}

/**
 * A writer decorator for tests: counts outcomes, tracks how many commits run
 * at once (overall and per runtime), and can hold commits at a gate or
 * override outcomes.
 */
export class ProbeWriter implements TransitionWriter {
  readonly outcomes: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly perRuntime = new Map<string, number>();
  maxPerRuntime = 0;
  delayMs = 0;
  gate: Promise<void> | undefined;
  /** Returns an outcome to answer instead of committing (undefined: commit). */
  override: ((record: TransitionRecord) => CommitOutcome | undefined) | undefined;

  constructor(private readonly inner: TransitionWriter) {}

  async commit(record: TransitionRecord): Promise<CommitOutcome> {
    const id = record.state.runtime.id;
    this.enter(id);
    try {
      if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
      if (this.gate !== undefined) await this.gate;
      const forced = this.override?.(record);
      const outcome = forced ?? (await this.inner.commit(record));
      this.outcomes.push(outcome.ok ? 'ok' : outcome.code);
      return outcome;
    } finally {
      this.inFlight -= 1;
      this.perRuntime.set(id, (this.perRuntime.get(id) ?? 1) - 1);
    }
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private enter(id: string): void {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const n = (this.perRuntime.get(id) ?? 0) + 1;
    this.perRuntime.set(id, n);
    this.maxPerRuntime = Math.max(this.maxPerRuntime, n);
  }
}

/** A gate: commits wait at `promise` until `open()`. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
