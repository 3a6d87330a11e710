// The space-time (sequence) diagram: one lane per node and sentinel, each message an arrow from
// its sender's lane at the time it left to its receiver's lane at the time it arrived (a message
// still on the wire points at "now"). Time runs down, on the same clock as the time slider: a
// click on the diagram moves virtual time there. Arrows can be filtered by kind and opened.
//
// The arrows come from the trace's typed `sent` and `delivered` events, paired by their segment
// number; nothing is inferred.

import { h, svg, setText, setAttr } from '../dom.js';

const KINDS = ['handshake', 'reply', 'rdb', 'stream', 'ping', 'ack', 'keepalive'];
const WINDOWS_S = [2, 5, 10, 30, 60];
const LANE_W = 64;
const TOP = 28;
const MIN_HEIGHT = 160;
const MAX_ARROWS = 600;
const KEEP = 4000; // segments remembered

export class SequenceDiagram {
  constructor(ctx, colors) {
    this.ctx = ctx;
    this.colors = colors;
    this.segments = new Map(); // seg -> {seg, from, to, kind, label, bytes, offset, sentAtUs, arriveAtUs}
    this.kinds = new Set(KINDS);
    this.windowS = 10;
    this.root = h('section', { class: 'sequence', 'data-testid': 'sequence' });
    this.title = h('h2', { class: 'panel-title' });
    this.windowSelect = h('select', { 'data-testid': 'sequence-window' }, WINDOWS_S.map((s) => h('option', { value: String(s), text: `${s} s` })));
    this.windowSelect.value = String(this.windowS);
    this.windowLabel = h('label', { class: 'eventlog__filter' }, h('span'), this.windowSelect);
    this.kindBox = h('fieldset', { class: 'eventlog__kinds' }, h('legend', { class: 'visually-hidden' }));
    this.checks = new Map();
    for (const k of KINDS) {
      const input = h('input', { type: 'checkbox', 'data-testid': `sequence-kind-${k}` });
      input.checked = true;
      input.addEventListener('change', () => {
        if (input.checked) this.kinds.add(k);
        else this.kinds.delete(k);
        this.draw();
      });
      const label = h('label', { class: 'eventlog__kind', 'data-kind': k }, input, h('span'));
      this.checks.set(k, label);
      this.kindBox.append(label);
    }
    this.windowSelect.addEventListener('change', () => {
      this.windowS = Number(this.windowSelect.value);
      this.draw();
    });
    this.figure = svg('svg', { class: 'sequence__svg', 'data-testid': 'sequence-svg', role: 'img' });
    this.figure.addEventListener('click', (e) => this.clicked(e));
    this.filterSummary = h('summary');
    this.root.append(
      h('div', { class: 'eventlog__head' }, this.title,
        h('details', { class: 'eventlog__filters' }, this.filterSummary, this.windowLabel, this.kindBox)),
      this.scroll = h('div', { class: 'sequence__scroll' }, this.figure));
  }

  relabel() {
    const t = this.ctx.words.t.bind(this.ctx.words);
    setText(this.title, t('sequence.title'));
    setText(this.filterSummary, t('events.filters'));
    setText(this.windowLabel.firstChild, t('sequence.window'));
    setText(this.kindBox.firstChild, t('sequence.kinds'));
    for (const [k, label] of this.checks) setText(label.lastChild, t(`kind.${k}`));
    this.draw();
  }

  /** Takes the trace's sent and delivered events (others are ignored). */
  add(events) {
    for (const ev of events) {
      if (ev.type === 'sent') {
        this.segments.set(ev.seg, {
          seg: ev.seg, from: ev.from, to: ev.to, kind: ev.msgKind, label: ev.label, bytes: ev.bytes,
          offset: ev.offset, sentAtUs: ev.timeUs, arriveAtUs: null,
        });
      } else if (ev.type === 'delivered') {
        const s = this.segments.get(ev.seg);
        if (s) s.arriveAtUs = ev.timeUs;
      }
    }
    if (this.segments.size > KEEP) {
      const drop = this.segments.size - KEEP;
      let k = 0;
      for (const key of this.segments.keys()) {
        if (k++ >= drop) break;
        this.segments.delete(key);
      }
    }
  }

  /** After a seek back: segments sent after now belong to a future that may not happen. */
  forget(afterUs) {
    for (const [k, s] of this.segments) if (s.sentAtUs > afterUs) this.segments.delete(k);
  }

  update(frame, nowUs) {
    this.frame = frame;
    this.nowUs = nowUs;
    if (!this.root.isConnected || this.root.offsetParent === null) return; // hidden: nothing to draw
    this.draw();
  }

  lanes() {
    const f = this.frame;
    if (!f) return [];
    return [
      ...f.nodes.map((n) => ({ key: `node:${n.index}`, name: n.name })),
      ...f.sentinels.map((s) => ({ key: `sentinel:${s.index}`, name: s.name })),
    ];
  }

  draw() {
    if (!this.frame) return;
    const { words } = this.ctx;
    const lanes = this.lanes();
    const laneX = new Map(lanes.map((l, k) => [l.key, 24 + k * LANE_W + LANE_W / 2]));
    const width = 48 + lanes.length * LANE_W;
    // As tall as the panel: the whole window of time is in view.
    const height = Math.max(MIN_HEIGHT, this.scroll.clientHeight - 4);
    this.height = height;
    const end = this.nowUs;
    const start = end - this.windowS * 1e6;
    const y = (us) => TOP + ((us - start) / (end - start)) * (height - TOP - 8);
    this.geometry = { start, end, y0: TOP, y1: height - 8 };
    setAttr(this.figure, 'viewBox', `0 0 ${width} ${height}`);
    setAttr(this.figure, 'width', width);
    setAttr(this.figure, 'height', height);
    setAttr(this.figure, 'aria-label', words.t('sequence.label', { s: this.windowS }));
    const parts = [];
    for (const l of lanes) {
      const x = laneX.get(l.key);
      parts.push(svg('text', { x, y: 14, class: 'lane__name', 'text-anchor': 'middle', text: l.name }));
      parts.push(svg('line', { x1: x, x2: x, y1: TOP - 6, y2: height - 4, class: 'lane' }));
    }
    for (let s = Math.ceil(start / 1e6); s <= end / 1e6; s += Math.max(1, Math.round(this.windowS / 5))) {
      parts.push(svg('text', { x: 2, y: y(s * 1e6) + 3, class: 'tick', text: `${s}s` }));
    }
    let drawn = 0;
    const shown = Array.from(this.segments.values()).filter((s) => s.sentAtUs <= end && (s.arriveAtUs ?? end) >= start && this.kinds.has(s.kind));
    for (const s of shown.slice(-MAX_ARROWS)) {
      const x1 = laneX.get(`${s.from.peer}:${s.from.index}`);
      const x2 = laneX.get(`${s.to.peer}:${s.to.index}`);
      if (x1 === undefined || x2 === undefined) continue;
      const y1 = y(s.sentAtUs);
      const y2 = y(s.arriveAtUs ?? end);
      const arrow = svg('line', {
        x1, y1, x2, y2, class: `arrow${s.arriveAtUs === null ? ' arrow--flying' : ''}`, stroke: this.colors[s.kind] || '#24292f',
        'data-seg': String(s.seg), 'data-kind': s.kind,
      }, svg('title', { text: `${s.label} (${words.bytes(s.bytes)})` }));
      parts.push(arrow);
      drawn += 1;
    }
    parts.push(svg('line', { x1: 0, x2: width, y1: y(end), y2: y(end), class: 'now' }));
    this.figure.replaceChildren(...parts);
    setAttr(this.figure, 'data-arrows', drawn);
  }

  clicked(e) {
    const seg = e.target.getAttribute && e.target.getAttribute('data-seg');
    if (seg) {
      const s = this.segments.get(Number(seg));
      if (s) this.ctx.openMessage(s);
      return;
    }
    // A click elsewhere moves virtual time to that moment.
    const box = this.figure.getBoundingClientRect();
    const g = this.geometry;
    if (!g || box.height === 0) return;
    const y = ((e.clientY - box.top) / box.height) * this.height;
    const us = g.start + ((y - g.y0) / (g.y1 - g.y0)) * (g.end - g.start);
    this.ctx.seek(Math.max(0, us / 1000));
  }
}
