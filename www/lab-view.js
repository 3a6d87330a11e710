// SVG view of the lab: one box per node, a line per replication link, messages in flight as pills
// moving along the link, and an RDB transfer progress bar. Everything is built with
// createElementNS and textContent: labels carry user keys and values.

import { t } from './i18n.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 1000;
const BOX_TOP = 16;
const BOX_H = 214;
const HEIGHT = 276;
const ROW_H = 19;
const MAX_LABEL = 34;
const CHAR_W = 7.3; // advance of one 12px monospace glyph, close enough for pill sizing

/** Message colours by kind; each has at least 4.5:1 contrast with white text. */
export const KIND_COLORS = {
  handshake: '#6639ba',
  reply: '#0a58ca',
  rdb: '#9a4c00',
  stream: '#1a7f37',
  ping: '#57606a',
  ack: '#0e6f86',
  keepalive: '#6e5494',
};
const KINDS = Object.keys(KIND_COLORS);

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  if (attrs) for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

function setText(node, text) {
  const s = String(text);
  if (node.textContent !== s) node.textContent = s;
}

function setAttr(node, name, value) {
  const s = String(value);
  if (node.getAttribute(name) !== s) node.setAttribute(name, s);
}

function truncate(label) {
  const s = String(label ?? '').replace(/\s+/g, ' ');
  return s.length > MAX_LABEL ? `${s.slice(0, MAX_LABEL - 1)}…` : s;
}

function fmtInt(n) {
  return typeof n === 'number' && Number.isFinite(n) ? String(Math.trunc(n)) : '—';
}

/** Rows shown in a node box: [testid suffix, label key, value function]. */
const ROWS = [
  ['address', 'node.address', (s) => `${s.host}:${s.port}`],
  ['role', 'node.role', (s) => s.role],
  ['replid', 'node.replid', (s) => String(s.replid ?? '').slice(0, 8)],
  ['offset', 'node.masterReplOffset', (s) => fmtInt(s.masterReplOffset)],
  ['dbsize', 'node.dbsize', (s) => fmtInt(s.dbsize)],
  ['replicas', 'node.replicas', (s) => (s.role === 'master' ? String((s.replicas || []).length) : null)],
  [
    'slave0',
    'node.slave0',
    (s) => {
      const r = s.role === 'master' && s.replicas && s.replicas[0];
      return r ? `${r.state} offset=${fmtInt(r.offset)} lag=${fmtInt(r.lag)}` : null;
    },
  ],
  [
    'backlog',
    'node.backlog',
    (s) => (s.role === 'master' && s.backlog && s.backlog.active ? fmtInt(s.backlog.histlen) : null),
  ],
  ['repl-state', 'node.replState', (s) => (s.role === 'slave' ? s.replState : null)],
  [
    'link',
    'node.link',
    (s) => (s.role === 'slave' ? (s.linkStatus === 'up' ? t('node.linkUp') : t('node.linkDown')) : null),
  ],
  ['slave-offset', 'node.slaveReplOffset', (s) => (s.role === 'slave' ? fmtInt(s.slaveReplOffset) : null)],
];

export class LabView {
  constructor(container) {
    this.container = container;
    this.svg = el('svg', {
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      role: 'img',
      class: 'lab-svg',
      'aria-labelledby': 'lab-svg-title lab-svg-desc',
      'data-testid': 'lab-svg',
    });
    this.titleEl = el('title', { id: 'lab-svg-title' }, this.svg);
    this.descEl = el('desc', { id: 'lab-svg-desc' }, this.svg);
    this.linkLayer = el('g', { class: 'links' }, this.svg);
    this.nodeLayer = el('g', { class: 'nodes' }, this.svg);
    this.transferLayer = el('g', { class: 'transfers' }, this.svg);
    this.msgLayer = el('g', { class: 'messages', 'data-testid': 'messages' }, this.svg);
    this.legend = el('g', { class: 'legend', transform: `translate(16 ${HEIGHT - 12})` }, this.svg);
    this.nodes = []; // per node: {group, rect, title, rows: Map}
    this.links = new Map(); // "a-b" -> {line}
    this.transfers = new Map(); // replica index -> {group, text, bar, fill}
    this.pills = []; // pool of {group, rect, text}
    container.appendChild(this.svg);
    this.relabel();
  }

  /** Re-reads every translated string; call after a language change, then render again. */
  relabel() {
    setText(this.titleEl, t('view.title'));
    setText(this.descEl, t('view.desc'));
    while (this.legend.firstChild) this.legend.firstChild.remove();
    let x = 0;
    const caption = el('text', { x: 0, y: 0, class: 'legend__caption' }, this.legend);
    caption.textContent = t('view.legend');
    x += 12 + measure(caption);
    for (const kind of KINDS) {
      el('circle', { cx: x + 5, cy: -4, r: 5, fill: KIND_COLORS[kind] }, this.legend);
      const label = el('text', { x: x + 14, y: 0, class: 'legend__label' }, this.legend);
      label.textContent = t(`kind.${kind}`);
      x += 30 + measure(label);
    }
    for (const n of this.nodes) {
      for (const row of n.rows.values()) setText(row.label, `${t(row.labelKey)}:`);
    }
  }

  layout(count) {
    const gap = count <= 2 ? 360 : 60;
    const w = count <= 1 ? 300 : Math.min(300, (WIDTH - 32 - gap * (count - 1)) / count);
    const total = count * w + (count - 1) * gap;
    const left = (WIDTH - total) / 2;
    return Array.from({ length: count }, (_, i) => ({ x: left + i * (w + gap), y: BOX_TOP, w, h: BOX_H }));
  }

  ensureNode(i) {
    while (this.nodes.length <= i) {
      const idx = this.nodes.length;
      const group = el('g', { class: 'node', 'data-testid': `node-${idx}` }, this.nodeLayer);
      const rect = el('rect', { rx: 10, ry: 10, class: 'node__box' }, group);
      const title = el('text', { class: 'node__title', 'data-testid': `node-${idx}-name` }, group);
      // "down" / "paused" badge in the top right corner, hidden while the node runs.
      const badge = el('g', { class: 'node__badge', 'data-testid': `node-${idx}-badge`, visibility: 'hidden' }, group);
      const badgeRect = el('rect', { rx: 9, ry: 9, height: 20, class: 'node__badge-box' }, badge);
      const badgeText = el('text', { class: 'node__badge-text', 'text-anchor': 'middle' }, badge);
      const rows = new Map();
      for (const [key, labelKey] of ROWS) {
        const text = el('text', { class: 'node__row' }, group);
        const label = el('tspan', { class: 'node__label' }, text);
        label.textContent = `${t(labelKey)}:`;
        const value = el('tspan', { class: 'node__value', dx: 6, 'data-testid': `node-${idx}-${key}` }, text);
        rows.set(key, { text, label, value, labelKey });
      }
      this.nodes.push({ group, rect, title, rows, badge, badgeRect, badgeText });
    }
    return this.nodes[i];
  }

  /**
   * Draws one frame. snap = {now, nodes: [nodeState...], inFlight: [...], status: [{up, paused}...],
   * groups: partition groups or null}. Only attributes and texts that differ from the last frame
   * touch the DOM.
   */
  render(snap) {
    const { nodes, inFlight, now } = snap;
    const status = snap.status || [];
    const groups = snap.groups || null;
    const boxes = this.layout(nodes.length);
    const byAddr = new Map(nodes.map((s, i) => [`${s.host}:${s.port}`, i]));

    // Nodes.
    nodes.forEach((s, i) => {
      const n = this.ensureNode(i);
      const b = boxes[i];
      const st = status[i] || { up: true, paused: false };
      const health = !st.up ? 'down' : st.paused ? 'paused' : 'up';
      setAttr(n.group, 'data-role', s.role);
      setAttr(n.group, 'data-health', health);
      setAttr(n.group, 'class', `node node--${health}`);
      this.renderBadge(n, b, health);
      setAttr(n.rect, 'x', b.x);
      setAttr(n.rect, 'y', b.y);
      setAttr(n.rect, 'width', b.w);
      setAttr(n.rect, 'height', b.h);
      setAttr(n.rect, 'class', `node__box node__box--${s.role === 'master' ? 'master' : 'slave'}`);
      setAttr(n.title, 'x', b.x + 14);
      setAttr(n.title, 'y', b.y + 26);
      setText(n.title, s.name ?? `node${i}`);
      let row = 0;
      for (const [key, , fn] of ROWS) {
        const r = n.rows.get(key);
        const value = fn(s);
        if (value === null || value === undefined) {
          setAttr(r.text, 'visibility', 'hidden');
          continue;
        }
        setAttr(r.text, 'visibility', 'visible');
        setAttr(r.text, 'x', b.x + 14);
        setAttr(r.text, 'y', b.y + 52 + row * ROW_H);
        setText(r.value, value);
        if (key === 'offset') setAttr(r.value, 'data-value', fmtInt(s.masterReplOffset));
        if (key === 'slave-offset') setAttr(r.value, 'data-value', fmtInt(s.slaveReplOffset));
        if (key === 'link') setAttr(r.value, 'class', `node__value node__value--${s.linkStatus === 'up' ? 'up' : 'down'}`);
        row += 1;
      }
    });
    for (let i = nodes.length; i < this.nodes.length; i++) this.nodes[i].group.remove();
    this.nodes.length = Math.min(this.nodes.length, nodes.length);

    // Links: each replica to the node it replicates from, plus any pair with bytes in flight.
    const wanted = new Map();
    nodes.forEach((s, i) => {
      if (s.role !== 'slave' || s.masterHost == null) return;
      const m = byAddr.get(`${s.masterHost}:${s.masterPort}`);
      if (m === undefined || m === i) return;
      wanted.set(linkKey(m, i), { a: m, b: i, up: s.linkStatus === 'up' && isUp(status, m) && isUp(status, i) });
    });
    for (const msg of inFlight) {
      const k = linkKey(msg.from, msg.to);
      if (!wanted.has(k) && boxes[msg.from] && boxes[msg.to] && msg.from !== msg.to) {
        wanted.set(k, { a: Math.min(msg.from, msg.to), b: Math.max(msg.from, msg.to), up: true });
      }
    }
    for (const [k, link] of this.links) {
      if (!wanted.has(k)) {
        link.line.remove();
        link.label.remove();
        this.links.delete(k);
      }
    }
    for (const [k, w] of wanted) {
      let link = this.links.get(k);
      if (!link) {
        const line = el('line', { class: 'link', 'data-testid': `link-${k}` }, this.linkLayer);
        const label = el('text', { class: 'link__label', 'text-anchor': 'middle', visibility: 'hidden' }, this.linkLayer);
        link = { line, label };
        this.links.set(k, link);
      }
      const cut = groups !== null && (groups[w.a] ?? 0) !== (groups[w.b] ?? 0);
      const [x1, x2] = edgeXs(boxes[w.a], boxes[w.b]);
      const y = boxes[w.a].y + boxes[w.a].h / 2;
      setAttr(link.line, 'x1', x1);
      setAttr(link.line, 'x2', x2);
      setAttr(link.line, 'y1', y);
      setAttr(link.line, 'y2', y);
      setAttr(link.line, 'class', `link ${cut ? 'link--partitioned' : w.up ? 'link--up' : 'link--down'}`);
      setAttr(link.line, 'data-partitioned', cut ? 'true' : 'false');
      setAttr(link.label, 'visibility', cut ? 'visible' : 'hidden');
      setAttr(link.label, 'x', (x1 + x2) / 2);
      setAttr(link.label, 'y', y + 5);
      setText(link.label, cut ? `✂ ${t('view.partitioned')}` : '');
    }

    this.renderTransfers(nodes, boxes, byAddr);
    this.renderMessages(inFlight, boxes, now);
  }

  /** Shows the "down" or "paused" badge of a node (health: 'up' | 'down' | 'paused'). */
  renderBadge(n, box, health) {
    if (health === 'up') {
      setAttr(n.badge, 'visibility', 'hidden');
      setAttr(n.badge, 'data-state', 'up');
      setText(n.badgeText, '');
      return;
    }
    const label = t(health === 'down' ? 'view.down' : 'view.paused');
    setText(n.badgeText, label);
    let w = 16;
    for (const ch of label) w += ch.codePointAt(0) > 0x2e80 ? 13 : 7.4;
    const x = box.x + box.w - 12 - w;
    const y = box.y + 10;
    setAttr(n.badge, 'visibility', 'visible');
    setAttr(n.badge, 'data-state', health);
    setAttr(n.badgeRect, 'class', `node__badge-box node__badge-box--${health}`);
    setAttr(n.badgeRect, 'x', x.toFixed(1));
    setAttr(n.badgeRect, 'y', y);
    setAttr(n.badgeRect, 'width', w.toFixed(1));
    setAttr(n.badgeText, 'x', (x + w / 2).toFixed(1));
    setAttr(n.badgeText, 'y', y + 14);
  }

  renderTransfers(nodes, boxes, byAddr) {
    const shown = new Set();
    nodes.forEach((s, i) => {
      let text = null;
      let fraction = null;
      let anchor = null;
      if (s.role === 'slave' && s.replState === 'sync') {
        const m = byAddr.get(`${s.masterHost}:${s.masterPort}`);
        anchor = m === undefined ? [i, i] : [m, i];
        const read = Math.max(0, s.syncReadBytes || 0);
        if (s.syncTotalBytes > 0) {
          text = t('transfer.replica', { read, total: s.syncTotalBytes });
          fraction = Math.min(1, read / s.syncTotalBytes);
        } else {
          text = t('transfer.replicaUnknown', { read });
        }
      } else if (s.rdbChild) {
        // The master is still producing the snapshot (no replica is reading it yet).
        const anyReading = nodes.some((r) => r.role === 'slave' && r.replState === 'sync'
          && byAddr.get(`${r.masterHost}:${r.masterPort}`) === i);
        if (anyReading) return;
        const c = s.rdbChild;
        const replica = nodes.findIndex((r) => r.role === 'slave' && byAddr.get(`${r.masterHost}:${r.masterPort}`) === i);
        anchor = replica >= 0 ? [i, replica] : [i, i];
        if (c.total > 0) {
          text = t('transfer.child', { target: c.target, produced: c.produced, total: c.total });
          fraction = Math.min(1, Math.max(0, c.produced / c.total));
        } else {
          text = t('transfer.childUnknown', { target: c.target, produced: c.produced });
        }
      }
      if (text === null) return;
      shown.add(i);
      let tr = this.transfers.get(i);
      if (!tr) {
        const group = el('g', { class: 'transfer', 'data-testid': `transfer-${i}` }, this.transferLayer);
        const label = el('text', { class: 'transfer__label', 'text-anchor': 'middle' }, group);
        const bar = el('rect', { class: 'transfer__bar', rx: 4, ry: 4, height: 10 }, group);
        const fill = el('rect', { class: 'transfer__fill', rx: 4, ry: 4, height: 10 }, group);
        tr = { group, label, bar, fill };
        this.transfers.set(i, tr);
      }
      const [a, b] = anchor;
      const ba = boxes[a];
      const bb = boxes[b];
      let cx;
      let width;
      if (a === b) {
        cx = ba.x + ba.w / 2;
        width = ba.w - 28;
      } else {
        const [x1, x2] = edgeXs(ba, bb);
        cx = (x1 + x2) / 2;
        width = Math.max(120, Math.abs(x2 - x1) - 40);
      }
      const y = a === b ? ba.y + ba.h + 28 : ba.y + ba.h / 2 + 78;
      setAttr(tr.label, 'x', cx);
      setAttr(tr.label, 'y', y - 8);
      setText(tr.label, text);
      setAttr(tr.bar, 'x', cx - width / 2);
      setAttr(tr.bar, 'y', y);
      setAttr(tr.bar, 'width', width);
      setAttr(tr.fill, 'x', cx - width / 2);
      setAttr(tr.fill, 'y', y);
      if (fraction === null) {
        setAttr(tr.fill, 'width', width);
        setAttr(tr.fill, 'class', 'transfer__fill transfer__fill--unknown');
      } else {
        setAttr(tr.fill, 'width', (width * fraction).toFixed(1));
        setAttr(tr.fill, 'class', 'transfer__fill');
      }
    });
    for (const [i, tr] of this.transfers) {
      if (!shown.has(i)) {
        tr.group.remove();
        this.transfers.delete(i);
      }
    }
  }

  renderMessages(inFlight, boxes, now) {
    let used = 0;
    const laneRight = [];
    const laneLeft = [];
    for (const msg of inFlight) {
      const from = boxes[msg.from];
      const to = boxes[msg.to];
      if (!from || !to || msg.from === msg.to) continue;
      const span = msg.arriveAt - msg.sentAt;
      const p = span > 0 ? Math.min(1, Math.max(0, (now - msg.sentAt) / span)) : 1;
      const [xa, xb] = edgeXs(from, to);
      const rightward = xb > xa;
      const label = truncate(msg.label);
      const w = Math.max(22, label.length * CHAR_W + 18);
      // The pill's centre travels from just outside the sender to just outside the receiver.
      const start = xa + (rightward ? w / 2 : -w / 2);
      const end = xb - (rightward ? w / 2 : -w / 2);
      const cx = start + (end - start) * p;
      // Pills that would overlap an earlier one going the same way move to the next lane out.
      const lanes = rightward ? laneRight : laneLeft;
      const maxLanes = rightward ? 3 : 2;
      let lane = 0;
      while (lane < maxLanes - 1 && (lanes[lane] || []).some(([a, b]) => cx - w / 2 < b + 4 && cx + w / 2 > a - 4)) {
        lane += 1;
      }
      (lanes[lane] ||= []).push([cx - w / 2, cx + w / 2]);
      const cy = from.y + from.h / 2 + (rightward ? -16 - lane * 22 : 16 + lane * 22);
      if (used === this.pills.length) {
        const group = el('g', { class: 'msg' }, this.msgLayer);
        const rect = el('rect', { rx: 9, ry: 9, height: 18, class: 'msg__pill' }, group);
        const text = el('text', { class: 'msg__label', 'text-anchor': 'middle' }, group);
        this.pills.push({ group, rect, text });
      }
      const pill = this.pills[used++];
      const kind = KIND_COLORS[msg.kind] ? msg.kind : 'reply';
      setAttr(pill.group, 'data-kind', kind);
      setAttr(pill.group, 'visibility', 'visible');
      setAttr(pill.rect, 'fill', KIND_COLORS[kind]);
      setAttr(pill.rect, 'x', (cx - w / 2).toFixed(1));
      setAttr(pill.rect, 'y', cy - 9);
      setAttr(pill.rect, 'width', w.toFixed(1));
      setAttr(pill.text, 'x', cx.toFixed(1));
      setAttr(pill.text, 'y', cy + 4);
      setText(pill.text, label);
    }
    for (let i = used; i < this.pills.length; i++) {
      setAttr(this.pills[i].group, 'visibility', 'hidden');
      setText(this.pills[i].text, '');
    }
    // Keep the pool from growing without bound after a burst.
    while (this.pills.length > Math.max(used, 64)) this.pills.pop().group.remove();
  }
}

/** Rendered width of an SVG text; an estimate when the SVG is not laid out (CJK ~1 em, else ~0.6 em). */
function measure(textEl) {
  try {
    const w = textEl.getComputedTextLength();
    if (w > 0) return w;
  } catch {
    // Not rendered yet.
  }
  let w = 0;
  for (const ch of textEl.textContent) w += ch.codePointAt(0) > 0x2e80 ? 12 : 7.2;
  return w;
}

function isUp(status, i) {
  return !status[i] || status[i].up;
}

function linkKey(a, b) {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

/** x of the facing edges of two boxes, in the order (a side, b side). */
function edgeXs(a, b) {
  if (a.x <= b.x) return [a.x + a.w, b.x];
  return [a.x, b.x + b.w];
}
