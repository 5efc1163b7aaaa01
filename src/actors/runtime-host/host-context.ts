import type { Logger } from 'pino';
import {
  diffState,
  FINISHED_STATUSES,
  type CompiledWorkflow,
  type Effects,
  type RuntimeState,
} from '../../engine/index.ts';
import type { CommitFailureCode, CommitOutcome, StepCause, TransitionRecord } from '../../store/ports.ts';
import { actorKey, type Actor } from './actor.ts';
import type { ActorRegistry } from './actor-registry.ts';
import type { DirectoryCache, StartDefinitionCache, WorkflowCache } from './definition-caches.ts';
import type { HostMetrics, PassivationReason } from './host-metrics.ts';
import { RecentlyPassivated } from './recently-passivated.ts';
import type { ResolvedHostDeps, ResolvedHostOptions } from './runtime-host-options.ts';

/** Bound on the states kept by RecentlyPassivated (a few seconds of passivations). */
const RECENTLY_PASSIVATED_MAX = 10_000;

/** Where a request is being handled: its shard and the lease epoch it was accepted under. */
export interface Placement {
  shard: number;
  epoch: number;
}

/** What the command and start handlers share: dependencies, caches, the live actors. */
export class HostContext {
  /** Snapshots committed this turn of the event loop, written to the cache together (one pipeline). */
  private snapshots: { tenant: string; state: RuntimeState }[] = [];
  /** The last states of actors passivated a moment ago (live reads). */
  readonly recentlyPassivated: RecentlyPassivated;

  constructor(
    readonly deps: ResolvedHostDeps,
    readonly options: ResolvedHostOptions,
    readonly metrics: HostMetrics,
    readonly actors: ActorRegistry,
    readonly workflows: WorkflowCache,
    readonly directories: DirectoryCache,
    readonly startDefinitions: StartDefinitionCache,
    /** True while `at.shard` is still held at `at.epoch` (draining included). */
    readonly serving: (at: Placement) => boolean,
  ) {
    this.recentlyPassivated = new RecentlyPassivated(options.recentlyPassivatedMs, RECENTLY_PASSIVATED_MAX, () =>
      this.now(),
    );
  }

  now(): number {
    return this.deps.clock.now();
  }

  /**
   * Loads a runtime and makes it a live actor (when its shard is still served).
   * `fromStore` bypasses the snapshot cache: after a conflict the cache may be behind.
   * The recent idempotency keys of an actor being replaced carry over (they are committed replies).
   */
  async activate(tenant: string, runtimeId: string, at: Placement, fromStore = false): Promise<Actor | undefined> {
    const runtimes = this.deps.runtimes;
    const bypassCache = fromStore && runtimes.loadFromStore !== undefined;
    const state = bypassCache
      ? await runtimes.loadFromStore!(tenant, runtimeId)
      : await runtimes.loadRuntime(tenant, runtimeId);
    if (!state) return undefined;
    // Without a loadFromStore there is no cache in front of the store.
    return this.actorFor(state, at, bypassCache || runtimes.loadFromStore === undefined);
  }

  /** A live actor for a state just loaded or committed; `confirmed`: the state is known to be MySQL's. */
  async actorFor(state: RuntimeState, at: Placement, confirmed: boolean): Promise<Actor> {
    const { tenant, id, workflowId, version } = state.runtime;
    const wf = await this.workflows.get(tenant, workflowId, version);
    if (!wf) throw new Error(`workflow ${workflowId} version ${version} of runtime ${id} does not exist`);
    const key = actorKey(tenant, id);
    const previous = this.actors.get(key);
    const actor: Actor = {
      key,
      tenant,
      runtimeId: id,
      shard: at.shard,
      state,
      wf,
      recent: previous?.recent ?? new Map(),
      lastUsed: this.now(),
      confirmed,
    };
    if (this.serving(at)) this.actors.add(actor, actor.lastUsed);
    return actor;
  }

  /**
   * Appends a step to the group commit, with what produced it (logged, for replay); on success the actor
   * moves on (to `wf` too, when the step migrated it to another version) and the snapshot is refreshed.
   */
  async commitStep(
    actor: Actor,
    result: { state: RuntimeState; effects: Effects },
    cause: StepCause,
    at: Placement,
    idempotency: { key: string; response?: unknown } | undefined,
    wf?: CompiledWorkflow,
  ): Promise<CommitOutcome> {
    const record: TransitionRecord = {
      tenant: actor.tenant,
      shard: at.shard,
      baseRevision: actor.state.revision,
      state: result.state,
      effects: result.effects,
      change: diffState(actor.state, result.state),
      cause,
      ...(FINISHED_STATUSES.has(actor.state.status) &&
        !FINISHED_STATUSES.has(result.state.status) && { reopens: true }),
    };
    const outcome = await this.deps.writer.commit(idempotency ? { ...record, idempotency } : record);
    if (outcome.ok) {
      actor.state = result.state;
      if (wf !== undefined) actor.wf = wf;
      actor.confirmed = true;
      this.committed(actor.tenant, at.shard, result.state, result.effects, outcome.outboxPosition);
    } else this.commitFailed(at.shard, outcome.code);
    return outcome;
  }

  /**
   * After a commit: refresh the snapshot cache (fire and forget, at the end of this turn together with the
   * other commits of the turn: the cache never fails a command), tell `onCommitted`.
   */
  committed(tenant: string, shard: number, state: RuntimeState, effects: Effects, outboxPosition?: number): void {
    const { logger, onCommitted } = this.deps;
    if (snapshotDue(state.revision, this.options.snapshotEveryRevisions)) this.snapshot(tenant, state);
    if (!onCommitted) return;
    try {
      onCommitted(shard, state, effects, outboxPosition);
    } catch (err) {
      logger.error({ err, tenant, runtimeId: state.runtime.id }, 'onCommitted hook threw');
    }
  }

  /** After a failed commit: one that may have been written anyway (`store_unavailable`) is told to `onCommitUncertain`. */
  commitFailed(shard: number, code: CommitFailureCode): void {
    if (code === 'store_unavailable') this.deps.onCommitUncertain?.(shard);
  }

  /**
   * An actor leaves memory (passivated, its shard drained or lost): its state goes to the snapshot cache
   * unless `committed` wrote that revision already. Not after a failure: its state may not be the store's.
   */
  leaving(actor: Actor, reason: PassivationReason): void {
    if (reason === 'failure') return this.recentlyPassivated.forget(actor.key);
    if ((reason === 'idle' || reason === 'capacity') && actor.confirmed) this.recentlyPassivated.add(actor);
    if (!snapshotDue(actor.state.revision, this.options.snapshotEveryRevisions))
      this.snapshot(actor.tenant, actor.state);
  }

  /** Queues a snapshot write; the writes of one turn of the event loop go out together (one pipeline). */
  private snapshot(tenant: string, state: RuntimeState): void {
    this.snapshots.push({ tenant, state });
    if (this.snapshots.length === 1) setImmediate(() => this.refreshSnapshots());
  }

  private refreshSnapshots(): void {
    const entries = this.snapshots;
    this.snapshots = [];
    this.deps.cache
      .setMany(entries)
      .catch((err: unknown) => this.deps.logger.debug({ err, snapshots: entries.length }, 'snapshot refresh failed'));
  }

  /** A child logger naming the request (used on errors and warnings only). */
  logFor(tenant: string, runtimeId: string, idempotencyKey?: string): Logger {
    return this.deps.logger.child({ tenant, runtimeId, ...(idempotencyKey !== undefined && { idempotencyKey }) });
  }
}

/** Whether `committed` writes the snapshot of `revision` (every `every`th revision; never when 0). */
function snapshotDue(revision: number, every: number): boolean {
  return every > 0 && revision % every === 0;
}
