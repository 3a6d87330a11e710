// One popover per lab for node and link menus: a list of actions (role=menu) or a small form.
// Opens next to the element it belongs to, keeps focus inside while open, closes on Escape, on
// a click outside and after an action, and gives focus back to the element that opened it.

import { h } from '../dom.js';

export class Popover {
  /** @param {HTMLElement} host the element the popover is positioned in (position: relative) */
  constructor(host) {
    this.host = host;
    this.root = h('div', { class: 'popover', hidden: true, 'data-testid': 'popover' });
    this.anchor = null;
    this.onKey = (e) => this.key(e);
    this.onOutside = (e) => {
      if (!this.root.hidden && !e.composedPath().includes(this.root) && !e.composedPath().includes(this.anchor)) this.close();
    };
    host.append(this.root);
  }

  get isOpen() {
    return !this.root.hidden;
  }

  /**
   * Opens a menu of actions next to `anchor`. Items: {label, run, disabled, testid, heading}.
   * A `heading` item is a group label, not an action.
   */
  menu(anchor, label, items) {
    const list = h('div', { role: 'menu', 'aria-label': label, class: 'menu' });
    for (const item of items) {
      if (item.heading) {
        list.append(h('div', { class: 'menu__heading', role: 'presentation', text: item.heading }));
        continue;
      }
      const b = h('button', {
        type: 'button',
        role: 'menuitem',
        class: 'menu__item',
        text: item.label,
        disabled: Boolean(item.disabled),
        'data-testid': item.testid,
        tabindex: '-1',
      });
      b.addEventListener('click', () => {
        this.close();
        item.run();
      });
      list.append(b);
    }
    this.show(anchor, list);
    const first = list.querySelector('[role="menuitem"]:not([disabled])');
    if (first) first.focus();
  }

  /** Opens arbitrary content (a form) next to `anchor`; focuses its first field. */
  form(anchor, content) {
    this.show(anchor, content);
    const first = content.querySelector('input, select, button');
    if (first) first.focus();
  }

  show(anchor, content) {
    this.close(false);
    this.anchor = anchor;
    this.root.replaceChildren(content);
    this.root.hidden = false;
    this.place();
    this.root.addEventListener('keydown', this.onKey);
    this.host.getRootNode().addEventListener('pointerdown', this.onOutside, true);
  }

  /** Puts the popover below the anchor, kept inside the host. */
  place() {
    const host = this.host.getBoundingClientRect();
    const a = this.anchor.getBoundingClientRect();
    const pop = this.root.getBoundingClientRect();
    let left = a.left - host.left;
    let top = a.bottom - host.top + 4;
    left = Math.max(4, Math.min(left, host.width - pop.width - 4));
    if (top + pop.height > host.height && a.top - host.top - pop.height - 4 > 0) top = a.top - host.top - pop.height - 4;
    this.root.style.left = `${Math.round(left)}px`;
    this.root.style.top = `${Math.round(top)}px`;
  }

  close(restoreFocus = true) {
    if (this.root.hidden) return;
    this.root.hidden = true;
    this.root.replaceChildren();
    this.root.removeEventListener('keydown', this.onKey);
    this.host.getRootNode().removeEventListener('pointerdown', this.onOutside, true);
    const anchor = this.anchor;
    this.anchor = null;
    if (restoreFocus && anchor && anchor.isConnected) anchor.focus();
  }

  key(e) {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      this.close();
      return;
    }
    const items = Array.from(this.root.querySelectorAll('[role="menuitem"]:not([disabled])'));
    if (items.length === 0) return;
    const at = items.indexOf(this.root.getRootNode().activeElement);
    let next = -1;
    if (e.key === 'ArrowDown') next = (at + 1) % items.length;
    else if (e.key === 'ArrowUp') next = (at - 1 + items.length) % items.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = items.length - 1;
    else if (e.key === 'Tab') {
      e.preventDefault();
      next = (at + (e.shiftKey ? -1 : 1) + items.length) % items.length;
    }
    if (next >= 0) {
      e.preventDefault();
      items[next].focus();
    }
  }
}
