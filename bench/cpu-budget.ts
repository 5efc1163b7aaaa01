/**
 * bench/cpu-budget — what bounds a throughput target on this machine: the CPU each process on it spends per
 * command (its cores over the window ÷ the commands acknowledged), their sum, and the rate that sum allows on the
 * machine's cores. A target rate needs the sum at or under cores ÷ rate; the table shows how far each system is.
 */
import type { ProcessUsage } from './process-stats.ts';

/** The columns of the budget, in order: which processes each sums (by the name the bench gave them). */
export const BUDGET_PARTS = [
  { part: 'system', of: (name: string) => !/^(load|mariadbd|redis-server|nats-server)\b/.test(name) },
  { part: 'load', of: (name: string) => name.startsWith('load') },
  { part: 'MariaDB', of: (name: string) => name.startsWith('mariadbd') },
  { part: 'NATS', of: (name: string) => name.startsWith('nats-server') },
  { part: 'Redis', of: (name: string) => name.startsWith('redis-server') },
] as const;

export interface CpuBudget {
  /** µs of CPU per command, per part (in BUDGET_PARTS order). */
  parts: number[];
  /** Their sum: what one command costs the machine, µs. */
  totalMicros: number;
  /** The commands/s that sum allows on `cores` (nothing else running). */
  ceiling: number;
  /** The machine's busy cores over the window (every process, the bench's own and others'). */
  machineBusyCores: number;
}

export function cpuBudget(
  usage: readonly ProcessUsage[],
  commandsPerSecond: number,
  cores: number,
  machineBusyCores: number,
): CpuBudget {
  const parts = BUDGET_PARTS.map(
    ({ of }) =>
      (1e6 * usage.filter((u) => of(u.name) && Number.isFinite(u.cores)).reduce((sum, u) => sum + u.cores, 0)) /
      commandsPerSecond,
  );
  const totalMicros = parts.reduce((a, b) => a + b, 0);
  return { parts, totalMicros, ceiling: (1e6 * cores) / totalMicros, machineBusyCores };
}

/** The CPU per command a rate allows on `cores`, µs. */
export const allowedMicros = (rate: number, cores: number): number => (1e6 * cores) / rate;
