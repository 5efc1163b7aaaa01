import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { mishandledBadInputs } from './bad-inputs.ts';
import type { InvariantReport } from './invariants.ts';
import type { FaultMark, LoadRecord } from './load-record.ts';

export const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

/** Recovery of one fault: the longest any command waited past the fault's end (a kill ends at once). */
export interface FaultRecovery extends FaultMark {
  recoveryMs: number;
  /** Commands abandoned at their deadline while this fault was the latest: the system did not recover in time. */
  abandoned: number;
}

/**
 * For each fault, over the commands acknowledged after it began and first sent
 * before the next fault: max(ack time − max(first try, fault undone)). A
 * command stuck through an outage counts from the moment the service was back;
 * one sent to a dead node's shard counts from its own first try. Steady-state
 * latency is its floor.
 */
export function recoveries(record: LoadRecord): FaultRecovery[] {
  return record.faults.map((f, i) => {
    const until = record.faults[i + 1]?.at ?? Infinity;
    let recoveryMs = 0;
    for (const a of record.acks) {
      if (a.ackAt < f.at || a.firstAt >= until) continue;
      recoveryMs = Math.max(recoveryMs, a.ackAt - Math.max(a.firstAt, f.healedAt));
    }
    const abandoned = record.abandoned.filter(
      (a) => a.reason === 'deadline' && a.last.at >= f.at && a.last.at < until,
    ).length;
    return { ...f, recoveryMs, abandoned };
  });
}

/** Everything a scenario reports; written as JSON and summarised in one line. */
export interface ScenarioResult {
  scenario: string;
  startedAt: string;
  durationS: number;
  /** Acknowledged commands per second over the whole run, faults included. */
  loadCmdPerS: number;
  /** ... over the 3 s before the first fault: the steady load the system held. */
  steadyCmdPerS: number;
  inFlight: number;
  acknowledged: number;
  faults: FaultRecovery[];
  badInputs: { tried: number; mishandled: string[] };
  lost: number;
  duplicates: number;
  recoveryMs: number;
  /** Commands given up on, by reason (refused: a 4xx; deadline: retried in vain; stopped: the load ended). */
  abandoned: Record<string, number>;
  outcomes: Record<string, number>;
  perSecond: number[];
  invariants: InvariantReport;
  /** Scenario-specific findings (e.g. the fail-fast answers during a MySQL outage). */
  notes: Record<string, unknown>;
}

export function scenarioResult(
  scenario: string,
  record: LoadRecord,
  inFlight: number,
  invariants: InvariantReport,
  notes: Record<string, unknown> = {},
): ScenarioResult {
  const faults = recoveries(record);
  const abandoned: Record<string, number> = {};
  for (const a of record.abandoned) abandoned[a.reason] = (abandoned[a.reason] ?? 0) + 1;
  return {
    scenario,
    startedAt: new Date(record.startedAt).toISOString(),
    durationS: Math.round((record.stoppedAt - record.startedAt) / 100) / 10,
    loadCmdPerS: Math.round(record.throughput()),
    steadyCmdPerS: Math.round(steadyRate(record)),
    inFlight,
    acknowledged: record.acks.length,
    faults,
    badInputs: { tried: record.badInputs.length, mishandled: mishandledBadInputs(record) },
    lost: invariants.lost,
    duplicates: invariants.duplicates,
    recoveryMs: Math.max(0, ...faults.map((f) => f.recoveryMs)),
    abandoned,
    outcomes: Object.fromEntries([...record.outcomes].sort(([, a], [, b]) => b - a)),
    perSecond: record.perSecond(),
    invariants,
    notes,
  };
}

/** Acknowledged commands per second over the 3 s before the first fault (after the warm-up: the steady load held). */
function steadyRate(record: LoadRecord): number {
  const until = record.faults[0]?.at ?? record.stoppedAt;
  const from = Math.max(record.startedAt, until - 3000);
  return until > from
    ? record.acks.filter((a) => a.ackAt > from && a.ackAt <= until).length / ((until - from) / 1000)
    : 0;
}

/** The acceptance's one line: load held, faults injected, bad inputs tried, lost, duplicates, recovery time. */
export function summaryLine(r: ScenarioResult): string {
  const kinds = new Map<string, number>();
  for (const f of r.faults) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
  const faults = [...kinds].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k)).join(', ') || 'none';
  const bad = r.badInputs.mishandled.length > 0 ? ` (${r.badInputs.mishandled.length} NOT refused with a 4xx)` : '';
  const gaveUp = r.abandoned.deadline ? `; ${r.abandoned.deadline} commands abandoned at their deadline` : '';
  return (
    `chaos ${r.scenario}: load held ${r.steadyCmdPerS} cmd/s before the fault, ${r.loadCmdPerS} cmd/s over the run ` +
    `(${r.inFlight} in flight, ${r.acknowledged} acknowledged in ${r.durationS} s); ` +
    `faults injected: ${r.faults.length} (${faults}); bad inputs tried: ${r.badInputs.tried}${bad}; ` +
    `acknowledged commands lost: ${r.lost}; duplicates: ${r.duplicates}; recovery: ${(r.recoveryMs / 1000).toFixed(1)} s${gaveUp}; ` +
    `invariant checker: ${r.invariants.problems.length === 0 ? `OK (${r.invariants.tenants} tenants)` : `${r.invariants.problems.length} violations`}`
  );
}

/** Writes `results/<scenario>-<time>.json` and `results/<scenario>-latest.json`; returns the first path. */
export function writeResult(r: ScenarioResult): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const body = `${JSON.stringify(r, null, 2)}\n`;
  const path = join(RESULTS_DIR, `${r.scenario}-${r.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, body);
  writeFileSync(join(RESULTS_DIR, `${r.scenario}-latest.json`), body);
  return path;
}
