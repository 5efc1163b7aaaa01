// DOM helpers of the console: elements are built with createElement and text nodes only (never innerHTML),
// so nothing the API returns can become markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Appends children: strings and numbers become text nodes; null, undefined and false are skipped. */
function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

function setAttributes(el, attrs) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'value' && 'value' in el) el.value = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  return el;
}

/** An HTML element: `h('button', { type: 'button', onclick }, 'Approve')`. */
export function h(tag, attrs, ...children) {
  return append(setAttributes(document.createElement(tag), attrs), children);
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
  return append(setAttributes(document.createElementNS(SVG_NS, tag), attrs), children);
}

/** Replaces the content of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A local date and time, or an em dash. */
export function when(iso) {
  if (iso === undefined || iso === null) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

/** 90061000 → "1d 1h 1m". */
export function duration(ms) {
  if (ms === undefined || ms === null) return '—';
  const m = Math.round(ms / 60_000);
  if (m < 1) return `${Math.round(ms / 1000)}s`;
  const parts = [];
  if (m >= 1440) parts.push(`${Math.floor(m / 1440)}d`);
  if (m % 1440 >= 60) parts.push(`${Math.floor((m % 1440) / 60)}h`);
  if (m % 60 > 0) parts.push(`${m % 60}m`);
  return parts.join(' ');
}

/** A labelled form control: `field('Comment', h('textarea', { id: 'c' }))`. */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('small', {}, hint) : null);
}
