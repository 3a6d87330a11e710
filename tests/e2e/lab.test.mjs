// End-to-end tests of the lab element as a learner first meets it: the default lab (a master and
// two replicas started by REPLICAOF typed in their consoles), a write replicating, INFO printed
// as redis-cli prints it, DEBUG POPULATE's note, two labs on one page, the Chinese page without
// an English sentence of the lab's own, axe-core, and a panic that loses nothing of the run.
// Run: node --test tests/e2e/   (needs the wasm package built into www/pkg/)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  DOCS_DIR, isLocal, labForFile, loadPage, ready, api, pause, run, state, command, consoleLines,
  runUntil, axe, axePage, screenshot, assertNoErrors, newPage, waitFor,
} from './helpers.mjs';
import en from '../../www/lab/i18n/en.js';
import zh from '../../www/lab/i18n/zh-CN.js';
import infoEn from '../../www/lab/i18n/info-en.js';
import infoZh from '../../www/lab/i18n/info-zh-CN.js';

let lab;
let page;
labForFile((l) => {
  lab = l;
  page = l.page;
});

const synced = (s) => s.links.length === 2 && s.links.every((l) => l.state === 'connected');

test('the default lab is a master and two replicas started from their consoles', async () => {
  await loadPage(lab, '', { paused: true });
  const s = await state(page);
  assert.deepEqual(s.nodes.map((n) => [n.name, n.role, `${n.host}:${n.port}`]), [
    ['A', 'master', '127.0.0.1:6379'], ['B', 'slave', '127.0.0.1:6380'], ['C', 'slave', '127.0.0.1:6381'],
  ]);
  assert.deepEqual(s.links.map((l) => [l.replica, l.master]), [[1, 0], [2, 0]], 'links matched by the engine');
  for (const i of [1, 2]) {
    const lines = await consoleLines(page, i);
    assert.deepEqual(lines.slice(0, 2), [`127.0.0.1:${6379 + i}> REPLICAOF 127.0.0.1 6379`, 'OK'], `console ${i}`);
  }
  for (const i of [0, 1, 2]) await page.getByTestId(`node-${i}`).waitFor();
  assert.equal(await page.getByTestId('node-0-role').textContent(), 'master');
  await assertNoErrors(lab);
});

test('a write typed on the master reaches both replicas, offsets equal', async () => {
  await runUntil(page, synced, { what: 'both replicas in sync' });
  assert.deepEqual(await command(page, 0, 'SET k v'), ['OK']);
  const s = await runUntil(page, (x) => {
    const m = x.nodes[0].masterReplOffset;
    return m > 0 && x.nodes.slice(1).every((n) => n.slaveReplOffset === m);
  }, { what: 'the replicas to apply the write' });
  for (const i of [1, 2]) assert.deepEqual(await command(page, i, 'GET k'), ['"v"']);
  const card = page.getByTestId('node-1-offset');
  assert.equal(Number(await card.getAttribute('data-value')), s.nodes[0].masterReplOffset, 'the card shows the offset');
  await mkdir(DOCS_DIR, { recursive: true });
  await copyFile(await screenshot(page, 'lab.png'), path.join(DOCS_DIR, 'screenshot.png'));
  await assertNoErrors(lab);
});

test('INFO replication prints line by line as redis-cli prints it', async () => {
  const lines = await command(page, 1, 'INFO replication');
  assert.equal(lines[0], '# Replication');
  assert.equal(lines[1], 'role:slave');
  assert.ok(lines.includes('master_link_status:up'), lines.join('\n'));
  assert.ok(!lines.some((l) => l.includes('\\r\\n')), 'no escaped line breaks');
});

test('DEBUG POPULATE says where it happens that it is not propagated', async () => {
  const reply = await command(page, 0, 'DEBUG POPULATE 5');
  assert.equal(reply[0], 'OK');
  await run(page, 100);
  const lines = await consoleLines(page, 0);
  assert.ok(lines.some((l) => l === 'Note: DEBUG POPULATE is not propagated, so the 2 replica(s) of this node do not get these keys.'), lines.join('\n'));
  await run(page, 3000);
  assert.deepEqual(await command(page, 1, 'DBSIZE'), ['(integer) 1'], 'the replica has only k');
});

test('two labs on one page are independent and share one download of the engine', async () => {
  const p = await newPage(lab);
  await p.goto(lab.baseUrl);
  await ready(p, 0);
  await p.evaluate(() => {
    const second = document.createElement('redis-repl-lab');
    second.setAttribute('seed', '7');
    second.setAttribute('nodes', '2');
    second.style.height = '700px';
    document.body.append(second);
  });
  await ready(p, 1);
  const [first, second] = await p.evaluate(async () => {
    const [a, b] = document.querySelectorAll('redis-repl-lab');
    a.pause();
    b.pause();
    await a.exec(0, 'SET only-in-first 1');
    return [await a.exec(0, 'GET only-in-first'), await b.exec(0, 'GET only-in-first')];
  });
  assert.deepEqual([first, second], ['"1"', '(nil)']);
  const counts = await p.evaluate(() => Array.from(document.querySelectorAll('redis-repl-lab'), (el) => el.nodeCount));
  assert.deepEqual(counts, [3, 2]);
  const pageWasm = await p.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.wasm')).length);
  assert.equal(pageWasm, 1, 'the page fetched the wasm once for both labs');
  const shadowIds = await p.evaluate(() => document.querySelectorAll('[id]').length);
  assert.equal(shadowIds, 0, 'no element with an id in the host page');
  assert.equal(await p.evaluate(() => Object.keys(window).filter((k) => /lab/i.test(k)).length), 0, 'nothing on window');
  await p.close();
  await assertNoErrors(lab);
});

/** Every text the lab shows, and the texts it gives assistive technology, outside verbatim areas. */
function labTexts() {
  const out = [];
  const verbatim = (el) => el.closest('.console__output, .event__text--verbatim, code, .sentinel__events, [lang="en"]:not(.lab), .msg, .card__addr, .card__offset');
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      for (const a of ['aria-label', 'title', 'placeholder', 'aria-valuetext']) {
        const v = el.getAttribute(a);
        if (v && !verbatim(el)) out.push(v);
      }
      if (el.shadowRoot) walk(el.shadowRoot);
      for (const n of el.childNodes) {
        if (n.nodeType === Node.TEXT_NODE && n.textContent.trim() && !verbatim(el)) out.push(n.textContent.trim());
      }
    }
  };
  walk(document.querySelector('redis-repl-lab').shadowRoot);
  return out;
}

/** Literal pieces (between placeholders) of the English sentences that Chinese must replace. */
function englishPieces() {
  const zhAll = { ...zh, ...infoZh };
  const pieces = new Set();
  for (const [key, text] of Object.entries({ ...en, ...infoEn })) {
    if (zhAll[key] === text) continue;
    for (const part of text.split(/\{\w+\}/)) {
      // Two English words or more: a sentence of the lab's own, not a Redis name.
      // (Names joined by hyphens or underscores, like repl-timeout, are Redis's and stay.)
      const words = part.trim().match(/(?<![-_\w])[A-Za-z][a-z]+(?:[ ’'][A-Za-z][a-z]*)+(?![-_\w])/g) || [];
      for (const w of words) if (w.length >= 8) pieces.add(w);
    }
  }
  return Array.from(pieces);
}

test('with 简体中文 selected no English sentence of the lab remains, the event log included', async () => {
  const pieces = englishPieces();
  const english = await page.evaluate(labTexts);
  const seen = pieces.filter((p) => english.some((t) => t.includes(p)));
  assert.ok(seen.length >= 20, `the detector finds English on the English page (${seen.length} pieces)`);
  await page.getByTestId('language').selectOption('zh-CN');
  await run(page, 2000);
  // Open the parts of the lab that hold words: menus, the link form, the sentinels, the filters.
  await page.getByTestId('eventlog-filters').click();
  await page.getByTestId('tab-sentinels').click();
  await page.getByTestId('add-sentinel').click();
  await run(page, 3000);
  await page.getByTestId('tab-inspector').click();
  await page.getByTestId('node-0-menu').click();
  const menuTexts = await page.evaluate(labTexts);
  await page.keyboard.press('Escape');
  await page.getByTestId('link-1-button').click();
  const linkTexts = await page.evaluate(labTexts);
  await page.keyboard.press('Escape');
  const texts = [...menuTexts, ...linkTexts, ...(await page.evaluate(labTexts))];
  assert.ok(pieces.length > 100, `${pieces.length} English pieces to look for`);
  const found = [];
  for (const text of texts) for (const p of pieces) if (text.includes(p)) found.push(`${p} in “${text}”`);
  assert.deepEqual(found, [], 'English sentences on the Chinese page');
  assert.ok(texts.some((t) => t.includes('主节点')), 'the page speaks Chinese');
  const events = await page.getByTestId('event-log').locator('.event__text:not(.event__text--verbatim)').allTextContents();
  assert.ok(events.length > 5 && events.every((t) => /[\u4e00-\u9fff]/.test(t)), events.slice(0, 5).join(' / '));
  await screenshot(page, 'lab-zh.png');
});

test('axe-core finds no violation, in Chinese and in English, menus and forms open', async () => {
  const p = await axePage(lab);
  await loadPage(lab, '', { page: p, paused: true });
  const check = async (what) => {
    const found = await axe(p);
    assert.deepEqual(found, [], what);
  };
  await runUntil(p, synced, { what: 'both replicas in sync' });
  await check('en, synced');
  await p.getByTestId('node-1-menu').click();
  await check('en, node menu open');
  await p.keyboard.press('Escape');
  await p.getByTestId('link-2-button').click();
  await check('en, link form open');
  await p.keyboard.press('Escape');
  await p.getByTestId('language').selectOption('zh-CN');
  await p.getByTestId('eventlog-filters').click();
  await p.getByTestId('partition').click();
  await check('zh-CN, drawing a partition, filters open');
  await p.close();
});

test('a panic in the engine shows what happened and restoring the run loses nothing', async () => {
  assert.deepEqual(await command(page, 0, 'SET before-panic kept'), ['OK']);
  await run(page, 1000);
  const lines = command(page, 0, 'DEBUG PANIC').catch(() => null);
  const banner = page.getByTestId('error-banner');
  await banner.waitFor({ state: 'visible', timeout: 10_000 });
  await lines;
  const message = await page.getByTestId('error-message').textContent();
  assert.match(message, /DEBUG PANIC called/);
  assert.deepEqual(lab.pageErrors, [], 'no uncaught error: the banner is the reaction');

  // The bug report link replays the run up to the panic, and then the command that panicked.
  await page.getByTestId('error-report').click();
  await waitFor(async () => (await page.getByTestId('error-report-url').inputValue()) !== '', { timeout: 20_000, what: 'the bug report link' });
  const report = await page.getByTestId('error-report-url').inputValue();
  const log = new URL(report).hash;
  assert.match(log, /^#log=RL1;s=\d+;/);
  assert.ok(log.includes(',c,0,SET%20before-panic%20kept;'), log);
  assert.match(log, /,c,0,DEBUG%20PANIC;t=[0-9a-z]+$/, 'the panicking command is the last action, at the end time');
  const said = [en, zh].flatMap((w) => [w['error.reportCopied'], w['error.reportManual']]);
  assert.ok(said.includes(await page.getByTestId('error-report-status').textContent()), 'the banner says where the link is');
  await screenshot(page, 'lab-panic-report.png');
  const again = await newPage(lab);
  await again.goto(report);
  await again.getByTestId('error-banner').waitFor({ state: 'visible', timeout: 20_000 });
  assert.equal(await again.getByTestId('error-message').textContent(), message, 'the same panic, at the same virtual time');
  await again.close();

  await page.getByTestId('error-restore').click();
  await banner.waitFor({ state: 'hidden', timeout: 20_000 });
  await pause(page);
  assert.equal(await api(page, 'exec', 0, 'GET before-panic'), '"kept"');
  assert.equal(await api(page, 'exec', 2, 'GET k'), '"v"', 'the replicas came back too');
  await run(page, 1000);
  await screenshot(page, 'lab-restored.png');
});

test('a request for anything outside this machine is aborted, and the tests see it', async () => {
  // A page without the lab's CSP (which would stop the request before it is made).
  const other = await newPage(lab);
  try {
    await other.goto('about:blank');
    const outcome = await other.evaluate(() => fetch('http://192.0.2.1/tracker.js').then(() => 'fetched', () => 'failed'));
    assert.equal(outcome, 'failed', 'the request was aborted');
    const outside = lab.requests.filter((u) => !isLocal(u));
    assert.deepEqual(outside, ['http://192.0.2.1/tracker.js'], 'and recorded, so assertNoErrors fails on it');
    lab.requests.splice(0, lab.requests.length, ...lab.requests.filter(isLocal));
  } finally {
    await other.close();
  }
  assert.equal(isLocal(`${lab.baseUrl}pkg/redis_repl_lab_bg.wasm`), true);
  assert.equal(isLocal('blob:http://127.0.0.1:1/x'), true);
  assert.equal(isLocal('https://fonts.example.com/a.woff2'), false);
});
