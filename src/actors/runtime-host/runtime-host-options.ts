import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { Effects, RuntimeState } from '../../engine/index.ts';
import type {
  DirectoryStore,
  RuntimeStore,
  SnapshotCache,
  TransitionWriter,
  WorkflowStore,
} from '../../store/ports.ts';
import { systemClock, type Clock } from '../clock.ts';
import { outsideTrace, type TraceScope } from '../../shared/trace-scope.ts';
import type { ShardRequest } from '../bus/ports.ts';
import { checkOptions, integer, resolveOptions, type OptionDefaults, type Resolved } from '../../shared/options.ts';

/**
 * A runtime store that can also read past its cache. `CachedRuntimeStore` has
 * `loadFromStore`; after a version conflict the host uses it (the cache may
 * hold an older revision). A plain store is its own source of truth.
 */
export type HostRuntimeStore = RuntimeStore & {
  loadFromStore?: RuntimeStore['loadRuntime'];
};

/** The engine step about to run, as a trace records it (docs/architecture.md#tracing). */
export interface StepTrace {
  tenant: string;
  runtimeId: string;
  workflowId: string;
  version: number;
  /** The command's type (`approve`, `timer`, …), or `start`. */
  action: string;
  shard: number;
}

/** Runs one engine step (`run`, pure and synchronous); the tracing layer wraps it in a span. */
export type TraceStep = <T>(step: StepTrace, run: () => T) => T;

/** What the host talks to; every dependency is injected. */
export interface RuntimeHostDeps {
  /** Activation reads and idempotency look-ups. In production a `CachedRuntimeStore` (Redis first, else MySQL). */
  runtimes: HostRuntimeStore;
  /** The group-commit writer; a command is answered only after its record committed. */
  writer: TransitionWriter;
  /** Refreshed after each commit, fire and forget. */
  cache: SnapshotCache;
  workflows: WorkflowStore;
  directory: DirectoryStore;
  /**
   * Told after every committed transition (after the snapshot refresh was
   * sent), with its outbox row's position when the writer reported one: wire
   * the outbox relay's `committed` here. Must not throw (a throw is logged and
   * ignored). @default nothing
   */
  onCommitted?: (shard: number, state: RuntimeState, effects: Effects, outboxPosition: number | undefined) => void;
  /**
   * Told when a commit on `shard` failed with `store_unavailable`: the store may have made it durable anyway
   * (a COMMIT whose reply was lost), so its events are only in the log now. Wire the outbox relay's
   * `fallBehind` here, so later commits are not published from memory past it. @default nothing
   */
  onCommitUncertain?: (shard: number) => void;
  /** Wraps every engine step (tracing). @default runs the step */
  traceStep?: TraceStep;
  /**
   * The trace a request came in (tracing): its engine step and its hand-over to the writer run in that scope,
   * which a trace's context does not reach across the mailbox's awaits on its own. @default outside any trace
   */
  traceScope?: (request: ShardRequest) => TraceScope;
  /** @default systemClock */
  clock?: Clock;
  /** @default a silent logger */
  logger?: Logger;
  /** Where the host's metrics are registered. @default a private registry (metrics not exported) */
  registry?: Registry;
}

/** Options of {@link RuntimeHost}; every field has a default. Validated once, in the constructor. */
export interface RuntimeHostOptions {
  /** The cluster's fixed shard count; a runtime's shard is `shardOf(runtimeId, shardCount)`. @default 64 */
  shardCount?: number;
  /** An actor with no command for this long is passivated (dropped from memory). @default 60000 */
  idleMs?: number;
  /**
   * Bound on live actors: beyond it the least recently used idle actors are
   * passivated. Actors with commands in their mailbox are never dropped, so
   * the bound can be exceeded by at most the number of runtimes busy at once.
   * @default 50000
   */
  maxLiveActors?: number;
  /** Idempotency keys (with their replies) kept per live actor, answering retries without a store read. @default 16 */
  recentKeysPerActor?: number;
  /**
   * How long a tenant's directory (employees, groups) is reused before it is
   * reloaded: a directory change takes up to this long to reach a running
   * node, unless `invalidateDirectory(tenant)` is called. 0 = reload per command.
   * @default 30000
   */
  directoryTtlMs?: number;
  /**
   * How long a tenant's app configs and workflow records (the latest published
   * version) are reused by starts: a config change or a publish takes up to this
   * long to reach a running node, unless `invalidateStartDefinitions(tenant)` is
   * called (a change notice). 0 = read per start.
   * @default 30000
   */
  startDefinitionTtlMs?: number;
  /** Compiled workflow versions kept (versions are immutable, so they never go stale). @default 1000 */
  maxCompiledVersions?: number;
  /** Period of the idle-passivation sweep; 0 = no timer (call `passivateIdle()` yourself). @default 5000 */
  sweepIntervalMs?: number;
  /**
   * Which committed states go to the snapshot cache. A state is written when its revision is a multiple of
   * this (1: after every commit), and always when its actor leaves memory (passivation, a shard drained or
   * lost) unless that revision was written already; 0: only when the actor leaves memory. The cache is never
   * the truth: an activation from an older snapshot catches up from the store (a commit on it meets the
   * revision check and reloads), so writing less only moves work from every command to the rarer activation
   * after a crash. Writes are off the command path either way (batched per event-loop turn, never awaited).
   * @default 0
   */
  snapshotEveryRevisions?: number;
  /**
   * How long the last state of an actor passivated here (idle, over capacity) still answers live reads, so
   * that a caller reads its own write while the read model is behind. 0 = not kept. @default 10000
   */
  recentlyPassivatedMs?: number;
}

export const DEFAULT_RUNTIME_HOST_OPTIONS = Object.freeze({
  shardCount: 64,
  idleMs: 60_000,
  maxLiveActors: 50_000,
  recentKeysPerActor: 16,
  directoryTtlMs: 30_000,
  startDefinitionTtlMs: 30_000,
  maxCompiledVersions: 1_000,
  sweepIntervalMs: 5_000,
  snapshotEveryRevisions: 0,
  recentlyPassivatedMs: 10_000,
} satisfies OptionDefaults<RuntimeHostOptions>);

export type ResolvedHostOptions = Resolved<RuntimeHostOptions, typeof DEFAULT_RUNTIME_HOST_OPTIONS>;

/** The defaults of the host's optional dependencies (`registry` aside: a private one per host). */
export const DEFAULT_RUNTIME_HOST_DEPS = Object.freeze({
  traceStep: (_step, run) => run(),
  traceScope: () => outsideTrace,
  clock: systemClock,
  logger: pino({ level: 'silent' }),
} satisfies OptionDefaults<RuntimeHostDeps>);

export type ResolvedHostDeps = Resolved<RuntimeHostDeps, typeof DEFAULT_RUNTIME_HOST_DEPS> & { registry: Registry };

/** Applies defaults and validates; throws InvalidOptionError naming the first bad option. */
export function resolveHostOptions(given: RuntimeHostOptions): ResolvedHostOptions {
  const options = resolveOptions(DEFAULT_RUNTIME_HOST_OPTIONS, given);
  checkOptions('RuntimeHost', options, {
    shardCount: integer(1, 4096),
    idleMs: integer(1),
    maxLiveActors: integer(1),
    recentKeysPerActor: integer(0, 10_000),
    directoryTtlMs: integer(0),
    startDefinitionTtlMs: integer(0),
    maxCompiledVersions: integer(1),
    sweepIntervalMs: integer(0),
    snapshotEveryRevisions: integer(0),
    recentlyPassivatedMs: integer(0),
  });
  return options;
}

export function resolveHostDeps(given: RuntimeHostDeps): ResolvedHostDeps {
  return { ...resolveOptions(DEFAULT_RUNTIME_HOST_DEPS, given), registry: given.registry ?? new Registry() };
}
