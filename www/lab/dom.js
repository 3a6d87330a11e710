// Small DOM helpers. Text only ever reaches the page through textContent and attribute values:
// keys, values, node names and scenario text are user input, and nothing here parses HTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Creates an HTML element. `props`: `class`, `text`, `on` ({event: handler}), `dataset`,
 * and any other entry as an attribute (`null`/`false` skipped, `true` as an empty attribute).
 */
export function h(tag, props = {}, ...children) {
  return build(document.createElement(tag), props, children);
}

/** Creates an SVG element, as `h` does. */
export function svg(tag, props = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), props, children);
}

function build(el, props, children) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** Sets an element's text if it differs (no layout work when nothing changed). */
export function setText(el, text) {
  const s = String(text ?? '');
  if (el.textContent !== s) el.textContent = s;
}

/** Sets (or, for null/undefined/false, removes) an attribute if it differs. */
export function setAttr(el, name, value) {
  if (value === null || value === undefined || value === false) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
    return;
  }
  const s = value === true ? '' : String(value);
  if (el.getAttribute(name) !== s) el.setAttribute(name, s);
}

/** Toggles a class if needed. */
export function setClass(el, name, on) {
  if (el.classList.contains(name) !== Boolean(on)) el.classList.toggle(name, Boolean(on));
}

/** Sets a CSS property (a custom property too) if it differs. */
export function setStyle(el, name, value) {
  const s = String(value);
  if (el.style.getPropertyValue(name) !== s) el.style.setProperty(name, s);
}

/** Keeps `parent`'s children equal to `items` mapped through `make`, reusing them by key. */
export function reconcile(parent, items, key, make, update) {
  const old = new Map();
  for (const child of Array.from(parent.children)) old.set(child.dataset.key, child);
  let prev = null;
  for (const item of items) {
    const k = String(key(item));
    let el = old.get(k);
    if (el) old.delete(k);
    else {
      el = make(item);
      el.dataset.key = k;
    }
    if (update) update(el, item);
    const next = prev ? prev.nextSibling : parent.firstChild;
    if (next !== el) parent.insertBefore(el, next);
    prev = el;
  }
  for (const el of old.values()) el.remove();
}
