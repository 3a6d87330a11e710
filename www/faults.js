// The "Faults" control group: per node a Crash / Restart toggle and a Pause button, and for the
// link a Cut button and a Partition / Heal toggle. It only calls back into main.js; the engine
// decides what each fault does. Built with createElement and textContent.

import { t } from './i18n.js';

/** Virtual milliseconds a node stays stopped after "Pause". */
export const PAUSE_MS = 5000;

function button(testid, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'button button--fault';
  b.dataset.testid = testid;
  b.addEventListener('click', onClick);
  return b;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export class FaultControls {
  /**
   * @param {HTMLElement} container the (initially empty) element that receives the controls
   * @param {object} actions callbacks: toggleCrash(i), pause(i), cut(), togglePartition()
   */
  constructor(container, actions) {
    this.container = container;
    this.actions = actions;
    this.nodes = []; // per node: {group, heading, crash, pause}
    this.status = { nodes: [], partitioned: false, linkName: '' };

    this.nodeList = document.createElement('div');
    this.nodeList.className = 'faults__groups';

    this.linkGroup = document.createElement('div');
    this.linkGroup.className = 'faults__group';
    this.linkGroup.setAttribute('role', 'group');
    this.linkHeading = document.createElement('span');
    this.linkHeading.className = 'faults__group-title';
    this.linkHeading.id = 'faults-link-title';
    this.linkGroup.setAttribute('aria-labelledby', this.linkHeading.id);
    this.cut = button('fault-cut', () => this.actions.cut());
    this.partition = button('fault-partition', () => this.actions.togglePartition());
    this.linkGroup.append(this.linkHeading, this.cut, this.partition);
    this.nodeList.appendChild(this.linkGroup);

    // Announces each fault to screen readers (the button labels change silently otherwise).
    this.announcer = document.createElement('p');
    this.announcer.className = 'visually-hidden';
    this.announcer.setAttribute('role', 'status');
    this.announcer.dataset.testid = 'fault-status';

    container.append(this.nodeList, this.announcer);
  }

  ensureNode(i) {
    while (this.nodes.length <= i) {
      const idx = this.nodes.length;
      const group = document.createElement('div');
      group.className = 'faults__group';
      group.setAttribute('role', 'group');
      group.dataset.testid = `fault-node-${idx}`;
      const heading = document.createElement('span');
      heading.className = 'faults__group-title';
      heading.id = `faults-node-title-${idx}`;
      group.setAttribute('aria-labelledby', heading.id);
      const crash = button(`fault-crash-${idx}`, () => this.actions.toggleCrash(idx));
      const pause = button(`fault-pause-${idx}`, () => this.actions.pause(idx));
      group.append(heading, crash, pause);
      this.nodeList.insertBefore(group, this.linkGroup);
      this.nodes.push({ group, heading, crash, pause });
    }
    return this.nodes[i];
  }

  /**
   * Shows the current state. status = {nodes: [{name, addr, up, paused}], partitioned, linkName}.
   */
  update(status) {
    this.status = status;
    status.nodes.forEach((s, i) => {
      const n = this.ensureNode(i);
      setText(n.heading, t('faults.nodeGroup', { name: s.name, addr: s.addr }));
      setText(n.crash, t(s.up ? 'faults.crash' : 'faults.restart', { name: s.name }));
      n.crash.dataset.state = s.up ? 'up' : 'down';
      n.crash.classList.toggle('button--danger', s.up);
      setText(n.pause, t(s.paused ? 'faults.paused' : 'faults.pause', { name: s.name, seconds: PAUSE_MS / 1000 }));
      n.pause.disabled = !s.up || s.paused;
      n.pause.dataset.state = s.paused ? 'paused' : 'running';
    });
    for (let i = status.nodes.length; i < this.nodes.length; i++) this.nodes[i].group.remove();
    this.nodes.length = Math.min(this.nodes.length, status.nodes.length);

    setText(this.linkHeading, t('faults.linkGroup', { link: status.linkName }));
    setText(this.cut, t('faults.cut'));
    setText(this.partition, t(status.partitioned ? 'faults.heal' : 'faults.partition'));
    this.partition.dataset.state = status.partitioned ? 'partitioned' : 'healed';
    this.partition.classList.toggle('button--danger', !status.partitioned);
    const single = status.nodes.length < 2;
    this.cut.disabled = single;
    this.partition.disabled = single;
  }

  /** Re-reads every translated string. */
  relabel() {
    this.update(this.status);
    this.announcer.textContent = '';
  }

  /** Tells assistive technology what just happened (a translated sentence). */
  announce(text) {
    this.announcer.textContent = text;
  }
}
