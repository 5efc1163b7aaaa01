import type { CliIo } from './io.ts';
import { serve } from './serve.ts';

/** `bflow gateway`: the HTTP API of a cluster; SIGTERM/SIGINT stop accepting, finish requests in flight, then exit. */
export function run(args: string[], io: CliIo): Promise<number> {
  return serve(
    {
      role: 'gateway',
      started: (config, running, out, logger) => {
        out.out(`bflow gateway listening on ${running.api?.url} (cluster ${config.cluster}, ${config.shards} shards)`);
        logger.info({ port: running.api?.port, cluster: config.cluster }, 'gateway started');
      },
      stopping: 'stopping: finishing requests in flight',
    },
    args,
    io,
  );
}
