// The lab's words. Every sentence the lab says comes from these catalogs (English, 简体中文);
// Redis's own log lines, replies and wire bytes are shown verbatim and never pass through here.
// A key missing from a catalog falls back to English, so a new language can start small; a lab
// holds its own Words, so two labs on one page may speak different languages.

import en from './en.js';
import zh from './zh-CN.js';
import infoEn from './info-en.js';
import infoZh from './info-zh-CN.js';

export const LANGUAGES = Object.freeze([
  Object.freeze({ code: 'en', name: 'English' }),
  Object.freeze({ code: 'zh-CN', name: '简体中文' }),
]);

const CATALOGS = Object.freeze({
  en: Object.freeze({ ...en, ...infoEn }),
  'zh-CN': Object.freeze({ ...zh, ...infoZh }),
});

/** The catalog keys of a language (for tests and for checking a catalog is complete). */
export function catalogKeys(code) {
  return Object.keys(CATALOGS[code] || {});
}

/**
 * The supported language closest to `wanted` (a BCP 47 tag or a list of them, e.g.
 * navigator.languages): any Chinese tag gives zh-CN, anything else English.
 */
export function resolveLanguage(wanted) {
  const tags = Array.isArray(wanted) ? wanted : [wanted];
  for (const tag of tags) {
    const t = String(tag || '').toLowerCase();
    if (t === 'en' || t.startsWith('en-')) return 'en';
    if (t === 'zh' || t.startsWith('zh-')) return 'zh-CN';
  }
  return 'en';
}

/** Translations in one language, with `{name}` placeholders filled from `params`. */
export class Words {
  constructor(code = 'en') {
    this.code = CATALOGS[code] ? code : 'en';
    this.catalog = CATALOGS[this.code];
    this.numbers = new Intl.NumberFormat(this.code);
  }

  /** The sentence for `key`; a missing key shows itself, so a gap is visible, never blank. */
  t(key, params) {
    const text = this.catalog[key] ?? CATALOGS.en[key] ?? key;
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
  }

  /** True if the catalog (or English) has `key`. */
  has(key) {
    return key in this.catalog || key in CATALOGS.en;
  }

  /** A whole number with the language's digit grouping. */
  n(value) {
    return typeof value === 'number' && Number.isFinite(value) ? this.numbers.format(value) : '—';
  }

  /** Bytes as B, KB or MB (1024-based, as Redis counts). */
  bytes(value) {
    if (typeof value !== 'number' || !Number.isFinite(value)) return '—';
    const abs = Math.abs(value);
    if (abs < 1024) return this.t('unit.bytes', { n: this.n(value) });
    if (abs < 1024 * 1024) return this.t('unit.kb', { n: (value / 1024).toFixed(abs < 10240 ? 1 : 0) });
    return this.t('unit.mb', { n: (value / 1024 / 1024).toFixed(1) });
  }

  /** Virtual seconds with millisecond precision. */
  seconds(ms) {
    return this.t('unit.seconds', { n: (ms / 1000).toFixed(3) });
  }

  /** A duration to wait, rounded for a countdown ("3.2 s", "59:12"). */
  countdown(ms) {
    const s = Math.max(0, ms) / 1000;
    if (s < 60) return this.t('unit.seconds', { n: s.toFixed(s < 10 ? 1 : 0) });
    const m = Math.floor(s / 60);
    const rest = String(Math.floor(s % 60)).padStart(2, '0');
    return this.t('unit.minutes', { m, s: rest });
  }
}
