// A message opened from the stage, the event log or the sequence diagram: where it travels, when,
// what it is (its label and kind come from decoding its bytes), its offset range in the stream
// where it has one, and its exact bytes, as text with `\r\n` shown and as hex. Large payloads are
// shown a page at a time. A node's dump.rdb opens here too, in hex with the parts of the format
// (header, AUX fields, opcodes, keys, EOF, CRC-64) marked from the engine's own reading of it.

import { h, setText } from '../dom.js';

const TEXT_BYTES = 2048; // shown as text at most
const HEX_PAGE = 512; // bytes per page of the hex view

export class MessageView {
  constructor(ctx) {
    this.ctx = ctx;
    this.root = h('section', { class: 'message', 'data-testid': 'message' });
    this.title = h('h2', { class: 'panel-title' });
    this.none = h('p', { class: 'hint' });
    this.body = h('div', { class: 'inspector__body' });
    this.root.append(this.title, this.none, this.body);
    this.current = null; // {kind: 'segment', meta} | {kind: 'rdb', name, bytes, sections}
    this.page = 0;
  }

  relabel() {
    const t = this.ctx.words.t.bind(this.ctx.words);
    setText(this.title, t('message.heading'));
    setText(this.none, t('message.none'));
    this.draw();
  }

  /** Opens a message: `meta` is {seg, from, to, label, kind, bytes, offset, sentAtUs, arriveAtUs}. */
  async openSegment(meta) {
    this.current = { kind: 'segment', meta, bytes: null };
    this.page = 0;
    this.draw();
    const bytes = await this.ctx.read('messageBytes', [meta.seg]).catch(() => null);
    if (this.current && this.current.meta === meta) {
      this.current.bytes = bytes ?? false;
      this.draw();
    }
  }

  /** Opens a dump.rdb (exported from a node) in the hex view, its parts marked. */
  openRdb(name, bytes, sections) {
    this.current = { kind: 'rdb', name, bytes, sections };
    this.page = 0;
    this.draw();
  }

  draw() {
    const c = this.current;
    this.none.hidden = Boolean(c);
    this.body.hidden = !c;
    if (!c) return;
    if (c.kind === 'segment') this.drawSegment(c);
    else this.drawRdb(c);
  }

  drawSegment({ meta, bytes }) {
    const { words } = this.ctx;
    const t = words.t.bind(words);
    const names = this.ctx.names();
    const name = (p) => (p.peer === 'sentinel' ? names.sentinel : names.node).get(p.index) ?? `#${p.index}`;
    const facts = [
      ['message.route', `${name(meta.from)} → ${name(meta.to)}`],
      ['message.kind', t(`kind.${meta.kind}`)],
      ['message.label', meta.label],
      ['message.size', words.bytes(meta.bytes)],
      ['message.sent', words.seconds(meta.sentAtUs / 1000)],
      ['message.arrives', meta.arriveAtUs === null ? '—' : words.seconds(meta.arriveAtUs / 1000)],
    ];
    if (meta.offset !== null && meta.offset !== undefined) {
      facts.push(['message.offsets', `${meta.offset}–${meta.offset + meta.bytes - 1}`]);
    }
    const dl = h('dl', { class: 'fields fields--compact', 'data-testid': 'message-facts' });
    for (const [k, v] of facts) dl.append(h('dt', { text: t(k) }), h('dd', {}, h('code', { text: v })));
    const parts = [dl];
    if (bytes === null) parts.push(h('p', { class: 'hint', text: t('message.loading') }));
    else if (bytes === false) parts.push(h('p', { class: 'hint', 'data-testid': 'message-gone', text: t('message.gone') }));
    else {
      parts.push(h('h3', { class: 'inspector__section', text: t('message.text') }),
        h('pre', { class: 'bytes bytes--text', 'data-testid': 'message-text' }, escaped(bytes.subarray(0, TEXT_BYTES))));
      if (bytes.length > TEXT_BYTES) parts.push(h('p', { class: 'hint', text: t('message.more', { n: words.n(bytes.length - TEXT_BYTES) }) }));
      parts.push(h('h3', { class: 'inspector__section', text: t('message.hex') }), this.hex(bytes, []));
    }
    this.body.replaceChildren(...parts);
  }

  drawRdb({ name, bytes, sections }) {
    const { words } = this.ctx;
    const t = words.t.bind(words);
    const legend = h('ul', { class: 'rdb-legend' });
    for (const kind of ['header', 'aux', 'selectdb', 'resizedb', 'expire', 'key', 'eof', 'checksum']) {
      legend.append(h('li', { 'data-kind': kind, text: t(`rdb.part.${kind}`) }));
    }
    this.body.replaceChildren(
      h('p', { 'data-testid': 'rdb-file', text: t('rdb.file', { name, bytes: words.bytes(bytes.length) }) }),
      legend,
      this.hex(bytes, sections),
    );
  }

  /** A page of hex: offset, 16 bytes, their ASCII; bytes in a section of the RDB carry its kind. */
  hex(bytes, sections) {
    const { words } = this.ctx;
    const t = words.t.bind(words);
    const pages = Math.max(1, Math.ceil(bytes.length / HEX_PAGE));
    this.page = Math.min(this.page, pages - 1);
    const from = this.page * HEX_PAGE;
    const to = Math.min(bytes.length, from + HEX_PAGE);
    const kindAt = sectionIndex(sections);
    const table = h('div', { class: 'hex', 'data-testid': 'hex', role: 'table', 'aria-label': t('message.hex') });
    for (let row = from; row < to; row += 16) {
      const cells = h('span', { class: 'hex__bytes', role: 'cell' });
      const ascii = h('span', { class: 'hex__ascii', role: 'cell' });
      for (let k = row; k < Math.min(row + 16, to); k++) {
        const s = kindAt(k);
        const cell = h('span', { 'data-offset': String(k), 'data-kind': s ? s.kind : null, title: s ? `${t(`rdb.part.${s.kind}`)}: ${s.label}` : null, text: bytes[k].toString(16).padStart(2, '0') });
        cells.append(cell, ' ');
        ascii.append(bytes[k] >= 0x20 && bytes[k] < 0x7f ? String.fromCharCode(bytes[k]) : '.');
      }
      table.append(h('div', { class: 'hex__row', role: 'row' }, h('span', { class: 'hex__offset', role: 'rowheader', text: row.toString(16).padStart(8, '0') }), cells, ascii));
    }
    const prev = h('button', { type: 'button', class: 'button', disabled: this.page === 0, 'data-testid': 'hex-prev', text: t('keys.prev') });
    const next = h('button', { type: 'button', class: 'button', disabled: this.page >= pages - 1, 'data-testid': 'hex-next', text: t('keys.next') });
    prev.addEventListener('click', () => { this.page -= 1; this.draw(); });
    next.addEventListener('click', () => { this.page += 1; this.draw(); });
    const status = h('span', { class: 'keys__status', 'data-testid': 'hex-status', text: t('message.hexRange', { from: words.n(from), to: words.n(to), total: words.n(bytes.length) }) });
    return h('div', {}, table, h('div', { class: 'keys__pager' }, prev, status, next));
  }
}

/** Bytes as text: printable ASCII as is, `\r` and `\n` shown (a line break after `\n`). */
function escaped(bytes) {
  let out = '';
  for (const b of bytes) {
    if (b === 0x0d) out += '\\r';
    else if (b === 0x0a) out += '\\n\n';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** A lookup from a byte's offset to the RDB section holding it (sections are in file order). */
function sectionIndex(sections) {
  let k = 0;
  return (offset) => {
    if (sections.length === 0) return null;
    while (k > 0 && sections[k].start > offset) k -= 1;
    while (k < sections.length - 1 && sections[k].end <= offset) k += 1;
    const s = sections[k];
    return s.start <= offset && offset < s.end ? s : null;
  };
}
