/** What `checkInvariants` found: counts, the violations by kind, and whether there were none. */
export interface InvariantReport {
  /** True when every list below (events' included) is empty. */
  ok: boolean;
  /** One line: the counts and how many violations of each kind. */
  summary: string;
  tenant: string;
  counts: InvariantCounts;
  /** Acknowledged commands whose key is not in their runtime's log. */
  lost: LostCommand[];
  /** Idempotency keys logged by more than one step (acknowledged or not). */
  duplicated: DuplicatedCommand[];
  /** Log keys without their idempotency record (a retry would run again), records without a logged step, or naming another runtime. */
  idempotencyMismatches: IdempotencyMismatch[];
  /** Runtimes whose stored state or log is not what replaying their log through the engine gives. */
  replayMismatches: ReplayMismatch[];
  /** A person's task closed by two steps without being reopened, or voted twice at one stage in the stored state. */
  tasksClosedTwice: TaskClosedTwice[];
  /** Rows of the tasks table that differ from the tasks the replay wrote (missing, stray or different). */
  taskMismatches: TaskMismatch[];
  events: EventViolations;
  /** What may make a violation a false alarm (e.g. the directory changed after the first checked step); never affects `ok`. */
  warnings: string[];
}

export interface InvariantCounts {
  runtimes: number;
  logEntries: number;
  /** Acknowledged commands of the tenant, duplicates (same runtime and key) counted once. */
  acknowledged: number;
  taskRows: number;
  outboxRows: number;
  /** Events in the tenant's outbox rows. */
  eventsCommitted: number;
  /** The tenant's messages in the stream (undefined when the stream was not checked). */
  eventsInStream: number | undefined;
  /** Runtimes whose hot rows retention removed (the ledger says so): only their audit log is checked for keys. */
  removedByRetention: number;
}

/** Where a step is logged: its runtime and the seq of its first log entry. */
export interface LogPosition {
  runtimeId: string;
  seq: number;
}

export interface LostCommand {
  runtimeId: string;
  idempotencyKey: string;
  /** Where the key is logged instead (another runtime), if anywhere. */
  foundIn: LogPosition[];
}

export interface DuplicatedCommand {
  idempotencyKey: string;
  occurrences: LogPosition[];
  acknowledged: boolean;
}

export interface IdempotencyMismatch {
  idempotencyKey: string;
  /** `no record`: logged, absent from idempotency_keys; `not logged`: a record no step logged; `other runtime`: they disagree. */
  problem: 'no record' | 'not logged' | 'other runtime';
  /** The runtime of the log entry (or of the record when not logged). */
  runtimeId: string;
  /** The record's runtime, for `other runtime`. */
  recordRuntimeId?: string;
}

export interface ReplayMismatch {
  runtimeId: string;
  /** What is wrong, e.g. `state differs`, `engine refused the step`, `no command logged`. */
  reason: string;
  /** First differing JSON path (`state.stages[1].tasks[0].status`, `log[2].action`), or what the reason is about. */
  path: string;
  /** The log entry the replay stopped at, when it stopped. */
  seq?: number;
  /** The replay's value at `path`. */
  expected?: unknown;
  /** The stored value at `path`. */
  actual?: unknown;
}

export interface TaskClosedTwice {
  runtimeId: string;
  stage: number;
  assignee: string;
  /** `replay`: two steps closed it; `state`: the stored state holds two closed votes of the assignee at the stage. */
  source: 'replay' | 'state';
  /** The steps (first log seq) that closed it (replay), or the actions of the closed tasks (state). */
  detail: (number | string)[];
}

export interface TaskMismatch {
  runtimeId: string;
  stage: number;
  assignee: string;
  /** `missing`: the replay wrote the task, the table has no row; `stray`: a row the replay never wrote; `differs`: see field. */
  problem: 'missing' | 'stray' | 'differs';
  field?: string;
  expected?: unknown;
  actual?: unknown;
}

export interface EventViolations {
  /** False when no stream was given: only the outbox checks ran. */
  streamChecked: boolean;
  /** Events of outbox rows marked published that are not in the stream. */
  missing: { eventId: string; runtimeId: string; position: number }[];
  /** Events stored more than once in the stream (by the event id in the payload). */
  duplicated: { eventId: string; count: number; streamSeqs: number[] }[];
  /** Messages of the tenant in the stream whose event is in no outbox row. */
  notCommitted: { eventId: string; streamSeq: number }[];
  /** Messages whose Nats-Msg-Id is not their tenant-qualified event id (the stream's de-duplication cannot work for them). */
  msgIdMismatches: { streamSeq: number; msgId: string | undefined; eventId: string }[];
  /** Outbox rows not marked published (the relay is behind or stuck). */
  unpublished: { position: number; runtimeId: string; seq: number; events: number }[];
  /** Outbox rows against the replay: a step's events missing from the outbox, a row no step produced, or different events. */
  outboxMismatches: {
    runtimeId: string;
    seq: number;
    problem: 'missing' | 'unexpected' | 'differs' | 'duplicated';
    expected?: string[];
    actual?: string[];
  }[];
}

export function emptyReport(tenant: string): InvariantReport {
  return {
    ok: true,
    summary: '',
    tenant,
    counts: {
      runtimes: 0,
      logEntries: 0,
      acknowledged: 0,
      taskRows: 0,
      outboxRows: 0,
      eventsCommitted: 0,
      eventsInStream: undefined,
      removedByRetention: 0,
    },
    lost: [],
    duplicated: [],
    idempotencyMismatches: [],
    replayMismatches: [],
    tasksClosedTwice: [],
    taskMismatches: [],
    events: {
      streamChecked: false,
      missing: [],
      duplicated: [],
      notCommitted: [],
      msgIdMismatches: [],
      unpublished: [],
      outboxMismatches: [],
    },
    warnings: [],
  };
}

/** Violations per kind, in report order. */
export function violationCounts(r: InvariantReport): [string, number][] {
  const e = r.events;
  return [
    ['lost', r.lost.length],
    ['duplicated', r.duplicated.length],
    ['idempotency mismatches', r.idempotencyMismatches.length],
    ['replay mismatches', r.replayMismatches.length],
    ['tasks closed twice', r.tasksClosedTwice.length],
    ['task mismatches', r.taskMismatches.length],
    ['events missing', e.missing.length],
    ['events duplicated', e.duplicated.length],
    ['events not committed', e.notCommitted.length],
    ['msg id mismatches', e.msgIdMismatches.length],
    ['unpublished outbox rows', e.unpublished.length],
    ['outbox mismatches', e.outboxMismatches.length],
  ];
}

/** Sets `ok` and `summary` from the lists and counts. */
export function finishReport(r: InvariantReport): InvariantReport {
  const violations = violationCounts(r);
  r.ok = violations.every(([, n]) => n === 0);
  const c = r.counts;
  const stream = c.eventsInStream === undefined ? 'stream not checked' : `${c.eventsInStream} in stream`;
  r.summary =
    `check ${r.tenant}: ${r.ok ? 'OK' : 'VIOLATIONS'} — ${c.runtimes} runtimes, ${c.logEntries} log entries, ` +
    `${c.acknowledged} acknowledged, ${c.taskRows} task rows, ${c.eventsCommitted} events committed (${stream}); ` +
    violations.map(([kind, n]) => `${n} ${kind}`).join(', ') +
    (r.warnings.length > 0 ? `; ${r.warnings.length} warning${r.warnings.length > 1 ? 's' : ''}` : '');
  return r;
}

/** One line per violation, for people: kind, where, what (warnings are not violations: see `report.warnings`). */
export function violationLines(r: InvariantReport): string[] {
  const j = (v: unknown): string => (v === undefined ? 'absent' : JSON.stringify(v));
  const at = (p: LogPosition): string => `${p.runtimeId}#${p.seq}`;
  const e = r.events;
  return [
    ...r.lost.map(
      (l) =>
        `lost: ${l.runtimeId} key ${l.idempotencyKey}${l.foundIn.length ? ` (logged in ${l.foundIn.map(at).join(', ')})` : ''}`,
    ),
    ...r.duplicated.map(
      (d) =>
        `duplicated: key ${d.idempotencyKey} logged ${d.occurrences.length}× at ${d.occurrences.map(at).join(', ')}${d.acknowledged ? ' (acknowledged)' : ''}`,
    ),
    ...r.idempotencyMismatches.map(
      (m) =>
        `idempotency ${m.problem}: key ${m.idempotencyKey} of ${m.runtimeId}${m.recordRuntimeId === undefined ? '' : ` (record names ${m.recordRuntimeId})`}`,
    ),
    ...r.replayMismatches.map(
      (m) =>
        `replay mismatch: ${m.runtimeId}${m.seq === undefined ? '' : `#${m.seq}`} ${m.reason} at ${m.path}` +
        (m.expected === undefined && m.actual === undefined ? '' : `: replay ${j(m.expected)}, stored ${j(m.actual)}`),
    ),
    ...r.tasksClosedTwice.map(
      (t) => `task closed twice: ${t.runtimeId} stage ${t.stage} ${t.assignee} (${t.source}: ${t.detail.join(', ')})`,
    ),
    ...r.taskMismatches.map(
      (t) =>
        `task ${t.problem}: ${t.runtimeId} stage ${t.stage} ${t.assignee}${t.field ? ` ${t.field}: replay ${j(t.expected)}, stored ${j(t.actual)}` : ''}`,
    ),
    ...e.missing.map((m) => `event missing from stream: ${m.eventId} (outbox position ${m.position})`),
    ...e.duplicated.map((d) => `event in stream ${d.count}×: ${d.eventId} (stream seqs ${d.streamSeqs.join(', ')})`),
    ...e.notCommitted.map((n) => `event in stream but not committed: ${n.eventId} (stream seq ${n.streamSeq})`),
    ...e.msgIdMismatches.map(
      (m) => `msg id mismatch: stream seq ${m.streamSeq} Nats-Msg-Id ${m.msgId ?? '(none)'} carries event ${m.eventId}`,
    ),
    ...e.unpublished.map(
      (u) => `unpublished outbox row: position ${u.position} ${u.runtimeId}#${u.seq} (${u.events} events)`,
    ),
    ...e.outboxMismatches.map(
      (o) =>
        `outbox ${o.problem}: ${o.runtimeId}#${o.seq}` +
        (o.expected || o.actual ? `: replay ${j(o.expected)}, stored ${j(o.actual)}` : ''),
    ),
  ];
}
