import type { Logger } from 'pino';
import { loadServerConfig, type ServerConfig, type ServerRole } from '../app/config.ts';
import { createLogger } from '../app/logger.ts';
import { type RunningRole, startRole } from '../app/roles.ts';
import { untilSignal } from '../app/signals.ts';
import type { CliIo } from './io.ts';

/** What one server verb says: once it serves, and when a signal stops it. */
export interface ServeVerb {
  role: ServerRole;
  /** The banner on stdout and the start log line. */
  started(config: ServerConfig, running: RunningRole, io: CliIo, logger: Logger): Promise<void> | void;
  /** The log line when SIGTERM/SIGINT arrives. */
  stopping: string;
}

/**
 * Runs a server verb: resolves the configuration for its role (a bad or
 * missing variable is a ConfigError: exit 2), starts the role, serves until
 * SIGTERM/SIGINT, then stops gracefully (exit 0).
 */
export async function serve(verb: ServeVerb, args: string[], io: CliIo): Promise<number> {
  if (args.length > 0) {
    io.err(`bflow ${verb.role} takes no arguments (got ${args.join(' ')}); it is configured by BFLOW_* variables`);
    return 2;
  }
  const config = loadServerConfig(process.env, verb.role);
  const logger = createLogger(config.logLevel, { role: verb.role, node: config.nodeId });
  const running = await startRole(config, logger);
  await verb.started(config, running, io, logger);
  const signal = await untilSignal();
  logger.info({ signal }, verb.stopping);
  await running.stop();
  logger.info('stopped');
  return 0;
}
