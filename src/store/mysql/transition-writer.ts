import CircuitBreaker from 'opossum';
import type mysql from 'mysql2/promise';
import { outsideTrace, type TraceScope } from '../../shared/trace-scope.ts';
import { StoreError } from '../errors.ts';
import { type FieldCipher, PLAINTEXT_CIPHER } from '../crypto/field-cipher.ts';
import type { CommitOutcome, TransitionRecord, TransitionWriter } from '../ports.ts';
import { commitFast, commitSlow, completePositions, errnoOf, LostRaceError, type SqlContext } from './batch-sql.ts';
import { MySqlProjector, type CommittedRecord } from './projector.ts';
import { allowsMultipleStatements, DEFAULT_QUERY_TIMEOUT_MS } from './pool.ts';
import type { TransitionWriterMetrics } from './writer-metrics.ts';
import {
  atLeast,
  checkOptions,
  nonNegative,
  positive,
  resolveOptions,
  type OptionDefaults,
  type Resolved,
} from '../../shared/options.ts';

export interface TransitionWriterOptions {
  /** Flush as soon as this many records are queued. @default 256 */
  maxBatch?: number;
  /** Flush at most this long after the first record of a batch was queued. @default 2 */
  maxDelayMs?: number;
  /** Timeout of every statement of a batch, COMMIT included. @default 10000 */
  queryTimeoutMs?: number;
  /** Circuit breaker: failure percentage that opens it. @default 50 */
  breakerErrorPercentage?: number;
  /** Circuit breaker: how long it stays open before one trial batch. @default 5000 */
  breakerResetMs?: number;
  /** Circuit breaker: failed batches in the rolling window before it may open. @default 3 */
  breakerVolumeThreshold?: number;
  /** Clock for outbox and idempotency timestamps. @default Date.now */
  now?: () => number;
  /** @default none (no metrics) */
  metrics?: TransitionWriterMetrics;
  /**
   * 0: a batch writes the projections (runtime rows, inbox rows, timers) in its own transaction. Above 0: a
   * batch writes the log (runtime_steps) and the document slots, and a projector writes the projections at
   * most this many ms later, coalesced per runtime and per task. (The history is read from the log: audit-log.ts.) @default 0
   */
  projectionDelayMs?: number;
  /**
   * Steps waiting to be projected beyond which the next batch waits for the projector (see
   * MySqlProjector.room). @default 10000
   */
  projectionBacklog?: number;
  /** Told when a projection transaction failed (it is retried). @default none */
  onProjectionError?: (err: unknown) => void;
  /**
   * Told once the fate of a failed batch is settled (see MySqlTransitionWriter "uncertain"), with its shards:
   * their steps may have been committed although the batch answered store_unavailable, and no later step of
   * those shards was committed before this call. Wire the outbox relay's `fallBehind` here, so it reads them
   * from the log. @default none
   */
  onUncertainSettled?: (shards: ReadonlySet<number>) => void;
  /** Seals the encrypted columns of the log and the projections (docs/security.md). @default PLAINTEXT_CIPHER */
  cipher?: FieldCipher;
  /**
   * Runs around each batch's commit (`commit`: its transaction, retries included; it rejects when nothing was
   * written): the tracing layer opens the group-commit span there, with the batch's size and links to the
   * commands it carries, and hands `commit` that span's scope: the batch's SQL runs in it. @default runs the
   * commit outside any trace
   */
  aroundBatch?: AroundBatch;
}

/** See TransitionWriterOptions.aroundBatch. */
export type AroundBatch = (
  records: readonly TransitionRecord[],
  commit: (scope: TraceScope) => Promise<CommitOutcome[]>,
) => Promise<CommitOutcome[]>;

export const DEFAULT_TRANSITION_WRITER_OPTIONS = Object.freeze({
  maxBatch: 256,
  maxDelayMs: 2,
  queryTimeoutMs: DEFAULT_QUERY_TIMEOUT_MS,
  breakerErrorPercentage: 50,
  breakerResetMs: 5000,
  breakerVolumeThreshold: 3,
  now: Date.now,
  projectionDelayMs: 0,
  cipher: PLAINTEXT_CIPHER,
  aroundBatch: (_records, commit) => commit(outsideTrace),
} satisfies OptionDefaults<TransitionWriterOptions>);

type ResolvedWriterOptions = Resolved<TransitionWriterOptions, typeof DEFAULT_TRANSITION_WRITER_OPTIONS>;

function resolveWriterOptions(given: TransitionWriterOptions): ResolvedWriterOptions {
  const options = resolveOptions(DEFAULT_TRANSITION_WRITER_OPTIONS, given);
  checkOptions('MySqlTransitionWriter', options, {
    maxBatch: atLeast(1),
    maxDelayMs: nonNegative,
    queryTimeoutMs: positive,
    breakerErrorPercentage: nonNegative,
    breakerResetMs: nonNegative,
    breakerVolumeThreshold: nonNegative,
    projectionDelayMs: nonNegative,
  });
  return options;
}

interface Pending {
  record: TransitionRecord;
  queuedAt: number;
  resolve: (outcome: CommitOutcome) => void;
}

/** Counters for tests and benchmarks. */
export interface TransitionWriterStats {
  batches: number;
  records: number;
  /** Transactions begun (fast path, slow path after a lost race, deadlock retries). */
  transactions: number;
  slowPaths: number;
  deadlockRetries: number;
}

const ER_LOCK_DEADLOCK = 1213;
/** KILL of a connection already gone. */
const ER_NO_SUCH_THREAD = 1094;

/** Failed batches whose fate is not known yet: the server connections they ran on, and their shards. */
interface Uncertain {
  threadIds: number[];
  shards: Set<number>;
}

/**
 * Group-commit TransitionWriter on MySQL: queued records are committed in one
 * transaction per batch, one batch in flight at a time; each caller's promise
 * resolves with its own outcome after COMMIT returned.
 */
export class MySqlTransitionWriter implements TransitionWriter {
  readonly stats: TransitionWriterStats = { batches: 0, records: 0, transactions: 0, slowPaths: 0, deadlockRetries: 0 };
  private readonly options: ResolvedWriterOptions;
  /** Writes the projections after the commit (projectionDelayMs > 0), else undefined. */
  readonly projector: MySqlProjector | undefined;
  private readonly breaker: CircuitBreaker<[readonly TransitionRecord[], TraceScope], CommitOutcome[]>;
  /** Connections set up for the writer, with what their server allows (see SessionTraits). */
  private readonly prepared = new WeakMap<object, SessionTraits>();
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  /** A schedule() is due after the code that is queueing records now (see commit). */
  private scheduling = false;
  private closed = false;
  /**
   * A batch whose transaction failed after its writes or COMMIT were sent, on a connection since dropped: the
   * server may still commit it (a frozen server commits what it received once it resumes), after later
   * batches took higher positions. The next transaction waits until that connection is gone from the server
   * (`settleUncertain`), so a shard's steps stay committed in position order.
   */
  private uncertain: Uncertain | undefined;
  private settling: Promise<void> | undefined;
  private settleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: mysql.Pool,
    options: TransitionWriterOptions = {},
  ) {
    this.options = resolveWriterOptions(options);
    if (this.options.projectionDelayMs > 0) {
      this.projector = new MySqlProjector(pool, {
        delayMs: this.options.projectionDelayMs,
        queryTimeoutMs: this.options.queryTimeoutMs,
        now: this.options.now,
        cipher: this.options.cipher,
        ...(options.projectionBacklog !== undefined && { maxBacklog: options.projectionBacklog }),
        ...(this.options.metrics && { metrics: this.options.metrics }),
        ...(options.onProjectionError && { onError: options.onProjectionError }),
      });
    }
    // timeout: false — a breaker timeout would answer callers while the transaction may still commit;
    // every statement has its own timeout instead.
    this.breaker = new CircuitBreaker(
      (records: readonly TransitionRecord[], scope: TraceScope) => this.execute(records, scope),
      {
        timeout: false,
        errorThresholdPercentage: this.options.breakerErrorPercentage,
        resetTimeout: this.options.breakerResetMs,
        volumeThreshold: this.options.breakerVolumeThreshold,
      },
    );
  }

  commit(record: TransitionRecord): Promise<CommitOutcome> {
    if (this.closed) return Promise.reject(new StoreError('writer_closed', 'the transition writer is closed'));
    if (record.state.revision !== record.baseRevision + 1) {
      const msg = `state.revision ${record.state.revision} must be baseRevision ${record.baseRevision} + 1`;
      return Promise.reject(new StoreError('invalid_record', msg));
    }
    return new Promise((resolve) => {
      this.queue.push({ record, queuedAt: performance.now(), resolve });
      // Not schedule() at once: when a batch is due (the oldest record waited maxDelayMs already), records
      // queued by the same synchronous code (one caller's Promise.all) would be split over two batches.
      if (this.scheduling) return;
      this.scheduling = true;
      queueMicrotask(() => {
        this.scheduling = false;
        this.schedule();
      });
    });
  }

  /** Commits whatever is queued now, and projects it. */
  async flush(): Promise<void> {
    await this.commitQueued();
    await this.projector?.flush();
  }

  private async commitQueued(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight !== undefined) {
      if (this.inFlight !== undefined) await this.inFlight;
      else this.startBatch();
    }
  }

  /** Projects every step of `shard` after its projected watermark (see MySqlProjector.catchUp). */
  async catchUp(shard: number): Promise<void> {
    await this.projector?.catchUp(shard);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.settleTimer);
    await this.commitQueued();
    await this.projector?.close();
    this.breaker.shutdown();
  }

  /** Starts a batch now if one is due, else arms the delay timer. A running batch reschedules when it ends. */
  private schedule(): void {
    const first = this.queue[0];
    if (this.inFlight || !first) return;
    const waited = performance.now() - first.queuedAt;
    if (this.queue.length >= this.options.maxBatch || waited >= this.options.maxDelayMs) {
      this.startBatch();
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, this.options.maxDelayMs - waited);
    }
  }

  private startBatch(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const room = this.projector?.room();
    if (room !== undefined) {
      // The projections are behind: the records queued meanwhile go in the next batch, once they catch up.
      this.inFlight = room.finally(() => {
        this.inFlight = undefined;
        this.schedule();
      });
      return;
    }
    const batch = this.queue.splice(0, this.options.maxBatch);
    this.inFlight = this.runBatch(batch).finally(() => {
      this.inFlight = undefined;
      this.schedule();
    });
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    const started = performance.now();
    const records = batch.map((p) => p.record);
    let outcomes: CommitOutcome[];
    try {
      outcomes = await this.options.aroundBatch(records, (scope) => this.breaker.fire(records, scope));
    } catch (err) {
      const message = `store unavailable: ${(err as Error).message}`;
      outcomes = records.map(() => ({ ok: false, code: 'store_unavailable', message }));
    }
    this.stats.batches += 1;
    this.stats.records += batch.length;
    this.observe(batch.length, started, outcomes);
    if (this.projector) {
      const committed: CommittedRecord[] = [];
      outcomes.forEach((o, i) => {
        if (o.ok && o.outboxPosition !== undefined) committed.push({ record: records[i]!, position: o.outboxPosition });
      });
      this.projector.enqueue(committed);
    }
    batch.forEach((p, i) => p.resolve(outcomes[i] ?? { ok: false, code: 'store_unavailable', message: 'no outcome' }));
  }

  private observe(size: number, started: number, outcomes: CommitOutcome[]): void {
    const m = this.options.metrics;
    if (!m) return;
    m.batchSize.observe(size);
    m.commitDuration.observe((performance.now() - started) / 1000);
    for (const o of outcomes) m.outcomes.inc({ outcome: o.ok ? 'ok' : o.code });
  }

  /** The breaker's action: one transaction, retried once after a deadlock. Throws only when nothing was written. */
  private async execute(records: readonly TransitionRecord[], scope: TraceScope): Promise<CommitOutcome[]> {
    await this.settleUncertain();
    // The batch's data keys (cached after a tenant's first batch: no round trip), before the transaction.
    await this.options.cipher.ready(new Set(records.map((r) => r.tenant)));
    try {
      return await this.transaction(records, scope);
    } catch (err) {
      if (errnoOf(err) !== ER_LOCK_DEADLOCK) throw err;
      this.stats.deadlockRetries += 1;
      this.options.metrics?.transactions.inc({ path: 'retry' });
      return this.transaction(records, scope);
    }
  }

  private async transaction(records: readonly TransitionRecord[], scope: TraceScope): Promise<CommitOutcome[]> {
    const conn = await this.pool.getConnection();
    const ctx: SqlContext = {
      conn,
      scope,
      timeoutMs: this.options.queryTimeoutMs,
      multipleStatements: allowsMultipleStatements(this.pool),
      projectLater: this.projector !== undefined,
      cipher: this.options.cipher,
    };
    let clean = false;
    let sent = false;
    try {
      await this.begin(ctx, 'fast');
      sent = true;
      const now = this.options.now();
      let outcomes: CommitOutcome[];
      try {
        outcomes = await commitFast(ctx, records, now);
      } catch (err) {
        if (!(err instanceof LostRaceError)) throw err;
        ctx.startPending = false;
        await scope(() => conn.query({ sql: 'ROLLBACK', timeout: ctx.timeoutMs }));
        this.stats.slowPaths += 1;
        await this.begin(ctx, 'slow');
        outcomes = await commitSlow(ctx, records, now);
      }
      if (!ctx.committed) {
        // The projector needs every step's position.
        if (ctx.projectLater) outcomes = await completePositions(ctx, records, outcomes);
        await scope(() => conn.query({ sql: 'COMMIT', timeout: ctx.timeoutMs }));
      }
      clean = true;
      return outcomes;
    } finally {
      // A failed connection may sit mid-transaction: drop it, the server rolls back on disconnect, unless it
      // had received the COMMIT: the batch is uncertain until that connection is gone.
      if (clean) conn.release();
      else {
        if (sent) this.markUncertain(conn.threadId, records);
        conn.destroy();
      }
    }
  }

  private markUncertain(threadId: number | null, records: readonly TransitionRecord[]): void {
    if (threadId === null) return;
    this.uncertain = {
      threadIds: [...(this.uncertain?.threadIds ?? []), threadId],
      shards: new Set([...(this.uncertain?.shards ?? []), ...records.map((r) => r.shard)]),
    };
    this.scheduleSettle(250);
  }

  /** Settles the uncertain batch soon even if no batch comes to do it (a quiet shard's last step). */
  private scheduleSettle(delayMs: number): void {
    if (this.closed || this.settleTimer !== undefined) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      this.settleUncertain().catch(() => this.scheduleSettle(Math.min(2 * Math.max(delayMs, 250), 5000)));
    }, delayMs);
  }

  /**
   * Waits until the uncertain batch's connection is gone from the server (killed first: a COMMIT under way
   * completes, anything else rolls back), so its fate is decided before any later transaction; then tells
   * `onUncertainSettled` and has the projector catch its shards up. Throws while MySQL does not answer.
   */
  private settleUncertain(): Promise<void> {
    const uncertain = this.uncertain;
    if (uncertain === undefined) return Promise.resolve();
    this.settling ??= this.settle(uncertain).finally(() => {
      this.settling = undefined;
    });
    return this.settling;
  }

  private async settle(uncertain: Uncertain): Promise<void> {
    const conn = await this.pool.getConnection();
    const timeout = this.options.queryTimeoutMs;
    try {
      for (const id of uncertain.threadIds) {
        await conn.query({ sql: 'KILL CONNECTION ?', values: [id], timeout }).catch((err: unknown) => {
          if (errnoOf(err) !== ER_NO_SUCH_THREAD) throw err;
        });
      }
      const deadline = performance.now() + timeout;
      for (;;) {
        const [rows] = await conn.query<mysql.RowDataPacket[]>({
          sql: 'SELECT 1 FROM information_schema.PROCESSLIST WHERE ID IN (?)',
          values: [uncertain.threadIds],
          timeout,
        });
        if (rows.length === 0) break;
        if (performance.now() > deadline)
          throw new StoreError('store_unavailable', 'an uncertain commit is still running');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      conn.release();
    } catch (err) {
      conn.destroy();
      throw err;
    }
    if (this.uncertain === uncertain) this.uncertain = undefined;
    this.projector?.catchUpLater(uncertain.shards);
    this.options.onUncertainSettled?.(uncertain.shards);
  }

  private async begin(ctx: SqlContext, path: 'fast' | 'slow'): Promise<void> {
    const raw = (ctx.conn as unknown as { connection: object }).connection;
    let prepared = this.prepared.get(raw);
    if (!prepared) {
      // Read committed: locking reads of missing keys take no gap locks, so concurrent writers don't deadlock on inserts.
      await ctx.conn.query({ sql: 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', timeout: ctx.timeoutMs });
      prepared = await sessionTraits(ctx);
      this.prepared.set(raw, prepared);
    }
    ctx.autoIncrementStep = prepared.autoIncrementStep;
    // The fast path's COMMIT rides on its writes when the server checks the revision guards (MariaDB) and no
    // position is left to read before it.
    ctx.commitWithWrites =
      path === 'fast' && prepared.compoundStatements && (!ctx.projectLater || ctx.autoIncrementStep !== undefined);
    // On a multipleStatements pool START TRANSACTION rides on the transaction's first query.
    if (ctx.multipleStatements) ctx.startPending = true;
    else await ctx.scope(() => ctx.conn.query({ sql: 'START TRANSACTION', timeout: ctx.timeoutMs }));
    this.stats.transactions += 1;
    this.options.metrics?.transactions.inc({ path });
  }
}

/** What a writer's session may rely on, read once per connection. */
interface SessionTraits {
  /**
   * The id step of a multi-row INSERT when the server allocates its ids consecutively:
   * innodb_autoinc_lock_mode 0 or 1 ("simple inserts" take their ids at once); mode 2 may interleave them.
   */
  autoIncrementStep: number | undefined;
  /** The server runs a compound statement outside a stored program (`BEGIN NOT ATOMIC`): MariaDB, not MySQL. */
  compoundStatements: boolean;
}

async function sessionTraits(ctx: SqlContext): Promise<SessionTraits> {
  const [rows] = await ctx.conn.query<mysql.RowDataPacket[]>({
    sql: 'SELECT @@innodb_autoinc_lock_mode AS mode, @@auto_increment_increment AS step, VERSION() AS version',
    timeout: ctx.timeoutMs,
  });
  const mode = Number(rows[0]?.mode);
  const step = Number(rows[0]?.step);
  return {
    autoIncrementStep: (mode === 0 || mode === 1) && step >= 1 ? step : undefined,
    compoundStatements: /mariadb/i.test(String(rows[0]?.version ?? '')),
  };
}

/** Creates the MySQL group-commit writer (see TransitionWriterOptions for defaults). */
export function createMySqlTransitionWriter(
  pool: mysql.Pool,
  options: TransitionWriterOptions = {},
): MySqlTransitionWriter {
  return new MySqlTransitionWriter(pool, options);
}
