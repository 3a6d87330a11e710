#!/usr/bin/env node
// The first frame: from navigation to an interactive lab (the element's `lab-ready`: the engine
// runs, the stage and the consoles are drawn and take input), in Debian's Chromium through
// playwright-core, with a cold cache (a fresh browser context each time) and a warm one (the
// same context, reloaded). Also the page's first contentful paint, and when the wasm module's
// response ended (what the download and the server cost), and the element's milestones: its
// views built, its engine running (the wasm compiled, the Worker answering), its world created.
// Medians of --runs (default 7).
//
//   node benches/first-frame.mjs [--runs 7] [--page index.html]
//
// Needs the wasm built (./scripts/build) and scripts/setup --browser. Prints a table.

import { chromium } from 'playwright-core';
import { startServer, option } from './lab-server.mjs';

const RUNS = Number(option('--runs', '7'));
const PAGE = option('--page', 'index.html');

// Runs in the page before its own scripts: notes when the lab is ready (ms since navigation).
function watchReady() {
  document.addEventListener('lab-ready', () => { window.__labReady = performance.now(); }, { once: true });
}

/** One load of the page: its milestones in ms since navigation started. */
async function measure(page, load) {
  await load();
  await page.waitForFunction(() => window.__labReady !== undefined, null, { timeout: 30_000 });
  return page.evaluate(() => {
    const paint = performance.getEntriesByName('first-contentful-paint')[0];
    const wasm = performance.getEntriesByType('resource').find((e) => e.name.endsWith('.wasm'));
    const mark = (name) => performance.getEntriesByName(name)[0]?.startTime ?? NaN;
    return {
      ready: window.__labReady,
      fcp: paint ? paint.startTime : NaN,
      wasm: wasm ? wasm.responseEnd : NaN,
      built: mark('lab:built'),
      engine: mark('lab:engine'),
      created: mark('lab:created'),
    };
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

const { child, url } = await startServer();
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const target = new URL(PAGE, url).href;
  const cold = [];
  for (let i = 0; i < RUNS; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.addInitScript(watchReady);
    cold.push(await measure(page, () => page.goto(target)));
    await context.close();
  }
  const warm = [];
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.addInitScript(watchReady);
  await measure(page, () => page.goto(target));
  for (let i = 0; i < RUNS; i++) warm.push(await measure(page, () => page.reload()));
  await context.close();

  const row = (name, runs) => {
    const col = (k) => `${median(runs.map((r) => r[k])).toFixed(0)} ms`;
    return `| ${name} | ${col('ready')} | ${col('fcp')} | ${col('wasm')} | ${col('built')} | ${col('engine')} | ${col('created')} |`;
  };
  console.log(`first frame of ${PAGE}: medians of ${RUNS} loads, ms since navigation (Chromium, 1280 × 800, this machine)\n`);
  console.log('| cache | interactive lab (lab-ready) | first contentful paint | wasm downloaded | views built | engine running | world created |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  console.log(row('cold (new context)', cold));
  console.log(row('warm (reload)', warm));
} finally {
  await browser.close();
  child.kill();
}
