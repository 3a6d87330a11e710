// End-to-end test of time travel and shared runs: seek back with the time slider to before a
// SET and see the replica without the key, rebuild a run from its action log (#log=...), share
// a run with "Copy link", and fall back to the default lab when the log is garbage.
// Run: node --test tests/e2e/   (needs the wasm package built into www/pkg/)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  OUT_DIR, loadPage, openPage, loadUrl, command, consoleLines, waitFor, setPlaying, waitForReplicaValue, assertNoErrors, labForFile,
} from './helpers.mjs';

const SCREENSHOT = path.join(OUT_DIR, 'timetravel.png');

let lab;
let page;
let setAt; // virtual time (ms) of SET k v on the master
let runLog; // action log of the first run, taken after the key replicated

labForFile((l) => {
  lab = l;
  page = l.page;
});

const now = (p = page) => p.evaluate(() => window.__lab.lab.now());
const isPlaying = (p = page) => p.evaluate(() => window.__lab.isPlaying());
const noteText = (p = page) => p.getByTestId('timeline-note').textContent();

async function waitLinkUp(p, what) {
  await waitFor(async () => (await p.getByTestId('node-1-link').textContent()).includes('up'), { timeout: 60_000, what });
}

/** Sets the slider's value as a drag would, with input and change events. */
function setSlider(p, ms) {
  return p.getByTestId('time-slider').evaluate((el, v) => {
    el.value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, ms);
}

test('the time slider follows the clock up to the end of the run', async () => {
  await loadPage(lab);
  const slider = page.getByTestId('time-slider');
  await slider.waitFor({ state: 'visible', timeout: 10_000 });
  assert.equal(await page.getByRole('slider', { name: 'Time travel' }).count(), 1, 'a labelled slider');
  await page.getByTestId('speed').selectOption('16');
  await setPlaying(page, true);
  await waitLinkUp(page, 'the initial sync');
  const synced = await now();
  await waitFor(async () => (await now()) > synced + 1500, { timeout: 30_000, what: 'time to pass after the sync' });
  await setPlaying(page, false);
  const [value, max, t] = await Promise.all([
    slider.evaluate((el) => Number(el.value)),
    slider.evaluate((el) => Number(el.max)),
    now(),
  ]);
  assert.ok(Math.abs(value - t) < 1 && Math.abs(max - t) < 1, `slider ${value}/${max} at the clock ${t}`);
  assert.match(await slider.getAttribute('aria-valuetext'), /seconds of/);
  assert.equal(await noteText(), '', 'no "past" note at the end of the run');
  await page.getByTestId('language').selectOption('zh-CN');
  assert.equal(await page.getByRole('slider', { name: '时间回溯' }).count(), 1);
  assert.equal(await page.getByTestId('share').textContent(), '复制链接');
  assert.match(await slider.getAttribute('aria-valuetext'), /当前/);
  await page.getByTestId('language').selectOption('en');
  assert.equal(await page.getByTestId('share').textContent(), 'Copy link');
  assertNoErrors(lab);
});

test('seeking back to before a SET shows the replica without the key', async () => {
  setAt = await now();
  assert.deepEqual(await command(page, 0, 'SET k v'), ['OK']);
  await setPlaying(page, true);
  await waitForReplicaValue(page, 1, 'k', '"v"');
  await waitFor(async () => (await now()) > setAt + 3000, { timeout: 30_000, what: 'time to pass after the SET' });
  runLog = await page.evaluate(() => window.__lab.lab.actionLog());
  assert.match(runLog, /^RL1;s=\d+;/);

  // Keyboard: one step back pauses playback and says we are looking at the past.
  const slider = page.getByTestId('time-slider');
  await slider.focus();
  await slider.press('ArrowLeft');
  assert.equal(await isPlaying(), false, 'seeking back pauses');
  assert.match(await noteText(), /Looking at the past/);
  const end = await page.evaluate(() => window.__lab.horizon());
  const t1 = await now();
  assert.ok(t1 < end, `the clock ${t1} is behind the end ${end}`);
  await slider.press('ArrowLeft');
  assert.ok(Math.abs((await now()) - (t1 - 250)) < 0.01, 'an arrow key moves a quarter of a second');
  await slider.press('End');
  assert.ok(Math.abs((await now()) - end) < 0.01, 'End goes to the end of the run');
  assert.equal(await noteText(), '');

  // Drag (value + input/change) to just before the SET.
  const target = setAt - 200;
  await setSlider(page, target);
  const t2 = await now();
  assert.ok(Math.abs(t2 - target) < 0.01, `the clock ${t2} moved to ${target}`);
  assert.equal(await isPlaying(), false);
  assert.match(await noteText(), /Looking at the past/);
  assert.equal(Math.round(Number(await page.getByTestId('time-slider').inputValue())), Math.round(target));
  assert.equal(await page.getByTestId('clock').textContent(), `${(target / 1000).toFixed(3)} s`);
  // The event log was cleared: nothing from the dropped future is left in it.
  const times = await page.locator('[data-testid="event-log"] .event__time').allTextContents();
  assert.ok(times.every((s) => parseFloat(s) * 1000 <= target + 1), `event times ${times.slice(-3)} after ${target}`);
  assert.ok((await consoleLines(page, 1)).some((l) => l.startsWith('— jumped to')), 'the console marks the jump');

  assert.deepEqual(await command(page, 1, 'GET k'), ['(nil)'], 'the replica has no k before the SET');
  // That GET was an action in the past: it forked the future, so the run now ends here.
  assert.equal(await noteText(), '', 'acting in the past makes it the present');
  assert.deepEqual(await command(page, 0, 'GET k'), ['(nil)']);
  assert.equal(await page.getByTestId('node-0-dbsize').textContent(), '0');
  await mkdir(OUT_DIR, { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: false });
  assertNoErrors(lab);
});

test('a #log= from actionLog() rebuilds the run in a new page', async () => {
  const other = await openPage(lab);
  try {
    await loadUrl(other, `${lab.baseUrl}#log=${encodeURIComponent(runLog)}`);
    assert.equal(await other.evaluate(() => window.__lab.shared), true);
    assert.equal(await other.getByTestId('error-banner').isHidden(), true);
    const lines = await consoleLines(other, 1);
    assert.ok(!lines.some((l) => l.includes('REPLICAOF')), 'the default REPLICAOF did not run');
    assert.ok((await now(other)) >= setAt, 'the rebuilt run reaches the SET');
    assert.deepEqual(await command(other, 0, 'GET k'), ['"v"'], 'the master has the key');
    assert.deepEqual(await command(other, 1, 'GET k'), ['"v"'], 'the replica has it too');
    assert.equal(await other.getByTestId('node-1-role').textContent(), 'slave');
  } finally {
    await other.close();
  }
  assertNoErrors(lab);
});

test('"Copy link" puts the run in the URL, and the link opens it', async () => {
  assert.deepEqual(await command(page, 0, 'SET k v2'), ['OK']);
  await page.getByTestId('share').click();
  await waitFor(async () => (await page.getByTestId('share-status').textContent()) !== '', {
    timeout: 10_000, what: 'the share status',
  });
  const url = page.url();
  assert.match(new URL(url).hash, /^#log=RL1;s=\d+;/);
  const manual = await page.getByTestId('share-url').isVisible();
  if (manual) {
    assert.equal(await page.getByTestId('share-url').inputValue(), url, 'the field shows the link');
    assert.equal(await page.getByTestId('share-url').getAttribute('readonly'), '');
  } else {
    assert.match(await page.getByTestId('share-status').textContent(), /copied/);
  }
  const other = await openPage(lab);
  try {
    await loadUrl(other, url);
    assert.equal(await other.evaluate(() => window.__lab.shared), true);
    assert.deepEqual(await command(other, 0, 'GET k'), ['"v2"']);
  } finally {
    await other.close();
  }
  assertNoErrors(lab);
});

test('a garbage #log= shows the reason and the default lab still runs', async () => {
  const other = await openPage(lab);
  try {
    await loadUrl(other, `${lab.baseUrl}#log=garbage`);
    const banner = other.getByTestId('error-banner');
    await banner.waitFor({ state: 'visible', timeout: 10_000 });
    assert.match(await other.getByTestId('error-message').textContent(), /bad action log/);
    assert.equal(await other.evaluate(() => window.__lab.shared), false);
    assert.ok((await consoleLines(other, 1)).some((l) => l.includes('REPLICAOF 127.0.0.1 6379')), 'default REPLICAOF');
    await other.getByTestId('speed').selectOption('16');
    await setPlaying(other, true);
    await waitLinkUp(other, 'the default scenario to sync');
    assert.deepEqual(await command(other, 0, 'SET a 1'), ['OK']);
    await waitForReplicaValue(other, 1, 'a', '"1"');
  } finally {
    await other.close();
  }
  assertNoErrors(lab);
});
