// bench/gc-probe — preloaded into a bflow process by bench/memory.ts:
//   node --expose-gc --import <this file> --import tsx bin/bflow.js node
// On SIGUSR2 it runs two full garbage collections (the second collects what the
// first one's finalizers released), then prints one JSON line on stdout:
//   {"event":"memory","rss":…,"heapUsed":…,"heapTotal":…,"external":…,"gcMs":…}
// so that memory is measured after a forced GC, not at a random point of the GC's cycle.
process.on('SIGUSR2', () => {
  if (typeof globalThis.gc !== 'function') {
    process.stdout.write(`${JSON.stringify({ event: 'memory', error: 'start node with --expose-gc' })}\n`);
    return;
  }
  const started = performance.now();
  globalThis.gc();
  globalThis.gc();
  const gcMs = performance.now() - started;
  const m = process.memoryUsage();
  const line = {
    event: 'memory',
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    gcMs,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
});
