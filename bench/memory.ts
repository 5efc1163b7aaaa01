/**
 * bench/memory — the memory of one node hosting many runtimes: `--runtimes N`
 * (default 1,000,000) purchase orders started through one RuntimeHost built
 * like `bflow node` builds it (MySQL group-commit writer and repositories, a
 * CachedRuntimeStore over a bounded MemorySnapshotCache, maxLiveActors 50,000),
 * in this process, on a fresh database, all 64 shards open. Start requests go
 * straight to `host.handle` (no NATS) with a fixed number in flight; every
 * 50,000 runtimes the RSS, heap and live actors are sampled.
 *
 * Goals (set from a first measurement at 200k: peak RSS 623 MiB, samples
 * between 503 and 619 MiB as the GC cycles): peak RSS ≤ 1 GiB, the highest RSS
 * sample after 200k runtimes at most 15% above the highest up to 200k, live
 * actors never above maxLiveActors. At this rate (a few hundred starts/s) the
 * idle sweep (idleMs 60 s) keeps live actors well under the bound. A node's memory must be bounded by its live actors and caches,
 * not by the runtimes it has ever hosted.
 *
 *   node --import tsx bench/memory.ts [--runtimes 1000000] [--concurrency 256]
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { Registry } from 'prom-client';
import type { ShardRequest } from '../src/actors/bus/ports.ts';
import { RuntimeHost } from '../src/actors/runtime-host/runtime-host.ts';
import { CachedRuntimeStore } from '../src/store/cached-runtime-store.ts';
import { MemorySnapshotCache } from '../src/store/memory/snapshot-cache.ts';
import { MySqlDirectoryStore } from '../src/store/mysql/directory-store.ts';
import { MySqlRuntimeStore } from '../src/store/mysql/runtime-store.ts';
import { createMySqlTransitionWriter } from '../src/store/mysql/transition-writer.ts';
import { registerTransitionWriterMetrics } from '../src/store/mysql/writer-metrics.ts';
import { MySqlWorkflowStore } from '../src/store/mysql/workflow-store.ts';
import { seedTenant } from '../test/actors/runtime-host/runtime-host-fixture.ts';
import { useTestDatabase } from '../test/harness/mysql.ts';
import { intArg, printTable, writeResult } from './report.ts';
import { benchDoc } from './http-load.ts';

const runtimes = intArg('--runtimes', 1_000_000);
const concurrency = intArg('--concurrency', 256);
const SAMPLE_EVERY = intArg('--sample-every', 50_000);
const MAX_LIVE_ACTORS = 50_000;
/** Snapshot cache entries (the node's default is maxLiveActors too). */
const CACHE_ENTRIES = 50_000;
const SHARDS = 64;
const TENANT = 't-mem';
const GiB = 1024 ** 3;
const PEAK_RSS_GOAL = 1 * GiB;
const GROWTH_GOAL = 0.15;
const GROWTH_FROM = 200_000;

interface Sample {
  runtimes: number;
  seconds: number;
  rssMiB: number;
  heapUsedMiB: number;
  liveActors: number;
  cacheEntries: number;
  startsPerSecond: number;
}

const mib = (bytes: number) => bytes / 1024 / 1024;

async function main(): Promise<void> {
  console.log(
    `bench/memory: ${runtimes.toLocaleString()} runtimes through one RuntimeHost, ${concurrency} starts in flight, maxLiveActors ${MAX_LIVE_ACTORS.toLocaleString()}, snapshot cache ${CACHE_ENTRIES.toLocaleString()} entries`,
  );
  const db = await useTestDatabase('bench_mem');
  let host: RuntimeHost | undefined;
  let writer: ReturnType<typeof createMySqlTransitionWriter> | undefined;
  try {
    await seedTenant(
      { workflows: new MySqlWorkflowStore(db.pool), directory: new MySqlDirectoryStore(db.pool) },
      TENANT,
    );
    const registry = new Registry();
    const cache = new MemorySnapshotCache({ maxEntries: CACHE_ENTRIES });
    writer = createMySqlTransitionWriter(db.pool, { metrics: registerTransitionWriterMetrics(registry) });
    host = new RuntimeHost(
      {
        runtimes: new CachedRuntimeStore(new MySqlRuntimeStore(db.pool), cache, { registry }),
        writer,
        cache,
        workflows: new MySqlWorkflowStore(db.pool),
        directory: new MySqlDirectoryStore(db.pool),
        registry,
      },
      { shardCount: SHARDS, maxLiveActors: MAX_LIVE_ACTORS },
    );
    for (let s = 0; s < SHARDS; s++) host.openShard(s, 1);
    const h = host;

    const run = randomBytes(3).toString('hex');
    const baseline = process.memoryUsage();
    console.log(
      `baseline (host built, shards open): RSS ${mib(baseline.rss).toFixed(0)} MiB, heap ${mib(baseline.heapUsed).toFixed(0)} MiB`,
    );
    const samples: Sample[] = [];
    const errors: Record<string, number> = {};
    let done = 0;
    let next = 0;
    let maxLive = 0;
    let peakRss = baseline.rss;
    const started = performance.now();
    let lastSampleAt = started;
    let lastSampleCount = 0;

    const sample = () => {
      const m = process.memoryUsage();
      const now = performance.now();
      const s: Sample = {
        runtimes: done,
        seconds: (now - started) / 1000,
        rssMiB: mib(m.rss),
        heapUsedMiB: mib(m.heapUsed),
        liveActors: h.liveActors,
        cacheEntries: cache.size,
        startsPerSecond: (done - lastSampleCount) / ((now - lastSampleAt) / 1000),
      };
      lastSampleAt = now;
      lastSampleCount = done;
      samples.push(s);
      const errs = Object.values(errors).reduce((a, b) => a + b, 0);
      console.log(
        `  ${String(s.runtimes.toLocaleString()).padStart(9)} runtimes  ${s.seconds.toFixed(0).padStart(4)} s  RSS ${s.rssMiB.toFixed(0).padStart(5)} MiB  heap ${s.heapUsedMiB.toFixed(0).padStart(4)} MiB  live actors ${s.liveActors.toLocaleString().padStart(6)}  cache ${s.cacheEntries.toLocaleString().padStart(6)}  ${Math.round(s.startsPerSecond).toLocaleString()} starts/s${errs ? `  errors ${errs}` : ''}`,
      );
    };

    // RSS peaks between samples too: poll it (cheap) alongside the live-actor bound.
    const poll = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      maxLive = Math.max(maxLive, h.liveActors);
    }, 100);
    try {
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (let i = next++; i < runtimes; i = next++) {
            const runtimeId = `m-${run}-${i}`;
            const request: ShardRequest = {
              kind: 'start',
              tenant: TENANT,
              runtimeId,
              app: 'purchase.order',
              docId: `po-${run}-${i}`,
              creator: 'alice',
              doc: benchDoc(5_000_000, i),
              idempotencyKey: `start-${run}-${i}`,
            };
            const reply = await h.handle(request);
            if (!reply.ok) errors[reply.problem.code] = (errors[reply.problem.code] ?? 0) + 1;
            maxLive = Math.max(maxLive, h.liveActors);
            done++;
            if (done % SAMPLE_EVERY === 0) sample();
          }
        }),
      );
    } finally {
      clearInterval(poll);
    }
    if (done % SAMPLE_EVERY !== 0) sample();
    peakRss = Math.max(peakRss, ...samples.map((s) => s.rssMiB * 1024 * 1024));
    const seconds = (performance.now() - started) / 1000;

    // RSS swings with the GC's cycles (±10% between samples): compare the highest sample after
    // GROWTH_FROM runtimes with the highest one up to it, not two single samples.
    const before = samples.filter((s) => s.runtimes <= GROWTH_FROM);
    const after = samples.filter((s) => s.runtimes > GROWTH_FROM);
    const peakBefore = Math.max(...before.map((s) => s.rssMiB));
    const peakAfter = Math.max(...after.map((s) => s.rssMiB));
    const last = samples[samples.length - 1]!;
    const growth = before.length > 0 && after.length > 0 ? peakAfter / peakBefore - 1 : NaN;
    const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
    const peakPass = peakRss <= PEAK_RSS_GOAL;
    const growthPass = Number.isFinite(growth) ? growth <= GROWTH_GOAL : undefined;
    const livePass = maxLive <= MAX_LIVE_ACTORS;
    printTable(
      `bench/memory (${runtimes.toLocaleString()} runtimes, ${concurrency} in flight, one RuntimeHost on MySQL, ${seconds.toFixed(0)} s, ${Math.round(runtimes / seconds).toLocaleString()} starts/s)`,
      [
        ['runtimes', 'RSS MiB', 'heap MiB', 'live actors', 'cache entries', 'starts/s'],
        ...samples.map((s) => [
          s.runtimes.toLocaleString(),
          s.rssMiB.toFixed(0),
          s.heapUsedMiB.toFixed(0),
          s.liveActors.toLocaleString(),
          s.cacheEntries.toLocaleString(),
          Math.round(s.startsPerSecond).toLocaleString(),
        ]),
      ],
    );
    printTable('goals', [
      [
        'peak RSS',
        `${mib(peakRss).toFixed(0)} MiB`,
        `goal ≤ ${mib(PEAK_RSS_GOAL).toFixed(0)} MiB: ${peakPass ? 'PASS' : 'FAIL'}`,
      ],
      [
        `RSS growth ${GROWTH_FROM.toLocaleString()} → ${last.runtimes.toLocaleString()} runtimes (peak sample after vs up to)`,
        Number.isFinite(growth)
          ? `${(growth * 100).toFixed(1)}% (${peakBefore.toFixed(0)} → ${peakAfter.toFixed(0)} MiB)`
          : 'n/a',
        growthPass === undefined
          ? `goal ≤ ${GROWTH_GOAL * 100}%: not measured (needs more than ${GROWTH_FROM.toLocaleString()} runtimes)`
          : `goal ≤ ${GROWTH_GOAL * 100}%: ${growthPass ? 'PASS' : 'FAIL'}`,
      ],
      [
        'max live actors',
        maxLive.toLocaleString(),
        `goal ≤ maxLiveActors ${MAX_LIVE_ACTORS.toLocaleString()}: ${livePass ? 'PASS' : 'FAIL'}`,
      ],
      [
        'failed starts',
        String(errorCount),
        `goal 0: ${errorCount === 0 ? 'PASS' : 'FAIL'}${errorCount ? ` (${JSON.stringify(errors)})` : ''}`,
      ],
    ]);
    writeResult('memory', {
      runtimes,
      concurrency,
      maxLiveActors: MAX_LIVE_ACTORS,
      cacheEntries: CACHE_ENTRIES,
      seconds,
      startsPerSecond: runtimes / seconds,
      loadAverage: loadavg(),
      baselineRssMiB: mib(baseline.rss),
      samples,
      peakRssMiB: mib(peakRss),
      growthFrom: GROWTH_FROM,
      growth,
      maxLiveActors_observed: maxLive,
      errors,
      goals: { peakRssMiB: mib(PEAK_RSS_GOAL), growth: GROWTH_GOAL, maxLiveActors: MAX_LIVE_ACTORS, errors: 0 },
      pass: { peakRss: peakPass, growth: growthPass ?? null, liveActors: livePass, errors: errorCount === 0 },
    });
    console.log(
      `machine load average now ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );
    if (!peakPass || growthPass === false || !livePass || errorCount > 0) process.exitCode = 1;
  } finally {
    host?.close();
    await writer?.close().catch(() => undefined);
    await db.drop();
  }
}

await main();
