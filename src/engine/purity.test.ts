import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The engine is pure (docs/architecture.md#layers): it imports only xstate, zod and itself,
// and never reads the clock, randomness, the environment or the network.
const dir = new URL('./', import.meta.url);
const sources = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .map((f) => ({ file: f, text: withoutComments(readFileSync(new URL(f, dir), 'utf8')) }));

function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

describe('engine - purity', () => {
  it('imports nothing but xstate, zod and its own modules', () => {
    const offenders: string[] = [];
    for (const { file, text } of sources) {
      for (const [, spec] of text.matchAll(/from '([^']+)'/g)) {
        const ok = spec === 'xstate' || spec === 'zod' || (spec!.startsWith('./') && !spec!.includes('/', 2));
        if (!ok) offenders.push(`${file}: ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('reads no clock, randomness, environment or I/O', () => {
    const forbidden =
      /\bDate\.now\(|new Date\(\)|Math\.random|process\.|require\(|\bfetch\(|setTimeout|setInterval|console\./;
    const offenders = sources
      .filter(({ text }) => forbidden.test(text))
      .map(({ file, text }) => `${file}: ${forbidden.exec(text)![0]}`);
    expect(offenders).toEqual([]);
  });
});
