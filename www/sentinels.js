// The "Sentinels" panel: an "Add sentinel" button and, per sentinel, what it sees (the master's
// address, SDOWN/ODOWN, the failover state and epochs, the replicas and other sentinels it
// knows, the messages it has in flight) and its own event log (+sdown, +odown, +try-failover,
// +elected-leader, +selected-slave, +promoted-slave, +switch-master, +convert-to-slave, ...).
// Promotion is the sentinels' doing: the panel says so. It renders what lab.sentinelState()
// reports and calls back into main.js; built with createElement and textContent only.

import { t } from './i18n.js';

/** Settings of a sentinel added from the page (Sentinel's defaults are 30 s and 3 min). */
export const SENTINEL_QUORUM = 2;
export const SENTINEL_DOWN_AFTER_MS = 5000;
/**
 * failover-timeout: a split vote (likely when sentinels see the master fail at the same moment
 * over slow links) is retried after twice this, so the page keeps it short.
 */
export const SENTINEL_FAILOVER_TIMEOUT_MS = 20000;
/** Events shown per sentinel, newest last. */
const EVENTS_SHOWN = 12;

function el(tag, className, parent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (parent) parent.appendChild(node);
  return node;
}

function setText(node, text) {
  const s = String(text);
  if (node.textContent !== s) node.textContent = s;
}

/** Rows of a sentinel card: [testid suffix, label key, value function]. */
const ROWS = [
  ['master', 'sentinels.master', (v) => `${v.masterName} ${v.masterHost}:${v.masterPort}`],
  ['status', 'sentinels.status', (v) => t(v.odown ? 'sentinels.odown' : v.sdown ? 'sentinels.sdown' : 'sentinels.ok')],
  ['failover', 'sentinels.failover', (v) => v.failoverState],
  ['epoch', 'sentinels.epoch', (v) => t('sentinels.epochValue', { current: v.currentEpoch, config: v.configEpoch })],
  [
    'replicas',
    'sentinels.replicas',
    (v) => (v.replicas.length === 0
      ? '—'
      : v.replicas.map((r) => `${r.host}:${r.port}${r.sdown ? ` (${t('sentinels.down')})` : ''}`).join(', ')),
  ],
  ['peers', 'sentinels.peers', (v) => String(v.sentinels.length)],
  ['config', 'sentinels.configLabel', (v) => t('sentinels.config', { quorum: v.quorum })],
  ['in-flight', 'sentinels.inFlight', (v) => String(v.inFlight ?? 0)],
];

export class SentinelPanel {
  /**
   * @param {HTMLElement} container the (initially hidden) section that receives the panel
   * @param {() => void} onAdd called when "Add sentinel" is pressed
   */
  constructor(container, onAdd) {
    this.container = container;
    this.cards = [];
    this.views = [];
    this.title = el('h2', 'sentinels__title', container);
    this.title.id = 'sentinels-title';
    container.setAttribute('aria-labelledby', this.title.id);
    this.hint = el('p', 'sentinels__hint', container);
    const row = el('div', 'sentinels__row', container);
    this.add = el('button', 'button button--fault', row);
    this.add.type = 'button';
    this.add.dataset.testid = 'add-sentinel';
    this.add.addEventListener('click', () => onAdd());
    this.none = el('p', 'sentinels__none', row);
    this.list = el('div', 'sentinels__list', container);
    this.list.dataset.testid = 'sentinel-list';
    this.relabel();
  }

  /** Re-reads every translated string. */
  relabel() {
    setText(this.title, t('sentinels.title'));
    setText(this.hint, t('sentinels.hint', {
      downAfter: SENTINEL_DOWN_AFTER_MS / 1000,
      failoverTimeout: SENTINEL_FAILOVER_TIMEOUT_MS / 1000,
    }));
    setText(this.add, t('sentinels.add'));
    for (const c of this.cards) {
      for (const r of c.rows.values()) setText(r.label, `${t(r.labelKey)}:`);
    }
    this.update(this.views);
  }

  ensureCard(j) {
    while (this.cards.length <= j) {
      const idx = this.cards.length;
      const card = el('article', 'sentinel', this.list);
      card.dataset.testid = `sentinel-${idx}`;
      const heading = el('h3', 'sentinel__heading', card);
      heading.id = `sentinel-heading-${idx}`;
      card.setAttribute('aria-labelledby', heading.id);
      const dl = el('dl', 'sentinel__rows', card);
      const rows = new Map();
      for (const [key, labelKey] of ROWS) {
        const label = el('dt', 'sentinel__label', dl);
        const value = el('dd', 'sentinel__value', dl);
        value.dataset.testid = `sentinel-${idx}-${key}`;
        label.textContent = `${t(labelKey)}:`;
        rows.set(key, { label, value, labelKey });
      }
      const eventsTitle = el('h4', 'sentinel__events-title', card);
      const events = el('ol', 'sentinel__events', card);
      events.dataset.testid = `sentinel-${idx}-events`;
      events.tabIndex = 0;
      this.cards.push({ card, heading, rows, eventsTitle, events, shown: '' });
    }
    return this.cards[j];
  }

  /** Shows the sentinels: views are lab.sentinelState() objects plus {inFlight}. */
  update(views) {
    this.views = views;
    setText(this.none, views.length === 0 ? t('sentinels.none') : '');
    views.forEach((v, j) => {
      const c = this.ensureCard(j);
      setText(c.heading, t('sentinels.heading', { name: v.name, addr: `${v.host}:${v.port}` }));
      c.card.dataset.state = v.odown ? 'odown' : v.sdown ? 'sdown' : 'ok';
      for (const [key, , fn] of ROWS) setText(c.rows.get(key).value, fn(v));
      setText(c.eventsTitle, t('sentinels.events', { name: v.name }));
      const recent = v.events.slice(-EVENTS_SHOWN);
      const key = recent.join('\n');
      if (key !== c.shown) {
        c.shown = key;
        c.events.replaceChildren(...recent.map((text) => {
          const li = document.createElement('li');
          li.className = `sentinel__event${text.startsWith('# ') ? ' sentinel__event--warning' : ''}`;
          li.textContent = text;
          return li;
        }));
        c.events.scrollTop = c.events.scrollHeight;
      }
    });
    for (let j = views.length; j < this.cards.length; j++) this.cards[j].card.remove();
    this.cards.length = Math.min(this.cards.length, views.length);
  }
}
