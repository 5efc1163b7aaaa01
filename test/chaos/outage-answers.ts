import type { FaultMark, LoadRecord } from './load-record.ts';

/** How failed tries were answered while a service was down. */
export interface OutageAnswers {
  /** Failed tries sent during the outage. */
  failed: number;
  /** ... answered 503 with the expected code (`store_unavailable` for MySQL). */
  expected: number;
  /** ... answered with anything else (outcome and count), e.g. `503 shard_unavailable ×3`, `500 internal ×1`. */
  other: string[];
  /** ... that got no answer within the client's timeout. */
  hung: number;
  /** Time to the failure answer: median and longest, ms. */
  p50Ms: number;
  maxMs: number;
}

/** Classifies the failed tries first sent between the fault and its end, against the 503 `code` expected meanwhile. */
export function outageAnswers(record: LoadRecord, fault: FaultMark, code: string): OutageAnswers {
  const during = record.failedAttempts.filter((a) => a.at >= fault.at && a.at < fault.healedAt);
  const other = new Map<string, number>();
  let expected = 0;
  let hung = 0;
  for (const a of during) {
    if (a.status === 503 && a.code === code) expected++;
    else {
      if (a.status === undefined && a.code === 'timeout') hung++;
      const key = a.status === undefined ? `no answer ${a.code}` : `${a.status} ${a.code ?? ''}`.trim();
      other.set(key, (other.get(key) ?? 0) + 1);
    }
  }
  const ms = during.map((a) => a.ms).sort((x, y) => x - y);
  return {
    failed: during.length,
    expected,
    other: [...other].map(([k, n]) => `${k} ×${n}`),
    hung,
    p50Ms: ms[Math.floor(ms.length / 2)] ?? 0,
    maxMs: ms.at(-1) ?? 0,
  };
}
