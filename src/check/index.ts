// The invariant checker's public surface (issue 7): what `bflow check` and the chaos tests call.
/** Checks a tenant's log, state, tasks, outbox and event stream against each other and the acknowledged commands. */
export { checkInvariants, type CheckInvariantsInput } from './check-invariants.ts';
/** An acknowledged command, and the JSON-lines parser of a file of them. */
export { parseAcknowledged, type AcknowledgedCommand } from './acknowledged.ts';
/** The report: counts, violations by kind, `ok`, a one-line `summary`; `violationLines` prints each violation. */
export { violationLines, type InvariantReport, type InvariantCounts, type EventViolations } from './report.ts';
export type {
  LostCommand,
  DuplicatedCommand,
  IdempotencyMismatch,
  ReplayMismatch,
  TaskClosedTwice,
  TaskMismatch,
  LogPosition,
} from './report.ts';
/** Typed failures of the checker itself (bad input, stream missing or too slow). */
export { CheckError, type CheckErrorCode } from './errors.ts';
