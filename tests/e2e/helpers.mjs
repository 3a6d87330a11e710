// Shared code of the end-to-end tests: starts scripts/serve.mjs on a free port, launches Debian's
// Chromium with playwright-core, collects page errors, console errors and CSP violations, and
// drives the <redis-repl-lab> element through its UI and its JS API. Playwright's selectors
// reach into the element's open shadow root. Not a *.test.mjs file, so `node --test tests/e2e/`
// does not run it on its own.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OUT_DIR = path.join(ROOT, 'test-output', 'e2e');
export const DOCS_DIR = path.join(ROOT, 'docs');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const LAUNCH_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
];

/**
 * Starts scripts/serve.mjs on a free port (serving www/, or what `args` say: --root DIR,
 * --no-csp, --host ADDR); resolves to {child, url}.
 */
export function startServer(args = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'serve.mjs'), '--port', '0', ...args], {
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

/** Runs in every page before its own scripts: records CSP violations, wherever they happen. */
function watchCsp() {
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
  }, true);
}

/**
 * Starts the server and the browser and opens one page (not navigated yet). Page errors,
 * console errors and every request the page makes are recorded on the returned object.
 */
export async function startLab({ initScript, viewport = { width: 1280, height: 800 }, locale = 'en-US' } = {}) {
  await access(path.join(ROOT, 'www', 'pkg', 'redis_repl_lab.js')).catch(() => {
    throw new Error('www/pkg/ is missing: build the wasm package first (./scripts/build)');
  });
  const lab = { server: null, browser: null, page: null, baseUrl: null, consoleErrors: [], pageErrors: [], requests: [] };
  const { child, url } = await startServer();
  lab.server = child;
  lab.baseUrl = url;
  try {
    lab.browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    lab.context = await lab.browser.newContext({ locale, viewport });
    // Nothing leaves this machine, whatever a page asks (assertNoErrors reports the asking).
    await lab.context.route((url) => !isLocal(url.href), (route) => route.abort('blockedbyclient'));
    lab.page = await newPage(lab, initScript);
  } catch (err) {
    await stopLab(lab);
    throw err;
  }
  return lab;
}

/** Each page's own errors (the lab's records hold every page's). */
const errorsOf = new WeakMap();

/** A page in the lab's browser context whose errors and requests go to the lab's records. */
export async function newPage(lab, initScript) {
  const page = await lab.context.newPage();
  const own = { consoleErrors: [], pageErrors: [] };
  errorsOf.set(page, own);
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    lab.consoleErrors.push(msg.text());
    own.consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => {
    lab.pageErrors.push(String(err));
    own.pageErrors.push(String(err));
  });
  page.on('request', (req) => lab.requests.push(req.url()));
  await page.addInitScript(watchCsp);
  if (initScript) await page.addInitScript(initScript);
  return page;
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
 * Opens `url` (relative to the server) and waits until the first lab on it is ready; with
 * `paused`, stops its clock at once (tests then move time with `run`).
 */
export async function loadPage(lab, query = '', { page = lab.page, paused = false } = {}) {
  await page.goto(lab.baseUrl + query);
  await ready(page);
  if (paused) await pause(page);
}

/** Waits until lab `n` on the page (default the first) is ready. */
export async function ready(page, n = 0) {
  await page.waitForFunction((k) => document.querySelectorAll('redis-repl-lab').length > k, n, { timeout: 30_000 });
  await page.evaluate((k) => document.querySelectorAll('redis-repl-lab')[k].ready, n);
}

/** Calls a method of the first lab's JS API in the page: api(page, 'exec', 0, 'PING'). */
export function api(page, method, ...args) {
  return apiOf(page, 0, method, ...args);
}

/** Calls a method of lab `n`'s JS API (the page's n-th element) or reads a property of it. */
export function apiOf(page, n, method, ...args) {
  return page.evaluate(([k, m, a]) => {
    const el = document.querySelectorAll('redis-repl-lab')[k];
    return typeof el[m] === 'function' ? el[m](...a) : el[m];
  }, [n, method, args]);
}

/** Pauses virtual time (the test moves it with `run`). */
export function pause(page) {
  return api(page, 'pause');
}

/** Advances virtual time by `ms` deterministically and waits until it is drawn. */
export function run(page, ms) {
  return api(page, 'run', ms);
}

/** The lab's frame snapshot. */
export function state(page) {
  return api(page, 'state');
}

/** A node of the snapshot by index. */
export async function nodeState(page, index) {
  const s = await state(page);
  return s.nodes.find((n) => n.index === index);
}

/** True for a URL on this machine (the test servers) or made by the page itself. */
export function isLocal(url) {
  if (/^(blob|data):/.test(url)) return true;
  return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
}

/**
 * Asserts that the page logged no uncaught error, no console error and no CSP violation, and
 * that no page of the lab's browser asked for anything outside this machine (the lab reaches no
 * network: such a request is also aborted, see startLab).
 */
export async function assertNoErrors(lab, page = lab.page) {
  const own = errorsOf.get(page);
  assert.deepEqual(own.pageErrors, [], 'uncaught page errors');
  assert.deepEqual(own.consoleErrors, [], 'console errors');
  assert.deepEqual(await page.evaluate(() => window.__cspViolations), [], 'CSP violations');
  assert.deepEqual(lab.requests.filter((u) => !isLocal(u)), [], 'requests that left this machine');
}

/** Lines printed in a node's console. */
export async function consoleLines(page, index) {
  return page.getByTestId(`console-output-${index}`).locator('.console__line').allTextContents();
}

/**
 * Types a line into node `index`'s console through the UI (its tab, its input, Enter) and
 * returns the lines printed for it once its reply is there.
 */
export async function command(page, index, line) {
  await page.getByTestId(`console-tab-${index}`).click();
  const output = page.getByTestId(`console-output-${index}`);
  const before = await output.locator('.console__line').count();
  const input = page.getByTestId(`console-input-${index}`);
  await input.fill(line);
  await input.press('Enter');
  await page.waitForFunction(
    ([i, n]) => {
      const lab = document.querySelector('redis-repl-lab');
      const out = lab.shadowRoot.querySelector(`[data-testid="console-output-${i}"]`);
      return out.children.length > n + 1;
    },
    [index, before],
    { timeout: 10_000 },
  );
  const lines = await output.locator('.console__line').allTextContents();
  return lines.slice(before + 1);
}

/** Polls fn until it returns something truthy; returns that. */
export async function waitFor(fn, { timeout = 30_000, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * Advances virtual time in steps of `stepMs` until fn(snapshot) holds, at most `maxMs`; returns
 * the snapshot. Deterministic: the clock only moves when the test says.
 */
export async function runUntil(page, fn, { stepMs = 250, maxMs = 120_000, what = 'condition' } = {}) {
  for (let t = 0; t <= maxMs; t += stepMs) {
    const s = await state(page);
    if (fn(s)) return s;
    await run(page, stepMs);
  }
  throw new Error(`virtual time ran ${maxMs} ms without ${what}`);
}

const require = createRequire(import.meta.url);
let axeSource = null;

/**
 * A page for axe-core: axe sets inline styles while it measures contrast, which the lab's CSP
 * (rightly) refuses, so it runs in a context that bypasses CSP; every other test keeps it.
 */
export async function axePage(lab) {
  if (!lab.axeContext) {
    lab.axeContext = await lab.browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 }, bypassCSP: true });
  }
  return lab.axeContext.newPage();
}

/** Runs axe-core on the page (its shadow roots included) and returns the violations. */
export async function axe(page) {
  if (axeSource === null) axeSource = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  // page.evaluate runs outside the page's CSP, which would refuse an injected script tag.
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')} :: ${n.failureSummary}`),
    }));
  });
}

/** Saves a screenshot under test-output/e2e/ and returns its path. */
export async function screenshot(page, name) {
  const file = path.join(OUT_DIR, name);
  await page.screenshot({ path: file });
  return file;
}
