// End-to-end tests of topologies built through the UI: nodes added with the button, made replicas
// from their menus and by dragging one card onto another (each action typed as REPLICAOF in the
// node's console), a chain (A → B → E), several masters at once, eight nodes without an overlap
// on a 1280 × 800 screen, a phone-sized stage, and a drag onto nothing. Screenshots of 3, 5 and
// 8 nodes go to docs/.
// Run: node --test tests/e2e/   (needs the wasm package built into www/pkg/)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  DOCS_DIR, labForFile, loadPage, state, run, runUntil, consoleLines, screenshot, assertNoErrors, newPage, ready, pause,
} from './helpers.mjs';

let lab;
let page;
labForFile((l) => {
  lab = l;
  page = l.page;
});

/** Page-relative boxes of the node cards, by node index. */
async function cardBoxes(p = page) {
  const s = await state(p);
  const boxes = new Map();
  for (const n of s.nodes) boxes.set(n.index, await p.getByTestId(`node-${n.index}`).boundingBox());
  return boxes;
}

function overlaps(a, b) {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

function assertNoOverlap(boxes) {
  const list = Array.from(boxes.entries());
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) {
      assert.ok(!overlaps(list[i][1], list[j][1]), `cards ${list[i][0]} and ${list[j][0]} overlap`);
    }
  }
}

/** The last two console lines of node `i` once its reply is printed. */
async function lastExchange(i) {
  await page.waitForFunction((k) => {
    const out = document.querySelector('redis-repl-lab').shadowRoot.querySelector(`[data-testid="console-output-${k}"]`);
    return out && out.lastElementChild && out.lastElementChild.classList.contains('console__line--reply');
  }, i, { timeout: 10_000 });
  return (await consoleLines(page, i)).slice(-2);
}

/** Drags node `from`'s card onto node `to`'s card with the mouse. */
async function drag(from, to) {
  const a = await page.getByTestId(`node-${from}`).boundingBox();
  const b = to === null ? { x: 5, y: a.y + a.height + 200, width: 0, height: 0 } : await page.getByTestId(`node-${to}`).boundingBox();
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(a.x + a.width / 2 + 10, a.y + a.height / 2 + 10, { steps: 2 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 8 });
  await page.mouse.up();
}

const allConnected = (s) => s.links.length > 0 && s.links.every((l) => l.state === 'connected');

test('three nodes by default, drawn master above its replicas', async () => {
  await loadPage(lab, '', { paused: true });
  await runUntil(page, allConnected, { what: 'the default lab in sync' });
  const boxes = await cardBoxes();
  assert.ok(boxes.get(1).y > boxes.get(0).y + boxes.get(0).height, 'B below A');
  assert.equal(boxes.get(1).y, boxes.get(2).y, 'B and C side by side');
  assertNoOverlap(boxes);
  await mkdir(DOCS_DIR, { recursive: true });
  await copyFile(await screenshot(page, 'stage-3.png'), path.join(DOCS_DIR, 'stage-3.png'));
});

test('a node added and made a replica from its menu: REPLICAOF typed in its console', async () => {
  await page.getByTestId('add-node').click();
  await page.getByTestId('node-3').waitFor();
  let s = await state(page);
  assert.equal(s.nodes.find((n) => n.index === 3).role, 'master', 'a new node is a master of its own');
  await page.getByTestId('node-3-menu').click();
  await page.getByTestId('menu-replicaof-0').click();
  assert.deepEqual(await lastExchange(3), ['127.0.0.1:6382> REPLICAOF 127.0.0.1 6379', 'OK']);
  s = await state(page);
  assert.deepEqual(s.links.find((l) => l.replica === 3).master, 0);
  await assertNoErrors(lab);
});

test('dragging a card onto another makes a chain A → B → E', async () => {
  await page.getByTestId('add-node').click();
  await page.getByTestId('node-4').waitFor();
  await drag(4, 1);
  assert.deepEqual(await lastExchange(4), ['127.0.0.1:6383> REPLICAOF 127.0.0.1 6380', 'OK']);
  const s = await runUntil(page, (x) => x.links.length === 4 && allConnected(x), { what: 'the chain in sync', maxMs: 60_000 });
  assert.deepEqual(s.links.map((l) => [l.replica, l.master]).sort(), [[1, 0], [2, 0], [3, 0], [4, 1]]);
  // Offsets down the chain equal the top master's (the stream is relayed unchanged).
  await page.getByTestId('console-tab-0').click();
  const input = page.getByTestId('console-input-0');
  await input.fill('SET chained yes');
  await input.press('Enter');
  const synced = await runUntil(page, (x) => {
    const m = x.nodes[0].masterReplOffset;
    return x.nodes.slice(1).every((n) => n.slaveReplOffset === m);
  }, { what: 'the write down the chain' });
  assert.equal(synced.nodes.find((n) => n.index === 4).slaveReplOffset, synced.nodes[0].masterReplOffset);
  const boxes = await cardBoxes();
  assert.ok(boxes.get(4).y > boxes.get(1).y + boxes.get(1).height, 'E below B, a level deeper');
  assertNoOverlap(boxes);
  await page.getByTestId('link-4').waitFor({ state: 'attached' });
  assert.equal(await page.getByTestId('link-4').getAttribute('data-state'), 'connected');
  await copyFile(await screenshot(page, 'stage-5.png'), path.join(DOCS_DIR, 'stage-5.png'));
  await assertNoErrors(lab);
});

test('REPLICAOF NO ONE from the menu: two masters at once, both at the top', async () => {
  await page.getByTestId('node-2-menu').click();
  await page.getByTestId('menu-noone').click();
  assert.deepEqual(await lastExchange(2), ['127.0.0.1:6381> REPLICAOF NO ONE', 'OK']);
  await run(page, 500);
  const s = await state(page);
  assert.equal(s.nodes.find((n) => n.index === 2).role, 'master');
  assert.ok(!s.links.some((l) => l.replica === 2));
  const boxes = await cardBoxes();
  assert.equal(boxes.get(2).y, boxes.get(0).y, 'C drawn at the top like A');
  assertNoOverlap(boxes);
});

test('eight nodes fit a 1280 × 800 screen without an overlap; a ninth is refused', async () => {
  for (const i of [5, 6, 7]) {
    await page.getByTestId('add-node').click();
    await page.getByTestId(`node-${i}`).waitFor();
  }
  await drag(5, 2);
  await lastExchange(5);
  await drag(6, 0);
  await lastExchange(6);
  await drag(7, 4);
  await lastExchange(7);
  const s = await runUntil(page, (x) => x.links.length === 6 && allConnected(x), { what: 'eight nodes in sync', maxMs: 90_000 });
  assert.equal(s.nodes.length, 8);
  assert.equal(await page.getByTestId('add-node').isDisabled(), true);
  const boxes = await cardBoxes();
  assertNoOverlap(boxes);
  const stage = await page.getByTestId('stage').boundingBox();
  for (const [i, b] of boxes) {
    assert.ok(b.x >= stage.x && b.x + b.width <= stage.x + stage.width, `card ${i} inside the stage horizontally`);
  }
  const fonts = await page.evaluate(() => {
    const root = document.querySelector('redis-repl-lab').shadowRoot;
    return Array.from(root.querySelectorAll('.card__offset, .card__chip, .card__role'), (e) => parseFloat(getComputedStyle(e).fontSize));
  });
  assert.ok(fonts.every((f) => f >= 12), `card text ≥ 12 px: ${fonts}`);
  await copyFile(await screenshot(page, 'stage-8.png'), path.join(DOCS_DIR, 'stage-8.png'));
  await assertNoErrors(lab);
});

test('a drag onto nothing says what to do and changes nothing', async () => {
  const before = await state(page);
  await drag(3, null);
  await page.getByTestId('error-banner').waitFor({ state: 'visible' });
  assert.match(await page.getByTestId('error-message').textContent(), /^Drop D on another node to make it that node’s replica\.$/);
  const after = await state(page);
  assert.deepEqual(after.links.map((l) => [l.replica, l.master]), before.links.map((l) => [l.replica, l.master]));
});

test('on a phone the stage is a tab of its own and its cards stay readable', async () => {
  const p = await newPage(lab);
  await p.setViewportSize({ width: 390, height: 844 });
  await p.goto(lab.baseUrl);
  await ready(p);
  await pause(p);
  await runUntil(p, allConnected, { what: 'the phone lab in sync' });
  assert.equal(await p.getByTestId('phone-tabs').isVisible(), true);
  const boxes = await cardBoxes(p);
  assertNoOverlap(boxes);
  for (const [i, b] of boxes) assert.ok(b.x >= 0 && b.x + b.width <= 390, `card ${i} inside the screen`);
  const fonts = await p.evaluate(() => {
    const root = document.querySelector('redis-repl-lab').shadowRoot;
    return Array.from(root.querySelectorAll('.card__offset, .card__chip'), (e) => parseFloat(getComputedStyle(e).fontSize));
  });
  assert.ok(fonts.every((f) => f >= 12), `card text ≥ 12 px: ${fonts}`);
  const scrollWidth = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= 390, `no horizontal scroll (${scrollWidth})`);
  await copyFile(await screenshot(p, 'phone.png'), path.join(DOCS_DIR, 'phone.png'));
  await p.getByTestId('phone-tab-console').click();
  await p.getByTestId('console-input-1').waitFor({ state: 'visible' });
  await p.getByTestId('language').selectOption('zh-CN');
  await p.getByTestId('phone-tab-stage').click();
  await copyFile(await screenshot(p, 'phone-zh.png'), path.join(DOCS_DIR, 'phone-zh.png'));
  await p.close();
  await assertNoErrors(lab);
});
