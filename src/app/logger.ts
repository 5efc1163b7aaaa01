import { pino, type Logger } from 'pino';

/** The process logger: JSON lines on stderr (stdout stays free for CLI output). */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings } }, pino.destination(2));
}
