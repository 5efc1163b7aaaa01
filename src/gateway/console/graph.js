// A workflow version drawn as SVG: dagre lays the nodes out (ranks top to bottom), nodes are colored by kind,
// each association is an arrow labelled with its condition, and validation errors (engine paths such as
// `nodes[2].exit.approve` or `associations[3].condition`) mark the node or edge they point at.
import { graphlib, layout } from './dagre.js';
import { h, s } from './dom.js';

const NODE_W = 170;
const NODE_H = 52;
const LABEL_MAX = 44;

/** An operand as text: a field name, a literal, `{field}` or a function call. */
function operand(o) {
  if (typeof o === 'string') return o;
  if (o === null || typeof o !== 'object') return JSON.stringify(o);
  if ('field' in o) return o.field;
  if ('fn' in o)
    return `${o.fn}(${(o.args ?? []).map((a) => (isCondition(a) ? conditionText(a) : operand(a))).join(', ')})`;
  return JSON.stringify(o);
}

const isCondition = (c) => c !== null && typeof c === 'object' && ('op' in c || 'and' in c || 'or' in c);

/** A condition as text: `amount >= 10000000`, groups in parentheses. */
export function conditionText(c) {
  if (c === undefined || c === null) return '';
  if (Array.isArray(c.and)) return c.and.map((x) => wrap(x)).join(' and ');
  if (Array.isArray(c.or)) return c.or.map((x) => wrap(x)).join(' or ');
  if ('op' in c) {
    const right = typeof c.right === 'string' ? JSON.stringify(c.right) : operand(c.right);
    return `${operand(c.left)} ${c.op} ${right}`;
  }
  return JSON.stringify(c);
}

const wrap = (c) => (Array.isArray(c.and) || Array.isArray(c.or) ? `(${conditionText(c)})` : conditionText(c));

/** The label of an association: its condition, `else`, or nothing. */
export function edgeLabel(a) {
  if (a.else) return 'else';
  return a.condition ? conditionText(a.condition) : '';
}

const shorten = (text) => (text.length > LABEL_MAX ? `${text.slice(0, LABEL_MAX - 1)}…` : text);

/** Validation errors by what they point at: `node:<id>`, `edge:<index>`, or `workflow`. */
export function errorsByTarget(definition, errors) {
  const byTarget = new Map();
  for (const e of errors ?? []) {
    const node = /^\$?\.?nodes\[(\d+)\]/.exec(e.path);
    const edge = /^\$?\.?associations\[(\d+)\]/.exec(e.path);
    const key = node
      ? `node:${definition?.nodes?.[Number(node[1])]?.id ?? node[1]}`
      : edge
        ? `edge:${edge[1]}`
        : 'workflow';
    byTarget.set(key, [...(byTarget.get(key) ?? []), e]);
  }
  return byTarget;
}

/**
 * What can be drawn of a definition that may be invalid: the nodes with a string id (the first of a
 * duplicate), and the associations between two of them, each with its index in the definition.
 */
function drawable(definition) {
  const nodes = [];
  const ids = new Set();
  for (const n of Array.isArray(definition?.nodes) ? definition.nodes : []) {
    if (typeof n?.id !== 'string' || ids.has(n.id)) continue;
    ids.add(n.id);
    nodes.push({ id: n.id, kind: String(n.kind ?? '?'), title: String(n.title ?? n.id) });
  }
  const edges = (Array.isArray(definition?.associations) ? definition.associations : [])
    .map((a, index) => ({ a, index }))
    .filter(({ a }) => ids.has(a?.from) && ids.has(a?.to));
  return { nodes, edges };
}

function layoutOf({ nodes, edges }) {
  const g = new graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 40, ranksep: 60, edgesep: 20, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: NODE_W, height: NODE_H });
  for (const { a, index } of edges) {
    const label = shorten(edgeLabel(a));
    const size = { width: label ? label.length * 6.4 : 0, height: label ? 16 : 0, labelpos: 'c' };
    g.setEdge(a.from, a.to, size, String(index));
  }
  layout(g);
  return g;
}

const pathOf = (points) => points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');

function edgeElement(g, { a, index }, problems) {
  const e = g.edge({ v: a.from, w: a.to, name: String(index) });
  const text = edgeLabel(a);
  return s(
    'g',
    {
      class: `edge${a.else ? ' else' : ''}${problems.length ? ' invalid' : ''}`,
      'data-edge': index,
      'data-from': a.from,
      'data-to': a.to,
    },
    s('title', {}, `${a.from} → ${a.to}${text ? `: ${text}` : ''}${problems.map((p) => `\n⚠ ${p.message}`).join('')}`),
    s('path', { d: pathOf(e.points), 'marker-end': 'url(#arrow)' }),
    text ? s('text', { x: e.x, y: e.y + 4, 'text-anchor': 'middle', class: 'edge-label' }, shorten(text)) : null,
  );
}

function nodeElement(g, n, problems) {
  const box = g.node(n.id);
  return s(
    'g',
    {
      class: ['node', `kind-${n.kind}`, problems.length ? 'invalid' : ''].filter(Boolean).join(' '),
      'data-node': n.id,
      transform: `translate(${box.x - NODE_W / 2},${box.y - NODE_H / 2})`,
    },
    s('title', {}, `${n.title} (${n.id}, ${n.kind})${problems.map((p) => `\n⚠ ${p.path}: ${p.message}`).join('')}`),
    s('rect', { width: NODE_W, height: NODE_H, rx: n.kind === 'task' ? 6 : 24 }),
    s('text', { x: NODE_W / 2, y: 22, 'text-anchor': 'middle', class: 'node-title' }, shorten(n.title).slice(0, 26)),
    s('text', { x: NODE_W / 2, y: 40, 'text-anchor': 'middle', class: 'node-id' }, `${n.id} · ${n.kind}`),
    problems.length ? s('text', { x: NODE_W - 12, y: 16, class: 'warn', 'aria-hidden': 'true' }, '⚠') : null,
  );
}

/**
 * The SVG of `definition`, which may be invalid; `errors` are the validator's `{path, message}` items. Every
 * node is a `g.node[data-node]`, every association between two drawn nodes a `g.edge[data-edge="<index>"]`.
 */
export function drawGraph(definition, { errors = [] } = {}) {
  const parts = drawable(definition);
  const g = layoutOf(parts);
  const marks = errorsByTarget(definition, errors);
  const { width, height } = g.graph();
  const svg = s(
    'svg',
    {
      class: 'graph',
      viewBox: `0 0 ${Math.ceil(width)} ${Math.ceil(height)}`,
      width: Math.ceil(width),
      height: Math.ceil(height),
      role: 'img',
      'aria-label': `Graph of ${definition?.name ?? 'a workflow'}: ${parts.nodes.length} nodes, ${parts.edges.length} associations`,
    },
    s(
      'defs',
      {},
      s(
        'marker',
        {
          id: 'arrow',
          viewBox: '0 0 10 10',
          refX: 10,
          refY: 5,
          // In user units: the arrowhead keeps its size on a thicker (invalid) edge.
          markerUnits: 'userSpaceOnUse',
          markerWidth: 9,
          markerHeight: 9,
          orient: 'auto',
        },
        s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }),
      ),
    ),
  );
  for (const edge of parts.edges) svg.append(edgeElement(g, edge, marks.get(`edge:${edge.index}`) ?? []));
  for (const n of parts.nodes) svg.append(nodeElement(g, n, marks.get(`node:${n.id}`) ?? []));
  return svg;
}

/** The legend of node kinds. */
export function legend() {
  return h(
    'ul',
    { class: 'legend', 'aria-label': 'Node kinds' },
    ['initial', 'task', 'approved', 'completed'].map((k) => h('li', { class: `kind-${k}` }, k)),
    h('li', { class: 'invalid' }, 'has a validation error'),
  );
}
