// The element's attributes, read and checked. A course author sets a lab up without code:
//
//   <redis-repl-lab topology="A;B>A;C>B" config="*:repl-diskless-sync-delay 1;A:repl-backlog-size 64kb"
//                   seed="7" lang="zh-CN" controls="minimal" views="stage,console,log" autoplay>
//
// Each attribute is parsed on its own; a bad value is reported (which attribute, what is wrong,
// in the catalog's words) and its default is used, so the lab always starts. Pure functions: the
// element turns the result into console lines and layout; tests run them in Node.

export const VIEWS = Object.freeze(['stage', 'inspector', 'buffer', 'message', 'sentinels', 'guide', 'console', 'log', 'sequence', 'timeline']);
/** The views of the side panel's tabs. */
export const SIDE_VIEWS = Object.freeze(['inspector', 'buffer', 'message', 'sentinels', 'guide']);
export const SPEEDS = Object.freeze([0.25, 1, 4, 16]);
export const CONTROLS = Object.freeze(['full', 'minimal', 'none']);
export const THEMES = Object.freeze(['light', 'dark', 'auto']);
export const MAX_NODES = 8;

/** Node names by slot: A, B, ... H. */
export const NODE_NAMES = Object.freeze(Array.from({ length: MAX_NODES }, (_, i) => String.fromCharCode(65 + i)));

/** Attributes changed at run time take effect at once; the others are read when the lab starts. */
export const LIVE_ATTRIBUTES = Object.freeze(['lang', 'controls', 'views', 'theme', 'speed', 'height', 'aspect-ratio']);

/**
 * Reads every attribute through `get(name)` (null when absent). Returns {settings, errors}:
 * errors are {attribute, key, params} for the catalogs (`error.attr.<key>`).
 */
export function readSettings(get) {
  const errors = [];
  const bad = (attribute, key, params = {}) => errors.push({ attribute, key, params: { value: get(attribute), ...params } });
  const settings = {
    seed: 1,
    nodes: defaultTopology(3),
    config: [],
    log: null,
    scenario: null,
    lang: null,
    controls: 'full',
    views: new Set(VIEWS),
    theme: 'light',
    speed: 1,
    autoplay: false,
    height: null,
    aspect: null,
  };

  const seed = get('seed');
  if (seed !== null) {
    const n = Number(seed);
    if (seed.trim() !== '' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff) settings.seed = n;
    else bad('seed', 'seed');
  }

  const nodes = get('nodes');
  if (nodes !== null) {
    const n = Number(nodes);
    if (Number.isInteger(n) && n >= 1 && n <= MAX_NODES) settings.nodes = defaultTopology(n);
    else bad('nodes', 'nodes', { max: MAX_NODES });
  }

  const topology = get('topology');
  if (topology !== null) {
    const parsed = parseTopology(topology);
    if (parsed.error) bad('topology', `topology.${parsed.error}`, parsed.params);
    else settings.nodes = parsed.nodes;
  }

  const config = get('config');
  if (config !== null) {
    const parsed = parseConfig(config, settings.nodes.length);
    if (parsed.error) bad('config', `config.${parsed.error}`, parsed.params);
    else settings.config = parsed.lines;
  }

  const log = get('log');
  if (log !== null && log.trim() !== '') settings.log = log.trim();

  const scenario = get('scenario');
  if (scenario !== null && scenario.trim() !== '') settings.scenario = scenario.trim();

  const lang = get('lang');
  if (lang !== null) {
    const l = lang.trim();
    if (l === 'auto' || l === '') settings.lang = 'auto';
    else if (/^(en|zh)(-[A-Za-z0-9]+)*$/i.test(l)) settings.lang = l;
    else bad('lang', 'lang');
  }

  settings.controls = oneOf(get('controls'), CONTROLS, 'full', () => bad('controls', 'controls', { choices: CONTROLS.join(', ') }));
  settings.theme = oneOf(get('theme'), THEMES, 'light', () => bad('theme', 'theme', { choices: THEMES.join(', ') }));

  const views = get('views');
  if (views !== null) {
    const list = views.split(',').map((v) => v.trim()).filter(Boolean);
    const unknown = list.filter((v) => !VIEWS.includes(v));
    if (unknown.length > 0 || list.length === 0) bad('views', 'views', { unknown: unknown.join(', '), choices: VIEWS.join(', ') });
    else settings.views = new Set(list);
  }

  const speed = get('speed');
  if (speed !== null) {
    const s = Number(speed);
    if (SPEEDS.includes(s)) settings.speed = s;
    else bad('speed', 'speed', { choices: SPEEDS.join(', ') });
  }

  const autoplay = get('autoplay');
  if (autoplay !== null) {
    if (['', 'true', 'autoplay'].includes(autoplay.trim())) settings.autoplay = true;
    else if (autoplay.trim() === 'false') settings.autoplay = false;
    else bad('autoplay', 'autoplay');
  }

  const height = get('height');
  if (height !== null) {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(px)?\s*$/.exec(height);
    if (m && Number(m[1]) >= 200) settings.height = Number(m[1]);
    else bad('height', 'height');
  }

  const aspect = get('aspect-ratio');
  if (aspect !== null) {
    const m = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)\s*$/.exec(aspect);
    if (m && Number(m[1]) > 0 && Number(m[2]) > 0) settings.aspect = `${m[1]} / ${m[2]}`;
    else bad('aspect-ratio', 'aspect');
  }

  return { settings, errors };
}

function oneOf(value, choices, fallback, onBad) {
  if (value === null) return fallback;
  const v = value.trim();
  if (choices.includes(v)) return v;
  onBad();
  return fallback;
}

/** A master and `n - 1` replicas of it. */
function defaultTopology(n) {
  return NODE_NAMES.slice(0, n).map((name, i) => ({ name, replicaOf: i === 0 ? null : 'A' }));
}

/**
 * `A;B>A;C>B`: nodes by name, `X>Y` making X a replica of Y. The lab has as many nodes as the
 * highest name says (a name not mentioned is a master of its own).
 */
export function parseTopology(text) {
  const items = text.split(';').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) return { error: 'empty' };
  const of = new Map();
  let highest = 0;
  for (const item of items) {
    const m = /^([A-Za-z])\s*(?:>\s*([A-Za-z]))?$/.exec(item);
    if (!m) return { error: 'item', params: { item } };
    const [name, master] = [m[1].toUpperCase(), m[2] ? m[2].toUpperCase() : null];
    for (const n of [name, master]) {
      if (n !== null && !NODE_NAMES.includes(n)) return { error: 'name', params: { name: n, last: NODE_NAMES[MAX_NODES - 1] } };
    }
    if (master === name) return { error: 'self', params: { name } };
    if (of.has(name) && of.get(name) !== master) return { error: 'twice', params: { name } };
    of.set(name, master);
    highest = Math.max(highest, NODE_NAMES.indexOf(name), master ? NODE_NAMES.indexOf(master) : 0);
  }
  return { nodes: NODE_NAMES.slice(0, highest + 1).map((name) => ({ name, replicaOf: of.get(name) ?? null })) };
}

/**
 * `A:repl-backlog-size 64kb;*:repl-timeout 10`: CONFIG SET lines per node (`*` for every node),
 * typed into the nodes' consoles when the lab starts.
 */
export function parseConfig(text, nodes) {
  const lines = [];
  for (const item of text.split(';').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z*])\s*:\s*([A-Za-z0-9-]+)\s+(.+)$/.exec(item);
    if (!m) return { error: 'item', params: { item } };
    const target = m[1].toUpperCase();
    if (target !== '*' && NODE_NAMES.indexOf(target) >= nodes) return { error: 'node', params: { name: target, item } };
    // A value with spaces (client-output-buffer-limit's) is one argument: quoted as redis-cli takes it.
    const value = m[3].trim();
    const arg = /\s/.test(value) ? `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"` : value;
    const line = `CONFIG SET ${m[2]} ${arg}`;
    for (let i = 0; i < nodes; i++) if (target === '*' || NODE_NAMES[i] === target) lines.push({ node: i, line });
  }
  return { lines };
}
