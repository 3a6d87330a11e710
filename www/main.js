// Entry point of the lab page: loads the wasm engine, creates a master and a replica (or rebuilds
// a shared run from #log=...), runs the virtual clock from requestAnimationFrame, and renders
// state, messages and events. The time slider seeks in the recorded run; "Copy link" shares it.
// JavaScript holds no replication logic: it sends user actions and draws what the engine reports.

import { t, LANGUAGES, detectLanguage, setLanguage, getLanguage, applyTranslations, onLanguageChange } from './i18n.js';
import { LabView } from './lab-view.js';
import { NodeConsole } from './console.js';
import { FaultControls, PAUSE_MS } from './faults.js';
import { RdbControls, makeDropTarget, hasFiles, downloadBytes, dumpFileName } from './rdb.js';
import {
  SentinelPanel, SENTINEL_QUORUM, SENTINEL_DOWN_AFTER_MS, SENTINEL_FAILOVER_TIMEOUT_MS,
} from './sentinels.js';

const MAX_EVENTS = 500;
const MAX_FRAME_ADVANCE_MS = 1000;
/** Smallest seek target: seek(0) would not replay the actions recorded at t = 0 (nodes, links). */
const SEEK_MIN_MS = 0.001;
const KEY_STEP_MS = 250;
const PAGE_STEP_MS = 5000;
/** Two times closer than this (ms) count as equal (the engine counts in microseconds). */
const TIME_EPSILON_MS = 0.0005;
const CLIPBOARD_TIMEOUT_MS = 2000;

const $ = (id) => document.getElementById(id);
const ui = {
  playPause: $('play-pause'),
  speed: $('speed'),
  clock: $('clock'),
  language: $('language'),
  banner: $('error-banner'),
  bannerTitle: document.querySelector('#error-banner strong'),
  bannerMessage: $('error-message'),
  loading: $('loading'),
  view: $('lab-view'),
  consoles: $('consoles'),
  faults: $('faults'),
  sentinels: $('sentinels'),
  events: $('event-log'),
  timeline: $('timeline'),
  slider: $('time-slider'),
  timeValue: $('time-value'),
  note: $('timeline-note'),
  share: $('share'),
  shareStatus: $('share-status'),
  shareManual: $('share-manual'),
  shareUrl: $('share-url'),
};

const state = {
  mod: null,
  lab: null,
  view: null,
  consoles: [],
  rdb: [], // per node: RdbControls (export / import of dump.rdb), shown in its console
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
  sentinels: null, // the Sentinels panel
  sentinelNames: [],
  groups: null, // partition groups (one number per node) while partitioned, else null
  faultKey: '', // isUp/isPaused of every node at the last render
  generation: 0, // lab.generation() at the last render: a change means a seek replaced the world
  reach: 0, // furthest virtual time (ms) of the recorded run, as seen by the page
  partitions: [], // partition changes of the recorded run: [{at: µs, groups: [...] | null}]
  dragging: false, // the time slider is held with the pointer
  resumeAfterDrag: false, // play again when the drag ends (unless it went back in time)
  timelineKey: '', // what the time slider showed at the last render
  shareResult: null, // 'copied' | 'manual' after "Copy link"
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

/** Shows the banner (title: an i18n key). Exposed to tests as window.__lab.showError. */
function showError(message, titleKey = 'error.title') {
  ui.bannerTitle.dataset.i18n = titleKey;
  ui.bannerTitle.textContent = t(titleKey);
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
    ui.slider.disabled = true;
    ui.share.disabled = true;
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
  const now = lab.now();
  state.groups = groupsAt(now);
  return { now, nodes, inFlight: lab.inFlight(), status: faultStatus(), groups: state.groups };
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

/**
 * Prints replies that reached a console after its command returned (e.g. after DEBUG SLEEP).
 * In the past (replaying the recorded run) they are dropped: they answer replayed commands.
 */
function printLateReplies(live = true) {
  const lab = state.lab;
  const count = lab.nodeCount();
  for (let i = 0; i < count; i++) {
    const replies = lab.consoleLateReplies(i);
    if (!live || !state.consoles[i]) continue;
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
  // A sentinel's own PINGs and INFO every second would drown the log: its panel counts them.
  const shown = events.filter((ev) => ev.kind !== 'sentinel-net');
  for (const ev of shown.slice(-MAX_EVENTS)) {
    const li = document.createElement('li');
    li.className = `event event--${ev.kind}`;
    const time = document.createElement('span');
    time.className = 'event__time';
    time.textContent = `${(ev.time / 1000).toFixed(3)}s`;
    const node = document.createElement('span');
    node.className = 'event__node';
    const sentinel = ev.kind === 'sentinel';
    const names = sentinel ? state.sentinelNames : state.nodeNames;
    node.textContent = names[ev.node] ?? (ev.node === null || ev.node === undefined ? '—' : `#${ev.node}`);
    const kind = document.createElement('span');
    kind.className = 'event__kind';
    kind.dataset.kind = ev.kind;
    kind.textContent = t(`events.kind.${ev.kind}`);
    const text = document.createElement('span');
    text.className = 'event__text';
    const prefix = sentinel && names[ev.node] ? `${names[ev.node]}: ` : '';
    text.textContent = prefix && ev.text.startsWith(prefix) ? ev.text.slice(prefix.length) : ev.text;
    li.append(time, node, kind, text);
    frag.appendChild(li);
  }
  log.appendChild(frag);
  while (log.childElementCount > MAX_EVENTS) log.firstElementChild.remove();
  if (near) log.scrollTop = log.scrollHeight;
}

function ensureConsoles(count) {
  while (state.consoles.length < count) {
    const index = state.consoles.length;
    const c = new NodeConsole({ index, onCommand: runCommand });
    const r = new RdbControls({ index, onExport: exportRdb, onImport: importRdb });
    state.consoles.push(c);
    state.rdb.push(r);
    c.root.insertBefore(r.root, c.heading.nextSibling);
    makeDropTarget(c.root, (dt) => r.drop(dt));
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
  const generation = guard(() => lab.generation(), state.generation);
  if (generation !== state.generation) {
    state.generation = generation;
    worldReplaced(now);
  }
  state.reach = Math.max(state.reach, now);
  const clock = formatClock(now);
  if (clock !== state.lastClock) {
    ui.clock.textContent = clock;
    state.lastClock = clock;
  }
  const max = horizonMs();
  renderTimeline(now, max);
  guard(() => printLateReplies(now >= max - TIME_EPSILON_MS));
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
  const sentinels = guard(sentinelSnapshot, []);
  state.sentinelNames = sentinels.map((s) => s.name);
  if (changed) renderEvents(guard(() => lab.drainEvents(), []));
  state.view.render(snap);
  ensureConsoles(snap.nodes.length);
  snap.nodes.forEach((n, i) => {
    const up = snap.status[i] ? snap.status[i].up : true;
    state.consoles[i].setInfo({ name: n.name, addr: `${n.host}:${n.port}`, role: n.role, up });
    state.rdb[i].setInfo({ name: n.name, up });
  });
  renderFaults(snap);
  if (state.sentinels) state.sentinels.update(sentinels);
  document.body.dataset.version = String(version);
}

/**
 * A seek restored a checkpoint: the events shown and the late replies queued belong to another
 * timeline. Clears the event log (drainEvents refills it from the checkpoint on), drops the late
 * replies, and marks the jump in every console.
 */
function worldReplaced(now) {
  ui.events.replaceChildren();
  guard(() => printLateReplies(false));
  const marker = t('console.seek', { seconds: (now / 1000).toFixed(3) });
  for (const c of state.consoles) c.markSeek(marker);
  state.forceRender = true;
  state.faultKey = '';
}

// ---------------------------------------------------------------------------------------------
// Time travel

function fmtSeconds(ms) {
  return (ms / 1000).toFixed(3);
}

/**
 * The end of the time slider: the furthest virtual time the recorded run reached. lab.horizon()
 * alone falls back to the last checkpoint after seeking back, so the page remembers how far the
 * clock went (state.reach; reset when an action forks the future).
 */
function horizonMs() {
  const lab = state.lab;
  if (!lab) return 0;
  const h = guard(() => Math.max(lab.horizon(), lab.now()), 0);
  return Math.max(h, state.reach);
}

/** True while the clock is behind the end of the recorded run. */
function inPast(now, max = horizonMs()) {
  return now < max - TIME_EPSILON_MS;
}

function renderTimeline(now, max) {
  const past = inPast(now, max);
  const key = `${fmtSeconds(now)}|${fmtSeconds(max)}|${past}|${state.dragging}|${ui.language.value}`;
  if (key === state.timelineKey) return;
  state.timelineKey = key;
  ui.slider.max = String(max);
  if (!state.dragging) ui.slider.value = String(now);
  const params = { now: fmtSeconds(now), horizon: fmtSeconds(max) };
  ui.timeValue.textContent = t('timeline.value', params);
  ui.slider.setAttribute('aria-valuetext', t('timeline.valueText', params));
  const note = past ? t('timeline.past') : '';
  if (ui.note.textContent !== note) ui.note.textContent = note;
  ui.timeline.dataset.past = past ? 'true' : 'false';
}

/** Moves virtual time to ms (clamped to the recorded run). Going back pauses playback. */
function seekTo(ms) {
  if (!state.lab || state.broken) return;
  const lab = state.lab;
  const max = horizonMs();
  const target = Math.min(Math.max(Number.isFinite(Number(ms)) ? Number(ms) : 0, 0), max);
  const now = guard(() => lab.now(), 0);
  state.reach = Math.max(state.reach, now);
  if (Math.abs(target - now) < TIME_EPSILON_MS) return;
  if (target < now) {
    state.resumeAfterDrag = false;
    setPlaying(false);
  }
  guard(() => lab.seek(Math.max(target, SEEK_MIN_MS)));
  render(true);
}

function onSliderKey(e) {
  if (!state.lab || state.broken || e.altKey || e.ctrlKey || e.metaKey) return;
  const now = guard(() => state.lab.now(), 0);
  let target;
  switch (e.key) {
    case 'ArrowLeft':
    case 'ArrowDown':
      target = now - KEY_STEP_MS;
      break;
    case 'ArrowRight':
    case 'ArrowUp':
      target = now + KEY_STEP_MS;
      break;
    case 'PageDown':
      target = now - PAGE_STEP_MS;
      break;
    case 'PageUp':
      target = now + PAGE_STEP_MS;
      break;
    case 'Home':
      target = 0;
      break;
    case 'End':
      target = horizonMs();
      break;
    default:
      return;
  }
  e.preventDefault();
  seekTo(target);
}

function endDrag() {
  if (!state.dragging) return;
  state.dragging = false;
  if (state.resumeAfterDrag) setPlaying(true);
  state.resumeAfterDrag = false;
  render(true);
}

ui.slider.addEventListener('pointerdown', () => {
  if (state.dragging || ui.slider.disabled) return;
  state.dragging = true;
  state.resumeAfterDrag = state.playing;
  setPlaying(false);
});
ui.slider.addEventListener('input', () => seekTo(Number(ui.slider.value)));
ui.slider.addEventListener('change', () => {
  seekTo(Number(ui.slider.value));
  endDrag();
});
ui.slider.addEventListener('keydown', onSliderKey);
window.addEventListener('pointerup', endDrag);
window.addEventListener('pointercancel', endDrag);

/**
 * Partition changes of the recorded run, read from its action log ("p,<groups>" and "h"), so
 * the view can draw the partition that holds at any moment of the run.
 */
function parsePartitions(log) {
  const out = [];
  let at = 0;
  for (const part of String(log).split(';').slice(2)) {
    const f = part.split(',');
    const delta = parseInt(f[0], 36);
    if (Number.isFinite(delta)) at += delta;
    if (f[1] === 'p' && f[2] !== undefined) out.push({ at, groups: f[2].split('.').map(Number) });
    else if (f[1] === 'h') out.push({ at, groups: null });
  }
  return out;
}

function refreshPartitions() {
  const log = guard(() => state.lab.actionLog(), null);
  if (log !== null) state.partitions = parsePartitions(log);
}

/** Partition groups in force at virtual time nowMs, or null. */
function groupsAt(nowMs) {
  const us = Math.round(nowMs * 1000);
  let groups = null;
  for (const p of state.partitions) {
    if (p.at > us) break;
    groups = p.groups;
  }
  return groups;
}

/** After an action: acting in the past forked the future, so the run now ends where it says. */
function afterAction() {
  const lab = state.lab;
  state.reach = guard(() => Math.max(lab.horizon(), lab.now()), state.reach);
  refreshPartitions();
  state.timelineKey = '';
}

// ---------------------------------------------------------------------------------------------
// Sharing

/** The log in a URL fragment: percent-encoded, but ';', ',' and '=' kept readable. */
function encodeLog(log) {
  return encodeURIComponent(log).replace(/%3B/gi, ';').replace(/%2C/gi, ',').replace(/%3D/gi, '=');
}

/** The action log in the URL (#log=...), or null. */
function logFromUrl() {
  const hash = location.hash;
  if (!hash.startsWith('#log=')) return null;
  const raw = hash.slice('#log='.length);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function writeClipboard(text) {
  const clip = navigator.clipboard;
  if (!clip || typeof clip.writeText !== 'function') return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), CLIPBOARD_TIMEOUT_MS);
    clip.writeText(text).then(
      () => { clearTimeout(timer); resolve(true); },
      () => { clearTimeout(timer); resolve(false); },
    );
  });
}

function renderShare() {
  if (state.shareResult === null) {
    ui.shareStatus.textContent = '';
    ui.shareManual.hidden = true;
    return;
  }
  ui.shareStatus.textContent = t(state.shareResult === 'copied' ? 'share.copied' : 'share.manual');
  ui.shareStatus.dataset.state = state.shareResult;
  ui.shareManual.hidden = state.shareResult === 'copied';
}

/** Puts #log=<actionLog> in the URL and copies the URL (or shows it to copy by hand). */
async function share() {
  if (!state.lab || state.broken) return;
  const log = guard(() => state.lab.actionLog(), null);
  if (log === null) return;
  const url = new URL(location.href);
  url.hash = `log=${encodeLog(log)}`;
  history.replaceState(history.state, '', url.href);
  ui.shareUrl.value = url.href;
  const copied = await writeClipboard(url.href);
  state.shareResult = copied ? 'copied' : 'manual';
  renderShare();
  if (!copied) {
    ui.shareUrl.focus();
    ui.shareUrl.select();
  }
}

ui.share.addEventListener('click', () => {
  share().catch((err) => showError(errorText(err)));
});

// A pasted link with another log only changes the fragment: load it like a fresh page.
window.addEventListener('hashchange', () => {
  if (location.hash.startsWith('#log=')) location.reload();
});

/** Every sentinel's view, with the number of its messages in flight. */
function sentinelSnapshot() {
  const lab = state.lab;
  const count = lab.sentinelCount();
  if (count === 0) return [];
  const flying = new Array(count).fill(0);
  for (const m of lab.sentinelInFlight()) flying[m.sentinel] += 1;
  return Array.from({ length: count }, (_, j) => ({ ...lab.sentinelState(j), inFlight: flying[j] }));
}

/**
 * Adds a sentinel monitoring the master the other sentinels see now (the first node that is a
 * master when there is none yet).
 */
function addSentinel() {
  if (!state.lab || state.broken) return;
  const lab = state.lab;
  const master = guard(() => {
    const count = lab.nodeCount();
    const nodes = Array.from({ length: count }, (_, i) => lab.nodeState(i));
    if (lab.sentinelCount() > 0) {
      const v = lab.sentinelState(lab.sentinelCount() - 1);
      const i = nodes.findIndex((n) => n.host === v.masterHost && n.port === v.masterPort);
      if (i >= 0) return i;
    }
    const i = nodes.findIndex((n, k) => n.role === 'master' && lab.isUp(k));
    return i >= 0 ? i : 0;
  }, 0);
  const j = guard(() => lab.addSentinel(master, SENTINEL_QUORUM, SENTINEL_DOWN_AFTER_MS, SENTINEL_FAILOVER_TIMEOUT_MS), null);
  if (j === null || state.broken) return;
  afterAction();
  if (state.faults) state.faults.announce(t('sentinels.announce.added', { name: `S${j + 1}`, master: nodeName(master) }));
  requestRender();
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
  afterAction();
  requestRender();
  return reply;
}

/** Runs a fault (a call into the engine), announces it, and redraws. */
function fault(fn, announcement) {
  if (!state.lab || state.broken) return;
  guard(fn);
  if (state.broken) return;
  afterAction();
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

// ---------------------------------------------------------------------------------------------
// dump.rdb export and import

/** Downloads node i's dataset as dump-<name>.rdb; returns {bytes, fileName} or null. */
function exportRdb(i) {
  if (!state.lab || state.broken) return null;
  const bytes = guard(() => state.lab.exportRdb(i), null);
  if (!bytes) return null;
  const fileName = dumpFileName(nodeName(i));
  try {
    downloadBytes(bytes, fileName);
  } catch (err) {
    showError(errorText(err));
    return null;
  }
  return { bytes: bytes.length, fileName };
}

/**
 * Loads a dump.rdb into node i. A file the engine refuses is not fatal: {ok: false, message}
 * with the engine's reason (nothing changed). A panic or trap goes to the banner (null).
 */
function importRdb(i, bytes) {
  if (!state.lab || state.broken) return null;
  try {
    state.lab.importRdb(i, bytes);
  } catch (err) {
    const trap = typeof WebAssembly !== 'undefined' && err instanceof WebAssembly.RuntimeError;
    if (panicMessage() !== undefined || trap) {
      reportLabError(err);
      return null;
    }
    return { ok: false, message: errorText(err) };
  }
  afterAction();
  requestRender();
  return { ok: true };
}

/** The node whose box in the view is under a drag or drop event, or null. */
function viewDropTarget(e) {
  const g = e.target instanceof Element ? e.target.closest('g.node') : null;
  if (!g) return null;
  const m = /^node-(\d+)$/.exec(g.getAttribute('data-testid') || '');
  return m && state.rdb[Number(m[1])] ? g : null;
}

function setupDrops() {
  makeDropTarget(ui.view, (dt, g) => {
    const i = Number(/^node-(\d+)$/.exec(g.getAttribute('data-testid'))[1]);
    state.rdb[i].drop(dt);
  }, viewDropTarget);
  // A file dropped anywhere else must not make the browser open it (and leave the lab).
  window.addEventListener('dragover', (e) => {
    if (hasFiles(e) && !e.defaultPrevented) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'none';
    }
  });
  window.addEventListener('drop', (e) => {
    if (hasFiles(e)) e.preventDefault();
  });
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
    if (groupsAt(guard(() => state.lab.now(), 0)) !== null) {
      fault(() => state.lab.heal(), t('faults.announce.healed'));
    } else {
      // Every node on its own: with two nodes, [0, 1] separates the master from the replica.
      const groups = Array.from({ length: guard(() => state.lab.nodeCount(), 0) }, (_, i) => i);
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
  for (const r of state.rdb) r.relabel();
  if (state.faults) state.faults.relabel();
  if (state.sentinels) state.sentinels.relabel();
  if (!ui.banner.hidden && ui.bannerTitle.dataset.i18n) ui.bannerTitle.textContent = t(ui.bannerTitle.dataset.i18n);
  state.timelineKey = '';
  renderShare();
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
  // A shared run (#log=...) is rebuilt by the engine; a malformed one falls back to the default.
  let lab = null;
  const log = logFromUrl();
  if (log !== null) {
    try {
      lab = mod.Lab.fromLog(log);
    } catch (err) {
      if (panicMessage() !== undefined || (typeof WebAssembly !== 'undefined' && err instanceof WebAssembly.RuntimeError)) {
        ui.loading.hidden = true;
        reportLabError(err);
        return;
      }
      showError(t('error.badLog', { message: errorText(err) }), 'error.badLogTitle');
      lab = null;
    }
  }
  const shared = lab !== null;
  if (!shared) {
    lab = guard(() => new mod.Lab(seedFromUrl()), null);
    if (!lab) return;
    guard(() => {
      lab.addNode();
      lab.addNode();
    });
  }
  state.lab = lab;
  state.view = new LabView(ui.view);
  state.reach = guard(() => Math.max(lab.horizon(), lab.now()), 0);
  state.generation = guard(() => lab.generation(), 0);
  refreshPartitions();
  ensureConsoles(guard(() => lab.nodeCount(), 0));
  state.faults = new FaultControls(ui.faults, faultActions);
  state.sentinels = new SentinelPanel(ui.sentinels, addSentinel);
  setupDrops();
  ui.faults.hidden = false;
  ui.sentinels.hidden = false;
  ui.timeline.hidden = false;
  ui.loading.hidden = true;
  ui.playPause.disabled = false;
  ui.speed.disabled = false;
  ui.slider.disabled = false;
  ui.share.disabled = false;
  if (shared) {
    const marker = t('console.replayed', { seconds: fmtSeconds(guard(() => lab.now(), 0)) });
    for (const c of state.consoles) c.markSeek(marker);
  } else if (state.consoles[1]) {
    // Start the replica right away so the handshake and full sync play out on load.
    state.consoles[1].input.value = 'REPLICAOF 127.0.0.1 6379';
    state.consoles[1].submit();
  }
  render(true);

  window.__lab = {
    get lab() {
      return state.lab;
    },
    shared,
    seek: seekTo,
    horizon: horizonMs,
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
