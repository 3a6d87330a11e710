#!/usr/bin/env node
// The page's cost, measured in Debian's Chromium through playwright-core: for each case, 10 s of
// wall time with the Chrome DevTools Protocol's Performance.getMetrics (main-thread task, script
// and layout time) and a requestAnimationFrame sampler (frames drawn, p95 frame time), and the JS
// heap at the end. Shares are of wall time; "above floor" subtracts the blank page's share, the
// cost of the sampler itself.
//
//   node benches/page.mjs [--seconds 10] [--only b,e] [--raftscope DIR]
//
// Cases: (a) the default lab, 3 nodes, playing with nothing to do; (h) two masters and no
// replication, playing (nothing at all in flight); (b) 8 nodes, a write load of
// 1,000 writes/s on the master while a replica full-syncs 100,000 keys; (c) the lab paused;
// (d) the lab playing in a hidden tab; (e) a blank page; (f) the sample course page, its four
// labs (three elements and an iframe) all playing, one in view; (g) the same page while the
// reader scrolls through it, top to bottom and back. With --raftscope DIR (a checkout of
// github.com/ongardie/raftscope, run by hand; nothing of it is part of this project), RaftScope's
// page with five servers is measured the same way.
//
// Needs the wasm built (./scripts/build) and scripts/setup --browser. Prints a table.

import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, option } from './lab-server.mjs';

const opt = option;
const SECONDS = Number(opt('--seconds', '10'));
const RAFTSCOPE = opt('--raftscope', null);
/** `--only b,e`: measure only these cases (letters), e.g. while working on one. */
const ONLY = opt('--only', null);
const wanted = (name) => !ONLY || ONLY.split(',').some((c) => name.startsWith(`(${c})`));

/** A tiny static server for a RaftScope checkout (its own files only). */
function serveDir(dir) {
  const server = http.createServer(async (req, res) => {
    const file = path.join(dir, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!file.startsWith(dir)) return res.writeHead(403).end();
    try {
      const body = await readFile(file.endsWith('/') ? path.join(file, 'index.html') : file);
      const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'text/html';
      res.writeHead(200, { 'content-type': type }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** In the page: counts animation frames and their durations until stopped. */
function frameSampler() {
  window.__frames = [];
  let last = performance.now();
  const tick = (now) => {
    window.__frames.push(now - last);
    last = now;
    if (!window.__stopFrames) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

/**
 * One case: `open` sets the page up; `during` (optional) acts on it while it is measured (it is
 * given the page and the milliseconds measured).
 */
async function measure(browser, name, open, during) {
  if (!wanted(name)) return null;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await open(page, cdp);
  const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  await page.evaluate(frameSampler);
  const before = await metrics();
  const t0 = Date.now();
  await Promise.all([page.waitForTimeout(SECONDS * 1000), during ? during(page, SECONDS * 1000) : null]);
  const after = await metrics();
  const wall = (Date.now() - t0) / 1000;
  const frames = await page.evaluate(() => {
    window.__stopFrames = true;
    return window.__frames.slice(1);
  });
  const sorted = frames.slice().sort((a, b) => a - b);
  const p95 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] : 0;
  const row = {
    name,
    busy: (after.TaskDuration - before.TaskDuration) / wall,
    script: (after.ScriptDuration - before.ScriptDuration) / wall,
    layout: (after.LayoutDuration + after.RecalcStyleDuration - before.LayoutDuration - before.RecalcStyleDuration) / wall,
    frames: frames.length,
    p95,
    heap: after.JSHeapUsedSize / 1024 / 1024,
  };
  await context.close();
  return row;
}

async function lab(page, url, setup) {
  await page.goto(url);
  await page.evaluate(() => document.querySelector('redis-repl-lab').ready);
  if (setup) await page.evaluate(setup);
}

/** The course page with every lab past its first sync and playing (the iframe's too). */
async function course(page, url) {
  await page.goto(`${url}examples/course.html`);
  const playAll = async () => {
    for (const el of document.querySelectorAll('redis-repl-lab')) {
      await el.ready;
      await el.run(20_000);
      el.play();
    }
  };
  await page.evaluate(playAll);
  const frame = page.frames().find((f) => f.url().includes('embed.html'));
  await frame.waitForFunction(() => document.querySelector('redis-repl-lab'));
  await frame.evaluate(playAll);
  await page.evaluate(() => window.scrollTo(0, 0));
}

/** Scrolls the page with the mouse wheel, down to the end and back up, until `ms` have passed. */
async function scrollThrough(page, ms) {
  const end = Date.now() + ms;
  let direction = 1;
  await page.mouse.move(640, 400);
  while (Date.now() < end) {
    await page.mouse.wheel(0, direction * 120);
    await page.waitForTimeout(50);
    const { y, max } = await page.evaluate(() => ({ y: window.scrollY, max: document.scrollingElement.scrollHeight - innerHeight }));
    if ((direction > 0 && y >= max) || (direction < 0 && y <= 0)) direction = -direction;
  }
}

const { child, url } = await startServer();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
const rows = [];
try {
  rows.push(await measure(browser, '(e) blank page', (p) => p.goto(`${url}page.css`)));
  rows.push(await measure(browser, '(a) 3 nodes, idle', (p) => lab(p, url, async () => {
    const el = document.querySelector('redis-repl-lab');
    // Past the first sync: playing, with nothing but heartbeats.
    await el.run(20_000);
  })));
  rows.push(await measure(browser, '(h) 2 nodes, no replication, idle', async (p) => {
    await p.goto(`${url}embed.html?topology=A%3BB&autoplay`);
    await p.evaluate(async () => {
      const el = document.querySelector('redis-repl-lab');
      await el.ready;
      await el.run(20_000);
      el.play();
    });
  }));
  rows.push(await measure(browser, '(b) 8 nodes, 1000 writes/s, full sync of 100k keys', (p) => lab(p, url, async () => {
    const el = document.querySelector('redis-repl-lab');
    el.pause();
    for (let i = 3; i < 8; i++) await el.addNode();
    for (let i = 3; i < 7; i++) await el.exec(i, 'REPLICAOF 127.0.0.1 6379');
    await el.run(15_000);
    await el.exec(0, 'DEBUG POPULATE 100000 key 64');
    await el.exec(0, 'CONFIG SET repl-diskless-sync-delay 0');
    await el.exec(7, 'REPLICAOF 127.0.0.1 6379');
    // The load is an action of the lab (a client writing SET load:N at a steady rate).
    await el.setLoad(0, 1000);
    el.play();
  })));
  rows.push(await measure(browser, '(c) 3 nodes, paused', (p) => lab(p, url, async () => {
    document.querySelector('redis-repl-lab').pause();
  })));
  rows.push(await measure(browser, '(d) 3 nodes, playing, tab hidden', async (p, cdp) => {
    await lab(p, url);
    await cdp.send('Emulation.setFocusEmulationEnabled', { enabled: false });
    await p.evaluate(() => {
      Object.defineProperty(document, 'hidden', { value: true, configurable: true });
      Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
  }));
  rows.push(await measure(browser, '(f) course page, 4 labs playing, 1 in view', (p) => course(p, url)));
  rows.push(await measure(browser, '(g) course page, 4 labs playing, scrolling', (p) => course(p, url), scrollThrough));
  if (RAFTSCOPE) {
    const server = await serveDir(path.resolve(RAFTSCOPE));
    const port = server.address().port;
    rows.push(await measure(browser, 'RaftScope, 5 servers', (p) => p.goto(`http://127.0.0.1:${port}/index.html`)));
    server.close();
  }
} finally {
  await browser.close();
  child.kill('SIGTERM');
}

const measured = rows.filter(Boolean);
const blank = measured.find((r) => r.name.startsWith('(e)'));
const floor = blank ? blank.busy : 0;
const pct = (x) => `${(x * 100).toFixed(1)} %`;
console.log(`\nPage cost over ${SECONDS} s of wall time each (Chromium, 1280 x 800)\n`);
console.log('| case | main thread busy | above blank | script | style+layout | frames | p95 frame | JS heap |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of measured) {
  console.log(`| ${r.name} | ${pct(r.busy)} | ${pct(Math.max(0, r.busy - floor))} | ${pct(r.script)} | ${pct(r.layout)} | ${r.frames} | ${r.p95.toFixed(1)} ms | ${r.heap.toFixed(1)} MB |`);
}
