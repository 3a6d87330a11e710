// The inspector: everything about the selected node. Its INFO replication fields (read from the
// engine as INFO prints them) each with a one-line explanation, its replicas as its master sees
// them, the timers it is waiting on, and a key browser that pages through its dataset and can
// compare it, key by key, with another node's.

import { h, setText, setAttr, setClass, reconcile } from '../dom.js';
import { shortId } from './describe.js';

const PAGE = 20;
/** Wall-clock ms between two reads of INFO and of the keys while the run plays. */
const READ_EVERY_MS = 400;
/** Fields of INFO stats the inspector shows next to INFO replication. */
const STATS = new Set(['sync_full', 'sync_partial_ok', 'sync_partial_err', 'total_net_repl_input_bytes', 'total_net_repl_output_bytes']);

export class Inspector {
  constructor(ctx) {
    this.ctx = ctx;
    this.index = null;
    this.node = null;
    this.info = null; // [[field, value]]
    this.keys = { db: 0, pattern: '', offset: 0, compare: '' };
    this.lastRead = 0;
    this.readVersion = -1;
    this.infoKey = '';
    this.keysKey = '';
    this.reading = false;

    this.root = h('section', { class: 'inspector', 'data-testid': 'inspector' });
    this.title = h('h2', { class: 'panel-title', 'data-testid': 'inspector-title' });
    this.none = h('p', { class: 'inspector__none' });
    this.body = h('div', { class: 'inspector__body' });

    this.infoTitle = h('h3', { class: 'inspector__section' });
    this.infoList = h('dl', { class: 'fields', 'data-testid': 'inspector-info' });
    this.replicasTitle = h('h3', { class: 'inspector__section' });
    this.replicasTable = h('table', { class: 'grid', 'data-testid': 'inspector-replicas' });
    this.timersTitle = h('h3', { class: 'inspector__section' });
    this.timersList = h('ul', { class: 'timers', 'data-testid': 'inspector-timers' });

    this.keysTitle = h('h3', { class: 'inspector__section' });
    this.dbSelect = h('select', { 'data-testid': 'keys-db' });
    this.pattern = h('input', { type: 'search', 'data-testid': 'keys-pattern', autocomplete: 'off', spellcheck: 'false' });
    this.compare = h('select', { 'data-testid': 'keys-compare' });
    this.dbLabel = h('label', { class: 'field' }, h('span'), this.dbSelect);
    this.patternLabel = h('label', { class: 'field' }, h('span'), this.pattern);
    this.compareLabel = h('label', { class: 'field' }, h('span'), this.compare);
    this.keysTable = h('table', { class: 'grid grid--keys', 'data-testid': 'keys-table' });
    this.keysStatus = h('p', { class: 'keys__status', 'data-testid': 'keys-status', role: 'status' });
    this.prev = h('button', { type: 'button', class: 'button', 'data-testid': 'keys-prev' });
    this.next = h('button', { type: 'button', class: 'button', 'data-testid': 'keys-next' });
    this.dbSelect.addEventListener('change', () => this.setKeys({ db: Number(this.dbSelect.value), offset: 0 }));
    this.pattern.addEventListener('input', () => this.setKeys({ pattern: this.pattern.value, offset: 0 }));
    this.compare.addEventListener('change', () => this.setKeys({ compare: this.compare.value }));
    this.prev.addEventListener('click', () => this.setKeys({ offset: Math.max(0, this.keys.offset - PAGE) }));
    this.next.addEventListener('click', () => this.setKeys({ offset: this.keys.offset + PAGE }));

    this.body.append(
      this.infoTitle, this.infoList,
      this.replicasTitle, this.replicasTable,
      this.timersTitle, this.timersList,
      this.keysTitle,
      h('div', { class: 'keys__controls' }, this.dbLabel, this.patternLabel, this.compareLabel),
      this.keysTable,
      h('div', { class: 'keys__pager' }, this.prev, this.keysStatus, this.next),
    );
    this.root.append(this.title, this.none, this.body);
  }

  relabel() {
    const t = this.ctx.words.t.bind(this.ctx.words);
    setText(this.none, t('inspector.none'));
    setText(this.infoTitle, t('inspector.info'));
    setText(this.replicasTitle, t('inspector.replicas'));
    setText(this.timersTitle, t('inspector.timers'));
    setText(this.keysTitle, t('inspector.keys'));
    setText(this.dbLabel.firstChild, t('keys.db'));
    setText(this.patternLabel.firstChild, t('keys.pattern'));
    setText(this.compareLabel.firstChild, t('keys.compare'));
    setAttr(this.pattern, 'placeholder', '*');
    setText(this.prev, t('keys.prev'));
    setText(this.next, t('keys.next'));
    this.infoKey = '';
    this.keysKey = '';
    this.compareKey = '';
    if (this.frame) this.update(this.frame, true);
  }

  /** Shows node `index` (null: nothing selected). */
  select(index) {
    if (index === this.index) return;
    this.index = index;
    this.info = null;
    this.page = null;
    this.other = null;
    this.keys = { db: 0, pattern: '', offset: 0, compare: '' };
    this.pattern.value = '';
    this.infoKey = '';
    this.keysKey = '';
    if (this.frame) this.update(this.frame, true);
  }

  setKeys(change) {
    Object.assign(this.keys, change);
    this.keysKey = '';
    this.refresh(true);
  }

  /** Draws the frame; reads INFO and keys again when the node changed (at most so often). */
  update(frame, force = false) {
    this.frame = frame;
    const { words } = this.ctx;
    const n = frame.nodes.find((x) => x.index === this.index) || null;
    this.node = n;
    this.none.hidden = n !== null;
    this.body.hidden = n === null;
    setText(this.title, n
      ? words.t('inspector.title', { name: n.name, role: words.t(n.role === 'master' ? 'role.master' : 'role.replica'), addr: `${n.host}:${n.port}` })
      : words.t('inspector.heading'));
    if (!n) return;
    this.drawReplicas(n);
    this.drawTimers(n, frame.nowUs);
    this.drawDbs(n, frame);
    this.refresh(force);
  }

  /**
   * Reads INFO and the key page again when the world changed since the last read, at most once
   * per READ_EVERY_MS of wall time; a change that has to wait is read when the interval ends.
   */
  async refresh(force) {
    const n = this.node;
    if (!n) return;
    if (force) this.readVersion = -1;
    const version = this.frame.version;
    if (version === this.readVersion) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    const wait = this.lastRead + READ_EVERY_MS - performance.now();
    if (wait > 0 && !force) {
      if (!this.later) {
        this.later = setTimeout(() => {
          this.later = null;
          this.refresh();
        }, wait);
      }
      return;
    }
    this.reading = true;
    this.readVersion = version;
    this.lastRead = performance.now();
    const index = n.index;
    try {
      // Replication first, then the replication counters of INFO stats.
      const text = n.up
        ? `${await this.ctx.read('info', [index, 'replication'])}\r\n${await this.ctx.read('info', [index, 'stats'])}`
        : null;
      const { db, pattern, offset, compare } = this.keys;
      const page = await this.ctx.read('keys', [index, db, pattern, offset, PAGE]);
      const other = compare !== '' && this.frame.nodes.some((x) => String(x.index) === compare)
        ? await this.ctx.read('keys', [Number(compare), db, pattern, offset, PAGE]) : null;
      if (index === this.index) {
        this.info = text === null ? [] : parseInfo(text);
        this.page = page;
        this.other = other;
        this.drawInfo();
        this.drawKeys();
      }
    } catch {
      // The node went away between the frame and the read: the next frame says so.
    } finally {
      this.reading = false;
    }
    if (this.again) {
      this.again = false;
      this.refresh();
    }
  }

  /**
   * INFO as a list of fields with their explanations. The list is built again only when the
   * fields or the language change; otherwise only the values that changed are written (under
   * load they change a few times a second, and the rest of the list stays as it was).
   */
  drawInfo() {
    const { words } = this.ctx;
    const t = words.t.bind(words);
    const rows = this.info.filter(([k]) => !k.startsWith('#'));
    const shape = `${words.code}|${rows.map(([k]) => k).join(',')}`;
    if (shape !== this.infoKey) {
      this.infoKey = shape;
      this.infoValues = new Map();
      const items = [];
      for (const [field] of rows) {
        const slave = /^slave\d+$/.test(field);
        const explainKey = slave ? 'info.slave' : `info.${field}`;
        const dt = h('dt', { class: 'fields__name', 'data-field': field }, h('code', { text: field }));
        const value = /^master_replid2?$/.test(field) ? h('abbr', { tabindex: '0' }) : h('code');
        const dd = h('dd', { class: 'fields__value', 'data-testid': `info-${field}` }, value);
        if (words.has(explainKey)) dd.append(h('span', { class: 'fields__explain', text: t(explainKey) }));
        this.infoValues.set(field, value);
        items.push(dt, dd);
      }
      this.infoList.replaceChildren(...items);
    }
    for (const [field, text] of rows) {
      const value = this.infoValues.get(field);
      if (value.localName === 'abbr' && text.length === 40) {
        // A replication id: its first characters, the whole id on hover and focus.
        setAttr(value, 'title', text);
        setText(value, `${shortId(text)}…`);
      } else {
        if (value.localName === 'abbr') setAttr(value, 'title', null);
        setText(value, text);
      }
    }
    // The fields a chapter's step talks about, on the node it names.
    const marked = this.ctx.highlightedFields ? this.ctx.highlightedFields(this.index) : null;
    for (const dt of this.infoList.querySelectorAll('dt')) {
      const on = Boolean(marked && marked.has(dt.dataset.field));
      setClass(dt, 'is-highlighted', on);
      setClass(dt.nextElementSibling, 'is-highlighted', on);
    }
  }

  drawReplicas(n) {
    const { words } = this.ctx;
    const t = words.t.bind(words);
    const show = n.replicas.length > 0;
    this.replicasTitle.hidden = !show;
    this.replicasTable.hidden = !show;
    if (!show) return;
    const [hard] = n.outputBufferLimit;
    const rows = n.replicas.map((r) => [
      `${r.ip}:${r.port}`,
      r.phase,
      r.awaitingFirstAck ? t('replicas.awaitingAck') : '',
      words.n(r.offset),
      t('replicas.lag', { s: r.lag }),
      hard > 0 ? t('replicas.buffer', { used: words.bytes(r.outputBuffer), limit: words.bytes(hard) }) : words.bytes(r.outputBuffer),
    ]);
    // The header once per language; a row per replica, its cells written only when they change.
    if (this.replicasLang !== words.code) {
      this.replicasLang = words.code;
      const head = ['replicas.address', 'replicas.phase', 'replicas.offset', 'replicas.lagHead', 'replicas.bufferHead'];
      this.replicasBody = h('tbody');
      this.replicasTable.replaceChildren(h('thead', {}, h('tr', {}, head.map((k) => h('th', { scope: 'col', text: t(k) })))), this.replicasBody);
    }
    reconcile(this.replicasBody, rows, (r) => r[0], () => h('tr', {},
      h('th', { scope: 'row' }), h('td', {}, h('code'), h('span', { class: 'grid__note' })), h('td'), h('td'), h('td')),
    (tr, [addr, phase, note, offset, lag, buffer]) => {
      const [addrCell, phaseCell, offsetCell, lagCell, bufferCell] = tr.children;
      setAttr(tr, 'data-phase', phase);
      setText(addrCell, addr);
      setAttr(phaseCell, 'title', t(`phase.${phase}`));
      setText(phaseCell.firstChild, phase);
      setText(phaseCell.lastChild, note);
      phaseCell.lastChild.hidden = !note;
      setText(offsetCell, offset);
      setText(lagCell, lag);
      setText(bufferCell, buffer);
    });
  }

  drawTimers(n, nowUs) {
    const { words } = this.ctx;
    const timers = n.up ? n.timers : [];
    this.timersTitle.hidden = timers.length === 0;
    this.timersList.hidden = timers.length === 0;
    reconcile(this.timersList, timers, (x) => `${x.kind}:${x.replicaPort ?? ''}`, () => h('li', { class: 'timer' }), (li, x) => {
      const left = words.countdown((x.deadlineUs - nowUs) / 1000);
      const text = words.t(`timer.${x.kind}`, { left });
      setText(li, x.replicaPort ? `${text} (:${x.replicaPort})` : text);
      setAttr(li, 'title', words.t(`timerHelp.${x.kind}`));
    });
  }

  drawDbs(n, frame) {
    const { words } = this.ctx;
    const dbs = new Set([0, this.keys.db, ...n.keyspace.map(([d]) => d)]);
    const counts = new Map(n.keyspace);
    const key = `${words.code}|${Array.from(dbs).map((d) => `${d}:${counts.get(d) ?? 0}`).join(',')}`;
    if (key !== this.dbKey) {
      this.dbKey = key;
      this.dbSelect.replaceChildren(...Array.from(dbs).sort((a, b) => a - b).map((d) => h('option', {
        value: String(d), text: words.t('keys.dbOption', { db: d, n: words.n(counts.get(d) ?? 0) }),
      })));
      this.dbSelect.value = String(this.keys.db);
    }
    const others = frame.nodes.filter((x) => x.index !== n.index);
    const ckey = `${words.code}|${others.map((x) => x.index).join(',')}`;
    if (ckey !== this.compareKey) {
      this.compareKey = ckey;
      this.compare.replaceChildren(
        h('option', { value: '', text: words.t('keys.compareNone') }),
        ...others.map((x) => h('option', { value: String(x.index), text: x.name })),
      );
      if (!others.some((x) => String(x.index) === this.keys.compare)) this.keys.compare = '';
      this.compare.value = this.keys.compare;
    }
  }

  drawKeys() {
    const { words } = this.ctx;
    const t = words.t.bind(words);
    const page = this.page;
    if (!page) return;
    const other = this.other;
    const otherName = other ? (this.frame.nodes.find((x) => String(x.index) === this.keys.compare) || {}).name : '';
    const theirs = new Map(other ? other.keys.map((k) => [k.key, k]) : []);
    const rows = page.keys.map((k) => {
      const o = theirs.get(k.key);
      const same = o ? o.type === k.type && o.preview === k.preview && o.size === k.size : false;
      return { k, diff: other ? (o ? (same ? 'same' : 'differs') : 'missing') : null };
    });
    const key = `${words.code}|${JSON.stringify(rows)}|${page.total}|${otherName}`;
    if (key === this.keysKey) return;
    this.keysKey = key;
    const head = ['keys.key', 'keys.type', 'keys.ttl', 'keys.value'];
    if (other) head.push('keys.compareHead');
    this.keysTable.replaceChildren(
      h('thead', {}, h('tr', {}, head.map((k) => h('th', { scope: 'col', text: t(k, { name: otherName }) })))),
      h('tbody', {}, rows.map(({ k, diff }) => h('tr', { 'data-expired': k.expired ? 'true' : null, 'data-diff': diff },
        h('th', { scope: 'row' }, h('code', { text: k.key })),
        h('td', { text: k.type }),
        h('td', { text: k.pttl < 0 ? '—' : k.expired ? t('keys.expired') : words.countdown(k.pttl) }),
        h('td', {}, h('code', { text: k.preview })),
        diff ? h('td', { class: `diff diff--${diff}`, text: t(`keys.${diff}`, { name: otherName }) }) : null,
      ))),
    );
    const from = page.total === 0 ? 0 : page.offset + 1;
    const to = page.offset + page.keys.length;
    setText(this.keysStatus, page.total === 0
      ? t('keys.none')
      : t(page.sorted ? 'keys.range' : 'keys.rangeUnsorted', { from: words.n(from), to: words.n(to), total: words.n(page.total) }));
    this.prev.disabled = page.offset === 0;
    this.next.disabled = to >= page.total;
  }
}

/** INFO's text as [field, value] pairs (section headers kept as ['# Replication', '']). */
export function parseInfo(text) {
  const out = [];
  for (const line of String(text).split(/\r?\n/)) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      out.push([line, '']);
      continue;
    }
    const at = line.indexOf(':');
    if (at < 0) continue;
    out.push([line.slice(0, at), line.slice(at + 1)]);
  }
  // Of INFO stats, only the replication counters.
  let inStats = false;
  return out.filter(([k]) => {
    if (k.startsWith('#')) {
      inStats = k === '# Stats';
      return false;
    }
    return !inStats || STATS.has(k);
  });
}
