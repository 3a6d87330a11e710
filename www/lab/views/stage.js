// The stage: one card per node, the replication links between them, and the messages on the
// wire, all drawn from the engine's frame. Cards are HTML (text stays crisp and readable at any
// size, and every card is a keyboard stop); links and messages are an SVG layer under them in
// the same pixel coordinates. A visually hidden table says the same in words.
//
// Interaction: click a card to inspect it, open its menu (⋯) for REPLICAOF and faults, drag a
// card onto another to make it that node's replica, open a link's menu from the button on it.
// Everything the learner does goes through `ctx` (the element), which types Redis commands into
// the node's console and records faults in the run's action log.

import { h, svg, setText, setAttr, setClass, setStyle, reconcile } from '../dom.js';
import { layout } from './layout.js';

/** Message colours by kind; each keeps ≥ 4.5:1 contrast with white text. */
export const KIND_COLORS = Object.freeze({
  handshake: '#6639ba',
  reply: '#0a58ca',
  rdb: '#9a4c00',
  stream: '#1a7f37',
  ping: '#57606a',
  ack: '#0e6f86',
  keepalive: '#6e5494',
});

/**
 * A moving message's animation is started again when it is further from the engine's clock
 * than this many wall-clock ms (times the speed: virtual time) — a little more than a turn of
 * the lab's loop, which is how far the engine's answers lag the wall clock.
 */
const MOTION_SLACK_MS = 300;
/**
 * Where a direction's crowd of messages stands, as a fraction of the way from its sender: each
 * direction on its own side of the link's button (which sits halfway).
 */
const CROWD_AT = 0.27;
/** Keyframes of a message's journey along its (curved) link. */
const MOTION_KEYFRAMES = 8;

/** Messages drawn one by one per direction; beyond this, one mark with a count. */
const PILLS_PER_DIRECTION = 3;
const LABEL_CHARS = 18;
const DRAG_START_PX = 6;
/** Room kept under the cards for the sentinels' chips. */
const SENTINEL_ROW_PX = 34;

const isNode = (peer) => peer && peer.peer === 'node';
const hasFiles = (e) => Boolean(e.dataTransfer) && Array.from(e.dataTransfer.types || []).includes('Files');

export class Stage {
  constructor(ctx) {
    this.ctx = ctx;
    this.root = h('div', { class: 'stage', 'data-testid': 'stage', role: 'region' });
    // The lines are drawn for the eye (the link buttons and the table say the same in words);
    // the messages on them can be opened, so they are buttons (in the layer below).
    this.wires = svg('svg', { class: 'stage__wires', 'aria-hidden': 'true', 'data-testid': 'wires' });
    this.linkLayer = svg('g', { class: 'wires__links' });
    this.dragLine = svg('line', { class: 'wires__drag', visibility: 'hidden' });
    this.wires.append(this.linkLayer, this.dragLine);
    // Messages are HTML, each on a compositor layer of its own: moving one is a CSS transform,
    // which needs no layout and no paint (an SVG element moved by its transform attribute
    // makes the browser lay the whole drawing out again, sixty times a second).
    this.msgLayer = h('div', { class: 'stage__messages', role: 'group', 'data-testid': 'messages' });
    this.cardLayer = h('div', { class: 'stage__cards' });
    this.linkButtons = h('div', { class: 'stage__link-buttons' });
    this.sentinelRow = h('div', { class: 'stage__sentinels', 'data-testid': 'stage-sentinels' });
    this.empty = h('p', { class: 'stage__empty', hidden: true });
    this.table = h('table', { class: 'visually-hidden', 'data-testid': 'stage-table' });
    this.root.append(this.wires, this.cardLayer, this.linkButtons, this.msgLayer, this.sentinelRow, this.empty, this.table);
    this.cards = new Map(); // node index -> card parts
    this.geometry = null; // layout result
    this.layoutKey = '';
    this.width = 0;
    this.height = 0;
    this.frame = null;
    this.drag = null;
    this.reducedMotion = false;
    this.msgMarks = []; // the marks of the messages drawn, with their elements and routes
    this.resize = new ResizeObserver(() => this.measure());
    this.resize.observe(this.root);
  }

  measure() {
    const w = Math.floor(this.root.clientWidth);
    const h = Math.floor(this.root.clientHeight);
    if (w > 0 && (w !== this.width || h !== this.height)) {
      this.width = w;
      this.height = h;
      this.layoutKey = '';
      if (this.frame) this.update(this.frame, this.nowUs);
    }
  }

  relabel() {
    const t = this.ctx.words.t.bind(this.ctx.words);
    this.msgFrame = null; // the messages' labels are worded again
    const lab = this.ctx.labName();
    setAttr(this.root, 'aria-label', lab ? t('stage.labelOf', { lab }) : t('stage.label'));
    setAttr(this.msgLayer, 'aria-label', t('stage.wires'));
    setText(this.empty, t('stage.empty'));
    this.tableKey = '';
    for (const card of this.cards.values()) card.menu.setAttribute('aria-label', t('node.menu', { name: card.name }));
    if (this.frame) this.update(this.frame, this.nowUs);
  }

  /** Draws the frame at virtual time `nowUs` (messages move between frames of the engine). */
  update(frame, nowUs = frame.nowUs) {
    this.frame = frame;
    this.nowUs = nowUs;
    if (this.width === 0) this.measure();
    const sentinelRow = frame.sentinels.length > 0 ? SENTINEL_ROW_PX : 0;
    const key = `${this.width}|${this.height}|${sentinelRow}|${frame.nodes.map((n) => n.index).join(',')}|${frame.links.map((l) => `${l.replica}>${l.master}`).join(',')}`;
    if (key !== this.layoutKey) {
      this.layoutKey = key;
      this.geometry = layout(frame.nodes, frame.links, Math.max(this.width, 240), Math.max(this.height - sentinelRow, 200));
      setStyle(this.root, '--stage-height', `${Math.ceil(this.geometry.height)}px`);
      setAttr(this.wires, 'viewBox', `0 0 ${Math.max(this.width, 240)} ${Math.ceil(this.geometry.height)}`);
      setAttr(this.wires, 'width', Math.max(this.width, 240));
      setAttr(this.wires, 'height', Math.ceil(this.geometry.height));
    }
    this.empty.hidden = frame.nodes.length > 0;
    this.updateCards(frame, nowUs);
    this.updateLinks(frame);
    this.updateMessages(frame, nowUs);
    this.updateSentinels(frame);
    this.updateTable(frame);
  }

  /** Draws what moves with time alone, in a world that did not change: messages and countdowns. */
  updateTime(frame, nowUs) {
    this.nowUs = nowUs;
    this.updateMessages(frame, nowUs);
    for (const n of frame.nodes) {
      const card = this.cards.get(n.index);
      if (card && n.up && n.timers.length > 0) this.fillTimer(card, n.timers[0], nowUs);
    }
  }

  // ----- cards -----

  updateCards(frame, nowUs) {
    const { words } = this.ctx;
    const selected = this.ctx.selected();
    const draft = this.ctx.partitionDraft();
    reconcile(this.cardLayer, frame.nodes, (n) => n.index, (n) => this.makeCard(n), (el, n) => {
      const card = this.cards.get(n.index);
      const g = this.geometry.cards.get(n.index);
      if (g) {
        setStyle(el, 'transform', `translate(${Math.round(g.x)}px, ${Math.round(g.y)}px)`);
        setStyle(el, 'width', `${g.w}px`);
        setStyle(el, 'height', `${g.h}px`);
      }
      setClass(el, 'card--compact', this.geometry.size !== 'full');
      setClass(el, 'card--mini', this.geometry.size === 'mini');
      this.fillCard(card, n, frame, nowUs, words);
      setClass(el, 'card--selected', selected === n.index);
      // A node the chapter's step talks about.
      setClass(el, 'card--highlight', this.ctx.highlightedNodes ? this.ctx.highlightedNodes().has(n.index) : false);
      setAttr(el, 'aria-current', selected === n.index ? 'true' : null);
      const group = frame.groups ? frame.groups[n.index] ?? 0 : null;
      setAttr(el, 'data-group', group);
      card.side.hidden = !draft;
      if (draft) {
        const side = draft.get(n.index) ?? 0;
        setText(card.side, words.t('partition.side', { side: side + 1 }));
        setAttr(card.side, 'aria-label', words.t('partition.sideLabel', { name: n.name, side: side + 1 }));
        setAttr(card.side, 'data-side', side);
      }
    });
    for (const i of Array.from(this.cards.keys())) {
      if (!frame.nodes.some((n) => n.index === i)) this.cards.delete(i);
    }
  }

  makeCard(n) {
    const { words } = this.ctx;
    const el = h('div', { class: 'card', tabindex: '0', role: 'group', 'data-testid': `node-${n.index}` });
    const name = h('span', { class: 'card__name', 'data-testid': `node-${n.index}-name` });
    const role = h('span', { class: 'card__role', 'data-testid': `node-${n.index}-role` });
    const menu = h('button', {
      type: 'button', class: 'card__menu', 'aria-haspopup': 'menu', 'data-testid': `node-${n.index}-menu`,
      'aria-label': words.t('node.menu', { name: n.name }), text: '⋯',
    });
    const addr = h('div', { class: 'card__addr', 'data-testid': `node-${n.index}-address` });
    const offset = h('div', { class: 'card__offset', 'data-testid': `node-${n.index}-offset` });
    const chip = h('div', { class: 'card__chip', 'data-testid': `node-${n.index}-state` });
    const timer = h('div', { class: 'card__timer', 'data-testid': `node-${n.index}-timer` });
    const gauge = h('div', { class: 'card__gauge', 'data-testid': `node-${n.index}-gauge` });
    const gaugeFill = h('span', { class: 'card__gauge-fill' });
    const gaugeText = h('span', { class: 'card__gauge-text' });
    gauge.append(gaugeFill, gaugeText);
    const side = h('button', { type: 'button', class: 'card__side', hidden: true, 'data-testid': `node-${n.index}-side` });
    el.append(h('div', { class: 'card__head' }, name, role, menu), addr, offset, chip, timer, gauge, side);
    const card = { el, name: n.name, nameEl: name, role, menu, addr, offset, chip, timer, gauge, gaugeFill, gaugeText, side, index: n.index };
    this.cards.set(n.index, card);

    menu.addEventListener('click', (e) => {
      e.stopPropagation();
      this.ctx.openNodeMenu(n.index, menu);
    });
    side.addEventListener('click', (e) => {
      e.stopPropagation();
      this.ctx.toggleSide(n.index);
    });
    el.addEventListener('keydown', (e) => {
      if (e.target !== el) return;
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        this.ctx.select(n.index);
      } else if (e.key === 'ContextMenu' || (e.shiftKey && e.key === 'F10')) {
        e.preventDefault();
        this.ctx.openNodeMenu(n.index, menu);
      }
    });
    el.addEventListener('pointerdown', (e) => this.pointerDown(e, n.index));
    // A dump.rdb dropped on a card is loaded into that node.
    el.addEventListener('dragover', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
      el.classList.add('card--drop');
    });
    el.addEventListener('dragleave', () => el.classList.remove('card--drop'));
    el.addEventListener('drop', (e) => {
      el.classList.remove('card--drop');
      if (!hasFiles(e)) return;
      e.preventDefault();
      const file = e.dataTransfer.files[0];
      if (file) this.ctx.importFile(n.index, file);
    });
    return el;
  }

  fillCard(card, n, frame, nowUs, words) {
    const t = words.t.bind(words);
    setText(card.nameEl, n.name);
    const roleKey = n.role === 'master' ? 'role.master' : 'role.replica';
    setText(card.role, t(roleKey));
    setAttr(card.role, 'data-role', n.role);
    setText(card.addr, `${n.host}:${n.port}`);
    const offset = n.role === 'master' ? n.masterReplOffset : n.slaveReplOffset;
    setText(card.offset, t('node.offset', { offset: words.n(offset) }));
    setAttr(card.offset, 'data-value', offset);
    setAttr(card.el, 'data-role', n.role);
    const state = nodeState(n);
    setAttr(card.el, 'data-state', state);
    setAttr(card.chip, 'data-state', state);
    setText(card.chip, chipText(n, state, words));
    const timer = n.up ? n.timers[0] : null;
    card.timer.hidden = !timer;
    if (timer) this.fillTimer(card, timer, nowUs);
    const gauge = gaugeOf(n, words);
    card.gauge.hidden = !gauge;
    if (gauge) {
      setStyle(card.gaugeFill, 'width', `${Math.round(gauge.fraction * 1000) / 10}%`);
      setText(card.gaugeText, gauge.text);
      setAttr(card.gauge, 'data-kind', gauge.kind);
      setAttr(card.gauge, 'title', gauge.title);
      setAttr(card.gauge, 'data-read', gauge.read);
      setAttr(card.gauge, 'data-total', gauge.total);
    }
    const label = t('node.cardLabel', {
      name: n.name,
      role: t(roleKey),
      addr: `${n.host}:${n.port}`,
      state: chipText(n, state, words),
      offset: words.n(offset),
    });
    setAttr(card.el, 'aria-label', label);
  }

  /** The card's countdown: what the node waits for and how long is left. */
  fillTimer(card, timer, nowUs) {
    const { words } = this.ctx;
    const left = (timer.deadlineUs - nowUs) / 1000;
    setText(card.timer, words.t(`timer.${timer.kind}`, { left: words.countdown(left) }));
    setAttr(card.timer, 'data-kind', timer.kind);
    const span = timer.sinceUs !== null && timer.sinceUs !== undefined ? timer.deadlineUs - timer.sinceUs : 0;
    const done = span > 0 ? Math.min(1, Math.max(0, (nowUs - timer.sinceUs) / span)) : 0;
    // In steps of 2 %: a redraw per step, not per animation frame.
    setStyle(card.timer, '--progress', (Math.round(done * 50) / 50).toFixed(2));
  }

  // ----- dragging a card onto another: REPLICAOF -----

  pointerDown(e, index) {
    if (e.button !== 0 || e.target.closest('button')) return;
    if (!this.ctx.canEdit()) {
      // Without the full controls a card is only selected, never dragged.
      this.ctx.select(index);
      return;
    }
    const el = this.cards.get(index).el;
    this.drag = { index, x: e.clientX, y: e.clientY, moved: false, pointer: e.pointerId };
    const move = (ev) => this.pointerMove(ev);
    const up = (ev) => {
      el.removeEventListener('pointermove', move);
      el.removeEventListener('pointerup', up);
      el.removeEventListener('pointercancel', up);
      this.pointerUp(ev, ev.type === 'pointercancel');
    };
    el.addEventListener('pointermove', move);
    el.addEventListener('pointerup', up);
    el.addEventListener('pointercancel', up);
  }

  pointerMove(e) {
    const d = this.drag;
    if (!d) return;
    if (!d.moved && Math.hypot(e.clientX - d.x, e.clientY - d.y) < DRAG_START_PX) return;
    if (!d.moved) {
      d.moved = true;
      this.cards.get(d.index).el.setPointerCapture(d.pointer);
      this.root.classList.add('stage--dragging');
    }
    const box = this.root.getBoundingClientRect();
    const g = this.geometry.cards.get(d.index);
    setAttr(this.dragLine, 'x1', g.x + g.w / 2);
    setAttr(this.dragLine, 'y1', g.y + g.h / 2);
    setAttr(this.dragLine, 'x2', e.clientX - box.left + this.root.scrollLeft);
    setAttr(this.dragLine, 'y2', e.clientY - box.top + this.root.scrollTop);
    setAttr(this.dragLine, 'visibility', 'visible');
    const target = this.cardAt(e.clientX, e.clientY);
    for (const [i, c] of this.cards) setClass(c.el, 'card--drop', i === target && i !== d.index);
  }

  pointerUp(e, cancelled) {
    const d = this.drag;
    this.drag = null;
    setAttr(this.dragLine, 'visibility', 'hidden');
    this.root.classList.remove('stage--dragging');
    for (const c of this.cards.values()) c.el.classList.remove('card--drop');
    if (!d || cancelled) return;
    if (!d.moved) {
      this.ctx.select(d.index);
      return;
    }
    const target = this.cardAt(e.clientX, e.clientY);
    if (target === null || target === d.index) this.ctx.dropMissed(d.index);
    else this.ctx.replicaOf(d.index, target);
  }

  /** The node whose card is under a viewport point, or null. */
  cardAt(x, y) {
    for (const [i, c] of this.cards) {
      const r = c.el.getBoundingClientRect();
      if (x >= r.left && x <= r.right && y >= r.top && y <= r.bottom) return i;
    }
    return null;
  }

  // ----- links -----

  /** The path from a link's master card to its replica card: a cubic curve, or a stub upwards. */
  linkPath(link) {
    const r = this.geometry.cards.get(link.replica);
    if (!r) return null;
    const m = link.master !== null && link.master !== undefined ? this.geometry.cards.get(link.master) : null;
    if (m && this.geometry.direction === 'right') {
      const from = { x: m.x + m.w, y: m.y + m.h / 2 };
      const to = { x: r.x, y: r.y + r.h / 2 };
      const dx = Math.max(16, (to.x - from.x) / 2);
      return { p0: from, p1: { x: from.x + dx, y: from.y }, p2: { x: to.x - dx, y: to.y }, p3: to, missing: false };
    }
    const end = { x: r.x + r.w / 2, y: r.y };
    if (!m) {
      const start = { x: end.x + 28, y: Math.max(4, end.y - 34) };
      return { p0: start, p1: start, p2: end, p3: end, missing: true };
    }
    let start = { x: m.x + m.w / 2, y: m.y + m.h };
    if (m.y + m.h > r.y) start = { x: m.x + m.w / 2, y: m.y }; // a wrapped row: leave from the top
    const dy = Math.max(24, (end.y - start.y) / 2);
    return { p0: start, p1: { x: start.x, y: start.y + dy }, p2: { x: end.x, y: end.y - dy }, p3: end, missing: false };
  }

  updateLinks(frame) {
    const { words } = this.ctx;
    const t = words.t.bind(words);
    this.paths = new Map();
    const shown = frame.links.filter((l) => this.geometry.cards.has(l.replica));
    reconcile(this.linkLayer, shown, (l) => l.replica, () => {
      const g = svg('g', { class: 'link' });
      g.append(svg('path', { class: 'link__line' }), svg('path', { class: 'link__band' }), svg('g', { class: 'link__wall' }));
      g.lastChild.append(svg('line', {}), svg('line', {}));
      return g;
    }, (g, l) => {
      const p = this.linkPath(l);
      if (!p) return;
      this.paths.set(l.replica, p);
      const d = `M${p.p0.x},${p.p0.y} C${p.p1.x},${p.p1.y} ${p.p2.x},${p.p2.y} ${p.p3.x},${p.p3.y}`;
      const [line, band, wall] = g.children;
      setAttr(line, 'd', d);
      setAttr(band, 'd', d);
      setAttr(g, 'data-state', l.partitioned ? 'partitioned' : l.state);
      setAttr(g, 'data-testid', `link-${l.replica}`);
      setAttr(g, 'data-missing', p.missing ? 'true' : null);
      // While the RDB travels, a band fills along the link as the replica reads it.
      const n = frame.nodes.find((x) => x.index === l.replica);
      const fraction = l.state === 'sync' && n && n.syncTotalBytes > 0 ? Math.min(1, n.syncReadBytes / n.syncTotalBytes) : 0;
      setAttr(band, 'pathLength', '1');
      setStyle(band, 'stroke-dasharray', `${fraction} 1`);
      const mid = bezier(p, 0.5);
      const tangent = bezierTangent(p, 0.5);
      wall.style.display = l.partitioned ? '' : 'none';
      if (l.partitioned) {
        const nx = -tangent.y;
        const ny = tangent.x;
        const [a, b] = wall.children;
        setAttr(a, 'x1', mid.x - nx * 12); setAttr(a, 'y1', mid.y - ny * 12);
        setAttr(a, 'x2', mid.x + nx * 12); setAttr(a, 'y2', mid.y + ny * 12);
        setAttr(b, 'x1', mid.x - nx * 12 + tangent.x * 5); setAttr(b, 'y1', mid.y - ny * 12 + tangent.y * 5);
        setAttr(b, 'x2', mid.x + nx * 12 + tangent.x * 5); setAttr(b, 'y2', mid.y + ny * 12 + tangent.y * 5);
      }
    });
    reconcile(this.linkButtons, shown, (l) => l.replica, (l) => {
      const b = h('button', { type: 'button', class: 'link-button', 'aria-haspopup': 'menu' });
      b.addEventListener('click', () => this.ctx.openLinkMenu(b.linkData, b));
      return b;
    }, (b, l) => {
      b.linkData = l;
      b.disabled = !this.ctx.canEdit();
      const p = this.paths.get(l.replica);
      if (!p) return;
      const mid = p.missing ? p.p0 : bezier(p, 0.5);
      setStyle(b, 'transform', `translate(${Math.round(mid.x)}px, ${Math.round(mid.y)}px) translate(-50%, -50%)`);
      const replica = frame.nodes.find((x) => x.index === l.replica);
      const master = frame.nodes.find((x) => x.index === l.master);
      const state = l.partitioned ? 'partitioned' : l.state;
      // What the master thinks of this replica while that is not simply "online" (Redis's own
      // state name), else the link's latency.
      const seen = l.masterSees && l.masterSees !== 'online' ? l.masterSees : null;
      const text = p.missing ? `${l.host}:${l.port}` : seen ?? t('link.short', { ms: Math.round(l.latencyUs / 1000) });
      setText(b, text);
      setAttr(b, 'data-state', state);
      setAttr(b, 'data-testid', `link-${l.replica}-button`);
      setAttr(b, 'aria-label', t(p.missing ? 'link.labelMissing' : 'link.label', {
        master: master ? master.name : `${l.host}:${l.port}`,
        replica: replica ? replica.name : '',
        state: t(`link.state.${state}`),
        ms: Math.round(l.latencyUs / 1000),
        bw: words.bytes(l.bandwidth),
        seen: l.masterSees || '—',
      }));
    });
  }

  // ----- messages -----

  /**
   * Puts each message where it is at virtual time `nowUs` and, while the lab plays, hands its
   * journey to the compositor: a Web Animation of its transform along the link, at the lab's
   * speed, towards its arrival. Between two answers of the engine the page's main thread does
   * nothing for moving messages. An animation is started again only when its message changed,
   * the speed changed, or it drifted from the engine's clock by more than MOTION_SLACK_MS. At
   * volume, the one mark that counts a direction's messages stands still (CROWD_AT).
   */
  updateMessages(frame, nowUs) {
    if (frame !== this.msgFrame || this.geometry !== this.msgGeometry) {
      this.msgFrame = frame;
      this.msgGeometry = this.geometry;
      this.layoutMessages(frame);
    }
    const moving = this.ctx.moving() && !this.reducedMotion;
    const speed = this.ctx.speed();
    const wall = performance.now();
    for (const m of this.msgMarks) {
      if (!m.message) continue;
      const msg = m.message;
      const span = Math.max(1, msg.arriveAtUs - msg.sentAtUs);
      // A message held by a paused node waits on the link, short of it.
      const end = msg.held ? 0.45 : 1;
      const f = m.crowd ? CROWD_AT : this.reducedMotion ? 0.5 : Math.min(end, Math.max(0, (nowUs - msg.sentAtUs) / span));
      const motion = m.el.motion;
      if (moving && !m.crowd && f < end) {
        if (motion && motion.message === msg && motion.speed === speed) {
          // The engine's clock lags the wall clock by up to a turn of the loop: a journey is
          // corrected only when it is further off than that.
          const expected = Math.min(end, motion.f + ((wall - motion.wall) * 1000 * speed) / span);
          if (Math.abs(expected - f) * span <= MOTION_SLACK_MS * 1000 * speed) continue;
        }
        this.startMotion(m.el, m.route, f, end, span / 1000 / speed, { message: msg, speed, wall, f });
      } else {
        if (motion) motion.animation.cancel();
        m.el.motion = null;
        setStyle(m.el, 'transform', markTransform(m.route, f));
      }
    }
  }

  /** Moves a mark from `from` to `to` (fractions of its route) in `ms` of wall time. */
  startMotion(el, route, from, to, ms, motion) {
    if (el.motion) el.motion.animation.cancel();
    const keyframes = [];
    for (let k = 0; k <= MOTION_KEYFRAMES; k++) keyframes.push({ transform: markTransform(route, from + ((to - from) * k) / MOTION_KEYFRAMES) });
    setStyle(el, 'transform', keyframes[0].transform);
    const animation = el.animate(keyframes, { duration: Math.max(1, (to - from) * ms), fill: 'forwards', easing: 'linear' });
    el.motion = { ...motion, animation };
  }

  /** Groups a frame's messages by direction and draws their marks (placed by updateMessages). */
  layoutMessages(frame) {
    const { words } = this.ctx;
    const groups = new Map(); // "from>to" -> {route, list, crowd}
    const pathBetween = (a, b) => {
      for (const l of frame.links) {
        if (l.master === a && l.replica === b) return { p: this.paths.get(b), forward: true };
        if (l.master === b && l.replica === a) return { p: this.paths.get(a), forward: false };
      }
      const ga = this.geometry.cards.get(a);
      const gb = this.geometry.cards.get(b);
      if (!ga || !gb) return null;
      const s = { x: ga.x + ga.w / 2, y: ga.y + ga.h / 2 };
      const e = { x: gb.x + gb.w / 2, y: gb.y + gb.h / 2 };
      return { p: { p0: s, p1: s, p2: e, p3: e }, forward: true };
    };
    for (const m of frame.messages) {
      if (!isNode(m.from) || !isNode(m.to)) continue;
      const key = `${m.from.index}>${m.to.index}`;
      let g = groups.get(key);
      if (!g) {
        const route = pathBetween(m.from.index, m.to.index);
        if (!route || !route.p) continue;
        g = { key, route, list: [], crowd: 0 };
        groups.set(key, g);
      }
      g.list.push(m);
    }
    for (const c of frame.crowds) {
      const g = groups.get(`${c.from.index}>${c.to.index}`);
      if (g) g.crowd += c.count;
    }
    const marks = [];
    for (const g of groups.values()) {
      const count = g.list.length + g.crowd;
      if (count > PILLS_PER_DIRECTION) {
        // At volume, one mark per direction, standing on the link near its sender: it says how
        // many are on the wire and opens the one that arrives next (the sequence diagram and
        // the trace have each of them).
        const next = g.list[0];
        marks.push({
          key: `${g.key}#many`, route: g.route, kind: next.kind, label: words.t('stage.inFlight', { n: count }),
          title: next.label, bytes: next.bytes, message: next, crowd: true,
        });
        continue;
      }
      g.list.forEach((m, k) => {
        marks.push({ key: `${g.key}#${k}`, route: g.route, kind: m.kind, label: truncate(m.label), title: m.label, bytes: m.bytes, message: m });
      });
    }
    reconcile(this.msgLayer, marks, (m) => m.key, () => {
      const mark = h('button', { type: 'button', class: 'msg' });
      mark.addEventListener('click', () => {
        if (mark.message) this.ctx.openMessage(mark.message);
      });
      return mark;
    }, (mark, m) => {
      m.el = mark;
      mark.message = m.message || null;
      mark.disabled = !m.message;
      // The accessible name holds the visible (maybe shortened) label, as it must.
      setAttr(mark, 'aria-label', m.message
        ? words.t('stage.openMessage', { label: m.label ? m.label : `${m.title} (${words.bytes(m.bytes)})` })
        : m.label);
      setAttr(mark, 'data-testid', m.message ? `msg-${m.message.id}` : null);
      setAttr(mark, 'data-kind', m.kind);
      setAttr(mark, 'data-crowd', m.crowd ? '' : null);
      setStyle(mark, '--kind', KIND_COLORS[m.kind] || '#24292f');
      setText(mark, m.label);
    });
    this.msgMarks = marks;
  }

  // ----- sentinels -----

  updateSentinels(frame) {
    const { words } = this.ctx;
    this.sentinelRow.hidden = frame.sentinels.length === 0;
    reconcile(this.sentinelRow, frame.sentinels, (s) => s.index, (s) => {
      const b = h('button', { type: 'button', class: 'sentinel-chip', 'data-testid': `sentinel-${s.index}` });
      b.addEventListener('click', () => this.ctx.showSentinels());
      return b;
    }, (b, s) => {
      const master = s.master !== null ? frame.nodes.find((n) => n.index === s.master) : null;
      const flag = s.odown ? 'odown' : s.sdown ? 'sdown' : 'ok';
      setAttr(b, 'data-state', flag);
      let text = words.t(`sentinel.chip.${flag}`, { name: s.name, master: master ? master.name : `${s.masterHost}:${s.masterPort}` });
      // A PING answered within a second is the normal case: only a wait that lasts is shown.
      const timer = s.timers.find((x) => this.nowUs - x.sinceUs >= 1_000_000);
      if (timer) text += ` · ${words.t(`timer.${timer.kind}`, { left: words.countdown((timer.deadlineUs - this.nowUs) / 1000) })}`;
      setText(b, text);
    });
  }

  // ----- the same in words, for screen readers -----

  updateTable(frame) {
    const { words } = this.ctx;
    const t = words.t.bind(words);
    const rows = frame.nodes.map((n) => {
      const link = frame.links.find((l) => l.replica === n.index);
      const master = link && link.master !== null ? frame.nodes.find((x) => x.index === link.master) : null;
      const state = chipText(n, nodeState(n), words);
      const of = link ? (master ? master.name : `${link.host}:${link.port}`) : '—';
      const offset = n.role === 'master' ? n.masterReplOffset : n.slaveReplOffset;
      return [n.name, t(n.role === 'master' ? 'role.master' : 'role.replica'), `${n.host}:${n.port}`, of, state, words.n(offset)];
    });
    const key = `${words.code}|${JSON.stringify(rows)}`;
    if (key === this.tableKey) return;
    this.tableKey = key;
    const head = ['table.name', 'table.role', 'table.address', 'table.replicaOf', 'table.state', 'table.offset'];
    this.table.replaceChildren(
      h('caption', { text: t('stage.tableCaption') }),
      h('thead', {}, h('tr', {}, head.map((k) => h('th', { scope: 'col', text: t(k) })))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, k) => (k === 0 ? h('th', { scope: 'row', text: c }) : h('td', { text: c })))))),
    );
  }
}

/** The one state a card shows: down, paused, or where replication stands. */
export function nodeState(n) {
  if (!n.up) return 'down';
  if (n.paused) return 'paused';
  if (n.role === 'slave') return n.replState;
  if (n.rdbChild) return 'bgsave';
  return 'master';
}

function chipText(n, state, words) {
  switch (state) {
    case 'master':
      return words.t('chip.master', { n: n.replicas.length });
    case 'bgsave':
      return words.t(n.rdbChild.target === 'disk' ? 'chip.bgsaveDisk' : 'chip.bgsaveSocket', {
        pct: n.rdbChild.total > 0 ? Math.floor((n.rdbChild.produced / n.rdbChild.total) * 100) : 0,
      });
    default:
      return words.t(`chip.${state}`);
  }
}

/** A card's gauge: the RDB a replica is reading, or a master's backlog filling. */
function gaugeOf(n, words) {
  if (!n.up) return null;
  if (n.role === 'slave' && n.replState === 'sync') {
    const known = n.syncTotalBytes > 0;
    // The payload's framing as it appears on the wire: `$<len>` (disk) or `$EOF:<mark>`.
    const framing = n.syncFraming === 'eof' ? '$EOF: ' : n.syncFraming === 'len' ? '$<len> ' : '';
    return {
      kind: 'rdb',
      read: n.syncReadBytes,
      total: n.syncTotalBytes,
      fraction: known ? Math.min(1, n.syncReadBytes / n.syncTotalBytes) : 0.5,
      text: framing + (known
        ? words.t('gauge.rdb', { read: words.bytes(n.syncReadBytes), total: words.bytes(n.syncTotalBytes) })
        : words.t('gauge.rdbUnknown', { read: words.bytes(n.syncReadBytes) })),
      title: words.t('gauge.rdbTitle'),
    };
  }
  if (n.backlog.active) {
    return {
      kind: 'backlog',
      fraction: Math.min(1, n.backlog.histlen / Math.max(1, n.backlog.size)),
      text: words.t('gauge.backlog', { used: words.bytes(n.backlog.histlen), size: words.bytes(n.backlog.size) }),
      title: words.t('gauge.backlogTitle'),
    };
  }
  return null;
}

function truncate(label) {
  const s = String(label ?? '').replace(/\s+/g, ' ');
  return s.length > LABEL_CHARS ? `${s.slice(0, LABEL_CHARS - 1)}…` : s;
}

/**
 * The CSS transform that puts a message's mark at fraction `f` of its route (the stylesheet
 * centres the mark on that point with `translate`: a transform in pixels only can be animated
 * by the compositor, one in percentages of the mark's size cannot).
 */
function markTransform(route, f) {
  const pos = bezier(route.p, route.forward ? f : 1 - f);
  return `translate(${pos.x.toFixed(1)}px, ${pos.y.toFixed(1)}px)`;
}

function bezier({ p0, p1, p2, p3 }, t) {
  const u = 1 - t;
  const a = u * u * u;
  const b = 3 * u * u * t;
  const c = 3 * u * t * t;
  const d = t * t * t;
  return { x: a * p0.x + b * p1.x + c * p2.x + d * p3.x, y: a * p0.y + b * p1.y + c * p2.y + d * p3.y };
}

function bezierTangent({ p0, p1, p2, p3 }, t) {
  const u = 1 - t;
  const x = 3 * u * u * (p1.x - p0.x) + 6 * u * t * (p2.x - p1.x) + 3 * t * t * (p3.x - p2.x);
  const y = 3 * u * u * (p1.y - p0.y) + 6 * u * t * (p2.y - p1.y) + 3 * t * t * (p3.y - p2.y);
  const len = Math.hypot(x, y) || 1;
  return { x: x / len, y: y / len };
}
