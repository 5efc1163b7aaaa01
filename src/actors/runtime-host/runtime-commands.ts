import { step, type Command, type StepResult, type TimerCommand } from '../../engine/index.ts';
import { outsideTrace, type TraceScope } from '../../shared/trace-scope.ts';
import type { CommitFailureCode, CommitOutcome, StoredIdempotency } from '../../store/ports.ts';
import { actorKey, remember, type Actor, type OkReply } from './actor.ts';
import type { HostContext, Placement } from './host-context.ts';
import type { ShardReply, ShardRequest } from '../bus/ports.ts';
import { problem, refused, runtimeNotFound, storeUnavailable } from './problems.ts';
import { replayStored, replayed, storedResponse } from './replies.ts';

export type CommandRequest = Extract<ShardRequest, { kind: 'command' }>;

/** What delivering a timer did: stepped and committed, moot (stage closed, runtime gone), or not done (retry later). */
export type TimerDelivery = 'fired' | 'stale' | 'failed';

type Stepped = Extract<StepResult, { ok: true }>;

/** One retry after a lost optimistic-revision race, then `version_conflict`. */
const CONFLICT_RETRIES = 1;

/**
 * The command path of a runtime actor (docs/architecture.md#a-commands-path,
 * from the mailbox to the reply). Runs inside the runtime's mailbox, so one command at a time.
 *
 * Idempotency costs no store read for a live actor: its recent keys answer
 * retries, and a key it no longer remembers is caught by the writer's unique
 * key (`duplicate_idempotency_key`), whose stored reply is then returned. The
 * store is asked on activation and after a lost race only.
 */
export class RuntimeCommands {
  constructor(private readonly ctx: HostContext) {}

  async command(req: CommandRequest, at: Placement): Promise<ShardReply> {
    const live = this.ctx.actors.get(actorKey(req.tenant, req.runtimeId));
    if (live) {
      this.ctx.actors.touch(live, this.ctx.now());
      const remembered = live.recent.get(req.idempotencyKey);
      return remembered ? replayed(remembered) : this.attempt(live, req, at, CONFLICT_RETRIES);
    }
    const [stored, actor] = await Promise.all([
      this.ctx.deps.runtimes.findIdempotency(req.tenant, req.idempotencyKey),
      this.ctx.activate(req.tenant, req.runtimeId, at),
    ]);
    if (stored) return this.replayAndRemember(actor, stored, req);
    if (!actor) return runtimeNotFound(req.runtimeId);
    return this.attempt(actor, req, at, CONFLICT_RETRIES);
  }

  /**
   * Answers a key committed before (by a previous owner, or beyond the remembered keys) from the store, and
   * remembers it on the live actor: the gateway sends a command more than once (a try that timed out is
   * retried), and the next copy must find the key, not step the command again on the moved-on state.
   */
  private replayAndRemember(actor: Actor | undefined, stored: StoredIdempotency, req: CommandRequest): ShardReply {
    const reply = replayStored(stored, req.runtimeId);
    if (actor && reply.ok) {
      const { replayed: _, ...first } = reply;
      remember(actor, req.idempotencyKey, first, this.ctx.options.recentKeysPerActor);
    }
    return reply;
  }

  /** Fires a durable timer (the timer service's delivery). */
  async timer(tenant: string, runtimeId: string, command: TimerCommand, at: Placement): Promise<TimerDelivery> {
    const live = this.ctx.actors.get(actorKey(tenant, runtimeId));
    if (live) this.ctx.actors.touch(live, this.ctx.now());
    const actor = live ?? (await this.ctx.activate(tenant, runtimeId, at));
    if (!actor) return 'stale';
    return this.fire(actor, command, at, CONFLICT_RETRIES);
  }

  private async attempt(actor: Actor, req: CommandRequest, at: Placement, retries: number): Promise<ShardReply> {
    const expected = req.expectedRevision;
    if (expected !== undefined && expected !== actor.state.revision) {
      // Ahead of us: another owner may have committed since we loaded; look again before refusing.
      if (expected > actor.state.revision && retries > 0) return this.retry(actor, req, at, retries);
      return problem(
        'version_conflict',
        `expected revision ${expected}, the runtime is at revision ${actor.state.revision}`,
      );
    }
    const inTrace = this.ctx.deps.traceScope(req);
    const result = await this.step(actor, req.command, inTrace);
    if (!result.ok) {
      // A refusal may be a retry of a key this actor never saw committed (a previous owner's, or one older than
      // the remembered keys): refusals are rare, so one read here answers those with their first reply.
      const stored = await this.ctx.deps.runtimes.findIdempotency(req.tenant, req.idempotencyKey);
      if (stored) return this.replayAndRemember(actor, stored, req);
      // Or the state came from a snapshot older than MySQL: refuse only what MySQL's state refuses too.
      return !actor.confirmed && retries > 0 ? this.retry(actor, req, at, retries) : refused(result.error);
    }
    if (!result.changed)
      return !actor.confirmed && retries > 0 ? this.retry(actor, req, at, retries) : { ok: true, state: actor.state };
    const reply: OkReply = { ok: true, state: result.state };
    const outcome = await inTrace(() =>
      this.commit(actor, result, req.command, at, { key: req.idempotencyKey, response: storedResponse(reply) }),
    );
    if (outcome.ok) {
      remember(actor, req.idempotencyKey, reply, this.ctx.options.recentKeysPerActor);
      return reply;
    }
    return this.commitFailed(actor, req, at, retries, outcome);
  }

  private async commitFailed(
    actor: Actor,
    req: CommandRequest,
    at: Placement,
    retries: number,
    outcome: Failure,
  ): Promise<ShardReply> {
    const log = this.ctx.logFor(req.tenant, req.runtimeId, req.idempotencyKey);
    switch (outcome.code) {
      case 'conflict':
        if (retries > 0) return this.retry(actor, req, at, retries);
        log.warn({ revision: actor.state.revision }, 'version conflict persists after a reload');
        return problem('version_conflict', `runtime ${req.runtimeId} changed concurrently; retry`, true);
      case 'duplicate_idempotency_key': {
        // Committed before (by us beyond the remembered keys, or by a previous owner): our state may be behind.
        this.ctx.actors.drop(actor.key, 'failure');
        const stored = await this.ctx.deps.runtimes.findIdempotency(req.tenant, req.idempotencyKey);
        return stored ? replayStored(stored, req.runtimeId) : problem('version_conflict', outcome.message, true);
      }
      case 'duplicate_runtime':
        return problem(
          'document_has_active_runtime',
          `the document already has another active runtime: ${outcome.message}`,
        );
      case 'store_unavailable':
        log.warn({ reason: outcome.message }, 'commit failed: store unavailable');
        this.ctx.actors.drop(actor.key, 'failure');
        return storeUnavailable(outcome.message);
    }
  }

  /** After a lost race: reload from the store (not the cache), check the key again, step once more. */
  private async retry(actor: Actor, req: CommandRequest, at: Placement, retries: number): Promise<ShardReply> {
    this.ctx.metrics.conflictRetries.inc();
    const [stored, fresh] = await Promise.all([
      this.ctx.deps.runtimes.findIdempotency(req.tenant, req.idempotencyKey),
      this.ctx.activate(actor.tenant, actor.runtimeId, at, true),
    ]);
    if (stored) return this.replayAndRemember(fresh, stored, req);
    if (!fresh) return runtimeNotFound(req.runtimeId);
    return this.attempt(fresh, req, at, retries - 1);
  }

  private async fire(actor: Actor, command: TimerCommand, at: Placement, retries: number): Promise<TimerDelivery> {
    const result = await this.step(actor, command);
    if (!result.ok) {
      this.ctx
        .logFor(actor.tenant, actor.runtimeId)
        .warn({ timerId: command.timerId, code: result.error.code }, 'timer refused by the engine');
      return 'stale';
    }
    if (!result.changed) return 'stale';
    const outcome = await this.commit(actor, result, command, at, undefined);
    if (outcome.ok) return 'fired';
    if (outcome.code === 'conflict' && retries > 0) {
      this.ctx.metrics.conflictRetries.inc();
      const fresh = await this.ctx.activate(actor.tenant, actor.runtimeId, at, true);
      return fresh ? this.fire(fresh, command, at, retries - 1) : 'stale';
    }
    if (outcome.code === 'store_unavailable') this.ctx.actors.drop(actor.key, 'failure');
    this.ctx
      .logFor(actor.tenant, actor.runtimeId)
      .warn({ timerId: command.timerId, outcome: outcome.code }, 'timer commit failed');
    return 'failed';
  }

  private async step(actor: Actor, command: Command, inTrace: TraceScope = outsideTrace): Promise<StepResult> {
    const dir = await this.ctx.directories.get(actor.tenant);
    const { tenant, runtimeId, wf, shard } = actor;
    const traced = { tenant, runtimeId, workflowId: wf.workflowId, version: wf.version, action: command.type, shard };
    return inTrace(() => this.ctx.deps.traceStep(traced, () => step(wf, actor.state, command, dir, this.ctx.now())));
  }

  private commit(
    actor: Actor,
    result: Stepped,
    command: Command,
    at: Placement,
    idempotency: { key: string; response: unknown } | undefined,
  ): Promise<CommitOutcome> {
    return this.ctx.commitStep(actor, result, { command }, at, idempotency);
  }
}

type Failure = { ok: false; code: CommitFailureCode; message: string };
