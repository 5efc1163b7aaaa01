import {
  migrate,
  start,
  step,
  type CompiledWorkflow,
  type DirectoryView,
  type LogEntry,
  type RuntimeState,
  type StepResult,
  type TaskChange,
} from '../engine/index.ts';
import type { LoggedCommand, StoredLogEntry } from '../store/ports.ts';

/** Compiled workflow versions by (id, version); undefined when the version does not exist. */
export type WorkflowSource = (workflowId: string, version: number) => Promise<CompiledWorkflow | undefined>;

/** One replayed step: where it is logged and what it produced. */
export interface ReplayedStep {
  /** Seq of the step's first log entry. */
  seq: number;
  /** The state's seq after the step (the outbox row's seq). */
  stateSeq: number;
  idempotencyKey: string | undefined;
  eventIds: string[];
  tasks: TaskChange[];
}

export type ReplayResult =
  | { ok: true; state: RuntimeState; log: LogEntry[]; steps: ReplayedStep[] }
  | { ok: false; seq: number; reason: string; path: string; steps: ReplayedStep[] };

type Failure = Extract<ReplayResult, { ok: false }>;

/**
 * Rebuilds a runtime from its log: the engine's `start` for the first entry,
 * then `step` for each entry that carries a command (`migrate` for a migration, after which the
 * target version's definition replays the rest), each with the entry's `at` as `now`. Entries without a command are the later entries of the step before.
 * Stops at the first step that cannot be replayed.
 */
export async function replayLog(
  log: readonly StoredLogEntry[],
  workflows: WorkflowSource,
  dir: DirectoryView,
): Promise<ReplayResult> {
  let state: RuntimeState | undefined;
  let wf: CompiledWorkflow | undefined;
  const replayedLog: LogEntry[] = [];
  const steps: ReplayedStep[] = [];
  const fail = (seq: number, reason: string, path: string): Failure => ({ ok: false, seq, reason, path, steps });
  for (const entry of log) {
    const cmd = entry.command;
    if (cmd === undefined) {
      if (state === undefined)
        return fail(entry.seq, 'no command logged (a row older than migration 002?)', `log[seq ${entry.seq}].command`);
      continue;
    }
    let result: StepResult;
    if (cmd.start !== undefined) {
      if (state !== undefined)
        return fail(entry.seq, 'a start logged on a runtime already started', `log[seq ${entry.seq}].command.start`);
      wf = await workflows(cmd.start.workflowId, cmd.start.version);
      if (!wf)
        return fail(
          entry.seq,
          `workflow ${cmd.start.workflowId} version ${cmd.start.version} does not exist`,
          'runtime.workflowId',
        );
      result = start(wf, cmd.start, dir, entry.at);
    } else if (cmd.command !== undefined) {
      if (state === undefined || wf === undefined)
        return fail(entry.seq, 'the first logged step is not a start', `log[seq ${entry.seq}].command`);
      result = step(wf, state, cmd.command, dir, entry.at);
    } else if (cmd.migrate !== undefined) {
      // A migration switches the definition: the steps after it replay on the target version.
      if (state === undefined || wf === undefined)
        return fail(entry.seq, 'the first logged step is not a start', `log[seq ${entry.seq}].command`);
      const to = await workflows(state.runtime.workflowId, cmd.migrate.toVersion);
      if (!to)
        return fail(
          entry.seq,
          `workflow ${state.runtime.workflowId} version ${cmd.migrate.toVersion} does not exist`,
          `log[seq ${entry.seq}].command.migrate.toVersion`,
        );
      const migrated = migrate(wf, to, state, cmd.migrate, dir, entry.at);
      if (!migrated.ok)
        return fail(
          entry.seq,
          `engine refused the migration (${migrated.block}: ${migrated.message})`,
          `log[seq ${entry.seq}]`,
        );
      result = { ok: true, state: migrated.state, effects: migrated.effects, changed: true };
      wf = to;
    } else {
      return fail(entry.seq, 'the logged command has no start input or command', `log[seq ${entry.seq}].command`);
    }
    if (!result.ok)
      return fail(
        entry.seq,
        `engine refused the step (${result.error.code}: ${result.error.message})`,
        `log[seq ${entry.seq}]`,
      );
    if (!result.changed) return fail(entry.seq, 'the step changes nothing on replay', `log[seq ${entry.seq}]`);
    state = result.state;
    replayedLog.push(...result.effects.log);
    steps.push(replayedStep(entry.seq, cmd, result));
  }
  if (state === undefined) return fail(0, 'the runtime has no log', 'log');
  return { ok: true, state, log: replayedLog, steps };
}

function replayedStep(seq: number, cmd: LoggedCommand, result: Extract<StepResult, { ok: true }>): ReplayedStep {
  return {
    seq,
    stateSeq: result.state.seq,
    idempotencyKey: cmd.idempotencyKey,
    eventIds: result.effects.events.map((e) => e.id),
    tasks: result.effects.tasks,
  };
}

/** A memo of compiled versions over a loader, so each version compiles once per check. */
export function memoWorkflows(load: WorkflowSource): WorkflowSource {
  const cache = new Map<string, Promise<CompiledWorkflow | undefined>>();
  return (workflowId, version) => {
    const key = JSON.stringify([workflowId, version]);
    let hit = cache.get(key);
    if (!hit) cache.set(key, (hit = load(workflowId, version)));
    return hit;
  };
}
