import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('config - webhooks', () => {
  it('config - webhook defaults: private targets allowed embedded, refused in a cluster; 5 s timeout, 6 attempts, lists cached 30 s', () => {
    expect(loadConfig({}).webhooks).toEqual({
      allowPrivate: true,
      timeoutMs: 5_000,
      maxAttempts: 6,
      webhookCacheMs: 30_000,
    });
    const cluster = {
      BFLOW_MYSQL_URL: 'mysql://root@127.0.0.1:3306/x',
      BFLOW_NATS_URL: 'nats://127.0.0.1:4222',
      BFLOW_JWT_SECRET: 'x'.repeat(32),
    };
    expect(loadConfig(cluster).webhooks.allowPrivate).toBe(false);
    expect(loadConfig({ ...cluster, BFLOW_WEBHOOK_ALLOW_PRIVATE: 'true' }).webhooks.allowPrivate).toBe(true);
  });

  it('config - BFLOW_WEBHOOK_* are read and checked', () => {
    const env = {
      BFLOW_WEBHOOK_ALLOW_PRIVATE: 'false',
      BFLOW_WEBHOOK_TIMEOUT_MS: '2500',
      BFLOW_WEBHOOK_MAX_ATTEMPTS: '3',
      BFLOW_WEBHOOK_CACHE_MS: '0',
    };
    expect(loadConfig(env).webhooks).toEqual({
      allowPrivate: false,
      timeoutMs: 2_500,
      maxAttempts: 3,
      webhookCacheMs: 0,
    });
    expect(loadConfig({ BFLOW_WEBHOOK_ALLOW_PRIVATE: '0' }).webhooks.allowPrivate).toBe(false);
    expect(() => loadConfig({ BFLOW_WEBHOOK_ALLOW_PRIVATE: 'maybe' })).toThrow(ConfigError);
    expect(() => loadConfig({ BFLOW_WEBHOOK_MAX_ATTEMPTS: '0' })).toThrow(/BFLOW_WEBHOOK_MAX_ATTEMPTS/);
    expect(() => loadConfig({ BFLOW_WEBHOOK_CACHE_MS: '-1' })).toThrow(/BFLOW_WEBHOOK_CACHE_MS/);
  });
});
