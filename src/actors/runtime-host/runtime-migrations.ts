import { migrate } from '../../engine/index.ts';
import type { ShardReply, ShardRequest } from '../bus/ports.ts';
import { actorKey, remember, type Actor, type OkReply } from './actor.ts';
import type { HostContext, Placement } from './host-context.ts';
import { problem, runtimeNotFound, storeUnavailable, type ProblemReply } from './problems.ts';
import { replayStored, replayed } from './replies.ts';

export type MigrateRequest = Extract<ShardRequest, { kind: 'migrate' }>;

/**
 * A migration plan's step on one runtime, inside the runtime's actor (its mailbox order, the shard's epoch
 * fencing, the writer's revision check): the engine's `migrate` from the actor's version to the plan's, one
 * `migrate` entry appended to the log under the plan's idempotency key for the runtime. A key committed
 * before (the plan resumed after a crash) answers with its first reply, marked `replayed`: a runtime is never
 * migrated twice by a plan. A runtime that cannot move answers `migration_blocked` with the reason.
 */
export class RuntimeMigrations {
  constructor(private readonly ctx: HostContext) {}

  async migrate(req: MigrateRequest, at: Placement): Promise<ShardReply> {
    const live = this.ctx.actors.get(actorKey(req.tenant, req.runtimeId));
    if (live) {
      // As for commands: a live actor asks the store about the key only when the engine refuses (below) or the
      // writer's unique key catches a copy; a runtime migrated by this plan is refused `not_on_version` first.
      this.ctx.actors.touch(live, this.ctx.now());
      const remembered = live.recent.get(req.idempotencyKey);
      return remembered ? replayed(remembered) : this.attempt(live, req, at, 1);
    }
    const [stored, actor] = await Promise.all([
      this.ctx.deps.runtimes.findIdempotency(req.tenant, req.idempotencyKey),
      this.ctx.activate(req.tenant, req.runtimeId, at),
    ]);
    if (stored) return replayStored(stored, req.runtimeId);
    if (!actor) return runtimeNotFound(req.runtimeId);
    return this.attempt(actor, req, at, 1);
  }

  private async attempt(actor: Actor, req: MigrateRequest, at: Placement, retries: number): Promise<ShardReply> {
    const cmd = req.migration;
    const to = await this.ctx.workflows.get(req.tenant, actor.state.runtime.workflowId, cmd.toVersion);
    if (!to)
      return problem(
        'workflow_version_not_found',
        `workflow ${actor.state.runtime.workflowId} has no version ${cmd.toVersion}`,
      );
    const dir = await this.ctx.directories.get(req.tenant);
    const result = migrate(actor.wf, to, actor.state, cmd, dir, this.ctx.now());
    if (!result.ok) {
      // Migrated by this plan before (a resumed plan resends its page): the first reply, from the log.
      const stored = await this.ctx.deps.runtimes.findIdempotency(req.tenant, req.idempotencyKey);
      if (stored) return replayStored(stored, req.runtimeId);
      // The state may come from a snapshot older than MySQL's: refuse only what MySQL's state refuses too.
      if (!actor.confirmed && retries > 0) return this.retry(actor, req, at, retries);
      return blocked(result.block, result.message);
    }
    const outcome = await this.ctx.commitStep(actor, result, { migrate: cmd }, at, { key: req.idempotencyKey }, to);
    if (outcome.ok) {
      const reply: OkReply = { ok: true, state: result.state };
      remember(actor, req.idempotencyKey, reply, this.ctx.options.recentKeysPerActor);
      return reply;
    }
    switch (outcome.code) {
      case 'conflict':
        if (retries > 0) return this.retry(actor, req, at, retries);
        return problem('version_conflict', `runtime ${req.runtimeId} changed concurrently; retry`, true);
      case 'duplicate_idempotency_key': {
        this.ctx.actors.drop(actor.key, 'failure');
        const stored = await this.ctx.deps.runtimes.findIdempotency(req.tenant, req.idempotencyKey);
        return stored ? replayStored(stored, req.runtimeId) : problem('version_conflict', outcome.message, true);
      }
      case 'store_unavailable':
        this.ctx.actors.drop(actor.key, 'failure');
        return storeUnavailable(outcome.message);
      default:
        return problem('version_conflict', outcome.message, true);
    }
  }

  /** Reload from the store (not the cache), look for the key again, try once more. */
  private async retry(actor: Actor, req: MigrateRequest, at: Placement, retries: number): Promise<ShardReply> {
    this.ctx.metrics.conflictRetries.inc();
    const [stored, fresh] = await Promise.all([
      this.ctx.deps.runtimes.findIdempotency(req.tenant, req.idempotencyKey),
      this.ctx.activate(actor.tenant, actor.runtimeId, at, true),
    ]);
    if (stored) return replayStored(stored, req.runtimeId);
    if (!fresh) return runtimeNotFound(req.runtimeId);
    return this.attempt(fresh, req, at, retries - 1);
  }
}

function blocked(reason: string, message: string): ProblemReply {
  const reply = problem('migration_blocked', message);
  reply.problem.reason = reason;
  return reply;
}
