// <redis-repl-lab>: the whole Redis Replication Lab as one custom element. Any page hosts it
// (index.html, embeds, course pages); several on one page are independent labs, each with its
// own engine in its own Worker, sharing one compiled wasm module.
//
// The element owns the loop and the wiring: once per animation frame it asks its engine to let
// virtual time pass and gets back one frame snapshot and the new trace events, then hands them
// to its views (stage, inspector, consoles, event log, timeline). It holds no replication logic:
// everything it draws comes from the engine's frame and events, and everything the learner does
// is a console line or a recorded fault sent to the engine.
//
// Public API (every method that reaches the engine returns a promise):
//   el.ready                      resolves once the engine runs and the first frame is drawn
//   el.exec(node, line)           runs a console line on node `node`; resolves to the reply
//   el.addNode() / el.removeNode(i), el.nodeCount, el.setLoad(node, writesPerSecond)
//   el.play(), el.pause(), el.playing, el.run(ms), el.step(), el.seek(ms), el.now (ms)
//   el.state()                    the latest frame snapshot, as a plain object
//   el.actionLog()                the run as a shareable log (the `#log=` format)
//   el.openScenario(id, text?)    opens a chapter (its file fetched when no text is given)
// Events: `lab-ready`, `lab-event` (detail: one typed trace event), `lab-error` (detail:
// {code, message}), and while a chapter is open `lab-step`, `lab-answer`, `lab-checkpoint`,
// `lab-scenario-complete` (detail: {id, step, ...}).

import { h, setText, setAttr } from './dom.js';
import { EngineClient } from './engine/client.js';
import { Words, LANGUAGES, resolveLanguage } from './i18n/index.js';
import { Stage } from './views/stage.js';
import { Consoles } from './views/consoles.js';
import { EventLog } from './views/eventlog.js';
import { Inspector } from './views/inspector.js';
import { Sentinels, SENTINEL_QUORUM, SENTINEL_DOWN_AFTER_MS, SENTINEL_FAILOVER_TIMEOUT_MS } from './views/sentinels.js';
import { Timeline } from './views/timeline.js';
import { BufferView } from './views/buffer.js';
import { MessageView } from './views/message.js';
import { SequenceDiagram } from './views/sequence.js';
import { Guide } from './views/guide.js';
import { CHAPTERS, chapterUrl } from './chapters.js';
import { KIND_COLORS } from './views/stage.js';
import { Popover } from './views/menu.js';
import { namesOf, announcement } from './views/describe.js';
import { readSettings, LIVE_ATTRIBUTES, VIEWS, SIDE_VIEWS, SPEEDS as SPEED_CHOICES } from './settings.js';

const STYLE_URL = new URL('./lab.css', import.meta.url).href;
const SPEEDS = SPEED_CHOICES;
/** Virtual ms one turn of the loop may add at most (a long stall does not jump minutes). */
const MAX_FRAME_ADVANCE_MS = 1000;
/**
 * Wall-clock ms between two requests to the engine while playing: the lab's views change ten
 * times a second; messages move in between on the compositor (see Stage.updateMessages).
 */
const TICK_MS = 200;
/** How far "Next event" looks ahead for something to happen (virtual ms). */
const STEP_LIMIT_MS = 60_000;
/** A node paused from its menu stays stopped this long (virtual ms). */
export const PAUSE_MS = 5000;
const NARROW_PX = 760;
const LANG_KEY = 'redis-repl-lab.lang';
const CLIPBOARD_TIMEOUT_MS = 2000;
/** `lab-state` is dispatched at most this often (wall-clock ms) while the world changes. */
const STATE_EVENT_MS = 1000;
/** Commands kept per node for the buffer view's stream row. */
const STREAM_KEPT = 200;
/** Write loads offered in a node's menu (writes per second). */
const LOAD_RATES = [10, 100, 1000];

export class RedisReplLab extends HTMLElement {
  static get observedAttributes() {
    return LIVE_ATTRIBUTES;
  }

  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
    this.words = new Words('en');
    this.engine = null;
    this.frame = null;
    this.nowMs = 0;
    this.playing = false;
    this.speed = 1;
    this.pendingMs = 0;
    this.lastTs = null;
    this.lastStateEvent = -Infinity;
    this.stateTimer = 0;
    this.timer = 0;
    this.visible = true;
    this.broken = null; // {message, restore} after a panic
    this.started = false;
    this.selectedIndex = null;
    this.draft = null; // partition being drawn: Map(node index -> side)
    this.marks = [];
    this.generation = 0;
    this.horizonUs = 0;
    this.chain = Promise.resolve(); // ticks run one after another
    this.dirty = false;
    this.resumeAfterDrag = false;
    this.peerNames = { node: new Map(), sentinel: new Map() };
    this.streams = new Map(); // node -> its latest propagated commands (typed events)
    this.psyncs = new Map(); // node -> the last PSYNC it answered (a typed event)
    this.scenarioId = null; // the chapter open in this lab
    this.highlights = { nodes: new Set(), fields: [] }; // what the chapter's step talks about
    this.chapterTitles = null; // [{id, title}] once listed
    this.readyPromise = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // A rejected `ready` nobody awaits must not be an unhandled rejection: the banner shows it.
    this.readyPromise.catch(() => {});
  }

  // ----- lifecycle -----

  connectedCallback() {
    if (!this.started) {
      this.started = true;
      // The engine's module compiles and its Worker starts while the element builds its views.
      this.engineStarting = EngineClient.start({ wasmUrl: this.getAttribute('wasm-url') || undefined });
      this.engineStarting.catch(() => {}); // start() reports a failure
      this.build();
      // Milestones of the first frame, for benches/first-frame.mjs and the browser's profiler.
      performance.mark('lab:built');
      this.start().catch((err) => this.fail(err));
    } else {
      this.schedule();
    }
  }

  disconnectedCallback() {
    this.stopLoop();
    // Moved elsewhere in the page, it reconnects in the same task; removed, it stops for good.
    queueMicrotask(() => {
      if (!this.isConnected && this.engine) {
        this.engine.terminate();
        if (this.io) this.io.disconnect();
        document.removeEventListener('visibilitychange', this.onVisibility);
      }
    });
  }

  attributeChangedCallback(name) {
    if (!this.started) return;
    this.readAttributes();
    if (name === 'lang') this.setLanguage(this.attrLanguage(), false);
    else this.applyLive();
  }

  /** Reads the attributes; reports the bad ones (in the banner and as `lab-error`). */
  readAttributes() {
    const { settings, errors } = readSettings((name) => this.getAttribute(name));
    this.settings = settings;
    const seen = new Set(this.reported || []);
    this.reported = errors.map((e) => `${e.attribute}=${e.params.value}`);
    const fresh = errors.filter((e) => !seen.has(`${e.attribute}=${e.params.value}`));
    if (fresh.length > 0) {
      const messages = fresh.map((e) => this.words.t(`error.attr.${e.key}`, { attribute: e.attribute, ...e.params }));
      this.showBanner('error.settings', messages.join(' '));
      for (const [k, e] of fresh.entries()) {
        this.dispatchEvent(new CustomEvent('lab-error', { detail: { code: 'bad-attribute', attribute: e.attribute, message: messages[k] }, bubbles: true, composed: true }));
      }
    }
    return settings;
  }

  /** Applies the attributes that take effect at once: controls, views, theme, speed, size. */
  applyLive() {
    const s = this.settings;
    setAttr(this.layoutRoot, 'data-controls', s.controls);
    const dark = s.theme === 'dark' || (s.theme === 'auto' && this.darkScheme.matches);
    setAttr(this.layoutRoot, 'data-theme', dark ? 'dark' : 'light');
    for (const view of VIEWS) {
      setAttr(this.layoutRoot, `data-no-${view}`, s.views.has(view) ? null : '');
    }
    // Whole regions left empty let the others take their room.
    const none = (...views) => views.every((v) => !s.views.has(v));
    setAttr(this.layoutRoot, 'data-no-side', none(...SIDE_VIEWS) ? '' : null);
    setAttr(this.layoutRoot, 'data-no-logpane', none('log', 'sequence') || s.controls === 'none' ? '' : null);
    setAttr(this.layoutRoot, 'data-no-dock', none('console', 'log', 'sequence') || (s.controls === 'none' && none('log', 'sequence')) ? '' : null);
    const sideFirst = SIDE_VIEWS.find((v) => s.views.has(v));
    for (const [n, b] of this.sideTabButtons) b.hidden = !s.views.has(n);
    if (sideFirst && !s.views.has(this.sideShown || 'inspector')) this.showSide(sideFirst);
    for (const [n, b] of this.logTabButtons) b.hidden = !s.views.has(n === 'log' ? 'log' : 'sequence');
    if (!s.views.has('log') && s.views.has('sequence')) this.showLogPane('sequence');
    this.setSpeed(s.speed);
    // A size the host page asked for is kept, even below the lab's usual minimum height.
    if (s.height) this.style.height = `${s.height}px`;
    else this.style.removeProperty('height');
    if (s.aspect) this.style.aspectRatio = s.aspect;
    else this.style.removeProperty('aspect-ratio');
    if (s.height || s.aspect) this.style.minHeight = '0';
    else this.style.removeProperty('min-height');
    if (this.frame) this.render(); // what may be edited (controls) shows on the stage too
  }

  get ready() {
    return this.readyPromise;
  }

  // ----- building the DOM -----

  build() {
    const root = this.shadowRoot;
    this.ctx = this.makeContext();
    this.playButton = h('button', { type: 'button', class: 'button button--primary', 'data-testid': 'play-pause', disabled: true });
    this.stepButton = h('button', { type: 'button', class: 'button', 'data-testid': 'step', disabled: true });
    this.speedSelect = h('select', { 'data-testid': 'speed', disabled: true }, SPEEDS.map((s) => h('option', { value: String(s), text: `${s}×` })));
    this.speedSelect.value = '1';
    this.speedLabel = h('label', { class: 'control' }, h('span', { class: 'control__label' }), this.speedSelect);
    // The clock's text changes ten times a second while playing: it sits in a block of fixed
    // size (see lab.css), so the browser lays out that block and nothing around it.
    this.clockText = h('span', { class: 'fixed-text' });
    this.clock = h('output', { class: 'clock', 'data-testid': 'clock' }, this.clockText);
    this.clockLabel = h('span', { class: 'control__label' });
    this.addButton = h('button', { type: 'button', class: 'button', 'data-testid': 'add-node', disabled: true });
    this.partitionButton = h('button', { type: 'button', class: 'button', 'data-testid': 'partition', disabled: true });
    this.langSelect = h('select', { 'data-testid': 'language' }, LANGUAGES.map((l) => h('option', { value: l.code, lang: l.code, text: l.name })));
    this.langLabel = h('label', { class: 'control' }, h('span', { class: 'control__label' }), this.langSelect);
    this.titleEl = h('h1', { class: 'toolbar__title' });
    this.toolbar = h('header', { class: 'toolbar' },
      this.titleEl,
      h('div', { class: 'toolbar__group', role: 'group', 'data-role': 'time' }, this.playButton, this.stepButton, this.speedLabel,
        h('div', { class: 'control' }, this.clockLabel, this.clock)),
      h('div', { class: 'toolbar__group', role: 'group', 'data-role': 'world' }, this.addButton, this.partitionButton),
      this.langLabel);

    this.bannerTitle = h('strong');
    this.bannerText = h('span', { class: 'banner__message', 'data-testid': 'error-message' });
    this.restoreButton = h('button', { type: 'button', class: 'button', 'data-testid': 'error-restore', hidden: true });
    this.reportButton = h('button', { type: 'button', class: 'button', 'data-testid': 'error-report', hidden: true });
    this.dismissButton = h('button', { type: 'button', class: 'button', 'data-testid': 'error-dismiss' });
    this.reportStatus = h('span', { 'data-testid': 'error-report-status' });
    this.reportUrl = h('input', { type: 'text', readonly: '', class: 'banner__url', 'data-testid': 'error-report-url' });
    this.reportLine = h('p', { class: 'banner__report', hidden: true }, this.reportStatus, ' ', this.reportUrl);
    this.banner = h('div', { class: 'banner', role: 'alert', hidden: true, 'data-testid': 'error-banner' },
      h('p', { 'data-testid': 'error-headline' }, this.bannerTitle, ' ', this.bannerText), this.reportLine,
      h('div', { class: 'banner__actions' }, this.restoreButton, this.reportButton, this.dismissButton));

    this.partitionBar = h('div', { class: 'partition-bar', hidden: true, 'data-testid': 'partition-bar' });
    this.partitionText = h('p');
    this.partitionApply = h('button', { type: 'button', class: 'button button--primary', 'data-testid': 'partition-apply' });
    this.partitionCancel = h('button', { type: 'button', class: 'button', 'data-testid': 'partition-cancel' });
    this.partitionBar.append(this.partitionText, this.partitionApply, this.partitionCancel);

    this.stage = new Stage(this.ctx);
    this.consoles = new Consoles(this.ctx);
    this.log = new EventLog(this.ctx);
    this.inspector = new Inspector(this.ctx);
    this.sentinels = new Sentinels(this.ctx);
    this.timeline = new Timeline(this.ctx);
    this.buffer = new BufferView(this.ctx);
    this.message = new MessageView(this.ctx);
    this.sequence = new SequenceDiagram(this.ctx, KIND_COLORS);
    this.guide = new Guide(this.ctx);

    // The side panel's tabs: what is shown about the selected node, and the chapter.
    this.sideViews = { inspector: this.inspector, buffer: this.buffer, message: this.message, sentinels: this.sentinels, guide: this.guide };
    this.sideTabs = h('div', { class: 'tabs', role: 'tablist' });
    this.sideTabButtons = new Map();
    for (const name of Object.keys(this.sideViews)) {
      const b = h('button', { type: 'button', role: 'tab', class: 'tab', 'data-testid': `tab-${name}` });
      b.addEventListener('click', () => this.showSide(name));
      this.sideTabButtons.set(name, b);
      this.sideTabs.append(b);
    }
    // The dock's right half: the event log or the sequence diagram.
    this.logTabs = h('div', { class: 'tabs', role: 'tablist' });
    this.logTabButtons = new Map();
    for (const name of ['log', 'sequence']) {
      const b = h('button', { type: 'button', role: 'tab', class: 'tab', 'data-testid': `tab-${name}` });
      b.addEventListener('click', () => this.showLogPane(name));
      this.logTabButtons.set(name, b);
      this.logTabs.append(b);
    }

    this.phoneTabs = h('nav', { class: 'phone-tabs', role: 'tablist', 'data-testid': 'phone-tabs' });
    // A pane is a grid cell; its body, a block inside it with its size and layout contained, is
    // where the browser's layout of what changes inside stops (a grid or flex item never is).
    const pane = (name, ...children) => h('div', { class: `pane pane--${name}`, 'data-pane': name }, h('div', { class: 'pane__body' }, ...children));
    this.panes = {
      stage: pane('stage', this.partitionBar, this.stage.root),
      side: pane('side', this.sideTabs, ...Object.values(this.sideViews).map((v) => v.root)),
      console: pane('console', this.consoles.root),
      log: pane('log', this.logTabs, this.log.root, this.sequence.root),
    };
    this.phoneButtons = new Map();
    for (const name of ['stage', 'console', 'side', 'log']) {
      const b = h('button', { type: 'button', role: 'tab', class: 'tab', 'data-testid': `phone-tab-${name}` });
      b.addEventListener('click', () => this.showPane(name));
      this.phoneButtons.set(name, b);
      this.phoneTabs.append(b);
    }
    this.live = h('div', { class: 'visually-hidden', 'aria-live': 'polite', 'data-testid': 'live' });
    this.loading = h('p', { class: 'loading', 'data-testid': 'loading' });
    this.main = h('div', { class: 'main' }, this.panes.stage, this.panes.side, this.panes.console, this.panes.log);
    this.layoutRoot = h('div', { class: 'lab', 'data-layout': 'wide', 'data-pane': 'stage' },
      this.toolbar, this.banner, this.phoneTabs, this.loading, this.main, this.timeline.root, this.live);
    this.menus = new Popover(this.layoutRoot);
    root.append(h('link', { rel: 'stylesheet', href: STYLE_URL }), this.layoutRoot);

    this.playButton.addEventListener('click', () => (this.playing ? this.pause() : this.play()));
    this.stepButton.addEventListener('click', () => this.step().catch((e) => this.report(e)));
    this.speedSelect.addEventListener('change', () => this.setSpeed(Number(this.speedSelect.value)));
    this.addButton.addEventListener('click', () => this.addNode().catch((e) => this.report(e)));
    this.partitionButton.addEventListener('click', () => this.partitionClicked());
    this.partitionApply.addEventListener('click', () => this.applyPartition());
    this.partitionCancel.addEventListener('click', () => this.setDraft(null));
    this.langSelect.addEventListener('change', () => this.setLanguage(this.langSelect.value, true));
    this.dismissButton.addEventListener('click', () => {
      this.banner.hidden = true;
    });
    this.restoreButton.addEventListener('click', () => this.restore().catch((e) => this.fail(e)));
    this.reportButton.addEventListener('click', () => this.bugReport().catch((e) => this.reportFailed(e)));
    this.shadowRoot.addEventListener('keydown', (e) => this.shortcut(e));

    this.resize = new ResizeObserver(() => this.measure());
    this.resize.observe(this.layoutRoot);
    this.onVisibility = () => this.visibilityChanged();
    document.addEventListener('visibilitychange', this.onVisibility);
    // Off screen, the lab costs nothing: no animation frames until it scrolls back in.
    this.io = new IntersectionObserver((entries) => {
      this.visible = entries.some((e) => e.isIntersecting);
      this.visibilityChanged();
    });
    this.io.observe(this);
    this.darkScheme = window.matchMedia('(prefers-color-scheme: dark)');
    this.darkScheme.addEventListener('change', () => this.applyLive());
    this.reducedMotion = window.matchMedia('(prefers-reduced-motion: reduce)');
    this.stage.reducedMotion = this.reducedMotion.matches;
    this.reducedMotion.addEventListener('change', () => {
      this.stage.reducedMotion = this.reducedMotion.matches;
    });
    this.setLanguage(this.attrLanguage(), false);
    this.readAttributes();
    this.showSide('inspector');
    this.showLogPane('log');
    this.showPane('stage');
    this.applyLive();
  }

  measure() {
    const narrow = this.layoutRoot.clientWidth < NARROW_PX;
    setAttr(this.layoutRoot, 'data-layout', narrow ? 'narrow' : 'wide');
  }

  showPane(name) {
    setAttr(this.layoutRoot, 'data-pane', name);
    for (const [n, b] of this.phoneButtons) setAttr(b, 'aria-selected', n === name ? 'true' : 'false');
  }

  /**
   * Which of the bulky events the page needs now: wire traffic (for the sequence diagram, the
   * log's traffic lines, or a host page that asked with the `traffic-events` attribute) and
   * propagated commands (for the buffer view or the log's stream lines).
   */
  wants() {
    return {
      traffic: !this.sequence.root.hidden || this.log.shows('net') || this.log.shows('sent') || this.hasAttribute('traffic-events'),
      stream: this.sideShown === 'buffer' || this.log.shows('stream'),
    };
  }

  /** A view that needs bulky events opened: the engine's host sends the latest it kept. */
  async catchUp() {
    if (!this.engine) return;
    const { traffic, stream } = await this.engine.request({ op: 'history' });
    this.sequence.add(traffic);
    for (const [node, events] of stream) this.streams.set(node, events.slice(-STREAM_KEPT));
    this.log.merge([...traffic, ...stream.flatMap(([, events]) => events)]);
    if (this.frame) this.render();
  }

  showSide(name) {
    const before = this.wants();
    this.sideShown = name;
    for (const [n, view] of Object.entries(this.sideViews)) view.root.hidden = n !== name;
    for (const [n, b] of this.sideTabButtons) setAttr(b, 'aria-selected', n === name ? 'true' : 'false');
    if (this.frame) this.render();
    this.wantsChanged(before);
  }

  wantsChanged(before) {
    const now = this.wants();
    if ((now.traffic && !before.traffic) || (now.stream && !before.stream)) this.catchUp().catch((e) => this.report(e));
  }

  showLogPane(name) {
    const before = this.wants();
    this.log.root.hidden = name !== 'log';
    this.sequence.root.hidden = name !== 'sequence';
    for (const [n, b] of this.logTabButtons) setAttr(b, 'aria-selected', n === name ? 'true' : 'false');
    if (this.frame) this.render();
    this.wantsChanged(before);
  }

  /**
   * The lab's name for assistive technology when the page has several: the host's aria-label,
   * else "Lab 2" by its place on the page (so each stage is a landmark of its own). Null when it
   * is the only one.
   */
  labName() {
    const own = this.getAttribute('aria-label');
    if (own) return own;
    const labs = Array.from(document.querySelectorAll(this.localName));
    return labs.length > 1 ? this.words.t('lab.numbered', { n: labs.indexOf(this) + 1 }) : null;
  }

  // ----- language -----

  attrLanguage() {
    const attr = this.getAttribute('lang');
    if (attr && attr !== 'auto') return resolveLanguage(attr);
    if (this.hasAttribute('url-state')) {
      try {
        const stored = localStorage.getItem(LANG_KEY);
        if (stored) return resolveLanguage(stored);
      } catch {
        // Storage may be blocked; the browser's languages decide then.
      }
    }
    // An embedded lab speaks its page's language (as `lang="auto"` also says), then the
    // reader's; the lab that owns the URL goes by the reader's browser.
    const page = document.documentElement.getAttribute('lang');
    const browser = navigator.languages && navigator.languages.length > 0 ? [...navigator.languages] : [navigator.language];
    const fromPage = page && (attr === 'auto' || !this.hasAttribute('url-state'));
    return resolveLanguage(fromPage ? [page, ...browser] : browser);
  }

  setLanguage(code, remember) {
    this.words = new Words(code);
    this.langSelect.value = this.words.code;
    // Screen readers and fonts go by the language the lab's own words are in.
    this.layoutRoot.lang = this.words.code;
    if (remember) {
      // The host's lang attribute says which language the lab's content is in.
      this.setAttribute('lang', this.words.code);
      if (this.hasAttribute('url-state')) {
        try {
          localStorage.setItem(LANG_KEY, this.words.code);
        } catch {
          // Not remembered; nothing else depends on it.
        }
      }
    }
    this.relabel();
  }

  relabel() {
    const t = (k, p) => this.words.t(k, p);
    setText(this.titleEl, t('app.title'));
    setAttr(this.toolbar, 'aria-label', t('controls.label'));
    this.renderPlay();
    setText(this.stepButton, t('controls.step'));
    setAttr(this.stepButton, 'title', t('controls.stepHelp'));
    setText(this.speedLabel.firstChild, t('controls.speed'));
    setText(this.clockLabel, t('controls.clock'));
    setText(this.clockText, this.words.seconds(this.nowMs));
    setText(this.addButton, t('controls.addNode'));
    this.renderPartitionButton();
    setText(this.langLabel.firstChild, t('controls.language'));
    setText(this.loading, t('app.loading'));
    setText(this.dismissButton, t('error.dismiss'));
    setText(this.restoreButton, t('error.restore'));
    setText(this.reportButton, t('error.report'));
    this.reportUrl.setAttribute('aria-label', t('error.reportUrl'));
    setText(this.partitionApply, t('partition.apply'));
    setText(this.partitionCancel, t('partition.cancel'));
    setText(this.partitionText, t('partition.help'));
    for (const [n, b] of this.sideTabButtons) setText(b, t(`tabs.${n}`));
    for (const [n, b] of this.logTabButtons) setText(b, t(`tabs.${n}`));
    setAttr(this.sideTabs, 'aria-label', t('tabs.side'));
    setAttr(this.logTabs, 'aria-label', t('tabs.dock'));
    setAttr(this.phoneTabs, 'aria-label', t('tabs.phone'));
    for (const [n, b] of this.phoneButtons) setText(b, t(`tabs.${n}`));
    if (this.bannerKey) setText(this.bannerTitle, t(this.bannerKey));
    this.stage.relabel();
    this.consoles.relabel();
    this.log.relabel();
    this.inspector.relabel();
    this.sentinels.relabel();
    this.timeline.relabel();
    this.buffer.relabel();
    this.message.relabel();
    this.sequence.relabel();
    this.guide.relabel();
    if (this.frame) this.render();
  }

  // ----- start-up -----

  async start() {
    this.measure();
    const settings = this.settings;
    const seed = this.seedAttr();
    const log = this.sharedLog();
    try {
      this.engine = await this.engineStarting;
      performance.mark('lab:engine');
    } catch (err) {
      this.loading.hidden = true;
      this.showBanner('error.loadFailed', this.errorText(err));
      throw err;
    }
    this.engine.onPanic = (panic) => this.panicked(panic);
    let shared = false;
    if (log !== null) {
      try {
        await this.engine.request({ op: 'create', seed, log });
        shared = true;
      } catch (err) {
        if (err && err.code === 'panic') throw err;
        this.showBanner('error.badLogTitle', this.errorText(err));
      }
    }
    // A chapter: the `scenario` attribute, or `?scenario=<id>&step=<n>` for the lab that owns
    // the URL. A chapter that cannot be opened says why in the player; a free lab starts.
    const wanted = this.wantedScenario();
    let guided = false;
    if (!shared && wanted) guided = await this.startScenario(wanted.ref, wanted.step);
    if (!shared && !guided) {
      await this.engine.request({ op: 'create', seed });
      for (let i = 0; i < settings.nodes.length; i++) await this.call('addNode');
    }
    this.quiet = shared || guided;
    performance.mark('lab:created');
    await this.tick(0, true);
    this.quiet = false;
    this.loading.hidden = true;
    for (const b of [this.playButton, this.stepButton, this.speedSelect, this.addButton, this.partitionButton]) b.disabled = false;
    if (shared || guided) {
      await this.showHistory(guided ? 'console.chapter' : 'console.replayed');
    } else {
      // The lab is set up the way a learner would do it: CONFIG SET and REPLICAOF typed in the
      // nodes' consoles, so the handshake and the full sync play out on screen.
      for (const { node, line } of settings.config) await this.consoles.type(node, line);
      const byName = new Map(this.frame.nodes.map((n) => [n.name, n]));
      for (const { name, replicaOf } of settings.nodes) {
        const master = replicaOf ? byName.get(replicaOf) : null;
        if (master) await this.consoles.type(byName.get(name).index, `REPLICAOF ${master.host} ${master.port}`);
      }
      const first = this.frame.nodes[0];
      this.select(first.index);
      const replica = this.frame.nodes.find((n) => settings.nodes.some((x) => x.name === n.name && x.replicaOf));
      this.consoles.show((replica || first).index);
    }
    await this.refresh();
    this.dispatchEvent(new CustomEvent('lab-ready', { bubbles: true, composed: true }));
    this.resolveReady();
    // A shared run opens paused where it was shared; a chapter waits for its first step; a
    // lab plays at once only when asked to.
    if (!shared && !guided && settings.autoplay) this.play();
  }

  /** One bad attribute found after start (its message in the banner, and `lab-error`). */
  reportAttribute(attribute, key, params) {
    const message = this.words.t(`error.attr.${key}`, { attribute, ...params });
    this.showBanner('error.settings', message);
    this.dispatchEvent(new CustomEvent('lab-error', { detail: { code: 'bad-attribute', attribute, message }, bubbles: true, composed: true }));
  }

  /** The seed: `?seed=` for the lab that owns the URL, else the `seed` attribute. */
  seedAttr() {
    const fromUrl = this.hasAttribute('url-state') ? new URLSearchParams(location.search).get('seed') : null;
    const n = Number(fromUrl);
    return fromUrl !== null && fromUrl !== '' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n : this.settings.seed;
  }

  /** The shared run to open: the `log` attribute, or `#log=` for the lab that owns the URL. */
  sharedLog() {
    if (this.hasAttribute('url-state') && location.hash.startsWith('#log=')) {
      const raw = location.hash.slice('#log='.length);
      // A link copied from the page before it put the log in the fragment as it is (and before
      // logs ended with ';t=') was percent-encoded a second time.
      const legacy = !raw.includes(';t=') && raw.includes('%25');
      return legacy ? decodeURIComponent(raw) : raw;
    }
    return this.settings.log;
  }

  /** A shared run's (or a chapter's) consoles show what was typed in it, with the replies. */
  async showHistory(markKey = 'console.replayed') {
    for (const n of this.frame.nodes) {
      const lines = await this.call('consoleHistory', [n.index]);
      const c = this.consoles.get(n.index);
      for (const l of lines) {
        c.print(`${n.host}:${n.port}> ${l.line}`, 'cmd');
        if (l.reply) c.printReply(l.reply);
      }
    }
    this.consoles.markAll(this.words.t(markKey, { seconds: (this.nowMs / 1000).toFixed(3) }));
    this.select(this.frame.nodes[0] ? this.frame.nodes[0].index : null);
  }

  // ----- the loop -----

  /** Shown or hidden (scrolled, or its tab): the loop runs only while the lab can be seen. */
  visibilityChanged() {
    if (this.running()) this.schedule();
    else this.stopLoop();
  }

  schedule() {
    if (this.timer || !this.playing || !this.running()) return;
    this.timer = setTimeout(() => this.loop(), TICK_MS);
  }

  running() {
    return this.isConnected && this.visible && !document.hidden && !this.broken && this.engine !== null;
  }

  stopLoop() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.lastTs = null;
    // Messages stop where they are (they move on the compositor while the lab plays).
    if (this.frame) this.stage.updateMessages(this.frame, this.nowMs * 1000);
  }

  /**
   * One turn while playing, every TICK_MS: the wall time since the last turn (times the speed)
   * is asked of the engine, one request at a time (time that passes meanwhile goes into the
   * next). No animation frame is requested: what moves between two answers moves on the
   * compositor.
   */
  loop() {
    this.timer = 0;
    if (!this.running() || !this.playing) {
      this.lastTs = null;
      return;
    }
    const now = performance.now();
    if (this.lastTs !== null) this.pendingMs += Math.min((now - this.lastTs) * this.speed, MAX_FRAME_ADVANCE_MS);
    this.lastTs = now;
    if (!this.ticking) this.tick(0).catch((err) => this.report(err));
    this.schedule();
  }

  /** Asks the engine to advance (the pending frame time plus `extraMs`) and draws what changed. */
  tick(extraMs = 0, force = false) {
    const run = async () => {
      this.ticking = true;
      const advanceMs = this.pendingMs + extraMs;
      this.pendingMs = 0;
      const dirty = this.dirty || force;
      this.dirty = false;
      try {
        const r = await this.engine.request({ op: 'tick', advanceMs, force: dirty, wants: this.wants() });
        this.apply(r);
      } finally {
        this.ticking = false;
      }
    };
    this.chain = this.chain.catch(() => {}).then(run);
    return this.chain;
  }

  /** After an action: draw its effect now, even while paused. */
  refresh() {
    this.dirty = true;
    return this.tick(0);
  }

  apply(r) {
    if (r.guide) this.guide.progress(r.guide);
    this.printTyped(r.typed);
    const step = this.clockStep();
    const ticked = Math.floor(r.nowMs / step) !== Math.floor(this.nowMs / step);
    const forked = r.horizonMs * 1000 < this.horizonUs;
    this.nowMs = r.nowMs;
    this.horizonUs = r.horizonMs * 1000;
    if (this.frame && !r.frame && !forked) {
      // The world did not change: only what moves with time is drawn again (messages on the
      // wire; the clock, countdowns and slider one clock step at a time).
      if (this.frame.messages.length > 0 || ticked) this.renderTime();
      return;
    }
    if (forked) {
      // Acting in the past forked the run: what was recorded after now is gone.
      this.marks = this.marks.filter((m) => m.timeUs <= this.horizonUs);
    }
    if (r.frame) {
      const f = r.frame;
      if (f.generation !== this.generation) {
        // A new lab (a chapter opened) starts its own history; a seek rewrites this one's.
        if (this.generation !== null) this.worldReplaced(r.nowMs);
        this.generation = f.generation;
      }
      this.frame = f;
      this.peerNames = namesOf(f, this.peerNames);
      if (r.truncate !== null) this.log.truncate(r.truncate);
      this.events(r.events, r.skipped);
      const live = r.nowMs * 1000 >= this.horizonUs - 500;
      for (const [node, replies] of r.late) {
        const c = this.consoles.get(node);
        if (c && live) for (const reply of replies) c.printReply(reply, 'late');
      }
    }
    this.render();
    this.stateEvent();
  }

  /** The lines a chapter typed, in the consoles they were typed in, with their replies. */
  printTyped(typed) {
    for (const { node, line, reply } of typed || []) {
      const c = this.consoles.get(node);
      const n = this.node(node);
      if (!c || !n) continue;
      c.print(`${n.host}:${n.port}> ${line}`, 'cmd');
      if (reply) c.printReply(reply);
    }
  }

  /** `lab-state`: the snapshot, at most once a second while it changes (then once more after). */
  stateEvent() {
    if (this.stateTimer) return; // one is due, and will carry the latest frame
    const wait = this.lastStateEvent + STATE_EVENT_MS - performance.now();
    if (wait <= 0) {
      this.dispatchState();
      return;
    }
    this.stateTimer = setTimeout(() => {
      this.stateTimer = 0;
      this.dispatchState();
    }, wait);
  }

  dispatchState() {
    this.lastStateEvent = performance.now();
    this.dispatchEvent(new CustomEvent('lab-state', { detail: { ...this.frame, nowMs: this.nowMs }, bubbles: true, composed: true }));
  }

  /** New trace events: into the log, the timeline's marks, the live region and `lab-event`. */
  events(list, skipped) {
    if (skipped > 0) this.log.skipped(skipped);
    this.log.add(list);
    this.sequence.add(list);
    for (const ev of list) {
      if (ev.type === 'propagated') {
        const kept = this.streams.get(ev.node) || [];
        kept.push(ev);
        if (kept.length > STREAM_KEPT) kept.splice(0, kept.length - STREAM_KEPT);
        this.streams.set(ev.node, kept);
      } else if (ev.type === 'psync') {
        this.psyncs.set(ev.node, ev);
      }
      const mark = markOf(ev);
      if (mark && ev.timeUs >= (this.marks.length ? this.marks[this.marks.length - 1].timeUs : 0) && !this.marks.some((m) => m.seq === ev.seq)) {
        this.marks.push({ seq: ev.seq, timeUs: ev.timeUs, kind: mark, node: ev.node, label: '' });
      }
      if (ev.type === 'notPropagated') {
        const c = this.consoles.get(ev.node);
        if (c) c.note(this.words.t(ev.replicas > 0 ? 'console.notPropagated' : 'console.notPropagatedReplica', { command: ev.command, n: ev.replicas }));
      }
      // What a lab's history replays when it opens is not news: only live events are announced.
      const say = this.quiet ? null : announcement(ev, this.words, this.peerNames);
      if (say) this.announce(say);
      this.dispatchEvent(new CustomEvent('lab-event', { detail: ev, bubbles: true, composed: true }));
    }
  }

  /** A seek restored a checkpoint: late replies belong to another timeline; mark the jump. */
  worldReplaced(nowMs) {
    this.consoles.markAll(this.words.t('console.seek', { seconds: (nowMs / 1000).toFixed(3) }));
    // What was traced after now belongs to a future that may not happen again.
    const nowUs = nowMs * 1000;
    this.sequence.forget(nowUs);
    for (const [node, kept] of this.streams) this.streams.set(node, kept.filter((e) => e.timeUs <= nowUs));
    for (const [node, ev] of this.psyncs) if (ev.timeUs > nowUs) this.psyncs.delete(node);
  }

  render() {
    const f = this.frame;
    if (!f) return;
    const nowUs = this.nowMs * 1000;
    this.renderClock();
    this.stage.update(f, nowUs);
    this.consoles.update(f);
    this.log.updateNodes(f.nodes);
    if (this.selectedIndex !== null && !f.nodes.some((n) => n.index === this.selectedIndex)) this.select(f.nodes.length ? f.nodes[0].index : null);
    // Only the side view on screen is drawn (the others catch up when shown).
    if (this.sideShown === 'inspector') this.inspector.update(f);
    else if (this.sideShown === 'buffer') this.buffer.update(f);
    this.sentinels.update(f.sentinels);
    if (!this.sequence.root.hidden) this.sequence.update(f, nowUs);
    this.timeline.update(this.nowMs, this.horizonUs / 1000, this.timelineMarks());
    this.renderPartitionButton();
    this.addButton.disabled = f.nodes.length >= 8;
  }

  /** Draws what moves with time alone: the messages, the clock, the countdowns, the slider. */
  renderTime() {
    this.renderClock();
    this.stage.updateTime(this.frame, this.nowMs * 1000);
    this.timeline.update(this.nowMs, this.horizonUs / 1000, this.timelineMarks());
  }

  /**
   * How finely running time is drawn (ms): tenths of a second while messages travel, whole
   * seconds while nothing does, so an idle lab redraws once a second and not five times.
   */
  clockStep() {
    return this.frame && this.frame.messages.length === 0 ? 1000 : 100;
  }

  /** Running time in clock steps; the exact time when paused. */
  renderClock() {
    const step = this.clockStep();
    setText(this.clockText, this.words.seconds(this.playing ? Math.floor(this.nowMs / step) * step : this.nowMs));
  }

  timelineMarks() {
    if (this.marksShown !== this.marks.length || this.marksLang !== this.words.code) {
      this.marksShown = this.marks.length;
      this.marksLang = this.words.code;
      this.marksCache = this.marks.map((m) => ({ ...m, label: this.words.t(`mark.${m.kind}`) }));
    }
    return this.marksCache;
  }

  renderPlay() {
    const t = (k) => this.words.t(k);
    setText(this.playButton, t(this.playing ? 'controls.pause' : 'controls.play'));
    setAttr(this.playButton, 'aria-label', t(this.playing ? 'controls.pauseAria' : 'controls.playAria'));
    setAttr(this.playButton, 'data-state', this.playing ? 'playing' : 'paused');
  }

  renderPartitionButton() {
    const partitioned = Boolean(this.frame && this.frame.groups);
    setText(this.partitionButton, this.words.t(partitioned ? 'partition.heal' : 'partition.draw'));
    setAttr(this.partitionButton, 'data-state', partitioned ? 'partitioned' : 'whole');
  }

  announce(text) {
    // A new node each time, so the same words twice are announced twice.
    this.live.replaceChildren(h('p', { text }));
  }

  // ----- errors -----

  errorText(err) {
    if (err === undefined || err === null) return this.words.t('error.unknown');
    if (typeof err === 'string') return err;
    if (err.code && this.words.has(`error.${err.code}`)) {
      return this.words.t(`error.${err.code}`, { detail: err.message || '' });
    }
    return err.message || String(err);
  }

  showBanner(titleKey, message, restorable = false) {
    this.bannerKey = titleKey;
    setText(this.bannerTitle, this.words.t(titleKey));
    setText(this.bannerText, message);
    this.restoreButton.hidden = !restorable;
    this.reportButton.hidden = !restorable;
    this.reportLine.hidden = true;
    this.banner.hidden = false;
  }

  /** A refused action: say why, where the learner is looking, and tell the host page. */
  report(err) {
    if (err && err.code === 'panic') return; // the banner already says so
    const message = this.errorText(err);
    this.announce(message);
    this.showBanner('error.refused', message);
    this.dispatchEvent(new CustomEvent('lab-error', { detail: { code: err && err.code, message }, bubbles: true, composed: true }));
  }

  fail(err) {
    if (err && err.code === 'panic') return;
    this.showBanner('error.title', this.errorText(err));
    this.rejectReady(err);
    this.dispatchEvent(new CustomEvent('lab-error', { detail: { code: (err && err.code) || 'failed', message: this.errorText(err) }, bubbles: true, composed: true }));
  }

  panicked(panic) {
    this.broken = panic;
    this.playing = false;
    this.stopLoop();
    this.renderPlay();
    for (const b of [this.playButton, this.stepButton, this.speedSelect, this.addButton, this.partitionButton]) b.disabled = true;
    this.showBanner('error.title', panic.message || this.words.t('error.unknown'), true);
    this.rejectReady({ code: 'panic', message: panic.message });
    this.dispatchEvent(new CustomEvent('lab-error', { detail: { code: 'panic', message: panic.message }, bubbles: true, composed: true }));
  }

  /** After a panic: a new engine replays every call that succeeded; the run goes on from there. */
  async restore() {
    const panic = this.broken;
    if (!panic) return;
    this.engine.terminate();
    this.engine = await EngineClient.start({ wasmUrl: this.getAttribute('wasm-url') || undefined });
    this.engine.onPanic = (p) => this.panicked(p);
    await this.engine.request({ op: 'create', restore: panic.restore });
    this.broken = null;
    this.banner.hidden = true;
    this.log.clear();
    this.generation = -1;
    for (const b of [this.playButton, this.stepButton, this.speedSelect, this.addButton, this.partitionButton]) b.disabled = false;
    await this.tick(0, true);
    this.consoles.markAll(this.words.t('console.restored', { seconds: (this.nowMs / 1000).toFixed(3) }));
    this.announce(this.words.t('error.restored'));
  }

  /**
   * After a panic: a link to a run that does again what failed (the calls that succeeded, then
   * the one that panicked), written by a second engine that replays the journal, since the one
   * that failed cannot be called again. Copied if the browser lets us; shown either way.
   */
  async bugReport() {
    const panic = this.broken;
    if (!panic) return;
    const engine = await EngineClient.start({ wasmUrl: this.getAttribute('wasm-url') || undefined });
    let log;
    try {
      await engine.request({ op: 'create', restore: panic.restore });
      const report = panic.report || {};
      log = await engine.request({ op: 'call', name: 'reportLog', args: [report.atUs ?? 0, report.action ?? undefined] });
    } finally {
      engine.terminate();
    }
    const url = this.linkTo(log);
    const copied = await writeClipboard(url);
    this.reportUrl.value = url;
    setText(this.reportStatus, this.words.t(copied ? 'error.reportCopied' : 'error.reportManual'));
    this.reportLine.hidden = false;
    this.announce(this.words.t(copied ? 'error.reportCopied' : 'error.reportManual'));
    if (!copied) {
      this.reportUrl.focus();
      this.reportUrl.select();
    }
    return url;
  }

  /** The bug report could not be written (the second engine failed too): say so in the banner. */
  reportFailed(err) {
    setText(this.reportStatus, `${this.words.t('error.reportFailed')} ${this.errorText(err)}`);
    this.reportUrl.value = '';
    this.reportLine.hidden = false;
  }

  // ----- talking to the engine -----

  call(name, args = []) {
    if (!this.engine) return Promise.reject({ code: 'not-started', message: 'the lab is not started' });
    return this.engine.request({ op: 'call', name, args });
  }

  /** Runs a recorded action, then draws its effect. */
  async act(name, args = []) {
    const value = await this.call(name, args);
    await this.refresh();
    return value;
  }

  // ----- the public API -----

  /** Runs a console line on node `node`; resolves to the reply as redis-cli prints it. */
  async exec(node, line) {
    await this.readyPromise;
    const c = this.consoles.get(node);
    if (!c) throw { code: 'no-node', message: `node ${node} does not exist` };
    return this.consoles.type(node, String(line));
  }

  async addNode() {
    await this.readyPromise;
    const i = await this.act('addNode');
    this.select(i);
    this.announce(this.words.t('announce.added', { name: this.peerNames.node.get(i) ?? `#${i}` }));
    return i;
  }

  async removeNode(i) {
    await this.readyPromise;
    const name = this.peerNames.node.get(i);
    await this.act('removeNode', [i]);
    this.announce(this.words.t('announce.removed', { name }));
  }

  /** Starts a write load of `rate` writes per second on node `node` (0 stops it). */
  async setLoad(node, rate) {
    await this.readyPromise;
    await this.act('setLoad', [node, Math.max(0, Number(rate) || 0)]);
  }

  get nodeCount() {
    return this.frame ? this.frame.nodes.length : 0;
  }

  get now() {
    return this.nowMs;
  }

  play() {
    if (this.broken) return;
    this.playing = true;
    this.lastTs = null;
    this.renderPlay();
    this.schedule();
  }

  pause() {
    this.playing = false;
    this.stopLoop();
    this.renderPlay();
    // Paused, the clock and the slider show the exact time (playing, tenths of a second).
    if (this.frame) this.renderTime();
  }

  setSpeed(speed) {
    if (!SPEEDS.includes(speed)) return;
    this.speed = speed;
    this.speedSelect.value = String(speed);
  }

  /** Advances virtual time by `ms` now (paused or not); resolves when drawn. */
  async run(ms) {
    await this.readyPromise;
    await this.tick(Math.max(0, Number(ms) || 0));
    return this.nowMs;
  }

  /** Jumps virtual time to the next thing that happens (at most a minute ahead). */
  async step() {
    await this.readyPromise;
    this.pause();
    const happened = await this.engine.request({ op: 'step', maxMs: STEP_LIMIT_MS });
    await this.refresh();
    if (!happened) this.announce(this.words.t('announce.nothing'));
    return happened;
  }

  /** Moves virtual time to `ms`, back or forward within the recorded run. */
  async seek(ms) {
    await this.readyPromise;
    const target = Math.min(Math.max(Number(ms) || 0, 0), this.horizonUs / 1000);
    if (Math.abs(target - this.nowMs) < 0.0005) return this.nowMs;
    if (target < this.nowMs) {
      this.resumeAfterDrag = false;
      this.pause();
    }
    // seek(0) would not replay the actions recorded at t = 0 (the nodes themselves).
    await this.engine.request({ op: 'seek', ms: Math.max(target, 0.001) });
    await this.refresh();
    return this.nowMs;
  }

  /** The latest frame snapshot as a plain object (nodes, links, messages, sentinels...). */
  async state() {
    await this.readyPromise;
    await this.refresh();
    return structuredClone({ ...this.frame, nowMs: this.nowMs });
  }

  async actionLog() {
    await this.readyPromise;
    return this.call('actionLog');
  }

  // ----- what the views ask for -----

  makeContext() {
    const lab = this;
    return {
      get words() {
        return lab.words;
      },
      names: () => lab.peerNames,
      canEdit: () => lab.settings.controls === 'full',
      labName: () => lab.labName(),
      playing: () => lab.playing,
      moving: () => lab.playing && lab.running(),
      speed: () => lab.speed,
      filtersChanged: (before) => lab.wantsChanged(before),
      wants: () => lab.wants(),
      selected: () => lab.selectedIndex,
      partitionDraft: () => lab.draft,
      select: (i) => lab.select(i),
      exec: (i, line) => lab.call('command', [i, line]),
      refresh: () => lab.refresh(),
      read: (name, args) => lab.call(name, args),
      errorText: (err) => lab.errorText(err),
      openNodeMenu: (i, anchor) => lab.openNodeMenu(i, anchor),
      openLinkMenu: (link, anchor) => lab.openLinkMenu(link, anchor),
      replicaOf: (from, to) => lab.replicaOf(from, to),
      dropMissed: (i) => lab.dropMissed(i),
      toggleSide: (i) => lab.toggleSide(i),
      showSentinels: () => {
        lab.showSide('sentinels');
        lab.showPane('side');
      },
      addSentinel: () => lab.addSentinel().catch((e) => lab.report(e)),
      seek: (ms) => lab.seek(ms).catch((e) => lab.report(e)),
      dragStart: () => {
        lab.resumeAfterDrag = lab.playing;
        lab.pause();
      },
      dragEnd: () => {
        if (lab.resumeAfterDrag) lab.play();
        lab.resumeAfterDrag = false;
      },
      share: () => lab.share().catch((e) => lab.report(e)),
      exportZip: () => lab.exportZip().catch((e) => lab.report(e)),
      importFile: (i, file) => lab.importFile(i, file),
      lastPsync: (i) => lab.psyncs.get(i) || null,
      recentStream: (i) => lab.streams.get(i) || [],
      openMessage: (meta) => lab.openMessage(meta),
      openSegment: (seg) => {
        const s = lab.sequence.segments.get(seg);
        if (s) lab.openMessage(s);
      },
      announce: (text) => lab.announce(text),
      report: (err) => lab.report(err),
      highlightedNodes: () => lab.highlights.nodes,
      highlightedFields: (i) => new Set(lab.highlights.fields.filter((f) => f.node === i).map((f) => f.field)),
      guide: lab.guideControls(),
    };
  }

  // ----- chapters -----

  /** The chapter to open at start: {ref (an id or a URL), step (0-based)}, or null. */
  wantedScenario() {
    const params = this.hasAttribute('url-state') ? new URLSearchParams(location.search) : null;
    const ref = (params && params.get('scenario')) || this.settings.scenario;
    if (!ref) return null;
    const n = params ? Number(params.get('step')) : NaN;
    return { ref, step: Number.isInteger(n) && n > 1 ? n - 1 : 0 };
  }

  /** Fetches a chapter by id (from the lab's own scenarios folder) or by URL. */
  async fetchScenario(ref) {
    const byId = /^[\w-]+$/.test(ref);
    const url = byId ? chapterUrl(ref) : new URL(ref, document.baseURI).href;
    const id = byId ? ref : decodeURIComponent(url.split('/').pop().replace(/\.toml$/i, '')) || 'scenario';
    const res = await fetch(url);
    if (!res.ok) throw { code: 'no-scenario-file', message: `${url}: ${res.status}` };
    return { id, text: await res.text() };
  }

  /** Opens a chapter at start; false (and the reason in the player) if it cannot be. */
  async startScenario(ref, step) {
    try {
      const { id, text } = await this.fetchScenario(ref);
      return await this.openScenarioText(id, text, step, false, /^[\w-]+$/.test(ref));
    } catch (err) {
      if (err && err.code === 'panic') throw err;
      this.guide.failed(ref, [{ file: ref, line: null, place: 'file', message: this.errorText(err) }]);
      this.showSide('guide');
      this.dispatchEvent(new CustomEvent('lab-error', { detail: { code: err.code || 'no-scenario-file', message: this.errorText(err) }, bubbles: true, composed: true }));
      return false;
    }
  }

  /**
   * Checks a scenario file; if it is good, replaces the lab with the chapter's (steps before
   * `step` run at once) and shows the player. A bad file's problems are listed in the player and
   * the lab stays as it was. Resolves to whether the chapter opened.
   */
  async openScenarioText(id, text, step = 0, reset = true, builtIn = false) {
    let scenario;
    try {
      scenario = await this.engine.request({ op: 'loadScenario', id, text });
    } catch (err) {
      if (!err || err.code !== 'bad-scenario') throw err;
      this.guide.failed(id, err.errors || []);
      this.showSide('guide');
      this.announce(this.words.t('guide.badFile', { id, n: (err.errors || []).length }));
      this.dispatchEvent(new CustomEvent('lab-error', { detail: { code: 'bad-scenario', message: err.message, errors: err.errors }, bubbles: true, composed: true }));
      return false;
    }
    this.pause();
    try {
      await this.engine.request({ op: 'create', seed: scenario.lab.seed, scenario: { id, text } });
    } catch (err) {
      // Its lab could not be set up (a `ready` that never holds...): the lab stays as it was.
      if (!err || err.code !== 'scenario-failed') throw err;
      this.guide.failed(id, [{ file: `${id}.toml`, line: null, place: 'lab', message: err.message }]);
      this.showSide('guide');
      this.dispatchEvent(new CustomEvent('lab-error', { detail: { code: err.code, message: err.message }, bubbles: true, composed: true }));
      return false;
    }
    this.scenarioId = id;
    this.scenarioBuiltIn = builtIn;
    // A deep link: the steps before it run at once, a challenge with its reference solution, as
    // the tests run them; the first that cannot finish is where the chapter opens.
    let last = Math.min(step, scenario.steps.length - 1);
    for (let i = 0; i < last; i++) {
      await this.call('scenarioBegin', [i]);
      await this.call('scenarioFinish');
      if (scenario.steps[i].challenge) {
        await this.call('scenarioSolution', [i]);
        await this.call('scenarioFinish');
      }
      const progress = await this.call('scenarioProgress');
      if (progress.state === 'failed') {
        last = i;
        break;
      }
    }
    if (reset) await this.resetViews();
    this.guide.loaded(scenario, last);
    this.showSide('guide');
    return true;
  }

  /** Another lab replaced this one's: its views start again from the new lab's history. */
  async resetViews() {
    this.log.clear();
    this.consoles.clear();
    this.sequence.forget(0);
    this.marks = [];
    this.streams.clear();
    this.psyncs.clear();
    this.generation = null;
    this.horizonUs = 0;
    this.quiet = true;
    await this.tick(0, true);
    this.quiet = false;
    await this.showHistory('console.chapter');
  }

  /** What the chapter player asks of the lab. */
  guideControls() {
    const lab = this;
    const run = async (op, args) => {
      await lab.call(op, args);
      await lab.refresh();
    };
    return {
      begin: async (i) => {
        await run('scenarioBegin', [i]);
        if (!lab.playing) lab.play();
      },
      back: (i) => {
        // The moment before the step stays on screen until the learner runs it again.
        lab.pause();
        return run('scenarioBack', [i]);
      },
      trial: async (i) => {
        await run('scenarioTrial', [i]);
        if (!lab.playing) lab.play();
      },
      solution: (i) => run('scenarioSolution', [i]),
      finish: () => run('scenarioFinish', []),
      open: (id, text) => lab.openScenarioText(id, text),
      openChapter: async (id) => {
        const { text } = await lab.fetchScenario(id);
        if (await lab.openScenarioText(id, text, 0, true, true)) lab.setUrlScenario(id, 1);
      },
      listChapters: () => lab.listChapters(),
      saveAsScenario: () => lab.saveAsScenario().catch((e) => lab.report(e)),
      event: (name, detail) => {
        // Only a chapter of the lab's own can be linked to (a file opened from disk cannot).
        if (name === 'lab-step' && lab.scenarioBuiltIn) lab.setUrlScenario(lab.scenarioId, detail.step);
        lab.dispatchEvent(new CustomEvent(name, { detail: { id: lab.scenarioId, ...detail }, bubbles: true, composed: true }));
      },
      highlight: ({ nodes, fields }) => {
        lab.highlights = { nodes: new Set(nodes), fields };
        if (lab.frame) lab.render();
      },
      focusNode: (i) => lab.select(i),
      focusField: (i, field) => {
        lab.select(i);
        lab.highlights = { nodes: new Set([...lab.highlights.nodes, i]), fields: [...lab.highlights.fields, { node: i, field }] };
        lab.showSide('inspector');
        lab.showPane('side');
      },
      openView: (view) => lab.openView(view),
    };
  }

  /** Shows a view a chapter points at. */
  openView(view) {
    if (SIDE_VIEWS.includes(view)) {
      this.showSide(view);
      this.showPane('side');
    } else if (view === 'log' || view === 'sequence') {
      this.showLogPane(view);
      this.showPane('log');
    } else if (view === 'console') {
      this.showPane('console');
    } else if (view === 'timeline') {
      const slider = this.timeline.root.querySelector('input');
      if (slider) slider.focus();
    } else {
      this.showPane('stage');
    }
  }

  /** The chapter list with titles (each file read and checked by the engine once). */
  async listChapters() {
    if (!this.chapterTitles) {
      const titles = [];
      for (const id of CHAPTERS) {
        try {
          const { text } = await this.fetchScenario(id);
          const s = await this.engine.request({ op: 'loadScenario', id, text });
          titles.push({ id, title: s.title });
        } catch {
          titles.push({ id, title: null });
        }
      }
      this.chapterTitles = titles;
    }
    this.guide.setChapters(this.chapterTitles);
  }

  /** The lab that owns the URL keeps the chapter and step in it (a deep link). */
  setUrlScenario(id, step) {
    if (!this.hasAttribute('url-state') || !id) return;
    const url = new URL(location.href);
    url.searchParams.set('scenario', id);
    url.searchParams.set('step', String(step));
    history.replaceState(null, '', url);
  }

  /** Downloads the topology as it is now, for real redis-server processes (a zip). */
  async exportZip() {
    const bytes = await this.call('exportZip', [7000]);
    this.download(new Blob([bytes], { type: 'application/zip' }), 'redis-lab.zip');
  }

  /** Offers `blob` as a download named `name`. */
  download(blob, name) {
    const href = URL.createObjectURL(blob);
    const a = h('a', { href, download: name, hidden: true });
    this.layoutRoot.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(href), 0);
  }

  /** Downloads the run so far as a scenario file skeleton. */
  async saveAsScenario() {
    const text = await this.call('scenarioSkeleton');
    this.download(new Blob([text], { type: 'text/plain' }), 'scenario.toml');
  }

  /** Opens a chapter (by id, or the given file text). Resolves to whether it opened. */
  async openScenario(id, text) {
    await this.readyPromise;
    if (typeof text === 'string') return this.openScenarioText(String(id), text);
    const file = await this.fetchScenario(String(id));
    return this.openScenarioText(file.id, file.text, 0, true, /^[\w-]+$/.test(String(id)));
  }

  select(i) {
    this.selectedIndex = i;
    this.inspector.select(i);
    if (i !== null && i !== undefined) this.consoles.show(i);
    if (this.frame) this.stage.update(this.frame, this.nowMs * 1000);
  }

  node(i) {
    return this.frame ? this.frame.nodes.find((n) => n.index === i) : undefined;
  }

  /** Makes node `from` a replica of node `to` the way an operator would: REPLICAOF in its console. */
  replicaOf(from, to) {
    const master = this.node(to);
    if (!master) return Promise.resolve();
    this.showPane('console');
    return this.consoles.type(from, `REPLICAOF ${master.host} ${master.port}`);
  }

  dropMissed(i) {
    const name = this.peerNames.node.get(i);
    this.announce(this.words.t('stage.dropMiss', { name }));
    this.showBanner('error.refused', this.words.t('stage.dropMiss', { name }));
  }

  openNodeMenu(i, anchor) {
    const n = this.node(i);
    if (!n) return;
    const t = (k, p) => this.words.t(k, p);
    const others = this.frame.nodes.filter((x) => x.index !== i);
    const replicating = n.role === 'slave';
    const link = this.frame.links.find((l) => l.replica === i);
    const items = [{ heading: t('menu.replicaOf') }];
    for (const o of others) {
      const current = Boolean(link) && link.master === o.index;
      items.push({
        label: t('menu.replicaOfNode', { name: o.name, addr: `${o.host}:${o.port}` }),
        disabled: current,
        testid: `menu-replicaof-${o.index}`,
        run: () => this.replicaOf(i, o.index),
      });
    }
    items.push({ label: t('menu.noOne'), disabled: !replicating, testid: 'menu-noone', run: () => this.consoles.type(i, 'REPLICAOF NO ONE') });
    items.push({ heading: t('menu.faults') });
    items.push(n.up
      ? { label: t('menu.crash'), testid: 'menu-crash', run: () => this.fault('crash', [i], 'announce.crashed', n.name) }
      : { label: t('menu.restart'), testid: 'menu-restart', run: () => this.fault('restart', [i], 'announce.restarted', n.name) });
    items.push({ label: t('menu.pause', { seconds: PAUSE_MS / 1000 }), disabled: !n.up || n.paused, testid: 'menu-pause', run: () => this.fault('pauseNode', [i, PAUSE_MS], 'announce.paused', n.name) });
    items.push({ heading: t('menu.load') });
    const rate = n.load;
    for (const r of LOAD_RATES) {
      items.push({ label: t('menu.loadRate', { n: this.words.n(r) }), disabled: rate === r || !n.up, testid: `menu-load-${r}`, run: () => this.fault('setLoad', [i, r], 'announce.load', n.name) });
    }
    items.push({ label: t('menu.loadStop'), testid: 'menu-load-0', run: () => this.fault('setLoad', [i, 0], 'announce.loadStopped', n.name) });
    items.push({ heading: t('menu.data') });
    items.push({ label: t('menu.export'), testid: 'menu-export', run: () => this.exportRdb(i) });
    items.push({ label: t('menu.hex'), testid: 'menu-hex', run: () => this.openRdbHex(i) });
    items.push({ label: t('menu.import'), testid: 'menu-import', run: () => this.pickRdb(i) });
    items.push({ label: t('menu.remove'), testid: 'menu-remove', run: () => this.removeNode(i).catch((e) => this.report(e)) });
    this.menus.menu(anchor, t('node.menu', { name: n.name }), items);
  }

  /** Shows a message (a segment on the wire or in the trace) in the side panel's Message tab. */
  openMessage(meta) {
    const m = meta.seg !== undefined ? meta : { ...meta, seg: meta.id };
    this.showSide('message');
    this.showPane('side');
    this.message.openSegment(m);
  }

  /** Shows node `i`'s dump.rdb in hex, its parts marked by the engine's reading of it. */
  async openRdbHex(i) {
    try {
      const bytes = await this.call('exportRdb', [i]);
      const sections = await this.engine.request({ op: 'rdbSections', bytes, from: 0, to: bytes.length });
      this.showSide('message');
      this.showPane('side');
      this.message.openRdb(`dump-${this.peerNames.node.get(i) ?? i}.rdb`, bytes, sections);
    } catch (err) {
      this.report(err);
    }
  }

  async fault(name, args, announceKey, nodeName) {
    try {
      await this.act(name, args);
      this.announce(this.words.t(announceKey, { name: nodeName, seconds: PAUSE_MS / 1000 }));
    } catch (err) {
      this.report(err);
    }
  }

  openLinkMenu(link, anchor) {
    const t = (k, p) => this.words.t(k, p);
    const replica = this.node(link.replica);
    const master = link.master !== null ? this.node(link.master) : null;
    if (!replica) return;
    if (!master) {
      this.menus.menu(anchor, t('link.menu', { master: `${link.host}:${link.port}`, replica: replica.name }), [
        { heading: t('link.noMaster', { addr: `${link.host}:${link.port}` }) },
        { label: t('menu.noOne'), testid: 'menu-noone', run: () => this.consoles.type(replica.index, 'REPLICAOF NO ONE') },
      ]);
      return;
    }
    const field = (key, value, testid) => {
      const input = h('input', { type: 'number', min: '0', step: 'any', value: String(value), 'data-testid': testid });
      return { input, label: h('label', { class: 'field' }, h('span', { text: t(key) }), input) };
    };
    const latency = field('link.latency', link.latencyUs / 1000, 'link-latency');
    const jitter = field('link.jitter', link.jitterUs / 1000, 'link-jitter');
    const bandwidth = field('link.bandwidth', link.bandwidth / 1024, 'link-bandwidth');
    const cut = h('button', { type: 'button', class: 'button', 'data-testid': 'link-cut', text: t('link.cut') });
    const apply = h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'link-apply', text: t('link.apply') });
    const close = h('button', { type: 'button', class: 'button', text: t('link.close') });
    const form = h('form', { class: 'link-form', 'aria-label': t('link.menu', { master: master.name, replica: replica.name }) },
      h('p', { class: 'link-form__title', text: t('link.menu', { master: master.name, replica: replica.name }) }),
      cut, latency.label, jitter.label, bandwidth.label, h('div', { class: 'row' }, apply, close));
    cut.addEventListener('click', () => {
      this.menus.close();
      this.fault('cut', [master.index, replica.index], 'announce.cut', `${master.name} ↔ ${replica.name}`);
    });
    close.addEventListener('click', () => this.menus.close());
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const ms = (x) => Math.max(0, Number(x.input.value) || 0);
      this.menus.close();
      this.fault('setLink', [master.index, replica.index, ms(latency), ms(jitter), Math.max(1, ms(bandwidth) * 1024)], 'announce.link', `${master.name} ↔ ${replica.name}`);
    });
    this.menus.form(anchor, form);
  }

  // ----- partitions -----

  partitionClicked() {
    if (this.frame && this.frame.groups) {
      this.fault('heal', [], 'announce.healed', '');
      return;
    }
    if (this.draft) this.setDraft(null);
    else this.setDraft(new Map(this.frame.nodes.map((n, k) => [n.index, k === 0 ? 0 : 1])));
  }

  setDraft(draft) {
    this.draft = draft;
    this.partitionBar.hidden = !draft;
    if (this.frame) this.stage.update(this.frame, this.nowMs * 1000);
    if (draft) this.partitionApply.focus();
  }

  toggleSide(i) {
    if (!this.draft) return;
    this.draft.set(i, this.draft.get(i) === 1 ? 0 : 1);
    this.stage.update(this.frame, this.nowMs * 1000);
  }

  applyPartition() {
    const draft = this.draft;
    if (!draft) return;
    const sides = new Set(draft.values());
    if (sides.size < 2) {
      this.showBanner('error.refused', this.words.t('partition.oneSide'));
      this.announce(this.words.t('partition.oneSide'));
      return;
    }
    // One group number per node slot; removed slots and sentinels stay with side 1.
    const slots = Math.max(...this.frame.nodes.map((n) => n.index)) + 1;
    const groups = Array.from({ length: slots }, (_, i) => draft.get(i) ?? 0);
    this.setDraft(null);
    const names = (side) => this.frame.nodes.filter((n) => draft.get(n.index) === side).map((n) => n.name).join(', ');
    this.fault('partition', [groups], 'announce.partitioned', `${names(0)} | ${names(1)}`);
  }

  // ----- sentinels -----

  async addSentinel() {
    const f = this.frame;
    // A new sentinel watches the master the others watch (the first up master when none yet).
    const last = f.sentinels[f.sentinels.length - 1];
    const watched = last && last.master !== null ? f.nodes.find((n) => n.index === last.master) : null;
    const master = watched || f.nodes.find((n) => n.role === 'master' && n.up) || f.nodes[0];
    const j = await this.act('addSentinel', [master.index, SENTINEL_QUORUM, SENTINEL_DOWN_AFTER_MS, SENTINEL_FAILOVER_TIMEOUT_MS]);
    this.announce(this.words.t('sentinels.announce.added', { name: this.peerNames.sentinel.get(j) ?? `S${j + 1}`, master: master.name }));
  }

  // ----- dump.rdb -----

  async exportRdb(i) {
    try {
      const bytes = await this.call('exportRdb', [i]);
      const name = `dump-${this.peerNames.node.get(i) ?? i}.rdb`;
      const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
      const a = h('a', { href: url, download: name });
      this.shadowRoot.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      this.announce(this.words.t('rdb.exported', { file: name, bytes: this.words.bytes(bytes.length) }));
    } catch (err) {
      this.report(err);
    }
  }

  pickRdb(i) {
    const input = h('input', { type: 'file', accept: '.rdb,application/octet-stream', hidden: true, 'data-testid': 'rdb-file' });
    input.addEventListener('change', () => {
      const file = input.files && input.files[0];
      input.remove();
      if (file) this.importFile(i, file);
    });
    this.shadowRoot.append(input);
    input.click();
  }

  /** Loads a dump.rdb file into node `i` (it restarts from it); a bad file changes nothing. */
  async importFile(i, file) {
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      await this.act('importRdb', [i, bytes]);
      this.announce(this.words.t('rdb.imported', { file: file.name, name: this.peerNames.node.get(i) }));
    } catch (err) {
      this.report(err);
    }
  }

  // ----- sharing -----

  /** The address that opens the run `log` (this page's for a lab that owns the URL). */
  linkTo(log) {
    // The log is URL-safe as it is (percent-escaped arguments, `;`, `,`, `=`): no second encoding.
    const base = this.hasAttribute('url-state') ? new URL(location.href) : new URL(this.getAttribute('share-url') || new URL('../index.html', import.meta.url).href, location.href);
    base.hash = `log=${log}`;
    return base.href;
  }

  async share() {
    const url = this.linkTo(await this.call('actionLog'));
    if (this.hasAttribute('url-state')) history.replaceState(history.state, '', url);
    const copied = await writeClipboard(url);
    this.timeline.shared(url, copied);
    return url;
  }

  // ----- keyboard -----

  shortcut(e) {
    const target = e.composedPath()[0];
    if (target instanceof HTMLElement && (target.closest('input, select, textarea, [role="menu"]') || target.isContentEditable)) return;
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === ' ' && !(target instanceof HTMLButtonElement)) {
      e.preventDefault();
      if (this.playing) this.pause();
      else this.play();
    } else if (e.key === 'ArrowRight' && !target.closest('[role="tablist"]')) {
      e.preventDefault();
      this.step().catch((err) => this.report(err));
    } else if (e.key === 'ArrowLeft' && !target.closest('[role="tablist"]')) {
      e.preventDefault();
      this.call('previousEventTime', [this.nowMs])
        .then((before) => (before === undefined || before === null ? null : this.seek(before)))
        .catch((err) => this.report(err));
    } else if (e.key === '?') {
      e.preventDefault();
      this.showBanner('help.title', this.words.t('help.keys'));
    }
  }
}

/** What a timeline mark is for an event, or null (only what a learner scrubs for). */
function markOf(ev) {
  switch (ev.type) {
    case 'crashed':
    case 'restarted':
    case 'cut':
    case 'partition':
    case 'healed':
    case 'shutDown':
    case 'removed':
    case 'imported':
      return 'fault';
    case 'state':
      if (ev.change === 'replState' && ev.to === 'sync') return 'sync';
      if (ev.change === 'role') return 'role';
      return null;
    case 'psync':
      return ev.accepted ? 'continue' : null;
    default:
      return null;
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

if (!customElements.get('redis-repl-lab')) customElements.define('redis-repl-lab', RedisReplLab);
