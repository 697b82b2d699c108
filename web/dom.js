// DOM helpers. Every piece of text goes in through text nodes (`textContent`), never
// through HTML parsing, so display names and quiz content (user input) are always escaped.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * h('button', { class: 'x', onclick: fn, disabled: true, 'aria-label': '…' }, 'text', child)
 * Strings and numbers become text nodes; null/false children are skipped; arrays are flattened.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'text') {
      el.textContent = String(value);
    } else if (key === 'style' && typeof value === 'object') {
      for (const [prop, v] of Object.entries(value)) el.style.setProperty(prop, String(v));
    } else if (key in el && typeof value !== 'string' && key !== 'list') {
      el[key] = value; // properties such as disabled, checked, value (non-string), hidden
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// Shapes that go with each choice colour, so colour is never the only cue.
const SHAPES = [
  'M12 3 L22 20 H2 Z', // triangle
  'M12 2 L22 12 L12 22 L2 12 Z', // diamond
  'M12 2 A10 10 0 1 1 11.99 2 Z', // circle
  'M3 3 H21 V21 H3 Z', // square
  'M12 2 L14.9 8.6 L22 9.3 L16.6 14 L18.2 21 L12 17.3 L5.8 21 L7.4 14 L2 9.3 L9.1 8.6 Z', // star
  'M7 3 H17 L22 12 L17 21 H7 L2 12 Z', // hexagon
];

export function shape(index) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'shape');
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', SHAPES[index % SHAPES.length]);
  svg.append(path);
  return svg;
}

const ICONS = {
  flame: 'M12 2c1 4 5 6 5 11a5 5 0 0 1-10 0c0-2 1-4 2-5 0 2 1 3 2 3 0-3-1-6 1-9z',
  check: 'M4 12.5 9.5 18 20 6.5',
  cross: 'M5 5 19 19 M19 5 5 19',
  user: 'M12 12a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9zm-8 9c0-4 3.6-7 8-7s8 3 8 7z',
  lock: 'M7 11V8a5 5 0 0 1 10 0v3 M5 11h14v10H5z',
};

export function icon(name, cls = '') {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', `icon icon-${name} ${cls}`.trim());
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', ICONS[name]);
  svg.append(path);
  return svg;
}

export const LETTERS = 'ABCDEF';

export { ordinal } from './i18n.js';

let lastAnnouncement = '';
/** Says something through the page's polite aria-live region (deduplicated). */
export function announce(text) {
  const region = document.getElementById('announcer');
  if (!region || !text || text === lastAnnouncement) return;
  lastAnnouncement = text;
  region.textContent = text;
}

/** Keeps the URL's `?transport=` and `?lang=` (and only those) when moving between pages. */
export function pageUrl(path) {
  const here = new URLSearchParams(location.search);
  const keep = new URLSearchParams();
  for (const name of ['transport', 'lang']) if (here.get(name)) keep.set(name, here.get(name));
  const query = keep.toString();
  return query ? `${path}?${query}` : path;
}

/** Moves keyboard and screen-reader focus to `el` (made focusable if it is not). */
export function focusOn(el) {
  if (!el) return;
  if (!el.hasAttribute('tabindex') && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(el.tagName)) el.setAttribute('tabindex', '-1');
  el.focus({ preventScroll: false });
}

export function setTitle(text) {
  document.title = text ? `${text} · quizcast` : 'quizcast';
}
