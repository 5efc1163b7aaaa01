/**
 * bench/tracing — `npm run bench -- tracing`: what tracing costs the approve path (issue 20: at most 5% of
 * its throughput at 0.1 sampling).
 *
 * Two split stacks (one `bflow gateway` + one `bflow node` each, bench/bflow-stack.ts) run side by side on the
 * bench's private MariaDB and the machine's Redis and NATS: one untraced (no OTEL_* variable: nothing of
 * OpenTelemetry is loaded), one traced, exporting OTLP/HTTP (protobuf, the default protocol) to a receiver in
 * this process with `OTEL_TRACES_SAMPLER_ARG` = `--ratio`. The approve load of bench/approve.ts
 * (bench/http-load.ts: start → submit → approve ×3 per purchase order) drives one stack at a time, in
 * alternating windows (off, on, on, off, off, on, …), so that the drift of a shared machine falls on both
 * alike. For each it prints durable commands/s over its windows, latency, the CPU its processes used per
 * command, and the ratio on/off with PASS when tracing costs at most 5%.
 *
 * Each stack first gets `--prime` seconds of the load, unmeasured, so that neither's first window is cold.
 *
 *   node --import tsx bench/tracing.ts [--rounds 4] [--seconds 8] [--warmup 3] [--prime 10] [--concurrency 64]
 *     [--tenants 200] [--ratio 0.1] [--cpu-prof DIR]   (V8 CPU profiles of each stack's processes, in DIR/off, DIR/on)
 */
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { testServerUrl } from '../test/harness/mysql.ts';
import { OtlpReceiver } from '../test/harness/otlp-receiver.ts';
import { startBenchMariaDb } from './bench-mariadb.ts';
import { type BenchStack, NO_RATE_LIMIT, startBenchStack } from './bflow-stack.ts';
import { type HttpLoadReport, spawnHttpLoad } from './http-load.ts';
import { ms, passFail, rate } from './measure.ts';
import { UsageWindow } from './process-stats.ts';
import { reapAll, reaped } from './reaper.ts';
import { intArg, printTable, secondsArg, stringArg, writeResult } from './report.ts';

/** Issue 20: tracing at 0.1 sampling costs at most this share of the approve path's throughput. */
const MAX_COST = 0.05;
const TENANT_PREFIX = 't-b';

type Mode = 'off' | 'on';

interface Options {
  rounds: number;
  /** Seconds of load each stack gets before the first window, unmeasured (JIT, pools, caches). */
  primeSeconds: number;
  seconds: number;
  warmupSeconds: number;
  concurrency: number;
  tenants: number;
  ratio: number;
  /** --cpu-prof: where each stack's processes write their V8 CPU profiles (a directory per mode). */
  profDir?: string;
}

/** One measured window of one stack. */
interface Window {
  mode: Mode;
  commandsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU seconds of the stack's processes (gateway + node) per durable command, µs. */
  cpuMicrosPerCommand: number;
}

interface Totals {
  mode: Mode;
  windows: number;
  commandsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  cpuMicrosPerCommand: number;
}

function optionsArg(): Options {
  const profDir = stringArg('--cpu-prof');
  const ratio = Number(stringArg('--ratio') ?? '0.1');
  if (!(ratio >= 0 && ratio <= 1)) throw new Error(`--ratio must be within [0, 1], got ${stringArg('--ratio')}`);
  return {
    rounds: intArg('--rounds', 4),
    primeSeconds: intArg('--prime', 10),
    seconds: secondsArg(8),
    warmupSeconds: intArg('--warmup', 3),
    concurrency: intArg('--concurrency', 64),
    tenants: intArg('--tenants', 200),
    ratio,
    ...(profDir !== undefined && { profDir: resolve(profDir) }),
  };
}

/** The node options that profile `mode`'s processes into `profDir`/`mode` (none without --cpu-prof). */
function profiled(o: Options, mode: Mode): { nodeArgs?: string[]; gatewayArgs?: string[] } {
  if (o.profDir === undefined) return {};
  const args = ['--cpu-prof', `--cpu-prof-dir=${join(o.profDir, mode)}`];
  return { nodeArgs: args, gatewayArgs: args };
}

/** off, on | on, off | off, on | …: each mode goes first in half of the rounds. */
function windowOrder(rounds: number): Mode[] {
  return Array.from({ length: rounds }, (_, r): Mode[] => (r % 2 === 0 ? ['off', 'on'] : ['on', 'off'])).flat();
}

/** One window of the approve load on `stack`, with the CPU its processes used. */
async function measureWindow(mode: Mode, stack: BenchStack, o: Options): Promise<Window> {
  const load = spawnHttpLoad({
    url: stack.url,
    mode: 'approve',
    secret: stack.secret,
    tenantPrefix: TENANT_PREFIX,
    tenants: o.tenants,
    concurrency: o.concurrency,
    warmupSeconds: o.warmupSeconds,
    seconds: o.seconds,
  });
  reaped(load.child);
  const usage = new UsageWindow(() => stack.services().map((s) => ({ name: s.name, pid: s.pid })));
  await load.measuring;
  usage.start();
  const report: HttpLoadReport = await load.result;
  const cores = usage.stop().reduce((sum, u) => sum + u.cores, 0);
  return {
    mode,
    commandsPerSecond: report.commandsPerSecond,
    p50: report.latencyMs.p50,
    p99: report.latencyMs.p99,
    errors: report.errors,
    cpuMicrosPerCommand: (cores / report.commandsPerSecond) * 1e6,
  };
}

/** A mode's windows together: rates averaged over equal windows, latencies by their median window. */
function totals(mode: Mode, windows: readonly Window[]): Totals {
  const mine = windows.filter((w) => w.mode === mode);
  const mean = (f: (w: Window) => number) => mine.reduce((s, w) => s + f(w), 0) / mine.length;
  const median = (f: (w: Window) => number) => {
    const sorted = mine.map(f).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  };
  return {
    mode,
    windows: mine.length,
    commandsPerSecond: mean((w) => w.commandsPerSecond),
    p50: median((w) => w.p50),
    p99: median((w) => w.p99),
    errors: mine.reduce((s, w) => s + w.errors, 0),
    cpuMicrosPerCommand: mean((w) => w.cpuMicrosPerCommand),
  };
}

async function main(): Promise<void> {
  let o: Options;
  try {
    o = optionsArg();
  } catch (err) {
    console.error(`bench/tracing: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
  const started = performance.now();
  const load0 = loadavg();
  console.log(
    `bench/tracing (Node ${process.version}): the approve path untraced vs traced at ${o.ratio} sampling; ${o.primeSeconds} s of load to warm each stack, then ${o.rounds} rounds of two ${o.warmupSeconds} s + ${o.seconds} s windows, ${o.concurrency} clients, ${o.tenants} tenants; ${cpus().length} cores, load average ${load0.map((x) => x.toFixed(1)).join(' ')}`,
  );
  const receiver = await OtlpReceiver.start();
  const mariadb = await startBenchMariaDb(await testServerUrl());
  const stacks: Partial<Record<Mode, BenchStack>> = {};
  const windows: Window[] = [];
  try {
    const common = {
      topology: 'split' as const,
      nodes: 1,
      tenants: o.tenants,
      tenantPrefix: TENANT_PREFIX,
      mysqlServer: mariadb.url,
      statementMetrics: false,
    };
    stacks.off = await startBenchStack({ ...common, ...profiled(o, 'off'), name: 'trace_off', env: NO_RATE_LIMIT });
    stacks.on = await startBenchStack({
      ...common,
      ...profiled(o, 'on'),
      name: 'trace_on',
      env: {
        ...NO_RATE_LIMIT,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_TRACES_SAMPLER_ARG: String(o.ratio),
      },
    });
    // Both stacks warm before the first window: a cold process's first seconds would count against whichever
    // went first.
    for (const mode of ['off', 'on'] as const)
      await measureWindow(mode, stacks[mode]!, { ...o, seconds: o.primeSeconds, warmupSeconds: 0 });
    for (const [i, mode] of windowOrder(o.rounds).entries()) {
      const w = await measureWindow(mode, stacks[mode]!, o);
      windows.push(w);
      console.log(
        `  window ${i + 1} (${mode}): ${rate(w.commandsPerSecond)} commands/s, p50 ${ms(w.p50)}, p99 ${ms(w.p99)}, ${w.cpuMicrosPerCommand.toFixed(0)} µs CPU/command, errors ${w.errors}`,
      );
    }
  } finally {
    await Promise.all(
      Object.values(stacks).map((s) => s.stop().catch((err: unknown) => console.error('stopping a stack:', err))),
    );
    await mariadb.destroy();
    await receiver.close();
  }

  const off = totals('off', windows);
  const on = totals('on', windows);
  const ratio = on.commandsPerSecond / off.commandsPerSecond;
  const cost = 1 - ratio;
  const load1 = loadavg();
  printTable(
    `bench/tracing (${o.concurrency} clients, ${o.rounds} × 2 windows of ${o.seconds} s after ${o.warmupSeconds} s, load average ${load0[0]!.toFixed(1)} → ${load1[0]!.toFixed(1)})`,
    [
      ['tracing', 'windows', 'cmd/s', 'p50', 'p99', 'errors', 'CPU/cmd (gateway + node)'],
      ...[off, on].map((t) => [
        t.mode === 'off' ? 'off (no OTEL_* variable)' : `on (${o.ratio} sampling, OTLP/HTTP protobuf)`,
        String(t.windows),
        rate(t.commandsPerSecond),
        ms(t.p50),
        ms(t.p99),
        String(t.errors),
        `${t.cpuMicrosPerCommand.toFixed(0)} µs`,
      ]),
    ],
  );
  console.log(
    `\n  the traced stack exported ${receiver.exports} OTLP requests (${(receiver.bytes / 1024).toFixed(0)} KiB); the receiver refused ${receiver.refused}`,
  );
  const pass = ratio >= 1 - MAX_COST && receiver.exports > 0;
  printTable('target', [
    ['target', 'value', ''],
    [
      `tracing at ${o.ratio} sampling costs ≤ ${MAX_COST * 100}% of the approve path's throughput`,
      `on/off = ${rate(on.commandsPerSecond)} / ${rate(off.commandsPerSecond)} = ${ratio.toFixed(3)} (cost ${(cost * 100).toFixed(1)}%)`,
      passFail(pass),
    ],
  ]);
  console.log(`\n  whole run ${((performance.now() - started) / 1000).toFixed(0)} s`);
  writeResult('tracing', {
    scenario: 'tracing',
    ...o,
    cores: cpus().length,
    node: process.version,
    loadAverage: { before: load0, after: load1 },
    windows,
    off,
    on,
    ratio,
    exports: { requests: receiver.exports, bytes: receiver.bytes, refused: receiver.refused },
    pass,
  });
}

try {
  await main();
} finally {
  reapAll();
}
