import { describe, expect, it } from 'vitest';
import { Closers } from './closers.ts';

function recording(): { closers: Closers; log: string[]; warnings: string[] } {
  const log: string[] = [];
  const warnings: string[] = [];
  return {
    closers: new Closers({ warn: (_obj: unknown, msg?: string) => void warnings.push(msg ?? '') }),
    log,
    warnings,
  };
}

describe('closers', () => {
  it('closers - close runs the steps last first, once, even when one fails', async () => {
    const { closers, log, warnings } = recording();
    expect(closers.add('pool', 'p', (v) => log.push(`end ${v}`))).toBe('p');
    closers.defer('nats', () => {
      throw new Error('already closed');
    });
    closers.defer('server', async () => void log.push('close server'));
    await Promise.all([closers.close(), closers.close()]);
    await closers.close();
    expect(log).toEqual(['close server', 'end p']);
    expect(warnings).toEqual(['closing nats failed']);
  });

  it('closers - a start that throws closes what it opened and rethrows; one that succeeds closes nothing', async () => {
    const { closers, log } = recording();
    const failed = closers.starting(async () => {
      closers.defer('pool', () => log.push('pool'));
      closers.defer('nats', () => log.push('nats'));
      throw new Error('node.start refused');
    });
    await expect(failed).rejects.toThrow('node.start refused');
    expect(log).toEqual(['nats', 'pool']);
    const ok = recording();
    await expect(ok.closers.starting(async () => ok.closers.defer('pool', () => ok.log.push('pool')))).resolves.toBe(
      undefined,
    );
    expect(ok.log).toEqual([]);
  });
});
