// End-to-end tests of Sentinel in the lab element: three sentinels added from the Sentinels tab
// watch A (chips on the stage), count down to +sdown once A crashes, agree it is down (+odown),
// elect a leader that promotes B or C (+switch-master) and re-points the other replica, file their
// event lines in the event log under S1, S2 and S3, and convert A into a replica of the new master
// when it comes back (+convert-to-slave). Virtual time only moves when the test says.
// Run: node --test tests/e2e/   (needs the wasm package built into www/pkg/)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  labForFile, loadPage, run, state, runUntil, waitFor, screenshot, assertNoErrors,
} from './helpers.mjs';

let lab;
let page;
labForFile((l) => {
  lab = l;
  page = l.page;
});

const MASTER = 'mymaster 127.0.0.1 6379';
const NAMES = ['S1', 'S2', 'S3'];
const STEP_MS = 250;

const synced = (s) => s.links.length === 2 && s.links.every((l) => l.state === 'connected');

/** Per sentinel, what the page shows: its chip on the stage and its card in the Sentinels tab. */
function sentinelUi() {
  return page.evaluate(() => {
    const root = document.querySelector('redis-repl-lab').shadowRoot;
    const text = (id) => root.querySelector(`[data-testid="${id}"]`)?.textContent ?? null;
    return Array.from(root.querySelectorAll('[data-testid^="sentinel-card-"]'), (card) => {
      const j = Number(card.dataset.testid.slice('sentinel-card-'.length));
      return {
        index: j,
        chip: text(`sentinel-${j}`),
        chipState: root.querySelector(`[data-testid="sentinel-${j}"]`)?.dataset.state ?? null,
        master: text(`sentinel-${j}-master`),
        status: text(`sentinel-${j}-status`),
        events: Array.from(root.querySelectorAll(`[data-testid="sentinel-${j}-events"] li`), (li) => li.textContent),
      };
    });
  });
}

/** The event log's sentinel lines (the ones the `sentinel` filter shows) as {node, kind, text}. */
function sentinelLogLines() {
  return page.evaluate(() => Array.from(
    document.querySelector('redis-repl-lab').shadowRoot.querySelectorAll('[data-testid="event-log"] .event--sentinel'),
    (li) => ({
      node: li.querySelector('.event__node').textContent,
      kind: li.querySelector('.event__kind').dataset.kind,
      text: li.querySelector('.event__text').textContent,
    }),
  ));
}

/** The promoted node once the failover is over everywhere, else null. */
function failedOver(s) {
  const masters = s.nodes.filter((n) => n.index !== 0 && n.up && n.role === 'master');
  if (masters.length !== 1) return null;
  const m = masters[0];
  const other = s.nodes.find((n) => n.index !== 0 && n.index !== m.index);
  const link = s.links.find((l) => l.replica === other.index);
  if (!link || link.master !== m.index || link.state !== 'connected') return null;
  const settled = s.sentinels.every((v) => v.failoverState === 'none' && v.masterHost === m.host
    && v.masterPort === m.port && !v.sdown && !v.odown);
  return settled ? m : null;
}

let promoted; // the node the sentinels promoted
const duringFailover = []; // what the leader's chip said while it reconfigured the replicas

test('three sentinels added in the Sentinels tab watch A, with a chip each on the stage', async () => {
  await loadPage(lab, '', { paused: true });
  await runUntil(page, synced, { what: 'both replicas in sync' });
  await page.getByTestId('tab-sentinels').click();
  await page.getByTestId('sentinels').waitFor({ state: 'visible', timeout: 10_000 });
  assert.match(await page.getByTestId('sentinels').textContent(), /No sentinel yet/);
  for (let j = 0; j < 3; j++) await page.getByTestId('add-sentinel').click();
  await waitFor(async () => (await page.getByTestId('sentinel-list').locator('[data-testid^="sentinel-card-"]').count()) === 3,
    { timeout: 10_000, what: 'three sentinel cards' });

  let s = await state(page);
  assert.deepEqual(s.sentinels.map((v) => [v.name, `${v.host}:${v.port}`, `${v.masterName} ${v.masterHost} ${v.masterPort}`, v.quorum]), [
    ['S1', '127.0.0.1:26379', MASTER, 2], ['S2', '127.0.0.1:26380', MASTER, 2], ['S3', '127.0.0.1:26381', MASTER, 2],
  ]);
  const ui = await sentinelUi();
  assert.equal(ui.length, 3);
  for (const v of ui) {
    const name = NAMES[v.index];
    assert.ok(v.chip.startsWith(`${name} watches A`), v.chip);
    assert.equal(v.chipState, 'ok');
    assert.equal(v.master, 'mymaster 127.0.0.1:6379');
    assert.equal(v.status, 'ok');
    assert.ok(v.events.includes(`# +monitor master ${MASTER} quorum 2`), v.events.join('\n'));
  }
  assert.equal(await page.getByTestId('sentinel-0').textContent(), 'S1 watches A', 'the chip on the stage, as it first reads');
  await waitFor(async () => (await page.getByTestId('live').textContent()) === 'S3 added, monitoring A.',
    { timeout: 5_000, what: 'the live region to announce the third sentinel' });

  // They find the replicas in A's INFO and each other through the hello channel.
  s = await runUntil(page, (x) => x.sentinels.every((v) => v.replicas.length === 2 && v.sentinels.length === 2),
    { what: 'the sentinels to know the replicas and each other', maxMs: 30_000 });
  for (const v of s.sentinels) {
    assert.deepEqual(v.replicas.map((r) => r.port).sort(), [6380, 6381]);
    for (const port of [6380, 6381]) {
      assert.ok(v.events.includes(`* +slave slave 127.0.0.1:${port} 127.0.0.1 ${port} @ ${MASTER}`), v.events.join('\n'));
    }
  }
  await assertNoErrors(lab);
});

test('once A crashes, each sentinel counts down to +sdown (down-after-milliseconds, 5 s here)', async () => {
  await page.getByTestId('node-0-menu').click();
  await page.getByTestId('menu-crash').click();
  await waitFor(async () => (await page.getByTestId('node-0-state').textContent()) === 'down', { timeout: 10_000, what: 'A down' });
  const crashedAt = (await state(page)).nowMs;
  await run(page, 2000);
  let s = await state(page);
  assert.equal(s.nodes[0].up, false);
  const left = [];
  for (const v of s.sentinels) {
    assert.equal(v.sdown, false, `${v.name} has not marked A down yet`);
    const timer = v.timers.find((x) => x.kind === 'downAfter');
    assert.ok(timer, `${v.name} waits on down-after-milliseconds: ${JSON.stringify(v.timers)}`);
    const ms = timer.deadlineUs / 1000 - s.nowMs;
    assert.ok(ms > 0 && ms <= 5000, `${v.name}: +sdown in ${ms} ms`);
    // Counted from the first PING A left unanswered (sent every second): at most a second late.
    const deadline = timer.deadlineUs / 1000;
    assert.ok(deadline >= crashedAt + 4000 && deadline <= crashedAt + 6000, `${v.name}: +sdown at ${deadline} ms, A crashed at ${crashedAt} ms`);
  }
  for (const v of await sentinelUi()) {
    const m = v.chip.match(/^(S\d) watches A · \+sdown in (\d+\.\d) s$/);
    assert.ok(m, v.chip);
    assert.equal(m[1], NAMES[v.index]);
    left.push(Number(m[2]));
  }
  await run(page, 1000);
  s = await state(page);
  assert.ok(s.sentinels.every((v) => !v.sdown));
  for (const v of await sentinelUi()) {
    const m = v.chip.match(/\+sdown in (\d+\.\d) s$/);
    assert.ok(m, v.chip);
    assert.ok(Math.abs(left[v.index] - Number(m[1]) - 1) <= 0.11, `the countdown went down by a second: ${left[v.index]} → ${m[1]}`);
  }
  await assertNoErrors(lab);
});

test('the sentinels agree A is down and fail over to B or C: +sdown, +odown, +switch-master', async () => {
  const firstSeen = { sdown: new Set(), odown: new Set() };
  let logChecked = false;
  let s;
  for (let t = 0; ; t += STEP_MS) {
    s = await state(page);
    if (failedOver(s)) break;
    assert.ok(t <= 120_000, `no failover after ${t} virtual ms: ${JSON.stringify(s.sentinels.map((v) => [v.name, v.failoverState, v.sdown, v.odown]))}`);
    const fresh = s.sentinels.filter((v) => (v.sdown && !firstSeen.sdown.has(v.index)) || (v.odown && !firstSeen.odown.has(v.index)));
    // The leader reconfiguring the replicas (what its chip says then is checked by a todo test).
    const failing = s.sentinels.filter((v) => ['reconf_slaves', 'update_config'].includes(v.failoverState));
    if (fresh.length > 0 || failing.length > 0) {
      const ui = await sentinelUi();
      for (const v of fresh) {
        const shown = ui[v.index];
        if (v.sdown && !firstSeen.sdown.has(v.index)) {
          firstSeen.sdown.add(v.index);
          assert.ok(shown.events.includes(`# +sdown master ${MASTER}`), `${v.name}:\n${shown.events.join('\n')}`);
          assert.match(shown.status, /^(subjectively|objectively) down \([+][so]down\)$/);
          assert.match(shown.chip, new RegExp(`^${v.name}: A down \\([so]down\\)`));
        }
        if (v.odown && !firstSeen.odown.has(v.index)) {
          firstSeen.odown.add(v.index);
          assert.ok(shown.events.some((e) => e.startsWith(`# +odown master ${MASTER} #quorum `)), `${v.name}:\n${shown.events.join('\n')}`);
          assert.equal(shown.status, 'objectively down (+odown)');
          assert.equal(shown.chipState, 'odown');
        }
      }
      for (const v of failing) {
        duringFailover.push({ name: v.name, state: v.failoverState, masterPort: v.masterPort, sdown: v.sdown, odown: v.odown, chip: ui[v.index].chip, status: ui[v.index].status });
      }
      if (!logChecked && firstSeen.odown.size === 3) {
        // The event log keeps the lines (the cards show the latest only).
        logChecked = true;
        const lines = await sentinelLogLines();
        for (const name of NAMES) {
          const mine = lines.filter((l) => l.node === name).map((l) => l.text);
          assert.ok(mine.includes(`# +sdown master ${MASTER}`), `${name}: ${mine.join('\n')}`);
          assert.ok(mine.some((l) => l.startsWith(`# +odown master ${MASTER} #quorum `)), `${name}: ${mine.join('\n')}`);
        }
      }
    }
    await run(page, STEP_MS);
  }
  assert.equal(firstSeen.sdown.size, 3, 'every sentinel marked A subjectively down');
  assert.equal(firstSeen.odown.size, 3, 'every sentinel marked A objectively down');
  assert.ok(logChecked, 'the event log was read while A was objectively down');

  promoted = failedOver(s);
  assert.ok(['B', 'C'].includes(promoted.name), promoted.name);
  const other = s.nodes.find((n) => n.index !== 0 && n.index !== promoted.index);
  assert.equal(other.role, 'slave');
  assert.deepEqual([other.masterHost, other.masterPort], [promoted.host, promoted.port], `${other.name} replicates from ${promoted.name}`);
  assert.deepEqual(s.links.map((l) => [l.replica, l.master, l.state]), [[other.index, promoted.index, 'connected']]);
  assert.equal(s.nodes[0].up, false, 'A is still down');

  const switched = `# +switch-master mymaster 127.0.0.1 6379 127.0.0.1 ${promoted.port}`;
  for (const v of await sentinelUi()) {
    assert.ok(v.events.includes(switched), `${NAMES[v.index]}:\n${v.events.join('\n')}`);
    assert.equal(v.master, `mymaster 127.0.0.1:${promoted.port}`);
    assert.equal(v.status, 'ok');
    assert.ok(v.chip.startsWith(`${NAMES[v.index]} watches ${promoted.name}`), v.chip);
  }
  const history = s.sentinels.flatMap((v) => v.events);
  assert.ok(history.some((e) => e.startsWith(`# +promoted-slave slave 127.0.0.1:${promoted.port} `)), history.join('\n'));
  assert.ok(s.sentinels.every((v) => v.currentEpoch >= 1 && v.configEpoch === s.sentinels[0].configEpoch), 'one config epoch');
  await waitFor(async () => (await page.getByTestId(`node-${promoted.index}-role`).textContent()) === 'master',
    { timeout: 10_000, what: 'the promoted card to say master' });
  assert.equal(await page.getByTestId(`node-${other.index}-role`).textContent(), 'replica');
  await screenshot(page, 'sentinel-failover.png');
  await assertNoErrors(lab);
});

test('while the leader reconfigures the replicas, its chip does not call the promoted replica down', async () => {
  assert.ok(promoted, 'the failover test ran');
  assert.ok(duringFailover.length > 0, 'the leader was seen reconfiguring the replicas');
  const wrong = duringFailover.filter((r) => r.chip.startsWith(`${r.name}: ${promoted.name} down`));
  assert.deepEqual(wrong, [], `${promoted.name} was up all along`);
  await assertNoErrors(lab);
});

test('the event log files sentinel lines under S1, S2 and S3, never a run id, when the sentinel filter is on', async () => {
  assert.ok(promoted, 'the failover test ran');
  await page.getByTestId('eventlog-filters').click();
  const filter = page.getByTestId('eventlog-kind-sentinel');
  await filter.waitFor({ state: 'visible', timeout: 5_000 });
  assert.equal(await filter.isChecked(), true, 'on by default');
  const lines = await sentinelLogLines();
  assert.ok(lines.length > 10, `${lines.length} sentinel lines`);
  assert.deepEqual([...new Set(lines.map((l) => l.node))].sort(), NAMES);
  assert.ok(lines.every((l) => l.kind === 'sentinel'));
  assert.ok(!lines.some((l) => /^[0-9a-f]{40}$/.test(l.node)), 'no line filed under a run id');
  for (const name of NAMES) {
    const mine = lines.filter((l) => l.node === name).map((l) => l.text);
    assert.ok(mine.includes(`# +switch-master mymaster 127.0.0.1 6379 127.0.0.1 ${promoted.port}`), `${name}: ${mine.join('\n')}`);
  }
  await filter.uncheck();
  assert.equal((await sentinelLogLines()).length, 0, 'the filter off hides them');
  await filter.check();
  // Redrawn from the events the log keeps for re-filtering (the latest 2000, all kinds).
  const again = await sentinelLogLines();
  assert.ok(again.length > 0, 'on again shows them again');
  assert.deepEqual(again, lines.slice(lines.length - again.length), 'the same lines, the latest ones');
  for (const name of NAMES) {
    assert.ok(again.some((l) => l.node === name && l.text === `# +switch-master mymaster 127.0.0.1 6379 127.0.0.1 ${promoted.port}`), name);
  }
  await assertNoErrors(lab);
});

test('traffic lines keep their filter group: node traffic under net, sentinel traffic under sentinel-net and S1..S3', async () => {
  assert.ok(promoted, 'the failover test ran');
  const sentinelNet = page.getByTestId('eventlog-kind-sentinel-net');
  // Wire traffic is not in the log until asked for (it is on the stage and in the diagram).
  const net = page.getByTestId('eventlog-kind-net');
  const filters = page.getByTestId('eventlog-filters');
  if (!(await filters.evaluate((summary) => summary.parentElement.open))) await filters.click();
  await net.check();
  await sentinelNet.check();
  await run(page, 2000);
  const lines = await page.evaluate(() => Array.from(
    document.querySelector('redis-repl-lab').shadowRoot.querySelectorAll('[data-testid="event-log"] .event[data-type="delivered"]'),
    (li) => ({ node: li.querySelector('.event__node').textContent, kind: li.querySelector('.event__kind').dataset.kind, text: li.querySelector('.event__text').textContent }),
  ));
  await sentinelNet.uncheck();
  await net.uncheck();
  assert.ok(lines.some((l) => l.kind === 'net'), 'node traffic (REPLCONF ACK, PING) under net');
  const sentinelTraffic = lines.filter((l) => l.kind === 'sentinel-net');
  assert.ok(sentinelTraffic.length > 0, 'sentinel traffic under sentinel-net');
  assert.ok(sentinelTraffic.every((l) => NAMES.includes(l.node)), JSON.stringify(sentinelTraffic.slice(0, 5)));
  await assertNoErrors(lab);
});

test('A restarted is converted into a replica of the new master by the sentinels (+convert-to-slave)', async () => {
  assert.ok(promoted, 'the failover test ran');
  await page.getByTestId('node-0-menu').click();
  await page.getByTestId('menu-restart').click();
  await waitFor(async () => (await page.getByTestId('node-0-state').textContent()) !== 'down', { timeout: 10_000, what: 'A up' });
  let s = await state(page);
  assert.equal(s.nodes[0].up, true);
  assert.equal(s.nodes[0].role, 'master', 'A comes back as the master it was: only the sentinels change that');

  s = await runUntil(page, (x) => {
    const link = x.links.find((l) => l.replica === 0);
    return x.nodes[0].role === 'slave' && link && link.master === promoted.index && link.state === 'connected';
  }, { what: 'A to replicate from the new master', stepMs: 500, maxMs: 60_000 });
  assert.deepEqual([s.nodes[0].masterHost, s.nodes[0].masterPort], [promoted.host, promoted.port]);
  const converted = `* +convert-to-slave slave 127.0.0.1:6379 127.0.0.1 6379 @ mymaster 127.0.0.1 ${promoted.port}`;
  const ui = await sentinelUi();
  assert.ok(ui.some((v) => v.events.includes(converted)), ui.map((v) => v.events.join('\n')).join('\n----\n'));
  assert.ok(s.sentinels.some((v) => v.events.includes(converted)));
  assert.ok(s.sentinels.every((v) => v.masterPort === promoted.port), 'the master stays the promoted node');
  await waitFor(async () => (await page.getByTestId('node-0-role').textContent()) === 'replica', { timeout: 10_000, what: 'A\'s card to say replica' });
  assert.equal(await page.getByTestId('node-0').getAttribute('data-role'), 'slave');
  assert.equal(s.nodes.filter((n) => n.role === 'master').map((n) => n.name).join(), promoted.name, 'one master');
  await assertNoErrors(lab);
});
