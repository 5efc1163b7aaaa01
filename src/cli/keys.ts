import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../app/config.ts';
import { MISSING_KEYS } from '../app/master-keys.ts';
import { CipherError } from '../store/crypto/crypto-errors.ts';
import { verifyKeyRing } from '../store/crypto/data-keys.ts';
import { EnvelopeCipher } from '../store/crypto/field-cipher.ts';
import { parseKeyRing } from '../store/crypto/key-ring.ts';
import { type RotationReport, rotateMasterKey } from '../store/crypto/key-rotation.ts';
import { MySqlDataKeyStore } from '../store/mysql/data-key-store.ts';
import { createMySqlPool } from '../store/mysql/pool.ts';
import { rewrapTenantData } from '../store/mysql/rewrap-data.ts';
import type { CliIo } from './io.ts';
import { parseOptions, UsageError } from './usage.ts';

const USAGE = [
  'usage: bflow keys rotate [--new-key ID:BASE64 | --new-key-file FILE]',
  '       bflow keys rewrap-data --tenant T [--passes N] [--wait-ms MS]',
  '(BFLOW_MYSQL_URL, and BFLOW_MASTER_KEYS or BFLOW_MASTER_KEY_FILE holding every master key in use)',
].join('\n');

type Env = Readonly<Record<string, string | undefined>>;

/**
 * `bflow keys` (docs/security.md#key-rotation):
 * - `rotate`: re-wraps every tenant's data keys with the new master key (`--new-key`, or the ring's first
 *   key when omitted); rewrites no data.
 * - `rewrap-data --tenant T`: a new data key for the tenant, and its rows re-encrypted with it, online.
 */
export function run(args: string[], io: CliIo): Promise<number> {
  return keys(args, io, process.env);
}

export async function keys(args: string[], io: CliIo, env: Env): Promise<number> {
  const [sub, ...rest] = args;
  let values: ReturnType<typeof parsed>;
  try {
    if (sub !== 'rotate' && sub !== 'rewrap-data')
      throw new UsageError(sub === undefined ? 'a subcommand is required' : `unknown subcommand "${sub}"`);
    values = parsed(rest);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`bflow keys: ${error.message}`);
    io.err(USAGE);
    return 2;
  }
  const config = loadConfig(env);
  if (config.embedded) {
    io.err('bflow keys: BFLOW_MYSQL_URL is not set; the embedded mode keeps no data keys');
    return 2;
  }
  const ring = config.encryption.keys;
  if (ring === undefined || config.encryption.source === 'generated') {
    io.err(`bflow keys ${MISSING_KEYS}`);
    return 2;
  }
  const pool = createMySqlPool(config.mysqlUrl, { connectionLimit: 2 });
  try {
    const store = new MySqlDataKeyStore(pool);
    if (sub === 'rotate') {
      let target = ring.active;
      try {
        const given = newKey(values);
        if (given !== undefined) target = given;
      } catch (error) {
        if (!(error instanceof UsageError || error instanceof CipherError)) throw error;
        io.err(`bflow keys rotate: ${error.message}`);
        return 2;
      }
      let report: RotationReport;
      try {
        report = await rotateMasterKey(store, ring, target, {
          onProgress: (r) =>
            io.out(`rotate: ${r.rewrapped} data keys re-wrapped with "${target.id}", ${r.unchanged} already`),
        });
      } catch (error) {
        // The ring or the new key is wrong (named in the message); the keys re-wrapped before it stay valid.
        if (!(error instanceof CipherError)) throw error;
        io.err(`bflow keys rotate: ${error.message}`);
        return 2;
      }
      io.out(`rotated: every data key is wrapped with master key "${target.id}" (${report.rewrapped} re-wrapped)`);
      const others = ring.ids.filter((id) => id !== target.id);
      io.out(
        ring.active.id === target.id
          ? `keys ${others.map((id) => `"${id}"`).join(', ') || '(none)'} wrap nothing now: remove them from BFLOW_MASTER_KEYS once every process runs with this ring`
          : `now put "${target.id}" first in BFLOW_MASTER_KEYS on every process (restarting one with the old ring fails, naming "${target.id}")`,
      );
      return 0;
    }
    const tenant = values.tenant;
    if (tenant === undefined || tenant.trim() === '') {
      io.err('bflow keys rewrap-data: --tenant is required');
      io.err(USAGE);
      return 2;
    }
    let passes: number;
    let waitMs: number;
    try {
      passes = integer('--passes', values.passes, 3, 1);
      waitMs = integer('--wait-ms', values['wait-ms'], 60_000, 0);
    } catch (error) {
      io.err(`bflow keys rewrap-data: ${(error as Error).message}`);
      return 2;
    }
    await verifyKeyRing(store, ring);
    const report = await rewrapTenantData({
      pool,
      cipher: new EnvelopeCipher(ring, store),
      tenant,
      passes,
      waitMs,
      onProgress: (p) =>
        io.out(`rewrap-data ${tenant}: ${p.table} ${p.read}/${p.total} read, ${p.rewritten} re-encrypted`),
    });
    io.out(
      `rewrap-data ${tenant}: data key ${report.version}, ${report.rewritten} rows re-encrypted in ${report.passes} pass(es), ${report.left} values left under older keys`,
    );
    return report.left === 0 ? 0 : 1;
  } finally {
    await pool.end();
  }
}

function parsed(args: string[]) {
  const s = { type: 'string' } as const;
  return parseOptions(
    args,
    (strict) =>
      parseArgs({ ...strict, options: { 'new-key': s, 'new-key-file': s, tenant: s, passes: s, 'wait-ms': s } }).values,
  );
}

/** The one key `--new-key` or `--new-key-file` gives (errors name the option, never the key's bytes). */
function newKey(values: ReturnType<typeof parsed>) {
  const inline = values['new-key'];
  const file = values['new-key-file'];
  if (inline !== undefined && file !== undefined) throw new UsageError('give --new-key or --new-key-file, not both');
  let text: string | undefined = inline;
  let source = '--new-key';
  if (file !== undefined) {
    source = `--new-key-file ${JSON.stringify(file)}`;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`${source}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  }
  if (text === undefined) return undefined;
  const ring = parseKeyRing(text, source);
  if (ring.ids.length !== 1) throw new UsageError(`${source} must hold one key (got ${ring.ids.length})`);
  return ring.active;
}

function integer(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > 86_400_000)
    throw new UsageError(`${name} "${value}" is not an integer ≥ ${min}`);
  return n;
}
