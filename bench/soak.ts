/**
 * bench/soak — issue 7's soak: `--minutes` (default 10) of the `mixed` load
 * (3 inbox reads : 2 runtime views : 1 command, bench/http-load.ts) against a
 * gateway + `--nodes` nodes, sampling every bflow process's RSS
 * (process_resident_memory_bytes) and event-loop lag
 * (nodejs_eventloop_lag_p99_seconds: prom-client's p99 since the previous
 * scrape) from its metrics endpoint every `--sample-seconds`.
 *
 * After the warm-up (the first 20% of the run, at least 30 s) a least-squares
 * line is fitted to each process's RSS: to the highest sample of each eighth of
 * the steady part (the GC makes RSS a sawtooth; a leak raises its peaks). Bounds (PASS/FAIL):
 * - RSS growth ≤ 10% per 10 minutes (slope × 600 s over the fitted value at the
 *   start of the steady part), for every process;
 * - event-loop lag does not grow: the median interval p99 of the steady part's last quarter is at most
 *   the first quarter's + max(25 ms, 50%), for every process (the highest interval p99 is printed too:
 *   on a shared machine it measures the neighbours as much as bflow);
 * - the load ran: errors ≤ 1% of requests.
 * Prints a one-line summary and writes bench/results/soak.json.
 *
 *   node --import tsx bench/soak.ts [--minutes 10] [--nodes 2] [--concurrency 32] [--sample-seconds 5]
 *
 * `runSoak(options)` is the same for other runners (the chaos suite).
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startBenchStack, type BenchStack } from './bflow-stack.ts';
import { spawnHttpLoad, type HttpLoadReport } from './http-load.ts';
import { scrape, sumOf } from './metrics-scrape.ts';
import { rate, sleep } from './measure.ts';
import { reapAll, reaped } from './reaper.ts';
import { writeResult } from './report.ts';

export const SOAK_BOUNDS = {
  /** RSS growth per 10 minutes of the fitted line, as a share of its start. */
  rssGrowthPer10Min: 0.1,
  /** Lag growth allowed from the steady part's first quarter to its last (medians of interval p99s). */
  lagGrowthMs: 25,
  lagGrowthShare: 0.5,
  /** Errors as a share of requests. */
  errorShare: 0.01,
} as const;

export interface SoakOptions {
  minutes: number;
  nodes?: number;
  concurrency?: number;
  sampleSeconds?: number;
  tenants?: number;
  log?: (line: string) => void;
}

export interface ProcessTrend {
  name: string;
  samples: number;
  rssStartMiB: number;
  rssEndMiB: number;
  rssMaxMiB: number;
  /** Least-squares slope of the steady part's windowed peaks, MiB per minute. */
  rssSlopeMiBPerMin: number;
  /** Slope × 10 min / fitted RSS at the start of the steady part. */
  rssGrowthPer10Min: number;
  lagP99MaxMs: number;
  lagP99MedianMs: number;
  /** Median interval p99 of the steady part's first and last quarters, ms. */
  lagFirstQuarterMs: number;
  lagLastQuarterMs: number;
  pass: { rss: boolean; lag: boolean };
}

export interface SoakReport {
  minutes: number;
  warmupSeconds: number;
  load: HttpLoadReport;
  processes: ProcessTrend[];
  /** [seconds since start, process name, RSS MiB, lag p99 ms] */
  samples: [number, string, number, number][];
  bounds: typeof SOAK_BOUNDS;
  pass: boolean;
  summary: string;
}

/** Least-squares line through (x, y): slope and intercept. */
export function leastSquares(points: readonly (readonly [number, number])[]): { slope: number; intercept: number } {
  const n = points.length;
  if (n < 2) return { slope: NaN, intercept: NaN };
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/** Windows of the steady part whose highest RSS samples the trend line is fitted to. */
const PEAK_WINDOWS = 8;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
};

export function trendOf(name: string, samples: SoakReport['samples'], warmupSeconds: number): ProcessTrend {
  const mine = samples.filter((s) => s[1] === name);
  const steady = mine.filter((s) => s[0] >= warmupSeconds && Number.isFinite(s[2]));
  // The GC makes RSS a sawtooth: the line is fitted to each of 8 windows' highest sample (its mid-time).
  const from = steady[0]?.[0] ?? 0;
  const width = Math.max(1e-9, ((steady.at(-1)?.[0] ?? 0) - from) / PEAK_WINDOWS);
  const peaks = new Map<number, number>();
  for (const s of steady) {
    const w = Math.min(PEAK_WINDOWS - 1, Math.floor((s[0] - from) / width));
    peaks.set(w, Math.max(peaks.get(w) ?? 0, s[2]));
  }
  const { slope, intercept } = leastSquares([...peaks].map(([w, rss]) => [from + (w + 0.5) * width, rss] as const));
  const start = intercept + slope * from;
  const growth = (slope * 600) / start;
  const lags = steady.map((s) => s[3]).filter(Number.isFinite);
  const lagMax = Math.max(...lags);
  const quarter = Math.max(1, Math.floor(lags.length / 4));
  const [lagFirst, lagLast] = [median(lags.slice(0, quarter)), median(lags.slice(-quarter))];
  const lagOk =
    lags.length >= 4 && lagLast <= lagFirst + Math.max(SOAK_BOUNDS.lagGrowthMs, lagFirst * SOAK_BOUNDS.lagGrowthShare);
  return {
    name,
    samples: steady.length,
    rssStartMiB: steady[0]?.[2] ?? NaN,
    rssEndMiB: steady.at(-1)?.[2] ?? NaN,
    rssMaxMiB: Math.max(...steady.map((s) => s[2])),
    rssSlopeMiBPerMin: slope * 60,
    rssGrowthPer10Min: growth,
    lagP99MaxMs: lagMax,
    lagP99MedianMs: median(lags),
    lagFirstQuarterMs: lagFirst,
    lagLastQuarterMs: lagLast,
    pass: { rss: peaks.size >= 3 && growth <= SOAK_BOUNDS.rssGrowthPer10Min, lag: lagOk },
  };
}

/** Runs the soak on a stack of its own (started and stopped here). */
export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const log = o.log ?? ((line: string) => console.log(line));
  const seconds = Math.round(o.minutes * 60);
  const warmupSeconds = Math.max(30, Math.round(seconds * 0.2));
  const sampleMs = (o.sampleSeconds ?? 5) * 1000;
  const nodes = o.nodes ?? 2;
  // Enough tenants that no caller meets its rate limit (600/min, burst 100) over the whole run: with 100,
  // each tenant's viewer made ~8 requests/s at 2,000 req/s and 6% of requests were 429s after the burst.
  const tenants = o.tenants ?? 400;
  log(
    `soak: ${o.minutes} min of mixed load (${warmupSeconds} s warm-up excluded from the trends), gateway + ${nodes} nodes, samples every ${sampleMs / 1000} s`,
  );
  const stack: BenchStack = await startBenchStack({ name: 'soak', nodes, tenants });
  try {
    const services = stack.services();
    // The load's own warm-up is 0: the soak's warm-up is only excluded from the trends, its load is counted.
    const p = spawnHttpLoad({
      url: stack.url,
      secret: stack.secret,
      tenantPrefix: stack.tenantPrefix,
      tenants,
      mode: 'mixed',
      concurrency: o.concurrency ?? 32,
      warmupSeconds: 0,
      seconds,
    });
    reaped(p.child);
    const t0 = performance.now();
    const samples: SoakReport['samples'] = [];
    let done = false;
    void p.result.finally(() => (done = true)).catch(() => undefined);
    let lastLog = 0;
    while (!done) {
      const at = (performance.now() - t0) / 1000;
      await Promise.all(
        services.map(async (s) => {
          const m = await scrape(s.metricsUrl).catch(() => undefined);
          const rss = m ? sumOf(m, 'process_resident_memory_bytes') / 1024 / 1024 : NaN;
          const lag = m ? sumOf(m, 'nodejs_eventloop_lag_p99_seconds') * 1000 : NaN;
          samples.push([Math.round(at * 10) / 10, s.name, Math.round(rss * 10) / 10, Math.round(lag * 10) / 10]);
        }),
      );
      if (at - lastLog >= 60) {
        lastLog = at;
        log(
          `  ${Math.round(at)} s: ${samples
            .filter((s) => s[0] === samples.at(-1)![0])
            .map((s) => `${s[1]} ${s[2].toFixed(0)} MiB lag p99 ${s[3].toFixed(0)} ms`)
            .join('; ')}`,
        );
      }
      await Promise.race([sleep(sampleMs), p.result.catch(() => undefined)]);
    }
    const load = await p.result;
    const processes = services.map((s) => trendOf(s.name, samples, warmupSeconds));
    const requests = load.ok + load.errors;
    const loadOk = requests > 0 && load.errors / requests <= SOAK_BOUNDS.errorShare;
    const pass = loadOk && processes.every((t) => t.pass.rss && t.pass.lag);
    const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
    const summary =
      `soak ${pass ? 'PASS' : 'FAIL'}: ${o.minutes} min mixed, ${rate(load.requestsPerSecond)} req/s (${rate(load.commandsPerSecond)} cmd/s), errors ${load.errors}/${requests}; ` +
      `RSS growth per 10 min ${processes.map((t) => `${t.name} ${pct(t.rssGrowthPer10Min)} (${t.rssStartMiB.toFixed(0)}→${t.rssEndMiB.toFixed(0)} MiB)`).join(', ')} (bound ${pct(SOAK_BOUNDS.rssGrowthPer10Min)}); ` +
      `event-loop lag p99 first→last quarter ${processes.map((t) => `${t.name} ${t.lagFirstQuarterMs.toFixed(0)}→${t.lagLastQuarterMs.toFixed(0)} ms (max ${t.lagP99MaxMs.toFixed(0)})`).join(', ')} ` +
      `(bound +max(${SOAK_BOUNDS.lagGrowthMs} ms, ${pct(SOAK_BOUNDS.lagGrowthShare)})); load average ${loadavg()[0]!.toFixed(1)}`;
    return { minutes: o.minutes, warmupSeconds, load, processes, samples, bounds: SOAK_BOUNDS, pass, summary };
  } finally {
    await stack.stop().catch((err: unknown) => log(`stopping the soak stack failed: ${String(err)}`));
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const num = (name: string, fallback: number) => {
    const i = process.argv.indexOf(name);
    const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
    return v;
  };
  try {
    const report = await runSoak({
      minutes: num('--minutes', 10),
      nodes: num('--nodes', 2),
      concurrency: num('--concurrency', 32),
      sampleSeconds: num('--sample-seconds', 5),
    });
    console.log(report.summary);
    writeResult('soak', { ...report });
    process.exitCode = report.pass ? 0 : 1;
  } finally {
    reapAll();
  }
}
