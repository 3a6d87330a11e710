// The Sentinels panel: an "Add sentinel" button and, per sentinel, what it sees (the master's
// address, SDOWN/ODOWN, the failover state and epochs, the replicas and other sentinels it
// knows) and its latest event lines (+sdown, +odown, +try-failover, +switch-master, ...), which
// are redis-sentinel's own words and shown verbatim. Promotion is the sentinels' doing: the
// panel says so.

import { h, setText, setAttr, reconcile } from '../dom.js';

/** Settings of a sentinel added from the page (Sentinel's defaults are 30 s and 3 min). */
export const SENTINEL_QUORUM = 2;
export const SENTINEL_DOWN_AFTER_MS = 5000;
/**
 * failover-timeout: a split vote (likely when sentinels see the master fail at the same moment
 * over slow links) is retried after twice this, so the page keeps it short.
 */
export const SENTINEL_FAILOVER_TIMEOUT_MS = 20000;
const EVENTS_SHOWN = 12;

/** Rows of a sentinel card: [key, label key, value]. */
const ROWS = [
  ['master', 'sentinels.master', (v) => `${v.masterName} ${v.masterHost}:${v.masterPort}`],
  ['status', 'sentinels.status', (v, t) => t(v.odown ? 'sentinels.odown' : v.sdown ? 'sentinels.sdown' : 'sentinels.ok')],
  ['failover', 'sentinels.failover', (v) => v.failoverState],
  ['epoch', 'sentinels.epoch', (v, t) => t('sentinels.epochValue', { current: v.currentEpoch, config: v.configEpoch })],
  ['replicas', 'sentinels.replicas', (v, t) => (v.replicas.length === 0
    ? '—'
    : v.replicas.map((r) => `${r.host}:${r.port}${r.sdown ? ` (${t('sentinels.down')})` : ''}`).join(', '))],
  ['peers', 'sentinels.peers', (v) => String(v.sentinels.length)],
  ['quorum', 'sentinels.configLabel', (v) => String(v.quorum)],
];

export class Sentinels {
  constructor(ctx) {
    this.ctx = ctx;
    this.root = h('section', { class: 'sentinels', 'data-testid': 'sentinels' });
    this.title = h('h2', { class: 'panel-title' });
    this.hint = h('p', { class: 'hint' });
    this.add = h('button', { type: 'button', class: 'button', 'data-testid': 'add-sentinel' });
    this.add.addEventListener('click', () => this.ctx.addSentinel());
    this.none = h('p', { class: 'hint' });
    this.list = h('div', { class: 'sentinels__list', 'data-testid': 'sentinel-list' });
    this.root.append(this.title, this.hint, h('div', { class: 'row' }, this.add, this.none), this.list);
    this.views = [];
  }

  relabel() {
    const t = this.ctx.words.t.bind(this.ctx.words);
    setText(this.title, t('sentinels.title'));
    setText(this.hint, t('sentinels.hint', { downAfter: SENTINEL_DOWN_AFTER_MS / 1000, failoverTimeout: SENTINEL_FAILOVER_TIMEOUT_MS / 1000 }));
    setText(this.add, t('sentinels.add'));
    this.list.replaceChildren();
    this.update(this.views);
  }

  update(views) {
    this.views = views;
    const t = this.ctx.words.t.bind(this.ctx.words);
    setText(this.none, views.length === 0 ? t('sentinels.none') : '');
    reconcile(this.list, views, (v) => v.index, (v) => {
      const heading = h('h3', { class: 'sentinel__heading' });
      const dl = h('dl', { class: 'fields fields--compact' });
      const rows = new Map();
      for (const [key, labelKey] of ROWS) {
        const value = h('dd', { 'data-testid': `sentinel-${v.index}-${key}` });
        dl.append(h('dt', { text: t(labelKey) }), value);
        rows.set(key, value);
      }
      const eventsTitle = h('h4', { class: 'sentinel__events-title' });
      const events = h('ol', { class: 'sentinel__events', tabindex: '0', 'data-testid': `sentinel-${v.index}-events`, lang: 'en' });
      const card = h('article', { class: 'sentinel', 'data-testid': `sentinel-card-${v.index}` }, heading, dl, eventsTitle, events);
      card.parts = { heading, rows, eventsTitle, events };
      return card;
    }, (card, v) => {
      const { heading, rows, eventsTitle, events } = card.parts;
      setText(heading, t('sentinels.heading', { name: v.name, addr: `${v.host}:${v.port}` }));
      setAttr(card, 'data-state', v.odown ? 'odown' : v.sdown ? 'sdown' : 'ok');
      for (const [key, , fn] of ROWS) setText(rows.get(key), fn(v, t));
      setText(eventsTitle, t('sentinels.events', { name: v.name }));
      const recent = v.events.slice(-EVENTS_SHOWN);
      const key = recent.join('\n');
      if (events.dataset.shown !== key) {
        events.dataset.shown = key;
        events.replaceChildren(...recent.map((text) => h('li', { class: `sentinel__event${text.startsWith('# ') ? ' sentinel__event--warning' : ''}`, text })));
        events.scrollTop = events.scrollHeight;
      }
    });
  }
}
