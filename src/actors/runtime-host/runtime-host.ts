import type { TimerCommand } from '../../engine/index.ts';
import { StoreError } from '../../store/errors.ts';
import { actorKey } from './actor.ts';
import { ActorRegistry } from './actor-registry.ts';
import { DirectoryCache, StartDefinitionCache, WorkflowCache } from './definition-caches.ts';
import { HostContext, type Placement } from './host-context.ts';
import { registerHostMetrics, type CommandOutcome, type HostMetrics } from './host-metrics.ts';
import { InFlightRequests } from './in-flight-requests.ts';
import { Mailboxes } from './mailbox.ts';
import type { ShardDrainer } from '../leases/ports.ts';
import type { ShardMessage, ShardRead, ShardReply, ShardRequest } from '../bus/ports.ts';
import { internal, notLive, shardMoved, storeUnavailable } from './problems.ts';
import { RuntimeCommands, type TimerDelivery } from './runtime-commands.ts';
import {
  resolveHostDeps,
  resolveHostOptions,
  type ResolvedHostDeps,
  type ResolvedHostOptions,
  type RuntimeHostDeps,
  type RuntimeHostOptions,
} from './runtime-host-options.ts';
import { RuntimeStarts } from './runtime-starts.ts';
import { RuntimeMigrations } from './runtime-migrations.ts';
import { shardOf } from '../shard-of.ts';

interface ShardState {
  epoch: number;
  /** Set by drain: new requests are refused, queued ones finish. */
  draining: boolean;
}

/** A timer as the timer service hands it over. */
export interface TimerToDeliver {
  id: string;
  kind: TimerCommand['kind'];
  stage: number;
}

/**
 * Hosts the runtime actors of the shards this node holds: the shard bus
 * handler (`handle`), the timer service's target (`deliverTimer`) and the
 * lease manager's drainer (`drain`, `openShard`, `closeShard`).
 *
 * Each runtime has one mailbox: its requests run one at a time, in arrival
 * order; different runtimes run concurrently. An actor holds only its current
 * state; it is activated on demand (snapshot cache, else MySQL) and passivated
 * when idle or beyond `maxLiveActors`. Nothing is answered before it is
 * committed. Replies share state objects with the live actors: treat them as
 * immutable (the NATS bus serialises them anyway).
 *
 * @example
 * const host = new RuntimeHost({ runtimes: new CachedRuntimeStore(mysqlRuntimes, redis), writer, cache: redis, workflows, directory });
 * leases.onChange((c) => (c.type === 'acquired' ? host.openShard(c.shard, c.epoch) : host.closeShard(c.shard)));
 * await bus.serve(shard, (request) => host.handle(request));
 */
export class RuntimeHost implements ShardDrainer {
  readonly options: ResolvedHostOptions;
  private readonly deps: ResolvedHostDeps;
  private readonly metrics: HostMetrics;
  private readonly mailboxes: Mailboxes;
  private readonly inFlight: InFlightRequests;
  private readonly actors: ActorRegistry;
  private readonly directories: DirectoryCache;
  private readonly startDefinitions: StartDefinitionCache;
  private readonly commands: RuntimeCommands;
  private readonly starts: RuntimeStarts;
  private readonly migrations: RuntimeMigrations;
  private readonly context: HostContext;
  /** The compiled workflow versions of this host (immutable; `bflow all` renders its gateway's views from them). */
  readonly compiledVersions: WorkflowCache;
  private readonly shards = new Map<number, ShardState>();
  private readonly sweeper: NodeJS.Timeout | undefined;

  constructor(deps: RuntimeHostDeps, options: RuntimeHostOptions = {}) {
    this.options = resolveHostOptions(options);
    this.deps = resolveHostDeps(deps);
    this.metrics = registerHostMetrics(this.deps.registry);
    this.mailboxes = new Mailboxes(this.metrics.mailboxDepth);
    this.inFlight = new InFlightRequests(() => this.metrics.joinedRequests.inc());
    const { idleMs, maxLiveActors } = this.options;
    this.actors = new ActorRegistry({
      idleMs,
      maxLiveActors,
      busy: (key) => this.mailboxes.depth(key) > 0,
      metrics: this.metrics,
      onLeave: (actor, reason) => this.context.leaving(actor, reason),
    });
    this.directories = new DirectoryCache(this.deps.directory, this.options.directoryTtlMs, () =>
      this.deps.clock.now(),
    );
    this.startDefinitions = new StartDefinitionCache(this.deps.workflows, this.options.startDefinitionTtlMs, () =>
      this.deps.clock.now(),
    );
    const workflows = (this.compiledVersions = new WorkflowCache(
      this.deps.workflows,
      this.options.maxCompiledVersions,
    ));
    const ctx = (this.context = new HostContext(
      this.deps,
      this.options,
      this.metrics,
      this.actors,
      workflows,
      this.directories,
      this.startDefinitions,
      (at) => this.serving(at),
    ));
    this.commands = new RuntimeCommands(ctx);
    this.starts = new RuntimeStarts(ctx);
    this.migrations = new RuntimeMigrations(ctx);
    if (this.options.sweepIntervalMs > 0) {
      this.sweeper = setInterval(() => this.passivateIdle(), this.options.sweepIntervalMs);
      this.sweeper.unref();
    }
  }

  /**
   * The shard bus handler. Never rejects: every failure is a Problem. A copy of
   * a request still in flight (a gateway retry) joins it: one step, one commit,
   * the same reply (marked `replayed`). A live read is answered at once ({@link readLive}).
   */
  async handle(request: ShardMessage): Promise<ShardReply> {
    if (request.kind === 'read') return this.readLive(request);
    const started = performance.now();
    const reply = await this.inFlight.run(request, () => this.route(request));
    this.metrics.commandDuration.observe(
      { kind: request.kind, outcome: outcomeOf(reply) },
      (performance.now() - started) / 1000,
    );
    return reply;
  }

  /**
   * A runtime's state from memory (`GET /runtimes/{id}`): the live actor's state when its shard is held here
   * and its state is known to be the store's (`confirmed`), or the state it had when it was passivated here a
   * moment ago (`recentlyPassivatedMs`); else `not_live` (or `shard_moved`), and the caller reads the read model. No store read, no activation, no wait behind the mailbox: the actor's state moves on
   * before a command's reply is sent, so a read sent after the reply sees the command. The actor is not
   * touched: reads do not keep it in memory.
   */
  readLive(request: ShardRead): ShardReply {
    const shard = shardOf(request.runtimeId, this.options.shardCount);
    if (!this.shards.has(shard)) return shardMoved(shard);
    const key = actorKey(request.tenant, request.runtimeId);
    const actor = this.actors.get(key);
    const state = actor?.confirmed ? actor.state : this.context.recentlyPassivated.get(key);
    return state ? { ok: true, state } : notLive(request.runtimeId);
  }

  /**
   * Fires a durable timer on its runtime, through the runtime's mailbox.
   * `stale`: the runtime is gone or the timer is moot (delete it); `failed`:
   * not done now (shard not held here, store down, lost race): deliver again later.
   */
  async deliverTimer(tenant: string, runtimeId: string, timer: TimerToDeliver): Promise<TimerDelivery> {
    const started = performance.now();
    const command: TimerCommand = { type: 'timer', timerId: timer.id, kind: timer.kind, stage: timer.stage };
    const at = this.placement(runtimeId);
    const result = at
      ? await this.mailboxes.run(actorKey(tenant, runtimeId), at.shard, () =>
          this.fireTimer(tenant, runtimeId, command, at),
        )
      : 'failed';
    const outcome: CommandOutcome = result === 'fired' ? 'ok' : result === 'stale' ? 'refused' : 'unavailable';
    this.metrics.commandDuration.observe({ kind: 'timer', outcome }, (performance.now() - started) / 1000);
    return result;
  }

  /** Starts serving `shard` (lease acquired). A new epoch drops the shard's actors: another node may have moved them on. */
  openShard(shard: number, epoch: number): void {
    const current = this.shards.get(shard);
    if (current && current.epoch !== epoch) this.forgetShard(shard);
    this.shards.set(shard, { epoch, draining: false });
  }

  /**
   * Stops serving `shard` at once (lease lost or released): queued requests
   * answer `shard_moved`, the shard's actors are dropped. A commit already in
   * flight may still land; a newer owner's commit would fence it by revision.
   */
  closeShard(shard: number): void {
    this.shards.delete(shard);
    this.forgetShard(shard);
  }

  /** Graceful hand-over: refuse new requests, finish the queued ones, flush the writer, drop the shard's actors. */
  async drain(shard: number): Promise<void> {
    const state = this.shards.get(shard);
    if (!state) return;
    state.draining = true;
    await this.mailboxes.whenIdle(shard);
    await this.deps.writer.flush();
    if (this.shards.get(shard) === state) this.shards.delete(shard);
    this.forgetShard(shard);
  }

  /** Drops the shard's actors, and the states of those passivated a moment ago: another node may move them on. */
  private forgetShard(shard: number): void {
    this.actors.dropShard(shard);
    this.context.recentlyPassivated.dropShard(shard);
  }

  /** Reloads the tenant's directory on its next command (instead of after `directoryTtlMs`). */
  invalidateDirectory(tenant: string): void {
    this.directories.invalidate(tenant);
  }

  /** Starts read the tenant's app configs and workflow records afresh (instead of after `startDefinitionTtlMs`). */
  invalidateStartDefinitions(tenant: string): void {
    this.startDefinitions.invalidate(tenant);
  }

  /** Passivates actors idle for `idleMs` (also run every `sweepIntervalMs`); returns how many. */
  passivateIdle(): number {
    return this.actors.passivateIdle(this.deps.clock.now());
  }

  /** Actors in memory. */
  get liveActors(): number {
    return this.actors.size;
  }

  /** Shards served now, with their epochs (draining ones included). */
  heldShards(): { shard: number; epoch: number; draining: boolean }[] {
    return [...this.shards].map(([shard, s]) => ({ shard, epoch: s.epoch, draining: s.draining }));
  }

  /** Stops the passivation timer. Shards should have been drained or closed first. */
  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }

  private route(request: ShardRequest): Promise<ShardReply> {
    const at = this.placement(request.runtimeId);
    if (!at) return Promise.resolve(shardMoved(shardOf(request.runtimeId, this.options.shardCount)));
    return this.mailboxes.run(actorKey(request.tenant, request.runtimeId), at.shard, () => this.dispatch(request, at));
  }

  private async dispatch(request: ShardRequest, at: Placement): Promise<ShardReply> {
    if (!this.serving(at)) return shardMoved(at.shard);
    try {
      if (request.kind === 'start') return await this.starts.start(request, at);
      if (request.kind === 'migrate') return await this.migrations.migrate(request, at);
      return await this.commands.command(request, at);
    } catch (err) {
      return this.failure(err, request.tenant, request.runtimeId, request.idempotencyKey, at);
    }
  }

  private async fireTimer(
    tenant: string,
    runtimeId: string,
    command: TimerCommand,
    at: Placement,
  ): Promise<TimerDelivery> {
    if (!this.serving(at)) return 'failed';
    try {
      return await this.commands.timer(tenant, runtimeId, command, at);
    } catch (err) {
      this.failure(err, tenant, runtimeId, undefined, at);
      return 'failed';
    }
  }

  /** A thrown error: the store down (retryable), the writer closed (node stopping) or a bug. The actor is dropped either way. */
  private failure(
    err: unknown,
    tenant: string,
    runtimeId: string,
    idempotencyKey: string | undefined,
    at: Placement,
  ): ShardReply {
    this.actors.drop(actorKey(tenant, runtimeId), 'failure');
    const log = this.deps.logger.child({ tenant, runtimeId, ...(idempotencyKey !== undefined && { idempotencyKey }) });
    if (err instanceof StoreError && err.code === 'store_unavailable') {
      log.warn({ err }, 'request failed: store unavailable');
      return storeUnavailable(err.message);
    }
    if (err instanceof StoreError && err.code === 'writer_closed') return shardMoved(at.shard);
    log.error({ err }, 'request failed');
    return internal();
  }

  /** The shard and epoch a new request for `runtimeId` is accepted under, or undefined (not held, or draining). */
  private placement(runtimeId: string): Placement | undefined {
    const shard = shardOf(runtimeId, this.options.shardCount);
    const state = this.shards.get(shard);
    return state && !state.draining ? { shard, epoch: state.epoch } : undefined;
  }

  private serving(at: Placement): boolean {
    return this.shards.get(at.shard)?.epoch === at.epoch;
  }
}

function outcomeOf(reply: ShardReply): CommandOutcome {
  if (reply.ok) return reply.replayed ? 'replayed' : 'ok';
  switch (reply.problem.code) {
    case 'version_conflict':
      return 'conflict';
    case 'store_unavailable':
      return 'unavailable';
    case 'internal':
      return 'error';
    default:
      return 'refused';
  }
}
