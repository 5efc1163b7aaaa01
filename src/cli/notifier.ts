import type { CliIo } from './io.ts';
import { serve } from './serve.ts';

/** `bflow notifier`: a notifier replica of a cluster; SIGTERM/SIGINT finish the batch in hand, then exit. */
export function run(args: string[], io: CliIo): Promise<number> {
  return serve(
    {
      role: 'notifier',
      started: (config, _running, _io, logger) => logger.info({ cluster: config.cluster }, 'notifier running'),
      stopping: 'stopping: finishing the batch in hand',
    },
    args,
    io,
  );
}
