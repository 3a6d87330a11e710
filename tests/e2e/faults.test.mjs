// End-to-end tests of the faults a learner sets off from the stage, per link and per node: cutting
// one replica's connection (only that replica resynchronises, partially), drawing and healing a
// partition (and refusing one with every node on one side), crash and restart, a pause with its
// late reply, a link's latency and bandwidth, and the eight-node limit with a node removed.
// Every test opens a fresh default lab with its clock paused and moves virtual time itself.
// Run: node --test tests/e2e/faults.test.mjs   (needs the wasm package built into www/pkg/)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  labForFile, loadPage, api, run, state, command, consoleLines, runUntil, waitFor, assertNoErrors,
} from './helpers.mjs';
import en from '../../www/lab/i18n/en.js';

let lab;
let page;
labForFile((l) => {
  lab = l;
  page = l.page;
});

const A = 0;
const B = 1;
const C = 2;

const linkOf = (s, replica) => s.links.find((l) => l.replica === replica);
const nodeOf = (s, index) => s.nodes.find((n) => n.index === index);
const synced = (s) => s.links.length === 2 && s.links.every((l) => l.state === 'connected');
/** Every replica connected and at the master's offset. */
const caughtUp = (s) => synced(s)
  && s.nodes.filter((n) => n.index !== A).every((n) => n.replState === 'connected' && n.slaveReplOffset === nodeOf(s, A).masterReplOffset);

/**
 * A fresh default lab, paused, run until both replicas are in sync and streaming (after a
 * diskless sync, Redis 7.0 holds the stream until the replica's first REPLCONF ACK arrives).
 */
async function syncedLab() {
  await loadPage(lab, '', { paused: true });
  return runUntil(page, (s) => synced(s) && nodeOf(s, A).replicas.every((r) => !r.awaitingFirstAck),
    { what: 'both replicas in sync and streaming' });
}

/** Opens node `i`'s menu (⋯ on its card) and clicks the item `testid`. */
async function nodeMenu(i, testid) {
  await page.getByTestId(`node-${i}-menu`).click();
  await page.getByTestId(testid).click();
}

/** One INFO field of node `i`, read through the JS API (typed into its console). */
async function infoField(i, section, field) {
  const reply = await api(page, 'exec', i, `INFO ${section}`);
  const m = reply.match(new RegExp(`^${field}:(.*)$`, 'm'));
  assert.ok(m, `INFO ${section} of node ${i} has ${field}:\n${reply}`);
  return m[1];
}

/** The event log's shown lines as {time, node, kind, text}. */
function eventEntries() {
  return page.getByTestId('event-log').locator('li').evaluateAll((lis) => lis.map((li) => ({
    time: li.querySelector('.event__time')?.textContent ?? '',
    node: li.querySelector('.event__node')?.textContent ?? '',
    kind: li.querySelector('.event__kind')?.dataset.kind ?? '',
    text: li.querySelector('.event__text')?.textContent ?? '',
  })));
}

/** The prompt in front of node `i`'s console input. */
function prompt(i) {
  return page.locator(`[data-testid="console-${i}"] .console__prompt`).textContent();
}

test('cutting one link resynchronises only that replica, partially, while the other stays connected', async () => {
  const start = await syncedLab();
  assert.deepEqual(await command(page, A, 'SET before-cut 1'), ['OK']);
  await runUntil(page, caughtUp, { what: 'the replicas to apply the first write' });
  assert.equal(await infoField(A, 'stats', 'sync_partial_ok'), '0', 'no partial resync yet');
  const fullBefore = await infoField(A, 'stats', 'sync_full');
  assert.equal(fullBefore, '2', 'one full sync per replica at start-up');
  const replidBefore = nodeOf(start, A).replid;

  await page.getByTestId(`link-${C}-button`).click();
  await page.getByTestId('link-cut').click();
  // Written while C is disconnected: it must reach C through the backlog.
  assert.deepEqual(await command(page, A, 'SET after-cut 2'), ['OK']);

  const seenC = [];
  const bSteps = [];
  const end = await runUntil(page, (s) => {
    const b = linkOf(s, B);
    const bOnA = nodeOf(s, A).replicas.find((r) => r.port === 6380);
    bSteps.push(`${s.nowMs}: link ${b.state}, B ${nodeOf(s, B).replState}, A lists B as ${bOnA ? bOnA.state : 'nothing'}`);
    const c = linkOf(s, C).state;
    if (seenC[seenC.length - 1] !== c) seenC.push(c);
    return seenC.includes('handshake') && caughtUp(s);
  }, { what: 'C to resynchronise' });

  const bBroken = bSteps.filter((l) => !/link connected, B connected, A lists B as online$/.test(l));
  assert.deepEqual(bBroken, [], `B's link stayed connected at every step (${bSteps.length} steps)`);
  assert.equal(seenC[0], 'connecting', `C's link went down at once: ${seenC.join(' → ')}`);
  assert.ok(seenC.includes('handshake'), `C's link went through a new handshake: ${seenC.join(' → ')}`);
  assert.ok(!seenC.includes('sync'), `C never received an RDB (no full sync): ${seenC.join(' → ')}`);
  assert.equal(seenC[seenC.length - 1], 'connected');
  assert.equal(nodeOf(end, A).replid, replidBefore, 'the master kept its replication id');

  assert.equal(await infoField(A, 'stats', 'sync_partial_ok'), '1', 'one partial resync, C’s');
  assert.equal(await infoField(A, 'stats', 'sync_full'), fullBefore, 'no new full sync');

  const events = await eventEntries();
  const cut = events.findIndex((e) => e.kind === 'fault' && e.text === 'Connections between A and C cut');
  assert.ok(cut >= 0, 'the event log shows the cut');
  const after = events.slice(cut);
  assert.ok(after.some((e) => e.node === 'C' && e.kind === 'log' && e.text.includes('Successful partial resynchronization with master.')),
    `C logs the partial resync:\n${after.map((e) => `${e.node} ${e.text}`).join('\n')}`);
  assert.ok(after.some((e) => e.node === 'A' && e.text.includes('Partial resynchronization request from 127.0.0.1:6381 accepted')),
    'A accepts C’s PSYNC');
  assert.deepEqual(after.filter((e) => e.node === 'B' && ['log', 'state', 'conn'].includes(e.kind)).map((e) => e.text), [],
    'B logs nothing, changes no state and opens no connection after the cut');

  assert.deepEqual(await command(page, C, 'GET after-cut'), ['"2"'], 'the write made during the cut reached C');
  assert.deepEqual(await command(page, B, 'GET after-cut'), ['"2"']);
  assert.deepEqual(await command(page, C, 'DBSIZE'), await command(page, A, 'DBSIZE'), 'same datasets');
  await assertNoErrors(lab);
});

test('a partition with every node on one side is refused and changes nothing', async () => {
  await syncedLab();
  await page.getByTestId('partition').click();
  await page.getByTestId('partition-bar').waitFor({ state: 'visible' });
  assert.equal(await page.getByTestId('node-0-side').textContent(), 'side 1');
  await page.getByTestId('node-0-side').click();
  for (const i of [A, B, C]) {
    assert.equal(await page.getByTestId(`node-${i}-side`).textContent(), 'side 2', `node ${i} on side 2`);
  }
  await page.getByTestId('partition-apply').click();
  await page.getByTestId('error-banner').waitFor({ state: 'visible' });
  assert.equal(await page.getByTestId('error-message').textContent(), 'A partition needs at least one node on each side.');
  assert.equal(en['partition.oneSide'], 'A partition needs at least one node on each side.');
  const s = await state(page);
  assert.equal(s.groups, null, 'no partition groups');
  assert.ok(s.links.every((l) => !l.partitioned && l.state === 'connected'), JSON.stringify(s.links));
  assert.equal(await page.getByTestId('partition').getAttribute('data-state'), 'whole');
  assert.equal(await page.getByTestId('partition').textContent(), 'Partition…');
  assert.ok(await page.getByTestId('partition-bar').isVisible(), 'still drawing: the sides can be fixed');
  await page.getByTestId('partition-cancel').click();
  await page.getByTestId('partition-bar').waitFor({ state: 'hidden' });
  assert.equal(await page.getByTestId('node-0-side').isVisible(), false, 'the side toggles are gone');
  assert.ok(!(await api(page, 'actionLog')).includes(',p,'), 'no partition recorded in the run');
  await assertNoErrors(lab);
});

test('drawing a partition holds writes back from the other side until it is healed', async () => {
  await syncedLab();
  await page.getByTestId('partition').click();
  await page.getByTestId('partition-bar').waitFor({ state: 'visible' });
  // A alone on side 1, B and C on side 2, set with the toggles on the cards.
  const want = new Map([[A, 0], [B, 1], [C, 1]]);
  for (const [i, side] of want) {
    const toggle = page.getByTestId(`node-${i}-side`);
    for (let k = 0; k < 2 && Number(await toggle.getAttribute('data-side')) !== side; k++) await toggle.click();
    assert.equal(Number(await toggle.getAttribute('data-side')), side, `node ${i}'s side`);
    assert.equal(await toggle.textContent(), `side ${side + 1}`);
  }
  await page.getByTestId('partition-apply').click();

  let s = await state(page);
  assert.deepEqual(s.groups, [0, 1, 1], 'A in one group, B and C in the other');
  assert.deepEqual(s.links.map((l) => [l.replica, l.partitioned]), [[B, true], [C, true]]);
  await page.getByTestId('partition-bar').waitFor({ state: 'hidden' });
  for (const i of [B, C]) {
    const drawn = page.locator(`[data-testid="link-${i}"]`);
    await waitFor(async () => (await drawn.getAttribute('data-state')) === 'partitioned', { what: `link ${i} drawn partitioned` });
    assert.equal(await page.getByTestId(`link-${i}-button`).getAttribute('data-state'), 'partitioned');
  }
  assert.equal(await page.getByTestId('partition').textContent(), 'Heal partition');
  assert.equal(await page.getByTestId('partition').getAttribute('data-state'), 'partitioned');
  assert.equal(await page.getByTestId('node-1').getAttribute('data-group'), '1');

  assert.deepEqual(await command(page, A, 'SET across 1'), ['OK']);
  const cutAt = s.nowMs;
  s = await runUntil(page, (x) => x.nowMs >= cutAt + 3000, { what: '3 s of partition' });
  assert.ok(nodeOf(s, B).slaveReplOffset < nodeOf(s, A).masterReplOffset, 'B is behind its master');
  assert.deepEqual(await command(page, B, 'GET across'), ['(nil)'], 'the write did not cross the partition');
  assert.deepEqual(await command(page, C, 'GET across'), ['(nil)']);

  await page.getByTestId('partition').click();
  await waitFor(async () => (await page.getByTestId('partition').textContent()) === 'Partition…', { what: 'the heal' });
  s = await state(page);
  assert.equal(s.groups, null, 'healed');
  assert.ok(s.links.every((l) => !l.partitioned), JSON.stringify(s.links));
  await runUntil(page, caughtUp, { what: 'the replicas to catch up after the heal' });
  assert.deepEqual(await command(page, B, 'GET across'), ['"1"'], 'after the heal the write reaches B');
  assert.deepEqual(await command(page, C, 'GET across'), ['"1"']);
  assert.notEqual(await page.locator(`[data-testid="link-${B}"]`).getAttribute('data-state'), 'partitioned');
  const events = await eventEntries();
  assert.ok(events.some((e) => e.kind === 'fault' && e.text.startsWith('Network partitioned:')), 'the log shows the partition');
  assert.ok(events.some((e) => e.kind === 'fault' && e.text === 'Partition healed'), 'the log shows the heal');
  await assertNoErrors(lab);
});

test('a replica crashed and restarted from its menu is down meanwhile and comes back in sync', async () => {
  await syncedLab();
  await nodeMenu(C, 'menu-crash');
  await waitFor(async () => (await page.getByTestId('node-2-state').textContent()) === 'down', { what: 'C shown down' });
  assert.equal(await page.getByTestId('node-2').getAttribute('data-state'), 'down');
  assert.equal(nodeOf(await state(page), C).up, false);
  assert.equal(await prompt(C), 'not connected>', 'redis-cli’s prompt for a server that is down');
  const lines = await command(page, C, 'PING');
  assert.deepEqual(lines, ['Could not connect to Redis at 127.0.0.1:6381: Connection refused']);
  assert.ok((await consoleLines(page, C)).includes('not connected> PING'), 'the line typed shows the prompt it was typed at');

  assert.deepEqual(await command(page, A, 'SET while-down 1'), ['OK']);
  await run(page, 2000);
  assert.equal(await page.getByTestId('node-2-state').textContent(), 'down', 'still down 2 s later');
  assert.equal(await page.getByTestId('node-2-timer').isVisible(), false, 'a crashed node waits for nothing');

  await page.getByTestId('node-2-menu').click();
  assert.equal(await page.getByTestId('menu-crash').count(), 0, 'a crashed node offers restart, not crash');
  await page.getByTestId('menu-restart').click();
  await waitFor(async () => (await prompt(C)) === '127.0.0.1:6381>', { what: 'C’s prompt back' });
  assert.notEqual(await page.getByTestId('node-2-state').textContent(), 'down');
  await runUntil(page, caughtUp, { what: 'C to come back in sync' });
  assert.equal(await page.getByTestId('node-2-state').textContent(), 'in sync');
  assert.deepEqual(await command(page, C, 'GET while-down'), ['"1"'], 'the write made while C was down reached it');
  const events = await eventEntries();
  assert.ok(events.some((e) => e.node === 'C' && e.text === 'C crashed'), 'the log shows the crash');
  assert.ok(events.some((e) => e.node === 'C' && e.text === 'C restarted'), 'the log shows the restart');
  await assertNoErrors(lab);
});

test('a node paused from its menu shows a countdown and answers a command late', async () => {
  await syncedLab();
  await nodeMenu(B, 'menu-pause');
  const chip = page.getByTestId('node-1-state');
  await waitFor(async () => (await chip.textContent()) === 'paused', { what: 'B shown paused' });
  assert.equal(await page.getByTestId('node-1').getAttribute('data-state'), 'paused');
  const timer = page.getByTestId('node-1-timer');
  assert.ok(await timer.isVisible(), 'a timer is on the card');
  assert.equal(await timer.textContent(), 'resumes in 5.0 s');
  assert.equal(await timer.getAttribute('data-kind'), 'pause');

  // Typed through the UI while B is stopped: the line is printed, the reply is not.
  await page.getByTestId('console-tab-1').click();
  const input = page.getByTestId('console-input-1');
  await input.fill('PING');
  await input.press('Enter');
  await waitFor(async () => (await consoleLines(page, B)).at(-1) === '127.0.0.1:6380> PING', { what: 'the typed line' });
  await state(page); // the command has reached the engine and come back without its reply
  await run(page, 1000);
  assert.equal((await consoleLines(page, B)).at(-1), '127.0.0.1:6380> PING', 'no reply while paused');
  assert.equal(await timer.textContent(), 'resumes in 4.0 s', 'the countdown follows virtual time');
  assert.equal(await chip.textContent(), 'paused');

  await run(page, 4500);
  const late = page.getByTestId('console-output-1').locator('.console__line--late');
  await waitFor(async () => (await late.count()) === 1, { what: 'the late reply' });
  assert.equal(await late.textContent(), 'PONG');
  assert.deepEqual((await consoleLines(page, B)).slice(-2), ['127.0.0.1:6380> PING', 'PONG']);
  assert.equal(await chip.textContent(), 'in sync', 'B runs again');
  assert.ok(!(await timer.isVisible()) || (await timer.getAttribute('data-kind')) !== 'pause',
    `the pause countdown is gone (${await timer.textContent()})`);
  const s = await state(page);
  assert.equal(nodeOf(s, B).paused, false);
  assert.equal(linkOf(s, B).state, 'connected', 'a 5 s pause is shorter than repl-timeout');
  await assertNoErrors(lab);
});

test('a link’s latency, jitter and bandwidth are set from its form', async () => {
  await syncedLab();
  await page.getByTestId(`link-${B}-button`).click();
  const latency = page.getByTestId('link-latency');
  assert.equal(await latency.inputValue(), '250', 'the form shows the link as it is');
  assert.equal(await page.getByTestId('link-bandwidth').inputValue(), '64');
  await latency.fill('40');
  await page.getByTestId('link-jitter').fill('0');
  await page.getByTestId('link-bandwidth').fill('512');
  await page.getByTestId('link-apply').click();

  const s = await state(page);
  const b = linkOf(s, B);
  assert.deepEqual([b.latencyUs, b.jitterUs, b.bandwidth], [40_000, 0, 524_288]);
  const c = linkOf(s, C);
  assert.deepEqual([c.latencyUs, c.bandwidth], [250_000, 65_536], 'the other link is unchanged');
  await waitFor(async () => (await page.getByTestId(`link-${B}-button`).textContent()) === '40 ms', { what: 'the link button to say 40 ms' });
  assert.equal(await page.getByTestId(`link-${C}-button`).textContent(), '250 ms');
  assert.equal(await page.getByTestId('popover').isVisible(), false, 'the form closed');
  const events = await eventEntries();
  assert.ok(events.some((e) => e.kind === 'fault' && e.text === 'Link A ↔ B: 40 ms latency, up to 0 ms jitter, 512 KB/s'),
    events.filter((e) => e.kind === 'fault').map((e) => e.text).join('\n'));

  // The new latency is what the bytes take: 100 ms after a write, B has it and C does not yet.
  assert.deepEqual(await command(page, A, 'SET fast 1'), ['OK']);
  await run(page, 100);
  const t = await state(page);
  assert.equal(nodeOf(t, B).slaveReplOffset, nodeOf(t, A).masterReplOffset, 'B got the write within 100 ms');
  assert.ok(nodeOf(t, C).slaveReplOffset < nodeOf(t, A).masterReplOffset, 'C, 250 ms away, not yet');
  await assertNoErrors(lab);
});

test('the lab holds eight nodes; removing one from its menu frees its slot', async () => {
  await loadPage(lab, '', { paused: true });
  const add = page.getByTestId('add-node');
  for (let n = 4; n <= 8; n++) {
    assert.equal(await add.isDisabled(), false, `the button adds node number ${n}`);
    await add.click();
    await waitFor(async () => (await api(page, 'nodeCount')) === n, { what: `${n} nodes` });
  }
  await waitFor(() => add.isDisabled(), { what: 'the add button disabled at 8 nodes' });
  let s = await state(page);
  assert.deepEqual(s.nodes.map((n) => n.index), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(await page.getByTestId('consoles').getByRole('tab').count(), 8, 'a console tab per node');
  const refused = await page.evaluate(() => document.querySelector('redis-repl-lab').addNode().then(() => null, (e) => ({ ...e })));
  assert.equal(refused && refused.code, 'too-many-nodes', `addNode() rejects: ${JSON.stringify(refused)}`);
  assert.equal(await api(page, 'nodeCount'), 8);

  const name = nodeOf(s, 5).name;
  await nodeMenu(5, 'menu-remove');
  await waitFor(async () => (await api(page, 'nodeCount')) === 7, { what: '7 nodes' });
  await waitFor(async () => (await page.getByTestId('console-tab-5').count()) === 0, { what: 'the console tab to go' });
  assert.equal(await page.getByTestId('node-5').count(), 0, 'the card is gone');
  assert.equal(await page.getByTestId('console-5').count(), 0, 'the console is gone');
  assert.equal(await page.getByTestId('consoles').getByRole('tab').count(), 7);
  await waitFor(async () => !(await add.isDisabled()), { what: 'the add button enabled again' });
  assert.equal(await page.getByTestId('live').textContent(), `${name} removed.`);
  s = await state(page);
  assert.deepEqual(s.nodes.map((n) => n.index), [0, 1, 2, 3, 4, 6, 7]);

  await add.click();
  await waitFor(async () => (await api(page, 'nodeCount')) === 8, { what: '8 nodes again' });
  s = await state(page);
  assert.ok(s.nodes.some((n) => n.index === 5 && n.port === 6384), 'the new node takes the freed slot');
  await page.getByTestId('console-tab-5').waitFor();
  assert.ok(await add.isDisabled());
  await assertNoErrors(lab);
});
