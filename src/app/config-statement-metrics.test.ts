import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('config - MySQL statement metrics', () => {
  it('are off unless BFLOW_MYSQL_STATEMENT_METRICS asks for them (a bench/diagnostic setting)', () => {
    expect(loadConfig({}).mysqlStatementMetrics).toBe(false);
    expect(loadConfig({ BFLOW_MYSQL_STATEMENT_METRICS: 'false' }).mysqlStatementMetrics).toBe(false);
    expect(loadConfig({ BFLOW_MYSQL_STATEMENT_METRICS: 'true' }).mysqlStatementMetrics).toBe(true);
    expect(loadConfig({ BFLOW_MYSQL_STATEMENT_METRICS: '1' }).mysqlStatementMetrics).toBe(true);
  });

  it('refuses another value', () => {
    expect(() => loadConfig({ BFLOW_MYSQL_STATEMENT_METRICS: 'yes' })).toThrow(ConfigError);
  });
});
