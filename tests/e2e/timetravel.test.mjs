// End-to-end tests of time travel and shared runs: the slider follows the clock and seeks back
// (the past is shown, consoles marked), acting in the past forks the run, "Copy link" puts the
// engine's action log in the URL as it is and the link rebuilds the run at the same moment
// without playing it, a link holding no valid run starts a working default lab, "Next event" and
// the ← key move between events. Virtual time only moves when a test says so.
// Run: node --test tests/e2e/timetravel.test.mjs   (needs the wasm package built into www/pkg/)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  labForFile, loadPage, ready, newPage, api, pause, run, state, command, consoleLines, runUntil, waitFor,
  assertNoErrors,
} from './helpers.mjs';

let lab;
let page;
labForFile((l) => {
  lab = l;
  page = l.page;
});

const A = 0;
const C = 2;

const nodeOf = (s, index) => s.nodes.find((n) => n.index === index);
const synced = (s) => s.links.length === 2 && s.links.every((l) => l.state === 'connected')
  && nodeOf(s, A).replicas.every((r) => !r.awaitingFirstAck);
const caughtUp = (s) => synced(s)
  && s.nodes.filter((n) => n.index !== A).every((n) => n.slaveReplOffset === nodeOf(s, A).masterReplOffset);

/** A fresh default lab on `p`, paused, run until both replicas are in sync and streaming. */
async function syncedLab(p = page) {
  await loadPage(lab, '', { page: p, paused: true });
  return runUntil(p, synced, { what: 'both replicas in sync' });
}

/** The slider's value and end, and the lab's clock, read in one go. */
function timeline(p = page) {
  return p.evaluate(() => {
    const el = document.querySelector('redis-repl-lab');
    const slider = el.shadowRoot.querySelector('[data-testid="time-slider"]');
    return { now: el.now, value: Number(slider.value), max: Number(slider.max) };
  });
}

/** Moves the slider to `ms` as a drag does (input events, then change) and waits for the seek. */
async function drag(ms) {
  await page.getByTestId('time-slider').evaluate((el, v) => {
    el.value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, ms);
  await waitFor(async () => Math.abs((await api(page, 'now')) - ms) < 0.01, { what: `the lab at ${ms} ms` });
  await state(page); // both seeks (input, change) answered and drawn
}

const seconds = (ms) => `${(ms / 1000).toFixed(3)} s`;

test('the slider follows the clock; dragged back before a write, the replica has no key', async () => {
  await syncedLab();
  let t = await timeline();
  assert.deepEqual([t.value, t.max], [t.now, t.now], 'at the end of the run');
  await run(page, 1234);
  t = await timeline();
  assert.deepEqual([t.value, t.max], [t.now, t.now], 'after 1.234 virtual seconds');
  assert.equal(await page.getByTestId('time-value').textContent(), `${seconds(t.now)} of ${seconds(t.now)}`);
  assert.equal(await page.getByTestId('clock').textContent(), seconds(t.now));
  // While playing too (a little wall time, then paused): the slider is where the clock is.
  await page.getByTestId('play-pause').click();
  await waitFor(async () => (await api(page, 'now')) > t.now + 200, { what: 'the clock to move' });
  await page.getByTestId('play-pause').click();
  assert.equal(await page.getByTestId('play-pause').getAttribute('data-state'), 'paused');
  await state(page);
  t = await timeline();
  assert.deepEqual([t.value, t.max], [t.now, t.now], 'after playing');

  const beforeSet = Math.floor(t.now);
  await run(page, 1);
  assert.deepEqual(await command(page, A, 'SET k v'), ['OK']);
  await runUntil(page, caughtUp, { what: 'the write to reach the replicas' });
  assert.deepEqual(await command(page, C, 'GET k'), ['"v"']);
  await run(page, 2000);
  const horizon = (await timeline()).max;
  assert.equal(await page.getByTestId('timeline-note').textContent(), '', 'at the end: no note');

  await drag(beforeSet);
  t = await timeline();
  assert.equal(t.now, beforeSet);
  assert.equal(t.value, beforeSet, 'the slider stays where it was dropped');
  assert.equal(t.max, horizon, 'the recorded run still ends where it did');
  assert.match(await page.getByTestId('timeline-note').textContent(), /^You are looking at the past\./);
  assert.equal(await page.getByTestId('timeline').getAttribute('data-past'), 'true');
  assert.equal(await page.getByTestId('clock').textContent(), seconds(beforeSet));
  for (const i of [0, 1, 2]) {
    const last = (await consoleLines(page, i)).at(-1);
    assert.ok(last.startsWith('— jumped to'), `console ${i} ends with a separator: ${last}`);
    assert.equal(last, `— jumped to ${(beforeSet / 1000).toFixed(3)} s: the lines above belong to another moment —`);
  }
  const s = await state(page);
  assert.equal(nodeOf(s, C).dbsize, 0, 'C holds no key at that moment');
  assert.deepEqual(await command(page, C, 'GET k'), ['(nil)'], 'GET typed in the past: no key yet');
  await assertNoErrors(lab);
});

test('acting in the past forks the run: the recorded future is gone', async () => {
  await syncedLab();
  const t0 = Math.floor(await api(page, 'now'));
  assert.deepEqual(await command(page, A, 'SET doomed 1'), ['OK']);
  await run(page, 3000);
  const before = await timeline();
  assert.ok(Math.abs(before.max - (t0 + 3000)) < 1, `the run is recorded up to now (${before.max})`);
  assert.ok((await api(page, 'actionLog')).includes('SET%20doomed%201'));

  await drag(t0 - 500);
  let t = await timeline();
  assert.ok(t.max > t.now, `a future is recorded beyond now (${t.now} < ${t.max})`);
  assert.deepEqual(await command(page, A, 'SET forked 1'), ['OK']);
  t = await timeline();
  assert.equal(t.now, t0 - 500, 'acting does not move the clock');
  assert.equal(t.max, t.now, 'the horizon is now: the recorded future was dropped');
  assert.equal(t.value, t.now);
  assert.equal(await page.getByTestId('timeline-note').textContent(), '', 'no longer in the past');
  assert.equal(await page.getByTestId('timeline').getAttribute('data-past'), 'false');
  const log = await api(page, 'actionLog');
  assert.ok(!log.includes('doomed'), `the dropped write is not in the run: ${log}`);
  assert.ok(log.includes('SET%20forked%201'));

  await runUntil(page, caughtUp, { what: 'the forked write to replicate' });
  await run(page, 3000);
  t = await timeline();
  assert.equal(t.max, t.now, 'the new future is recorded as it runs');
  assert.deepEqual(await command(page, A, 'GET doomed'), ['(nil)'], 'the write of the old future never happened');
  assert.deepEqual(await command(page, C, 'GET forked'), ['"1"']);
  await assertNoErrors(lab);
});

test('“Copy link” shares the action log as it is; the link rebuilds the run at that moment, paused', async () => {
  await syncedLab();
  assert.deepEqual(await command(page, A, 'SET "a b" "c d"'), ['OK']);
  await runUntil(page, caughtUp, { what: 'the write to replicate' });
  assert.deepEqual(await command(page, C, 'GET "a b"'), ['"c d"']);
  await run(page, 1234.5);

  const status = page.getByTestId('share-status');
  await page.getByTestId('share').click();
  await waitFor(async () => (await status.textContent()) !== '', { what: 'the share status' });
  const text = await status.textContent();
  assert.ok(['Link to this run copied: it opens at this moment.', 'Copy this link to share the run:'].includes(text), text);
  const url = await page.getByTestId('share-url').inputValue();
  const log = await api(page, 'actionLog');
  const now = await api(page, 'now');
  assert.equal(url, `${lab.baseUrl}#log=${log}`, 'the fragment is the engine’s action log, unchanged');
  assert.equal(page.url(), url, 'the page’s own address holds the run (url-state)');
  assert.ok(log.includes('SET%20%22a%20b%22%20%22c%20d%22'), `a space is %20 in the log: ${log}`);
  assert.ok(!url.includes('%25'), `no second percent-encoding: ${url}`);
  const end = log.match(/;t=([0-9a-z]+)$/);
  assert.ok(end, `the log ends with the moment shared: ${log}`);
  assert.equal(parseInt(end[1], 36), Math.round(now * 1000), 't= is now, in base-36 µs');

  const original = await state(page);
  const typed = [];
  for (const i of [0, 1, 2]) typed.push(await consoleLines(page, i));

  const p = await newPage(lab);
  try {
    await p.goto(url);
    await ready(p);
    assert.ok(Math.abs((await api(p, 'now')) - now) <= 1, 'the same virtual time');
    assert.equal(await p.getByTestId('play-pause').getAttribute('data-state'), 'paused', 'a shared run does not autoplay');
    const clock = await p.getByTestId('clock').textContent();
    const at = await api(p, 'now');
    await new Promise((r) => setTimeout(r, 1000)); // wall time, to see that virtual time stands still
    assert.equal(await api(p, 'now'), at, 'the clock did not move in 1 s of wall time');
    assert.equal(await p.getByTestId('clock').textContent(), clock);
    assert.equal(await p.getByTestId('error-banner').isVisible(), false);

    const rebuilt = await state(p);
    const sum = (s) => s.nodes.map((n) => [n.name, n.role, n.replState, n.masterReplOffset, n.slaveReplOffset, n.dbsize]);
    assert.deepEqual(sum(rebuilt), sum(original), 'the same nodes, offsets and datasets');
    const marker = `— replayed from a shared link up to ${(now / 1000).toFixed(3)} s —`;
    for (const i of [0, 1, 2]) {
      const lines = await consoleLines(p, i);
      assert.equal(lines.at(-1), marker, `console ${i} ends with the replay marker`);
      assert.deepEqual(lines.slice(0, -1), typed[i], `console ${i} shows what was typed, with the replies`);
    }
    assert.ok((await consoleLines(p, 0)).includes('127.0.0.1:6379> SET "a b" "c d"'));
    assert.deepEqual((await consoleLines(p, 2)).slice(-3, -1), ['127.0.0.1:6381> GET "a b"', '"c d"']);
    await assertNoErrors(lab, p);
  } finally {
    await p.close();
  }
  await assertNoErrors(lab);
});

test('a console line with a percent sign survives a shared link', async () => {
  await syncedLab();
  assert.deepEqual(await command(page, A, 'SET discount 10%'), ['OK']);
  await run(page, 1000);
  await page.getByTestId('share').click();
  await waitFor(async () => (await page.getByTestId('share-status').textContent()) !== '', { what: 'the share status' });
  const url = await page.getByTestId('share-url').inputValue();
  assert.ok(url.includes('SET%20discount%2010%25'), `'%' is escaped once, as %25: ${url}`);
  const now = await api(page, 'now');

  const p = await newPage(lab);
  try {
    await p.goto(url);
    await ready(p);
    const banner = p.getByTestId('error-banner');
    assert.equal(await banner.isVisible(), false,
      `the link opens the run, not: "${await banner.locator('strong').textContent()} ${await p.getByTestId('error-message').textContent()}"`);
    assert.ok(Math.abs((await api(p, 'now')) - now) <= 1, 'the same virtual time');
    assert.ok((await consoleLines(p, 0)).includes('127.0.0.1:6379> SET discount 10%'));
    await assertNoErrors(lab, p);
  } finally {
    await p.close();
  }
});

test('a link holding no valid run says so and starts a default lab that works', async () => {
  const p = await newPage(lab);
  try {
    await p.goto(`${lab.baseUrl}#log=not-a-run`);
    await ready(p);
    await pause(p);
    const banner = p.getByTestId('error-banner');
    await banner.waitFor({ state: 'visible' });
    assert.equal(await banner.locator('strong').textContent(), 'This link holds no valid run, so a new lab started:');
    assert.match(await p.getByTestId('error-message').textContent(), /^bad action log: /);
    assert.equal(await api(p, 'nodeCount'), 3);
    await runUntil(p, synced, { what: 'the default lab to sync' });
    assert.deepEqual(await command(p, A, 'SET works yes'), ['OK']);
    await runUntil(p, caughtUp, { what: 'the write to replicate' });
    assert.deepEqual(await command(p, C, 'GET works'), ['"yes"']);
    await p.getByTestId('error-dismiss').click();
    await banner.waitFor({ state: 'hidden' });
    await assertNoErrors(lab, p);
  } finally {
    await p.close();
  }
  await assertNoErrors(lab);
});

/** Shows every kind of event in the log (sent messages and sentinel traffic are off by default). */
async function showAllEvents() {
  await page.getByTestId('eventlog-filters').click();
  for (const box of await page.getByTestId('eventlog').locator('input[type="checkbox"]').all()) await box.check();
}

/** The time shown on the newest line of the event log. */
function newestEventTime() {
  return page.getByTestId('event-log').locator('li').last().locator('.event__time').textContent();
}

test('“Next event” moves virtual time to the next event, and the log’s newest line is that event', async () => {
  await syncedLab();
  await showAllEvents();
  await page.evaluate(() => {
    window.__events = [];
    document.querySelector('redis-repl-lab').addEventListener('lab-event', (e) => window.__events.push(e.detail));
  });
  const steps = [];
  for (let k = 0; k < 4; k++) {
    const before = await api(page, 'now');
    await page.getByTestId('step').click();
    await waitFor(async () => (await api(page, 'now')) !== before, { what: 'the step' });
    await state(page);
    const now = await api(page, 'now');
    const events = await page.evaluate(() => window.__events.splice(0));
    steps.push({ before, now, events, shown: await newestEventTime() });
  }
  for (const { before, now, events } of steps) {
    assert.ok(now > before, `time moved forward (${before} → ${now})`);
    assert.ok(events.length > 0 && events.every((e) => e.timeUs === Math.round(now * 1000)),
      `the step stopped at the next event: ${before} → ${now}: ${events.map((e) => `${e.timeUs} ${e.type}`).join(', ')}`);
  }
  const wrong = steps.filter((x) => x.shown !== seconds(x.now))
    .map((x) => `at ${seconds(x.now)} the newest line says ${x.shown} (the step's events: ${x.events.map((e) => `${e.type} ${e.label ?? ''} kind=${e.kind}`).join('; ')})`);
  assert.deepEqual(wrong, [], 'every step’s event is the newest line of the log, with every kind of event shown');
  await assertNoErrors(lab);
});

test('← on the stage goes back to the previous event’s time; in a console input it does not', async () => {
  const start = (await syncedLab()).nowMs;
  await page.getByTestId('step').click();
  await waitFor(async () => (await api(page, 'now')) !== start, { what: 'the first step' });
  await state(page);
  const first = await api(page, 'now');
  await page.getByTestId('step').click();
  await waitFor(async () => (await api(page, 'now')) !== first, { what: 'the second step' });
  await state(page);
  const second = await api(page, 'now');
  assert.ok(start < first && first < second, `${start} < ${first} < ${second}`);

  // In a console input, ← moves the caret: time stays.
  await page.getByTestId('console-tab-0').click();
  await page.getByTestId('console-input-0').focus();
  assert.equal(await page.getByTestId('console-input-0').evaluate((el) => el.getRootNode().activeElement === el), true);
  await page.keyboard.press('ArrowLeft');
  await state(page);
  assert.equal(await api(page, 'now'), second, '← typed in an input does not seek');

  await page.getByTestId('node-0').focus();
  await page.keyboard.press('ArrowLeft');
  await waitFor(async () => (await api(page, 'now')) !== second, { what: 'the seek back' });
  await state(page);
  assert.equal(await api(page, 'now'), first, 'back at the previous event');
  const t = await timeline();
  assert.equal(t.value, first, 'the slider shows it');
  assert.equal(t.max, second, 'the run is still recorded up to where it was');
  assert.match(await page.getByTestId('timeline-note').textContent(), /^You are looking at the past\./);
  await assertNoErrors(lab);
});
