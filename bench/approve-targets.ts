/**
 * bench/approve-targets — issue 15's targets for `npm run bench -- approve`
 * (bench/approve.ts), judged from one run's figures: each bflow system against
 * the CRUD baseline measured in the same run.
 */
import type { DbPerCommand } from './bench-mariadb.ts';
import type { CpuBudget } from './cpu-budget.ts';
import type { HttpLoadReport } from './http-load.ts';
import { ms, rate } from './measure.ts';
import type { ProcessUsage } from './process-stats.ts';

export type SystemName =
  | 'baseline'
  | 'split'
  | 'colocated'
  | 'colocated-plain'
  | 'colocated-plain-after'
  | 'colocated-2';

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
  /** Issue 19: encryption at rest costs at most this share of the co-located throughput. */
  encryptionCost: 0.1,
} as const;

export interface SystemRun {
  system: SystemName;
  label: string;
  load: HttpLoadReport;
  usage: ProcessUsage[];
  db: DbPerCommand;
  /** Seconds from the first request to 90% of the window's rate. */
  warmUpSeconds: number;
  /** CPU of the system's own processes (baseline server; gateway + nodes; bflow all) per command, µs. */
  serverCpuMicros: number;
  /** The nodes' group commits over the window, from their /metrics (bflow only). */
  writer?: WriterWindow;
  /** The CPU every process on the machine spent per command, and the rate that allows (bench/cpu-budget.ts). */
  budget: CpuBudget;
}

/** Group commits over a window: how many, their mean size and duration, and the node's mean command time. */
export interface WriterWindow {
  batchesPerSecond: number;
  meanBatch: number;
  meanCommitMs: number;
  /** bflow_command_duration_seconds: mailbox wait + step + commit, as the node sees a command. */
  meanCommandMs: number;
}

export const micros = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)} µs` : 'n/a');
export const seconds = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} s` : 'never');
export const fixed = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

export interface Target {
  goal: string;
  value: string;
  pass: boolean;
}

type Judged = Omit<Target, 'goal'>;
type BflowSystem = 'split' | 'colocated';
const NAME: Record<BflowSystem, string> = { split: 'split', colocated: 'co-located' };

/** A target that needs the system's run and the baseline's: FAIL with the reason when one is missing. */
function judge(
  goal: string,
  r: SystemRun | undefined,
  base: SystemRun | undefined,
  how: (r: SystemRun, base: SystemRun) => Judged,
): Target {
  if (!r) return { goal, value: 'not measured', pass: false };
  if (!base) return { goal, value: 'no baseline', pass: false };
  return { goal, ...how(r, base) };
}

const factorOf = (r: SystemRun, base: SystemRun) => r.load.commandsPerSecond / base.load.commandsPerSecond;

function mariaDbCpu(system: BflowSystem, r?: SystemRun, base?: SystemRun): Target {
  return judge(`${NAME[system]}: MariaDB CPU per command ≤ 1/3 of the baseline's`, r, base, (r, base) => {
    const share = r.db.cpuMicros / base.db.cpuMicros;
    return {
      value: `${micros(r.db.cpuMicros)} vs ${micros(base.db.cpuMicros)}: ${fixed(share)}×`,
      pass: share <= TARGETS.mariaDbCpuShare,
    };
  });
}

function throughput(system: BflowSystem, r?: SystemRun, base?: SystemRun): Target {
  const factor = system === 'split' ? TARGETS.splitFactor : TARGETS.colocatedFactor;
  const goal =
    system === 'split'
      ? `split: ≥ ${factor}× the baseline's commands/s`
      : `co-located: ≥ ${factor}× the baseline's commands/s, p99 ≤ the baseline's`;
  return judge(goal, r, base, (r, base) => {
    const f = factorOf(r, base);
    const p99ok = system === 'split' || r.load.latencyMs.p99 <= base.load.latencyMs.p99;
    return {
      value: `${fixed(f)}× (${rate(r.load.commandsPerSecond)} vs ${rate(base.load.commandsPerSecond)}; p99 ${ms(r.load.latencyMs.p99)} vs ${ms(base.load.latencyMs.p99)})`,
      pass: f >= factor && p99ok,
    };
  });
}

function inboxLag(system: BflowSystem, r?: SystemRun): Target {
  const goal = `${NAME[system]}: inbox lag p99 ≤ ${TARGETS.inboxLagP99Ms} ms`;
  const lag = r?.load.inboxLag;
  if (!lag || lag.lagMs.count === 0) return { goal, value: 'not measured', pass: false };
  return {
    goal,
    value: `${ms(lag.lagMs.p99)} (${lag.lagMs.count} samples, ${lag.timeouts} not shown within 10 s)`,
    pass: lag.lagMs.p99 <= TARGETS.inboxLagP99Ms && lag.timeouts === 0,
  };
}

function warmUp(system: BflowSystem, r?: SystemRun): Target {
  const goal = `${NAME[system]}: warm-up (to 90% of the steady rate) ≤ ${TARGETS.warmUpSeconds} s`;
  if (!r) return { goal, value: 'not measured', pass: false };
  return { goal, value: seconds(r.warmUpSeconds), pass: r.warmUpSeconds <= TARGETS.warmUpSeconds };
}

function longerTerm(co?: SystemRun, base?: SystemRun): Target {
  const goal = `longer-term, co-located: ≥ ${TARGETS.goalFactor}× the baseline and ≥ ${rate(TARGETS.goalRate)} commands/s at p99 ≤ ${TARGETS.goalP99Ms} ms`;
  return judge(goal, co, base, (co, base) => ({
    value: `${fixed(factorOf(co, base))}×, ${rate(co.load.commandsPerSecond)}/s, p99 ${ms(co.load.latencyMs.p99)}`,
    pass:
      factorOf(co, base) >= TARGETS.goalFactor &&
      co.load.commandsPerSecond >= TARGETS.goalRate &&
      co.load.latencyMs.p99 <= TARGETS.goalP99Ms,
  }));
}

/**
 * Issue 19: co-located with encryption at rest against the same with BFLOW_ENCRYPTION=off, in the same run: the
 * mean of an off run before it and one after when both ran (a system run later on the same private MariaDB
 * meets a fuller buffer pool and more flushing; the machine's load drifts too).
 */
function encryptionCost(on: SystemRun | undefined, offs: readonly SystemRun[]): Target {
  const goal = `encryption at rest: co-located commands/s ≥ ${fixed(1 - TARGETS.encryptionCost)}× the same with encryption off`;
  if (!on || offs.length === 0)
    return { goal, value: 'not measured (systems colocated and colocated-plain)', pass: false };
  const mean = (f: (r: SystemRun) => number) => offs.reduce((sum, r) => sum + f(r), 0) / offs.length;
  // CPU per command of the bflow process: less at the mercy of a loaded machine than the rate.
  const cpuOf = (r: SystemRun) => r.serverCpuMicros;
  const offRate = mean((r) => r.load.commandsPerSecond);
  const f = on.load.commandsPerSecond / offRate;
  const off = offs.length === 1 ? 'off' : `off (mean of ${offs.length} runs)`;
  return {
    goal,
    value: `${fixed(f)}× (on ${rate(on.load.commandsPerSecond)}/s p99 ${ms(on.load.latencyMs.p99)} ${micros(cpuOf(on))} bflow CPU/cmd; ${off} ${rate(offRate)}/s p99 ${ms(mean((r) => r.load.latencyMs.p99))} ${micros(mean(cpuOf))})`,
    pass: f >= 1 - TARGETS.encryptionCost,
  };
}

/** The PASS/FAIL lines: each bflow system against the baseline of the same run. */
export function approveTargets(runs: Partial<Record<SystemName, SystemRun>>): Target[] {
  const base = runs.baseline;
  return [
    ...(['split', 'colocated'] as const).flatMap((system) => {
      const r = runs[system];
      return [mariaDbCpu(system, r, base), throughput(system, r, base), inboxLag(system, r), warmUp(system, r)];
    }),
    longerTerm(runs.colocated, base),
    ...(runs['colocated-plain'] || runs.colocated
      ? [
          encryptionCost(
            runs.colocated,
            [runs['colocated-plain'], runs['colocated-plain-after']].filter((r) => r !== undefined),
          ),
        ]
      : []),
  ];
}
