/**
 * bench/reaper — every child process a benchmark starts is registered here and
 * SIGKILLed when the benchmark exits, errs or is interrupted (SIGINT/SIGTERM).
 */
import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();
let installed = false;

export function reapAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** Registers `child` to be killed with the benchmark; returns it. */
export function reaped<T extends ChildProcess>(child: T): T {
  if (!installed) {
    installed = true;
    process.once('exit', reapAll);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        reapAll();
        process.exit(130);
      });
    }
  }
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
