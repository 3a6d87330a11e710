// Per node "Export dump.rdb" / "Import dump.rdb…" controls, shown in the node's console: the
// export downloads the engine's RDB file through a Blob and an object URL (revoked afterwards);
// the import takes a file from a picker, or one dropped on the node's box or console. A refused
// file shows the engine's reason next to the controls (role=alert), not in the fatal banner.
// Built with createElement and textContent; every string comes from t().

import { t } from './i18n.js';

/** Largest file the page hands to the engine (it is also kept, hex-encoded, in the action log). */
export const MAX_RDB_BYTES = 8 * 1024 * 1024;
/** How long (wall-clock ms) a success message stays. */
const STATUS_MS = 6000;
/** How long (wall-clock ms) the object URL of an export lives after the click. */
const REVOKE_MS = 10_000;

/** A file name safe on every system: dump-<name>.rdb with odd characters replaced. */
export function dumpFileName(name) {
  const safe = String(name ?? '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '') || 'node';
  return `dump-${safe}.rdb`;
}

/** Downloads bytes as a file: Blob, object URL, a temporary <a download>, URL revoked later. */
export function downloadBytes(bytes, fileName) {
  const blob = new Blob([bytes], { type: 'application/octet-stream' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.hidden = true;
  document.body.appendChild(a);
  try {
    a.click();
  } finally {
    a.remove();
    // Chromium reads the blob after the click returns: revoke once the download has it.
    setTimeout(() => URL.revokeObjectURL(url), REVOKE_MS);
  }
}

/** True when a drag carries files (not text or a link). */
export function hasFiles(e) {
  const dt = e.dataTransfer;
  if (!dt) return false;
  return Array.from(dt.types || []).includes('Files');
}

export class RdbControls {
  /**
   * @param {object} opts
   * @param {number} opts.index node index
   * @param {(index: number) => ({bytes: number, fileName: string} | null)} opts.onExport
   * @param {(index: number, bytes: Uint8Array) => ({ok: true} | {ok: false, message: string} | null)} opts.onImport
   */
  constructor({ index, onExport, onImport }) {
    this.index = index;
    this.onExport = onExport;
    this.onImport = onImport;
    this.info = { name: `node${index}`, up: true };
    this.message = null; // {kind: 'ok' | 'error', key, params}
    this.timer = 0;
    this.busy = false;

    this.root = document.createElement('div');
    this.root.className = 'rdb';
    this.root.setAttribute('role', 'group');
    this.root.dataset.testid = `rdb-${index}`;

    const row = document.createElement('div');
    row.className = 'rdb__row';

    this.exportButton = document.createElement('button');
    this.exportButton.type = 'button';
    this.exportButton.className = 'button button--small';
    this.exportButton.dataset.testid = `rdb-export-${index}`;
    this.exportButton.addEventListener('click', () => this.doExport());

    this.importButton = document.createElement('button');
    this.importButton.type = 'button';
    this.importButton.className = 'button button--small';
    this.importButton.dataset.testid = `rdb-import-${index}`;
    this.importButton.addEventListener('click', () => this.input.click());

    // The picker itself stays out of sight: the Import button opens it.
    this.input = document.createElement('input');
    this.input.type = 'file';
    this.input.accept = '.rdb,application/octet-stream';
    this.input.hidden = true;
    this.input.tabIndex = -1;
    this.input.id = `rdb-file-${index}`;
    this.input.dataset.testid = `rdb-file-${index}`;
    this.input.addEventListener('change', () => {
      const file = this.input.files && this.input.files[0];
      // Clear it, so picking the same file again fires "change" again.
      this.input.value = '';
      if (file) this.importFile(file);
    });

    this.hint = document.createElement('span');
    this.hint.className = 'rdb__hint';
    this.hint.id = `rdb-hint-${index}`;
    this.importButton.setAttribute('aria-describedby', this.hint.id);

    row.append(this.exportButton, this.importButton, this.input, this.hint);

    this.status = document.createElement('p');
    this.status.className = 'rdb__status';
    this.status.setAttribute('role', 'status');
    this.status.dataset.testid = `rdb-status-${index}`;

    this.alert = document.createElement('p');
    this.alert.className = 'rdb__error';
    this.alert.setAttribute('role', 'alert');
    this.alert.dataset.testid = `rdb-error-${index}`;
    this.alert.hidden = true;

    this.root.append(row, this.status, this.alert);
    this.relabel();
  }

  /** Updates the node's name and whether it is up (a crashed node has no dataset to export). */
  setInfo({ name, up = true }) {
    if (name === this.info.name && up === this.info.up) return;
    this.info = { name, up };
    this.relabel();
  }

  relabel() {
    const { name, up } = this.info;
    this.root.setAttribute('aria-label', t('rdb.group', { name }));
    this.exportButton.textContent = t('rdb.export');
    this.exportButton.setAttribute('aria-label', t('rdb.exportLabel', { name, file: dumpFileName(name) }));
    this.exportButton.disabled = !up;
    this.exportButton.title = up ? '' : t('rdb.exportDown', { name });
    this.importButton.textContent = t('rdb.import');
    this.importButton.setAttribute('aria-label', t('rdb.importLabel', { name }));
    this.input.setAttribute('aria-label', t('rdb.importLabel', { name }));
    this.hint.textContent = t('rdb.dropHint');
    this.showMessage();
  }

  doExport() {
    const result = this.onExport(this.index);
    if (result) this.setMessage('ok', 'rdb.exported', { file: result.fileName, bytes: result.bytes });
  }

  /** Reads a File (picked or dropped) and hands its bytes to the engine. */
  async importFile(file) {
    if (this.busy) return;
    const fileName = file.name || 'dump.rdb';
    if (file.size > MAX_RDB_BYTES) {
      this.setMessage('error', 'rdb.tooLarge', { file: fileName, bytes: file.size, max: MAX_RDB_BYTES });
      return;
    }
    this.busy = true;
    let bytes;
    try {
      bytes = new Uint8Array(await file.arrayBuffer());
    } catch (err) {
      this.setMessage('error', 'rdb.readFailed', { file: fileName, message: err && err.message ? err.message : String(err) });
      return;
    } finally {
      this.busy = false;
    }
    const result = this.onImport(this.index, bytes);
    if (!result) return; // the engine broke: the fatal banner says why
    const name = this.info.name;
    if (result.ok) this.setMessage('ok', 'rdb.loaded', { bytes: bytes.length, name });
    else this.setMessage('error', 'rdb.failed', { file: fileName, name, message: result.message });
  }

  /** Handles a drop on the node's box or console: the first file, or a message if none. */
  drop(dataTransfer) {
    const files = dataTransfer && dataTransfer.files ? Array.from(dataTransfer.files) : [];
    if (files.length === 0) {
      this.setMessage('error', 'rdb.noFile', {});
      return;
    }
    this.importFile(files[0]);
  }

  setMessage(kind, key, params) {
    clearTimeout(this.timer);
    this.timer = 0;
    this.message = { kind, key, params };
    this.showMessage();
    if (kind === 'ok') {
      this.timer = setTimeout(() => {
        this.timer = 0;
        this.message = null;
        this.showMessage();
      }, STATUS_MS);
    }
  }

  showMessage() {
    const m = this.message;
    const text = m ? t(m.key, m.params) : '';
    const ok = m && m.kind === 'ok' ? text : '';
    const error = m && m.kind === 'error' ? text : '';
    if (this.status.textContent !== ok) this.status.textContent = ok;
    if (this.alert.textContent !== error) this.alert.textContent = error;
    this.alert.hidden = error === '';
  }
}

/**
 * Makes el accept dropped files: highlights it while a file is dragged over it and calls
 * onDrop(dataTransfer, event) on a drop. target(e) picks which element is hit (null: none);
 * by default el itself.
 */
export function makeDropTarget(el, onDrop, target = () => el) {
  let current = null;
  const set = (node) => {
    if (current === node) return;
    if (current) current.classList.remove('is-drop-target');
    current = node;
    if (current) current.classList.add('is-drop-target');
  };
  el.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    const hit = target(e);
    if (!hit) {
      set(null);
      return;
    }
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    set(hit);
  });
  el.addEventListener('dragleave', (e) => {
    if (!e.relatedTarget || !el.contains(e.relatedTarget)) set(null);
  });
  el.addEventListener('drop', (e) => {
    const hit = target(e);
    set(null);
    if (!hit) return;
    e.preventDefault();
    e.stopPropagation();
    onDrop(e.dataTransfer, hit, e);
  });
}
