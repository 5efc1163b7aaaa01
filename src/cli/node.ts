import type { CliIo } from './io.ts';
import { serve } from './serve.ts';

/** `bflow node`: a shard host; SIGTERM/SIGINT hand its shards over gracefully before it exits. */
export function run(args: string[], io: CliIo): Promise<number> {
  return serve(
    {
      role: 'node',
      started: (config, _running, _io, logger) =>
        logger.info({ shards: config.shards, cluster: config.cluster }, 'node started'),
      stopping: 'stopping: handing shards over',
    },
    args,
    io,
  );
}
