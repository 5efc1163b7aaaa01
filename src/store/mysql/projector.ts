import type mysql from 'mysql2/promise';
import type { TransitionWriterMetrics } from './writer-metrics.ts';
import type { RuntimeState } from '../../engine/index.ts';
import type { TransitionRecord } from '../ports.ts';
import { replaySteps, stepEffects } from '../step-log.ts';
import { projectionRows, runtimeKey } from './batch-plan.ts';
import { outsideTrace } from '../../shared/trace-scope.ts';
import { writeProjections, type SqlContext } from './batch-sql.ts';
import { allowsMultipleStatements } from './pool.ts';
import { isUnavailable } from './sql.ts';
import { openState, openStepBody } from './sealed-columns.ts';
import { type FieldCipher, PLAINTEXT_CIPHER } from '../crypto/field-cipher.ts';

/**
 * The projector of the log-first commit (docs/architecture.md "A command's path"): the runtime rows, inbox
 * rows and timers of committed steps, written at most `delayMs` after their commit, in one transaction,
 * coalesced: several steps of one runtime within the window are one runtime row write, and a task opened and
 * closed within it one inbox row write. So the inbox lags the commit by up to `delayMs` and a projection.
 *
 * Each shard's `projected_position` (shard_watermarks) says up to where its steps are projected; the
 * transaction locks it, skips what is projected already, first projects steps of the shard it did not commit
 * itself (a previous owner's, committed before it died and never projected: read from runtime_steps), then
 * advances it. So every step is projected exactly once, whoever committed it and whichever node projects it.
 */

export interface ProjectorOptions {
  /** How long committed steps wait to be projected together. */
  delayMs: number;
  queryTimeoutMs: number;
  now: () => number;
  /** Longest wait before retrying a failed projection. @default 5000 */
  maxBackoffMs?: number;
  onError?: (err: unknown) => void;
  /** Opens the log's rows and seals the projections. @default PLAINTEXT_CIPHER */
  cipher?: FieldCipher;
  /**
   * Steps queued or being projected beyond which `room()` makes the writer wait, and the projection runs at
   * once instead of at the end of its window. @default 10000
   */
  maxBacklog?: number;
  /**
   * `projectionBacklog` counts the steps queued or being projected (inc on enqueue, dec once projected or given
   * up); `projections` counts projections by result; `projectionLag` observes each projection's oldest step's
   * wait from its commit. @default none
   */
  metrics?: Pick<TransitionWriterMetrics, 'projectionBacklog' | 'projections' | 'projectionLag'>;
}

const DEFAULT_MAX_BACKLOG = 10_000;

/** Refused projections in a row after which the shards are projected one transaction each (see projectEach). */
const ISOLATE_AFTER_REFUSALS = 2;

/**
 * Some shards of a projection failed, the others committed: what is left to project; the error, the outage's
 * when one stopped the round (else the first refusal); and whether MySQL refused a shard's rows.
 */
class PartlyProjected extends Error {
  constructor(
    readonly left: CommittedRecord[],
    readonly leftCatchUp: Set<number>,
    readonly refused: boolean,
    readonly outage: boolean,
    /** What the round held with its refused shards (see projectEach), not in `left`. */
    readonly held: Held,
    options: { cause: unknown },
  ) {
    super(`projection failed: ${left.length} steps left, ${held.steps} held`, options);
  }
}

/** A refused shard's steps, held out of the queue until `until` (see projectEach). */
interface Hold {
  queued: CommittedRecord[];
  /** The shard is to be projected completely (a catch-up), from the log. */
  catchUp: boolean;
  until: number;
  /** When the first of the held steps was queued (Date.now()), for the lag metric. */
  since: number | undefined;
}

/** What a round held: its steps still waiting (in the backlog), and whether it held any shard, a catch-up alone too. */
interface Held {
  steps: number;
  any: boolean;
}

const NOTHING_HELD: Held = { steps: 0, any: false };

/** The shards `work` projects, in ascending order. */
const shardsOf = (work: Work): number[] =>
  [...new Set([...work.queued.map((c) => c.record.shard), ...work.catchUp])].sort((a, b) => a - b);

/** A committed step and its position in its shard's log. */
export interface CommittedRecord {
  record: TransitionRecord;
  position: number;
}

export interface ProjectorStats {
  /** Projection transactions committed. */
  transactions: number;
  /** Steps projected (own and caught up). */
  steps: number;
  /** Runtime rows written (one per runtime per transaction). */
  runtimeRows: number;
  /** Steps of other owners projected from the log. */
  caughtUp: number;
  failures: number;
}

interface Work {
  queued: CommittedRecord[];
  /** When the first of `queued` was enqueued (Date.now()). */
  queuedSince: number | undefined;
  /** Shards to project completely (everything after their watermark), e.g. on acquiring them. */
  catchUp: Set<number>;
  done: (() => void)[];
  /** The round's number (see catchUp). */
  round: number;
}

export class MySqlProjector {
  readonly stats: ProjectorStats = { transactions: 0, steps: 0, runtimeRows: 0, caughtUp: 0, failures: 0 };
  private queue: CommittedRecord[] = [];
  /** When the first step of `queue` was enqueued (Date.now()): no step waits longer than delayMs for its turn. */
  private queuedSince: number | undefined;
  private catchUps = new Set<number>();
  private waiters: (() => void)[] = [];
  /** Rounds started so far. */
  private rounds = 0;
  /** `catchUp` callers per shard, each resolved by the first round started after its call that projects the shard. */
  private readonly catchUpWaiters = new Map<number, { after: number; resolve: () => void }[]>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private failures = 0;
  /** Projections in a row that MySQL refused (a statement error, not an outage): see projectEach. */
  private refusals = 0;
  /** Per shard, its refused tries in a row, while projected on its own (see projectEach). */
  private readonly shardRefusals = new Map<number, number>();
  /** Steps of refused shards, held out of the queue until their retry (see projectEach). */
  private readonly held = new Map<number, Hold>();
  private holdTimer: NodeJS.Timeout | undefined;
  /** Steps of the projection in flight (see maxBacklog). */
  private inFlightSteps = 0;
  /** Writers waiting for the backlog to fall to maxBacklog (see room). */
  private roomWaiters: (() => void)[] = [];
  /** Closing: a failed projection is given up, not retried (the log keeps the steps; the next owner projects them). */
  private closing = false;

  constructor(
    private readonly pool: mysql.Pool,
    private readonly options: ProjectorOptions,
  ) {
    this.cipher = options.cipher ?? PLAINTEXT_CIPHER;
  }

  private readonly cipher: FieldCipher;

  /**
   * Undefined while the steps queued or being projected are at most `maxBacklog`; else a promise that settles
   * once they are, with the projection started at once. The writer waits on it before its next batch, so a
   * MySQL slower at the projections than at the commits slows the commits down instead of letting the queue
   * (memory) and the lag grow without bound. Not while projections fail (then they are retried with a backoff,
   * and commits go on: the log holds the steps) or while closing.
   */
  room(): Promise<void> | undefined {
    if (!this.backlogged()) return undefined;
    this.arm(0);
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private backlogged(): boolean {
    const max = this.options.maxBacklog ?? DEFAULT_MAX_BACKLOG;
    return this.failures === 0 && !this.closing && this.queue.length + this.inFlightSteps > max;
  }

  /** Lets waiting writers go once the backlog allows. */
  private releaseRoom(): void {
    if (this.roomWaiters.length === 0 || this.backlogged()) return;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Committed steps to project within `delayMs`. */
  enqueue(committed: readonly CommittedRecord[]): void {
    if (committed.length === 0) return;
    if (this.queue.length === 0) this.queuedSince = Date.now();
    for (const c of committed) this.queue.push(c);
    this.options.metrics?.projectionBacklog.inc(committed.length);
    this.arm(this.options.delayMs);
  }

  /**
   * Projects every step of `shard` after its projected watermark (a new owner, before it fires its timers).
   * Resolves once that shard is projected, whatever other shards wait for (one whose rows MySQL refuses).
   */
  catchUp(shard: number): Promise<void> {
    this.catchUps.add(shard);
    return new Promise((resolve) => {
      const waiting = this.catchUpWaiters.get(shard);
      if (waiting) waiting.push({ after: this.rounds, resolve });
      else this.catchUpWaiters.set(shard, [{ after: this.rounds, resolve }]);
      this.arm(0);
    });
  }

  /** Resolves the catch-ups of `shard` that `round` covers: those called before it started. */
  private caughtUp(shard: number, round: number): void {
    const waiting = this.catchUpWaiters.get(shard);
    if (waiting === undefined) return;
    const later = waiting.filter((w) => w.after >= round);
    for (const w of waiting) if (w.after < round) w.resolve();
    if (later.length > 0) this.catchUpWaiters.set(shard, later);
    else this.catchUpWaiters.delete(shard);
  }

  /**
   * Projects every step of `shards` after their projected watermark with the next projection (within
   * `delayMs`, or after the backoff while MySQL fails), without waiting for it: for steps that may have been
   * committed without being handed over (a batch whose answer was lost).
   */
  catchUpLater(shards: Iterable<number>): void {
    for (const shard of shards) this.catchUps.add(shard);
    if (this.catchUps.size > 0) this.arm(this.options.delayMs);
  }

  /**
   * Projects what is queued now, once: on failure the rest is left to the shards' next owners (they project
   * everything after the projected watermark), so closing never waits on a MySQL that is down.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.releaseRoom();
    await this.flush();
  }

  /**
   * Projects what is queued now, retrying held shards at once; resolves once it is projected, except a shard whose
   * rows MySQL refuses again (held anew): nothing waits on it, so a drain never hangs on another shard's rows.
   */
  flush(): Promise<void> {
    this.releaseHeld(Number.POSITIVE_INFINITY);
    if (this.queue.length === 0 && this.catchUps.size === 0 && this.inFlight === undefined) return Promise.resolve();
    return this.whenDone();
  }

  /** Puts the holds due by `now` back in front of the queue, and re-arms the hold timer for the others. */
  private releaseHeld(now: number): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    let next = Number.POSITIVE_INFINITY;
    let released = false;
    for (const [shard, hold] of this.held) {
      if (hold.until > now) {
        next = Math.min(next, hold.until);
        continue;
      }
      this.held.delete(shard);
      if (hold.queued.length > 0) {
        // Due now, with their wait counted from when they were first queued.
        this.queuedSince = Math.min(this.queuedSince ?? now, hold.since ?? now);
        this.queue = hold.queued.concat(this.queue);
      }
      if (hold.catchUp) this.catchUps.add(shard);
      released = true;
    }
    if (released) this.arm(0);
    if (next !== Number.POSITIVE_INFINITY)
      this.holdTimer = setTimeout(() => this.releaseHeld(Date.now()), Math.max(0, next - Date.now()));
  }

  /**
   * Holds `part`, the steps of `shard` in a round, with that shard's hold (made, due at `until`, if there is none).
   * Returns how many of them stay held. Past maxBacklog held steps, the shard's hold keeps a catch-up instead of
   * its steps (the log holds them; the catch-up reads them back), and those steps leave the backlog.
   */
  private hold(shard: number, part: Work, until: number): number {
    let hold = this.held.get(shard);
    if (hold === undefined) this.held.set(shard, (hold = { queued: [], catchUp: false, until, since: undefined }));
    hold.catchUp ||= part.catchUp.size > 0;
    if (part.queuedSince !== undefined) hold.since = Math.min(hold.since ?? part.queuedSince, part.queuedSince);
    if (hold.queued.length + part.queued.length > (this.options.maxBacklog ?? DEFAULT_MAX_BACKLOG)) {
      this.options.metrics?.projectionBacklog.dec(hold.queued.length); // this round's own: counted out by run()
      hold.queued = [];
      hold.catchUp = true;
      return 0;
    }
    hold.queued = hold.queued.concat(part.queued);
    return part.queued.length;
  }

  /** The wait before retrying after `failures` failed tries in a row: 100 ms, doubling, at most maxBackoffMs. */
  private backoffMs(failures: number): number {
    return Math.min(this.options.maxBackoffMs ?? 5000, 50 * 2 ** failures);
  }

  private whenDone(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.arm(0);
    });
  }

  /** What is left of the window of the oldest queued step (steps queued while a projection ran waited for it). */
  private remainingDelay(): number {
    if (this.queuedSince === undefined) return this.options.delayMs;
    return Math.max(0, this.options.delayMs - (Date.now() - this.queuedSince));
  }

  private arm(delayMs: number): void {
    if (this.inFlight !== undefined) return; // the run in flight re-arms when it ends
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), delayMs);
  }

  private run(): void {
    this.timer = undefined;
    const work: Work = {
      queued: this.queue,
      queuedSince: this.queuedSince,
      catchUp: this.catchUps,
      done: this.waiters,
      round: ++this.rounds,
    };
    this.queue = [];
    this.queuedSince = undefined;
    this.catchUps = new Set();
    this.waiters = [];
    this.inFlightSteps = work.queued.length;
    const isolated = this.refusals >= ISOLATE_AFTER_REFUSALS || this.shardRefusals.size > 0;
    this.inFlight = (isolated ? this.projectEach(work) : this.project(work).then(() => NOTHING_HELD))
      .then((held) => {
        this.options.metrics?.projectionBacklog.dec(work.queued.length - held.steps);
        this.failures = 0;
        this.refusals = 0;
        for (const done of work.done) done();
      })
      .catch((thrown: unknown) => {
        const partly = thrown instanceof PartlyProjected ? thrown : undefined;
        const err = partly ? partly.cause : thrown;
        const left = partly ? partly.left : work.queued;
        const leftCatchUp = partly ? partly.leftCatchUp : work.catchUp;
        this.options.metrics?.projectionBacklog.dec(work.queued.length - left.length - (partly?.held.steps ?? 0));
        this.stats.failures += 1;
        this.options.metrics?.projections.inc({ result: 'failed' });
        this.options.onError?.(err);
        if (this.closing) {
          // This round's held steps are among the held or, released, in the queue.
          const stillHeld = [...this.held.values()].reduce((n, h) => n + h.queued.length, 0);
          this.options.metrics?.projectionBacklog.dec(left.length + stillHeld + this.queue.length);
          for (const done of [...work.done, ...this.waiters]) done();
          for (const waiting of this.catchUpWaiters.values()) for (const w of waiting) w.resolve();
          this.catchUpWaiters.clear();
          this.queue = [];
          this.catchUps.clear();
          this.held.clear();
          clearTimeout(this.holdTimer);
          this.holdTimer = undefined;
          this.waiters = [];
          return;
        }
        // What was not written goes back in front of the queue, retried after a backoff. Refused shards projected
        // on their own are held with a backoff each (projectEach): the others are not slowed down by them.
        this.failures = partly && !partly.outage ? 0 : this.failures + 1;
        // An outage says nothing of the refusals: a round that stopped at one stays isolated after a refusal.
        if (partly ? partly.refused : !isUnavailable(err)) this.refusals += 1;
        if (left.length > 0) this.queuedSince = work.queuedSince;
        this.queue = [...left, ...this.queue];
        for (const s of leftCatchUp) this.catchUps.add(s);
        // Refused shards are held, the others projected: the waiters are done. Else they wait for the retry.
        if (partly && !partly.outage) for (const done of work.done) done();
        else this.waiters = [...work.done, ...this.waiters];
      })
      .finally(() => {
        this.inFlight = undefined;
        this.inFlightSteps = 0;
        const waiting = this.waiters.length > 0 || [...this.catchUps].some((shard) => this.catchUpWaiters.has(shard));
        if (this.queue.length > 0 || this.catchUps.size > 0 || waiting) {
          const backoff = this.failures === 0 ? 0 : this.backoffMs(this.failures);
          const waited = waiting || this.backlogged();
          this.arm(this.failures === 0 && !waited ? this.remainingDelay() : backoff);
        }
        this.releaseRoom();
      });
  }

  /**
   * After projections MySQL refused (not an outage: a row one shard's steps write that the server will not take),
   * one transaction per shard, so that the others' inboxes and lists move on while that shard's steps are
   * retried. A refused shard's steps, and the steps that follow them, are held out of the queue for a backoff of
   * their own (100 ms doubling, at most maxBackoffMs), so the others are still projected at the end of their
   * window. Stops at an outage: what is left waits for the next run, the outage is the round's error, and the
   * next run is isolated again if a shard refused before it. Back to one transaction once all succeed.
   */
  private async projectEach(work: Work): Promise<Held> {
    const left: CommittedRecord[] = [];
    const leftCatchUp = new Set<number>();
    let refusal: unknown;
    let outage: unknown;
    const held: Held = { steps: 0, any: false };
    for (const shard of shardsOf(work)) {
      const part: Work = {
        queued: work.queued.filter((c) => c.record.shard === shard),
        queuedSince: work.queuedSince,
        catchUp: work.catchUp.has(shard) ? new Set([shard]) : new Set(),
        done: [],
        round: work.round,
      };
      if (this.held.has(shard)) {
        // Its retry is not due: these steps join the held ones.
        held.steps += this.hold(shard, part, 0);
        held.any = true;
        continue;
      }
      if (outage === undefined) {
        try {
          await this.project(part);
          this.shardRefusals.delete(shard);
          continue;
        } catch (err) {
          if (isUnavailable(err)) outage = err;
          else {
            refusal ??= err;
            if (!this.closing) {
              const refusals = (this.shardRefusals.get(shard) ?? 0) + 1;
              this.shardRefusals.set(shard, refusals);
              const until = Date.now() + this.backoffMs(refusals);
              held.steps += this.hold(shard, part, until);
              held.any = true;
              continue;
            }
          }
        }
      }
      for (const c of part.queued) left.push(c); // not push(...): a backlog grown in an outage overflows the stack
      for (const s of part.catchUp) leftCatchUp.add(s);
    }
    if (held.any) this.releaseHeld(Date.now()); // arms the hold timer
    if (outage !== undefined || refusal !== undefined)
      throw new PartlyProjected(left, leftCatchUp, refusal !== undefined, outage !== undefined, held, {
        cause: outage ?? refusal,
      });
    return held;
  }

  private async project(work: Work): Promise<void> {
    // In shard order, as every writer of shard_watermarks locks its rows: no lock-order deadlock.
    const shards = shardsOf(work);
    if (shards.length === 0) return;
    const conn = await this.pool.getConnection();
    // Projections run after their commands were answered: outside their traces.
    const ctx: SqlContext = {
      conn,
      scope: outsideTrace,
      timeoutMs: this.options.queryTimeoutMs,
      multipleStatements: allowsMultipleStatements(this.pool),
    };
    let clean = false;
    try {
      await this.query(ctx, 'START TRANSACTION');
      const projected = await this.lockWatermarks(ctx, shards);
      const own = work.queued.filter((c) => c.position > (projected.get(c.record.shard) ?? 0));
      const others = await this.unprojectedOfOthers(ctx, projected, own, work.catchUp);
      const all = [...others, ...own].sort((a, b) => a.position - b.position);
      if (all.length > 0) {
        await this.cipher.ready(new Set(all.map((c) => c.record.tenant)));
        const rows = projectionRows(
          all.map((c) => c.record),
          new Set(),
          this.cipher,
        );
        await writeProjections(ctx, rows);
        await this.advance(ctx, all);
        this.stats.steps += all.length;
        this.stats.caughtUp += others.length;
        this.stats.runtimeRows += rows.runtimeUpdates.length;
      }
      await this.query(ctx, 'COMMIT');
      this.stats.transactions += 1;
      clean = true;
      for (const shard of work.catchUp) this.caughtUp(shard, work.round);
      const metrics = this.options.metrics;
      metrics?.projections.inc({ result: 'ok' });
      if (metrics && work.queued.length > 0 && work.queuedSince !== undefined)
        metrics.projectionLag.observe((Date.now() - work.queuedSince) / 1000);
    } finally {
      if (clean) conn.release();
      else conn.destroy();
    }
  }

  private async query(ctx: SqlContext, sql: string, values?: unknown[]): Promise<mysql.RowDataPacket[]> {
    const [rows] = await ctx.conn.query<mysql.RowDataPacket[]>({ sql, values, timeout: ctx.timeoutMs });
    return rows;
  }

  /** Each shard's projected position, its row locked (created when missing) until the transaction ends. */
  private async lockWatermarks(ctx: SqlContext, shards: number[]): Promise<Map<number, number>> {
    const now = this.options.now();
    await this.query(
      ctx,
      'INSERT IGNORE INTO shard_watermarks (shard, published_position, projected_position, updated_at) VALUES ?',
      [shards.map((s) => [s, 0, 0, now])],
    );
    const rows = await this.query(
      ctx,
      'SELECT shard, projected_position FROM shard_watermarks WHERE shard IN (?) FOR UPDATE',
      [shards],
    );
    return new Map(rows.map((r) => [Number(r.shard), Number(r.projected_position)]));
  }

  /**
   * Steps after a shard's watermark that this projector was not handed: all of them for a shard to catch up,
   * else those before its last own step (a previous owner's, before its first; or one committed whose answer
   * was lost, so never handed over, between two of its own). Their positions come from the index first
   * (runtime_steps_by_shard), so the bodies read are the missing steps' only. Their states are rebuilt from
   * the runtime row and the log.
   */
  private async unprojectedOfOthers(
    ctx: SqlContext,
    projected: ReadonlyMap<number, number>,
    own: readonly CommittedRecord[],
    catchUp: ReadonlySet<number>,
  ): Promise<CommittedRecord[]> {
    const lastOwn = new Map<number, number>();
    for (const c of own) lastOwn.set(c.record.shard, Math.max(c.position, lastOwn.get(c.record.shard) ?? 0));
    const ownPositions = new Set(own.map((c) => c.position));
    const whole: string[] = [];
    const wholeValues: unknown[] = [];
    const below: string[] = [];
    const belowValues: unknown[] = [];
    for (const [shard, from] of projected) {
      if (catchUp.has(shard)) {
        whole.push('(shard = ? AND position > ?)');
        wholeValues.push(shard, from);
        continue;
      }
      const upTo = lastOwn.get(shard);
      if (upTo === undefined || upTo <= from + 1) continue;
      below.push('(shard = ? AND position > ? AND position < ?)');
      belowValues.push(shard, from, upTo);
    }
    const missing: number[] = [];
    if (below.length > 0) {
      const positions = await this.query(
        ctx,
        `SELECT position FROM runtime_steps WHERE ${below.join(' OR ')}`,
        belowValues,
      );
      for (const r of positions) if (!ownPositions.has(Number(r.position))) missing.push(Number(r.position));
    }
    if (missing.length > 0) {
      whole.push('position IN (?)');
      wholeValues.push(missing);
    }
    if (whole.length === 0) return [];
    const rows = (
      await this.query(
        ctx,
        `SELECT tenant, runtime_id, revision, position, shard, idem_key, body FROM runtime_steps WHERE ${whole.join(' OR ')} ORDER BY position`,
        wholeValues,
      )
    ).filter((r) => !ownPositions.has(Number(r.position)));
    if (rows.length === 0) return [];
    return this.rebuild(ctx, rows, own);
  }

  /** Committed records of log rows, each with its state after the step (the runtime row, then the log replayed). */
  private async rebuild(
    ctx: SqlContext,
    rows: mysql.RowDataPacket[],
    own: readonly CommittedRecord[],
  ): Promise<CommittedRecord[]> {
    // A missing step may follow an own step of its runtime (not projected yet): it replays over that state.
    const ownStates = new Map(
      own.map((c) => [
        `${runtimeKey(c.record.tenant, c.record.state.runtime.id)}\u0000${c.record.state.revision}`,
        c.record.state,
      ]),
    );
    const ids = [...new Map(rows.map((r) => [runtimeKey(String(r.tenant), String(r.runtime_id)), r])).values()];
    const stored = await this.query(
      ctx,
      `SELECT tenant, id, state FROM runtimes WHERE ${ids.map(() => '(tenant = ? AND id = ?)').join(' OR ')}`,
      ids.flatMap((r) => [r.tenant, r.runtime_id]),
    );
    const states = new Map<string, RuntimeState | undefined>(
      await Promise.all(
        stored.map(
          async (r) =>
            [
              runtimeKey(String(r.tenant), String(r.id)),
              await openState(this.cipher, String(r.tenant), String(r.id), r.state),
            ] as const,
        ),
      ),
    );
    const byRevision = [...rows].sort((a, b) => Number(a.revision) - Number(b.revision));
    const out: CommittedRecord[] = [];
    for (const r of byRevision) {
      const tenant = String(r.tenant);
      const runtimeId = String(r.runtime_id);
      const key = runtimeKey(tenant, runtimeId);
      const body = await openStepBody(this.cipher, tenant, runtimeId, Number(r.revision), r.body);
      const known = states.get(key);
      const before =
        known?.revision === Number(r.revision) - 1
          ? known
          : (ownStates.get(`${key}\u0000${Number(r.revision) - 1}`) ?? known);
      if (before !== undefined && before.revision >= Number(r.revision)) continue; // its row is newer already
      const state = replaySteps(before, [body])!;
      states.set(key, state);
      const record: TransitionRecord = {
        tenant,
        shard: Number(r.shard),
        baseRevision: Number(r.revision) - 1,
        state,
        effects: stepEffects(tenant, runtimeId, body),
      };
      const cause = body.cause;
      if (cause?.start !== undefined) record.cause = { start: cause.start };
      else if (cause?.command !== undefined) record.cause = { command: cause.command };
      else if (cause?.migrate !== undefined) record.cause = { migrate: cause.migrate };
      if (r.idem_key !== null && r.idem_key !== undefined) record.idempotency = { key: String(r.idem_key) };
      out.push({ record, position: Number(r.position) });
    }
    return out;
  }

  private async advance(ctx: SqlContext, projected: readonly CommittedRecord[]): Promise<void> {
    const last = new Map<number, number>();
    for (const c of projected) last.set(c.record.shard, Math.max(c.position, last.get(c.record.shard) ?? 0));
    await this.query(
      ctx,
      'INSERT INTO shard_watermarks (shard, published_position, projected_position, updated_at) VALUES ? ' +
        'ON DUPLICATE KEY UPDATE projected_position = GREATEST(projected_position, VALUES(projected_position)), ' +
        'updated_at = VALUES(updated_at)',
      [[...last].sort(([a], [b]) => a - b).map(([shard, position]) => [shard, 0, position, this.options.now()])],
    );
  }
}
