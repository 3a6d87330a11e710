// Entry point of the lab page: loads the wasm engine, creates a master and a replica, runs the
// virtual clock from requestAnimationFrame, and renders state, messages and events.
// JavaScript holds no replication logic: it sends user actions and draws what the engine reports.

import { t, LANGUAGES, detectLanguage, setLanguage, getLanguage, applyTranslations, onLanguageChange } from './i18n.js';
import { LabView } from './lab-view.js';
import { NodeConsole } from './console.js';
import { FaultControls, PAUSE_MS } from './faults.js';

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
  faults: $('faults'),
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
  faults: null,
  groups: null, // partition groups (one number per node) while partitioned, else null
  faultKey: '', // isUp/isPaused of every node at the last render
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
  return { now: lab.now(), nodes, inFlight: lab.inFlight(), status: faultStatus(), groups: state.groups };
}

/** Per node {up, paused}: crash and SIGSTOP state, which nodeState() does not report. */
function faultStatus() {
  const lab = state.lab;
  const out = [];
  const count = lab.nodeCount();
  for (let i = 0; i < count; i++) {
    const up = lab.isUp(i);
    out.push({ up, paused: up && lab.isPaused(i) });
  }
  return out;
}

/** Prints replies that reached a console after its command returned (e.g. after DEBUG SLEEP). */
function printLateReplies() {
  const lab = state.lab;
  const count = Math.min(state.consoles.length, lab.nodeCount());
  for (let i = 0; i < count; i++) {
    const replies = lab.consoleLateReplies(i);
    for (const reply of replies) state.consoles[i].printLateReply(reply);
  }
}

/** Name of the replication link shown in the fault controls ("master ↔ replica"). */
function linkName(nodes) {
  return nodes.map((n) => n.name).join(' ↔ ');
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
  guard(printLateReplies);
  if (state.broken) return;
  // A pause ends with time, not with an action: watch the fault state on every frame.
  const status = guard(faultStatus, []);
  const faultKey = status.map((s) => `${s.up ? 'u' : 'd'}${s.paused ? 'p' : ''}`).join(',');
  const faultChanged = faultKey !== state.faultKey;
  state.faultKey = faultKey;
  const changed = force || state.forceRender || faultChanged || version !== state.lastVersion;
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
    const up = snap.status[i] ? snap.status[i].up : true;
    state.consoles[i].setInfo({ name: n.name, addr: `${n.host}:${n.port}`, role: n.role, up });
  });
  renderFaults(snap);
  document.body.dataset.version = String(version);
}

function renderFaults(snap) {
  if (!state.faults) return;
  state.faults.update({
    nodes: snap.nodes.map((n, i) => ({
      name: n.name,
      addr: `${n.host}:${n.port}`,
      up: snap.status[i] ? snap.status[i].up : true,
      paused: snap.status[i] ? snap.status[i].paused : false,
    })),
    partitioned: state.groups !== null,
    linkName: linkName(snap.nodes),
  });
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

/** Runs a fault (a call into the engine), announces it, and redraws. */
function fault(fn, announcement) {
  if (!state.lab || state.broken) return;
  guard(fn);
  if (state.broken) return;
  if (announcement && state.faults) state.faults.announce(announcement);
  requestRender();
}

function nodeName(i) {
  return state.nodeNames[i] ?? `#${i}`;
}

/** Pairs of nodes joined by a replication link (master, replica); every pair if none. */
function linkedPairs() {
  const lab = state.lab;
  const count = lab.nodeCount();
  const nodes = Array.from({ length: count }, (_, i) => lab.nodeState(i));
  const byAddr = new Map(nodes.map((n, i) => [`${n.host}:${n.port}`, i]));
  const pairs = [];
  nodes.forEach((n, i) => {
    if (n.role !== 'slave' || n.masterHost == null) return;
    const m = byAddr.get(`${n.masterHost}:${n.masterPort}`);
    if (m !== undefined && m !== i) pairs.push([m, i]);
  });
  if (pairs.length > 0) return pairs;
  for (let a = 0; a < count; a++) for (let b = a + 1; b < count; b++) pairs.push([a, b]);
  return pairs;
}

const faultActions = {
  toggleCrash(i) {
    const up = guard(() => state.lab.isUp(i), true);
    if (up) fault(() => state.lab.crash(i), t('faults.announce.crashed', { name: nodeName(i) }));
    else fault(() => state.lab.restart(i), t('faults.announce.restarted', { name: nodeName(i) }));
  },
  pause(i) {
    fault(() => state.lab.pauseNode(i, PAUSE_MS), t('faults.announce.paused', { name: nodeName(i), seconds: PAUSE_MS / 1000 }));
  },
  cut() {
    const names = state.nodeNames.join(' ↔ ');
    fault(() => {
      for (const [a, b] of linkedPairs()) state.lab.cut(a, b);
    }, t('faults.announce.cut', { link: names }));
  },
  togglePartition() {
    if (state.groups !== null) {
      state.groups = null;
      fault(() => state.lab.heal(), t('faults.announce.healed'));
    } else {
      // Every node on its own: with two nodes, [0, 1] separates the master from the replica.
      const groups = Array.from({ length: guard(() => state.lab.nodeCount(), 0) }, (_, i) => i);
      state.groups = groups;
      fault(() => state.lab.partition(groups), t('faults.announce.partitioned', { link: state.nodeNames.join(' | ') }));
    }
  },
};

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
  if (state.faults) state.faults.relabel();
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
  state.faults = new FaultControls(ui.faults, faultActions);
  ui.faults.hidden = false;
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
