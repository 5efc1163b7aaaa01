import type { EventViolations } from './report.ts';
import type { StreamedEvent } from './stream-reader.ts';
import type { OutboxRow } from './tenant-reader.ts';

interface Committed {
  runtimeId: string;
  position: number;
  published: boolean;
}

const stepKey = (runtimeId: string, seq: number): string => `${runtimeId}\u0000${seq}`;

/**
 * The tenant's events three ways: what the replayed steps emitted, what the
 * outbox committed, what the stream holds. Fed in that order (runtime pages,
 * outbox pages, the stream read); each step reports into `violations`.
 */
export class EventLedger {
  readonly violations: EventViolations = {
    streamChecked: false, missing: [], duplicated: [], notCommitted: [], msgIdMismatches: [], unpublished: [], outboxMismatches: [],
  };
  outboxRows = 0;
  private readonly expected = new Map<string, string[]>();
  private readonly unreplayed = new Set<string>();
  private readonly seenRows = new Set<string>();
  private readonly committed = new Map<string, Committed>();

  /** A replayed step's events (none: the step wrote no outbox row). */
  expectStep(runtimeId: string, stateSeq: number, eventIds: string[]): void {
    if (eventIds.length > 0) this.expected.set(stepKey(runtimeId, stateSeq), eventIds);
  }

  /** A runtime that could not be replayed: its outbox rows are not compared (its replay mismatch is reported). */
  skipRuntime(runtimeId: string): void {
    this.unreplayed.add(runtimeId);
  }

  get eventsCommitted(): number {
    return this.committed.size;
  }

  addOutboxRow(row: OutboxRow): void {
    this.outboxRows += 1;
    const key = stepKey(row.runtimeId, row.seq);
    const actual = row.events.map((e) => e.id);
    const where = { runtimeId: row.runtimeId, seq: row.seq };
    if (this.seenRows.has(key)) this.violations.outboxMismatches.push({ ...where, problem: 'duplicated', actual });
    this.seenRows.add(key);
    const expected = this.expected.get(key);
    if (!this.unreplayed.has(row.runtimeId)) {
      if (!expected) this.violations.outboxMismatches.push({ ...where, problem: 'unexpected', actual });
      else if (expected.join('\n') !== actual.join('\n')) this.violations.outboxMismatches.push({ ...where, problem: 'differs', expected, actual });
    }
    for (const id of actual) this.committed.set(id, { runtimeId: row.runtimeId, position: row.position, published: row.published });
    if (!row.published) this.violations.unpublished.push({ position: row.position, runtimeId: row.runtimeId, seq: row.seq, events: actual.length });
  }

  /** After the last outbox page: replayed steps with events but no outbox row. */
  endOutbox(): void {
    for (const [key, expected] of this.expected) {
      if (this.seenRows.has(key)) continue;
      const [runtimeId, seq] = key.split('\u0000') as [string, string];
      this.violations.outboxMismatches.push({ runtimeId, seq: Number(seq), problem: 'missing', expected });
    }
  }

  /** The tenant's stream messages against the committed events: each published event exactly once, nothing else. */
  compareStream(messages: readonly StreamedEvent[]): void {
    const v = this.violations;
    v.streamChecked = true;
    const seqs = new Map<string, number[]>();
    for (const m of messages) {
      seqs.set(m.eventId, [...(seqs.get(m.eventId) ?? []), m.streamSeq]);
      if (m.msgId !== m.eventId) v.msgIdMismatches.push({ streamSeq: m.streamSeq, msgId: m.msgId, eventId: m.eventId });
      if (!this.committed.has(m.eventId)) v.notCommitted.push({ eventId: m.eventId, streamSeq: m.streamSeq });
    }
    for (const [eventId, at] of seqs) if (at.length > 1) v.duplicated.push({ eventId, count: at.length, streamSeqs: at });
    for (const [eventId, c] of this.committed) {
      // An unpublished row's events may legitimately be absent; the row itself is reported as unpublished.
      if (c.published && !seqs.has(eventId)) v.missing.push({ eventId, runtimeId: c.runtimeId, position: c.position });
    }
  }
}
