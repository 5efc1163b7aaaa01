import type { RuntimeState } from '../../src/engine/index.ts';

/** A small but complete runtime state at `revision`, for cache tests. */
export function snapshotState(tenant: string, id: string, revision: number): RuntimeState {
  return {
    v: 1,
    runtime: {
      id,
      tenant,
      app: 'purchase_order',
      docId: `doc-${id}`,
      workflowId: 'wf-po',
      version: 1,
      creator: 'emp-1',
      createdAt: 1_700_000_000_000,
    },
    status: 'in_progress',
    doc: { amount: 1200, currency: 'EUR', note: 'ünïcödé | pipes | "quotes"' },
    stages: [
      { node: 'start', status: 'closed', enteredAt: 1_700_000_000_000, exitedAt: 1_700_000_000_001, exitAction: 'submit', tasks: [] },
      { node: 'manager', status: 'open', enteredAt: 1_700_000_000_001, tasks: [{ assignee: 'emp-2', status: 'open' }] },
    ],
    seq: revision * 2,
    revision,
    updatedAt: 1_700_000_000_000 + revision,
  };
}
