import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

/** The repository's deploy/ directory. */
export const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** One YAML file of deploy/, parsed (merge keys `<<` resolved, as Docker Compose does). */
export function readYaml<T = any>(path: string): T {
  return parseYaml(readFileSync(`${DEPLOY}${path}`, 'utf8'), { merge: true }) as T;
}

/** Every document of a multi-document YAML file of deploy/ (Kubernetes manifests). */
export function readYamlDocuments(path: string): any[] {
  return parseAllDocuments(readFileSync(`${DEPLOY}${path}`, 'utf8'))
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`${path}: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS();
    })
    .filter((d) => d !== null);
}

/**
 * Resolves Docker Compose's `${NAME:-default}`, `${NAME-default}` and `${NAME:?message}` in `value` from
 * `vars` (what deploy/compose/.env.example sets); a bare `${NAME}` must be set there.
 */
export function interpolate(value: string, vars: Readonly<Record<string, string>>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}/g, (_, name: string, op?: string, rest?: string) => {
    const set = vars[name];
    if (op === undefined) {
      if (set === undefined) throw new Error(`\${${name}} is not set in .env.example`);
      return set;
    }
    if (op.endsWith('?')) {
      if (set === undefined || set === '') throw new Error(`\${${name}}: ${rest}`);
      return set;
    }
    return set === undefined || (op === ':-' && set === '') ? (rest ?? '') : set;
  });
}

/** KEY=value lines of an env file (comments and blank lines skipped). */
export function readEnvFile(path: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(`${DEPLOY}${path}`, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) vars[m[1]!] = m[2]!;
  }
  return vars;
}
