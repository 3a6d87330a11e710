// End-to-end tests of embedding the lab in other people's pages: the sample course page (three
// labs and an iframe under a strict CSP, independent, the wasm fetched once), the attributes
// (topology, config, language, controls, views, theme, changed at run time, and bad values),
// an off-screen lab that stays still, embed.html on another origin driven by postMessage (and
// deaf to an origin it was not given), dist/ copied under a sub-path of a static host (with
// wasm-url), and the npm package installed from its tarball into a scratch project.
// Run: node --test tests/e2e/   (needs ./scripts/build first: www/pkg/ and dist/)

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, copyFile, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  ROOT, DOCS_DIR, labForFile, newPage, ready, apiOf, assertNoErrors, startServer, stopServer, waitFor, screenshot, axePage, axe,
} from './helpers.mjs';

const run = promisify(execFile);

let lab;
labForFile((l) => {
  lab = l;
});

const scratch = await mkdtemp(path.join(os.tmpdir(), 'lab-embed-'));
const servers = [];
after(async () => {
  for (const s of servers) await stopServer(s);
  await rm(scratch, { recursive: true, force: true });
});

/** Serves a folder with scripts/serve.mjs on its own port (a second origin); returns its URL. */
async function serveFolder(root, ...args) {
  await writeFile(path.join(root, 'favicon.ico'), '');
  const { child, url } = await startServer(['--root', root, ...args]);
  servers.push(child);
  return url;
}

/** Waits until every lab on the page is ready; returns how many there are. */
async function allReady(page) {
  const n = await page.evaluate(() => document.querySelectorAll('redis-repl-lab').length);
  for (let i = 0; i < n; i++) await ready(page, i);
  return n;
}

/** The .wasm files the page's own document fetched (not its iframes'). */
function wasmFetches(page) {
  const urls = [];
  page.on('request', (r) => {
    if (r.url().endsWith('.wasm') && r.frame() === page.mainFrame()) urls.push(r.url());
  });
  return urls;
}

/**
 * Counts the page's requests for work later (window.__wakeups): animation frames and timers,
 * which are what a lab uses to move on while it plays.
 */
function countWakeups() {
  window.__wakeups = 0;
  for (const name of ['requestAnimationFrame', 'setTimeout', 'setInterval']) {
    const original = window[name].bind(window);
    window[name] = (...args) => {
      window.__wakeups += 1;
      return original(...args);
    };
  }
}

/**
 * Waits until `count()` stays the same for half a second and returns it. How soon a page stops
 * scheduling work after it loads or a lab leaves the screen depends on the machine's load (an
 * intersection callback, a timer already set); what the tests assert is that it then stays still.
 */
async function settled(count, what) {
  let last = await count();
  return waitFor(async () => {
    await new Promise((r) => setTimeout(r, 500));
    const now = await count();
    const still = now === last;
    last = now;
    return still ? { now } : null;
  }, { timeout: 15_000, what }).then((r) => r.now);
}

/** Adds a lab with these attributes to the page, recording its events; resolves once it is ready. */
function addLab(page, attributes) {
  return page.evaluate(async (attrs) => {
    const el = document.createElement('redis-repl-lab');
    el.__events = [];
    for (const type of ['lab-ready', 'lab-error', 'lab-state']) el.addEventListener(type, (e) => el.__events.push({ type, detail: e.detail }));
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    document.querySelector('article').append(el);
    await el.ready;
    return document.querySelectorAll('redis-repl-lab').length - 1;
  }, attributes);
}

/** Runs lab `n`'s clock until every replica is in sync; returns the snapshot. */
async function syncedOf(page, n) {
  for (let t = 0; t <= 60_000; t += 500) {
    const s = await apiOf(page, n, 'state');
    if (s.links.every((l) => l.state === 'connected')) return s;
    await apiOf(page, n, 'run', 500);
  }
  throw new Error('the replicas did not get in sync in 60 s of virtual time');
}

/** Text of an element inside lab `n`'s shadow root, or null. */
function shadowText(page, n, selector) {
  return page.evaluate(([k, sel]) => {
    const el = document.querySelectorAll('redis-repl-lab')[k].shadowRoot.querySelector(sel);
    return el ? el.textContent : null;
  }, [n, selector]);
}

/** Whether an element inside lab `n`'s shadow root takes up room on the page. */
function shown(page, n, selector) {
  return page.evaluate(([k, sel]) => {
    const el = document.querySelectorAll('redis-repl-lab')[k].shadowRoot.querySelector(sel);
    return Boolean(el && el.getClientRects().length > 0);
  }, [n, selector]);
}

test('the course page loads its three labs and its iframe under a strict CSP, with the wasm fetched once', async () => {
  const page = await newPage(lab);
  const wasm = wasmFetches(page);
  await page.goto(`${lab.baseUrl}examples/course.html`);
  assert.equal(await allReady(page), 3);
  const csp = await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]').content);
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  assert.deepEqual(wasm, [`${lab.baseUrl}pkg/redis_repl_lab_bg.wasm`], 'three labs, one fetch');

  // Each lab is what its attributes say.
  const shapes = [];
  for (let i = 0; i < 3; i++) {
    const s = await apiOf(page, i, 'state');
    shapes.push(s.links.map((l) => `${s.nodes[l.replica].name}>${s.nodes[l.master].name}`).join(' '));
  }
  assert.deepEqual(shapes, ['B>A C>A', 'B>A C>A', 'B>A C>B']);
  assert.equal(await apiOf(page, 1, 'now'), 14_000, 'the pinned run opens where it was shared');
  assert.equal(await shown(page, 2, '[data-testid="add-node"]'), false, 'controls="minimal" has no Add node');
  assert.equal(await shown(page, 2, '[data-testid="play-pause"]'), true);

  await page.evaluate(() => document.querySelectorAll('redis-repl-lab')[2].scrollIntoView({ block: 'center' }));
  await apiOf(page, 2, 'run', 3000);
  await copyFile(await screenshot(page, 'course.png'), path.join(DOCS_DIR, 'course.png'));

  const frame = page.frames().find((f) => f.url().includes('embed.html'));
  await frame.waitForFunction(() => document.querySelector('redis-repl-lab') !== null);
  await frame.evaluate(() => document.querySelector('redis-repl-lab').ready);
  assert.equal(await frame.evaluate(() => document.querySelector('redis-repl-lab').nodeCount), 2);
  await assertNoErrors(lab, page);
  await page.close();
});

test('axe-core finds no violation on the course page, in English and in Chinese', async () => {
  for (const file of ['course.html', 'course.zh-CN.html']) {
    const page = await axePage(lab);
    await page.goto(`${lab.baseUrl}examples/${file}`);
    await allReady(page);
    assert.deepEqual(await axe(page), [], file);
    await page.close();
  }
});

test('labs on one page are independent: a command in one is not in another', async () => {
  const page = await newPage(lab);
  await page.goto(`${lab.baseUrl}examples/course.html`);
  await allReady(page);
  assert.equal(await apiOf(page, 0, 'exec', 0, 'SET only-in-the-first 1'), 'OK');
  assert.equal(await apiOf(page, 0, 'exec', 0, 'EXISTS only-in-the-first'), '(integer) 1');
  assert.equal(await apiOf(page, 2, 'exec', 0, 'EXISTS only-in-the-first'), '(integer) 0');
  assert.equal(await apiOf(page, 1, 'exec', 0, 'EXISTS only-in-the-first'), '(integer) 0');
  await apiOf(page, 0, 'run', 2000);
  assert.equal(await apiOf(page, 0, 'now'), 2000);
  assert.equal(await apiOf(page, 2, 'now'), 0, 'the other clocks did not move');
  assert.equal(await apiOf(page, 1, 'now'), 14_000);
  const log0 = await apiOf(page, 0, 'actionLog');
  const log2 = await apiOf(page, 2, 'actionLog');
  assert.match(log0, /SET%20only-in-the-first/);
  assert.doesNotMatch(log2, /SET%20only-in-the-first/);
  await assertNoErrors(lab, page);
  await page.close();
});

test('attributes set up the topology, config, language, controls, views and theme; live ones change at run time', async () => {
  const page = await newPage(lab);
  await page.goto(`${lab.baseUrl}examples/course.html`);
  await allReady(page);
  const i = await addLab(page, {
    topology: 'A;B>A;C>B;D>A', config: '*:repl-backlog-size 64kb;B:repl-diskless-sync no', seed: '7',
    lang: 'zh-CN', controls: 'none', views: 'stage,log', theme: 'dark', height: '420',
  });
  const s = await syncedOf(page, i);
  assert.deepEqual(s.nodes.map((n) => n.name), ['A', 'B', 'C', 'D']);
  assert.deepEqual(s.links.map((l) => [s.nodes[l.replica].name, s.nodes[l.master].name, l.state]),
    [['B', 'A', 'connected'], ['C', 'B', 'connected'], ['D', 'A', 'connected']]);
  for (let n = 0; n < 4; n++) {
    assert.equal(await apiOf(page, i, 'exec', n, 'CONFIG GET repl-backlog-size'), '1) "repl-backlog-size"\n2) "65536"');
  }
  assert.equal(await apiOf(page, i, 'exec', 1, 'CONFIG GET repl-diskless-sync'), '1) "repl-diskless-sync"\n2) "no"');
  assert.equal(await apiOf(page, i, 'exec', 0, 'CONFIG GET repl-diskless-sync'), '1) "repl-diskless-sync"\n2) "yes"');

  // Language: the lab's words in Chinese, Redis's own words as they are.
  assert.equal(await shadowText(page, i, '[data-testid="play-pause"]'), '▶ 播放');
  assert.equal(await page.evaluate((k) => document.querySelectorAll('redis-repl-lab')[k].shadowRoot.querySelector('.lab').lang, i), 'zh-CN');
  // controls="none": nothing to press; views: the stage and the log only; theme: dark.
  const expectShown = async (expected) => {
    for (const [selector, want] of Object.entries(expected)) assert.equal(await shown(page, i, selector), want, selector);
  };
  await expectShown({ '.toolbar': false, '.timeline': false, '.pane--console': false, '.pane--side': false, '.pane--stage': true, '.card__menu': false });
  const colours = () => page.evaluate((k) => {
    const style = getComputedStyle(document.querySelectorAll('redis-repl-lab')[k].shadowRoot.querySelector('.lab'));
    return [style.color, style.backgroundColor];
  }, i);
  assert.deepEqual(await colours(), ['rgb(230, 237, 243)', 'rgb(13, 17, 23)']);
  assert.equal(await page.evaluate((k) => document.querySelectorAll('redis-repl-lab')[k].clientHeight, i), 420, 'height="420"');

  // Live attributes: the lab follows at once.
  await page.evaluate((k) => {
    const el = document.querySelectorAll('redis-repl-lab')[k];
    el.setAttribute('lang', 'en');
    el.setAttribute('controls', 'minimal');
    el.setAttribute('theme', 'light');
    el.setAttribute('views', 'stage,console,inspector');
  }, i);
  assert.equal(await shadowText(page, i, '[data-testid="play-pause"]'), '▶ Play');
  await expectShown({
    '.toolbar': true, '[data-testid="play-pause"]': true, '[data-testid="add-node"]': false, '[data-testid="speed"]': false,
    '.pane--console': true, '.pane--side': true, '.pane--log': false,
  });
  assert.equal((await colours())[0], 'rgb(31, 35, 40)');
  // A height gives way to an aspect ratio: the box follows the element's width.
  const box = await page.evaluate((k) => {
    const el = document.querySelectorAll('redis-repl-lab')[k];
    el.removeAttribute('height');
    el.setAttribute('aspect-ratio', '16 / 10');
    return { ratio: getComputedStyle(el).aspectRatio, width: el.clientWidth, height: el.clientHeight };
  }, i);
  assert.equal(box.ratio, '16 / 10');
  assert.ok(Math.abs(box.height - (box.width * 10) / 16) <= 1, JSON.stringify(box));
  const events = await page.evaluate((k) => document.querySelectorAll('redis-repl-lab')[k].__events.map((e) => e.type), i);
  assert.ok(events.includes('lab-ready'));
  assert.ok(events.includes('lab-state'));
  assert.ok(!events.includes('lab-error'), `no lab-error: ${events}`);
  await screenshot(page, 'embed-attributes.png');
  await assertNoErrors(lab, page);
  await page.close();
});

test('the labs fit a 360 px phone column without sideways scrolling; host and lab styles stay apart; custom properties theme it', async () => {
  const page = await newPage(lab);
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto(`${lab.baseUrl}examples/course.html`);
  await allReady(page);
  for (let i = 0; i < 3; i++) await page.evaluate((k) => document.querySelectorAll('redis-repl-lab')[k].scrollIntoView(), i);
  assert.equal(await page.evaluate(() => document.scrollingElement.scrollWidth), 360, 'no horizontal scroll on the page');
  const widths = await page.evaluate(() => [...document.querySelectorAll('redis-repl-lab')].map((el) => {
    const root = el.shadowRoot.querySelector('.lab');
    return [root.scrollWidth <= root.clientWidth, root.getAttribute('data-layout')];
  }));
  assert.deepEqual(widths, [[true, 'narrow'], [true, 'narrow'], [true, 'narrow']]);
  await page.evaluate(() => document.querySelectorAll('redis-repl-lab')[0].scrollIntoView());
  await copyFile(await screenshot(page, 'course-phone.png'), path.join(DOCS_DIR, 'course-phone.png'));

  // The host's rules do not reach into the lab, nor the lab's out; the custom properties do.
  const looks = await page.evaluate(() => {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync('button { background: rgb(255, 0, 0) !important; } * { font-family: serif !important; color: rgb(255, 0, 0) !important; }');
    document.adoptedStyleSheets = [sheet];
    const el = document.querySelector('redis-repl-lab');
    el.style.setProperty('--lab-accent', 'rgb(1, 2, 3)');
    const play = el.shadowRoot.querySelector('[data-testid="play-pause"]');
    const hostButton = document.createElement('button');
    document.body.append(hostButton);
    document.adoptedStyleSheets = [];
    const ownButton = getComputedStyle(hostButton).backgroundColor;
    document.adoptedStyleSheets = [sheet];
    const log = el.shadowRoot.querySelector('.eventlog');
    return {
      play: getComputedStyle(play).backgroundColor,
      font: getComputedStyle(log).fontFamily,
      color: getComputedStyle(log).color,
      hostButton: ownButton,
    };
  });
  assert.equal(looks.play, 'rgb(1, 2, 3)', 'the accent colour comes from --lab-accent');
  assert.doesNotMatch(looks.font, /^serif/, 'the host page\'s font rule stays outside');
  assert.equal(looks.color, 'rgb(31, 35, 40)', 'and its colour rule');
  assert.notEqual(looks.hostButton, 'rgb(1, 2, 3)', 'the lab\'s button style stays inside');
  await assertNoErrors(lab, page);
  await page.close();
});

test('a lab without lang speaks its page\'s language', async () => {
  const page = await newPage(lab);
  await page.goto(`${lab.baseUrl}examples/course.zh-CN.html`);
  await allReady(page);
  const i = await addLab(page, { nodes: '1' });
  assert.equal(await shadowText(page, i, '[data-testid="play-pause"]'), '▶ 播放');
  const j = await addLab(page, { nodes: '1', lang: 'auto' });
  assert.equal(await shadowText(page, j, '[data-testid="play-pause"]'), '▶ 播放');
  await page.close();
});

test('bad attributes show what is wrong inside the lab, fire lab-error, and the lab still runs', async () => {
  const page = await newPage(lab);
  await page.goto(`${lab.baseUrl}examples/course.html`);
  await allReady(page);
  const i = await addLab(page, { nodes: '12', speed: '3', theme: 'neon', topology: 'A;B>B' });
  const banner = await shadowText(page, i, '[data-testid="error-message"]');
  assert.match(banner, /nodes must be a whole number from 1 to 8 \(got “12”\)/);
  assert.match(banner, /topology: B cannot be a replica of itself/);
  assert.match(banner, /theme must be one of light, dark, auto \(got “neon”\)/);
  assert.match(banner, /speed must be one of 0\.25, 1, 4, 16 \(got “3”\)/);
  assert.equal(await shown(page, i, '[data-testid="error-banner"]'), true);
  const errors = await page.evaluate((k) => document.querySelectorAll('redis-repl-lab')[k].__events.filter((e) => e.type === 'lab-error').map((e) => [e.detail.code, e.detail.attribute]), i);
  assert.deepEqual(errors.sort(), [['bad-attribute', 'nodes'], ['bad-attribute', 'speed'], ['bad-attribute', 'theme'], ['bad-attribute', 'topology']]);
  // The defaults: three nodes, B and C replicas of A, at speed 1.
  assert.equal(await apiOf(page, i, 'nodeCount'), 3);
  await syncedOf(page, i);
  assert.equal(await apiOf(page, i, 'exec', 0, 'SET k v'), 'OK');
  await apiOf(page, i, 'run', 1000);
  assert.equal(await apiOf(page, i, 'exec', 2, 'GET k'), '"v"');
  assert.equal(await page.evaluate((k) => document.querySelectorAll('redis-repl-lab')[k].shadowRoot.querySelector('[data-testid="speed"]').value, i), '1');
  // A bad value set at run time is reported the same way; a good one clears nothing else.
  await page.evaluate((k) => document.querySelectorAll('redis-repl-lab')[k].setAttribute('controls', 'some'), i);
  assert.match(await shadowText(page, i, '[data-testid="error-message"]'), /controls must be one of full, minimal, none \(got “some”\)/);
  await page.close();
});

test('an off-screen lab asks for no animation frame or timer, and its clock stands still until it is scrolled into view', async () => {
  const page = await newPage(lab, countWakeups);
  await page.goto(`${lab.baseUrl}examples/course.html`);
  await allReady(page);
  const i = await addLab(page, { nodes: '2', autoplay: '' });
  await page.evaluate(() => window.scrollTo(0, 0));
  const below = await page.evaluate((k) => document.querySelectorAll('redis-repl-lab')[k].getBoundingClientRect().top, i);
  assert.ok(below > 800 * 3, `the lab is far below the fold (${below} px)`);
  const wakeups = () => page.evaluate(() => window.__wakeups);
  const before = await settled(wakeups, 'the page to stop scheduling work');
  await page.waitForTimeout(1500);
  assert.equal(await wakeups(), before, 'nothing scheduled while the only playing lab is off screen');
  assert.equal(await apiOf(page, i, 'now'), 0);
  assert.equal(await apiOf(page, i, 'playing'), true, 'it is playing, only not seen');

  await page.evaluate((k) => document.querySelectorAll('redis-repl-lab')[k].scrollIntoView(), i);
  await waitFor(() => apiOf(page, i, 'now').then((t) => t > 500), { timeout: 10_000, what: 'the clock to run once seen' });
  assert.ok(await wakeups() > before);

  await page.evaluate(() => window.scrollTo(0, 0));
  const after = await settled(wakeups, 'the lab to stop once scrolled away');
  const t = await apiOf(page, i, 'now');
  await page.waitForTimeout(1000);
  assert.equal(await apiOf(page, i, 'now'), t, 'scrolled away, it stops again');
  assert.equal(await wakeups(), after);
  await assertNoErrors(lab, page);
  await page.close();
});

test('embed.html on another origin answers the postMessage API and ignores other origins and malformed messages', async () => {
  const site = path.join(scratch, 'host');
  await mkdir(site, { recursive: true });
  await writeFile(path.join(site, 'rogue.html'), '<!doctype html><html lang="en"><title>another site</title></html>\n');
  await writeFile(path.join(site, 'host.css'), '#lab { width: 900px; height: 560px; }\n');
  const hostUrl = await serveFolder(site, '--no-csp');
  const rogueUrl = await serveFolder(site, '--no-csp');
  const embedOrigin = new URL(lab.baseUrl).origin;
  const hostOrigin = new URL(hostUrl).origin;
  await writeFile(path.join(site, 'index.html'), `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self'; frame-src ${embedOrigin} ${new URL(rogueUrl).origin}">
<title>A course on another origin</title><link rel="stylesheet" href="host.css"></head>
<body><iframe id="lab" title="lab" src="${embedOrigin}/embed.html?nodes=2&amp;origins=${encodeURIComponent(hostOrigin)}"></iframe>
<iframe id="rogue" title="another site" src="${rogueUrl}rogue.html"></iframe></body></html>
`);
  const page = await newPage(lab, () => {
    window.__messages = [];
    window.addEventListener('message', (e) => {
      if (e.data && e.data.lab === 1) window.__messages.push({ origin: e.origin, ...e.data });
    });
  });
  await page.goto(hostUrl);
  const messages = () => page.evaluate(() => window.__messages);
  await waitFor(async () => (await messages()).some((m) => m.event === 'lab-ready'), { what: 'lab-ready from the iframe' });
  assert.ok((await messages()).every((m) => m.origin === embedOrigin));

  const post = (message) => page.evaluate(([m, o]) => document.getElementById('lab').contentWindow.postMessage(m, o), [message, embedOrigin]);
  const reply = (id) => waitFor(async () => (await messages()).find((m) => m.id === id), { timeout: 10_000, what: `reply ${id}` });
  await post({ lab: 1, id: 1, method: 'exec', args: [0, 'SET course 1'] });
  assert.deepEqual(await reply(1), { origin: embedOrigin, lab: 1, id: 1, result: 'OK' });
  await post({ lab: 1, id: 2, method: 'nodeCount' });
  assert.equal((await reply(2)).result, 2);
  await post({ lab: 1, id: 3, method: 'run', args: [6000] });
  assert.equal((await reply(3)).result, 6000);
  // Until the first sync is done (virtual time moves only when the host says).
  for (let k = 0; k < 20; k++) {
    await post({ lab: 1, id: 100 + k, method: 'state' });
    if ((await reply(100 + k)).result.links[0].state === 'connected') break;
    await post({ lab: 1, id: 200 + k, method: 'run', args: [1000] });
    await reply(200 + k);
  }
  await post({ lab: 1, id: 4, method: 'exec', args: [1, 'GET course'] });
  assert.equal((await reply(4)).result, '"1"', 'the replica got the write');
  await post({ lab: 1, id: 5, method: 'exec', args: [7, 'PING'] });
  assert.equal((await reply(5)).error.code, 'no-node');
  await post({ lab: 1, id: 6, method: 'state' });
  assert.deepEqual((await reply(6)).result.nodes.map((n) => n.role), ['master', 'slave']);
  // Trace events reach the host: exactly one PSYNC decision, A refusing B's request for its own
  // history (a node that was a master asks with its own replication id) with a full resync.
  const psyncs = (await messages()).filter((m) => m.event === 'lab-event' && m.detail.kind === 'psync').map((m) => m.detail);
  assert.deepEqual(psyncs.map((d) => [d.node, d.replicaPort, d.accepted, d.reason, d.bytes]), [[0, 6380, false, 'idMismatch', 0]],
    JSON.stringify(psyncs));
  assert.ok((await messages()).some((m) => m.event === 'lab-state'));

  // Malformed, not allowed, or from an origin not in the list: no answer, no effect.
  await post('SET bad 1');
  await post({ lab: 1, id: 7 });
  await post({ lab: 1, id: 8, method: 'removeAttribute', args: ['nodes'] });
  await post({ lab: 2, id: 9, method: 'exec', args: [0, 'SET bad 1'] });
  await post({ lab: 1, id: 10, method: 'exec', args: 'SET bad 1' });
  const rogue = page.frames().find((f) => f.url().startsWith(rogueUrl));
  await rogue.evaluate(() => {
    window.__answers = [];
    window.addEventListener('message', (e) => window.__answers.push(e.data));
    window.parent.frames[0].postMessage({ lab: 1, id: 11, method: 'exec', args: [0, 'SET rogue 1'] }, '*');
  });
  await post({ lab: 1, id: 12, method: 'exec', args: [0, 'EXISTS bad rogue'] });
  assert.equal((await reply(12)).result, '(integer) 0');
  await page.waitForTimeout(500);
  const ids = (await messages()).filter((m) => m.id !== undefined && m.id < 100).map((m) => m.id);
  assert.deepEqual(ids, [1, 2, 3, 4, 5, 6, 12], 'only well-formed calls from the host are answered');
  assert.deepEqual(await rogue.evaluate(() => window.__answers), [], 'the other origin hears nothing');
  await page.close();
});

test('dist/ works from a sub-path of a static host, with wasm-url for assets kept elsewhere', async () => {
  const dist = path.join(ROOT, 'dist');
  await access(path.join(dist, 'lab', 'redis-repl-lab.js')).catch(() => {
    throw new Error('dist/ is missing: ./scripts/build assembles it');
  });
  const site = path.join(scratch, 'site');
  const course = path.join(site, 'courses', 'redis');
  await mkdir(path.join(site, 'assets'), { recursive: true });
  await cp(dist, path.join(course, 'lab'), { recursive: true });
  await copyFile(path.join(dist, 'pkg', 'redis_repl_lab_bg.wasm'), path.join(site, 'assets', 'engine.wasm'));
  const lesson = (body) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Lesson</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'">
<script type="module" src="lab/lab/redis-repl-lab.js"></script></head>
<body><article>${body}</article></body></html>
`;
  await writeFile(path.join(course, 'one.html'), lesson('<redis-repl-lab nodes="2" height="420"></redis-repl-lab>'));
  await writeFile(path.join(course, 'two.html'), lesson('<redis-repl-lab nodes="1" height="420" wasm-url="/assets/engine.wasm"></redis-repl-lab>'));
  const base = await serveFolder(site);

  for (const [file, wasmUrl, nodes] of [
    ['one.html', `${base}courses/redis/lab/pkg/redis_repl_lab_bg.wasm`, 2],
    ['two.html', `${base}assets/engine.wasm`, 1],
  ]) {
    const page = await newPage(lab);
    const wasm = wasmFetches(page);
    await page.goto(`${base}courses/redis/${file}`);
    await ready(page);
    assert.deepEqual(wasm, [wasmUrl], file);
    assert.equal(await apiOf(page, 0, 'nodeCount'), nodes);
    assert.equal(await apiOf(page, 0, 'exec', 0, 'PING'), 'PONG');
    await assertNoErrors(lab, page);
    await page.close();
  }
  for (const file of ['index.html', 'embed.html?nodes=3']) {
    const page = await newPage(lab);
    await page.goto(`${base}courses/redis/lab/${file}`);
    await ready(page);
    assert.equal(await apiOf(page, 0, 'exec', 0, 'PING'), 'PONG', file);
    await assertNoErrors(lab, page);
    await page.close();
  }
});

test('the npm pack tarball installs into a scratch project, resolves, and registers the element', async () => {
  const packs = path.join(scratch, 'packs');
  await mkdir(packs, { recursive: true });
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', packs], { cwd: ROOT });
  const tarball = path.join(packs, stdout.trim().split('\n').pop());
  const { stdout: listing } = await run('tar', ['-tzf', tarball]);
  const files = listing.trim().split('\n');
  for (const f of ['package/package.json', 'package/README.md', 'package/dist/lab/redis-repl-lab.js', 'package/dist/pkg/redis_repl_lab_bg.wasm',
    'package/dist/redis-repl-lab.d.ts', 'package/dist/embed.html', 'package/dist/lab/i18n/zh-CN.js']) {
    assert.ok(files.includes(f), `${f} is in the package`);
  }
  assert.ok(!files.some((f) => f.startsWith('package/src/') || f.startsWith('package/target/')), 'only what a course site needs');

  const app = path.join(scratch, 'app');
  await mkdir(app, { recursive: true });
  await writeFile(path.join(app, 'package.json'), '{ "name": "course-site", "private": true, "type": "module" }\n');
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: app });
  const { stdout: resolved } = await run(process.execPath, ['--input-type=module', '-e', "console.log(import.meta.resolve('redis-repl-lab'))"], { cwd: app });
  assert.equal(resolved.trim(), `file://${path.join(app, 'node_modules', 'redis-repl-lab', 'dist', 'lab', 'redis-repl-lab.js')}`);
  await access(path.join(app, 'node_modules', 'redis-repl-lab', 'dist', 'redis-repl-lab.d.ts'));

  // A site without a bundler maps the bare name with an import map, then `import 'redis-repl-lab'`.
  await writeFile(path.join(app, 'index.html'), `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Course site</title>
<script type="importmap">{ "imports": { "redis-repl-lab": "./node_modules/redis-repl-lab/dist/lab/redis-repl-lab.js" } }</script>
<script type="module" src="main.js"></script></head>
<body><redis-repl-lab nodes="2" height="420"></redis-repl-lab></body></html>
`);
  await writeFile(path.join(app, 'main.js'), "import 'redis-repl-lab';\n");
  const base = await serveFolder(app, '--no-csp');
  const page = await newPage(lab);
  await page.goto(base);
  await ready(page);
  assert.equal(await page.evaluate(() => customElements.get('redis-repl-lab').name), 'RedisReplLab');
  assert.equal(await apiOf(page, 0, 'exec', 1, 'PING'), 'PONG');
  await assertNoErrors(lab, page);
  await page.close();
});
