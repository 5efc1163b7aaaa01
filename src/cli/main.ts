import type { CliIo, VerbModule } from './io.ts';
import { processIo } from './io.ts';

interface Verb {
  usage: string;
  summary: string;
  /** Loaded on use, so `bflow validate` never loads the drivers a server verb needs. */
  load(): Promise<VerbModule>;
}

// Adding a verb: one entry here and a module in src/cli/ exporting `run(args, io)`.
const verbs: Record<string, Verb> = {
  validate: {
    usage: 'validate FILE [FILE…]',
    summary: 'check workflow definition files',
    load: () => import('./validate.ts'),
  },
  migrate: {
    usage: 'migrate',
    summary: 'apply database migrations to BFLOW_MYSQL_URL',
    load: () => import('./migrate.ts'),
  },
  node: {
    usage: 'node',
    summary: 'run a shard host node (BFLOW_MYSQL_URL, BFLOW_NATS_URL)',
    load: () => import('./node.ts'),
  },
  gateway: {
    usage: 'gateway',
    summary: 'serve the HTTP API of a cluster on BFLOW_PORT (BFLOW_MYSQL_URL, BFLOW_NATS_URL, BFLOW_JWT_SECRET)',
    load: () => import('./gateway.ts'),
  },
  notifier: {
    usage: 'notifier',
    summary:
      'run a notifier replica: in-app, email, SMS and push from the event stream (BFLOW_MYSQL_URL, BFLOW_NATS_URL)',
    load: () => import('./notifier.ts'),
  },
  all: {
    usage: 'all',
    summary: 'node + gateway in one process; with no BFLOW_MYSQL_URL/BFLOW_NATS_URL all in process, with a demo tenant',
    load: () => import('./all.ts'),
  },
  token: {
    usage: 'token --tenant T --sub E --roles R[,R…] [--ttl 1h] [--company C]',
    summary: 'mint an HS256 API token with BFLOW_JWT_SECRET',
    load: () => import('./token.ts'),
  },
  check: {
    usage: 'check --tenant T [--mysql-url U] [--nats-url N] [--stream S] [--acknowledged F.jsonl] [--json]',
    summary:
      "verify a tenant's invariants: acknowledged commands logged once, state = replay of the log, tasks, outbox and events",
    load: () => import('./check.ts'),
  },
  keys: {
    usage: 'keys rotate [--new-key ID:KEY] | keys rewrap-data --tenant T',
    summary:
      "encryption at rest: re-wrap the data keys with a new master key; re-encrypt a tenant's rows with a new data key",
    load: () => import('./keys.ts'),
  },
  help: { usage: 'help', summary: 'show this help', load: async () => ({ run: async (_args, io) => help(io) }) },
};

/** Runs one CLI verb and returns the process exit code (0 ok, 1 failed check, 2 usage or input error). */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name = 'help', ...args] = argv;
  const verb = Object.hasOwn(verbs, name) ? verbs[name] : undefined;
  if (verb === undefined) {
    io.err(`bflow: unknown verb "${name}"; verbs: ${Object.keys(verbs).join(', ')}`);
    return 2;
  }
  try {
    return await (await verb.load()).run(args, io);
  } catch (error) {
    io.err(`bflow ${name}: ${error instanceof Error ? error.message : String(error)}`);
    // A bad setting is the caller's to fix (like a usage error); anything else is ours.
    return (error as { code?: unknown }).code === 'config_invalid' ? 2 : 70;
  }
}

function help(io: CliIo): number {
  io.out('usage: bflow VERB [ARGS…]\n');
  const width = Math.max(...Object.values(verbs).map((v) => v.usage.length));
  for (const verb of Object.values(verbs)) io.out(`  ${verb.usage.padEnd(width)}  ${verb.summary}`);
  return 0;
}
