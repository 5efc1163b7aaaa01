import { hostname } from 'node:os';
import { z } from 'zod';

/**
 * bflow's configuration: the BFLOW_* environment variables (docs/operations.md#configuration),
 * parsed and validated once at start. Nothing else reads process.env.
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

const envSchema = z.object({
  BFLOW_PORT: z.coerce.number().int().min(1).max(65_535).default(8080),
  BFLOW_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  BFLOW_JWKS_URL: url(['https', 'http']).optional(),
  BFLOW_MYSQL_URL: url(['mysql']).optional(),
  BFLOW_MYSQL_READ_URL: url(['mysql']).optional(),
  BFLOW_REDIS_URL: url(['redis', 'rediss']).optional(),
  BFLOW_NATS_URL: url(['nats', 'tls']).optional(),
  BFLOW_SHARDS: z.coerce.number().int().min(1).max(4096).default(64),
  BFLOW_NODE_ID: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, _ . -')
    .optional(),
  BFLOW_METRICS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  BFLOW_CLUSTER: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,32}$/, 'use 1-32 letters, digits, _ or -')
    .default('bflow'),
  BFLOW_LEASE_TTL_MS: z.coerce.number().int().min(1000).max(600_000).default(10_000),
  BFLOW_MAX_LIVE_ACTORS: z.coerce.number().int().min(1).default(50_000),
  BFLOW_START_DEFINITION_TTL_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  BFLOW_WRITERS: z.coerce.number().int().min(1).max(64).default(2),
  BFLOW_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(10_000_000).default(600),
  BFLOW_RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(1_000_000).default(100),
  BFLOW_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BFLOW_WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false', '1', '0']).optional(),
  BFLOW_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5_000),
  BFLOW_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(6),
  BFLOW_WEBHOOK_CACHE_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  // A bench/diagnostic setting, off in production: see BflowConfig.mysqlStatementMetrics.
  BFLOW_MYSQL_STATEMENT_METRICS: z.enum(['true', 'false', '1', '0']).default('false'),
});

export interface BflowConfig {
  port: number;
  jwtSecret?: string;
  jwksUrl?: string;
  mysqlUrl?: string;
  mysqlReadUrl?: string;
  redisUrl?: string;
  natsUrl?: string;
  shards: number;
  nodeId: string;
  logLevel: z.infer<typeof envSchema>['BFLOW_LOG_LEVEL'];
  /** `bflow node` serves /metrics and /health here when set (0 = any free port). */
  metricsPort?: number;
  /** Names the cluster's NATS KV buckets, subjects and Redis keys, so clusters can share servers. */
  cluster: string;
  /** Shard lease TTL: a dead node's shards are taken over after at most this long. */
  leaseTtlMs: number;
  /** Live runtime actors per node before the least recently used idle ones are passivated. */
  maxLiveActors: number;
  /** How long a node reuses a tenant's app configs and workflow records for starts (a change notice drops them at once; 0 = read per start). */
  startDefinitionTtlMs: number;
  /** No MySQL and no NATS: in-process store, bus and leases (`npm start`). */
  embedded: boolean;
  /** Group-commit writers per node, each with one transaction in flight. */
  writers: number;
  /** Requests per (tenant, caller): `burst` at once, refilled at `perMinute`. */
  rateLimit: { perMinute: number; burst: number };
  /** Webhook deliveries: targets, per-POST timeout and attempts per event and webhook. */
  /** Webhook delivery; `webhookCacheMs`: how long a node reuses a tenant's webhook list (a change notice drops it at once). */
  webhooks: { allowPrivate: boolean; timeoutMs: number; maxAttempts: number; webhookCacheMs: number };
  /**
   * Bench/diagnostic: count and time every statement the MySQL pools send and serve them as the
   * bflow_mysql_* metrics (the benchmarks read them; `npm run bench` turns this on). Costs a regex and a
   * timer per query, so it is off unless BFLOW_MYSQL_STATEMENT_METRICS=true.
   */
  mysqlStatementMetrics: boolean;
}

/** A configuration problem, naming each bad or missing variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'config_invalid';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** Parses the environment; throws ConfigError listing every problem. Empty strings count as unset. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): BflowConfig {
  const present = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k.startsWith('BFLOW_') && v !== undefined && v !== ''),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map(
        (i) => `${String(i.path[0])}=${JSON.stringify(present[String(i.path[0])] ?? '')}: ${i.message}`,
      ),
    );
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
  if (problems.length > 0) throw new ConfigError(problems);
  const config: BflowConfig = {
    port: e.BFLOW_PORT,
    shards: e.BFLOW_SHARDS,
    nodeId: e.BFLOW_NODE_ID ?? `${hostname()}-${process.pid}`,
    logLevel: e.BFLOW_LOG_LEVEL,
    cluster: e.BFLOW_CLUSTER,
    leaseTtlMs: e.BFLOW_LEASE_TTL_MS,
    maxLiveActors: e.BFLOW_MAX_LIVE_ACTORS,
    startDefinitionTtlMs: e.BFLOW_START_DEFINITION_TTL_MS,
    embedded: e.BFLOW_MYSQL_URL === undefined,
    writers: e.BFLOW_WRITERS,
    rateLimit: { perMinute: e.BFLOW_RATE_LIMIT_PER_MINUTE, burst: e.BFLOW_RATE_LIMIT_BURST },
    webhooks: {
      // Refused by default in a cluster (no webhook may reach into the network bflow runs in); allowed embedded, for dev.
      allowPrivate:
        e.BFLOW_WEBHOOK_ALLOW_PRIVATE === undefined
          ? e.BFLOW_MYSQL_URL === undefined
          : e.BFLOW_WEBHOOK_ALLOW_PRIVATE === 'true' || e.BFLOW_WEBHOOK_ALLOW_PRIVATE === '1',
      timeoutMs: e.BFLOW_WEBHOOK_TIMEOUT_MS,
      maxAttempts: e.BFLOW_WEBHOOK_MAX_ATTEMPTS,
      webhookCacheMs: e.BFLOW_WEBHOOK_CACHE_MS,
    },
    mysqlStatementMetrics: e.BFLOW_MYSQL_STATEMENT_METRICS === 'true' || e.BFLOW_MYSQL_STATEMENT_METRICS === '1',
  };
  if (e.BFLOW_JWT_SECRET !== undefined) config.jwtSecret = e.BFLOW_JWT_SECRET;
  if (e.BFLOW_JWKS_URL !== undefined) config.jwksUrl = e.BFLOW_JWKS_URL;
  if (e.BFLOW_MYSQL_URL !== undefined) config.mysqlUrl = e.BFLOW_MYSQL_URL;
  const readUrl = e.BFLOW_MYSQL_READ_URL ?? e.BFLOW_MYSQL_URL;
  if (readUrl !== undefined) config.mysqlReadUrl = readUrl;
  if (e.BFLOW_REDIS_URL !== undefined) config.redisUrl = e.BFLOW_REDIS_URL;
  if (e.BFLOW_NATS_URL !== undefined) config.natsUrl = e.BFLOW_NATS_URL;
  if (e.BFLOW_METRICS_PORT !== undefined) config.metricsPort = e.BFLOW_METRICS_PORT;
  return config;
}
