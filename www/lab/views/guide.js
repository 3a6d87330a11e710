// The chapter player: a scenario's narration beside the live lab, one step at a time.
//
// The engine runs the chapter (its lab, its steps, its checks and answer keys: see
// src/scenario/); this view only shows what the engine returns: the narration as inline pieces
// (text, emphasis, code, references to a node, a field or a view), the question, the learner's
// answer next to what the run gave, the checkpoints, a challenge's goal and its trial's verdict.
// Predict, then observe: a step's question is answered before the step runs, and the outcome
// is shown next to the answer. Going back is the engine's time travel, so it is exact; the lab
// stays live at every step for exploring freely. Every string is set as text: a scenario file is
// user input.

import { h, setText, setAttr } from '../dom.js';

/** Where the learner's progress is kept (this browser only). */
const PROGRESS_KEY = 'redis-repl-lab.chapters';

/** The text of a language map in the learner's language, else English. */
export function pick(map, code) {
  if (!map) return undefined;
  return map[code] ?? map.en;
}

/** Reads the progress of every chapter: {[id]: {step, complete}}. */
export function readProgress() {
  try {
    return JSON.parse(localStorage.getItem(PROGRESS_KEY) || '{}') || {};
  } catch {
    return {};
  }
}

function saveProgress(id, step, complete) {
  try {
    const all = readProgress();
    const was = all[id] || { step: 0, complete: false };
    all[id] = { step: Math.max(was.step, step), complete: was.complete || complete };
    localStorage.setItem(PROGRESS_KEY, JSON.stringify(all));
  } catch {
    // Storage may be blocked: progress is only a convenience.
  }
}

export class Guide {
  constructor(ctx) {
    this.ctx = ctx;
    this.root = h('section', { class: 'guide', 'data-testid': 'guide' });
    this.scenario = null; // the chapter, as the engine checked it
    this.errors = null; // problems of a file that did not load
    this.chapters = []; // [{id, title}] for the list
    this.index = 0; // the step shown (0-based)
    this.phase = 'ask'; // 'ask' (not run), 'running', 'done', 'failed'
    this.report = null; // the engine's report of the step shown
    this.failure = null;
    this.answer = null; // the learner's answer to the step's question
    this.trial = null; // {state, solved} of the challenge's last trial
    this.trialFailure = null; // why the last trial could not run
    this.solving = false; // the reference solution is being applied
    this.engineRunning = false; // the engine last said a task was under way
    this.listing = false; // the chapter list is shown

    this.heading = h('h2', { class: 'panel-title', 'data-testid': 'guide-title' });
    this.summary = h('p', { class: 'guide__summary' });
    this.chaptersButton = h('button', { type: 'button', class: 'button', 'data-testid': 'guide-chapters' });
    this.openButton = h('button', { type: 'button', class: 'button', 'data-testid': 'guide-open' });
    this.saveButton = h('button', { type: 'button', class: 'button', 'data-testid': 'guide-save' });
    this.fileInput = h('input', { type: 'file', accept: '.toml,text/plain', hidden: true, 'data-testid': 'guide-file' });
    this.tools = h('div', { class: 'guide__tools' }, this.chaptersButton, this.openButton, this.saveButton, this.fileInput);
    this.errorsBox = h('div', { class: 'guide__errors', role: 'alert', 'data-testid': 'guide-errors', hidden: true });
    this.list = h('ol', { class: 'guide__list', 'data-testid': 'guide-list' });
    this.position = h('p', { class: 'guide__position', 'data-testid': 'guide-position' });
    this.text = h('div', { class: 'guide__text', 'data-testid': 'guide-text' });
    this.question = h('fieldset', { class: 'guide__question', 'data-testid': 'guide-question' });
    this.challenge = h('div', { class: 'guide__goal', 'data-testid': 'guide-challenge' });
    this.outcome = h('div', { class: 'guide__outcome', 'data-testid': 'guide-outcome' });
    this.checks = h('ul', { class: 'guide__checks', 'data-testid': 'guide-checks' });
    this.backButton = h('button', { type: 'button', class: 'button', 'data-testid': 'guide-back' });
    this.runButton = h('button', { type: 'button', class: 'button button--primary', 'data-testid': 'guide-run' });
    this.finishButton = h('button', { type: 'button', class: 'button', 'data-testid': 'guide-finish' });
    this.nextButton = h('button', { type: 'button', class: 'button button--primary', 'data-testid': 'guide-next' });
    this.nav = h('div', { class: 'guide__nav' }, this.backButton, this.runButton, this.finishButton, this.nextButton);
    this.body = h('div', { class: 'guide__body' }, this.position, this.text, this.challenge, this.question, this.outcome, this.checks, this.nav);
    this.root.append(this.heading, this.summary, this.tools, this.errorsBox, this.list, this.body);

    this.chaptersButton.addEventListener('click', () => this.showList(!this.listing));
    this.openButton.addEventListener('click', () => this.fileInput.click());
    this.saveButton.addEventListener('click', () => ctx.guide.saveAsScenario());
    this.fileInput.addEventListener('change', () => {
      const file = this.fileInput.files && this.fileInput.files[0];
      this.fileInput.value = '';
      if (file) this.openFile(file).catch((err) => ctx.report(err));
    });
    this.root.addEventListener('dragover', (e) => {
      if (Array.from(e.dataTransfer.types).includes('Files')) e.preventDefault();
    });
    this.root.addEventListener('drop', (e) => {
      const file = e.dataTransfer.files && e.dataTransfer.files[0];
      if (!file) return;
      e.preventDefault();
      this.openFile(file).catch((err) => ctx.report(err));
    });
    this.backButton.addEventListener('click', () => this.back());
    this.runButton.addEventListener('click', () => this.run());
    this.finishButton.addEventListener('click', () => ctx.guide.finish().catch((err) => ctx.report(err)));
    this.nextButton.addEventListener('click', () => this.next());
  }

  get lang() {
    return this.ctx.words.code;
  }

  t(key, params) {
    return this.ctx.words.t(key, params);
  }

  relabel() {
    setText(this.chaptersButton, this.t(this.listing ? 'guide.hideChapters' : 'guide.chapters'));
    setAttr(this.chaptersButton, 'aria-expanded', this.listing ? 'true' : 'false');
    setText(this.openButton, this.t('guide.open'));
    setText(this.saveButton, this.t('guide.save'));
    setText(this.backButton, this.t('guide.back'));
    setText(this.finishButton, this.t('guide.finish'));
    this.draw();
  }

  // ----- what the lab tells the player -----

  /** A chapter was loaded into the lab (its step `index` shown, not run yet). */
  loaded(scenario, index = 0) {
    this.scenario = scenario;
    this.errors = null;
    this.listing = false;
    this.show(index);
  }

  /** A file did not load: its problems, each with its line. */
  failed(id, errors) {
    this.errors = { id, errors };
    this.draw();
  }

  setChapters(chapters) {
    this.chapters = chapters;
    this.draw();
  }

  /** What the engine says of the task under way (from each tick). */
  progress(p) {
    if (!this.scenario || !p) return;
    if (p.state === 'idle') {
      // A task the engine was running was dropped (the learner went back in time): the step
      // can be run again. (An idle from before the task began says nothing.)
      if (!this.engineRunning) return;
      this.engineRunning = false;
      if (this.phase === 'running') this.phase = 'ask';
      if (this.trial && this.trial.state === 'running') this.trial = null;
      this.solving = false;
      this.draw();
      return;
    }
    this.engineRunning = p.state === 'running';
    if ((p.state === 'done' || p.state === 'failed') && (p.report ? p.report.task : p.task).kind === 'solution') {
      this.solving = false;
      if (p.state === 'failed') this.trialFailure = p.message;
      this.draw();
      return;
    }
    if (p.state === 'running') {
      if (this.phase !== 'running' && p.task.kind === 'step' && p.task.step === this.index) this.phase = 'running';
      if (p.task.kind === 'trial') this.trial = { state: 'running' };
    } else if (p.state === 'done') {
      const task = p.report.task;
      if (task.kind === 'step' && task.step === this.index && this.phase !== 'done') this.stepDone(p.report);
      else if (task.kind === 'trial' && task.step === this.index && (!this.trial || this.trial.state !== 'done')) {
        this.trial = { state: 'done', solved: p.report.solved === true };
        this.ctx.guide.event('lab-checkpoint', { step: this.index + 1, goal: true, passed: this.trial.solved });
        this.ctx.announce(this.t(this.trial.solved ? 'guide.solved' : 'guide.notSolved'));
        if (this.trial.solved) this.remember();
      } else return;
    } else if (p.state === 'failed') {
      if (p.task.kind === 'trial' && this.trial && this.trial.state === 'running') {
        this.trial = null;
        this.trialFailure = p.message;
        this.ctx.announce(this.t('guide.failed', { detail: p.message }));
      } else if (this.phase === 'running') {
        this.phase = 'failed';
        this.failure = p.message;
      } else return;
    } else return;
    this.draw();
  }

  stepDone(report) {
    this.phase = 'done';
    this.report = report;
    const step = this.step();
    const passed = report.checks.every((c) => c.holds);
    this.ctx.guide.event('lab-checkpoint', { step: this.index + 1, checks: report.checks.map((c) => ({ text: c.text, holds: c.holds })), passed });
    if (step.question && report.answer) {
      const correct = this.answerIsRight(step.question, report.answer);
      this.ctx.guide.event('lab-answer', { step: this.index + 1, answer: this.answer, correct });
      this.ctx.announce(this.t(correct ? 'guide.right' : 'guide.wrong'));
    }
    if (!step.challenge) this.remember();
    // The outcome, next to the learner's answer, comes into view.
    queueMicrotask(() => this.outcome.scrollIntoView({ block: 'nearest' }));
  }

  remember() {
    const total = this.scenario.steps.length;
    const complete = this.index === total - 1;
    saveProgress(this.scenario.id, this.index + 1, complete);
    if (complete) this.ctx.guide.event('lab-scenario-complete', {});
  }

  /** True if the learner's answer is what the run gave. */
  answerIsRight(question, result) {
    if (this.answer === null || this.answer === undefined) return false;
    if (question.kind === 'choice') return result.holds[this.answer] === true;
    return result.value !== null && Math.abs(Number(this.answer) - result.value) <= question.tolerance;
  }

  step() {
    return this.scenario.steps[this.index];
  }

  // ----- what the learner does -----

  show(index) {
    this.index = index;
    this.phase = 'ask';
    this.report = null;
    this.failure = null;
    this.answer = null;
    this.trial = null;
    this.trialFailure = null;
    this.solving = false;
    this.draw();
    const step = this.step();
    this.ctx.guide.highlight(this.references(step));
    this.ctx.guide.event('lab-step', { step: index + 1, total: this.scenario.steps.length });
    // The narration is announced, so a screen reader follows the chapter as it goes.
    this.ctx.announce(`${this.t('guide.position', { n: index + 1, total: this.scenario.steps.length })}. ${this.plain(pick(step.text, this.lang))}`);
  }

  run() {
    if (this.phase !== 'ask' && this.phase !== 'failed') return;
    const q = this.step().question;
    if (q && (this.answer === null || this.answer === '')) {
      this.ctx.announce(this.t('guide.answerFirst'));
      this.outcome.replaceChildren(h('p', { text: this.t('guide.answerFirst') }));
      this.outcome.hidden = false;
      return;
    }
    this.failure = null;
    this.phase = 'running';
    this.draw();
    this.ctx.guide.begin(this.index).catch((err) => {
      this.phase = 'failed';
      this.failure = this.ctx.errorText(err);
      this.draw();
    });
  }

  back() {
    if (this.index === 0 && this.phase === 'ask') return;
    const target = this.phase === 'ask' ? this.index - 1 : this.index;
    this.ctx.guide.back(target).then(() => this.show(target), (err) => this.ctx.report(err));
  }

  next() {
    if (this.index + 1 >= this.scenario.steps.length) {
      this.showList(true);
      return;
    }
    this.show(this.index + 1);
  }

  showList(on) {
    this.listing = on;
    if (on) this.ctx.guide.listChapters().catch((err) => this.ctx.report(err));
    this.relabel();
  }

  async openFile(file) {
    const text = await file.text();
    const id = file.name.replace(/\.toml$/i, '') || 'scenario';
    await this.ctx.guide.open(id, text);
  }

  // ----- drawing -----

  draw() {
    const has = Boolean(this.scenario);
    setText(this.heading, has ? this.plain(pick(this.scenario.title, this.lang)) : this.t('guide.heading'));
    setText(this.summary, has ? this.plain(pick(this.scenario.summary, this.lang)) : this.t('guide.intro'));
    this.drawErrors();
    this.drawList();
    this.body.hidden = !has || this.listing;
    if (!has || this.listing) return;
    const step = this.step();
    const total = this.scenario.steps.length;
    setText(this.position, this.t('guide.position', { n: this.index + 1, total }));
    this.text.replaceChildren(...this.paragraphs(pick(step.text, this.lang)));
    this.drawChallenge(step);
    this.drawQuestion(step);
    this.drawOutcome(step);
    this.drawChecks();
    const last = this.index + 1 >= total;
    this.backButton.disabled = this.index === 0 && this.phase === 'ask';
    this.runButton.hidden = this.phase === 'done' || Boolean(step.challenge && this.phase === 'done');
    this.runButton.disabled = this.phase === 'running';
    setText(this.runButton, this.t(this.phase === 'running' ? 'guide.running' : 'guide.run'));
    // A step's actions, or a trial, can be run to their end at once.
    this.finishButton.hidden = this.phase !== 'running' && !(this.trial && this.trial.state === 'running');
    const solved = !step.challenge || (this.trial && this.trial.solved);
    this.nextButton.hidden = this.phase !== 'done';
    this.nextButton.disabled = !solved;
    setText(this.nextButton, this.t(last ? 'guide.end' : 'guide.next'));
  }

  drawErrors() {
    const e = this.errors;
    this.errorsBox.hidden = !e;
    if (!e) return;
    const items = e.errors.map((err) => h('li', { text: `${err.file}${err.line ? `:${err.line}` : ''}: ${err.place}: ${err.message}` }));
    this.errorsBox.replaceChildren(h('p', { text: this.t('guide.badFile', { id: e.id, n: e.errors.length }) }), h('ul', {}, items));
  }

  drawList() {
    this.list.hidden = !(this.listing || !this.scenario);
    if (this.list.hidden) return;
    const done = readProgress();
    this.list.replaceChildren(...this.chapters.map((c) => {
      const p = done[c.id];
      const state = p && p.complete ? 'complete' : p ? 'started' : 'new';
      const b = h('button', { type: 'button', class: 'guide__chapter', 'data-testid': `chapter-${c.id}`, 'data-state': state });
      b.append(h('span', { text: c.title ? this.plain(pick(c.title, this.lang)) : c.id }));
      if (state !== 'new') b.append(h('span', { class: 'guide__done', text: this.t(state === 'complete' ? 'guide.complete' : 'guide.started', { n: p.step }) }));
      b.addEventListener('click', () => this.ctx.guide.openChapter(c.id).catch((err) => this.ctx.report(err)));
      return h('li', {}, b);
    }));
  }

  drawChallenge(step) {
    const c = step.challenge;
    this.challenge.hidden = !c;
    if (!c) return;
    const trialRunning = (this.trial && this.trial.state === 'running') || this.solving;
    const tryButton = h('button', { type: 'button', class: 'button button--primary', 'data-testid': 'guide-trial', text: this.t(trialRunning ? 'guide.trialRunning' : 'guide.trial') });
    tryButton.disabled = this.phase !== 'done' || trialRunning;
    tryButton.addEventListener('click', () => {
      this.trial = { state: 'running' };
      this.trialFailure = null;
      this.draw();
      this.ctx.guide.trial(this.index).catch((err) => this.ctx.report(err));
    });
    const solution = h('button', { type: 'button', class: 'button', 'data-testid': 'guide-solution', text: this.t('guide.solution') });
    solution.disabled = this.phase !== 'done' || trialRunning;
    solution.addEventListener('click', () => {
      this.solving = true;
      this.trialFailure = null;
      this.draw();
      this.ctx.guide.solution(this.index).catch((err) => {
        this.solving = false;
        this.ctx.report(err);
      });
    });
    const verdict = this.trial && this.trial.state === 'done'
      ? h('p', { class: 'guide__verdict', 'data-testid': 'guide-verdict', 'data-solved': String(this.trial.solved), text: this.t(this.trial.solved ? 'guide.solved' : 'guide.notSolved') })
      : null;
    const hint = h('details', { class: 'guide__hint' }, h('summary', { text: this.t('guide.hint') }), ...this.paragraphs(pick(c.hint, this.lang)));
    const failure = this.trialFailure ? h('p', { class: 'guide__failed', text: this.t('guide.failed', { detail: this.trialFailure }) }) : null;
    this.challenge.replaceChildren(...[
      h('h3', { text: this.t('guide.goal') }),
      h('p', { 'data-testid': 'guide-goal' }, ...this.inline(pick(c.goal, this.lang))),
      hint,
      h('div', { class: 'guide__nav' }, tryButton, solution),
      verdict,
      failure,
    ].filter(Boolean));
  }

  drawQuestion(step) {
    const q = step.question;
    this.question.hidden = !q;
    if (!q) return;
    const locked = this.phase !== 'ask';
    const legend = h('legend', {}, ...this.inline(pick(q.text, this.lang)));
    if (q.kind === 'choice') {
      const name = `guide-q-${this.index}`;
      const options = q.choices.map((c, k) => {
        const input = h('input', { type: 'radio', name, value: String(k), 'data-testid': `guide-choice-${k + 1}` });
        input.checked = this.answer === k;
        input.disabled = locked;
        input.addEventListener('change', () => {
          this.answer = k;
        });
        return h('label', { class: 'guide__choice' }, input, h('span', {}, ...this.inline(pick(c.text, this.lang))));
      });
      this.question.replaceChildren(legend, ...options);
    } else {
      const input = h('input', { type: 'number', inputmode: 'numeric', 'data-testid': 'guide-number', 'aria-label': this.t('guide.number') });
      if (this.answer !== null) input.value = String(this.answer);
      input.disabled = locked;
      input.addEventListener('input', () => {
        this.answer = input.value === '' ? null : Number(input.value);
      });
      const unit = q.unit ? h('span', { class: 'guide__unit', text: this.plain(pick(q.unit, this.lang)) }) : null;
      this.question.replaceChildren(legend, h('label', { class: 'guide__number' }, input, unit));
    }
  }

  drawOutcome(step) {
    const parts = [];
    if (this.phase === 'failed') {
      parts.push(h('p', { class: 'guide__failed', text: this.t('guide.failed', { detail: this.failure || '' }) }));
    }
    const q = step.question;
    const r = this.report;
    if (this.phase === 'done' && q && r && r.answer) {
      const right = this.answerIsRight(q, r.answer);
      let theirs;
      let actual;
      if (q.kind === 'choice') {
        theirs = this.plain(pick(q.choices[this.answer].text, this.lang));
        const k = r.answer.holds.indexOf(true);
        actual = k >= 0 ? this.plain(pick(q.choices[k].text, this.lang)) : this.t('guide.noChoice');
      } else {
        const unit = q.unit ? ` ${this.plain(pick(q.unit, this.lang))}` : '';
        theirs = `${this.answer}${unit}`;
        actual = r.answer.value === null ? this.t('guide.noNumber') : `${this.ctx.words.n(r.answer.value)}${unit}`;
      }
      parts.push(
        h('p', { class: 'guide__verdict', 'data-testid': 'guide-verdict', 'data-right': String(right), text: this.t(right ? 'guide.right' : 'guide.wrong') }),
        h('p', { 'data-testid': 'guide-yours', text: this.t('guide.yours', { answer: theirs }) }),
        h('p', { 'data-testid': 'guide-actual', text: this.t('guide.actual', { answer: actual }) }),
        h('div', { class: 'guide__explain' }, ...this.paragraphs(pick(q.explain, this.lang))),
      );
    }
    this.outcome.replaceChildren(...parts);
    this.outcome.hidden = parts.length === 0;
  }

  drawChecks() {
    const r = this.report;
    this.checks.hidden = !r || r.checks.length === 0;
    if (this.checks.hidden) return;
    this.checks.replaceChildren(h('li', { class: 'guide__checks-title', text: this.t('guide.checks') }), ...r.checks.map((c) => h('li', { 'data-holds': String(c.holds) },
      h('span', { class: 'guide__mark', 'aria-hidden': 'true', text: c.holds ? '✓' : '✗' }),
      h('span', { class: 'visually-hidden', text: this.t(c.holds ? 'guide.holds' : 'guide.fails') }),
      ' ', h('code', { text: c.text }))));
  }

  /** Narration pieces as paragraphs. */
  paragraphs(pieces) {
    const out = [];
    let p = h('p');
    for (const piece of pieces || []) {
      if (piece.t === 'para') {
        out.push(p);
        p = h('p');
      } else p.append(this.piece(piece));
    }
    out.push(p);
    return out;
  }

  inline(pieces) {
    return (pieces || []).filter((p) => p.t !== 'para').map((p) => this.piece(p));
  }

  /** A node's name as the lab shows it (A, B, ... before the first frame names them). */
  nodeName(i) {
    return this.ctx.names().node.get(i) ?? String.fromCharCode(65 + i);
  }

  piece(p) {
    switch (p.t) {
      case 'em': return h('em', { text: p.s });
      case 'code': return h('code', { text: p.s });
      case 'node': {
        const b = h('button', { type: 'button', class: 'guide__ref', 'data-node': String(p.node), text: this.nodeName(p.node) });
        b.addEventListener('click', () => this.ctx.guide.focusNode(p.node));
        return b;
      }
      case 'field': {
        const b = h('button', { type: 'button', class: 'guide__ref guide__ref--field', 'data-field': p.field }, h('code', { text: `${this.nodeName(p.node)}.${p.field}` }));
        b.addEventListener('click', () => this.ctx.guide.focusField(p.node, p.field));
        return b;
      }
      case 'view': {
        const b = h('button', { type: 'button', class: 'guide__ref', 'data-view': p.view, text: this.t(`tabs.${p.view}`) });
        b.addEventListener('click', () => this.ctx.guide.openView(p.view));
        return b;
      }
      default: return document.createTextNode(p.s ?? '');
    }
  }

  /** Narration as plain text (for announcements and answers). */
  plain(pieces) {
    return (pieces || []).map((p) => {
      if (p.t === 'para') return ' ';
      if (p.t === 'node') return this.nodeName(p.node);
      if (p.t === 'field') return `${this.nodeName(p.node)}.${p.field}`;
      if (p.t === 'view') return this.t(`tabs.${p.view}`);
      return p.s;
    }).join('');
  }

  /** The nodes and fields a step's narration names: highlighted on the stage and inspector. */
  references(step) {
    const nodes = new Set();
    const fields = [];
    for (const piece of Object.values(step.text).flat()) {
      if (piece.t === 'node') nodes.add(piece.node);
      if (piece.t === 'field') {
        nodes.add(piece.node);
        fields.push({ node: piece.node, field: piece.field });
      }
    }
    return { nodes: [...nodes], fields };
  }
}
