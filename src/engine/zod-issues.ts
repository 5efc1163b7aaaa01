import type { core } from 'zod';
import type { EngineErrorDetail } from './errors.ts';
import { jsonPath } from './json-path.ts';

type Issue = core.$ZodIssue;

/**
 * Turns zod issues into `{path, message}` details. Union failures are narrowed to the
 * branch the input most resembles, so a bad `op` in a condition reports `…condition.op`
 * rather than zod's bare "Invalid input"; unknown keys get one detail each, at the key.
 */
export function zodIssuesToDetails(issues: readonly Issue[], base: readonly PropertyKey[] = []): EngineErrorDetail[] {
  return issues.flatMap((issue) => issueToDetails(issue, [...base, ...issue.path]));
}

function issueToDetails(issue: Issue, path: PropertyKey[]): EngineErrorDetail[] {
  switch (issue.code) {
    case 'invalid_union':
      return issue.errors.length === 0 ? [unionWithoutBranches(issue, path)] : unionToDetails(issue.errors, path);
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        path: jsonPath([...path, key]),
        message: `unknown key "${key}": remove it or fix its spelling`,
      }));
    case 'invalid_type':
      return [{ path: jsonPath(path), message: invalidTypeMessage(issue) }];
    default:
      return [{ path: jsonPath(path), message: issue.message }];
  }
}

/** A discriminated union whose discriminator matched no option; zod's path already ends at the discriminator. */
function unionWithoutBranches(issue: Issue & { code: 'invalid_union' }, path: PropertyKey[]): EngineErrorDetail {
  const options = 'options' in issue ? issue.options : undefined;
  if (issue.discriminator === undefined || !options) return { path: jsonPath(path), message: issue.message };
  const allowed = options.map((o) => JSON.stringify(o)).join(', ');
  return { path: jsonPath(path), message: `must be one of ${allowed}` };
}

function invalidTypeMessage(issue: Issue & { code: 'invalid_type' }): string {
  return issue.message.endsWith('received undefined') ? `required: add a ${issue.expected}` : issue.message;
}

function unionToDetails(branches: readonly (readonly Issue[])[], path: PropertyKey[]): EngineErrorDetail[] {
  const scored = branches.map((issues) => ({ issues, score: mismatchScore(issues) }));
  const best = Math.min(...scored.map((b) => b.score));
  const winners = scored.filter((b) => b.score === best);
  if (winners.length === 1 && winners[0]) return zodIssuesToDetails(winners[0].issues, path);
  const expected = winners.flatMap((b) => b.issues.map((i) => i.message.replace(/^Invalid input: /, '')));
  return [{ path: jsonPath(path), message: `invalid value: ${[...new Set(expected)].join(', or ')}` }];
}

/** How badly a union branch fits: a wrong shape (unknown keys, missing keys) weighs more than a wrong value. */
function mismatchScore(issues: readonly Issue[]): number {
  let score = 0;
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') score += 10 * issue.keys.length;
    else if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) score += 5;
    else score += 1;
  }
  return score;
}
