import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './deploy-files.ts';

/**
 * scripts/audit.mjs (CI's dependency audit) with a stand-in `npm` on PATH that prints a given
 * `npm audit --json` answer: a high finding fails the step, none passes, and an advisory endpoint that
 * answers 405 (as the registry these machines reach does) passes saying it could not check.
 */
const dir = mkdtempSync(join(tmpdir(), 'bflow-audit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function audit(answer: unknown): { status: number | null; out: string } {
  writeFileSync(join(dir, 'answer.json'), JSON.stringify(answer));
  const npm = join(dir, 'npm');
  writeFileSync(npm, `#!/bin/sh\ncat "${join(dir, 'answer.json')}"\nexit 1\n`);
  chmodSync(npm, 0o755);
  const run = spawnSync(process.execPath, [join(ROOT, 'scripts/audit.mjs')], {
    env: { PATH: `${dir}:${process.env.PATH}` },
    encoding: 'utf8',
  });
  return { status: run.status, out: run.stdout + run.stderr };
}

const counts = (high: number, critical = 0) => ({
  metadata: { vulnerabilities: { info: 0, low: 2, moderate: 1, high, critical, total: 3 + high + critical } },
});

describe('ci - dependency audit', () => {
  it('fails on a high or critical advisory', () => {
    expect(audit(counts(1))).toMatchObject({ status: 1, out: expect.stringMatching(/FAIL: 1 high or critical/) });
    expect(audit(counts(0, 2)).status).toBe(1);
  });

  it('passes when there is none', () => {
    expect(audit(counts(0))).toMatchObject({ status: 0, out: expect.stringMatching(/^audit: ok/) });
  });

  it('passes, saying it could not check, when the registry answers 405', () => {
    const answer = { message: '405 Method Not Allowed - POST …/advisories/bulk', statusCode: 405 };
    expect(audit(answer)).toMatchObject({ status: 0, out: expect.stringMatching(/NOT CHECKED: .*405/) });
  });
});
