/* global document, Node */
// DOM building and number formatting shared by the page's modules (no framework).

/**
 * Creates an element: `h('a', { href, class: 'x', onclick: f }, 'text', child)`. Attributes set to
 * null, undefined or false are left out; `true` sets an empty attribute. Children may be strings,
 * nodes, arrays, or null (skipped). Text is always inserted as text, never as HTML.
 */
export function h(tag, attrs = {}, ...children) {
  const ns = SVG_TAGS.has(tag) ? 'http://www.w3.org/2000/svg' : null;
  const el = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && !ns) el.value = v;
    else if (k === 'checked' && !ns) el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

const SVG_TAGS = new Set([
  'svg',
  'g',
  'path',
  'rect',
  'line',
  'polyline',
  'polygon',
  'circle',
  'text',
  'title',
  'defs',
  'pattern',
  'linearGradient',
  'stop',
]);

/** Replaces the children of the element with this id (or element). */
export function fill(target, ...children) {
  const el = typeof target === 'string' ? document.getElementById(target) : target;
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (id) => document.getElementById(id);

/** 1234567 → "1,234,567" */
export function thousands(n) {
  return Number(n || 0).toLocaleString('en-US');
}

/** Bytes in binary units: 1536 → "1.50 KB". */
export function bytes(n) {
  n = Number(n || 0);
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(2)} ${units[i]}`;
}

/** Compact numbers for chart axes: 12500 → "12.5k". */
export function compact(n) {
  if (n >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return String(+n.toFixed(n < 10 ? 1 : 0));
}

/** Sorted list of ids → "[a,b], [c,d]" ranges. */
export function ranges(ids) {
  const sorted = [...ids].sort((a, b) => a - b);
  const out = [];
  for (const id of sorted) {
    const last = out[out.length - 1];
    if (last && last[1] === id - 1) last[1] = id;
    else out.push([id, id]);
  }
  return out;
}

/** A distinct, stable colour per group id. */
export function groupColor(gid) {
  const palette = [
    '#2f7ed8',
    '#e4572e',
    '#29a36a',
    '#8e5bd0',
    '#f0a202',
    '#17a2b8',
    '#d6336c',
    '#6c8a00',
    '#795548',
    '#5c6bc0',
  ];
  return palette[(Number(gid) - 1 + palette.length * 100) % palette.length];
}
