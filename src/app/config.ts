import { hostname } from 'node:os';
import { z } from 'zod';
import { generateDevSecret } from './dev-token.ts';
import { type EncryptionConfig, generatedKeyRing, keyRingFromEnv, MISSING_KEYS } from './master-keys.ts';
import type { PushOptions, SmsOptions, SmtpOptions } from '../actors/notifications/index.ts';

/**
 * bflow's configuration: the BFLOW_* environment variables (docs/operations.md#configuration), parsed and validated once at start, and resolved per
 * server role into the one object every composition root reads. Nothing else
 * reads process.env.
 */
const url = (schemes: readonly string[]) =>
  z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          return schemes.includes(new URL(v).protocol.replace(/:$/, ''));
        } catch {
          return false;
        }
      },
      `must be a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}`,
    );

/** One URL or several, comma-separated (a NATS cluster's seed servers); each must be a URL of `schemes`. */
const urlList = (schemes: readonly string[]) =>
  z
    .string()
    .trim()
    .superRefine((v, ctx) => {
      const parts = v.split(',').map((s) => s.trim());
      const bad = parts.find((part) => url(schemes).safeParse(part).success === false);
      if (bad !== undefined)
        ctx.addIssue({
          code: 'custom',
          message: `must be one URL or comma-separated URLs starting with ${schemes.map((s) => `${s}://`).join(' or ')} (not '${bad}')`,
        });
    })
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .join(','),
    );

const envSchema = z.object({
  BFLOW_PORT: z.coerce.number().int().min(1).max(65_535).default(8080),
  BFLOW_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  BFLOW_JWKS_URL: url(['https', 'http']).optional(),
  BFLOW_MYSQL_URL: url(['mysql']).optional(),
  BFLOW_MYSQL_READ_URL: url(['mysql']).optional(),
  BFLOW_REDIS_URL: url(['redis', 'rediss']).optional(),
  BFLOW_NATS_URL: urlList(['nats', 'tls']).optional(),
  BFLOW_SHARDS: z.coerce.number().int().min(1).max(4096).default(64),
  BFLOW_NODE_ID: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, _ . -')
    .optional(),
  BFLOW_METRICS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  // Checked outside the schema (src/app/master-keys.ts), so that no error repeats a key.
  BFLOW_MASTER_KEYS: z.string().optional(),
  BFLOW_MASTER_KEY_FILE: z.string().trim().optional(),
  BFLOW_ENCRYPTION: z.enum(['on', 'off']).default('on'),
  BFLOW_COMPRESSION: z.enum(['on', 'off']).default('on'),
  BFLOW_CLUSTER: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,32}$/, 'use 1-32 letters, digits, _ or -')
    .default('bflow'),
  BFLOW_LEASE_TTL_MS: z.coerce.number().int().min(1000).max(600_000).default(10_000),
  BFLOW_MAX_LIVE_ACTORS: z.coerce.number().int().min(1).default(50_000),
  BFLOW_START_DEFINITION_TTL_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  BFLOW_WRITERS: z.coerce.number().int().min(1).max(64).default(1),
  BFLOW_PROJECTION_DELAY_MS: z.coerce.number().int().min(0).max(10_000).default(200),
  BFLOW_PROJECTION_BACKLOG: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  BFLOW_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(10_000_000).default(600),
  BFLOW_RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(1_000_000).default(100),
  BFLOW_AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(30),
  BFLOW_AUTH_FAILURES_BURST: z.coerce.number().int().min(1).max(1_000_000).default(20),
  BFLOW_TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  BFLOW_RETENTION_INTERVAL_MS: z.coerce.number().int().min(0).max(604_800_000).default(3_600_000),
  BFLOW_RETENTION_IDEMPOTENCY_DAYS: z.coerce.number().int().min(0).max(36_500).default(30),
  BFLOW_RETENTION_EVENTS_DAYS: z.coerce.number().int().min(0).max(36_500).default(30),
  BFLOW_RETENTION_FINISHED_DAYS: z.coerce.number().int().min(0).max(36_500).default(365),
  BFLOW_RETENTION_MODE: z.enum(['archive', 'delete']).default('archive'),
  BFLOW_RETENTION_BATCH: z.coerce.number().int().min(1).max(10_000).default(500),
  BFLOW_RETENTION_RUN_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(300_000),
  BFLOW_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BFLOW_WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false', '1', '0']).optional(),
  BFLOW_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5_000),
  BFLOW_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(6),
  BFLOW_WEBHOOK_CACHE_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  BFLOW_NOTIFIER: z.enum(['true', 'false', '1', '0']).default('true'),
  BFLOW_NOTIFY_LINK_BASE: url(['https', 'http']).optional(),
  BFLOW_NOTIFY_ACK_WAIT_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  BFLOW_SMTP_URL: url(['smtp', 'smtps']).optional(),
  BFLOW_SMTP_FROM: z.string().trim().min(3).max(320).default('bflow <no-reply@localhost>'),
  BFLOW_SMS_URL: url(['https', 'http']).optional(),
  BFLOW_SMS_ACCOUNT_SID: z.string().trim().min(1).max(200).optional(),
  BFLOW_SMS_AUTH_TOKEN: z.string().min(1).max(500).optional(),
  BFLOW_SMS_FROM: z.string().trim().min(1).max(50).optional(),
  BFLOW_PUSH_URL: url(['https', 'http']).optional(),
  BFLOW_PUSH_PROJECT: z.string().trim().min(1).max(200).optional(),
  BFLOW_PUSH_TOKEN: z.string().min(1).max(4096).optional(),
  // A bench/diagnostic setting, off in production: see CommonConfig.mysqlStatementMetrics.
  BFLOW_MYSQL_STATEMENT_METRICS: z.enum(['true', 'false', '1', '0']).default('false'),
});

/** The name of one configuration variable. */
export type ConfigVariable = keyof z.infer<typeof envSchema>;

/** Every configuration variable, in the README's order. */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape) as readonly ConfigVariable[];

/** How the gateway verifies tokens. */
export type AuthConfig =
  /** HS256 with `BFLOW_JWT_SECRET`; `generated`: made up at start (embedded `bflow all` with neither variable set), printed, gone at exit. */
  | { kind: 'secret'; secret: string; generated: boolean }
  /** RS256/ES256 with the keys of `BFLOW_JWKS_URL`. */
  | { kind: 'jwks'; url: string };

/** The settings every mode has. */
interface CommonConfig {
  /** The HTTP API's port (`bflow all`, `bflow gateway`). */
  port: number;
  /** Token verification; unset when neither BFLOW_JWT_SECRET nor BFLOW_JWKS_URL is (see {@link loadServerConfig}). */
  auth?: AuthConfig;
  shards: number;
  nodeId: string;
  logLevel: z.infer<typeof envSchema>['BFLOW_LOG_LEVEL'];
  /** Every server process serves /metrics and /health here when set (0 = any free port). */
  metricsPort?: number;
  /** Names the cluster's NATS KV buckets, subjects, streams and Redis keys (and the embedded event subjects). */
  cluster: string;
  /** Shard lease TTL: a dead node's shards are taken over after at most this long. */
  leaseTtlMs: number;
  /** Live runtime actors per node before the least recently used idle ones are passivated. */
  maxLiveActors: number;
  /** How long a node reuses a tenant's app configs and workflow records for starts (a change notice drops them at once; 0 = read per start). */
  startDefinitionTtlMs: number;
  /** Group-commit writers per node, each with one transaction in flight. */
  writers: number;
  /**
   * 0: each group commit writes the projections (runtime rows, inbox rows, timers) too. Above 0: it writes
   * the log and the document slots; the projections follow at most this many ms later, coalesced.
   */
  projectionDelayMs: number;
  /** Committed steps waiting for the projector beyond which a node's next group commit waits for it. */
  projectionBacklog: number;
  /** Requests per (tenant, caller): `burst` at once, refilled at `perMinute`. */
  rateLimit: { perMinute: number; burst: number };
  /**
   * Failed authentications per client IP: `burst` at once, refilled at `perMinute`, then 429 before the
   * token is verified; the client IP is `trustedProxyHops` from the right of X-Forwarded-For (0: the peer).
   */
  failedAuth: { perMinute: number; burst: number; trustedProxyHops: number };
  /**
   * Retention (docs/operations.md#retention): days each kind of row is kept (0: for ever), what happens to
   * removed hot rows, and the job's interval (0: off), batch size and time budget per run.
   */
  retention: {
    intervalMs: number;
    idempotencyDays: number;
    eventsDays: number;
    finishedDays: number;
    mode: 'archive' | 'delete';
    batchSize: number;
    runTimeoutMs: number;
  };
  /**
   * Webhook delivery: private targets, per-POST timeout, attempts per event and webhook, and how long a node
   * reuses a tenant's webhook list (a change notice drops it at once).
   */
  webhooks: { allowPrivate: boolean; timeoutMs: number; maxAttempts: number; webhookCacheMs: number };
  /**
   * Bench/diagnostic: count and time every statement the MySQL pools send and serve them as the
   * bflow_mysql_* metrics (the benchmarks read them; `npm run bench` turns this on). Costs a regex and a
   * timer per query, so it is off unless BFLOW_MYSQL_STATEMENT_METRICS=true.
   */
  mysqlStatementMetrics: boolean;
  /** The notifier (docs/operations.md#notifications): whether `bflow all` runs one, the links, the providers. */
  notifications: NotificationsConfig;
  /** Encryption at rest (docs/security.md): the master keys, generated per process when embedded and unset. */
  encryption: EncryptionConfig;
}

/** The notifier's settings; a provider left unset is a channel skipped. */
export interface NotificationsConfig {
  /** `bflow all` runs the notifier in process (BFLOW_NOTIFIER). */
  enabled: boolean;
  /** Links in notifications point at `<linkBase>/runtimes/<id>` (BFLOW_NOTIFY_LINK_BASE). */
  linkBase: string;
  /**
   * A replica that dies mid-batch gives its events back after this (the consumer's ack wait), and its claims on
   * deliveries lapse after twice this (BFLOW_NOTIFY_ACK_WAIT_MS).
   */
  ackWaitMs: number;
  smtp?: SmtpOptions;
  sms?: SmsOptions;
  push?: PushOptions;
}

/** No MySQL and no NATS: in-process store, bus and leases (`npm start`). */
export interface EmbeddedConfig extends CommonConfig {
  embedded: true;
}

/** A cluster: MySQL and NATS (and optionally Redis). */
export interface ClusterConfig extends CommonConfig {
  embedded: false;
  mysqlUrl: string;
  /** The gateway's read side; `BFLOW_MYSQL_URL` unless BFLOW_MYSQL_READ_URL is set. */
  mysqlReadUrl: string;
  natsUrl: string;
  redisUrl?: string;
}

export type BflowConfig = EmbeddedConfig | ClusterConfig;

/** A process that serves: `bflow all`, `bflow node`, `bflow gateway` or `bflow notifier`. */
export type ServerRole = 'all' | 'node' | 'gateway' | 'notifier';

/** What a server process also knows about its configuration. */
interface RoleFields {
  role: ServerRole;
  /** The variables set that this role does not read (reported at start, so a misplaced setting is not silently lost). */
  unused: readonly ConfigVariable[];
}

/**
 * The one resolved object a `bflow all | node | gateway` process runs from:
 * a role that serves the API always has `auth`; a cluster role always has
 * its MySQL and NATS URLs.
 */
export type ServerConfig = ApiServerConfig | NodeServerConfig | NotifierServerConfig;

/** `bflow all` (embedded or on a cluster) and `bflow gateway`: they serve the API. */
export type ApiServerConfig =
  | (EmbeddedConfig & RoleFields & { role: 'all'; auth: AuthConfig })
  | (ClusterConfig & RoleFields & { role: 'all' | 'gateway'; auth: AuthConfig });

/** `bflow node`: a shard host of a cluster. */
export type NodeServerConfig = ClusterConfig & RoleFields & { role: 'node' };

/** `bflow notifier`: a notifier replica of a cluster. */
export type NotifierServerConfig = ClusterConfig & RoleFields & { role: 'notifier' };

/** A configuration problem, naming each bad or missing variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'config_invalid';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** Parses the environment; throws ConfigError listing every problem. Empty strings count as unset. */
export function loadConfig(env: Env): BflowConfig {
  const { config, problems } = parse(env);
  if (config === undefined || problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * The configuration of one server process, for its role. `bflow node` and
 * `bflow gateway` need a cluster; a role serving the API needs a way to verify
 * tokens: BFLOW_JWT_SECRET or BFLOW_JWKS_URL, or, embedded only, a dev secret
 * generated here. Throws ConfigError listing every problem, the role's included.
 *
 * @example
 * const config = loadServerConfig(process.env, 'gateway'); // config.auth, config.mysqlUrl: set
 */
export function loadServerConfig(env: Env, role: 'node'): NodeServerConfig;
export function loadServerConfig(env: Env, role: 'notifier'): NotifierServerConfig;
export function loadServerConfig(env: Env, role: 'all' | 'gateway'): ApiServerConfig;
export function loadServerConfig(env: Env, role: ServerRole): ServerConfig;
export function loadServerConfig(env: Env, role: ServerRole): ServerConfig {
  const { config, problems, present } = parse(env);
  if (config !== undefined) problems.push(...roleProblems(config, role));
  if (config === undefined || problems.length > 0) throw new ConfigError(problems);
  const unused = present.filter((name) => !variablesRead(role, config.embedded).includes(name));
  if (config.embedded) {
    const auth = config.auth ?? { kind: 'secret', secret: generateDevSecret(), generated: true };
    return { ...config, role: 'all', auth, unused };
  }
  if (role === 'node' || role === 'notifier') return { ...config, role, unused };
  return { ...config, role, auth: config.auth!, unused }; // roleProblems refused a cluster API role without auth
}

function roleProblems(config: BflowConfig, role: ServerRole): string[] {
  if (role !== 'all' && config.embedded)
    return [`bflow ${role} needs BFLOW_MYSQL_URL and BFLOW_NATS_URL (for one process with no services, run bflow all)`];
  const problems: string[] = [];
  const who = role === 'all' ? 'bflow all on a cluster' : `bflow ${role}`;
  if (role !== 'node' && role !== 'notifier' && !config.embedded && config.auth === undefined)
    problems.push(`${who} needs BFLOW_JWT_SECRET or BFLOW_JWKS_URL to verify tokens`);
  if (!config.embedded && config.encryption.encrypt && config.encryption.keys === undefined)
    problems.push(`${who} ${MISSING_KEYS}`);
  return problems;
}

/** Read by every server process. */
const EVERY_ROLE: readonly ConfigVariable[] = [
  'BFLOW_MASTER_KEYS',
  'BFLOW_MASTER_KEY_FILE',
  'BFLOW_ENCRYPTION',
  'BFLOW_COMPRESSION',
  'BFLOW_NODE_ID',
  'BFLOW_LOG_LEVEL',
  'BFLOW_METRICS_PORT',
  'BFLOW_SHARDS',
  'BFLOW_CLUSTER',
];
/** Read where the HTTP API is served (webhook registrations are checked against BFLOW_WEBHOOK_ALLOW_PRIVATE). */
const API: readonly ConfigVariable[] = [
  'BFLOW_PORT',
  'BFLOW_JWT_SECRET',
  'BFLOW_JWKS_URL',
  'BFLOW_RATE_LIMIT_PER_MINUTE',
  'BFLOW_RATE_LIMIT_BURST',
  'BFLOW_AUTH_FAILURES_PER_MINUTE',
  'BFLOW_AUTH_FAILURES_BURST',
  'BFLOW_TRUSTED_PROXY_HOPS',
  'BFLOW_WEBHOOK_ALLOW_PRIVATE',
];
/** Read where runtimes are hosted and events delivered to webhooks. */
const HOST: readonly ConfigVariable[] = [
  'BFLOW_MAX_LIVE_ACTORS',
  'BFLOW_START_DEFINITION_TTL_MS',
  'BFLOW_WEBHOOK_ALLOW_PRIVATE',
  'BFLOW_WEBHOOK_TIMEOUT_MS',
  'BFLOW_WEBHOOK_MAX_ATTEMPTS',
  'BFLOW_WEBHOOK_CACHE_MS',
  'BFLOW_RETENTION_INTERVAL_MS',
  'BFLOW_RETENTION_IDEMPOTENCY_DAYS',
  'BFLOW_RETENTION_EVENTS_DAYS',
  'BFLOW_RETENTION_FINISHED_DAYS',
  'BFLOW_RETENTION_MODE',
  'BFLOW_RETENTION_BATCH',
  'BFLOW_RETENTION_RUN_TIMEOUT_MS',
];
const CLUSTER_NODE: readonly ConfigVariable[] = [
  'BFLOW_MYSQL_URL',
  'BFLOW_NATS_URL',
  'BFLOW_REDIS_URL',
  'BFLOW_LEASE_TTL_MS',
  'BFLOW_WRITERS',
  'BFLOW_PROJECTION_DELAY_MS',
  'BFLOW_PROJECTION_BACKLOG',
  'BFLOW_MYSQL_STATEMENT_METRICS',
];
/** Read where the notifier runs. */
const NOTIFY: readonly ConfigVariable[] = [
  'BFLOW_NOTIFY_LINK_BASE',
  'BFLOW_NOTIFY_ACK_WAIT_MS',
  'BFLOW_SMTP_URL',
  'BFLOW_SMTP_FROM',
  'BFLOW_SMS_URL',
  'BFLOW_SMS_ACCOUNT_SID',
  'BFLOW_SMS_AUTH_TOKEN',
  'BFLOW_SMS_FROM',
  'BFLOW_PUSH_URL',
  'BFLOW_PUSH_PROJECT',
  'BFLOW_PUSH_TOKEN',
];
const CLUSTER_NOTIFIER: readonly ConfigVariable[] = [
  'BFLOW_MYSQL_URL',
  'BFLOW_NATS_URL',
  'BFLOW_MYSQL_STATEMENT_METRICS',
];
const CLUSTER_GATEWAY: readonly ConfigVariable[] = [
  'BFLOW_MYSQL_URL',
  'BFLOW_MYSQL_READ_URL',
  'BFLOW_NATS_URL',
  'BFLOW_REDIS_URL',
  'BFLOW_MYSQL_STATEMENT_METRICS',
];

/** The variables a server process of `role` reads (`embedded`: `bflow all` with no MySQL/NATS). */
export function variablesRead(role: ServerRole, embedded: boolean): readonly ConfigVariable[] {
  const all: readonly ConfigVariable[] = ['BFLOW_NOTIFIER', ...NOTIFY];
  const parts =
    role === 'node'
      ? [EVERY_ROLE, HOST, CLUSTER_NODE]
      : role === 'gateway'
        ? [EVERY_ROLE, API, CLUSTER_GATEWAY]
        : role === 'notifier'
          ? [EVERY_ROLE, NOTIFY, CLUSTER_NOTIFIER]
          : embedded
            ? [EVERY_ROLE, API, HOST, all]
            : [EVERY_ROLE, API, HOST, CLUSTER_NODE, CLUSTER_GATEWAY, all];
  return CONFIG_VARIABLES.filter((name) => parts.some((part) => part.includes(name)));
}

interface Parsed {
  config: BflowConfig | undefined;
  problems: string[];
  /** The variables set (non-empty). */
  present: ConfigVariable[];
}

function parse(env: Env): Parsed {
  const present = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k.startsWith('BFLOW_') && v !== undefined && v !== ''),
  );
  const names = CONFIG_VARIABLES.filter((name) => present[name] !== undefined);
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${String(i.path[0])}=${JSON.stringify(present[String(i.path[0])] ?? '')}: ${i.message}`,
    );
    return { config: undefined, problems, present: names };
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.BFLOW_MYSQL_URL !== undefined && e.BFLOW_NATS_URL === undefined)
    problems.push(
      'BFLOW_NATS_URL is missing: a cluster needs both MySQL and NATS (unset BFLOW_MYSQL_URL for the embedded mode)',
    );
  if (e.BFLOW_NATS_URL !== undefined && e.BFLOW_MYSQL_URL === undefined)
    problems.push(
      'BFLOW_MYSQL_URL is missing: a cluster needs both MySQL and NATS (unset BFLOW_NATS_URL for the embedded mode)',
    );
  if (e.BFLOW_JWT_SECRET !== undefined && e.BFLOW_JWKS_URL !== undefined)
    problems.push('set only one of BFLOW_JWT_SECRET and BFLOW_JWKS_URL');
  problems.push(...providerProblems(e));
  const embedded = e.BFLOW_MYSQL_URL === undefined || e.BFLOW_NATS_URL === undefined;
  let encryption: EncryptionConfig | undefined;
  try {
    encryption = encryptionConfig(e, embedded);
  } catch (err) {
    problems.push((err as Error).message);
  }
  return {
    config: problems.length > 0 || encryption === undefined ? undefined : toConfig(e, encryption),
    problems,
    present: names,
  };
}

function encryptionConfig(e: z.infer<typeof envSchema>, embedded: boolean): EncryptionConfig {
  const encrypt = e.BFLOW_ENCRYPTION === 'on';
  const compress = e.BFLOW_COMPRESSION === 'on';
  const given = keyRingFromEnv(e);
  if (given !== undefined) return { keys: given.ring, source: given.source, encrypt, compress };
  // Embedded: like the dev JWT secret, a key for this process (its data lives in memory and ends with it).
  return embedded
    ? { keys: generatedKeyRing(), source: 'generated', encrypt, compress }
    : { source: 'none', encrypt, compress };
}

function toConfig(e: z.infer<typeof envSchema>, encryption: EncryptionConfig): BflowConfig {
  const embedded = e.BFLOW_MYSQL_URL === undefined || e.BFLOW_NATS_URL === undefined;
  const nodeId = e.BFLOW_NODE_ID ?? `${hostname()}-${process.pid}`;
  const common: CommonConfig = {
    port: e.BFLOW_PORT,
    shards: e.BFLOW_SHARDS,
    nodeId,
    logLevel: e.BFLOW_LOG_LEVEL,
    cluster: e.BFLOW_CLUSTER,
    leaseTtlMs: e.BFLOW_LEASE_TTL_MS,
    maxLiveActors: e.BFLOW_MAX_LIVE_ACTORS,
    startDefinitionTtlMs: e.BFLOW_START_DEFINITION_TTL_MS,
    writers: e.BFLOW_WRITERS,
    projectionDelayMs: e.BFLOW_PROJECTION_DELAY_MS,
    projectionBacklog: e.BFLOW_PROJECTION_BACKLOG,
    rateLimit: { perMinute: e.BFLOW_RATE_LIMIT_PER_MINUTE, burst: e.BFLOW_RATE_LIMIT_BURST },
    failedAuth: {
      perMinute: e.BFLOW_AUTH_FAILURES_PER_MINUTE,
      burst: e.BFLOW_AUTH_FAILURES_BURST,
      trustedProxyHops: e.BFLOW_TRUSTED_PROXY_HOPS,
    },
    retention: {
      intervalMs: e.BFLOW_RETENTION_INTERVAL_MS,
      idempotencyDays: e.BFLOW_RETENTION_IDEMPOTENCY_DAYS,
      eventsDays: e.BFLOW_RETENTION_EVENTS_DAYS,
      finishedDays: e.BFLOW_RETENTION_FINISHED_DAYS,
      mode: e.BFLOW_RETENTION_MODE,
      batchSize: e.BFLOW_RETENTION_BATCH,
      runTimeoutMs: e.BFLOW_RETENTION_RUN_TIMEOUT_MS,
    },
    webhooks: {
      // Refused by default in a cluster (no webhook may reach into the network bflow runs in); allowed embedded, for dev.
      allowPrivate:
        e.BFLOW_WEBHOOK_ALLOW_PRIVATE === undefined
          ? embedded
          : e.BFLOW_WEBHOOK_ALLOW_PRIVATE === 'true' || e.BFLOW_WEBHOOK_ALLOW_PRIVATE === '1',
      timeoutMs: e.BFLOW_WEBHOOK_TIMEOUT_MS,
      maxAttempts: e.BFLOW_WEBHOOK_MAX_ATTEMPTS,
      webhookCacheMs: e.BFLOW_WEBHOOK_CACHE_MS,
    },
    mysqlStatementMetrics: e.BFLOW_MYSQL_STATEMENT_METRICS === 'true' || e.BFLOW_MYSQL_STATEMENT_METRICS === '1',
    notifications: notificationsConfig(e, nodeId),
    encryption,
  };
  if (e.BFLOW_JWT_SECRET !== undefined) common.auth = { kind: 'secret', secret: e.BFLOW_JWT_SECRET, generated: false };
  if (e.BFLOW_JWKS_URL !== undefined) common.auth = { kind: 'jwks', url: e.BFLOW_JWKS_URL };
  if (e.BFLOW_METRICS_PORT !== undefined) common.metricsPort = e.BFLOW_METRICS_PORT;
  if (e.BFLOW_MYSQL_URL === undefined || e.BFLOW_NATS_URL === undefined) return { ...common, embedded: true };
  const cluster: ClusterConfig = {
    ...common,
    embedded: false,
    mysqlUrl: e.BFLOW_MYSQL_URL,
    mysqlReadUrl: e.BFLOW_MYSQL_READ_URL ?? e.BFLOW_MYSQL_URL,
    natsUrl: e.BFLOW_NATS_URL,
  };
  if (e.BFLOW_REDIS_URL !== undefined) cluster.redisUrl = e.BFLOW_REDIS_URL;
  return cluster;
}

/** A provider's URL needs its credentials, and credentials without the URL are a misplaced setting. */
function providerProblems(e: z.infer<typeof envSchema>): string[] {
  const problems: string[] = [];
  const needs = (given: string, names: readonly (keyof typeof e)[]) => {
    const missing = names.filter((n) => e[n] === undefined);
    if (missing.length > 0) problems.push(`${given} is set: also set ${missing.join(', ')}`);
  };
  if (e.BFLOW_SMS_URL !== undefined)
    needs('BFLOW_SMS_URL', ['BFLOW_SMS_ACCOUNT_SID', 'BFLOW_SMS_AUTH_TOKEN', 'BFLOW_SMS_FROM']);
  if (e.BFLOW_PUSH_URL !== undefined) needs('BFLOW_PUSH_URL', ['BFLOW_PUSH_PROJECT', 'BFLOW_PUSH_TOKEN']);
  return problems;
}

function notificationsConfig(e: z.infer<typeof envSchema>, nodeId: string): NotificationsConfig {
  const config: NotificationsConfig = {
    enabled: e.BFLOW_NOTIFIER === 'true' || e.BFLOW_NOTIFIER === '1',
    ackWaitMs: e.BFLOW_NOTIFY_ACK_WAIT_MS,
    linkBase: (e.BFLOW_NOTIFY_LINK_BASE ?? `http://localhost:${e.BFLOW_PORT}/api/v1`).replace(/\/$/, ''),
  };
  if (e.BFLOW_SMTP_URL !== undefined)
    config.smtp = { url: e.BFLOW_SMTP_URL, from: e.BFLOW_SMTP_FROM, clientName: `bflow-${nodeId}` };
  if (e.BFLOW_SMS_URL !== undefined)
    config.sms = {
      baseUrl: e.BFLOW_SMS_URL,
      accountSid: e.BFLOW_SMS_ACCOUNT_SID ?? '',
      authToken: e.BFLOW_SMS_AUTH_TOKEN ?? '',
      from: e.BFLOW_SMS_FROM ?? '',
    };
  if (e.BFLOW_PUSH_URL !== undefined)
    config.push = {
      baseUrl: e.BFLOW_PUSH_URL,
      project: e.BFLOW_PUSH_PROJECT ?? '',
      accessToken: e.BFLOW_PUSH_TOKEN ?? '',
    };
  return config;
}
