import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig, loadServerConfig, variablesRead } from './config.ts';

describe('config - environment', () => {
  it('defaults to the embedded mode', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, shards: 64, logLevel: 'info', embedded: true });
    expect(c.nodeId).toMatch(/-\d+$/);
  });

  it('a cluster config reads every variable; the read URL defaults to the write URL', () => {
    const c = loadConfig({
      BFLOW_PORT: '9000',
      BFLOW_MYSQL_URL: 'mysql://root@127.0.0.1:3306/bflow',
      BFLOW_NATS_URL: 'nats://127.0.0.1:4222',
      BFLOW_REDIS_URL: 'redis://127.0.0.1:6379',
      BFLOW_SHARDS: '32',
      BFLOW_NODE_ID: 'node-a',
      BFLOW_WRITERS: '8',
      BFLOW_PROJECTION_DELAY_MS: '150',
      BFLOW_RATE_LIMIT_PER_MINUTE: '60000',
      BFLOW_RATE_LIMIT_BURST: '5000',
    });
    expect(c).toMatchObject({
      port: 9000,
      shards: 32,
      nodeId: 'node-a',
      embedded: false,
      mysqlReadUrl: 'mysql://root@127.0.0.1:3306/bflow',
    });
    expect(c).toMatchObject({ writers: 8, projectionDelayMs: 150, rateLimit: { perMinute: 60_000, burst: 5_000 } });
    expect(loadConfig({})).toMatchObject({ writers: 1, rateLimit: { perMinute: 600, burst: 100 } });
  });

  it('retention and the failed-authentication limit: their defaults, values, and bad values named', () => {
    expect(loadConfig({})).toMatchObject({
      retention: {
        intervalMs: 3_600_000,
        idempotencyDays: 30,
        eventsDays: 30,
        finishedDays: 365,
        mode: 'archive',
        batchSize: 500,
        runTimeoutMs: 300_000,
      },
      failedAuth: { perMinute: 30, burst: 20, trustedProxyHops: 0 },
    });
    const c = loadConfig({
      BFLOW_RETENTION_INTERVAL_MS: '0',
      BFLOW_RETENTION_IDEMPOTENCY_DAYS: '1',
      BFLOW_RETENTION_EVENTS_DAYS: '0',
      BFLOW_RETENTION_FINISHED_DAYS: '90',
      BFLOW_RETENTION_MODE: 'delete',
      BFLOW_RETENTION_BATCH: '100',
      BFLOW_RETENTION_RUN_TIMEOUT_MS: '60000',
      BFLOW_AUTH_FAILURES_PER_MINUTE: '5',
      BFLOW_AUTH_FAILURES_BURST: '3',
      BFLOW_TRUSTED_PROXY_HOPS: '2',
    });
    expect(c.retention).toEqual({
      intervalMs: 0,
      idempotencyDays: 1,
      eventsDays: 0,
      finishedDays: 90,
      mode: 'delete',
      batchSize: 100,
      runTimeoutMs: 60_000,
    });
    expect(c.failedAuth).toEqual({ perMinute: 5, burst: 3, trustedProxyHops: 2 });
    const bad = () =>
      loadConfig({
        BFLOW_RETENTION_MODE: 'shred',
        BFLOW_RETENTION_FINISHED_DAYS: '-1',
        BFLOW_RETENTION_BATCH: '0',
        BFLOW_AUTH_FAILURES_BURST: '0',
        BFLOW_TRUSTED_PROXY_HOPS: 'one',
      });
    expect(bad).toThrow(ConfigError);
    const problems = (() => {
      try {
        bad();
      } catch (err) {
        return (err as ConfigError).problems;
      }
      return [];
    })();
    for (const name of [
      'BFLOW_RETENTION_MODE',
      'BFLOW_RETENTION_FINISHED_DAYS',
      'BFLOW_RETENTION_BATCH',
      'BFLOW_AUTH_FAILURES_BURST',
      'BFLOW_TRUSTED_PROXY_HOPS',
    ]) {
      expect(
        problems.some((p) => p.startsWith(`${name}=`)),
        name,
      ).toBe(true);
    }
  });

  it('names each bad value', () => {
    let error: unknown;
    try {
      loadConfig({
        BFLOW_PORT: 'eighty',
        BFLOW_SHARDS: '0',
        BFLOW_LOG_LEVEL: 'loud',
        BFLOW_REDIS_URL: 'localhost:6379',
        BFLOW_WRITERS: '0',
        BFLOW_RATE_LIMIT_BURST: 'lots',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of [
      'BFLOW_PORT="eighty"',
      'BFLOW_SHARDS="0"',
      'BFLOW_LOG_LEVEL="loud"',
      'BFLOW_REDIS_URL="localhost:6379"',
      'BFLOW_WRITERS="0"',
      'BFLOW_RATE_LIMIT_BURST="lots"',
    ]) {
      expect(message).toContain(name);
    }
  });

  it('MySQL without NATS (or the reverse) says which is missing', () => {
    expect(() => loadConfig({ BFLOW_MYSQL_URL: 'mysql://root@h/db' })).toThrow(/BFLOW_NATS_URL is missing/);
    expect(() => loadConfig({ BFLOW_NATS_URL: 'nats://h:4222' })).toThrow(/BFLOW_MYSQL_URL is missing/);
  });

  it('BFLOW_NATS_URL takes a comma-separated list of servers (a NATS cluster) and names a bad entry', () => {
    const c = loadConfig({
      BFLOW_MYSQL_URL: 'mysql://root@h/db',
      BFLOW_NATS_URL: 'nats://nats-0.nats:4222, nats://nats-1.nats:4222,tls://nats-2.nats:4222',
    });
    expect(c).toMatchObject({
      embedded: false,
      natsUrl: 'nats://nats-0.nats:4222,nats://nats-1.nats:4222,tls://nats-2.nats:4222',
    });
    expect(() => loadConfig({ BFLOW_MYSQL_URL: 'mysql://root@h/db', BFLOW_NATS_URL: 'nats://a:4222,b:4222' })).toThrow(
      /BFLOW_NATS_URL=.*comma-separated.*'b:4222'/,
    );
    expect(() => loadConfig({ BFLOW_MYSQL_URL: 'mysql://root@h/db', BFLOW_NATS_URL: 'nats://a:4222,' })).toThrow(
      /BFLOW_NATS_URL/,
    );
  });

  it('a short JWT secret is refused', () => {
    expect(() => loadConfig({ BFLOW_JWT_SECRET: 'short' })).toThrow(/BFLOW_JWT_SECRET.*at least 32/);
  });
});

const KEY = Buffer.alloc(32, 7).toString('base64');
const CLUSTER_ENV = {
  BFLOW_MYSQL_URL: 'mysql://root@127.0.0.1:3306/bflow',
  BFLOW_NATS_URL: 'nats://127.0.0.1:4222',
  BFLOW_MASTER_KEYS: `k1:${KEY}`,
};
const SECRET = 'x'.repeat(32);

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('no ConfigError');
}

describe('config - per server role', () => {
  it('config roles - embedded bflow all with no secret generates a dev secret, marked generated', () => {
    const a = loadServerConfig({}, 'all');
    const b = loadServerConfig({}, 'all');
    expect(a).toMatchObject({ role: 'all', embedded: true, auth: { kind: 'secret', generated: true } });
    expect(a.auth.kind === 'secret' && a.auth.secret.length).toBeGreaterThanOrEqual(32);
    expect(a.auth).not.toEqual(b.auth);
    expect(loadServerConfig({ BFLOW_JWT_SECRET: SECRET }, 'all').auth).toEqual({
      kind: 'secret',
      secret: SECRET,
      generated: false,
    });
    expect(loadServerConfig({ BFLOW_JWKS_URL: 'https://idp.example.com/jwks' }, 'all').auth).toEqual({
      kind: 'jwks',
      url: 'https://idp.example.com/jwks',
    });
  });

  it('config roles - a cluster gateway or bflow all without a secret or JWKS is refused, naming both variables', () => {
    expect(problemsOf(() => loadServerConfig(CLUSTER_ENV, 'gateway'))).toEqual([
      'bflow gateway needs BFLOW_JWT_SECRET or BFLOW_JWKS_URL to verify tokens',
    ]);
    expect(problemsOf(() => loadServerConfig(CLUSTER_ENV, 'all'))).toEqual([
      'bflow all on a cluster needs BFLOW_JWT_SECRET or BFLOW_JWKS_URL to verify tokens',
    ]);
    // A node verifies no token.
    expect(loadServerConfig(CLUSTER_ENV, 'node')).toMatchObject({ role: 'node', embedded: false });
  });

  it('config roles - bflow node and bflow gateway need a cluster; every problem is listed at once', () => {
    expect(problemsOf(() => loadServerConfig({}, 'node'))).toEqual([
      'bflow node needs BFLOW_MYSQL_URL and BFLOW_NATS_URL (for one process with no services, run bflow all)',
    ]);
    expect(problemsOf(() => loadServerConfig({ BFLOW_SHARDS: '0' }, 'gateway'))).toEqual([
      'BFLOW_SHARDS="0": Too small: expected number to be >=1',
    ]);
  });

  it('config roles - a cluster role without master keys refuses to start, naming the variables; embedded generates one', () => {
    const { BFLOW_MASTER_KEYS: _, ...noKeys } = CLUSTER_ENV;
    for (const role of ['node', 'notifier'] as const)
      expect(problemsOf(() => loadServerConfig(noKeys, role))).toEqual([
        expect.stringMatching(new RegExp(`^bflow ${role} needs BFLOW_MASTER_KEYS or BFLOW_MASTER_KEY_FILE`)),
      ]);
    expect(problemsOf(() => loadServerConfig({ ...noKeys, BFLOW_JWT_SECRET: SECRET }, 'gateway'))[0]).toMatch(
      /^bflow gateway needs BFLOW_MASTER_KEYS/,
    );
    // Every problem at once: no token verifier and no keys.
    expect(problemsOf(() => loadServerConfig(noKeys, 'all'))).toEqual([
      'bflow all on a cluster needs BFLOW_JWT_SECRET or BFLOW_JWKS_URL to verify tokens',
      expect.stringMatching(/^bflow all on a cluster needs BFLOW_MASTER_KEYS/),
    ]);
    // Off (benchmarks): no keys needed, values written as plaintext.
    expect(loadServerConfig({ ...noKeys, BFLOW_ENCRYPTION: 'off' }, 'node').encryption).toEqual({
      source: 'none',
      encrypt: false,
      compress: true,
    });
    // Compression is its own switch; a bad value is named.
    expect(
      loadServerConfig({ ...noKeys, BFLOW_ENCRYPTION: 'off', BFLOW_COMPRESSION: 'off' }, 'node').encryption,
    ).toMatchObject({ encrypt: false, compress: false });
    expect(problemsOf(() => loadServerConfig({ ...CLUSTER_ENV, BFLOW_COMPRESSION: 'gzip' }, 'node'))).toEqual([
      expect.stringMatching(/^BFLOW_COMPRESSION/),
    ]);
    const embedded = loadServerConfig({}, 'all').encryption;
    expect(embedded).toMatchObject({ source: 'generated', encrypt: true });
    expect(embedded.keys?.active.key).toHaveLength(32);
    const ring = loadServerConfig(CLUSTER_ENV, 'node').encryption;
    expect(ring).toMatchObject({ source: 'BFLOW_MASTER_KEYS', encrypt: true });
    expect(ring.keys?.ids).toEqual(['k1']);
  });

  it('config roles - a bad key ring is refused naming the variable and the entry, never the key', () => {
    const bad = (keys: string) =>
      problemsOf(() => loadServerConfig({ ...CLUSTER_ENV, BFLOW_MASTER_KEYS: keys }, 'node'));
    expect(bad('k1')).toEqual(['BFLOW_MASTER_KEYS entry 1: expected <id>:<base64 key>']);
    expect(bad(`k1:${KEY},k2:c2hvcnQ=`)[0]).toMatch(
      /^BFLOW_MASTER_KEYS entry 2: key "k2" must be 32 bytes in base64 \(got 5 bytes\)/,
    );
    expect(bad(`k1:${KEY},k1:${KEY}`)).toEqual(['BFLOW_MASTER_KEYS entry 2: key id "k1" is repeated']);
    expect(bad(`bad id:${KEY}`)[0]).toMatch(/key id "bad id" must be/);
    expect(bad('k2:c2hvcnQ=').join()).not.toContain('c2hvcnQ');
    const file = problemsOf(() =>
      loadServerConfig({ ...CLUSTER_ENV, BFLOW_MASTER_KEYS: '', BFLOW_MASTER_KEY_FILE: '/nonexistent/keys' }, 'node'),
    );
    expect(file).toEqual(['BFLOW_MASTER_KEY_FILE="/nonexistent/keys": cannot read it (ENOENT)']);
    expect(
      problemsOf(() => loadServerConfig({ ...CLUSTER_ENV, BFLOW_MASTER_KEY_FILE: '/etc/hostname' }, 'node')),
    ).toEqual(['set only one of BFLOW_MASTER_KEYS and BFLOW_MASTER_KEY_FILE']);
  });

  it('config roles - the variables a role does not read are reported as unused', () => {
    const everything = {
      ...CLUSTER_ENV,
      BFLOW_JWT_SECRET: SECRET,
      BFLOW_MYSQL_READ_URL: 'mysql://ro@127.0.0.1:3306/bflow',
      BFLOW_REDIS_URL: 'redis://127.0.0.1:6379',
      BFLOW_PORT: '9000',
      BFLOW_LEASE_TTL_MS: '5000',
      BFLOW_WRITERS: '3',
      BFLOW_MAX_LIVE_ACTORS: '10',
      BFLOW_WEBHOOK_TIMEOUT_MS: '1000',
    };
    expect(loadServerConfig(everything, 'all').unused).toEqual([]);
    expect(loadServerConfig(everything, 'node').unused).toEqual([
      'BFLOW_PORT',
      'BFLOW_JWT_SECRET',
      'BFLOW_MYSQL_READ_URL',
    ]);
    expect(loadServerConfig(everything, 'gateway').unused).toEqual([
      'BFLOW_LEASE_TTL_MS',
      'BFLOW_MAX_LIVE_ACTORS',
      'BFLOW_WRITERS',
      'BFLOW_WEBHOOK_TIMEOUT_MS',
    ]);
    expect(
      loadServerConfig({ BFLOW_REDIS_URL: 'redis://127.0.0.1:6379', BFLOW_WRITERS: '3', BFLOW_PORT: '9000' }, 'all')
        .unused,
    ).toEqual(['BFLOW_REDIS_URL', 'BFLOW_WRITERS']);
  });

  it('config roles - every variable is read by some role; bflow all on a cluster reads them all', () => {
    const read = new Set(
      (['all', 'node', 'gateway'] as const).flatMap((role) => [
        ...variablesRead(role, true),
        ...variablesRead(role, false),
      ]),
    );
    expect(CONFIG_VARIABLES.filter((name) => !read.has(name))).toEqual([]);
    expect(variablesRead('all', false)).toEqual(CONFIG_VARIABLES);
  });
});

describe('config - reaches the gateway', () => {
  it("BFLOW_RATE_LIMIT_* become the gateway's rate limit (ERP integrations pushing bulk commands as one client raise it)", async () => {
    const { gatewayOptionsFor } = await import('./gateway-server.ts');
    const config = loadServerConfig({ BFLOW_RATE_LIMIT_PER_MINUTE: '60000', BFLOW_RATE_LIMIT_BURST: '2000' }, 'all');
    const { options, rateLimitStore } = await gatewayOptionsFor(config);
    expect(options.rateLimit).toEqual({ perMinute: 60_000, burst: 2_000 });
    expect(rateLimitStore).toBeUndefined();
  });

  it('config - the resolved auth becomes the gateway auth option: a secret or a JWKS URL', async () => {
    const { gatewayOptionsFor } = await import('./gateway-server.ts');
    expect((await gatewayOptionsFor(loadServerConfig({ BFLOW_JWT_SECRET: SECRET }, 'all'))).options.auth).toEqual({
      secret: SECRET,
    });
    const jwks = loadServerConfig({ BFLOW_JWKS_URL: 'https://idp.example.com/jwks' }, 'all');
    expect((await gatewayOptionsFor(jwks)).options.auth).toEqual({ jwksUrl: 'https://idp.example.com/jwks' });
  });
});
