import { FINISHED_STATUSES, type RuntimeState, type TaskChange } from '../../engine/index.ts';
import { StoreError } from '../errors.ts';
import { loggedCommand, storedLogEntries } from '../logged-command.ts';
import { encodeStep } from '../step-log.ts';
import type { CommitOutcome, TransitionRecord, TransitionWriter } from '../ports.ts';
import { getOrCreate, key, type MemoryTables, type TaskRow } from './tables.ts';

const isActive = (state: RuntimeState): boolean => !FINISHED_STATUSES.has(state.status);
const docKey = (tenant: string, s: RuntimeState): string => key(tenant, s.runtime.app, s.runtime.docId);

/**
 * The twin of the group-commit writer: each record is checked, then applied
 * whole (no await in between, so it is atomic), with the MySQL writer's rules:
 * optimistic revision, one active runtime per document, unique idempotency key.
 * As MySQL, it appends the step to the log (with its idempotency key) and
 * writes the projections (runtime row, log entries, tasks, timers) at once.
 */
export class MemoryTransitionWriter implements TransitionWriter {
  private closed = false;

  constructor(private readonly t: MemoryTables) {}

  async commit(record: TransitionRecord): Promise<CommitOutcome> {
    if (this.closed) throw new StoreError('writer_closed', 'the writer is closed');
    checkRecord(record);
    const refusal = this.refusal(record);
    if (refusal) return refusal;
    return { ok: true, outboxPosition: this.apply(jsonCopy(record)) };
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }

  private refusal(r: TransitionRecord): CommitOutcome | undefined {
    const { tenant, state } = r;
    // The key first, as MySQL: a retry of a committed command is answered its first reply.
    if (r.idempotency && this.t.idempotency.has(key(tenant, r.idempotency.key))) {
      return refused('duplicate_idempotency_key', `idempotency key ${r.idempotency.key} was used already`);
    }
    const stored = this.t.runtimes.get(key(tenant, state.runtime.id));
    const current = stored?.state.revision ?? 0;
    if ((r.baseRevision === 0 && stored) || (r.baseRevision !== 0 && current !== r.baseRevision)) {
      return refused('conflict', `runtime ${state.runtime.id} is at revision ${current}, not ${r.baseRevision}`);
    }
    const active = this.t.activeDocs.get(docKey(tenant, state));
    if (isActive(state) && active !== undefined && active !== state.runtime.id) {
      return refused(
        'duplicate_runtime',
        `document ${state.runtime.app}/${state.runtime.docId} already has active runtime ${active}`,
      );
    }
    return undefined;
  }

  /** Writes the record; returns its step's position. */
  private apply(r: TransitionRecord): number {
    const position = this.appendStep(r);
    this.saveRuntime(r);
    const logKey = key(r.tenant, r.state.runtime.id);
    const log = getOrCreate(this.t.logs, logKey, () => []);
    log.push(...storedLogEntries(r.effects.log, loggedCommand(r)));
    for (const change of r.effects.tasks) this.saveTask(r.tenant, r.state, change);
    this.saveEvents(r, position);
    this.saveTimers(r);
    return position;
  }

  /** The runtime_steps row, and its idempotency key's reference to it. */
  private appendStep(r: TransitionRecord): number {
    const position = ++this.t.lastPosition;
    const { tenant, state } = r;
    const body = encodeStep({
      state,
      effects: r.effects,
      change: r.change ?? { init: state },
      cause: loggedCommand(r),
      base: r.change === undefined && r.baseRevision > 0,
    });
    const createdAt = this.t.now();
    const idemKey = r.idempotency?.key;
    getOrCreate(this.t.steps, key(tenant, state.runtime.id), () => []).push({
      revision: state.revision,
      position,
      shard: r.shard,
      body,
      createdAt,
      ...(idemKey !== undefined && { idemKey }),
    });
    if (idemKey !== undefined) {
      this.t.idempotency.set(key(tenant, idemKey), {
        runtimeId: state.runtime.id,
        revision: state.revision,
        createdAt,
      });
    }
    return position;
  }

  private saveRuntime({ tenant, shard, state }: TransitionRecord): void {
    const id = state.runtime.id;
    const doc = docKey(tenant, state);
    if (isActive(state)) this.t.activeDocs.set(doc, id);
    else if (this.t.activeDocs.get(doc) === id) this.t.activeDocs.delete(doc);
    if (!this.t.runtimes.has(key(tenant, id))) this.t.tenantRuntimeIds(tenant).insert(id);
    this.t.runtimes.set(key(tenant, id), { shard, state });
  }

  /** Upsert by (runtime, stage, assignee), moving the row between inbox lists when its status changes. */
  private saveTask(tenant: string, state: RuntimeState, change: TaskChange): void {
    const { id, app, docId } = state.runtime;
    const k = key(tenant, id, change.stage, change.assignee);
    const old = this.t.tasks.get(k);
    if (old) this.t.inbox(tenant, old.assignee, old.status).remove(old);
    const row: TaskRow = { ...change, tenant, runtimeId: id, app, docId };
    this.t.tasks.set(k, row);
    this.t.inbox(tenant, row.assignee, row.status).insert(row);
  }

  /** A step with events waits for the relay until the shard's watermark passes it. */
  private saveEvents({ shard, effects }: TransitionRecord, position: number): void {
    if (effects.events.length === 0) return;
    const pending = getOrCreate(this.t.unpublished, shard, () => new Map());
    pending.set(position, { position, shard, events: effects.events, createdAt: this.t.now() });
  }

  private saveTimers({ tenant, shard, state, effects }: TransitionRecord): void {
    for (const id of effects.timersCancelled) this.t.deleteTimer(key(tenant, id));
    for (const timer of effects.timersSet) {
      const k = key(tenant, timer.id);
      this.t.deleteTimer(k);
      getOrCreate(this.t.timers, shard, () => new Map()).set(k, {
        ...timer,
        tenant,
        runtimeId: state.runtime.id,
        shard,
      });
      this.t.timerShards.set(k, shard);
    }
  }
}

/** A copy through JSON, so the twin stores exactly what MySQL's JSON columns would (no undefined, no class instances). */
function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function refused(code: 'conflict' | 'duplicate_runtime' | 'duplicate_idempotency_key', message: string): CommitOutcome {
  return { ok: false, code, message };
}

function checkRecord(r: TransitionRecord): void {
  if (r.state.revision !== r.baseRevision + 1) {
    throw new StoreError(
      'invalid_record',
      `state.revision ${r.state.revision} must be baseRevision ${r.baseRevision} + 1`,
    );
  }
}
