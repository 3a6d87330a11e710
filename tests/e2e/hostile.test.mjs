// End-to-end tests of hostile input: keys, values, console lines, shared-run logs and scenario
// files that hold HTML and script are shown as text everywhere the lab shows them (the consoles,
// the inspector and its key browser, the event log, the sequence diagram, a message's bytes, the
// buffer view's stream, the hex view of an exported dump.rdb, the chapter player's narration,
// questions and error list, the error banner) and never become markup: after each, no element
// the payload describes exists in the page or in the lab's shadow root, no script of it ran, and
// the page saw no CSP violation. Also: a dataset too big for a tab is refused at its limit.
// Run: node --test tests/e2e/   (needs the wasm package built into www/pkg/)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  labForFile, loadPage, newPage, ready, api, run, runUntil, state, command, consoleLines, waitFor, assertNoErrors,
} from './helpers.mjs';

let lab;
let page;
labForFile((l) => {
  lab = l;
  page = l.page;
}, { initScript: trapScripts });

/**
 * Markup that would show if it were parsed: an image whose error handler calls alert, an element
 * marked data-xss, an inline script, an SVG with an onload handler, an entity. No double quote,
 * so it fits inside a quoted console argument as it is.
 */
const P = '<img src=x onerror=alert(1) data-xss=1><b data-xss=2>bold</b><script>window.__xss=1</script><svg onload=alert(2) data-xss=3></svg>&amp;';

/** Runs before the page's scripts: any alert or script of a payload would leave a mark. */
function trapScripts() {
  window.__alerts = [];
  window.alert = (m) => window.__alerts.push(String(m));
}

/**
 * Elements that exist only if a payload became markup, anywhere in the document or any shadow
 * root in it (the lab's, and those of elements inside it).
 */
function injected(p) {
  return p.evaluate(() => {
    const found = [];
    const walk = (root) => {
      for (const el of root.querySelectorAll('*')) {
        const html = el.outerHTML.slice(0, 120);
        if (el.hasAttribute('data-xss') || el.hasAttribute('onerror') || el.hasAttribute('onload')) found.push(html);
        else if (el.tagName === 'SCRIPT' && el.textContent.includes('__xss')) found.push(html);
        if (el.shadowRoot) walk(el.shadowRoot);
      }
    };
    walk(document);
    return { found, xss: window.__xss ?? null, alerts: window.__alerts };
  });
}

/** Asserts that nothing of the payload became markup or ran, and that no error or CSP report happened. */
async function assertInert(p, where) {
  assert.deepEqual(await injected(p), { found: [], xss: null, alerts: [] }, `${where}: the payload stayed text`);
  await assertNoErrors(lab, p);
}

/** The text of the lab's part `id`, with its shadow root pierced. */
const textOf = (p, id) => p.getByTestId(id).textContent();

test('keys, values and console lines holding HTML are text in every view', async () => {
  await loadPage(lab, '', { paused: true });
  await runUntil(page, (st) => st.links.length === 2 && st.links.every((l) => l.state === 'connected'), { what: 'the replicas in sync' });

  // The consoles: what was typed and the replies, errors quoting the line included.
  assert.deepEqual(await command(page, 0, `SET "${P}" "${P}"`), ['OK']);
  assert.deepEqual(await command(page, 0, `HSET "h${P}" "${P}" "${P}"`), ['(integer) 1']);
  assert.deepEqual(await command(page, 0, `RPUSH "l${P}" "${P}"`), ['(integer) 1']);
  const unknown = await command(page, 0, P);
  assert.ok(unknown[0].startsWith("(error) ERR unknown command '<img', with args beginning with: 'src=x' "), unknown[0]);
  assert.deepEqual(await command(page, 0, `GET "${P}"`), [`"${P}"`]);
  assert.ok((await consoleLines(page, 0)).includes(`127.0.0.1:6379> SET "${P}" "${P}"`), 'the typed line, as typed');
  await run(page, 2000);
  assert.deepEqual(await command(page, 1, `HGET "h${P}" "${P}"`), [`"${P}"`], 'the replica has it, as bytes');
  await assertInert(page, 'consoles');

  // The inspector's key browser, filtered by a pattern that is itself markup.
  await page.getByTestId('tab-inspector').click();
  await page.getByTestId('node-0').click();
  await page.getByTestId('keys-pattern').fill('*<img*');
  await page.getByTestId('keys-pattern').press('Enter');
  await waitFor(async () => (await textOf(page, 'keys-table')).includes(P), { what: 'the keys in the key browser' });
  await assertInert(page, 'key browser');

  // The event log with every kind shown, the sequence diagram, a message's bytes, the stream.
  await page.getByTestId('eventlog-filters').click();
  for (const box of await page.locator('[data-testid^="eventlog-kind-"] input, input[data-testid^="eventlog-kind-"]').all()) {
    if (!(await box.isChecked())) await box.check();
  }
  assert.deepEqual(await command(page, 0, `SET "${P}" again`), ['OK']);
  await run(page, 100);
  const s = await state(page);
  const m = s.messages.find((x) => x.label.includes('<img'));
  assert.ok(m, `the write on the wire: ${s.messages.map((x) => x.label).join(' / ')}`);
  await page.getByTestId(`msg-${m.id}`).press('Enter');
  await page.getByTestId('message-text').waitFor();
  assert.ok((await textOf(page, 'message-text')).includes(`${P}\\r\\n`), 'the bytes, escaped as bytes');
  await run(page, 1000);
  await waitFor(async () => (await textOf(page, 'event-log')).includes('<img'), { what: 'the write in the event log' });
  await page.getByTestId('tab-sequence').click();
  await run(page, 400);
  assert.ok((await textOf(page, 'sequence')).includes('<img'), 'the sequence diagram labels the write');
  await page.getByTestId('tab-buffer').click();
  await waitFor(async () => (await textOf(page, 'stream-list')).includes('<img'), { what: 'the write in the stream' });
  await assertInert(page, 'event log, message, sequence, buffer');

  // The hex view of an exported dump.rdb shows the keys' bytes as characters.
  await page.getByTestId('node-0-menu').click();
  await page.getByTestId('menu-hex').click();
  await page.getByTestId('rdb-file').waitFor();
  await waitFor(async () => (await textOf(page, 'hex')).includes('<img'), { what: 'the key in the hex view' });
  await assertInert(page, 'hex view');
});

test('a shared run holding HTML replays as text, and a broken one says why as text', async () => {
  const line = encodeURIComponent(`SET "${P}" "${P}"`);
  const p = await newPage(lab, trapScripts);
  await p.goto(`${lab.baseUrl}#log=RL1;s=7;0,n;0,n;0,c,1,REPLICAOF%20127.0.0.1%206379;f4240,c,0,${line};t=2dc6c0`);
  await ready(p);
  assert.ok((await consoleLines(p, 0)).includes(`127.0.0.1:6379> SET "${P}" "${P}"`), 'the shared line, as typed');
  assert.equal(await api(p, 'exec', 1, `STRLEN "${P}"`), `(integer) ${P.length}`);
  await assertInert(p, 'shared run');
  await p.close();

  // A log given by a host page (the `log` attribute) may hold any character, `<` included.
  const q = await newPage(lab, trapScripts);
  await q.goto(lab.baseUrl);
  await ready(q);
  await q.evaluate((log) => {
    const el = document.createElement('redis-repl-lab');
    el.setAttribute('log', log);
    document.querySelector('redis-repl-lab').replaceWith(el);
  }, `RL1;s=7;0,${P}`);
  await q.getByTestId('error-banner').waitFor({ state: 'visible' });
  // The log's fields end at `;`, so the code it names is the payload up to its entity's end.
  const code = P.slice(0, P.indexOf(';'));
  assert.ok((await textOf(q, 'error-message')).includes(`unknown action code '${code}'`), 'the banner quotes the bad part as text');
  await assertInert(q, 'broken shared run');
  await q.close();
});

/** A chapter file whose every sentence is the payload. */
function hostileScenario() {
  const both = (v) => `{ en = ${JSON.stringify(v)}, zh-CN = ${JSON.stringify(v)} }`;
  return `title = ${both(`Title ${P}`)}
summary = ${both(`Summary ${P}`)}

[lab]
topology = "A;B>A"
ready = "B.master_link_status == 'up'"

[[step]]
text.en = ${JSON.stringify(`Narration ${P} with \`${P}\` and {node A}`)}
text.zh-CN = ${JSON.stringify(`叙述 ${P}`)}
do = [${JSON.stringify(`A: SET "${P}" 1`)}, "wait 1s"]
check = [${JSON.stringify(`reply(B, 'EXISTS "${P}"') == 1`)}]

[step.question]
text.en = ${JSON.stringify(`Question ${P}`)}
text.zh-CN = ${JSON.stringify(`问题 ${P}`)}
choices = [
  { text = ${both(`Yes ${P}`)}, when = "reply(B, 'DBSIZE') == 1" },
  { text = ${both(`No ${P}`)}, when = "reply(B, 'DBSIZE') == 0" },
]
answer = 1
explain.en = ${JSON.stringify(`Because ${P}`)}
explain.zh-CN = ${JSON.stringify(`因为 ${P}`)}
`;
}

test('a chapter file holding HTML is narrated as text, and its errors are listed as text', async () => {
  await loadPage(lab, '', { paused: true });
  assert.equal(await api(page, 'openScenario', 'hostile', hostileScenario()), true);
  await waitFor(async () => (await textOf(page, 'guide-title')).includes(P), { what: 'the chapter title' });
  assert.ok((await textOf(page, 'guide-text')).includes(`Narration ${P} with ${P} and`), 'the narration');
  assert.ok((await textOf(page, 'guide-question')).includes(`Question ${P}`), 'the question');
  const choice = page.locator('label', { has: page.getByTestId('guide-choice-1') });
  assert.ok((await choice.textContent()).includes(`Yes ${P}`), 'a choice');
  await page.getByTestId('guide-choice-1').click();
  await page.getByTestId('guide-run').click();
  await page.getByTestId('guide-next').waitFor({ state: 'visible', timeout: 60_000 });
  assert.ok((await textOf(page, 'guide-outcome')).includes(`Because ${P}`), 'the explanation');
  await assertInert(page, 'chapter');

  const bad = `title = ${JSON.stringify(P)}\n[lab]\ntopology = ${JSON.stringify(P)}\n`;
  assert.equal(await api(page, 'openScenario', `bad${P}`, bad), false);
  await page.getByTestId('guide-errors').waitFor({ state: 'visible' });
  assert.ok((await textOf(page, 'guide-errors')).includes('<img'), 'the problems quote the file as text');
  await assertInert(page, 'chapter errors');
});

test('a dataset too big for a tab is refused at the documented limit, and the lab goes on', async () => {
  await loadPage(lab, '', { paused: true });
  const reply = await command(page, 0, 'DEBUG POPULATE 50000000');
  assert.deepEqual(reply, ['(error) ERR the lab holds at most 2000000 keys per node, to fit in a browser tab (Redis has no such limit)']);
  assert.deepEqual(await command(page, 0, 'DBSIZE'), ['(integer) 0'], 'nothing was half done');
  assert.deepEqual(await command(page, 0, 'SET after 1'), ['OK']);
  await assertNoErrors(lab);
});
