// Entry point of the lab page: loads the wasm engine, creates a master and a replica, runs the
// virtual clock from requestAnimationFrame, and renders state, messages and events.
// JavaScript holds no replication logic: it sends user actions and draws what the engine reports.

import { t, LANGUAGES, detectLanguage, setLanguage, getLanguage, applyTranslations, onLanguageChange } from './i18n.js';
import { LabView } from './lab-view.js';
import { NodeConsole } from './console.js';

const MAX_EVENTS = 500;
const MAX_FRAME_ADVANCE_MS = 1000;

const $ = (id) => document.getElementById(id);
const ui = {
  playPause: $('play-pause'),
  speed: $('speed'),
  clock: $('clock'),
  language: $('language'),
  banner: $('error-banner'),
  bannerMessage: $('error-message'),
  loading: $('loading'),
  view: $('lab-view'),
  consoles: $('consoles'),
  events: $('event-log'),
};

const state = {
  mod: null,
  lab: null,
  view: null,
  consoles: [],
  playing: false,
  speed: 1,
  broken: false, // set after a panic: the wasm instance must not be called again
  raf: 0,
  lastTs: null,
  lastVersion: null,
  lastClock: '',
  forceRender: true,
  hadInFlight: false,
  nodeNames: [],
};

// ---------------------------------------------------------------------------------------------
// Errors

function errorText(err) {
  if (err === undefined || err === null) return t('error.unknown');
  if (typeof err === 'string') return err;
  if (err instanceof Error) return err.message || String(err);
  try {
    return String(err);
  } catch {
    return t('error.unknown');
  }
}

function panicMessage() {
  if (!state.mod || typeof state.mod.lastPanic !== 'function') return undefined;
  try {
    const msg = state.mod.lastPanic();
    return typeof msg === 'string' && msg !== '' ? msg : undefined;
  } catch {
    return undefined;
  }
}

/** Shows the banner. Exposed to tests as window.__lab.showError. */
function showError(message) {
  ui.bannerMessage.textContent = String(message);
  ui.banner.hidden = false;
}

/**
 * Reports an exception thrown by a call into the engine. A Rust panic (lastPanic() set, or a
 * WebAssembly trap) leaves the instance unusable, so the loop stops for good.
 */
function reportLabError(err) {
  const panic = panicMessage();
  const trap = typeof WebAssembly !== 'undefined' && err instanceof WebAssembly.RuntimeError;
  showError(panic ?? errorText(err));
  if (panic !== undefined || trap) {
    state.broken = true;
    setPlaying(false);
    ui.playPause.disabled = true;
    ui.speed.disabled = true;
  }
}

/** Runs fn (a call into the engine); on an exception shows the banner and returns fallback. */
function guard(fn, fallback) {
  if (state.broken) return fallback;
  try {
    return fn();
  } catch (err) {
    reportLabError(err);
    return fallback;
  }
}

window.addEventListener('error', (e) => {
  showError(panicMessage() ?? errorText(e.error ?? e.message));
});
window.addEventListener('unhandledrejection', (e) => {
  showError(panicMessage() ?? errorText(e.reason));
});

ui.banner.querySelector('#error-dismiss').addEventListener('click', () => {
  ui.banner.hidden = true;
});
ui.banner.querySelector('#error-reload').addEventListener('click', () => location.reload());

// ---------------------------------------------------------------------------------------------
// Rendering

function formatClock(ms) {
  return t('controls.clockValue', { seconds: (ms / 1000).toFixed(3) });
}

function snapshot() {
  const lab = state.lab;
  const count = lab.nodeCount();
  const nodes = [];
  for (let i = 0; i < count; i++) nodes.push(lab.nodeState(i));
  return { now: lab.now(), nodes, inFlight: lab.inFlight() };
}

function renderEvents(events) {
  if (!events || events.length === 0) return;
  const log = ui.events;
  const near = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  const frag = document.createDocumentFragment();
  for (const ev of events.slice(-MAX_EVENTS)) {
    const li = document.createElement('li');
    li.className = `event event--${ev.kind}`;
    const time = document.createElement('span');
    time.className = 'event__time';
    time.textContent = `${(ev.time / 1000).toFixed(3)}s`;
    const node = document.createElement('span');
    node.className = 'event__node';
    node.textContent = state.nodeNames[ev.node] ?? (ev.node === null || ev.node === undefined ? '—' : `#${ev.node}`);
    const kind = document.createElement('span');
    kind.className = 'event__kind';
    kind.dataset.kind = ev.kind;
    kind.textContent = t(`events.kind.${ev.kind}`);
    const text = document.createElement('span');
    text.className = 'event__text';
    text.textContent = ev.text;
    li.append(time, node, kind, text);
    frag.appendChild(li);
  }
  log.appendChild(frag);
  while (log.childElementCount > MAX_EVENTS) log.firstElementChild.remove();
  if (near) log.scrollTop = log.scrollHeight;
}

function ensureConsoles(count) {
  while (state.consoles.length < count) {
    const c = new NodeConsole({ index: state.consoles.length, onCommand: runCommand });
    state.consoles.push(c);
    ui.consoles.appendChild(c.root);
  }
}

/** Draws a frame if anything changed since the last one. */
function render(force = false) {
  if (!state.lab || state.broken) return;
  const lab = state.lab;
  const version = guard(() => lab.version(), null);
  if (state.broken) return;
  const now = guard(() => lab.now(), 0);
  const clock = formatClock(now);
  if (clock !== state.lastClock) {
    ui.clock.textContent = clock;
    state.lastClock = clock;
  }
  const changed = force || state.forceRender || version !== state.lastVersion;
  // In-flight messages move with time even when nothing else changed.
  if (!changed && !state.hadInFlight) return;
  const snap = guard(snapshot, null);
  if (!snap) return;
  state.lastVersion = version;
  state.forceRender = false;
  state.hadInFlight = snap.inFlight.length > 0;
  state.nodeNames = snap.nodes.map((n) => n.name);
  if (changed) renderEvents(guard(() => lab.drainEvents(), []));
  state.view.render(snap);
  ensureConsoles(snap.nodes.length);
  snap.nodes.forEach((n, i) => {
    state.consoles[i].setInfo({ name: n.name, addr: `${n.host}:${n.port}`, role: n.role });
  });
  document.body.dataset.version = String(version);
}

function frame(ts) {
  state.raf = 0;
  if (state.broken) return;
  if (state.playing && state.lastTs !== null) {
    const dt = Math.min((ts - state.lastTs) * state.speed, MAX_FRAME_ADVANCE_MS);
    if (dt > 0) guard(() => state.lab.advance(dt));
  }
  state.lastTs = ts;
  render();
  if (state.playing && !document.hidden) schedule();
}

function schedule() {
  if (!state.raf && !state.broken) state.raf = requestAnimationFrame(frame);
}

/** Renders once on the next frame, without advancing time (used while paused). */
function requestRender() {
  state.forceRender = true;
  if (state.playing) schedule();
  else render();
}

function setPlaying(playing) {
  state.playing = playing && !state.broken;
  state.lastTs = null;
  const label = state.playing ? 'controls.pause' : 'controls.play';
  ui.playPause.textContent = t(label);
  ui.playPause.setAttribute('aria-label', t(state.playing ? 'controls.pauseAria' : 'controls.playAria'));
  ui.playPause.dataset.state = state.playing ? 'playing' : 'paused';
  if (state.playing) {
    if (!document.hidden) schedule();
  } else if (state.raf) {
    cancelAnimationFrame(state.raf);
    state.raf = 0;
  }
}

function setSpeed(speed) {
  const s = Number(speed);
  if (!Number.isFinite(s) || s <= 0) return;
  state.speed = s;
  if (ui.speed.value !== String(s)) ui.speed.value = String(s);
}

document.addEventListener('visibilitychange', () => {
  if (document.hidden) {
    if (state.raf) cancelAnimationFrame(state.raf);
    state.raf = 0;
  } else if (state.playing) {
    state.lastTs = null;
    schedule();
  }
});

// ---------------------------------------------------------------------------------------------
// Actions

function runCommand(index, line) {
  if (!state.lab || state.broken) return undefined;
  const reply = guard(() => state.lab.command(index, line), undefined);
  requestRender();
  return reply;
}

ui.playPause.addEventListener('click', () => setPlaying(!state.playing));
ui.speed.addEventListener('change', () => setSpeed(ui.speed.value));

function fillLanguages() {
  for (const { code, name } of LANGUAGES) {
    const opt = document.createElement('option');
    opt.value = code;
    opt.textContent = name;
    opt.lang = code;
    ui.language.appendChild(opt);
  }
  ui.language.value = getLanguage();
  ui.language.addEventListener('change', () => setLanguage(ui.language.value, { remember: true }));
}

onLanguageChange(() => {
  applyTranslations();
  ui.language.value = getLanguage();
  setPlaying(state.playing);
  state.lastClock = '';
  if (state.view) state.view.relabel();
  for (const c of state.consoles) c.relabel();
  requestRender();
});

// ---------------------------------------------------------------------------------------------
// Start-up

function seedFromUrl() {
  const raw = new URLSearchParams(location.search).get('seed');
  if (raw === null || raw.trim() === '') return 1;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n : 1;
}

async function start() {
  setLanguage(detectLanguage());
  fillLanguages();
  let mod;
  try {
    mod = await import('./pkg/redis_repl_lab.js');
    state.mod = mod;
    await mod.default();
  } catch (err) {
    ui.loading.hidden = true;
    showError(t('error.loadFailed', { message: errorText(err) }));
    return;
  }
  const lab = guard(() => new mod.Lab(seedFromUrl()), null);
  if (!lab) return;
  state.lab = lab;
  state.view = new LabView(ui.view);
  guard(() => {
    lab.addNode();
    lab.addNode();
  });
  ensureConsoles(guard(() => lab.nodeCount(), 0));
  ui.loading.hidden = true;
  ui.playPause.disabled = false;
  ui.speed.disabled = false;
  // Start the replica right away so the handshake and full sync play out on load.
  if (state.consoles[1]) {
    state.consoles[1].input.value = 'REPLICAOF 127.0.0.1 6379';
    state.consoles[1].submit();
  }
  render(true);

  window.__lab = {
    lab,
    ready: true,
    showError,
    play: () => setPlaying(true),
    pause: () => setPlaying(false),
    setSpeed,
    isPlaying: () => state.playing,
    render: () => render(true),
  };
  document.body.dataset.ready = '1';
  setPlaying(!state.broken);
}

start().catch((err) => showError(errorText(err)));
