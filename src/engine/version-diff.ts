import type { Association, NodeDefinition, WorkflowDefinition, Zone } from './definition-schema.ts';

/** One item added, removed or changed between two versions: `before`/`after` are absent when it was added/removed. */
export interface DiffEntry<T> {
  key: string;
  change: 'added' | 'removed' | 'changed';
  before?: T;
  after?: T;
}

/**
 * The structural diff of two versions of a workflow (`GET /workflows/{id}/versions/{a}/diff/{b}`): what a
 * reviewer reads before migrating runtimes from one to the other. Nodes are keyed by id, associations by
 * `from→to`, fields by name, zones by id; `collaborators` and `conditions` single out the two changes that
 * decide who is assigned and where a runtime goes (they are also part of `nodes` / `associations`).
 */
export interface VersionDiff {
  nodes: DiffEntry<NodeDefinition>[];
  associations: DiffEntry<Association>[];
  conditions: DiffEntry<Association['condition']>[];
  fields: DiffEntry<string>[];
  zones: DiffEntry<Zone>[];
  collaborators: DiffEntry<NodeDefinition['collaborators']>[];
  /** Top-level settings (name, beneficiary, multiCompany, actionNames) that changed. */
  settings: DiffEntry<unknown>[];
}

const same = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b);

/** JSON with object keys sorted, so key order never reads as a change. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

function diffMaps<T>(before: ReadonlyMap<string, T>, after: ReadonlyMap<string, T>): DiffEntry<T>[] {
  const out: DiffEntry<T>[] = [];
  for (const [key, b] of before) {
    const a = after.get(key);
    if (a === undefined) out.push({ key, change: 'removed', before: b });
    else if (!same(a, b)) out.push({ key, change: 'changed', before: b, after: a });
  }
  for (const [key, a] of after) if (!before.has(key)) out.push({ key, change: 'added', after: a });
  return out;
}

/** Associations by `from→to` (a repeated pair gets `#n` from its second occurrence on). */
function associationsByKey(def: WorkflowDefinition): Map<string, Association> {
  const out = new Map<string, Association>();
  for (const a of def.associations) {
    const base = `${a.from}→${a.to}`;
    let k = base;
    for (let n = 2; out.has(k); n++) k = `${base}#${n}`;
    out.set(k, a);
  }
  return out;
}

const defined = <T>(m: Map<string, T | undefined>): Map<string, T> =>
  new Map([...m].filter((e): e is [string, T] => e[1] !== undefined));

export function diffVersions(before: WorkflowDefinition, after: WorkflowDefinition): VersionDiff {
  const nodesB = new Map(before.nodes.map((n) => [n.id, n]));
  const nodesA = new Map(after.nodes.map((n) => [n.id, n]));
  const assocB = associationsByKey(before);
  const assocA = associationsByKey(after);
  const settingsOf = (d: WorkflowDefinition) =>
    new Map<string, unknown>(
      Object.entries({
        name: d.name,
        beneficiary: d.beneficiary,
        multiCompany: d.multiCompany,
        actionNames: d.actionNames,
      }).filter(([, v]) => v !== undefined),
    );
  return {
    nodes: diffMaps(nodesB, nodesA),
    associations: diffMaps(assocB, assocA),
    conditions: diffMaps(
      defined(new Map([...assocB].map(([k, a]) => [k, a.condition]))),
      defined(new Map([...assocA].map(([k, a]) => [k, a.condition]))),
    ),
    fields: diffMaps(new Map(Object.entries(before.fields)), new Map(Object.entries(after.fields))),
    zones: diffMaps(new Map(before.zones.map((z) => [z.id, z])), new Map(after.zones.map((z) => [z.id, z]))),
    collaborators: diffMaps(
      defined(new Map(before.nodes.map((n) => [n.id, n.collaborators]))),
      defined(new Map(after.nodes.map((n) => [n.id, n.collaborators]))),
    ),
    settings: diffMaps(settingsOf(before), settingsOf(after)),
  };
}
