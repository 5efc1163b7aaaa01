/**
 * bench/reaper — every child process a benchmark starts is registered here and
 * SIGKILLed when the benchmark exits, errs or is interrupted (SIGINT/SIGTERM).
 * On an interrupt the registered clean-ups (drop the database, delete the
 * stream, buckets and Redis keys) run too, for at most 15 s, before exit 130.
 */
import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();
const cleanups = new Set<() => Promise<void>>();
let installed = false;

export function reapAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', reapAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      reapAll();
      const deadline = new Promise((resolve) => setTimeout(resolve, 15_000).unref());
      const all = Promise.allSettled([...cleanups].map((c) => c()));
      void Promise.race([all, deadline]).finally(() => process.exit(130));
    });
  }
}

/** Registers `child` to be killed with the benchmark; returns it. */
export function reaped<T extends ChildProcess>(child: T): T {
  install();
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Registers a clean-up to run if the benchmark is interrupted; returns its unregistration. */
export function cleanUpOnInterrupt(cleanup: () => Promise<void>): () => void {
  install();
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}
