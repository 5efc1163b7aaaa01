import type { Ack, LoadRecord } from '../chaos/load-record.ts';

/** A stretch of a load run: [from, to) in epoch ms. */
export interface Window {
  from: number;
  to: number;
}

/** What clients saw during one window of a run. */
export interface WindowStats {
  seconds: number;
  acknowledged: number;
  /** Acknowledged commands per whole second of the window (the last, partial second left out). */
  perSecond: number[];
  /** The quietest whole second. */
  minPerSecond: number;
  /** Command latency as the client saw it (first try → acknowledgement, retries included), ms. */
  p50: number;
  p99: number;
  max: number;
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

/** The acknowledged commands first sent within `w`, and the throughput of each second of `w`. */
export function windowStats(record: LoadRecord, w: Window): WindowStats {
  const inWindow = (a: Ack) => a.firstAt >= w.from && a.firstAt < w.to;
  const latencies = record.acks
    .filter(inWindow)
    .map((a) => a.ackAt - a.firstAt)
    .sort((a, b) => a - b);
  const whole = Math.max(1, Math.floor((w.to - w.from) / 1000));
  const perSecond = Array.from({ length: whole }, () => 0);
  for (const a of record.acks) {
    const i = Math.floor((a.ackAt - w.from) / 1000);
    if (i >= 0 && i < whole) perSecond[i]!++;
  }
  return {
    seconds: (w.to - w.from) / 1000,
    acknowledged: latencies.length,
    perSecond,
    minPerSecond: Math.min(...perSecond),
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: latencies.at(-1) ?? Number.NaN,
  };
}

/** One line for the test log: throughput and latency of a window. */
export function describeWindow(name: string, s: WindowStats): string {
  return (
    `${name}: ${s.acknowledged} acknowledged in ${s.seconds.toFixed(1)} s, ` +
    `per second min ${s.minPerSecond} [${s.perSecond.join(' ')}], p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms`
  );
}
