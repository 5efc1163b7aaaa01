import { describe, expect, it } from 'vitest';
import { isInternalAddress, publicOnlyLookup, webhookUrlProblem } from './webhook-target.ts';

describe('webhook target - URL rules', () => {
  it('webhookUrlProblem - http(s) only, no credentials, no fragment', () => {
    expect(webhookUrlProblem('https://erp.example.com/hooks/bflow?x=1', false)).toBeUndefined();
    expect(webhookUrlProblem('http://erp.example.com:8080/h', false)).toBeUndefined();
    expect(webhookUrlProblem('ftp://erp.example.com/h', true)).toMatch(/http and https/);
    expect(webhookUrlProblem('file:///etc/passwd', true)).toMatch(/http and https/);
    expect(webhookUrlProblem('javascript:alert(1)', true)).toMatch(/http and https/);
    expect(webhookUrlProblem('/relative', true)).toMatch(/absolute/);
    expect(webhookUrlProblem('https://user:pw@erp.example.com/h', true)).toMatch(/credentials/);
    expect(webhookUrlProblem('https://user@erp.example.com/h', true)).toMatch(/credentials/);
    expect(webhookUrlProblem('https://erp.example.com/h#x', true)).toMatch(/fragment/);
    expect(webhookUrlProblem(`https://erp.example.com/${'a'.repeat(2048)}`, true)).toMatch(/2048/);
  });

  it('webhookUrlProblem - internal addresses only when private targets are allowed', () => {
    for (const url of [
      'http://127.0.0.1:9000/h',
      'http://localhost/h',
      'http://10.1.2.3/h',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/h',
      'http://[fe80::1]/h',
      'http://[::ffff:127.0.0.1]/h',
      'http://[::7f00:1]/h',
      'http://2130706433/h',
      'http://0.0.0.0/h',
      'http://192.168.1.1/h',
    ]) {
      expect(webhookUrlProblem(url, true), url).toBeUndefined();
      expect(webhookUrlProblem(url, false), url).toMatch(/not allowed/);
    }
    expect(webhookUrlProblem('http://8.8.8.8/h', false)).toBeUndefined();
    expect(webhookUrlProblem('http://[2001:4860::8888]/h', false)).toBeUndefined();
  });

  it('isInternalAddress - ranges', () => {
    expect(
      [
        '127.0.0.1',
        '10.0.0.1',
        '172.16.5.4',
        '172.31.255.255',
        '192.168.0.1',
        '169.254.169.254',
        '100.64.0.1',
        '::1',
        'fd00::1',
        '::ffff:10.0.0.1',
      ].every(isInternalAddress),
    ).toBe(true);
    expect(['8.8.8.8', '172.32.0.1', '1.1.1.1', '2606:4700::1111', 'example.com'].some(isInternalAddress)).toBe(false);
  });

  it('publicOnlyLookup - a name resolving to loopback is refused at connect time', async () => {
    const result = await new Promise<{ err: NodeJS.ErrnoException | null; address: string }>((resolve) =>
      publicOnlyLookup('localhost', { family: 0 }, (err, address) => resolve({ err, address: String(address) })),
    );
    expect(result.err?.message).toMatch(/internal address/);
  });
});
