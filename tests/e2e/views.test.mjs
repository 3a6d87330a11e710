// End-to-end tests of the views that show replication happen, each checked against the engine
// and against what INFO says at the same virtual time: the RDB filling its link during a full
// sync, the writes made meanwhile waiting in the replication buffer and arriving after the RDB,
// the buffer and backlog numbers, a short cut answered +CONTINUE inside the backlog and a long
// one +FULLRESYNC outside it, a message's bytes, the sequence diagram, and a dump.rdb in hex.
// Screenshots of each view, in English and Chinese, go to docs/.
// Run: node --test tests/e2e/   (needs the wasm package built into www/pkg/)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DOCS_DIR, OUT_DIR, labForFile, loadPage, api, run, state, runUntil, screenshot, assertNoErrors,
} from './helpers.mjs';

let lab;
let page;
labForFile((l) => {
  lab = l;
  page = l.page;
}, {
  // Every typed event the lab dispatches, in order, for checks on what happened when.
  initScript: () => {
    window.__events = [];
    document.addEventListener('lab-event', (e) => window.__events.push(e.detail));
  },
});

/** INFO <section> of node `i` as {field: value}, typed into its console. */
async function info(i, section) {
  const text = await api(page, 'exec', i, `INFO ${section}`);
  return Object.fromEntries(text.split('\n').filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
}

async function shot(name) {
  await mkdir(DOCS_DIR, { recursive: true });
  await copyFile(await screenshot(page, name), path.join(DOCS_DIR, name));
}

/** The screen as it is, in English (docs/<name>.png) and in Chinese (docs/<name>-zh.png). */
async function shots(name) {
  await shot(`${name}.png`);
  await page.evaluate(() => document.querySelector('redis-repl-lab').setAttribute('lang', 'zh-CN'));
  await shot(`${name}-zh.png`);
  await page.evaluate(() => document.querySelector('redis-repl-lab').removeAttribute('lang'));
}

const events = () => page.evaluate(() => window.__events);

test('a full sync: the RDB fills its link byte for byte as INFO counts it, and the writes made meanwhile wait in the buffer', async () => {
  await loadPage(lab, '', { paused: true });
  // The wire traffic's events too, for the checks of what arrived when.
  await page.evaluate(() => document.querySelector('redis-repl-lab').setAttribute('traffic-events', ''));
  // A disk sync (its size is known) of a dataset that takes a few seconds on a 1 MB/s link: the
  // master writes the file into the socket as it takes it (SEND_BULK), and the stream waits.
  await page.getByTestId('link-1-button').click();
  await page.getByTestId('link-bandwidth').fill('1024');
  await page.getByTestId('link-apply').click();
  await api(page, 'exec', 0, 'CONFIG SET repl-diskless-sync no');
  await api(page, 'exec', 0, 'DEBUG POPULATE 20000 key 100');
  await api(page, 'exec', 1, 'REPLICAOF NO ONE');
  await api(page, 'exec', 2, 'REPLICAOF NO ONE');
  await run(page, 100);
  await api(page, 'exec', 1, 'REPLICAOF 127.0.0.1 6379');
  const syncing = await runUntil(page, (s) => s.nodes[1].replState === 'sync' && s.nodes[1].syncReadBytes > 0, { stepMs: 50, what: 'B receiving the RDB' });
  assert.equal(syncing.links.find((l) => l.replica === 1).state, 'sync', 'the link is drawn as a sync, not as down');
  // Writes made while the RDB travels.
  for (let k = 0; k < 3; k++) await api(page, 'exec', 0, `SET during ${k}`);
  await page.getByTestId('node-0').click();
  await page.getByTestId('tab-buffer').click();
  let last = 0;
  let total = 0;
  for (let step = 0; step < 400; step++) {
    const s = await state(page);
    const b = s.nodes[1];
    if (b.replState !== 'sync') break;
    const fields = await info(1, 'replication');
    const gauge = page.getByTestId('node-1-gauge');
    assert.equal(Number(fields.master_sync_read_bytes), b.syncReadBytes, 'the engine and INFO agree');
    assert.equal(Number(await gauge.getAttribute('data-read')), b.syncReadBytes, 'the band shows what INFO counts');
    assert.equal(Number(await gauge.getAttribute('data-total')), Number(fields.master_sync_total_bytes));
    assert.ok(b.syncReadBytes >= last, 'the band only fills');
    last = b.syncReadBytes;
    total = Number(fields.master_sync_total_bytes);
    if (step === 3) {
      // While the master still writes the RDB into B's socket, the writes wait in the buffer,
      // past B's cursor (the +FULLRESYNC offset + 1).
      const master = s.nodes[0];
      const r = master.replicas.find((x) => x.node === 1);
      assert.equal(r.phase, 'send_bulk');
      const stream = await page.getByTestId('stream-list').textContent();
      assert.match(stream, /SET during 2/);
      assert.ok(r.cursor <= master.masterReplOffset, `B's cursor ${r.cursor} is behind the writes (${master.masterReplOffset})`);
      assert.match(await page.getByTestId(`buffer-cursor-${r.port}`).textContent(), new RegExp(`^${r.cursor}`));
      await shots('view-fullsync');
    }
    // Smaller steps near the end, to watch the band's last segments arrive.
    const left = (total || Infinity) - last;
    await run(page, left < 400_000 ? 10 : 200);
  }
  // Loading takes no virtual time here, so the last look inside the sync is one segment short.
  assert.ok(total > 100_000 && total - last <= 16 * 1024, `the band reached the payload size (${last} of ${total})`);
  await runUntil(page, (x) => x.nodes[1].replState === 'connected' && x.nodes[1].slaveReplOffset === x.nodes[0].masterReplOffset, { what: 'B in sync' });
  assert.equal(await api(page, 'exec', 1, 'GET during'), '"2"');
  // The writes arrived after the last of the RDB, in order.
  const evs = await events();
  const toB = evs.filter((e) => e.type === 'delivered' && e.to.peer === 'node' && e.to.index === 1 && e.timeUs >= syncing.nowUs - 1);
  const lastRdb = toB.map((e) => e.msgKind).lastIndexOf('rdb');
  const firstWrite = toB.findIndex((e) => e.label.includes('during'));
  assert.ok(lastRdb >= 0 && firstWrite > lastRdb, `the RDB (last at ${lastRdb}) then the writes (first at ${firstWrite})`);
  const writes = toB.filter((e) => e.msgKind === 'stream' && e.offset !== null).map((e) => e.offset);
  assert.deepEqual(writes, [...writes].sort((a, b) => a - b), 'the stream arrives in offset order');
  await assertNoErrors(lab);
});

test('the buffer view shows INFO’s numbers at the same virtual time', async () => {
  await api(page, 'exec', 2, 'REPLICAOF 127.0.0.1 6379');
  await runUntil(page, (s) => s.links.every((l) => l.state === 'connected'), { what: 'both replicas connected', maxMs: 120_000 });
  await api(page, 'exec', 0, 'SET after 1');
  await run(page, 1500);
  await page.getByTestId('tab-buffer').click();
  await run(page, 10);
  const fields = await info(0, 'replication');
  const shown = async (k) => (await page.getByTestId(`buffer-${k}`).textContent()).trim();
  for (const k of ['repl_backlog_histlen', 'repl_backlog_first_byte_offset', 'master_repl_offset', 'repl_backlog_size']) {
    assert.equal(await shown(k), fields[k], k);
  }
  const s = await state(page);
  for (const r of s.nodes[0].replicas) {
    const line = Object.entries(fields).find(([k, v]) => /^slave\d+$/.test(k) && v.includes(`port=${r.port},`));
    const offset = line[1].match(/offset=(\d+)/)[1];
    assert.equal((await page.getByTestId(`buffer-ack-${r.port}`).textContent()).trim(), offset, `replica :${r.port}'s ACKed offset`);
  }
  await shots('view-backlog');
  await assertNoErrors(lab);
});

test('a short cut is answered +CONTINUE from inside the backlog; a long one +FULLRESYNC from outside it', async () => {
  const stats = async () => info(0, 'stats');
  const before = await stats();
  await page.getByTestId('link-2-button').click();
  await page.getByTestId('link-cut').click();
  await api(page, 'exec', 0, 'SET short cut');
  await runUntil(page, (s) => s.links.find((l) => l.replica === 2).state === 'connected', { what: 'C back after a short cut' });
  await page.getByTestId('node-0').click();
  await page.getByTestId('tab-buffer').click();
  await run(page, 10);
  assert.match(await page.getByTestId('psync-range').textContent(), /is inside the backlog/);
  assert.match(await page.getByTestId('psync-result').textContent(), /^\+CONTINUE: \d+ bytes of backlog follow/);
  const after = await stats();
  assert.equal(Number(after.sync_partial_ok), Number(before.sync_partial_ok) + 1, 'INFO counts the partial resync');
  assert.equal(after.sync_full, before.sync_full, 'and no full sync');
  await shots('view-psync-continue');

  // A long outage: C is cut off while more than the backlog is written, then the link is cut.
  await api(page, 'exec', 0, 'CONFIG SET repl-backlog-size 16kb');
  await page.getByTestId('partition').click();
  await page.getByTestId('node-2-side').click();
  await page.getByTestId('node-1-side').click();
  for (const i of [0, 1, 2]) {
    const side = await page.getByTestId(`node-${i}-side`).getAttribute('data-side');
    if ((i === 2) !== (side === '1')) await page.getByTestId(`node-${i}-side`).click();
  }
  await page.getByTestId('partition-apply').click();
  const big = 'x'.repeat(8000);
  for (let k = 0; k < 6; k++) await api(page, 'exec', 0, `SET big${k} ${big}`);
  await run(page, 2000);
  await page.getByTestId('partition').click(); // heal
  await page.getByTestId('link-2-button').click();
  await page.getByTestId('link-cut').click();
  const beforeFull = await stats();
  await runUntil(page, (s) => {
    const c = s.links.find((l) => l.replica === 2);
    return c.state === 'connected' && s.nodes[2].slaveReplOffset === s.nodes[0].masterReplOffset;
  }, { what: 'C back after a long outage', maxMs: 180_000 });
  await page.getByTestId('tab-buffer').click();
  await run(page, 10);
  assert.match(await page.getByTestId('psync-range').textContent(), /is before the backlog’s first byte/);
  assert.match(await page.getByTestId('psync-result').textContent(), /^\+FULLRESYNC: the backlog no longer holds that offset/);
  const afterFull = await stats();
  assert.equal(Number(afterFull.sync_partial_err), Number(beforeFull.sync_partial_err) + 1, 'INFO counts the refused PSYNC');
  assert.equal(Number(afterFull.sync_full), Number(beforeFull.sync_full) + 1);
  await shots('view-psync-full');
  await assertNoErrors(lab);
});

test('a message opened from the stage shows its exact bytes; the sequence diagram draws the messages', async () => {
  await api(page, 'exec', 0, 'SET opened "a b"');
  await run(page, 100);
  const s = await state(page);
  const m = s.messages.find((x) => x.label.endsWith('SET opened a b'));
  assert.ok(m, `a SET on the wire: ${s.messages.map((x) => x.label).join(' / ')}`);
  // Opened from the keyboard (the pill may be under the link's button at this moment).
  await page.getByTestId(`msg-${m.id}`).press('Enter');
  await page.getByTestId('message-text').waitFor();
  // The message may start with the SELECT the master inserted before the first write.
  const text = await page.getByTestId('message-text').textContent();
  assert.ok(text.endsWith('*3\\r\\n\n$3\\r\\n\nSET\\r\\n\n$6\\r\\n\nopened\\r\\n\n$3\\r\\n\na b\\r\\n\n'), text);
  const facts = await page.getByTestId('message-facts').textContent();
  assert.match(facts, new RegExp(`${m.offset}–${m.offset + m.bytes - 1}`), 'its offsets in the stream');
  await shots('view-message');
  await page.getByTestId('tab-sequence').click();
  await run(page, 400);
  const arrows = Number(await page.getByTestId('sequence-svg').getAttribute('data-arrows'));
  assert.ok(arrows > 0, 'arrows drawn');
  await page.getByTestId('sequence').locator(`[data-seg="${m.id}"]`).waitFor({ state: 'attached' });
  await shots('view-sequence');
  await assertNoErrors(lab);
});

test('the hex view of a dump.rdb shows the file’s bytes, its parts marked', async () => {
  await page.getByTestId('node-0-menu').click();
  const download = page.waitForEvent('download');
  await page.getByTestId('menu-export').click();
  const file = path.join(OUT_DIR, 'hex-dump.rdb');
  await (await download).saveAs(file);
  const bytes = await readFile(file);
  await page.getByTestId('node-0-menu').click();
  await page.getByTestId('menu-hex').click();
  await page.getByTestId('rdb-file').waitFor();
  const cells = await page.getByTestId('hex').locator('[data-offset]').evaluateAll((els) => els.map((e) => [Number(e.dataset.offset), e.textContent, e.dataset.kind]));
  assert.equal(cells.length, Math.min(512, bytes.length), 'the first page of hex');
  for (const [offset, hex] of cells) assert.equal(hex, bytes[offset].toString(16).padStart(2, '0'), `byte ${offset}`);
  assert.deepEqual(cells.slice(0, 9).map((c) => c[2]), Array(9).fill('header'), 'REDIS0010 is the header');
  assert.equal(cells[9][2], 'aux', 'then AUX fields');
  await shots('view-rdb-hex');
  await assertNoErrors(lab);
});
