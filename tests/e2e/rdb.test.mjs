// End-to-end tests of dump.rdb export and import in the lab element: A's menu exports a real RDB 10
// file (CRC-64 checked here and by redis-check-rdb when it is installed); the file imported into
// the replica B restarts B from it, then B resynchronises with its master and the master's dataset
// wins (a partial resync, from the file's replication id and offset, as Redis does); the file
// dropped on the master's card restarts A from it and its replicas full-resync to the imported
// keys; bad files are refused with the engine's reason and change nothing.
// Run: node --test tests/e2e/   (needs the wasm package built into www/pkg/)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  OUT_DIR, labForFile, loadPage, api, run, state, runUntil, command, waitFor, assertNoErrors,
} from './helpers.mjs';

let lab;
let page;
labForFile((l) => {
  lab = l;
  page = l.page;
});

const DUMP_PATH = path.join(OUT_DIR, 'dump-A.rdb');
/** The keys written on A before the export, and how redis-cli prints them. */
const WRITES = ['SET k1 v1', 'SET k2 v2', 'RPUSH list a b c', 'HSET h f v'];
const READS = ['KEYS *', 'GET k1', 'GET k2', 'LRANGE list 0 -1', 'HGETALL h', 'DBSIZE'];

let dump; // the exported bytes
let exported; // A's replies to READS when it was exported
let exportedAt; // A's {replid, offset} when it was exported

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

/** KEYS * as a sorted list (redis-cli prints `1) "k"` lines in no set order). */
function keyList(reply) {
  return reply === '(empty array)' ? [] : reply.split('\n').map((l) => l.replace(/^\d+\) "(.*)"$/, '$1')).sort();
}

/** Node `i`'s replies to READS (KEYS sorted), read through the element's API at the current time. */
async function readBack(i) {
  const out = {};
  for (const line of READS) {
    const reply = await api(page, 'exec', i, line);
    out[line] = line === 'KEYS *' ? keyList(reply) : reply;
  }
  return out;
}

/** A field of INFO <section> on node `i` (as a string). */
async function infoField(i, section, field) {
  const text = await api(page, 'exec', i, `INFO ${section}`);
  const m = text.match(new RegExp(`^${field}:(.*)$`, 'm'));
  assert.ok(m, `INFO ${section} of node ${i} has ${field}:\n${text}`);
  return m[1].trim();
}

/** The event log's lines as {node, kind, text}. */
function eventLines() {
  return page.evaluate(() => Array.from(
    document.querySelector('redis-repl-lab').shadowRoot.querySelectorAll('[data-testid="event-log"] .event'),
    (li) => ({
      node: li.querySelector('.event__node')?.textContent ?? '',
      kind: li.querySelector('.event__kind')?.dataset.kind ?? '',
      text: li.querySelector('.event__text')?.textContent ?? '',
    }),
  ));
}

const synced = (s) => s.links.length === 2 && s.links.every((l) => l.state === 'connected');

/** Every replica linked and at its master's offset. */
function caughtUp(s) {
  if (!synced(s)) return false;
  return s.links.every((l) => {
    const m = s.nodes.find((n) => n.index === l.master);
    const r = s.nodes.find((n) => n.index === l.replica);
    return m && r && m.masterReplOffset > 0 && r.slaveReplOffset === m.masterReplOffset;
  });
}

/** Opens node `i`'s menu, picks "Import a dump.rdb…" and gives the file chooser `file`. */
async function importThroughMenu(i, file) {
  await page.getByTestId(`node-${i}-menu`).click();
  const [chooser] = await Promise.all([
    page.waitForEvent('filechooser', { timeout: 10_000 }),
    page.getByTestId('menu-import').click(),
  ]);
  assert.equal(chooser.isMultiple(), false);
  await chooser.setFiles(file);
}

/**
 * Drags a file over node `i`'s card and drops it there, with DragEvents built in the page (inside
 * the element's shadow root). Returns the card's class while the file was over it.
 */
function dropOnCard(i, bytes, name) {
  return page.evaluate(([index, data, fileName]) => {
    const card = document.querySelector('redis-repl-lab').shadowRoot.querySelector(`[data-testid="node-${index}"]`);
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(data)], fileName, { type: 'application/octet-stream' }));
    const over = new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true, composed: true });
    card.dispatchEvent(over);
    const during = card.className;
    card.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true, composed: true }));
    return { during, accepted: over.defaultPrevented };
  }, [i, Array.from(bytes), name]);
}

/** Runs redis-check-rdb on `file` (null when it is not installed). */
function redisCheckRdb(file) {
  return new Promise((resolve) => {
    execFile('redis-check-rdb', [file], { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err && err.code === 'ENOENT') resolve(null);
      else resolve({ code: err ? err.code ?? err.signal : 0, out: `${stdout}${stderr}` });
    });
  });
}

test('Export in A\'s menu downloads dump-A.rdb: RDB 10, a valid CRC-64, A\'s keys and replication id', async (t) => {
  await loadPage(lab, '', { paused: true });
  await runUntil(page, synced, { what: 'both replicas in sync' });
  for (const line of WRITES) assert.match((await command(page, 0, line)).join('\n'), /^(OK|\(integer\) \d+)$/, line);
  let s = await runUntil(page, caughtUp, { what: 'the replicas to apply the writes' });
  exported = await readBack(0);
  assert.deepEqual(exported['KEYS *'], ['h', 'k1', 'k2', 'list']);
  exportedAt = { replid: s.nodes[0].replid, offset: s.nodes[0].masterReplOffset };

  await page.getByTestId('node-0-menu').click();
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 10_000 }),
    page.getByTestId('menu-export').click(),
  ]);
  assert.equal(download.suggestedFilename(), 'dump-A.rdb');
  assert.equal(await download.failure(), null, 'the download completed');
  await mkdir(OUT_DIR, { recursive: true });
  await download.saveAs(DUMP_PATH);
  dump = await readFile(DUMP_PATH);

  assert.equal(dump.subarray(0, 9).toString('latin1'), 'REDIS0010', 'RDB version 10 header');
  assert.equal(dump[dump.length - 9], 0xff, 'the EOF opcode right before the 8 checksum bytes');
  assert.equal(dump.readBigUInt64LE(dump.length - 8), crc64(dump.subarray(0, dump.length - 8)), 'the last 8 bytes are the CRC-64 of the rest');
  for (const aux of ['redis-ver', '7.0.15', 'repl-id', exportedAt.replid, 'repl-offset']) {
    assert.ok(dump.includes(Buffer.from(aux)), `the file holds ${aux}`);
  }
  s = await state(page);
  assert.equal(s.nodes[0].masterReplOffset, exportedAt.offset, 'exporting is not a write');
  await waitFor(async () => (await page.getByTestId('live').textContent()) === `dump-A.rdb saved (${dump.length} B).`,
    { timeout: 5_000, what: 'the live region to announce the export' });
  assert.equal(await page.getByTestId('error-banner').isHidden(), true);

  const check = await redisCheckRdb(DUMP_PATH);
  if (check === null) {
    t.diagnostic('redis-check-rdb is not on PATH: the file was checked here only');
  } else {
    assert.equal(check.code, 0, check.out);
    assert.match(check.out, /Checksum OK/, check.out);
    assert.match(check.out, /\\o\/ RDB looks OK! \\o\//, check.out);
    assert.match(check.out, /\[info\] 4 keys read/, check.out);
    assert.match(check.out, new RegExp(`AUX FIELD repl-id = '${exportedAt.replid}'`), check.out);
    assert.match(check.out, new RegExp(`AUX FIELD repl-offset = '${exportedAt.offset}'`), check.out);
  }
  await assertNoErrors(lab);
});

test('the file imported into replica B restarts B from it; B then resyncs (partially) and A\'s dataset wins', async () => {
  assert.ok(dump, 'the export test ran');
  // A's dataset moves on after the export: k1 goes, k3 comes.
  assert.deepEqual(await command(page, 0, 'DEL k1'), ['(integer) 1']);
  assert.deepEqual(await command(page, 0, 'SET k3 v3'), ['OK']);
  let s = await runUntil(page, caughtUp, { what: 'the replicas to apply DEL and SET' });
  const master = await readBack(0);
  assert.deepEqual(master['KEYS *'], ['h', 'k2', 'k3', 'list']);
  assert.deepEqual(await readBack(1), master, 'B is A\'s copy before the import');
  const fullBefore = Number(await infoField(0, 'stats', 'sync_full'));
  const partialBefore = Number(await infoField(0, 'stats', 'sync_partial_ok'));
  const before = s.nowMs;

  await importThroughMenu(1, DUMP_PATH);
  await waitFor(async () => (await eventLines()).some((e) => e.node === 'B' && e.kind === 'fault'
    && e.text === `B restarts from an imported dump.rdb (${dump.length} B)`), { timeout: 10_000, what: 'the import event' });
  await waitFor(async () => (await page.getByTestId('live').textContent()) === 'B restarts from dump-A.rdb.',
    { timeout: 5_000, what: 'the live region to announce the import' });
  assert.equal(await page.getByTestId('error-banner').isHidden(), true);
  s = await state(page);
  assert.equal(s.nowMs, before, 'virtual time did not move');
  assert.equal(s.nodes[1].up, true);
  assert.equal(s.nodes[1].role, 'slave', 'B came back as a replica of A');
  assert.deepEqual(await readBack(1), exported, 'right after its restart B holds the file\'s keys and values');
  const events = await eventLines();
  for (const text of ['B crashed', 'B restarted']) assert.ok(events.some((e) => e.node === 'B' && e.text === text), text);
  assert.ok(events.some((e) => e.node === 'B' && e.text.endsWith('Done loading RDB, keys loaded: 4, keys expired: 0.')), 'B loaded the 4 keys');

  // B PSYNCs with the file's replication id and offset (+1); A still has that in its backlog.
  s = await runUntil(page, caughtUp, { what: 'B to resync with A', maxMs: 30_000 });
  assert.deepEqual(await readBack(1), master, 'after the resync B is A\'s copy again: k1 gone, k3 there');
  assert.equal(s.nodes[1].replid, s.nodes[0].replid);
  assert.equal(Number(await infoField(0, 'stats', 'sync_partial_ok')), partialBefore + 1, 'one partial resync accepted');
  assert.equal(Number(await infoField(0, 'stats', 'sync_full')), fullBefore, 'no full resync');
  const log = (await eventLines()).map((e) => `${e.node} ${e.text}`);
  assert.ok(log.some((l) => l === `B * Trying a partial resynchronization (request ${exportedAt.replid}:${exportedAt.offset + 1}).`), log.join('\n'));
  assert.ok(log.some((l) => l === 'B * Successful partial resynchronization with master.'), log.join('\n'));
  assert.deepEqual(await readBack(2), master, 'C was not disturbed');
  await assertNoErrors(lab);
});

test('the file dropped on master A\'s card restarts A from it, and its replicas full-resync to the imported keys', async () => {
  assert.ok(dump, 'the export test ran');
  let s = await state(page);
  const before = s.nowMs;
  const { during, accepted } = await dropOnCard(0, dump, 'dump-A.rdb');
  assert.equal(accepted, true, 'the card accepts a dragged file');
  assert.match(during, /\bcard--drop\b/, 'the card is highlighted while a file is over it');
  await waitFor(async () => (await eventLines()).some((e) => e.node === 'A' && e.kind === 'fault'
    && e.text === `A restarts from an imported dump.rdb (${dump.length} B)`), { timeout: 10_000, what: 'the import event' });
  assert.doesNotMatch(await page.getByTestId('node-0').getAttribute('class'), /\bcard--drop\b/);
  await waitFor(async () => (await page.getByTestId('live').textContent()) === 'A restarts from dump-A.rdb.',
    { timeout: 5_000, what: 'the live region to announce the import' });
  assert.equal(await page.getByTestId('error-banner').isHidden(), true);
  s = await state(page);
  assert.equal(s.nowMs, before, 'virtual time did not move');
  assert.equal(s.nodes[0].role, 'master');
  assert.deepEqual(await readBack(0), exported, 'A holds the file\'s keys: k1 back, k3 gone');
  assert.notDeepEqual((await readBack(1))['KEYS *'], exported['KEYS *'], 'the replicas do not have them yet');

  // The replicas' offset is past the file's, so A cannot continue their stream: full resyncs.
  s = await runUntil(page, caughtUp, { what: 'B and C to resync with the restarted A', maxMs: 30_000 });
  for (const i of [1, 2]) assert.deepEqual(await readBack(i), exported, `node ${i} holds the imported keys`);
  assert.equal(Number(await infoField(0, 'stats', 'sync_full')), 2, 'both replicas full-resynced');
  assert.equal(Number(await infoField(0, 'stats', 'sync_partial_ok')), 0);
  const log = (await eventLines()).map((e) => `${e.node} ${e.text}`);
  for (const name of ['B', 'C']) {
    assert.ok(log.some((l) => l.startsWith(`${name} * Full resync from master: ${s.nodes[0].replid}:`)), `${name}: ${log.join('\n')}`);
  }
  await assertNoErrors(lab);
});

/** Imports a bad file (by the menu or by a drop) and checks the refusal and that nothing changed. */
async function refused(how, i, name, bytes, reason) {
  const s0 = await state(page);
  const keys0 = [];
  for (const n of s0.nodes) keys0.push(await readBack(n.index));
  const log0 = await api(page, 'actionLog');
  const events0 = (await eventLines()).length;

  if (how === 'menu') await importThroughMenu(i, { name, mimeType: 'application/octet-stream', buffer: bytes });
  else await dropOnCard(i, bytes, name);
  const banner = page.getByTestId('error-banner');
  await banner.waitFor({ state: 'visible', timeout: 10_000 });
  const message = await page.getByTestId('error-message').textContent();
  assert.ok(message.startsWith('This file is not a valid dump.rdb: Bad RDB file: '), message);
  assert.match(message, reason);
  assert.match(message, /\(at byte \d+\)$/, 'the engine says where');
  assert.equal(await page.getByTestId('error-headline').textContent(), `Not done: ${message}`);
  assert.equal(await page.getByTestId('error-restore').isHidden(), true, 'nothing to restore: the lab is fine');
  assert.equal(await page.getByTestId('live').textContent(), message, 'announced too');
  assert.equal(await api(page, 'actionLog'), log0, 'no action recorded');

  const s1 = await state(page);
  assert.equal(s1.nowMs, s0.nowMs);
  assert.deepEqual(s1.nodes.map((n) => [n.name, n.up, n.role, n.dbsize, n.masterReplOffset, n.replid]),
    s0.nodes.map((n) => [n.name, n.up, n.role, n.dbsize, n.masterReplOffset, n.replid]), 'no node changed');
  for (const n of s1.nodes) assert.deepEqual(await readBack(n.index), keys0[n.index], `${n.name}'s keys unchanged`);
  const fresh = (await eventLines()).slice(events0);
  assert.deepEqual(fresh.filter((e) => e.kind === 'fault'), [], 'no restart, no import event');
  await page.getByTestId('error-dismiss').click();
  await banner.waitFor({ state: 'hidden', timeout: 5_000 });
  return message;
}

test('bad files are refused with the engine\'s reason in the error banner, and nothing changes', async () => {
  assert.ok(dump, 'the export test ran');
  await runUntil(page, caughtUp, { what: 'a quiet lab' });
  // The header of an RDB 10 file, then junk.
  await refused('menu', 0, 'junk.rdb', Buffer.concat([Buffer.from('REDIS0010'), Buffer.from('this is junk, not an rdb')]),
    /Bad RDB file: .+/);
  // A truncated export, dropped on a replica's card.
  await refused('drop', 1, 'truncated.rdb', dump.subarray(0, dump.length - 20), /Unexpected EOF reading RDB file/);
  // An export whose last byte (of the checksum) is damaged.
  const damaged = Buffer.from(dump);
  damaged[damaged.length - 1] ^= 0xff;
  await refused('menu', 2, 'damaged.rdb', damaged, /Wrong RDB checksum/);
  // Not an RDB at all.
  await refused('drop', 0, 'notes.txt', Buffer.from('hello\n'), /Bad RDB file: .+/);
  await assertNoErrors(lab);
});

test('a damaged checksum is reported in Redis\'s words: "expected" is the computed CRC, "got" the stored one', async () => {
  assert.ok(dump, 'the export test ran');
  const damaged = Buffer.from(dump);
  damaged[damaged.length - 1] ^= 0xff;
  const computed = crc64(damaged.subarray(0, damaged.length - 8)).toString(16);
  const stored = damaged.readBigUInt64LE(damaged.length - 8).toString(16);
  // What redis-server 7.0.15 logs loading this file.
  const redis = `Wrong RDB checksum expected: (${computed}) but got (${stored}). Aborting now.`;
  const message = await refused('menu', 2, 'damaged.rdb', damaged, /Wrong RDB checksum/);
  assert.ok(message.includes(redis), `${message}\nshould include\n${redis}`);
  await assertNoErrors(lab);
});

test('"Export for real Redis" downloads redis-lab.zip: a redis.conf per node with its replicaof, and the scripts', async () => {
  await loadPage(lab, '', { paused: true });
  await runUntil(page, synced, { what: 'both replicas in sync' });
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-redis').click()]);
  assert.equal(download.suggestedFilename(), 'redis-lab.zip');
  const zip = await readFile(await download.path());
  assert.equal(zip.readUInt32LE(0), 0x04034b50, 'a zip');
  // Stored, not compressed: the files' names and text are in the archive as they are.
  const text = zip.toString('latin1');
  for (const name of ['redis-lab/A/redis.conf', 'redis-lab/B/redis.conf', 'redis-lab/C/redis.conf', 'redis-lab/start.sh', 'redis-lab/stop.sh', 'redis-lab/README.txt']) {
    assert.ok(text.includes(name), name);
  }
  assert.ok(text.includes('port 7001\nbind 127.0.0.1'), 'B listens on 7001');
  assert.equal(text.split('replicaof 127.0.0.1 7000\n').length - 1, 2, 'B and C replicate A');
  await assertNoErrors(lab);
});
