// End-to-end test of the lab page: serves www/ with scripts/serve.mjs, drives Debian's Chromium
// with playwright-core, and checks load, console commands, replication, and the panic banner.
// Run: node --test tests/e2e/   (needs the wasm package built into www/pkg/)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, copyFile, access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT_DIR = path.join(ROOT, 'test-output', 'e2e');
const SCREENSHOT = path.join(OUT_DIR, 'lab.png');
const DOCS_SCREENSHOT = path.join(ROOT, 'docs', 'screenshot.png');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

let server;
let browser;
let page;
let baseUrl;
const consoleErrors = [];
const pageErrors = [];

function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'serve.mjs'), '--port', '0'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server = child;
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`serve.mjs did not start: ${err}`)), 10_000);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/Redis Replication Lab: (http:\/\/\S+\/)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve.mjs exited early (code ${code}): ${err}`));
    });
  });
}

/** Types a line into a node's console and returns the output lines printed for it. */
async function command(index, line) {
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

async function waitFor(fn, { timeout = 60_000, interval = 250, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

before(async () => {
  await access(path.join(ROOT, 'www', 'pkg', 'redis_repl_lab.js')).catch(() => {
    throw new Error('www/pkg/ is missing: build the wasm package first (wasm-pack build --target web --out-dir www/pkg)');
  });
  baseUrl = await startServer();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1440, height: 900 } });
  page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  // Remember whether the sync ever showed an RDB transfer or a handshake message in the view:
  // these are transient, so watch the DOM from the first moment on.
  await page.addInitScript(() => {
    window.__seen = [];
    const pattern = /RDB|FULLRESYNC|PSYNC/;
    const check = () => {
      const view = document.querySelector('[data-testid="lab-view"]');
      const text = view ? view.textContent : '';
      const m = text.match(pattern);
      if (m && !window.__seen.includes(m[0])) window.__seen.push(m[0]);
    };
    document.addEventListener('DOMContentLoaded', () => {
      new MutationObserver(check).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
  });
});

after(async () => {
  try {
    if (browser) await browser.close();
  } finally {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => {
        const t = setTimeout(() => { server.kill('SIGKILL'); r(); }, 3_000);
        server.once('exit', () => { clearTimeout(t); r(); });
      });
    }
  }
});

function assertNoErrors() {
  assert.deepEqual(pageErrors, [], 'uncaught page errors');
  assert.deepEqual(consoleErrors, [], 'console errors');
}

test('the page loads, draws both nodes, and logs no errors', async () => {
  await page.goto(baseUrl);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
  assert.equal(await page.evaluate(() => window.__lab && window.__lab.ready), true);
  await page.getByTestId('node-0').waitFor({ timeout: 10_000 });
  await page.getByTestId('node-1').waitFor({ timeout: 10_000 });
  assert.match(await page.getByTestId('node-0-address').textContent(), /127\.0\.0\.1:6379/);
  assert.match(await page.getByTestId('node-1-address').textContent(), /127\.0\.0\.1:6380/);
  assert.equal(await page.getByTestId('error-banner').isHidden(), true);
  assertNoErrors();
});

test('a write on the master reaches the replica', async () => {
  assert.deepEqual(await command(0, 'SET k v'), ['OK']);
  await page.getByTestId('speed').selectOption('16');
  if ((await page.getByTestId('play-pause').getAttribute('data-state')) !== 'playing') {
    await page.getByTestId('play-pause').click();
  }
  await waitFor(async () => {
    const reply = await command(1, 'GET k');
    return reply.join('\n') === '"v"';
  }, { timeout: 60_000, interval: 500, what: 'GET k on the replica to return "v"' });
  await waitFor(async () => {
    const [m, r] = await Promise.all([
      page.getByTestId('node-0-offset').getAttribute('data-value'),
      page.getByTestId('node-1-offset').getAttribute('data-value'),
    ]);
    return Number(m) > 0 && m === r;
  }, { timeout: 30_000, what: 'the replica offset to equal the master offset' });
  assert.equal(await page.getByTestId('node-1-role').textContent(), 'slave');
  assert.match(await page.getByTestId('node-1-link').textContent(), /up/);
  await page.getByTestId('speed').selectOption('1');
  await mkdir(OUT_DIR, { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: false });
  await mkdir(path.dirname(DOCS_SCREENSHOT), { recursive: true });
  await copyFile(SCREENSHOT, DOCS_SCREENSHOT);
  assertNoErrors();
});

test('the sync showed an RDB transfer or handshake messages', async () => {
  const seen = await page.evaluate(() => window.__seen);
  if (process.env.E2E_DEBUG) console.error('seen in view:', seen);
  const log = await page.getByTestId('event-log').textContent();
  assert.ok(
    seen.length > 0 || /RDB|FULLRESYNC|PSYNC/.test(log),
    `expected "RDB", "FULLRESYNC" or "PSYNC" in the view or the event log; saw ${JSON.stringify(seen)}`,
  );
  assertNoErrors();
});

test('a panic in the engine shows the error banner', async () => {
  const banner = page.getByTestId('error-banner');
  assert.equal(await banner.isHidden(), true);
  await page.getByTestId('console-input-0').fill('DEBUG PANIC');
  await page.getByTestId('console-input-0').press('Enter');
  await banner.waitFor({ state: 'visible', timeout: 10_000 });
  const message = await page.getByTestId('error-message').textContent();
  assert.ok(message.trim().length > 0, 'the banner shows a message');
  // The page must not have crashed: the banner is the only reaction, no uncaught error.
  assert.deepEqual(pageErrors, [], 'uncaught page errors');
});
