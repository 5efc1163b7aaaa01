import type { RuntimeState } from '../../engine/index.ts';
import { checkLimit, decodeInboxCursor, decodeRuntimeCursor, encodeCursor, toPage } from '../pagination.ts';
import type { InboxItem, Page, ReadModel, RuntimeListFilter, StoredLogEntry } from '../ports.ts';
import { key, type MemoryTables, type TaskRow } from './tables.ts';

/** The twin of the MySQL read model: same order, same cursors. */
export class MemoryReadModel implements ReadModel {
  constructor(private readonly t: MemoryTables) {}

  async getRuntime(tenant: string, runtimeId: string): Promise<RuntimeState | undefined> {
    const row = this.t.runtimes.get(key(tenant, runtimeId));
    return row && structuredClone(row.state);
  }

  async listRuntimes(
    tenant: string,
    filter: RuntimeListFilter,
    limit: number,
    cursor?: string,
  ): Promise<Page<RuntimeState>> {
    checkLimit(limit);
    const after = cursor === undefined ? undefined : decodeRuntimeCursor(cursor)[0];
    const matches = (id: string): boolean => {
      const s = this.t.runtimes.get(key(tenant, id))?.state;
      return (
        s !== undefined &&
        (filter.app === undefined || s.runtime.app === filter.app) &&
        (filter.docId === undefined || s.runtime.docId === filter.docId) &&
        (filter.status === undefined || s.status === filter.status)
      );
    };
    const ids = this.t.runtimeIds.get(tenant)?.after(after, limit + 1, matches) ?? [];
    const page = toPage(ids, limit, (last) => encodeCursor([last]));
    return {
      items: page.items.map((id) => structuredClone(this.t.runtimes.get(key(tenant, id))!.state)),
      nextCursor: page.nextCursor,
    };
  }

  async runtimeLog(tenant: string, runtimeId: string): Promise<StoredLogEntry[]> {
    const log = this.t.logs.get(key(tenant, runtimeId)) ?? [];
    return structuredClone(log).sort((a, b) => a.seq - b.seq);
  }

  async inbox(
    tenant: string,
    assignee: string,
    status: 'open' | 'done',
    limit: number,
    cursor?: string,
  ): Promise<Page<InboxItem>> {
    checkLimit(limit);
    const list = this.t.inboxes.get(key(tenant, assignee, status));
    const after = cursor === undefined ? undefined : cursorRow(decodeInboxCursor(cursor));
    const rows = list?.after(after, limit + 1) ?? [];
    const items = rows.map((r) => toInboxItem(r, this.t.runtimes.get(key(tenant, r.runtimeId))!.state.runtime));
    return toPage(items, limit, (last) => encodeCursor([last.assignedAt, last.runtimeId, last.stage]));
  }
}

/** A probe row that sorts exactly at the cursor's position. */
function cursorRow([assignedAt, runtimeId, stage]: [number, string, number]): TaskRow {
  return { assignedAt, runtimeId, stage, tenant: '', app: '', docId: '', node: '', assignee: '', status: 'open' };
}

/** A task with its runtime's pinned version (the twin of the MySQL join). */
function toInboxItem(r: TaskRow, pin: { workflowId: string; version: number }): InboxItem {
  const item: InboxItem = {
    runtimeId: r.runtimeId,
    app: r.app,
    docId: r.docId,
    workflowId: pin.workflowId,
    version: pin.version,
    node: r.node,
    stage: r.stage,
    status: r.status,
    assignedAt: r.assignedAt,
  };
  if (r.dueAt !== undefined) item.dueAt = r.dueAt;
  return item;
}
