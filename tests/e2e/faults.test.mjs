// End-to-end test of the fault controls: cut the replication link and watch a partial resync,
// crash the master (stale reads on the replica, "Connection refused" on the master's console),
// restart it, partition and heal, pause a node, and see DEBUG SLEEP's OK arrive late.
// Run: node --test tests/e2e/   (needs the wasm package built into www/pkg/)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  OUT_DIR, loadPage, command, consoleLines, waitFor, setPlaying, waitForReplicaValue, assertNoErrors, labForFile,
} from './helpers.mjs';

const SCREENSHOT = path.join(OUT_DIR, 'faults.png');
const REFUSED = 'Could not connect to Redis at 127.0.0.1:6379: Connection refused';

let lab;
let page;

labForFile((l) => {
  lab = l;
  page = l.page;
});

const linkText = () => page.getByTestId('node-1-link').textContent();

/** Texts of the event log entries, each as "kind text". */
function eventTexts() {
  return page.evaluate(() => Array.from(
    document.querySelectorAll('[data-testid="event-log"] .event'),
    (li) => `${li.querySelector('.event__kind').dataset.kind} ${li.querySelector('.event__text').textContent}`,
  ));
}

async function waitLink(state, what) {
  await waitFor(async () => (await linkText()).includes(state), { timeout: 60_000, what });
}

test('the initial sync completes and the fault controls are shown', async () => {
  await loadPage(lab);
  await page.getByTestId('faults').waitFor({ state: 'visible', timeout: 10_000 });
  const name0 = await page.getByTestId('node-0-name').textContent();
  const name1 = await page.getByTestId('node-1-name').textContent();
  for (const [name, port] of [[name0, 6379], [name1, 6380]]) {
    const group = page.getByRole('group', { name: `${name} (127.0.0.1:${port})`, exact: true });
    assert.equal(await group.count(), 1, `a labelled fault group for ${name}`);
    assert.equal(await group.getByRole('button').count(), 2, 'Crash and Pause buttons in it');
  }
  assert.equal(await page.getByRole('group', { name: `Link ${name0} ↔ ${name1}`, exact: true }).count(), 1);
  assert.match(await page.getByTestId('fault-crash-0').textContent(), /^Crash /);
  assert.match(await page.getByTestId('fault-pause-0').textContent(), /^Pause /);
  assert.equal(await page.getByTestId('fault-cut').textContent(), 'Cut connection');
  assert.equal(await page.getByTestId('fault-partition').textContent(), 'Partition');
  assert.deepEqual(await command(page, 0, 'SET k v'), ['OK']);
  await page.getByTestId('speed').selectOption('16');
  await setPlaying(page, true);
  await waitForReplicaValue(page, 1, 'k', '"v"');
  await waitLink('up', 'the replica link to be up');
  assertNoErrors(lab);
});

test('cutting the connection drops the link, and the replica resyncs partially', async () => {
  // Stop time so the short "down" moment cannot slip between two polls.
  await setPlaying(page, false);
  const before = (await eventTexts()).length;
  await page.getByTestId('fault-cut').click();
  await waitLink('down', 'the replica link to go down after the cut');
  await waitFor(async () => (await eventTexts()).slice(before).some((e) => /^fault .*cut/.test(e)),
    { timeout: 10_000, what: 'a fault event for the cut' });
  assert.ok(await page.locator('[data-testid="event-log"] .event--fault').count() > 0, 'fault events are styled');
  await setPlaying(page, true);
  await waitLink('up', 'the replica link to come back up');
  await waitFor(async () => (await eventTexts()).slice(before)
    .some((e) => /Partial resynchronization request|\+CONTINUE/.test(e)), {
    timeout: 30_000,
    what: 'a partial resynchronization in the event log',
  });
  assert.deepEqual(await command(page, 1, 'GET k'), ['"v"']);
  assertNoErrors(lab);
});

test('a crashed master refuses connections while the replica serves stale data', async () => {
  await page.getByTestId('fault-crash-0').click();
  await waitFor(async () => (await page.getByTestId('node-0-badge').getAttribute('data-state')) === 'down',
    { timeout: 10_000, what: 'the master to be drawn down' });
  assert.equal(await page.getByTestId('node-0').getAttribute('data-health'), 'down');
  assert.match(await page.getByTestId('fault-crash-0').textContent(), /^Restart /);
  assert.equal(await page.getByTestId('fault-pause-0').isDisabled(), true, 'a down node cannot be paused');
  await waitLink('down', 'the replica link to go down when the master crashes');
  assert.deepEqual(await command(page, 1, 'GET k'), ['"v"'], 'stale read on the replica');
  assert.deepEqual(await command(page, 0, 'GET k'), [REFUSED]);
  await mkdir(OUT_DIR, { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: false });
  assertNoErrors(lab);
});

test('the restarted master takes its replica back', async () => {
  await page.getByTestId('fault-crash-0').click();
  await waitFor(async () => (await page.getByTestId('node-0-badge').getAttribute('data-state')) === 'up',
    { timeout: 10_000, what: 'the master to be drawn up' });
  assert.match(await page.getByTestId('fault-crash-0').textContent(), /^Crash /);
  await waitLink('up', 'the replica link to come back up after the restart');
  const events = await eventTexts();
  assert.ok(events.some((e) => /^fault .*crashed/.test(e)), 'a crash event');
  assert.ok(events.some((e) => /^fault .*restarted/.test(e)), 'a restart event');
  assert.deepEqual(await command(page, 0, 'PING'), ['PONG']);
  assertNoErrors(lab);
});

test('a partition draws the link dashed, and heal restores it', async () => {
  await setPlaying(page, false);
  await page.getByTestId('fault-partition').click();
  const link = page.getByTestId('link-0-1');
  assert.equal(await link.getAttribute('data-partitioned'), 'true');
  assert.match(await link.getAttribute('class'), /link--partitioned/);
  assert.equal(await page.getByTestId('fault-partition').textContent(), 'Heal partition');
  await page.getByTestId('fault-partition').click();
  assert.equal(await link.getAttribute('data-partitioned'), 'false');
  assert.equal(await page.getByTestId('fault-partition').textContent(), 'Partition');
  const events = await eventTexts();
  assert.ok(events.some((e) => /^fault partition \[/.test(e)), 'a partition event');
  assert.ok(events.some((e) => /^fault partition healed/.test(e)), 'a heal event');
  await setPlaying(page, true);
  await waitLink('up', 'the replica link to be up after the heal');
  assertNoErrors(lab);
});

test('a paused node shows a badge until it wakes', async () => {
  await setPlaying(page, false);
  await page.getByTestId('fault-pause-1').click();
  assert.equal(await page.getByTestId('node-1-badge').getAttribute('data-state'), 'paused');
  assert.equal(await page.getByTestId('fault-pause-1').isDisabled(), true);
  await setPlaying(page, true);
  await waitFor(async () => (await page.getByTestId('node-1-badge').getAttribute('data-state')) === 'up',
    { timeout: 30_000, what: 'the paused replica to wake up' });
  assert.equal(await page.getByTestId('fault-pause-1').isDisabled(), false);
  assertNoErrors(lab);
});

test('DEBUG SLEEP prints its OK later, without a new prompt', async () => {
  await setPlaying(page, false);
  const before = (await consoleLines(page, 0)).length;
  const input = page.getByTestId('console-input-0');
  await input.fill('DEBUG SLEEP 2');
  await input.press('Enter');
  await waitFor(async () => (await consoleLines(page, 0)).length > before, { timeout: 5_000, what: 'the command line' });
  let lines = (await consoleLines(page, 0)).slice(before);
  assert.deepEqual(lines, ['127.0.0.1:6379> DEBUG SLEEP 2'], 'no reply while the server sleeps');
  await setPlaying(page, true);
  await waitFor(async () => (await consoleLines(page, 0)).length > before + 1, {
    timeout: 30_000,
    what: 'the late OK of DEBUG SLEEP',
  });
  lines = (await consoleLines(page, 0)).slice(before);
  assert.deepEqual(lines.slice(0, 2), ['127.0.0.1:6379> DEBUG SLEEP 2', 'OK']);
  assertNoErrors(lab);
});

test('the fault controls are translated', async () => {
  await page.getByTestId('language').selectOption('zh-CN');
  assert.equal(await page.getByTestId('fault-cut').textContent(), '切断连接');
  assert.equal(await page.getByTestId('fault-partition').textContent(), '网络分区');
  assert.match(await page.getByTestId('fault-crash-0').textContent(), /崩溃/);
  assert.equal(await page.locator('#faults-title').textContent(), '故障注入');
  await page.getByTestId('language').selectOption('en');
  assert.equal(await page.getByTestId('fault-cut').textContent(), 'Cut connection');
  assertNoErrors(lab);
});
