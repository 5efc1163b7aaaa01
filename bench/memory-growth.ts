/**
 * bench/memory-growth — how much a node's memory grew, from samples taken after
 * a forced GC (bench/memory.ts). The reference is the first sample at or after
 * `from` runtimes; the end is the median of the last `tail` samples after it,
 * so that one late sample does not decide the figure alone.
 */
export interface MemorySample {
  runtimes: number;
  /** After two forced GCs, MiB. */
  heapUsedMiB: number;
  rssMiB: number;
}

export interface Growth {
  /** The reference sample's value and the end's, MiB. */
  fromMiB: number;
  toMiB: number;
  /** toMiB / fromMiB − 1; NaN when there are no samples after the reference. */
  growth: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export function growthOf(
  samples: readonly MemorySample[],
  from: number,
  key: 'heapUsedMiB' | 'rssMiB',
  tail = 3,
): Growth {
  const at = samples.findIndex((s) => s.runtimes >= from);
  const after = at < 0 ? [] : samples.slice(at + 1);
  if (at < 0 || after.length === 0) return { fromMiB: NaN, toMiB: NaN, growth: NaN };
  const fromMiB = samples[at]![key];
  const toMiB = median(after.slice(-tail).map((s) => s[key]));
  return { fromMiB, toMiB, growth: toMiB / fromMiB - 1 };
}
