import { eventMsgId } from '../actors/events/index.ts';
import type { EventViolations } from './report.ts';
import type { StreamedEvent } from './stream-reader.ts';
import type { OutboxRow } from './tenant-reader.ts';

const stepKey = (runtimeId: string, seq: number): string => `${runtimeId}\u0000${seq}`;
/** A step's event ids as one string (10^5 runtimes emit ~10^6 events: one string per step, not one per event). */
const joined = (ids: readonly string[]): string => ids.join('\n');
/** `<runtime>:<seq>:<index>` → runtime. */
const runtimeOf = (eventId: string): string => eventId.slice(0, eventId.lastIndexOf(':', eventId.lastIndexOf(':') - 1));
/** Marks a step key whose outbox row was seen. */
const SEEN = '';

/**
 * The tenant's events three ways: what the replayed steps emitted, what the
 * outbox committed, what the stream holds. Fed in that order (runtime pages,
 * outbox pages, stream messages); each reports into `violations`. Kept
 * compact: strings and numbers in maps, lists only for violations.
 */
export class EventLedger {
  readonly violations: EventViolations = {
    streamChecked: false,
    missing: [],
    duplicated: [],
    notCommitted: [],
    msgIdMismatches: [],
    unpublished: [],
    outboxMismatches: [],
  };
  outboxRows = 0;

  constructor(private readonly tenant: string) {}
  /** Step key → the replay's event ids (joined), or SEEN once its outbox row was read. */
  private readonly steps = new Map<string, string>();
  private readonly unreplayed = new Set<string>();
  /** Event id → outbox position, negative while the row is unpublished. */
  private readonly committed = new Map<string, number>();
  /** Runtime → the log seq through which retention removed its steps' outbox rows (Infinity: all of them). */
  private readonly pruned = new Map<string, number>();
  /** Event id → stream seq of its first message; seqs of every message only for ids seen more than once. */
  private readonly inStream = new Map<string, number>();
  private readonly repeats = new Map<string, number[]>();

  /** A replayed step's events (none: the step wrote no outbox row). */
  expectStep(runtimeId: string, stateSeq: number, eventIds: readonly string[]): void {
    if (eventIds.length > 0) this.steps.set(stepKey(runtimeId, stateSeq), joined(eventIds));
  }

  /** A runtime that could not be replayed: its outbox rows are not compared (its replay mismatch is reported). */
  skipRuntime(runtimeId: string): void {
    this.unreplayed.add(runtimeId);
  }

  /**
   * Retention removed the runtime's steps through log seq `throughSeq` (Infinity: the whole runtime): their
   * events are in no outbox row any more, so their messages in the stream are not "not committed".
   */
  prunedThrough(runtimeId: string, throughSeq: number): void {
    this.pruned.set(runtimeId, throughSeq);
  }

  get eventsCommitted(): number {
    return this.committed.size;
  }

  addOutboxRow(row: OutboxRow): void {
    this.outboxRows += 1;
    const key = stepKey(row.runtimeId, row.seq);
    const actual = row.events.map((e) => e.id);
    const where = { runtimeId: row.runtimeId, seq: row.seq };
    const expected = this.steps.get(key);
    this.steps.set(key, SEEN);
    if (expected === SEEN) this.violations.outboxMismatches.push({ ...where, problem: 'duplicated', actual });
    else if (!this.unreplayed.has(row.runtimeId)) {
      if (expected === undefined) this.violations.outboxMismatches.push({ ...where, problem: 'unexpected', actual });
      else if (expected !== joined(actual))
        this.violations.outboxMismatches.push({ ...where, problem: 'differs', expected: expected.split('\n'), actual });
    }
    for (const id of actual) this.committed.set(id, row.published ? row.position : -row.position);
    if (!row.published)
      this.violations.unpublished.push({
        position: row.position,
        runtimeId: row.runtimeId,
        seq: row.seq,
        events: actual.length,
      });
  }

  /** After the last outbox page: replayed steps with events but no outbox row. */
  endOutbox(): void {
    for (const [key, expected] of this.steps) {
      if (expected === SEEN) continue;
      const [runtimeId, seq] = key.split('\u0000') as [string, string];
      this.violations.outboxMismatches.push({
        runtimeId,
        seq: Number(seq),
        problem: 'missing',
        expected: expected.split('\n'),
      });
    }
    this.steps.clear();
  }

  /** One of the tenant's stream messages. */
  addMessage(m: StreamedEvent): void {
    const v = this.violations;
    const first = this.inStream.get(m.eventId);
    if (first === undefined) this.inStream.set(m.eventId, m.streamSeq);
    else this.repeats.set(m.eventId, [...(this.repeats.get(m.eventId) ?? [first]), m.streamSeq]);
    if (m.msgId !== eventMsgId({ tenant: this.tenant, id: m.eventId }))
      v.msgIdMismatches.push({ streamSeq: m.streamSeq, msgId: m.msgId, eventId: m.eventId });
    if (!this.committed.has(m.eventId) && !this.removedByRetention(m.eventId))
      v.notCommitted.push({ eventId: m.eventId, streamSeq: m.streamSeq });
  }

  /** `<runtime>:<seq>:<index>` of a step retention removed. */
  private removedByRetention(eventId: string): boolean {
    const runtimeId = runtimeOf(eventId);
    const through = this.pruned.get(runtimeId);
    if (through === undefined) return false;
    const seq = Number(eventId.slice(runtimeId.length + 1, eventId.lastIndexOf(':')));
    return seq <= through;
  }

  /** After the last message: committed events absent from the stream, events stored more than once. */
  endStream(): void {
    const v = this.violations;
    v.streamChecked = true;
    for (const [eventId, streamSeqs] of this.repeats)
      v.duplicated.push({ eventId, count: streamSeqs.length, streamSeqs });
    for (const [eventId, position] of this.committed) {
      // An unpublished row's events may legitimately be absent; the row itself is reported as unpublished.
      if (position > 0 && !this.inStream.has(eventId))
        v.missing.push({ eventId, runtimeId: runtimeOf(eventId), position });
    }
  }
}
