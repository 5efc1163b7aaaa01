// The difference between two workflow definitions, by what a designer thinks in: nodes added, removed and
// changed (with the keys that changed), associations added, removed and changed, and other top-level keys.
import { edgeLabel } from './graph.js';

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function changedKeys(a, b) {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => !same(a[k], b[k])).sort();
}

/** Associations keyed `from→to#k` (the k-th between the two nodes), so a changed condition is one change. */
function keyedAssociations(def) {
  const seen = new Map();
  const out = new Map();
  for (const a of def.associations ?? []) {
    const pair = `${a.from}→${a.to}`;
    const k = seen.get(pair) ?? 0;
    seen.set(pair, k + 1);
    out.set(k === 0 ? pair : `${pair}#${k + 1}`, a);
  }
  return out;
}

export function definitionDiff(before, after) {
  const nodesA = new Map((before.nodes ?? []).map((n) => [n.id, n]));
  const nodesB = new Map((after.nodes ?? []).map((n) => [n.id, n]));
  const edgesA = keyedAssociations(before);
  const edgesB = keyedAssociations(after);
  const changes = [];
  for (const [id, n] of nodesB) {
    if (!nodesA.has(id)) changes.push({ what: 'node', id, change: 'added', detail: `${n.title} (${n.kind})` });
    else if (!same(nodesA.get(id), n))
      changes.push({ what: 'node', id, change: 'changed', detail: changedKeys(nodesA.get(id), n).join(', ') });
  }
  for (const [id, n] of nodesA)
    if (!nodesB.has(id)) changes.push({ what: 'node', id, change: 'removed', detail: `${n.title} (${n.kind})` });
  for (const [key, a] of edgesB) {
    if (!edgesA.has(key)) changes.push({ what: 'association', id: key, change: 'added', detail: edgeLabel(a) });
    else if (!same(edgesA.get(key), a))
      changes.push({
        what: 'association',
        id: key,
        change: 'changed',
        detail: `${edgeLabel(edgesA.get(key)) || '(none)'} ⇒ ${edgeLabel(a) || '(none)'}`,
      });
  }
  for (const [key, a] of edgesA)
    if (!edgesB.has(key)) changes.push({ what: 'association', id: key, change: 'removed', detail: edgeLabel(a) });
  const { nodes: _n1, associations: _a1, ...restA } = before;
  const { nodes: _n2, associations: _a2, ...restB } = after;
  for (const key of changedKeys(restA, restB))
    changes.push({
      what: 'workflow',
      id: key,
      change: key in restA ? (key in restB ? 'changed' : 'removed') : 'added',
      detail: '',
    });
  return changes;
}
