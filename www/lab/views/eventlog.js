// The event log: what the engine's trace says happened, in the learner's words, newest last.
// Filters by node and by kind; a run of the same event (heartbeats, ACKs) folds into one line with
// a count; replication ids are shortened, with the whole id on hover and on focus.

import { h, setText, setAttr } from '../dom.js';
import { describe, subjectName, shortId } from './describe.js';

const KEEP = 2000; // events kept for re-filtering
const SHOWN = 400; // lines in the DOM

/** Filter groups, in the order of their checkboxes; `sent` is the sending half of `net`. */
const KINDS = ['log', 'state', 'psync', 'stream', 'fault', 'net', 'sent', 'conn', 'sentinel', 'sentinel-net'];
const DEFAULT_ON = new Set(['log', 'state', 'psync', 'fault', 'net', 'conn', 'sentinel']);

const groupOf = (ev) => (ev.type === 'sent' && ev.kind === 'net' ? 'sent' : ev.kind);

export class EventLog {
  constructor(ctx) {
    this.ctx = ctx;
    this.events = []; // {ev, text, verbatim, ids, subject, sig}
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
        if (input.checked) this.kinds.add(k);
        else this.kinds.delete(k);
        this.redraw();
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
    // Sentences are in the old language: word them again.
    for (const e of this.events) Object.assign(e, this.word(e.ev));
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

  word(ev) {
    const names = this.ctx.names();
    const d = describe(ev, this.ctx.words, names);
    return { text: d.text, verbatim: Boolean(d.verbatim), ids: d.ids || [], subject: subjectName(ev, names) };
  }

  /** Adds events from the engine (already in time order). */
  add(events) {
    if (events.length === 0) return;
    const fresh = [];
    for (const ev of events) {
      const entry = { ev, ...this.word(ev) };
      entry.sig = `${ev.node}|${ev.kind}|${ev.type}|${entry.text}`;
      this.events.push(entry);
      fresh.push(entry);
    }
    if (this.events.length > KEEP) this.events.splice(0, this.events.length - KEEP);
    this.append(fresh);
  }

  /** Forgets everything (a new engine sends the run's events again). */
  clear() {
    this.events = [];
    this.list.replaceChildren();
  }

  /**
   * Keeps the first `length` events of the trace: after a seek back they are still what
   * happened; the engine sends the later ones again as time runs forward.
   */
  truncate(length) {
    const keep = this.events.filter((e) => e.ev.seq < length);
    if (keep.length === this.events.length) return;
    this.events = keep;
    this.redraw();
  }

  /** Events of a burst too large to list (at volume): say how many were left out. */
  skipped(count) {
    const t = this.ctx.words.t.bind(this.ctx.words);
    this.list.append(h('li', { class: 'event event--skipped', text: t('events.skipped', { n: this.ctx.words.n(count) }) }));
  }

  /** The time of the last event before `timeUs` (for ← "back one event"), or null. */
  previousTime(timeUs) {
    for (let k = this.events.length - 1; k >= 0; k--) {
      const at = this.events[k].ev.timeUs;
      if (at < timeUs - 1) return at;
    }
    return null;
  }

  visible(entry) {
    const ev = entry.ev;
    if (!this.kinds.has(groupOf(ev))) return false;
    if (this.node === 'all') return true;
    const sentinel = ev.kind === 'sentinel' || ev.kind === 'sentinel-net';
    return !sentinel && String(ev.node) === this.node;
  }

  redraw() {
    this.list.replaceChildren();
    this.append(this.events);
  }

  append(entries) {
    const near = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    const shown = entries.filter((e) => this.visible(e));
    const frag = document.createDocumentFragment();
    let last = this.list.lastElementChild;
    for (const e of shown.slice(-SHOWN)) {
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
    if (near) this.list.scrollTop = this.list.scrollHeight;
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
