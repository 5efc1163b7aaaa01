/**
 * bench/approve-targets — issue 15's targets for `npm run bench -- approve`
 * (bench/approve.ts), judged from one run's figures: each bflow system against
 * the CRUD baseline measured in the same run.
 */
import type { DbPerCommand } from './bench-mariadb.ts';
import type { HttpLoadReport } from './http-load.ts';
import { ms, rate } from './measure.ts';
import type { ProcessUsage } from './process-stats.ts';

export type SystemName = 'baseline' | 'split' | 'colocated';

/** Issue 15's targets. */
export const TARGETS = {
  mariaDbCpuShare: 1 / 3,
  colocatedFactor: 2,
  splitFactor: 1.2,
  inboxLagP99Ms: 500,
  warmUpSeconds: 3,
  /** The longer-term goal. */
  goalFactor: 3,
  goalRate: 5000,
  goalP99Ms: 50,
} as const;

export interface SystemRun {
  system: SystemName;
  label: string;
  load: HttpLoadReport;
  usage: ProcessUsage[];
  db: DbPerCommand;
  /** Seconds from the first request to 90% of the window's rate. */
  warmUpSeconds: number;
}

export const micros = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)} µs` : 'n/a');
export const seconds = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} s` : 'never');
export const fixed = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

export interface Target {
  goal: string;
  value: string;
  pass: boolean;
}

/** The PASS/FAIL lines: each bflow system against the baseline of the same run. */
export function approveTargets(runs: Partial<Record<SystemName, SystemRun>>): Target[] {
  const base = runs.baseline;
  const out: Target[] = [];
  const missing = (goal: string, why: string) => out.push({ goal, value: why, pass: false });
  const factorOf = (r: SystemRun) => (base ? r.load.commandsPerSecond / base.load.commandsPerSecond : NaN);
  for (const system of ['split', 'colocated'] as const) {
    const r = runs[system];
    const name = system === 'split' ? 'split' : 'co-located';
    const cpuGoal = `${name}: MariaDB CPU per command ≤ 1/3 of the baseline's`;
    if (!r) missing(cpuGoal, 'not measured');
    else if (!base) missing(cpuGoal, 'no baseline');
    else {
      const share = r.db.cpuMicros / base.db.cpuMicros;
      out.push({
        goal: cpuGoal,
        value: `${micros(r.db.cpuMicros)} vs ${micros(base.db.cpuMicros)}: ${fixed(share)}×`,
        pass: share <= TARGETS.mariaDbCpuShare,
      });
    }
    const factor = system === 'split' ? TARGETS.splitFactor : TARGETS.colocatedFactor;
    const rateGoal =
      system === 'split'
        ? `split: ≥ ${factor}× the baseline's commands/s`
        : `co-located: ≥ ${factor}× the baseline's commands/s, p99 ≤ the baseline's`;
    if (!r) missing(rateGoal, 'not measured');
    else if (!base) missing(rateGoal, 'no baseline');
    else {
      const f = factorOf(r);
      const p99ok = system === 'split' || r.load.latencyMs.p99 <= base.load.latencyMs.p99;
      out.push({
        goal: rateGoal,
        value: `${fixed(f)}× (${rate(r.load.commandsPerSecond)} vs ${rate(base.load.commandsPerSecond)}; p99 ${ms(r.load.latencyMs.p99)} vs ${ms(base.load.latencyMs.p99)})`,
        pass: f >= factor && p99ok,
      });
    }
    const lagGoal = `${name}: inbox lag p99 ≤ ${TARGETS.inboxLagP99Ms} ms`;
    const lag = r?.load.inboxLag;
    if (!r || !lag || lag.lagMs.count === 0) missing(lagGoal, 'not measured');
    else
      out.push({
        goal: lagGoal,
        value: `${ms(lag.lagMs.p99)} (${lag.lagMs.count} samples, ${lag.timeouts} not shown within 10 s)`,
        pass: lag.lagMs.p99 <= TARGETS.inboxLagP99Ms && lag.timeouts === 0,
      });
    const warmGoal = `${name}: warm-up (to 90% of the steady rate) ≤ ${TARGETS.warmUpSeconds} s`;
    if (!r) missing(warmGoal, 'not measured');
    else out.push({ goal: warmGoal, value: seconds(r.warmUpSeconds), pass: r.warmUpSeconds <= TARGETS.warmUpSeconds });
  }
  const co = runs.colocated;
  const longGoal = `longer-term, co-located: ≥ ${TARGETS.goalFactor}× the baseline and ≥ ${rate(TARGETS.goalRate)} commands/s at p99 ≤ ${TARGETS.goalP99Ms} ms`;
  if (!co) missing(longGoal, 'not measured');
  else if (!base) missing(longGoal, 'no baseline');
  else
    out.push({
      goal: longGoal,
      value: `${fixed(factorOf(co))}×, ${rate(co.load.commandsPerSecond)}/s, p99 ${ms(co.load.latencyMs.p99)}`,
      pass:
        factorOf(co) >= TARGETS.goalFactor &&
        co.load.commandsPerSecond >= TARGETS.goalRate &&
        co.load.latencyMs.p99 <= TARGETS.goalP99Ms,
    });
  return out;
}
