/**
 * bench/load-process — the plumbing every load generator of the benchmarks
 * shares: it runs as a child process (so its CPU is not the measured system's),
 * prints JSON lines on stdout — {"event":"measuring","at":epochMs} when its
 * warm-up ends, {"event":"result","report":…} at the end — and exits when its
 * parent goes away. `spawnReporting` starts one and reads those lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** What every load process reports about its measured window. */
export interface WindowReport<Mode extends string> {
  mode: Mode;
  concurrency: number;
  /** Length of the measured window, ms. */
  windowMs: number;
  /** Requests answered ok within the window. */
  ok: number;
  /** Requests answered with a problem, or failed, within the window. */
  errors: number;
  /** Durable commands answered ok per second of the window. */
  commandsPerSecond: number;
  latencyMs: LatencySummary;
  byKind: Record<string, LatencySummary>;
  /** Error codes over the whole run, warm-up included. */
  errorCodes: Record<string, number>;
  /** CPU seconds of the load process during the window. */
  loadCpuSeconds: number;
}

export function summarise(latencies: readonly number[]): LatencySummary {
  if (latencies.length === 0) return { count: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN };
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1]! };
}

export interface ReportingChild<R> {
  child: ChildProcess;
  /** Epoch ms at which the measured window began (NaN when the child died first). */
  measuring: Promise<number>;
  result: Promise<R>;
}

/** A JSON line of a load process other than `measuring` and `result` (e.g. `{"event":"progress","done":N}`). */
export type LoadEvent = { event: string } & Record<string, unknown>;

/**
 * Starts `node --import tsx <file> <args>` (stderr passes through); `onEvent` gets its other JSON lines. Kill
 * `child` to stop it early.
 */
export function spawnReporting<R>(
  file: string,
  onEvent: ((event: LoadEvent) => void) | undefined,
  args: readonly string[],
): ReportingChild<R> {
  // stdin stays open: the child exits when it closes, so a parent that dies leaves no load running.
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  let onMeasuring!: (at: number) => void;
  const measuring = new Promise<number>((resolve) => (onMeasuring = resolve));
  const result = new Promise<R>((resolve, reject) => {
    let buffer = '';
    let report: R | undefined;
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        const msg = JSON.parse(line) as { event: string; at?: number; report?: R };
        if (msg.event === 'measuring') onMeasuring(msg.at!);
        else if (msg.event === 'result') report = msg.report;
        else onEvent?.(msg as LoadEvent);
      }
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (report && code === 0) resolve(report);
      else reject(new Error(`load process ${file} exited (code ${code}, signal ${signal}) without a result`));
    });
  });
  // A child that dies before its window starts must not leave `measuring` pending forever.
  void result.catch(() => onMeasuring(NaN));
  return { child, measuring, result };
}

/** Child side: announce the start of the measured window. */
export function announceMeasuring(): void {
  process.stdout.write(`${JSON.stringify({ event: 'measuring', at: performance.timeOrigin + performance.now() })}\n`);
}

/** Child side: print the report and exit 0 once it is written. */
export function reportAndExit(report: unknown): void {
  process.stdout.write(`${JSON.stringify({ event: 'result', report })}\n`, () => process.exit(0));
}

/** Exit when the parent's end of stdin closes (parent gone), when a parent started us with a pipe. */
export function exitWithParent(): void {
  if (process.stdin.isTTY) return;
  process.stdin.on('close', () => process.exit(1));
  process.stdin.resume();
}

/** `--name value` of argv, else the fallback; throws when neither. */
export function argOf(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? process.argv[i + 1] : fallback;
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

/** A non-negative number from argv. */
export function numberArg(name: string, fallback: number): number {
  const value = Number(argOf(name, String(fallback)));
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
  return value;
}

export const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
