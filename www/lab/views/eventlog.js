// The event log: what the engine's trace says happened, in the learner's words, newest last.
// Filters by node and by kind; a run of the same event (heartbeats, ACKs) folds into one line with
// a count; replication ids are shortened, with the whole id on hover and on focus.

import { h, setText, setAttr } from '../dom.js';
import { describe, subjectName, shortId } from './describe.js';

const KEEP = 2000; // events kept for re-filtering
const SHOWN = 400; // lines in the DOM
const BATCH = 60; // lines added per batch at most (at volume the rest are counted)
const FLUSH_MS = 100; // new lines reach the page at most this often (wall clock)

/** Filter groups, in the order of their checkboxes; `sent` is the sending half of `net`. */
const KINDS = ['log', 'state', 'psync', 'stream', 'fault', 'net', 'sent', 'conn', 'sentinel', 'sentinel-net'];
// Wire traffic is on the stage and in the sequence diagram; the log starts without it.
const DEFAULT_ON = new Set(['log', 'state', 'psync', 'fault', 'conn', 'sentinel']);

const groupOf = (ev) => (ev.type === 'sent' && ev.kind === 'net' ? 'sent' : ev.kind);

export class EventLog {
  constructor(ctx) {
    this.ctx = ctx;
    this.events = []; // {ev, text, verbatim, ids, subject, sig}
    this.queued = []; // added, not yet on the page
    this.flushTimer = 0;
    this.kinds = new Set(DEFAULT_ON);
    this.node = 'all';
    this.root = h('section', { class: 'eventlog', 'data-testid': 'eventlog' });
    this.title = h('h2', { class: 'panel-title' });
    this.nodeSelect = h('select', { class: 'eventlog__node', 'data-testid': 'eventlog-node' });
    this.nodeLabel = h('label', { class: 'eventlog__filter' }, h('span'), this.nodeSelect);
    this.kindBox = h('fieldset', { class: 'eventlog__kinds' }, h('legend', { class: 'visually-hidden' }));
    this.checks = new Map();
    for (const k of KINDS) {
      const input = h('input', { type: 'checkbox', 'data-testid': `eventlog-kind-${k}` });
      input.checked = this.kinds.has(k);
      input.addEventListener('change', () => {
        const before = this.ctx.wants();
        if (input.checked) this.kinds.add(k);
        else this.kinds.delete(k);
        this.redraw();
        this.ctx.filtersChanged(before);
      });
      const label = h('label', { class: 'eventlog__kind', 'data-kind': k }, input, h('span'));
      this.checks.set(k, label);
      this.kindBox.append(label);
    }
    this.nodeSelect.addEventListener('change', () => {
      this.node = this.nodeSelect.value;
      this.redraw();
    });
    this.list = h('ol', { class: 'eventlog__list', 'data-testid': 'event-log', tabindex: '0' });
    // Follow the newest line unless the learner scrolled up to read (known from scroll events,
    // so adding lines never has to measure the list).
    this.following = true;
    this.list.addEventListener('scroll', () => {
      this.following = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    }, { passive: true });
    this.filterSummary = h('summary', { 'data-testid': 'eventlog-filters' });
    this.filters = h('details', { class: 'eventlog__filters' }, this.filterSummary, this.nodeLabel, this.kindBox);
    this.root.append(h('div', { class: 'eventlog__head' }, this.title, this.filters), this.list);
  }

  relabel() {
    const t = this.ctx.words.t.bind(this.ctx.words);
    setText(this.title, t('events.title'));
    setText(this.filterSummary, t('events.filters'));
    setText(this.nodeLabel.firstChild, t('events.nodeFilter'));
    setText(this.kindBox.firstChild, t('events.kindFilter'));
    setAttr(this.list, 'aria-label', t('events.label'));
    for (const [k, label] of this.checks) setText(label.lastChild, t(`events.kind.${k}`));
    this.updateNodes(this.frameNodes || []);
    // Sentences are in the old language: word them again when shown.
    for (const e of this.events) e.text = null;
    this.redraw();
  }

  /** The node filter's choices follow the nodes in the lab. */
  updateNodes(nodes) {
    this.frameNodes = nodes;
    const key = `${this.ctx.words.code}|${nodes.map((n) => `${n.index}:${n.name}`).join(',')}`;
    if (key === this.nodesKey) return;
    this.nodesKey = key;
    const t = this.ctx.words.t.bind(this.ctx.words);
    const options = [h('option', { value: 'all', text: t('events.allNodes') })];
    for (const n of nodes) options.push(h('option', { value: String(n.index), text: n.name }));
    this.nodeSelect.replaceChildren(...options);
    this.nodeSelect.value = nodes.some((n) => String(n.index) === this.node) ? this.node : 'all';
    this.node = this.nodeSelect.value;
  }

  /** Words an entry (once, when it is first shown). */
  word(entry) {
    if (entry.text !== null) return entry;
    const names = this.ctx.names();
    const d = describe(entry.ev, this.ctx.words, names);
    entry.text = d.text;
    entry.verbatim = Boolean(d.verbatim);
    entry.ids = d.ids || [];
    entry.subject = subjectName(entry.ev, names);
    entry.sig = `${entry.ev.node}|${entry.ev.kind}|${entry.ev.type}|${entry.text}`;
    return entry;
  }

  /**
   * Adds events from the engine (already in time order). Their lines are added to the page at
   * most every FLUSH_MS: under a write load a frame brings dozens, and one update a tenth of a
   * second reads the same and costs the page far less.
   */
  add(events) {
    if (events.length === 0) return;
    const fresh = events.map((ev) => ({ ev, text: null }));
    this.events.push(...fresh);
    if (this.events.length > KEEP) this.events.splice(0, this.events.length - KEEP);
    this.queued.push(...fresh);
    if (this.queued.length > KEEP) this.queued.splice(0, this.queued.length - KEEP);
    // Paused (stepping, acting, a test), each event is shown as it comes.
    if (!this.ctx.playing()) this.flush();
    else if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** True if lines of filter group `kind` are shown. */
  shows(kind) {
    return !this.root.hidden && this.kinds.has(kind);
  }

  /** Adds events the log did not get as they happened (kept by the engine's host), in order. */
  merge(events) {
    const have = new Set(this.events.map((e) => e.ev.seq));
    const fresh = events.filter((ev) => !have.has(ev.seq)).map((ev) => ({ ev, text: null }));
    if (fresh.length === 0) return;
    this.events = [...this.events, ...fresh].sort((a, b) => a.ev.seq - b.ev.seq).slice(-KEEP);
    this.redraw();
  }

  /** Adds the queued lines now (tests and a paused lab want them at once). */
  flush() {
    clearTimeout(this.flushTimer);
    this.flushTimer = 0;
    const queued = this.queued;
    this.queued = [];
    this.append(queued);
  }

  /** Forgets everything (a new engine sends the run's events again). */
  clear() {
    this.events = [];
    this.queued = [];
    this.list.replaceChildren();
  }

  /**
   * Keeps the first `length` events of the trace: after a seek back they are still what
   * happened; the engine sends the later ones again as time runs forward.
   */
  truncate(length) {
    const keep = this.events.filter((e) => e.ev.seq < length);
    this.queued = this.queued.filter((e) => e.ev.seq < length);
    if (keep.length === this.events.length) return;
    this.events = keep;
    this.redraw();
  }

  /** Events of a burst too large to list (at volume): say how many were left out. */
  skipped(count) {
    const t = this.ctx.words.t.bind(this.ctx.words);
    this.list.append(h('li', { class: 'event event--skipped', text: t('events.skipped', { n: this.ctx.words.n(count) }) }));
  }

  visible(entry) {
    const ev = entry.ev;
    if (!this.kinds.has(groupOf(ev))) return false;
    if (this.node === 'all') return true;
    const sentinel = ev.kind === 'sentinel' || ev.kind === 'sentinel-net';
    return !sentinel && String(ev.node) === this.node;
  }

  redraw() {
    this.queued = [];
    this.list.replaceChildren();
    this.append(this.events);
  }

  append(entries) {
    const shown = entries.filter((e) => this.visible(e));
    const frag = document.createDocumentFragment();
    let last = this.list.lastElementChild;
    if (shown.length > BATCH) {
      // A burst (a write load): the latest lines are listed, the others counted.
      const t = this.ctx.words.t.bind(this.ctx.words);
      last = h('li', { class: 'event event--skipped', text: t('events.burst', { n: this.ctx.words.n(shown.length - BATCH) }) });
      frag.append(last);
    }
    for (const e of shown.slice(-BATCH).map((x) => this.word(x))) {
      if (last && last.dataset.sig === e.sig) {
        const count = Number(last.dataset.count) + 1;
        last.dataset.count = String(count);
        setText(last.querySelector('.event__count'), `×${count}`);
        setText(last.querySelector('.event__time'), this.ctx.words.seconds(e.ev.timeUs / 1000));
        continue;
      }
      last = this.line(e);
      frag.append(last);
    }
    this.list.append(frag);
    while (this.list.childElementCount > SHOWN) this.list.firstElementChild.remove();
    if (this.following && !this.scrollQueued) {
      // Scrolled once per frame, when the browser lays the page out anyway.
      this.scrollQueued = true;
      requestAnimationFrame(() => {
        this.scrollQueued = false;
        if (this.following) this.list.scrollTop = this.list.scrollHeight;
      });
    }
  }

  line(e) {
    const t = this.ctx.words.t.bind(this.ctx.words);
    const li = h('li', { class: `event event--${e.ev.kind}`, 'data-type': e.ev.type });
    li.dataset.sig = e.sig;
    li.dataset.count = '1';
    const text = h('span', { class: `event__text${e.verbatim ? ' event__text--verbatim' : ''}` });
    if (e.verbatim) text.lang = 'en';
    fillWithIds(text, e.text, e.ids);
    li.append(
      h('span', { class: 'event__time', text: this.ctx.words.seconds(e.ev.timeUs / 1000) }),
      h('span', { class: 'event__node', text: e.subject }),
      h('span', { class: 'event__kind', 'data-kind': groupOf(e.ev), text: t(`events.kind.${groupOf(e.ev)}`) }),
      text,
      h('span', { class: 'event__count' }),
    );
    if (e.ev.seg !== undefined) {
      // A message's line opens its bytes.
      const open = h('button', { type: 'button', class: 'event__open', text: t('events.open'), 'aria-label': t('events.openLabel', { text: e.text }) });
      open.addEventListener('click', () => this.ctx.openSegment(e.ev.seg));
      text.append(' ', open);
    }
    return li;
  }

  /** Text of the shown lines (for tests). */
  text() {
    return Array.from(this.list.children, (li) => li.textContent).join('\n');
  }
}

/** Puts `text` in `el`, each shortened id in it as an <abbr> holding the whole id. */
function fillWithIds(el, text, ids) {
  let rest = text;
  for (const id of ids) {
    const short = shortId(id);
    const at = short ? rest.indexOf(short) : -1;
    if (at < 0) continue;
    el.append(rest.slice(0, at), h('abbr', { title: id, tabindex: '0', text: short }));
    rest = rest.slice(at + short.length);
  }
  el.append(rest);
}
