// A redis-cli like console for one node: an output log, an input line, and a history that the
// up and down arrows browse. Replies are printed line by line with textContent.

import { t } from './i18n.js';

const MAX_LINES = 500;
const MAX_HISTORY = 200;

export class NodeConsole {
  /**
   * @param {object} opts
   * @param {number} opts.index node index
   * @param {(index: number, line: string) => (string|undefined)} opts.onCommand runs a line, returns the reply
   */
  constructor({ index, onCommand }) {
    this.index = index;
    this.onCommand = onCommand;
    this.info = { name: `node${index}`, addr: `127.0.0.1:${6379 + index}`, role: 'master', up: true };
    this.history = [];
    this.historyPos = 0;
    this.draft = '';

    this.root = document.createElement('section');
    this.root.className = 'console';
    this.root.dataset.testid = `console-${index}`;

    this.heading = document.createElement('h3');
    this.heading.className = 'console__heading';
    this.heading.id = `console-heading-${index}`;
    this.root.setAttribute('aria-labelledby', this.heading.id);

    this.output = document.createElement('div');
    this.output.className = 'console__output';
    this.output.dataset.testid = `console-output-${index}`;
    this.output.setAttribute('role', 'log');
    this.output.setAttribute('aria-live', 'polite');
    this.output.tabIndex = 0;

    const form = document.createElement('form');
    form.className = 'console__form';
    form.noValidate = true;
    this.prompt = document.createElement('span');
    this.prompt.className = 'console__prompt';
    this.prompt.setAttribute('aria-hidden', 'true');
    this.input = document.createElement('input');
    this.input.type = 'text';
    this.input.className = 'console__input';
    this.input.id = `console-input-${index}`;
    this.input.dataset.testid = `console-input-${index}`;
    this.input.autocomplete = 'off';
    this.input.spellcheck = false;
    this.input.setAttribute('autocapitalize', 'off');
    this.input.setAttribute('autocorrect', 'off');
    this.hint = document.createElement('span');
    this.hint.className = 'visually-hidden';
    this.hint.id = `console-hint-${index}`;
    this.input.setAttribute('aria-describedby', this.hint.id);
    form.append(this.prompt, this.input, this.hint);

    this.root.append(this.heading, this.output, form);

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (e) => this.onKey(e));
    this.relabel();
  }

  /**
   * Updates name, address, role and whether the server is up (a crashed server's prompt reads
   * "not connected>", as redis-cli's does).
   */
  setInfo({ name, addr, role, up = true }) {
    const i = this.info;
    if (name === i.name && addr === i.addr && role === i.role && up === i.up) return;
    this.info = { name, addr, role, up };
    this.relabel();
  }

  /** The prompt redis-cli would show. */
  promptText() {
    return this.info.up ? `${this.info.addr}>` : t('console.notConnected');
  }

  relabel() {
    const { name, addr, role } = this.info;
    this.heading.textContent = t('console.heading', { name, addr, role });
    this.prompt.textContent = this.promptText();
    this.input.setAttribute('aria-label', t('console.inputLabel', { name, addr }));
    this.input.placeholder = t('console.placeholder');
    this.output.setAttribute('aria-label', t('console.outputLabel', { name }));
    this.hint.textContent = t('console.hint');
  }

  onKey(e) {
    if (e.key === 'Enter') {
      // Enter submits through the form; handle here too so synthetic key events work alike.
      e.preventDefault();
      this.submit();
    } else if (e.key === 'ArrowUp') {
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
    const end = value.length;
    this.input.setSelectionRange(end, end);
  }

  submit() {
    const line = this.input.value;
    this.input.value = '';
    this.draft = '';
    if (line.trim() === '') {
      this.historyPos = this.history.length;
      return;
    }
    if (this.history[this.history.length - 1] !== line) {
      this.history.push(line);
      if (this.history.length > MAX_HISTORY) this.history.shift();
    }
    this.historyPos = this.history.length;
    this.print(`${this.promptText()} ${line}`, 'console__line--cmd');
    const reply = this.onCommand(this.index, line);
    // "" means the reply has not arrived yet (the server is paused): it comes as a late reply.
    if (typeof reply === 'string' && reply !== '') this.printReply(reply);
  }

  /** Prints a reply that arrived after its command returned; no new prompt line. */
  printLateReply(reply) {
    if (typeof reply !== 'string' || reply === '') return;
    this.printReply(reply, 'console__line--late');
  }

  printReply(reply, extra = '') {
    const isError = reply.startsWith('(error)') || reply.startsWith('Could not connect to Redis');
    const lines = reply.split('\n');
    const cls = isError ? 'console__line--error' : 'console__line--reply';
    for (const l of lines) this.print(l, extra ? `${cls} ${extra}` : cls);
  }

  print(text, cls) {
    const near = this.output.scrollHeight - this.output.scrollTop - this.output.clientHeight < 40;
    const div = document.createElement('div');
    div.className = `console__line ${cls}`;
    div.textContent = text;
    this.output.appendChild(div);
    while (this.output.childElementCount > MAX_LINES) this.output.firstElementChild.remove();
    if (near) this.output.scrollTop = this.output.scrollHeight;
  }

  /**
   * Marks a jump in virtual time: prints a separator line (the lines above it belong to another
   * moment) and forgets the cached name, role and state, so the next setInfo redraws them.
   */
  markSeek(text) {
    // Dragging the slider seeks many times: consecutive jumps share one line.
    const last = this.output.lastElementChild;
    if (last && last.classList.contains('console__line--seek')) last.textContent = text;
    else this.print(text, 'console__line--seek');
    this.info = { ...this.info, role: null, up: null };
  }

  /** Text of the output, one line per printed line (for tests and copy). */
  text() {
    return Array.from(this.output.children, (c) => c.textContent).join('\n');
  }
}
