/**
 * bench/memory — the memory of one `bflow node` hosting many runtimes, measured
 * after a forced GC.
 *
 * A `bflow gateway` and one `bflow node` run on a fresh database of the bench's
 * private MariaDB (bench/bench-mariadb.ts) and the machine's NATS, without Redis
 * (snapshots in the node's own cache, bounded like its live actors by
 * BFLOW_MAX_LIVE_ACTORS, 50,000). A load process starts `--runtimes N` purchase
 * orders over HTTP, `--concurrency` in flight. Every `--sample-every` starts the
 * node is sampled: bench/gc-probe.mjs, preloaded into it with --expose-gc, runs
 * two full GCs on SIGUSR2 and reports heapUsed and RSS; the live actors come
 * from its /metrics. Between samples its RSS is polled for the peak.
 *
 * Goals: heapUsed and RSS after GC at the end (the median of the last 3 samples)
 * at most 15% above the sample at `--growth-from` runtimes (200,000); peak RSS
 * ≤ 1 GiB; live actors never above the bound; no failed start. A node's memory
 * must be bounded by its live actors and caches, not by the runtimes it has ever
 * hosted.
 *
 *   node --import tsx bench/memory.ts [--runtimes 1000000] [--growth-from 200000] [--sample-every 50000]
 *     [--concurrency 64]
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { testServerUrl } from '../test/harness/mysql.ts';
import { startBenchMariaDb } from './bench-mariadb.ts';
import { type BenchStack, NO_RATE_LIMIT, startBenchStack } from './bflow-stack.ts';
import { type HttpLoadReport, spawnHttpLoad } from './http-load.ts';
import { codes } from './measure.ts';
import { growthOf, type MemorySample } from './memory-growth.ts';
import { scrape, sumOf } from './metrics-scrape.ts';
import { rssOf } from './process-stats.ts';
import { reapAll, reaped } from './reaper.ts';
import { intArg, printTable, writeResult } from './report.ts';

const runtimes = intArg('--runtimes', 1_000_000);
const growthFrom = intArg('--growth-from', 200_000);
const sampleEvery = intArg('--sample-every', 50_000);
const concurrency = intArg('--concurrency', 64);
const MAX_LIVE_ACTORS = 50_000;
const TENANTS = 8;
const GiB = 1024 ** 3;
const PEAK_RSS_GOAL = 1 * GiB;
const GROWTH_GOAL = 0.15;
const PROBE = fileURLToPath(new URL('./gc-probe.mjs', import.meta.url));

interface Sample extends MemorySample {
  seconds: number;
  heapTotalMiB: number;
  liveActors: number;
  gcMs: number;
  startsPerSecond: number;
}

interface ProbeLine {
  event: 'memory';
  rss: number;
  heapUsed: number;
  heapTotal: number;
  gcMs: number;
  error?: string;
}

const mib = (bytes: number) => bytes / 1024 / 1024;

/** SIGUSR2 to the node, then its gc-probe line (two full GCs, then memoryUsage). */
function probeOf(stack: BenchStack): () => Promise<ProbeLine> {
  const child = stack.nodes[0]!.child;
  let buffer = '';
  const waiting: ((line: ProbeLine) => void)[] = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const l of lines) if (l.startsWith('{"event":"memory"')) waiting.shift()?.(JSON.parse(l) as ProbeLine);
  });
  return () =>
    new Promise<ProbeLine>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the node did not answer its GC probe within 60 s')), 60_000);
      waiting.push((line) => {
        clearTimeout(timer);
        if (line.error) reject(new Error(`GC probe: ${line.error}`));
        else resolve(line);
      });
      child.kill('SIGUSR2');
    });
}

/** One bflow node (and a gateway) on the private server, with the GC probe preloaded into the node. */
function startNodeUnderTest(mysqlServer: string): Promise<BenchStack> {
  return startBenchStack({
    name: 'mem',
    nodes: 1,
    tenants: TENANTS,
    tenantPrefix: 't-mem',
    mysqlServer,
    statementMetrics: false,
    redis: false,
    env: { ...NO_RATE_LIMIT, BFLOW_MAX_LIVE_ACTORS: String(MAX_LIVE_ACTORS) },
    nodeArgs: ['--expose-gc', '--import', PROBE],
    nodeLogLevel: 'info',
  });
}

interface MemoryRun {
  baseline: ProbeLine;
  samples: Sample[];
  load: HttpLoadReport;
  peakRss: number;
  maxLive: number;
  seconds: number;
}

/** Starts `runtimes` purchase orders through `stack` and samples its node after a forced GC every `sampleEvery`. */
async function loadAndSample(stack: BenchStack): Promise<MemoryRun> {
  const node = stack.services().find((x) => x.name.startsWith('node'))!;
  const probe = probeOf(stack);
  const baseline = await probe();
  console.log(
    `node after start, shards open, forced GC: RSS ${mib(baseline.rss).toFixed(0)} MiB, heap ${mib(baseline.heapUsed).toFixed(0)} MiB`,
  );
  const samples: Sample[] = [];
  let peakRss = baseline.rss;
  let maxLive = 0;
  const started = performance.now();
  let last = { at: started, runtimes: 0 };

  const sample = async (done: number): Promise<void> => {
    const m = await probe();
    const live = sumOf(await scrape(node.metricsUrl), 'bflow_actors_live');
    maxLive = Math.max(maxLive, live);
    const now = performance.now();
    const x: Sample = {
      runtimes: done,
      seconds: (now - started) / 1000,
      rssMiB: mib(m.rss),
      heapUsedMiB: mib(m.heapUsed),
      heapTotalMiB: mib(m.heapTotal),
      liveActors: live,
      gcMs: m.gcMs,
      startsPerSecond: (done - last.runtimes) / ((now - last.at) / 1000),
    };
    last = { at: now, runtimes: done };
    samples.push(x);
    console.log(
      `  ${x.runtimes.toLocaleString().padStart(9)} runtimes  ${x.seconds.toFixed(0).padStart(4)} s  after GC: RSS ${x.rssMiB.toFixed(0).padStart(5)} MiB  heap ${x.heapUsedMiB.toFixed(0).padStart(4)} MiB  (GC ${x.gcMs.toFixed(0)} ms)  live actors ${x.liveActors.toLocaleString().padStart(6)}  ${Math.round(x.startsPerSecond).toLocaleString()} starts/s`,
    );
  };

  // Samples run one at a time, in the order the load reports its progress.
  let sampling = Promise.resolve();
  const poll = setInterval(() => {
    const rss = rssOf(node.pid);
    if (Number.isFinite(rss)) peakRss = Math.max(peakRss, rss);
  }, 200);
  try {
    const p = spawnHttpLoad(
      {
        url: stack.url,
        mode: 'start',
        secret: stack.secret,
        tenantPrefix: stack.tenantPrefix,
        tenants: TENANTS,
        concurrency,
        warmupSeconds: 0,
        // The load ends when `total` starts are answered, not with its window.
        seconds: 1_000_000,
        total: runtimes,
        progressEvery: sampleEvery,
      },
      (event) => {
        if (event.event !== 'progress') return;
        sampling = sampling.then(() => sample(Number(event.done)));
        sampling.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
      },
    );
    reaped(p.child);
    const load = await p.result;
    await sampling;
    if (samples.at(-1)?.runtimes !== load.ok) await sample(load.ok);
    return { baseline, samples, load, peakRss, maxLive, seconds: (performance.now() - started) / 1000 };
  } finally {
    clearInterval(poll);
  }
}

function printSamples(run: MemoryRun): void {
  const { load, seconds, samples } = run;
  printTable(
    `bench/memory (${load.ok.toLocaleString()} runtimes started, ${concurrency} in flight, ${seconds.toFixed(0)} s, ${Math.round(load.ok / seconds).toLocaleString()} starts/s)`,
    [
      ['runtimes', 'RSS MiB', 'heapUsed MiB', 'heapTotal MiB', 'GC ms', 'live actors', 'starts/s'],
      ...samples.map((x) => [
        x.runtimes.toLocaleString(),
        x.rssMiB.toFixed(0),
        x.heapUsedMiB.toFixed(0),
        x.heapTotalMiB.toFixed(0),
        x.gcMs.toFixed(0),
        x.liveActors.toLocaleString(),
        Math.round(x.startsPerSecond).toLocaleString(),
      ]),
    ],
  );
  // Live actors follow the start rate (an idle actor lives 60 s): growth between unequal populations is not a leak.
  const reference = samples.find((x) => x.runtimes >= growthFrom);
  const endLive = reference
    ? samples
        .slice(samples.indexOf(reference) + 1)
        .slice(-3)
        .map((x) => x.liveActors)
    : [];
  if (reference && endLive.some((n) => Math.abs(n / reference.liveActors - 1) > 0.2))
    console.log(
      `\nWARNING: live actors ${reference.liveActors.toLocaleString()} at ${reference.runtimes.toLocaleString()} runtimes, ${endLive.map((n) => n.toLocaleString()).join(', ')} at the end: more than 20% apart (the start rate changed), so the growth below mixes leak and population`,
    );
}

/** Prints the goals with PASS/FAIL, writes the JSON; true when every goal passed. */
function judgeRun(run: MemoryRun): boolean {
  const { samples, load, peakRss, maxLive } = run;
  const heap = growthOf(samples, growthFrom, 'heapUsedMiB');
  const rss = growthOf(samples, growthFrom, 'rssMiB');
  const judge = (g: number) =>
    Number.isFinite(g)
      ? g <= GROWTH_GOAL
        ? 'PASS'
        : 'FAIL'
      : `not measured (needs samples after ${growthFrom.toLocaleString()} runtimes)`;
  const pct = (g: number, from: number, to: number) =>
    Number.isFinite(g) ? `${(g * 100).toFixed(1)}% (${from.toFixed(0)} → ${to.toFixed(0)} MiB)` : 'n/a';
  const span = `${growthFrom.toLocaleString()} → ${(samples.at(-1)?.runtimes ?? 0).toLocaleString()} runtimes`;
  const peakPass = peakRss <= PEAK_RSS_GOAL;
  const livePass = maxLive <= MAX_LIVE_ACTORS;
  printTable('goals (memory after two forced GCs; the end is the median of the last 3 samples)', [
    [`heapUsed growth ${span}`, pct(heap.growth, heap.fromMiB, heap.toMiB), `≤ 15%: ${judge(heap.growth)}`],
    [`RSS growth ${span}`, pct(rss.growth, rss.fromMiB, rss.toMiB), `≤ 15%: ${judge(rss.growth)}`],
    [
      'peak RSS (polled every 200 ms, GC cycles included)',
      `${mib(peakRss).toFixed(0)} MiB`,
      `≤ 1024 MiB: ${peakPass ? 'PASS' : 'FAIL'}`,
    ],
    [
      'max live actors (at the samples)',
      maxLive.toLocaleString(),
      `≤ ${MAX_LIVE_ACTORS.toLocaleString()}: ${livePass ? 'PASS' : 'FAIL'}`,
    ],
    [
      'failed starts',
      String(load.errors),
      `0: ${load.errors === 0 ? 'PASS' : 'FAIL'}${load.errors ? ` (${codes(load.errorCodes)})` : ''}`,
    ],
  ]);
  writeResult('memory', {
    runtimes,
    started: load.ok,
    concurrency,
    maxLiveActors: MAX_LIVE_ACTORS,
    seconds: run.seconds,
    startsPerSecond: load.ok / run.seconds,
    loadAverage: loadavg(),
    baseline: { rssMiB: mib(run.baseline.rss), heapUsedMiB: mib(run.baseline.heapUsed) },
    samples,
    growthFrom,
    growth: { heapUsed: heap, rss },
    peakRssMiB: mib(peakRss),
    maxLiveActorsObserved: maxLive,
    errors: load.errorCodes,
    goals: { growth: GROWTH_GOAL, peakRssMiB: mib(PEAK_RSS_GOAL), maxLiveActors: MAX_LIVE_ACTORS, errors: 0 },
  });
  return !([heap.growth, rss.growth].some((g) => g > GROWTH_GOAL) || !peakPass || !livePass || load.errors > 0);
}

async function main(): Promise<void> {
  console.log(
    `bench/memory: ${runtimes.toLocaleString()} runtimes started over HTTP through one bflow node, ${concurrency} in flight, BFLOW_MAX_LIVE_ACTORS ${MAX_LIVE_ACTORS.toLocaleString()}, sampled after a forced GC every ${sampleEvery.toLocaleString()}; load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  const mariadb = await startBenchMariaDb(await testServerUrl());
  let stack: BenchStack | undefined;
  try {
    stack = await startNodeUnderTest(mariadb.url);
    const run = await loadAndSample(stack);
    printSamples(run);
    if (!judgeRun(run)) process.exitCode = 1;
    console.log(
      `machine load average now ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    await stack?.stop().catch((err: unknown) => console.error('stopping the stack failed:', err));
    await mariadb.destroy();
  }
}

try {
  await main();
} finally {
  reapAll();
}
