// embed.html: the lab for pages that can only embed an iframe (Moodle, Canvas, Notion, many
// static-site hosts). The URL's parameters are the element's attributes (embed.html?nodes=3&
// lang=zh-CN&controls=minimal); `origins` lists the host pages (origins, comma-separated) that
// may drive the lab with postMessage and receive its events:
//
//   iframe.contentWindow.postMessage({ lab: 1, id: 7, method: 'exec', args: [0, 'SET k v'] }, embedOrigin);
//   → { lab: 1, id: 7, result: 'OK' }   or   { lab: 1, id: 7, error: { code, message } }
//   and events: { lab: 1, event: 'lab-ready' | 'lab-event' | 'lab-error' | 'lab-state', detail }
//
// A message from an origin not in the list, or one that is not shaped so, is ignored. Without
// `origins` only the page's own origin may drive it.

import './lab/redis-repl-lab.js';

const ATTRIBUTES = ['nodes', 'topology', 'config', 'seed', 'log', 'scenario', 'lang', 'controls', 'autoplay', 'speed', 'views', 'theme', 'traffic-events'];
/** What a host page may call: the element's API. */
const METHODS = new Set(['exec', 'addNode', 'removeNode', 'setLoad', 'play', 'pause', 'run', 'step', 'seek', 'state', 'actionLog', 'openScenario']);
const GETTERS = new Set(['nodeCount', 'now', 'playing']);
const EVENTS = ['lab-ready', 'lab-event', 'lab-error', 'lab-state', 'lab-step', 'lab-answer', 'lab-checkpoint', 'lab-scenario-complete'];

const params = new URLSearchParams(location.search);
const origins = new Set((params.get('origins') || location.origin).split(',').map((o) => o.trim()).filter(Boolean));

// The lab speaks its page's language: without `lang`, this page's is the reader's.
if (params.get('lang') === null) document.documentElement.lang = navigator.language || 'en';

const lab = document.createElement('redis-repl-lab');
for (const name of ATTRIBUTES) {
  const value = params.get(name);
  if (value !== null) lab.setAttribute(name, value);
}
document.querySelector('main').append(lab);

/** Sends to the host page, if it is one of the allowed origins. */
function tell(message) {
  if (window.parent === window) return;
  for (const origin of origins) window.parent.postMessage({ lab: 1, ...message }, origin);
}

for (const name of EVENTS) lab.addEventListener(name, (e) => tell({ event: name, detail: e.detail ?? null }));

window.addEventListener('message', async (e) => {
  if (!origins.has(e.origin)) return;
  const m = e.data;
  if (!m || typeof m !== 'object' || m.lab !== 1 || typeof m.method !== 'string') return;
  if (!(METHODS.has(m.method) || GETTERS.has(m.method))) return;
  if (m.args !== undefined && !Array.isArray(m.args)) return;
  const args = m.args || [];
  const reply = (body) => e.source && e.source.postMessage({ lab: 1, id: m.id, ...body }, e.origin);
  try {
    const result = METHODS.has(m.method) ? await lab[m.method](...args) : lab[m.method];
    reply({ result: result === undefined ? null : result });
  } catch (err) {
    reply({ error: { code: (err && err.code) || 'failed', message: (err && err.message) || String(err) } });
  }
});
