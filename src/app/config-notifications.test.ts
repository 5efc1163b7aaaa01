import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadServerConfig, variablesRead } from './config.ts';

const cluster = {
  BFLOW_MYSQL_URL: 'mysql://root@127.0.0.1:3306/x',
  BFLOW_NATS_URL: 'nats://127.0.0.1:4222',
  BFLOW_MASTER_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
};

describe('config - notifications', () => {
  it('config - notifier defaults: on in bflow all, links to the local API, no providers', () => {
    expect(loadConfig({ BFLOW_PORT: '9000' }).notifications).toEqual({
      enabled: true,
      ackWaitMs: 30_000,
      linkBase: 'http://localhost:9000/api/v1',
    });
    expect(loadConfig({ BFLOW_NOTIFIER: 'false' }).notifications.enabled).toBe(false);
  });

  it('config - providers are read with their credentials; a provider URL without them names what is missing', () => {
    const n = loadConfig({
      BFLOW_NODE_ID: 'n1',
      BFLOW_NOTIFY_LINK_BASE: 'https://bflow.example.com/api/v1/',
      BFLOW_SMTP_URL: 'smtps://u:p@mail.example.com',
      BFLOW_SMTP_FROM: 'Approvals <a@example.com>',
      BFLOW_SMS_URL: 'https://api.twilio.com',
      BFLOW_SMS_ACCOUNT_SID: 'AC1',
      BFLOW_SMS_AUTH_TOKEN: 't',
      BFLOW_SMS_FROM: '+1555',
      BFLOW_PUSH_URL: 'https://fcm.googleapis.com',
      BFLOW_PUSH_PROJECT: 'p',
      BFLOW_PUSH_TOKEN: 'ya29',
    }).notifications;
    expect(n.linkBase).toBe('https://bflow.example.com/api/v1');
    expect(n.smtp).toEqual({
      url: 'smtps://u:p@mail.example.com',
      from: 'Approvals <a@example.com>',
      clientName: 'bflow-n1',
    });
    expect(n.sms).toEqual({ baseUrl: 'https://api.twilio.com', accountSid: 'AC1', authToken: 't', from: '+1555' });
    expect(n.push).toEqual({ baseUrl: 'https://fcm.googleapis.com', project: 'p', accessToken: 'ya29' });
    expect(() => loadConfig({ BFLOW_SMS_URL: 'https://api.twilio.com', BFLOW_SMS_FROM: '+1' })).toThrow(
      /BFLOW_SMS_URL is set: also set BFLOW_SMS_ACCOUNT_SID, BFLOW_SMS_AUTH_TOKEN/,
    );
    expect(() => loadConfig({ BFLOW_SMTP_URL: 'http://mail' })).toThrow(ConfigError);
    expect(() => loadConfig({ BFLOW_NOTIFY_ACK_WAIT_MS: '10' })).toThrow(/BFLOW_NOTIFY_ACK_WAIT_MS/);
  });

  it('config - bflow notifier needs a cluster and no token verifier; it reads the notifier variables only', () => {
    expect(() => loadServerConfig({}, 'notifier')).toThrow(/bflow notifier needs BFLOW_MYSQL_URL and BFLOW_NATS_URL/);
    const config = loadServerConfig({ ...cluster, BFLOW_SMTP_URL: 'smtp://m:25', BFLOW_WRITERS: '4' }, 'notifier');
    expect(config.role).toBe('notifier');
    expect(config.unused).toEqual(['BFLOW_WRITERS']);
    expect(variablesRead('notifier', false)).toContain('BFLOW_SMTP_URL');
    expect(variablesRead('notifier', false)).not.toContain('BFLOW_NOTIFIER');
    expect(variablesRead('node', false)).not.toContain('BFLOW_SMTP_URL');
    expect(variablesRead('all', true)).toContain('BFLOW_NOTIFIER');
  });
});
