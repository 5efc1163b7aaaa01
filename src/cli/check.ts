import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { clusterStreams } from '../actors/events/index.ts';
import { checkInvariants, type CheckInvariantsInput } from '../check/check-invariants.ts';
import { parseAcknowledged, type AcknowledgedCommand } from '../check/acknowledged.ts';
import { CheckError } from '../check/errors.ts';
import { violationLines } from '../check/report.ts';
import type { CliIo } from './io.ts';
import { parseOptions, UsageError } from './usage.ts';
import { keyRingFromEnv } from '../app/master-keys.ts';

const USAGE =
  'usage: bflow check --tenant T [--mysql-url URL] [--nats-url URL] [--stream NAME] [--acknowledged FILE.jsonl] ' +
  '[--page-size N] [--query-timeout-ms MS] [--stream-timeout-ms MS] [--json]';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * `bflow check`: verifies a tenant's invariants (src/check) and prints a
 * one-line summary, then one line per violation (or the whole report with
 * `--json`). Exit 0 no violation, 1 violations, 2 bad arguments.
 * `--mysql-url` and `--nats-url` default to BFLOW_MYSQL_URL and BFLOW_NATS_URL
 * (no NATS URL: the stream is not checked); `--stream` to the cluster's event
 * stream (BFLOW_EVENTS, or BFLOW_EVENTS_<BFLOW_CLUSTER>).
 */
export async function check(args: string[], io: CliIo, env: Env): Promise<number> {
  let input: CheckInvariantsInput;
  let json: boolean;
  try {
    ({ input, json } = await parseCheckArgs(args, env));
  } catch (error) {
    if (!(error instanceof UsageError || (error instanceof CheckError && error.code === 'bad_input'))) throw error;
    io.err(`bflow check: ${error.message}`);
    io.err(USAGE);
    return 2;
  }
  let report;
  try {
    report = await checkInvariants(input);
  } catch (error) {
    if (!(error instanceof CheckError && error.code === 'stream_not_found')) throw error;
    io.err(`bflow check: --stream "${input.nats?.stream}": ${error.message}`);
    return 2;
  }
  if (json) io.out(JSON.stringify(report, null, 2));
  else
    for (const line of [report.summary, ...report.warnings.map((w) => `warning: ${w}`), ...violationLines(report)])
      io.out(line);
  return report.ok ? 0 : 1;
}

export function run(args: string[], io: CliIo): Promise<number> {
  return check(args, io, process.env);
}

async function parseCheckArgs(args: string[], env: Env): Promise<{ input: CheckInvariantsInput; json: boolean }> {
  const values = parsed(args);
  const tenant = values.tenant;
  if (tenant === undefined || tenant.trim() === '') throw new UsageError('--tenant is required');
  const mysqlUrl = url('--mysql-url', values['mysql-url'] ?? env['BFLOW_MYSQL_URL'], ['mysql:'], true)!;
  const natsUrl = url('--nats-url', values['nats-url'] ?? env['BFLOW_NATS_URL'], ['nats:', 'tls:'], false);
  const cluster = env['BFLOW_CLUSTER'] ?? 'bflow';
  const stream = values.stream ?? clusterStreams(cluster).events;
  const input: CheckInvariantsInput = {
    mysqlUrl,
    tenant,
    acknowledged: values.acknowledged === undefined ? [] : await acknowledgedFile(values.acknowledged, tenant),
    pageSize: integer('--page-size', values['page-size'], 500),
    queryTimeoutMs: integer('--query-timeout-ms', values['query-timeout-ms'], 30_000),
    streamTimeoutMs: integer('--stream-timeout-ms', values['stream-timeout-ms'], 60_000),
  };
  if (natsUrl !== undefined) input.nats = { url: natsUrl, stream };
  // Encrypted columns open with the cluster's master keys (docs/security.md).
  const keys = keyRingFromEnv(env);
  if (keys !== undefined) input.keyRing = keys.ring;
  return { input, json: values.json === true };
}

function parsed(args: string[]) {
  const s = { type: 'string' } as const;
  return parseOptions(
    args,
    (strict) =>
      parseArgs({
        ...strict,
        options: {
          tenant: s,
          'mysql-url': s,
          'nats-url': s,
          stream: s,
          acknowledged: s,
          'page-size': s,
          'query-timeout-ms': s,
          'stream-timeout-ms': s,
          json: { type: 'boolean' },
        },
      }).values,
  );
}

/** Each comma-separated URL must parse with one of `protocols`. */
function url(name: string, value: string | undefined, protocols: string[], required: boolean): string | undefined {
  if (value === undefined || value.trim() === '') {
    if (required)
      throw new UsageError(
        `${name} is required (or set ${name === '--mysql-url' ? 'BFLOW_MYSQL_URL' : 'BFLOW_NATS_URL'})`,
      );
    return undefined;
  }
  for (const part of value.split(',')) {
    let ok = false;
    try {
      ok = protocols.includes(new URL(part.trim()).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new UsageError(`${name} "${value}" is not a ${protocols.map((p) => `${p}//…`).join(' or ')} URL`);
  }
  return value;
}

function integer(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !(n >= 1 && n <= 10_000_000))
    throw new UsageError(`${name} "${value}" is not a positive integer`);
  return n;
}

async function acknowledgedFile(file: string, tenant: string): Promise<AcknowledgedCommand[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--acknowledged "${file}" cannot be read (${(error as Error).message})`);
  }
  return parseAcknowledged(text, file, tenant);
}
