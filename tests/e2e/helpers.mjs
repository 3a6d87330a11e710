// Shared code of the end-to-end tests: starts scripts/serve.mjs on a free port, launches Debian's
// Chromium with playwright-core, collects page and console errors, and drives the consoles.
// Not a *.test.mjs file, so `node --test tests/e2e/` does not run it on its own.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OUT_DIR = path.join(ROOT, 'test-output', 'e2e');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const LAUNCH_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Starts scripts/serve.mjs on a free port; resolves to {child, url}. */
export function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'serve.mjs'), '--port', '0'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve.mjs did not start: ${err}`));
    }, 10_000);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/Redis Replication Lab: (http:\/\/\S+\/)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve.mjs exited early (code ${code}): ${err}`));
    });
  });
}

/** Stops the server this test started (by its own child handle): SIGTERM, then SIGKILL. */
export async function stopServer(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => {
    const t = setTimeout(() => { child.kill('SIGKILL'); r(); }, 3_000);
    child.once('exit', () => { clearTimeout(t); r(); });
  });
}

/**
 * Starts the server and the browser and opens one page (not navigated yet). Page errors and
 * console errors are collected into the returned arrays. initScript, if given, runs in the page
 * before any of its own scripts.
 */
export async function startLab({ initScript } = {}) {
  await access(path.join(ROOT, 'www', 'pkg', 'redis_repl_lab.js')).catch(() => {
    throw new Error('www/pkg/ is missing: build the wasm package first (wasm-pack build --target web --out-dir www/pkg)');
  });
  const lab = { server: null, browser: null, page: null, baseUrl: null, consoleErrors: [], pageErrors: [] };
  const { child, url } = await startServer();
  lab.server = child;
  lab.baseUrl = url;
  try {
    lab.browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    const context = await lab.browser.newContext({ locale: 'en-US', viewport: { width: 1440, height: 900 } });
    lab.page = await context.newPage();
    lab.page.on('console', (msg) => {
      if (msg.type() === 'error') lab.consoleErrors.push(msg.text());
    });
    lab.page.on('pageerror', (err) => lab.pageErrors.push(String(err)));
    if (initScript) await lab.page.addInitScript(initScript);
  } catch (err) {
    await stopLab(lab);
    throw err;
  }
  return lab;
}

/**
 * Starts a lab before a test file's tests, hands it to `use`, and stops it after them (the
 * browser and the server are shared by the file's tests, which run in order).
 */
export function labForFile(use, options) {
  let lab;
  before(async () => {
    lab = await startLab(options);
    use(lab);
  });
  after(async () => {
    await stopLab(lab);
  });
}

/** Closes the browser and stops the server of a lab from startLab(). */
export async function stopLab(lab) {
  if (!lab) return;
  try {
    if (lab.browser) await lab.browser.close();
  } finally {
    await stopServer(lab.server);
  }
}

/**
 * Opens another page in the lab's browser context; its page and console errors go to the same
 * arrays as the first page's. Close it when done.
 */
export async function openPage(lab) {
  const page = await lab.page.context().newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error') lab.consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => lab.pageErrors.push(String(err)));
  return page;
}

/** Navigates a page to a full URL and waits until the engine is loaded. */
export async function loadUrl(page, url) {
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
}

/** Opens the page and waits until the engine is loaded. */
export async function loadPage(lab, query = '') {
  await lab.page.goto(lab.baseUrl + query);
  await lab.page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
}

/** Asserts that the page logged no uncaught error and no console error. */
export function assertNoErrors(lab) {
  assert.deepEqual(lab.pageErrors, [], 'uncaught page errors');
  assert.deepEqual(lab.consoleErrors, [], 'console errors');
}

/** Lines printed in a node's console. */
export async function consoleLines(page, index) {
  return page.getByTestId(`console-output-${index}`).locator('.console__line').allTextContents();
}

/** Types a line into a node's console and returns the output lines printed for it. */
export async function command(page, index, line) {
  const output = page.getByTestId(`console-output-${index}`);
  const before = await output.locator('.console__line').count();
  const input = page.getByTestId(`console-input-${index}`);
  await input.fill(line);
  await input.press('Enter');
  await page.waitForFunction(
    ([i, n]) => document.querySelector(`[data-testid="console-output-${i}"]`).children.length > n + 1,
    [index, before],
    { timeout: 5_000 },
  );
  const lines = await output.locator('.console__line').allTextContents();
  return lines.slice(before + 1);
}

/** Polls fn until it returns something truthy; returns that. */
export async function waitFor(fn, { timeout = 60_000, interval = 250, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Sets the play / pause button to the wanted state (true: virtual time runs). */
export async function setPlaying(page, playing) {
  const button = page.getByTestId('play-pause');
  const state = await button.getAttribute('data-state');
  if ((state === 'playing') !== playing) await button.click();
  await page.waitForFunction((p) => window.__lab && window.__lab.isPlaying() === p, playing, { timeout: 5_000 });
}

/** Waits until the replica's GET k answers the expected reply (e.g. '"v"'). */
export async function waitForReplicaValue(page, index, key, expected, timeout = 60_000) {
  await waitFor(async () => {
    const reply = await command(page, index, `GET ${key}`);
    return reply.join('\n') === expected;
  }, { timeout, interval: 500, what: `GET ${key} on node ${index} to return ${expected}` });
}
