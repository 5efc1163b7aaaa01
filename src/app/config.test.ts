import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

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
    expect(c).toMatchObject({ writers: 8, rateLimit: { perMinute: 60_000, burst: 5_000 } });
    expect(loadConfig({})).toMatchObject({ writers: 2, rateLimit: { perMinute: 600, burst: 100 } });
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

  it('a short JWT secret is refused', () => {
    expect(() => loadConfig({ BFLOW_JWT_SECRET: 'short' })).toThrow(/BFLOW_JWT_SECRET.*at least 32/);
  });
});

describe('config - reaches the gateway', () => {
  it("BFLOW_RATE_LIMIT_* become the gateway's rate limit (ERP integrations pushing bulk commands as one client raise it)", async () => {
    const { gatewayOptionsFor } = await import('./gateway-server.ts');
    const config = loadConfig({ BFLOW_RATE_LIMIT_PER_MINUTE: '60000', BFLOW_RATE_LIMIT_BURST: '2000' });
    const { options } = await gatewayOptionsFor(config, { secret: 'x'.repeat(32) });
    expect(options.rateLimit).toEqual({ perMinute: 60_000, burst: 2_000 });
  });
});
