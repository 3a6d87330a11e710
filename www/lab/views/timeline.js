// The timeline: a slider over the whole recorded run (drag back to any moment; acting in the past
// forks the future), marks for what happened (syncs, faults, failovers) so scrubbing finds the
// interesting moments, and "Copy link", which shares the run up to the moment on screen.

import { h, setText, setAttr, setStyle, reconcile } from '../dom.js';

const KEY_STEP_MS = 250;
const PAGE_STEP_MS = 5000;

export class Timeline {
  constructor(ctx) {
    this.ctx = ctx;
    this.root = h('section', { class: 'timeline', 'data-testid': 'timeline' });
    this.label = h('label', { class: 'timeline__label', for: 'slider' });
    this.slider = h('input', { type: 'range', class: 'timeline__slider', min: '0', max: '0', step: 'any', value: '0', 'data-testid': 'time-slider', id: 'slider' });
    this.marks = h('div', { class: 'timeline__marks', 'aria-hidden': 'true', 'data-testid': 'time-marks' });
    this.valueText = h('span', { class: 'fixed-text' });
    this.value = h('output', { class: 'timeline__value', 'data-testid': 'time-value' }, this.valueText);
    this.share = h('button', { type: 'button', class: 'button', 'data-testid': 'share' });
    this.exportButton = h('button', { type: 'button', class: 'button', 'data-testid': 'export-redis' });
    this.note = h('p', { class: 'timeline__note', role: 'status', 'data-testid': 'timeline-note' });
    this.shareUrl = h('input', { type: 'text', class: 'timeline__url', readonly: true, hidden: true, 'data-testid': 'share-url' });
    this.shareStatus = h('p', { class: 'timeline__share-status', role: 'status', 'data-testid': 'share-status' });
    this.root.append(
      // The slider moves ten times a second while playing: inside a block of fixed size (see
      // lab.css), redrawing it lays out nothing else.
      h('div', { class: 'timeline__row' }, this.label, h('div', { class: 'timeline__track' }, h('div', { class: 'fixed-box' }, this.marks, this.slider)), this.value, this.share, this.exportButton),
      h('div', { class: 'timeline__row timeline__row--notes' }, this.note, this.shareStatus, this.shareUrl),
    );
    this.dragging = false;
    this.key = '';
    this.slider.addEventListener('pointerdown', () => {
      this.dragging = true;
      this.ctx.dragStart();
    });
    this.slider.addEventListener('input', () => this.ctx.seek(Number(this.slider.value)));
    this.slider.addEventListener('change', () => {
      this.ctx.seek(Number(this.slider.value));
      this.endDrag();
    });
    this.slider.addEventListener('pointerup', () => this.endDrag());
    this.slider.addEventListener('keydown', (e) => this.onKey(e));
    this.share.addEventListener('click', () => this.ctx.share());
    this.exportButton.addEventListener('click', () => this.ctx.exportZip());
  }

  endDrag() {
    if (!this.dragging) return;
    this.dragging = false;
    this.ctx.dragEnd();
  }

  relabel() {
    const t = this.ctx.words.t.bind(this.ctx.words);
    setText(this.label, t('timeline.label'));
    setAttr(this.slider, 'aria-description', t('timeline.keys'));
    setText(this.share, t('share.button'));
    setText(this.exportButton, t('export.button'));
    setAttr(this.exportButton, 'title', t('export.help'));
    this.key = '';
    this.marksKey = '';
    if (this.last) this.update(...this.last);
  }

  onKey(e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const now = this.nowMs ?? 0;
    const targets = {
      ArrowLeft: now - KEY_STEP_MS, ArrowDown: now - KEY_STEP_MS,
      ArrowRight: now + KEY_STEP_MS, ArrowUp: now + KEY_STEP_MS,
      PageDown: now - PAGE_STEP_MS, PageUp: now + PAGE_STEP_MS,
      Home: 0, End: this.horizonMs ?? now,
    };
    if (!(e.key in targets)) return;
    e.preventDefault();
    this.ctx.seek(targets[e.key]);
  }

  /** @param {number} nowMs @param {number} horizonMs @param {Array<{timeUs,kind,label}>} marks */
  update(nowMs, horizonMs, marks) {
    this.last = [nowMs, horizonMs, marks];
    this.nowMs = nowMs;
    this.horizonMs = horizonMs;
    const words = this.ctx.words;
    const past = nowMs < horizonMs - 0.5;
    // Redrawn every tenth of a second of virtual time while playing, not every animation frame.
    const tenths = this.ctx.playing();
    const at = (ms) => (tenths ? Math.floor(ms / 100) : ms);
    const key = `${words.code}|${at(nowMs)}|${at(horizonMs)}|${this.dragging}`;
    if (key !== this.key) {
      this.key = key;
      setAttr(this.slider, 'max', String(horizonMs));
      if (!this.dragging) this.slider.value = String(nowMs);
      const params = { now: (nowMs / 1000).toFixed(3), horizon: (horizonMs / 1000).toFixed(3) };
      setText(this.valueText, words.t('timeline.value', params));
      setAttr(this.slider, 'aria-valuetext', words.t('timeline.valueText', params));
      setText(this.note, past ? words.t('timeline.past') : '');
      setAttr(this.root, 'data-past', past ? 'true' : 'false');
    }
    const mkey = `${words.code}|${horizonMs.toFixed(0)}|${marks.length}`;
    if (mkey !== this.marksKey) {
      this.marksKey = mkey;
      const span = Math.max(horizonMs, 1);
      reconcile(this.marks, marks, (m) => `${m.timeUs}:${m.kind}:${m.node}`, () => h('span', { class: 'mark' }), (el, m) => {
        setStyle(el, 'left', `${Math.min(100, (m.timeUs / 1000 / span) * 100).toFixed(2)}%`);
        setAttr(el, 'data-kind', m.kind);
        setAttr(el, 'title', m.label);
      });
    }
  }

  /** After "Copy link": copied, or shown to copy by hand. */
  shared(url, copied) {
    const t = this.ctx.words.t.bind(this.ctx.words);
    this.shareUrl.value = url;
    this.shareUrl.hidden = copied;
    setText(this.shareStatus, t(copied ? 'share.copied' : 'share.manual'));
    if (!copied) {
      this.shareUrl.focus();
      this.shareUrl.select();
    }
  }
}
