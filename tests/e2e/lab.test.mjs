// End-to-end test of the lab page: serves www/ with scripts/serve.mjs, drives Debian's Chromium
// with playwright-core, and checks load, console commands, replication, and the panic banner.
// Run: node --test tests/e2e/   (needs the wasm package built into www/pkg/)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, copyFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ROOT, OUT_DIR, startLab, stopLab, loadPage, command as runCommand, waitFor, assertNoErrors as noErrors,
} from './helpers.mjs';

const SCREENSHOT = path.join(OUT_DIR, 'lab.png');
const DOCS_SCREENSHOT = path.join(ROOT, 'docs', 'screenshot.png');

let lab;
let page;
let pageErrors;

const command = (index, line) => runCommand(page, index, line);
const assertNoErrors = () => noErrors(lab);

before(async () => {
  // Remember whether the sync ever showed an RDB transfer or a handshake message in the view:
  // these are transient, so watch the DOM from the first moment on.
  lab = await startLab({
    initScript: () => {
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
    },
  });
  page = lab.page;
  pageErrors = lab.pageErrors;
});

after(async () => {
  await stopLab(lab);
});

test('the page loads, draws both nodes, and logs no errors', async () => {
  await loadPage(lab);
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
