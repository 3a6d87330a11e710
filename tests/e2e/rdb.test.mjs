// End-to-end test of dump.rdb export and import: export the master's dataset (a real RDB 10
// file with its CRC64), load it into node A of a fresh lab through the file picker and watch the
// replica resync, refuse a garbage file with the engine's reason (and change nothing), and load
// files dropped on a node's console and on its box in the view.
// Run: node --test tests/e2e/   (needs the wasm package built into www/pkg/)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  OUT_DIR, loadPage, loadUrl, openPage, command, waitFor, setPlaying, waitForReplicaValue, assertNoErrors, labForFile,
} from './helpers.mjs';

const SCREENSHOT = path.join(OUT_DIR, 'rdb.png');
const DUMP = path.join(OUT_DIR, 'rdb-export.rdb');
const GARBAGE = Buffer.from('this is not a Redis dump file, just some text\n');

let lab;
let page; // the first page: exports
let fresh; // a second page with a fresh lab: imports
let dump; // the exported bytes

labForFile((l) => {
  lab = l;
  page = l.page;
});

/** CRC-64/Jones as Redis computes it (reflected, init 0, no final xor). */
function crc64(bytes) {
  const POLY = 0x95ac9329ac4bc9b5n;
  let crc = 0n;
  for (const b of bytes) {
    crc ^= BigInt(b);
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ POLY : crc >> 1n;
  }
  return crc;
}

async function linkUp(p) {
  await waitFor(async () => (await p.getByTestId('node-1-link').textContent()).includes('up'),
    { timeout: 60_000, what: 'the replica link to be up' });
}

/** Texts of the event log entries, each as "kind text". */
function eventTexts(p) {
  return p.evaluate(() => Array.from(
    document.querySelectorAll('[data-testid="event-log"] .event'),
    (li) => `${li.querySelector('.event__kind').dataset.kind} ${li.querySelector('.event__text').textContent}`,
  ));
}

/** A DataTransfer holding one file, built in the page. */
function dataTransfer(p, bytes, name) {
  return p.evaluateHandle(([data, fileName]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(data)], fileName, { type: 'application/octet-stream' }));
    return dt;
  }, [Array.from(bytes), name]);
}

test('Export downloads the master\'s dataset as a real dump.rdb', async () => {
  await loadPage(lab);
  await page.getByTestId('speed').selectOption('16');
  await setPlaying(page, true);
  await linkUp(page);
  assert.deepEqual(await command(page, 0, 'SET k v'), ['OK']);
  await waitForReplicaValue(page, 1, 'k', '"v"');

  const name0 = await page.getByTestId('node-0-name').textContent();
  const exportButton = page.getByTestId('rdb-export-0');
  assert.equal(await exportButton.textContent(), 'Export dump.rdb');
  assert.equal(await page.getByTestId('rdb-import-0').textContent(), 'Import dump.rdb…');
  assert.equal(await page.getByTestId('rdb-file-0').getAttribute('accept'), '.rdb,application/octet-stream');

  const [download] = await Promise.all([page.waitForEvent('download'), exportButton.click()]);
  assert.equal(download.suggestedFilename(), `dump-${name0}.rdb`);
  assert.equal(await download.failure(), null, 'the download completed');
  await mkdir(OUT_DIR, { recursive: true });
  await download.saveAs(DUMP);
  dump = await readFile(DUMP);

  assert.equal(dump.subarray(0, 9).toString('latin1'), 'REDIS0010', 'RDB version 10 header');
  assert.ok(dump.length > 9 + 9, 'more than a header and a footer');
  assert.equal(dump[dump.length - 9], 0xff, 'EOF opcode before the 8 checksum bytes');
  const stored = dump.readBigUInt64LE(dump.length - 8);
  assert.equal(stored, crc64(dump.subarray(0, dump.length - 8)), 'the checksum is the CRC64 of the file');
  assert.ok(dump.includes(Buffer.from('redis-ver')), 'aux fields');
  assert.match(await page.getByTestId('rdb-status-0').textContent(), new RegExp(`dump-${name0}\\.rdb`));

  // The object URL was revoked after the download (or will be): nothing leaked to the console.
  assert.equal(await page.getByTestId('error-banner').isHidden(), true);
  assertNoErrors(lab);
});

test('a crashed node has nothing to export', async () => {
  await page.getByTestId('fault-crash-0').click();
  await waitFor(async () => page.getByTestId('rdb-export-0').isDisabled(), { timeout: 5_000, what: 'Export disabled' });
  await page.getByTestId('fault-crash-0').click();
  await waitFor(async () => page.getByTestId('rdb-export-0').isEnabled(), { timeout: 5_000, what: 'Export enabled' });
  assertNoErrors(lab);
});

test('the file picker loads the dump into node A of a fresh lab, and the replica follows', async () => {
  assert.ok(dump, 'the export test ran');
  await page.close();
  fresh = await openPage(lab);
  await loadUrl(fresh, lab.baseUrl);
  await setPlaying(fresh, false);
  const nameA = await fresh.getByTestId('node-0-name').textContent();
  assert.deepEqual(await command(fresh, 0, 'GET k'), ['(nil)'], 'a fresh lab has no k');

  await fresh.getByTestId('rdb-file-0').setInputFiles(DUMP);
  const status = fresh.getByTestId('rdb-status-0');
  await waitFor(async () => (await status.textContent()) === `Loaded ${dump.length} bytes into ${nameA}`,
    { timeout: 10_000, what: 'the "Loaded N bytes" message' });
  assert.equal(await status.getAttribute('role'), 'status');
  assert.equal(await fresh.getByTestId('rdb-error-0').isHidden(), true);
  assert.equal(await fresh.getByTestId('error-banner').isHidden(), true, 'no fatal banner');
  assert.deepEqual(await command(fresh, 0, 'GET k'), ['"v"'], 'A restarted from the file');
  await waitFor(async () => (await eventTexts(fresh)).some((e) => /^fault .*imported dump\.rdb/.test(e)),
    { timeout: 10_000, what: 'a fault event for the import' });

  await fresh.getByTestId('speed').selectOption('16');
  await setPlaying(fresh, true);
  await waitForReplicaValue(fresh, 1, 'k', '"v"');
  await linkUp(fresh);
  assertNoErrors(lab);
});

test('a garbage file is refused with the engine\'s reason, and nothing changes', async () => {
  await setPlaying(fresh, false);
  const logBefore = await fresh.evaluate(() => window.__lab.lab.actionLog());
  const eventsBefore = (await eventTexts(fresh)).length;

  await fresh.getByTestId('rdb-file-0').setInputFiles({
    name: 'garbage.rdb', mimeType: 'application/octet-stream', buffer: GARBAGE,
  });
  const alert = fresh.getByTestId('rdb-error-0');
  await alert.waitFor({ state: 'visible', timeout: 10_000 });
  const text = await alert.textContent();
  assert.match(text, /Bad RDB file/);
  assert.match(text, /garbage\.rdb/);
  assert.match(text, /at byte \d+/, 'the engine says where');
  assert.equal(await alert.getAttribute('role'), 'alert');
  assert.equal(await fresh.getByTestId('rdb-status-0').textContent(), '', 'no success message with it');
  assert.equal(await fresh.getByTestId('error-banner').isHidden(), true, 'not the fatal banner');

  assert.equal(await fresh.evaluate(() => window.__lab.lab.actionLog()), logBefore, 'no action recorded');
  assert.deepEqual(await command(fresh, 0, 'GET k'), ['"v"']);
  assert.deepEqual(await command(fresh, 1, 'GET k'), ['"v"']);
  const events = (await eventTexts(fresh)).slice(eventsBefore);
  assert.ok(!events.some((e) => /^fault /.test(e)), 'no restart');

  // A truncated dump is refused too, with the byte where it went wrong.
  await fresh.getByTestId('rdb-file-0').setInputFiles({
    name: 'truncated.rdb', mimeType: 'application/octet-stream', buffer: dump.subarray(0, dump.length - 5),
  });
  await waitFor(async () => /truncated\.rdb/.test(await alert.textContent()), { timeout: 10_000, what: 'the second refusal' });
  assert.match(await alert.textContent(), /Bad RDB file: .*at byte \d+/);
  assert.deepEqual(await command(fresh, 0, 'GET k'), ['"v"']);
  assertNoErrors(lab);
});

test('a file dropped on a console or on a node box is loaded', async () => {
  await setPlaying(fresh, false);
  const nameA = await fresh.getByTestId('node-0-name').textContent();
  const good = await dataTransfer(fresh, dump, 'dump.rdb');

  // On A's console.
  assert.deepEqual(await command(fresh, 0, 'FLUSHALL'), ['OK']);
  assert.deepEqual(await command(fresh, 0, 'GET k'), ['(nil)']);
  const console0 = fresh.getByTestId('console-0');
  await console0.dispatchEvent('dragover', { dataTransfer: good });
  assert.match(await console0.getAttribute('class'), /is-drop-target/, 'highlighted while dragged over');
  await console0.dispatchEvent('drop', { dataTransfer: good });
  const status = fresh.getByTestId('rdb-status-0');
  await waitFor(async () => (await status.textContent()) === `Loaded ${dump.length} bytes into ${nameA}`,
    { timeout: 10_000, what: 'the drop on the console to load' });
  assert.doesNotMatch(await console0.getAttribute('class'), /is-drop-target/);
  assert.equal(await fresh.getByTestId('rdb-error-0').isHidden(), true, 'the old error is gone');
  assert.deepEqual(await command(fresh, 0, 'GET k'), ['"v"']);

  // On A's box in the view.
  assert.deepEqual(await command(fresh, 0, 'FLUSHALL'), ['OK']);
  assert.deepEqual(await command(fresh, 0, 'GET k'), ['(nil)']);
  const box0 = fresh.getByTestId('node-0');
  await box0.dispatchEvent('dragover', { dataTransfer: good });
  assert.match(await box0.getAttribute('class'), /is-drop-target/);
  await box0.dispatchEvent('drop', { dataTransfer: good });
  await waitFor(async () => (await command(fresh, 0, 'GET k')).join('\n') === '"v"',
    { timeout: 10_000, what: 'the drop on the box to load' });
  assert.doesNotMatch(await box0.getAttribute('class'), /is-drop-target/);

  // Garbage dropped on the replica's box: refused next to the replica's controls.
  const bad = await dataTransfer(fresh, GARBAGE, 'notes.txt');
  await fresh.getByTestId('node-1').dispatchEvent('drop', { dataTransfer: bad });
  const alert1 = fresh.getByTestId('rdb-error-1');
  await alert1.waitFor({ state: 'visible', timeout: 10_000 });
  assert.match(await alert1.textContent(), /Bad RDB file/);
  assert.equal(await fresh.getByTestId('error-banner').isHidden(), true);

  await setPlaying(fresh, true);
  await waitForReplicaValue(fresh, 1, 'k', '"v"');
  await setPlaying(fresh, false);
  await fresh.getByTestId('rdb-file-0').setInputFiles(DUMP);
  await waitFor(async () => (await status.textContent()).startsWith('Loaded '), { timeout: 10_000, what: 'status' });
  await mkdir(OUT_DIR, { recursive: true });
  await fresh.screenshot({ path: SCREENSHOT, fullPage: true });
  await good.dispose();
  await bad.dispose();
  assertNoErrors(lab);
});

test('the controls and messages are translated', async () => {
  await fresh.getByTestId('language').selectOption('zh-CN');
  assert.equal(await fresh.getByTestId('rdb-export-0').textContent(), '导出 dump.rdb');
  assert.equal(await fresh.getByTestId('rdb-import-0').textContent(), '导入 dump.rdb…');
  const alert1 = await fresh.getByTestId('rdb-error-1').textContent();
  assert.match(alert1, /未能加载/);
  assert.match(alert1, /Bad RDB file/, 'the engine\'s reason is kept');
  await fresh.getByTestId('language').selectOption('en');
  assert.equal(await fresh.getByTestId('rdb-export-0').textContent(), 'Export dump.rdb');
  assertNoErrors(lab);
});
