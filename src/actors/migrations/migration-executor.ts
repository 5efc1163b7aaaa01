import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { MigrateCommand, MigrationBlock } from '../../engine/index.ts';
import {
  migrationKey,
  recordOutcome,
  type MigrationCandidate,
  type MigrationPlan,
  type MigrationPlanStore,
  type MigrationProgress,
} from '../../store/migration-ports.ts';
import {
  checkOptions,
  integer,
  positive,
  resolveOptions,
  type OptionDefaults,
  type Resolved,
} from '../../shared/options.ts';
import type { ShardReply, ShardRequest } from '../bus/ports.ts';
import { systemClock, type Clock } from '../clock.ts';
import { registerMigrationMetrics, type MigrationMetrics } from './migration-metrics.ts';

/** Sends a request to the node owning its runtime's shard (the RoutingClient). */
export interface MigrationRouter {
  send(request: ShardRequest, options?: { deadlineMs?: number }): Promise<ShardReply>;
}

export interface MigrationExecutorOptions {
  plans: MigrationPlanStore;
  router: MigrationRouter;
  /** This executor's name in a plan's lease (the node id). */
  owner: string;
  logger?: Logger;
  metrics?: MigrationMetrics;
  clock?: Clock;
  /** How often a free plan is looked for. @default 1000 */
  pollMs?: number;
  /** How long a claim (or a save) holds a plan; another executor takes it over after. @default 15000 */
  leaseMs?: number;
  /** Candidates read per page (progress is saved after each). @default 500 */
  pageSize?: number;
  /** Runtimes migrated at once. @default 64 */
  concurrency?: number;
  /** Budget of one runtime's request (the router retries a moving shard within it). @default 10000 */
  requestDeadlineMs?: number;
  /** Tries of a runtime whose request fails retryably (store or shard unavailable) before the run stops (to resume later). @default 3 */
  attempts?: number;
}

export const DEFAULT_MIGRATION_EXECUTOR_OPTIONS = Object.freeze({
  clock: systemClock,
  pollMs: 1000,
  leaseMs: 15_000,
  pageSize: 500,
  concurrency: 64,
  requestDeadlineMs: 10_000,
  attempts: 3,
} satisfies OptionDefaults<MigrationExecutorOptions>);

type Resolved_ = Resolved<MigrationExecutorOptions, typeof DEFAULT_MIGRATION_EXECUTOR_OPTIONS>;

/** What migrating one runtime came to. */
type Outcome =
  | { kind: 'migrated' | 'replayed'; runtimeId: string; node: string }
  | { kind: 'blocked'; reason: MigrationBlock; runtimeId: string; node: string; message: string };

/** The run cannot go on now (a runtime kept failing retryably): leave the plan to be resumed. */
class RunInterrupted extends Error {}

/**
 * Runs migration plans (docs/architecture.md#migration-plans). Every node runs one; a plan is run by one
 * executor at a time under a lease in the plan's row. The executor takes the plan's candidates page by page
 * (runtimes of the source version in id order after the plan's cursor) and sends each a `migrate` request
 * through the shard bus, so each runtime is migrated inside its own actor by the node owning it. After each
 * page it saves the cursor and the counts, which renews the lease; a heartbeat renews it during a long page.
 *
 * When a node dies mid-plan, its lease runs out and another node's executor resumes from the saved cursor:
 * the runtimes of the unsaved page are sent again and the ones migrated already answer from their log (the
 * request's idempotency key is the plan's for the runtime), so none is migrated twice; `migrated` is counted
 * from the log. A cancelled plan fails the next save and the executor stops.
 */
export class MigrationExecutor {
  readonly options: Resolved_;
  private readonly logger: Logger;
  private readonly metrics: MigrationMetrics;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(options: MigrationExecutorOptions) {
    this.options = resolveOptions(DEFAULT_MIGRATION_EXECUTOR_OPTIONS, options);
    checkOptions('MigrationExecutor', this.options, {
      pollMs: positive,
      leaseMs: positive,
      pageSize: integer(1),
      concurrency: integer(1),
      requestDeadlineMs: positive,
      attempts: integer(1),
    });
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.metrics = options.metrics ?? registerMigrationMetrics(new Registry());
  }

  /** Looks for plans every `pollMs` until stopped. */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops looking; waits for the plan run in progress to end its page, then gives its lease up (another node resumes it). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Claims a free plan and runs it to its end (completed, cancelled, lost or interrupted); false when none was free. */
  async runOnce(): Promise<boolean> {
    const { plans, owner, clock, leaseMs } = this.options;
    const plan = await plans.claimPlan(owner, clock.now(), leaseMs);
    if (!plan) return false;
    await this.run(plan);
    return true;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.poll().finally(() => {
        this.running = undefined;
      });
    }, delay);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    let ran = false;
    try {
      ran = await this.runOnce();
    } catch (err) {
      this.logger.warn({ err }, 'migration executor: poll failed');
    }
    // Straight on to the next plan after one ran; else wait.
    this.schedule(ran ? 0 : this.options.pollMs);
  }

  private async run(claimed: MigrationPlan): Promise<void> {
    const { plans, owner, clock, leaseMs, pageSize } = this.options;
    const log = this.logger.child({ tenant: claimed.tenant, planId: claimed.id, workflowId: claimed.workflowId });
    log.info({ cursor: claimed.cursor, from: claimed.fromVersion, to: claimed.toVersion }, 'migration plan: running');
    const saved = { cursor: claimed.cursor, progress: claimed.progress };
    let held = true;
    // One save at a time (page ends and heartbeats), each renewing the lease; a refused save ends the run.
    let saving: Promise<unknown> = Promise.resolve();
    const save = (cursor: string, progress: MigrationProgress): Promise<boolean> => {
      const next = saving.then(async () => {
        if (!held) return false;
        held = await plans.saveProgress(claimed, owner, cursor, progress, clock.now(), leaseMs);
        if (held) Object.assign(saved, { cursor, progress });
        return held;
      });
      saving = next.catch(() => undefined);
      return next;
    };
    const heartbeat = setInterval(() => {
      save(saved.cursor, saved.progress).catch((err: unknown) =>
        log.warn({ err }, 'migration plan: lease renewal failed'),
      );
    }, leaseMs / 3);
    heartbeat.unref();
    // The next page is read while this one migrates (its ids follow this page's last).
    const read = (after: string) => plans.candidates(claimed.tenant, claimed, after, pageSize);
    let next = read(saved.cursor);
    try {
      for (;;) {
        if (this.stopped) {
          // The node shuts down: the lease ends now, so another node resumes the plan at once, not after the lease.
          await saving;
          if (held) await plans.saveProgress(claimed, owner, saved.cursor, saved.progress, clock.now(), 0);
          return;
        }
        const page = await next;
        if (page.length === 0) break;
        next = page.length < pageSize ? Promise.resolve([]) : read(page[page.length - 1]!.runtimeId);
        const outcomes = await this.migratePage(claimed, page);
        const progress = tally(saved.progress, outcomes);
        progress.migrated = await plans.countMigrated(claimed.tenant, claimed.id);
        if (!(await save(page[page.length - 1]!.runtimeId, progress))) return this.ended(log, 'lost');
      }
      await saving;
      if (!held) return this.ended(log, 'lost');
      const progress = { ...saved.progress, migrated: await plans.countMigrated(claimed.tenant, claimed.id) };
      const finished = await plans.finishPlan(claimed, owner, progress, clock.now());
      this.ended(log, finished ? 'completed' : 'lost', progress);
    } catch (err) {
      if (!(err instanceof RunInterrupted)) throw err;
      log.warn({ reason: err.message }, 'migration plan: interrupted; resuming later');
      this.metrics.plans.inc({ outcome: 'failed' });
    } finally {
      clearInterval(heartbeat);
      next.catch(() => undefined);
      await saving;
    }
  }

  /** Why the run ended: `lost` covers a cancelled plan too (the store does not say which). */
  private ended(log: Logger, outcome: 'completed' | 'lost', progress?: MigrationProgress): void {
    this.metrics.plans.inc({ outcome });
    if (outcome === 'completed') log.info({ progress }, 'migration plan: completed');
    else log.info('migration plan: no longer held here (cancelled, or taken over)');
  }

  /** Migrates a page, `concurrency` runtimes at a time; each outcome in page order. */
  private async migratePage(plan: MigrationPlan, page: readonly MigrationCandidate[]): Promise<Outcome[]> {
    const out: Outcome[] = new Array(page.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < page.length) {
        const i = next++;
        out[i] = await this.migrateOne(plan, page[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, page.length) }, worker));
    return out;
  }

  private async migrateOne(plan: MigrationPlan, candidate: MigrationCandidate): Promise<Outcome> {
    const { runtimeId, state } = candidate;
    const node = state.stages[state.stages.length - 1]?.node ?? '';
    const migration: MigrateCommand = {
      type: 'migrate',
      planId: plan.id,
      actor: plan.createdBy,
      fromVersion: plan.fromVersion,
      toVersion: plan.toVersion,
      nodeMap: plan.nodeMap,
    };
    if (plan.allowEndNodes !== undefined) migration.allowEndNodes = plan.allowEndNodes;
    const request: ShardRequest = {
      kind: 'migrate',
      tenant: plan.tenant,
      runtimeId,
      migration,
      idempotencyKey: migrationKey(plan.id, runtimeId),
    };
    let last = '';
    for (let attempt = 1; attempt <= this.options.attempts; attempt++) {
      let reply: ShardReply;
      try {
        reply = await this.options.router.send(request, { deadlineMs: this.options.requestDeadlineMs });
      } catch (err) {
        last = (err as Error).message;
        this.metrics.runtimes.inc({ outcome: 'retried' });
        continue;
      }
      if (reply.ok) {
        const kind = reply.replayed ? 'replayed' : 'migrated';
        this.metrics.runtimes.inc({ outcome: kind });
        return { kind, runtimeId, node };
      }
      const p = reply.problem;
      if (p.code === 'migration_blocked' || !p.retryable) {
        this.metrics.runtimes.inc({ outcome: 'blocked' });
        const reason = (p.code === 'migration_blocked' ? p.reason : undefined) ?? blockOf(p.code);
        return { kind: 'blocked', reason: reason as MigrationBlock, runtimeId, node, message: p.message };
      }
      last = `${p.code}: ${p.message}`;
      this.metrics.runtimes.inc({ outcome: 'retried' });
    }
    throw new RunInterrupted(`runtime ${runtimeId} could not be reached (${last})`);
  }
}

/** A refusal other than migration_blocked, as a block reason (the runtime vanished, the version is gone). */
function blockOf(code: string): MigrationBlock {
  return code === 'runtime_not_found' ? 'finished' : 'not_on_version';
}

/** The progress after a page: blocked counts and samples added (`migrated` is counted from the log by the caller). */
function tally(before: MigrationProgress, outcomes: readonly Outcome[]): MigrationProgress {
  const progress: MigrationProgress = structuredClone(before);
  for (const o of outcomes) {
    if (o.kind === 'blocked')
      recordOutcome(progress, o.reason, { runtimeId: o.runtimeId, node: o.node, message: o.message });
    else recordOutcome(progress, undefined, { runtimeId: o.runtimeId, node: o.node });
  }
  return progress;
}
