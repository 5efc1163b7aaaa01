/**
 * bench/server-process — a small HTTP server of the benchmarks (the hello-world
 * ceiling, the plain baseline) in its own process: it listens on a free port,
 * prints {"event":"ready","port":N} on stdout, and exits with its parent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { exitWithParent } from './load-process.ts';

export interface ServerProcess {
  child: ChildProcess;
  url: string;
}

/** Waits (20 s) for the child's first stdout line starting `{"event":"ready"` and returns it parsed. */
export function readyLine<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split('\n').find((l) => l.startsWith('{"event":"ready"'));
      if (line) resolve(JSON.parse(line) as T);
    });
    child.once('exit', (code) => reject(new Error(`${what} exited (code ${code}) before it was ready`)));
    setTimeout(() => reject(new Error(`${what} not ready within 20 s`)), 20_000).unref();
  });
}

/** Starts `node --import tsx <file> <args>` and waits for its ready line. */
export async function startServerProcess(file: string, args: readonly string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const { port } = await readyLine<{ port: number }>(child, file);
    return { child, url: `http://127.0.0.1:${port}` };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

/** Child side: serves `app` on a free port and announces it. */
export function serveAndAnnounce(app: Hono): void {
  exitWithParent();
  serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
    process.stdout.write(`${JSON.stringify({ event: 'ready', port: info.port })}\n`);
  });
}
