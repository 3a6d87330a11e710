// The shared replication buffer and the backlog, as Redis 7 holds them (REDIS-REPLICATION.md
// §4.3): one list of blocks on the axis of replication offsets; the backlog's window from
// repl_backlog_first_byte_offset to master_repl_offset against repl-backlog-size; each replica's
// cursor (the next byte it will be sent) and its last ACKed offset; the commands that entered the
// stream, each at its offset range; each replica's output-buffer use against its limits; and the
// last PSYNC this master answered, placed on the same axis with its verdict spelled out.
//
// Everything comes from the engine: the node's frame (blocks, cursors, offsets, limits) and its
// typed events (propagated commands, PSYNC decisions). The view only places them on an axis.

import { h, svg, setText, setAttr, reconcile } from '../dom.js';

const W = 480; // viewBox width; the SVG scales to the panel
const LEFT = 8;
const RIGHT = W - 8;
const STREAM_SHOWN = 24; // commands drawn on the stream row

export class BufferView {
  constructor(ctx) {
    this.ctx = ctx;
    this.root = h('section', { class: 'buffer', 'data-testid': 'buffer' });
    this.title = h('h2', { class: 'panel-title', 'data-testid': 'buffer-title' });
    this.none = h('p', { class: 'hint', 'data-testid': 'buffer-none' });
    this.intro = h('p', { class: 'hint' });
    this.figure = svg('svg', { class: 'buffer__svg', viewBox: `0 0 ${W} 200`, role: 'img', 'data-testid': 'buffer-svg' });
    this.figTitle = svg('title');
    this.figure.append(this.figTitle);
    this.facts = h('dl', { class: 'fields fields--compact', 'data-testid': 'buffer-facts' });
    this.replicasTitle = h('h3', { class: 'inspector__section' });
    this.replicas = h('table', { class: 'grid', 'data-testid': 'buffer-replicas' });
    this.psyncTitle = h('h3', { class: 'inspector__section' });
    this.psync = h('div', { class: 'psync', 'data-testid': 'psync' });
    this.streamTitle = h('h3', { class: 'inspector__section' });
    this.stream = h('ol', { class: 'stream-list', 'data-testid': 'stream-list' });
    this.body = h('div', { class: 'inspector__body' }, this.intro, this.figure, this.psyncTitle, this.psync, this.facts,
      this.replicasTitle, this.replicas, this.streamTitle, this.stream);
    this.root.append(this.title, this.none, this.body);
  }

  relabel() {
    const t = this.ctx.words.t.bind(this.ctx.words);
    setText(this.intro, t('buffer.intro'));
    setText(this.replicasTitle, t('buffer.replicas'));
    setText(this.psyncTitle, t('buffer.psync'));
    setText(this.streamTitle, t('buffer.stream'));
    this.key = '';
    if (this.frame) this.update(this.frame);
  }

  /** The node whose buffer to show: the selected one if it has a backlog, else its master. */
  subject(frame) {
    const i = this.ctx.selected();
    const n = frame.nodes.find((x) => x.index === i);
    if (!n) return null;
    if (n.buffer) return n;
    const link = frame.links.find((l) => l.replica === i);
    const m = link && link.master !== null ? frame.nodes.find((x) => x.index === link.master) : null;
    return m && m.buffer ? m : null;
  }

  update(frame) {
    this.frame = frame;
    const { words } = this.ctx;
    const t = words.t.bind(words);
    const n = this.subject(frame);
    this.none.hidden = Boolean(n);
    this.body.hidden = !n;
    if (!n) {
      setText(this.title, t('buffer.heading'));
      setText(this.none, t('buffer.none'));
      return;
    }
    setText(this.title, t('buffer.title', { name: n.name }));
    const psync = this.ctx.lastPsync(n.index);
    const stream = this.ctx.recentStream(n.index).slice(-STREAM_SHOWN);
    const key = `${words.code}|${frame.version}|${n.index}|${psync ? psync.seq : ''}|${stream.length ? stream[stream.length - 1].seq : ''}`;
    if (key === this.key) return;
    this.key = key;
    this.drawFigure(n, frame, psync, stream);
    this.drawFacts(n);
    this.drawReplicas(n, frame);
    this.drawPsync(n, psync);
    this.drawStream(stream);
  }

  /** The offsets the axis spans: the buffer, the replicas' cursors and ACKs, the last PSYNC. */
  range(n, psync) {
    const b = n.buffer;
    let lo = b.blocks.length ? b.blocks[0][0] : b.end + 1;
    let hi = Math.max(b.end + 1, n.backlog.firstByte);
    for (const r of n.replicas) {
      if (r.cursor !== null && r.cursor !== undefined) lo = Math.min(lo, r.cursor);
      if (r.offset > 0) lo = Math.min(lo, r.offset);
    }
    if (psync && psync.offset > 0) {
      lo = Math.min(lo, psync.offset);
      hi = Math.max(hi, psync.offset);
    }
    if (hi - lo < 64) hi = lo + 64;
    return { lo, hi };
  }

  drawFigure(n, frame, psync, stream) {
    const { words } = this.ctx;
    const t = words.t.bind(words);
    const { lo, hi } = this.range(n, psync);
    // Offsets past either end (a block's unused allocation) are drawn to the edge.
    const x = (off) => Math.min(RIGHT, Math.max(LEFT, LEFT + ((off - lo) / (hi - lo)) * (RIGHT - LEFT)));
    const anchor = (px) => (px < LEFT + 40 ? 'start' : px > RIGHT - 40 ? 'end' : 'middle');
    const parts = [];
    // Axis.
    parts.push(svg('line', { x1: LEFT, x2: RIGHT, y1: 18, y2: 18, class: 'axis' }));
    parts.push(svg('text', { x: LEFT, y: 12, class: 'axis__label', text: words.n(lo) }));
    parts.push(svg('text', { x: RIGHT, y: 12, class: 'axis__label', 'text-anchor': 'end', text: words.n(hi) }));
    // Blocks of the shared buffer: allocated, and the part in use.
    let y = 26;
    parts.push(svg('text', { x: LEFT, y: y + 9, class: 'row__label', text: t('buffer.blocks', { n: n.buffer.blocks.length }) }));
    y += 13;
    n.buffer.blocks.forEach(([start, used, cap], k) => {
      parts.push(svg('rect', { x: x(start), y, width: Math.max(1, x(start + cap) - x(start)), height: 14, class: 'block', 'data-testid': `block-${k}` }));
      parts.push(svg('rect', { x: x(start), y, width: Math.max(1, x(start + used) - x(start)), height: 14, class: 'block__used' }));
    });
    // The backlog's window.
    y += 22;
    const first = n.backlog.firstByte;
    const end = n.role === 'master' ? n.masterReplOffset : n.buffer.end;
    parts.push(svg('rect', { x: x(first), y, width: Math.max(1, x(end + 1) - x(first)), height: 8, class: 'window' }));
    parts.push(svg('text', { x: x(first), y: y + 20, class: 'row__label', text: t('buffer.window', { first: words.n(first), end: words.n(end) }) }));
    // The commands that entered the stream, at their offsets.
    y += 30;
    for (const ev of stream) {
      if (ev.end < lo || ev.start > hi) continue;
      parts.push(svg('rect', { x: x(ev.start), y, width: Math.max(1.5, x(ev.end + 1) - x(ev.start)), height: 10, class: 'cmd', 'data-label': ev.label },
        svg('title', { text: `${ev.start}–${ev.end}: ${ev.label}` })));
    }
    // Each replica: what waits for it (cursor → end), its cursor and its ACKed offset.
    y += 18;
    for (const r of n.replicas) {
      const name = this.replicaName(frame, n, r);
      const cursor = r.cursor ?? end + 1;
      parts.push(svg('rect', { x: x(cursor), y, width: Math.max(0, x(end + 1) - x(cursor)), height: 10, class: 'pending' }));
      parts.push(svg('path', { d: `M${x(cursor)},${y} l-4,-6 h8 z`, class: 'cursor' }));
      if (r.offset > 0) parts.push(svg('path', { d: `M${x(r.offset + 1)},${y + 10} l-4,6 h8 z`, class: 'ack' }));
      parts.push(svg('text', { x: RIGHT, y: y + 9, class: 'row__label', 'text-anchor': 'end', text: name }));
      y += 24;
    }
    // The last PSYNC's requested offset.
    if (psync) {
      const inside = psync.reason === 'continue';
      parts.push(svg('line', { x1: x(psync.offset), x2: x(psync.offset), y1: 20, y2: y, class: inside ? 'psync-mark psync-mark--ok' : 'psync-mark psync-mark--full' }));
      parts.push(svg('text', { x: x(psync.offset), y: y + 12, class: 'row__label', 'text-anchor': anchor(x(psync.offset)), text: `PSYNC ${psync.offset}` }));
      y += 16;
    }
    setAttr(this.figure, 'viewBox', `0 0 ${W} ${y + 6}`);
    this.figTitle.textContent = t('buffer.figure', { name: n.name });
    this.figure.replaceChildren(this.figTitle, ...parts);
  }

  replicaName(frame, n, r) {
    const node = r.node !== null ? frame.nodes.find((x) => x.index === r.node) : null;
    return node ? node.name : `:${r.port}`;
  }

  drawFacts(n) {
    const { words } = this.ctx;
    const rows = [
      ['repl_backlog_size', n.backlog.size],
      ['repl_backlog_first_byte_offset', n.backlog.firstByte],
      ['repl_backlog_histlen', n.backlog.histlen],
      ['master_repl_offset', n.masterReplOffset],
    ];
    reconcile(this.facts, rows.flatMap(([k, v]) => [{ k, v, dt: true }, { k, v, dt: false }]), (r) => `${r.dt ? 't' : 'd'}:${r.k}`,
      (r) => (r.dt ? h('dt', {}, h('code', { text: r.k })) : h('dd', { 'data-testid': `buffer-${r.k}` })),
      (el, r) => {
        if (!r.dt) {
          setText(el, String(r.v));
          setAttr(el, 'title', words.t(`info.${r.k}`));
        }
      });
  }

  drawReplicas(n, frame) {
    const { words } = this.ctx;
    const t = words.t.bind(words);
    const [hard, soft, softSeconds] = n.outputBufferLimit;
    const end = n.masterReplOffset;
    const head = ['buffer.replica', 'buffer.cursor', 'buffer.acked', 'buffer.lag', 'buffer.output'];
    this.replicas.replaceChildren(
      h('thead', {}, h('tr', {}, head.map((k) => h('th', { scope: 'col', text: t(k) })))),
      h('tbody', {}, n.replicas.map((r) => {
        const pending = r.cursor === null || r.cursor === undefined ? 0 : end + 1 - r.cursor;
        const behind = r.offset > 0 ? end - r.offset : null;
        const limit = hard > 0 ? t('buffer.limits', { hard: words.bytes(hard), soft: soft > 0 ? words.bytes(soft) : '—', secs: softSeconds }) : '';
        return h('tr', { 'data-testid': `buffer-replica-${r.port}` },
          h('th', { scope: 'row', text: this.replicaName(frame, n, r) }, h('span', { class: 'grid__note', text: r.phase })),
          h('td', { 'data-testid': `buffer-cursor-${r.port}`, text: r.cursor === null || r.cursor === undefined ? '—' : String(r.cursor) },
            h('span', { class: 'grid__note', text: t('buffer.pending', { bytes: words.bytes(pending) }) })),
          h('td', { 'data-testid': `buffer-ack-${r.port}`, text: String(r.offset) }),
          h('td', { text: behind === null ? '—' : t('buffer.lagValue', { bytes: words.bytes(behind), s: r.lag }) }),
          h('td', { text: words.bytes(r.outputBuffer) }, limit ? h('span', { class: 'grid__note', text: limit }) : null),
        );
      })),
    );
    this.replicasTitle.hidden = n.replicas.length === 0;
    this.replicas.hidden = n.replicas.length === 0;
  }

  /** The §4.4 verdict: the id test, the range test, the result. */
  drawPsync(n, d) {
    const { words } = this.ctx;
    const t = words.t.bind(words);
    this.psyncTitle.hidden = !d;
    this.psync.hidden = !d;
    if (!d) return;
    const replica = `:${d.replicaPort}`;
    const idLine = d.id === '?'
      ? t('psync.idFull')
      : d.id.toLowerCase() === d.replid.toLowerCase()
        ? t('psync.idReplid', { id: d.id.slice(0, 8) })
        : d.id.toLowerCase() === d.replid2.toLowerCase()
          ? t(d.offset <= d.secondOffset ? 'psync.idReplid2' : 'psync.idReplid2Past', { id: d.id.slice(0, 8), second: d.secondOffset })
          : t('psync.idMismatch', { id: d.id.slice(0, 8), replid: d.replid.slice(0, 8), replid2: d.replid2.slice(0, 8) });
    const [first, next] = d.backlog || [null, null];
    const rangeLine = ['fullRequested', 'idMismatch', 'pastSecondOffset'].includes(d.reason)
      ? t('psync.rangeSkipped')
      : d.backlog === null
        ? t('psync.noBacklog')
        : t(d.reason === 'continue' ? 'psync.rangeIn' : d.reason === 'beforeBacklog' ? 'psync.rangeBefore' : 'psync.rangeAfter',
          { offset: d.offset, first, next });
    const result = d.accepted ? t('psync.continue', { bytes: words.n(d.bytes) }) : t(`psync.full.${d.reason}`);
    this.psync.replaceChildren(
      h('p', { class: 'psync__ask', 'data-testid': 'psync-ask' }, h('code', { text: `PSYNC ${d.id} ${d.offset}` }), ` ${t('psync.from', { replica, time: words.seconds(d.timeUs / 1000) })}`),
      h('ol', { class: 'psync__steps' },
        h('li', { 'data-testid': 'psync-id', text: idLine }),
        h('li', { 'data-testid': 'psync-range', text: rangeLine }),
        h('li', { 'data-testid': 'psync-result', class: d.accepted ? 'psync__ok' : 'psync__full', text: result })),
    );
  }

  drawStream(stream) {
    this.streamTitle.hidden = stream.length === 0;
    reconcile(this.stream, stream.slice().reverse().slice(0, 12), (e) => e.seq, (e) => h('li', {},
      h('span', { class: 'stream-list__range', text: `${e.start}–${e.end}` }), ' ', h('code', { text: e.label })), () => {});
  }
}
