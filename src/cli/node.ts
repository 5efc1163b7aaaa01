import { startClusterNode } from '../app/cluster-node.ts';
import { loadConfig } from '../app/config.ts';
import { untilSignal } from '../app/signals.ts';
import { createLogger } from '../app/logger.ts';
import type { CliIo } from './io.ts';

/** `bflow node`: a shard host; SIGTERM/SIGINT hand its shards over gracefully before it exits. */
export async function run(args: string[], io: CliIo): Promise<number> {
  if (args.length > 0) {
    io.err(`bflow node takes no arguments (got ${args.join(' ')}); it is configured by BFLOW_* variables`);
    return 2;
  }
  const config = loadConfig(process.env);
  if (config.embedded) {
    io.err('bflow node needs BFLOW_MYSQL_URL and BFLOW_NATS_URL (for one process with no services, run bflow all)');
    return 2;
  }
  const logger = createLogger(config.logLevel, { role: 'node', node: config.nodeId });
  const started = await startClusterNode(config, logger);
  logger.info({ shards: config.shards, cluster: config.cluster }, 'node started');
  const signal = await untilSignal();
  logger.info({ signal }, 'stopping: handing shards over');
  await started.stop();
  logger.info('node stopped');
  return 0;
}
