// End-to-end test of Sentinel in the page: add three sentinels, crash the master, watch them
// mark it down (+sdown, +odown), promote the replica (+switch-master) and show it in the node
// view and the event log; then the shared link rebuilds the same run, sentinels included.
// Run: node --test tests/e2e/   (needs the wasm package built into www/pkg/)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  OUT_DIR, loadPage, openPage, loadUrl, waitFor, assertNoErrors, labForFile,
} from './helpers.mjs';

const SCREENSHOT = path.join(OUT_DIR, 'sentinel.png');

let lab;
let page;

labForFile((l) => {
  lab = l;
  page = l.page;
});

const text = (testid, p = page) => p.getByTestId(testid).textContent();

/** The sentinel event-log entries of the page's event log, as "node text". */
function sentinelEvents(p = page) {
  return p.evaluate(() => Array.from(
    document.querySelectorAll('[data-testid="event-log"] .event--sentinel'),
    (li) => `${li.querySelector('.event__node').textContent} ${li.querySelector('.event__text').textContent}`,
  ));
}

test('sentinels added in the page promote the replica when the master crashes', async () => {
  await loadPage(lab);
  await page.getByTestId('sentinels').waitFor({ state: 'visible', timeout: 10_000 });
  assert.match(await text('sentinels'), /No sentinel yet/);
  await page.getByTestId('speed').selectOption('16');
  await waitFor(async () => (await text('node-1-link')).includes('up'), { what: 'the replica to sync' });

  for (let j = 0; j < 3; j++) await page.getByTestId('add-sentinel').click();
  await waitFor(async () => (await page.locator('[data-testid^="sentinel-"][data-testid$="-master"]').count()) === 3,
    { what: 'three sentinel cards' });
  for (let j = 0; j < 3; j++) {
    assert.equal(await text(`sentinel-${j}-master`), 'mymaster 127.0.0.1:6379');
    assert.equal(await text(`sentinel-${j}-status`), 'ok');
    assert.equal(await text(`sentinel-${j}-peers`), '2');
  }
  assert.match(await text('sentinel-0-events'), /\+monitor master mymaster 127\.0\.0\.1 6379 quorum 2/);
  // The sentinels learn the replica from the master's INFO (sent every 10 virtual seconds).
  await waitFor(async () => (await text('sentinel-0-replicas')).includes('127.0.0.1:6380'),
    { what: 'the sentinel to discover the replica' });

  await page.getByTestId('fault-crash-0').click();
  // The down state itself may last less than one poll when the first election succeeds, so
  // look for it in the event log, which keeps it.
  await waitFor(async () => (await sentinelEvents()).some((e) => /\+odown master mymaster 127\.0\.0\.1 6379/.test(e)),
    { what: 'the master to be marked objectively down' });
  assert.ok((await sentinelEvents()).some((e) => /\+sdown master mymaster 127\.0\.0\.1 6379/.test(e)), 'subjectively down first');
  await waitFor(async () => (await text('node-1-role')) === 'master', { what: 'the replica to be promoted' });
  await waitFor(async () => {
    for (let j = 0; j < 3; j++) if ((await text(`sentinel-${j}-master`)) !== 'mymaster 127.0.0.1:6380') return false;
    return true;
  }, { what: 'every sentinel to switch to the new master' });
  const events = await sentinelEvents();
  assert.ok(events.some((e) => /\+selected-slave slave 127\.0\.0\.1:6380 /.test(e)), events.join('\n'));
  assert.ok(events.some((e) => /\+switch-master mymaster 127\.0\.0\.1 6379 127\.0\.0\.1 6380/.test(e)), events.join('\n'));
  assert.match(await text('sentinel-0-events'), /\+switch-master mymaster 127\.0\.0\.1 6379 127\.0\.0\.1 6380/);

  await mkdir(OUT_DIR, { recursive: true });
  await page.getByTestId('sentinels').screenshot({ path: SCREENSHOT });
  assertNoErrors(lab);
});

test('the shared link replays the sentinels and their failover', async () => {
  const log = await page.evaluate(() => window.__lab.lab.actionLog());
  assert.match(log, /,S,0,2,5000,20000;/, 'the sentinels are in the action log');
  const other = await openPage(lab);
  try {
    await loadUrl(other, `${lab.baseUrl}#log=${encodeURIComponent(log)}`);
    // The replay stops at the last action (the crash); the sentinels take it from there.
    await other.getByTestId('sentinel-2-master').waitFor({ timeout: 10_000 });
    assert.equal(await text('node-0-role', other), 'master');
    await other.getByTestId('speed').selectOption('16');
    await waitFor(async () => (await text('node-1-role', other)) === 'master', { what: 'the replayed failover' });
    await waitFor(async () => (await text('sentinel-2-master', other)) === 'mymaster 127.0.0.1:6380',
      { what: 'the replayed switch of master' });
  } finally {
    await other.close();
  }
  assertNoErrors(lab);
});

test('the sentinel panel is translated', async () => {
  await page.getByTestId('language').selectOption('zh-CN');
  assert.equal(await text('add-sentinel'), '添加哨兵');
  assert.match(await page.locator('#sentinels-title').textContent(), /哨兵/);
  await page.getByTestId('language').selectOption('en');
  assert.equal(await text('add-sentinel'), 'Add sentinel');
  assertNoErrors(lab);
});
