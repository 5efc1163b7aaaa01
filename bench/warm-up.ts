/**
 * bench/warm-up — how long a freshly started system takes to reach its steady
 * throughput, from the load generator's timeline (commands answered per
 * TIMELINE_BUCKET_MS since its first request).
 *
 * The warm-up is the start of the first 1 s span, in steps of one bucket, in
 * which commands were answered at ≥ 90% of the steady rate (the measured
 * window's). A system at full speed from its first request has a warm-up of 0;
 * one that never reaches 90% has NaN.
 */
export const TIMELINE_BUCKET_MS = 100;

export interface WarmUpOptions {
  bucketMs?: number;
  /** Length of the span whose rate is compared, ms. @default 1000 */
  spanMs?: number;
  /** Share of the steady rate that counts as reached. @default 0.9 */
  share?: number;
}

/** Seconds from the first request to the start of the first span at ≥ `share` of `steadyPerSecond`. */
export function warmUpSeconds(timeline: readonly number[], steadyPerSecond: number, o: WarmUpOptions = {}): number {
  const bucketMs = o.bucketMs ?? TIMELINE_BUCKET_MS;
  const span = Math.max(1, Math.round((o.spanMs ?? 1000) / bucketMs));
  const needed = (o.share ?? 0.9) * steadyPerSecond * ((span * bucketMs) / 1000);
  if (!(steadyPerSecond > 0)) return NaN;
  let inSpan = 0;
  for (let end = 0; end < timeline.length; end++) {
    inSpan += timeline[end]!;
    if (end >= span) inSpan -= timeline[end - span]!;
    if (end >= span - 1 && inSpan >= needed) return ((end - span + 1) * bucketMs) / 1000;
  }
  return NaN;
}
