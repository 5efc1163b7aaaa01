import type { Stage } from './runtime-state.ts';

/** The fields of a stage the statistics read. */
export type StageFacts = Pick<Stage, 'node' | 'status' | 'enteredAt' | 'exitedAt' | 'exitAction' | 'breached'>;

/** Statistics of one node over the stages (visits) of many runtimes. */
export interface NodeStatistics {
  node: string;
  /** Visits of the node (a node entered twice by one runtime counts twice). */
  entered: number;
  /** Visits still open. */
  open: number;
  /** Closed visits by the action that closed them (`approve`, `reject`, `return`, `withdraw`, …). */
  exited: Record<string, number>;
  /** Time from entering to leaving, over the closed visits (nearest-rank percentiles; null without any). */
  timeInStage: { samples: number; p50Ms: number | null; p90Ms: number | null };
  /** Visits whose SLA was breached (escalated). */
  slaBreaches: number;
}

/** Action recorded for a closed stage that carries none (never produced by the engine; kept so counts add up). */
export const UNKNOWN_EXIT = 'unknown';

/**
 * Per-node statistics over the stages of many runtimes: visits, exits by
 * action, time in stage p50/p90 (closed visits only) and SLA breaches. Nodes
 * come in `nodeOrder` (e.g. the definition's order, listed even when never
 * visited), then any other visited node in order of first appearance.
 * @example stageStatistics([runtime.stages], ['start', 'manager', 'end'])
 */
export function stageStatistics(
  runtimes: Iterable<readonly StageFacts[]>,
  nodeOrder: readonly string[] = [],
): NodeStatistics[] {
  const acc = new Map<string, { stats: NodeStatistics; durations: number[] }>();
  const entry = (node: string) => {
    let e = acc.get(node);
    if (!e) {
      e = {
        stats: {
          node,
          entered: 0,
          open: 0,
          exited: {},
          timeInStage: { samples: 0, p50Ms: null, p90Ms: null },
          slaBreaches: 0,
        },
        durations: [],
      };
      acc.set(node, e);
    }
    return e;
  };
  for (const node of nodeOrder) entry(node);
  for (const stages of runtimes) for (const stage of stages) count(entry(stage.node), stage);
  return [...acc.values()].map(({ stats, durations }) => ({ ...stats, timeInStage: summary(durations) }));
}

function count(e: { stats: NodeStatistics; durations: number[] }, stage: StageFacts): void {
  e.stats.entered++;
  if (stage.breached) e.stats.slaBreaches++;
  if (stage.status === 'open') {
    e.stats.open++;
    return;
  }
  const action = stage.exitAction ?? UNKNOWN_EXIT;
  e.stats.exited[action] = (e.stats.exited[action] ?? 0) + 1;
  if (stage.exitedAt !== undefined && stage.exitedAt >= stage.enteredAt)
    e.durations.push(stage.exitedAt - stage.enteredAt);
}

function summary(durations: number[]): NodeStatistics['timeInStage'] {
  const sorted = [...durations].sort((a, b) => a - b);
  return { samples: sorted.length, p50Ms: percentile(sorted, 50), p90Ms: percentile(sorted, 90) };
}

/**
 * Nearest-rank percentile of an ascending array: the smallest value with at
 * least p% of the values at or below it; null for an empty array.
 * @example percentile([1, 2, 3, 4], 50) // 2
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? null;
}
