const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;
const UNIT_MS = [365 * 86_400_000, 30 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000] as const;

/**
 * Milliseconds in an ISO-8601 duration such as `PT24H` or `P2DT4H`. Years and
 * months are fixed (365 and 30 days): SLAs are measured in elapsed time, not
 * calendar dates.
 */
export function durationMs(iso: string): number {
  const match = DURATION.exec(iso);
  if (!match) throw new RangeError(`not an ISO-8601 duration: ${iso}`);
  let total = 0;
  for (let i = 0; i < UNIT_MS.length; i++) {
    const part = match[i + 1];
    if (part !== undefined) total += Number(part) * UNIT_MS[i]!;
  }
  return total;
}
