import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layering rules of docs/architecture.md, read from the imports of every
 * module under src/ (tests beside the code included: they may reach into their
 * own layer, not across the rules).
 *
 * | layer | may import |
 * |---|---|
 * | engine | itself, xstate, zod |
 * | shared | itself, no package (helpers every layer but the engine uses, e.g. the options resolver) |
 * | store | engine (its index), shared, itself |
 * | actors | engine (its index), shared, store, itself |
 * | gateway | engine (its index), shared, store, actors (a concern's index.ts or the layer's shared files), itself |
 * | check | engine, shared, store, actors, itself |
 * | app | every layer but cli |
 * | cli | everything |
 *
 * `shared` exists because the store may not import actors: a helper both need (resolveOptions) has to sit
 * below both, and the engine is the domain, not a toolbox.
 */
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

type Layer = 'engine' | 'shared' | 'store' | 'actors' | 'gateway' | 'check' | 'app' | 'cli';

const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  engine: ['engine'],
  shared: ['shared'],
  store: ['engine', 'shared', 'store'],
  actors: ['engine', 'shared', 'store', 'actors'],
  gateway: ['engine', 'shared', 'store', 'actors', 'gateway'],
  check: ['engine', 'shared', 'store', 'actors', 'check'],
  app: ['engine', 'shared', 'store', 'actors', 'gateway', 'check', 'app'],
  cli: ['engine', 'shared', 'store', 'actors', 'gateway', 'check', 'app', 'cli'],
};

const ENGINE_PACKAGES = new Set(['xstate', 'zod']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** Static imports, re-exports and dynamic `import('…')` of a module. */
function importsOf(file: string): string[] {
  const text = withoutComments(readFileSync(file, 'utf8'));
  const statics = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gm)].map((m) => m[1]!);
  const dynamics = [...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]!);
  return [...statics, ...dynamics];
}

const layerOf = (file: string): Layer => relative(SRC, file).split('/')[0] as Layer;

interface Edge {
  from: string;
  spec: string;
  target?: string;
}

const edges: Edge[] = sourceFiles(SRC).flatMap((from) =>
  importsOf(from).map((spec) =>
    spec.startsWith('.') ? { from, spec, target: resolve(dirname(from), spec) } : { from, spec },
  ),
);

const show = (e: Edge) => `${relative(SRC, e.from)} → ${e.spec}`;

describe('architecture - layering', () => {
  it('every module under src/ belongs to a known layer', () => {
    const unknown = sourceFiles(SRC)
      .map((f) => relative(SRC, f))
      .filter((f) => !(f.split('/')[0]! in MAY_IMPORT));
    expect(unknown).toEqual([]);
  });

  it('each layer imports only the layers it may', () => {
    const offenders = edges
      .filter((e) => e.target !== undefined)
      // Tests beside the code may use the shared fixtures under test/.
      .filter((e) => !(e.from.endsWith('.test.ts') && relative(SRC, e.target!).startsWith('../test/')))
      .filter((e) => !MAY_IMPORT[layerOf(e.from)].includes(layerOf(e.target!)))
      .map(show);
    expect(offenders).toEqual([]);
  });

  it('shared (tests beside it aside) imports no package', () => {
    const offenders = edges
      .filter((e) => layerOf(e.from) === 'shared' && !e.from.endsWith('.test.ts'))
      .filter((e) => e.target === undefined)
      .map(show);
    expect(offenders).toEqual([]);
  });

  it('the engine (tests beside it aside) imports no package but xstate and zod', () => {
    const offenders = edges
      .filter((e) => layerOf(e.from) === 'engine' && !e.from.endsWith('.test.ts'))
      .filter((e) => e.target === undefined && !ENGINE_PACKAGES.has(e.spec))
      .map(show);
    expect(offenders).toEqual([]);
  });

  it('outside the engine, the engine is imported through its index', () => {
    const offenders = edges
      .filter((e) => e.target !== undefined && layerOf(e.from) !== 'engine' && layerOf(e.target) === 'engine')
      .filter((e) => relative(SRC, e.target!) !== 'engine/index.ts')
      .map(show);
    expect(offenders).toEqual([]);
  });

  it("outside actors, an actors concern is imported through its index (or the layer's shared files)", () => {
    const offenders = edges
      .filter((e) => e.target !== undefined && layerOf(e.from) !== 'actors' && layerOf(e.target) === 'actors')
      .filter((e) => {
        const parts = relative(join(SRC, 'actors'), e.target!).split('/');
        return parts.length > 1 && parts[1] !== 'index.ts';
      })
      .map(show);
    expect(offenders).toEqual([]);
  });
});
