// The consoles: one redis-cli-like console per node, one shown at a time behind a tab per node.
// A console prints what was typed after the prompt redis-cli would show, then the reply as
// redis-cli prints it (the engine formats replies; this only puts lines on the screen). Lines
// typed by the lab for a UI action (REPLICAOF from a menu or a drag) are printed the same way,
// so the learner sees what Redis was told.

import { h, setText, setAttr, reconcile } from '../dom.js';

const MAX_LINES = 500;
const MAX_HISTORY = 200;

class NodeConsole {
  constructor(ctx, index) {
    this.ctx = ctx;
    this.index = index;
    this.info = { name: '', addr: '', up: true };
    this.history = [];
    this.historyPos = 0;
    this.draft = '';
    this.busy = Promise.resolve();
    this.root = h('section', { class: 'console', 'data-testid': `console-${index}`, role: 'tabpanel' });
    this.output = h('div', {
      class: 'console__output', role: 'log', 'aria-live': 'polite', tabindex: '0',
      'data-testid': `console-output-${index}`,
    });
    this.prompt = h('span', { class: 'console__prompt', 'aria-hidden': 'true' });
    this.input = h('input', {
      type: 'text', class: 'console__input', 'data-testid': `console-input-${index}`,
      autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', autocorrect: 'off',
    });
    const form = h('form', { class: 'console__form', novalidate: true }, this.prompt, this.input);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (e) => this.onKey(e));
    this.root.append(this.output, form);
  }

  setInfo({ name, addr, up }) {
    const i = this.info;
    if (name === i.name && addr === i.addr && up === i.up) return;
    this.info = { name, addr, up };
    this.relabel();
  }

  /** The prompt redis-cli would show (`not connected>` while the server is down). */
  promptText() {
    return this.info.up ? `${this.info.addr}>` : 'not connected>';
  }

  relabel() {
    const t = this.ctx.words.t.bind(this.ctx.words);
    const { name, addr } = this.info;
    setText(this.prompt, this.promptText());
    setAttr(this.input, 'aria-label', t('console.inputLabel', { name, addr }));
    setAttr(this.input, 'placeholder', t('console.placeholder'));
    setAttr(this.output, 'aria-label', t('console.outputLabel', { name }));
  }

  onKey(e) {
    if (e.key === 'ArrowUp') {
      if (this.historyPos === 0) return;
      e.preventDefault();
      if (this.historyPos === this.history.length) this.draft = this.input.value;
      this.historyPos -= 1;
      this.setInput(this.history[this.historyPos]);
    } else if (e.key === 'ArrowDown') {
      if (this.historyPos >= this.history.length) return;
      e.preventDefault();
      this.historyPos += 1;
      this.setInput(this.historyPos === this.history.length ? this.draft : this.history[this.historyPos]);
    }
  }

  setInput(value) {
    this.input.value = value;
    this.input.setSelectionRange(value.length, value.length);
  }

  submit() {
    const line = this.input.value;
    this.input.value = '';
    this.draft = '';
    if (line.trim() === '') {
      this.historyPos = this.history.length;
      return Promise.resolve(undefined);
    }
    return this.run(line);
  }

  /** Prints `line` after the prompt, runs it, prints the reply; resolves to the reply. */
  run(line, note) {
    if (this.history[this.history.length - 1] !== line) {
      this.history.push(line);
      if (this.history.length > MAX_HISTORY) this.history.shift();
    }
    this.historyPos = this.history.length;
    // Lines run one after another, as typed into one redis-cli.
    const done = this.busy.then(async () => {
      this.print(`${this.promptText()} ${line}`, 'cmd');
      if (note) this.print(note, 'note');
      let reply;
      try {
        reply = await this.ctx.exec(this.index, line);
      } catch (err) {
        this.print(this.ctx.errorText(err), 'error');
        return undefined;
      }
      // "" means the reply has not come yet (a paused server): it arrives as a late reply.
      if (typeof reply === 'string' && reply !== '') this.printReply(reply);
      // The reply first, then what the command set off (notes, the stage redrawn).
      await this.ctx.refresh();
      return reply;
    });
    this.busy = done.catch(() => {});
    return done;
  }

  printReply(reply, extra = '') {
    const error = reply.startsWith('(error)') || reply.startsWith('Could not connect to Redis');
    for (const l of reply.split('\n')) this.print(l, error ? 'error' : 'reply', extra);
  }

  /** A line from the lab about what happened (its words, not Redis's). */
  note(text) {
    this.print(text, 'note');
  }

  print(text, kind, extra = '') {
    const near = this.output.scrollHeight - this.output.scrollTop - this.output.clientHeight < 40;
    const cls = `console__line console__line--${kind}${extra ? ` console__line--${extra}` : ''}`;
    this.output.append(h('div', { class: cls, text }));
    while (this.output.childElementCount > MAX_LINES) this.output.firstElementChild.remove();
    if (near) this.output.scrollTop = this.output.scrollHeight;
  }

  /** A separator: the lines above belong to another moment of the run. */
  mark(text) {
    const last = this.output.lastElementChild;
    if (last && last.classList.contains('console__line--seek')) last.textContent = text;
    else this.print(text, 'seek');
  }

  /** Text of the output, one printed line per line (for tests and copying). */
  text() {
    return Array.from(this.output.children, (c) => c.textContent).join('\n');
  }
}

export class Consoles {
  constructor(ctx) {
    this.ctx = ctx;
    this.consoles = new Map(); // node index -> NodeConsole
    this.active = null;
    this.root = h('div', { class: 'consoles', 'data-testid': 'consoles' });
    this.tabs = h('div', { class: 'tabs consoles__tabs', role: 'tablist' });
    this.panels = h('div', { class: 'consoles__panels' });
    this.root.append(this.tabs, this.panels);
    this.tabs.addEventListener('keydown', (e) => this.tabKey(e));
  }

  relabel() {
    setAttr(this.tabs, 'aria-label', this.ctx.words.t('console.tabs'));
    for (const c of this.consoles.values()) c.relabel();
  }

  /** Keeps one console per node of the frame (a removed node's console goes with it). */
  update(frame) {
    for (const n of frame.nodes) {
      if (!this.consoles.has(n.index)) {
        const c = new NodeConsole(this.ctx, n.index);
        this.consoles.set(n.index, c);
        this.panels.append(c.root);
        c.relabel();
      }
      this.consoles.get(n.index).setInfo({ name: n.name, addr: `${n.host}:${n.port}`, up: n.up });
    }
    for (const [i, c] of this.consoles) {
      if (!frame.nodes.some((n) => n.index === i)) {
        c.root.remove();
        this.consoles.delete(i);
      }
    }
    reconcile(this.tabs, frame.nodes, (n) => n.index, (n) => {
      const b = h('button', { type: 'button', role: 'tab', class: 'tab', 'data-testid': `console-tab-${n.index}` });
      b.addEventListener('click', () => this.show(n.index, true));
      return b;
    }, (b, n) => {
      setText(b, n.name);
      setAttr(b, 'aria-label', this.ctx.words.t('console.tab', { name: n.name, addr: `${n.host}:${n.port}` }));
      setAttr(b, 'aria-controls', null);
    });
    if (this.active === null || !this.consoles.has(this.active)) {
      const first = frame.nodes[0];
      if (first) this.show(first.index);
    } else {
      this.show(this.active);
    }
  }

  get(index) {
    return this.consoles.get(index);
  }

  /** Shows node `index`'s console (and focuses its input when asked). */
  show(index, focus = false) {
    const c = this.consoles.get(index);
    if (!c) return;
    this.active = index;
    for (const [i, other] of this.consoles) other.root.hidden = i !== index;
    for (const tab of this.tabs.children) {
      const selected = tab.dataset.key === String(index);
      setAttr(tab, 'aria-selected', selected ? 'true' : 'false');
      setAttr(tab, 'tabindex', selected ? '0' : '-1');
    }
    if (focus) c.input.focus();
  }

  tabKey(e) {
    const tabs = Array.from(this.tabs.children);
    const at = tabs.findIndex((t) => t.dataset.key === String(this.active));
    let next = -1;
    if (e.key === 'ArrowRight') next = (at + 1) % tabs.length;
    else if (e.key === 'ArrowLeft') next = (at - 1 + tabs.length) % tabs.length;
    if (next < 0) return;
    e.preventDefault();
    this.show(Number(tabs[next].dataset.key));
    tabs[next].focus();
  }

  /** Types `line` into node `index`'s console as the learner would, shows it, runs it. */
  type(index, line, note) {
    const c = this.consoles.get(index);
    if (!c) return Promise.resolve(undefined);
    this.show(index);
    return c.run(line, note);
  }

  markAll(text) {
    for (const c of this.consoles.values()) c.mark(text);
  }

  /** Forgets every console (another lab replaced this one's; new ones come with its nodes). */
  clear() {
    for (const c of this.consoles.values()) c.root.remove();
    this.consoles.clear();
    this.tabs.replaceChildren();
    this.active = null;
  }
}
