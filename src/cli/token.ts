import { parseArgs } from 'node:util';
import { sign } from 'hono/jwt';
import { loadConfig } from '../app/config.ts';
import { ROLES, type Role } from '../gateway/gateway-env.ts';
import { ID_CHARS_MESSAGE, MAX_ID_LENGTH, isId } from '../gateway/ids.ts';
import type { CliIo } from './io.ts';
import { parseOptions, UsageError } from './usage.ts';

const USAGE = 'usage: bflow token --tenant T --sub EMPLOYEE --roles ROLE[,ROLE…] [--ttl 1h] [--company C]';
const UNIT_SEC: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600, d: 86_400 };
const MAX_TTL_SEC = 365 * 86_400;

/** `30s`, `15m`, `1h`, `7d` → seconds (1 s … 365 d). */
export function parseTtl(text: string): number {
  const match = /^(\d{1,6})([smhd])$/.exec(text);
  const seconds = match === null ? NaN : Number(match[1]) * (UNIT_SEC[match[2] ?? ''] ?? NaN);
  if (!(seconds >= 1 && seconds <= MAX_TTL_SEC))
    throw new UsageError(`--ttl "${text}" is not a duration like 30s, 15m, 1h or 7d (at most 365d)`);
  return seconds;
}

function parseRoles(text: string): Role[] {
  const roles = text
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  if (roles.length === 0) throw new UsageError(`--roles "${text}" names no role; use some of ${ROLES.join(', ')}`);
  for (const role of roles) {
    if (!(ROLES as readonly string[]).includes(role))
      throw new UsageError(`--roles: "${role}" is not a role; use some of ${ROLES.join(', ')}`);
  }
  return roles as Role[];
}

function required(name: string, value: string | undefined): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`--${name} is required`);
  return value;
}

/** An id claim the gateway accepts (src/gateway/ids.ts): a token it would refuse is not minted. */
function idArg(name: string, value: string | undefined, max: number): string {
  const id = required(name, value);
  if (!isId(id, max))
    throw new UsageError(`--${name} "${id}" is not an id: at most ${max} characters; ${ID_CHARS_MESSAGE}`);
  return id;
}

/** The claims the gateway's auth middleware expects (docs/api.md#authentication). */
export function tokenClaims(args: string[], nowMs: number): Record<string, unknown> {
  const values = parseOptions(
    args,
    (strict) =>
      parseArgs({
        ...strict,
        options: {
          tenant: { type: 'string' },
          sub: { type: 'string' },
          roles: { type: 'string' },
          ttl: { type: 'string', default: '1h' },
          company: { type: 'string' },
        },
      }).values,
  );
  const iat = Math.floor(nowMs / 1000);
  const claims: Record<string, unknown> = {
    sub: idArg('sub', values.sub, MAX_ID_LENGTH.id),
    tid: idArg('tenant', values.tenant, MAX_ID_LENGTH.tenant),
    roles: parseRoles(required('roles', values.roles)),
    iat,
    exp: iat + parseTtl(values.ttl),
  };
  if (values.company !== undefined) claims['cid'] = idArg('company', values.company, MAX_ID_LENGTH.company);
  return claims;
}

/**
 * Mints an HS256 token signed with `BFLOW_JWT_SECRET` (what the gateway
 * verifies in secret mode) and prints it alone on stdout, for
 * `TOKEN=$(bflow token …)`. Exit 2 on a bad argument or a missing secret.
 */
export async function mint(
  args: string[],
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
  nowMs = Date.now(),
): Promise<number> {
  try {
    const claims = tokenClaims(args, nowMs);
    const { auth } = loadConfig(env);
    if (auth?.kind !== 'secret')
      throw new UsageError(
        'BFLOW_JWT_SECRET is not set: bflow token signs with the HS256 secret the gateway verifies with (a JWKS deployment gets tokens from its identity provider)',
      );
    io.out(await sign(claims, auth.secret, 'HS256'));
    return 0;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`bflow token: ${error.message}`);
    io.err(USAGE);
    return 2;
  }
}

export function run(args: string[], io: CliIo): Promise<number> {
  return mint(args, io, process.env);
}
