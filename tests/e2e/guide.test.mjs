// End-to-end tests of the chapter player, through the UI as a learner uses it: predict, run the
// step, read the outcome next to the prediction, go back (time travel) and run it again with
// another answer, go on, explore freely in a console; a challenge failed then solved; in English
// and in Chinese. Also: a deep link opens its step with the steps before it run; a broken file
// shows each problem with its line and the lab stays usable; the narration reaches the live
// region; the scenario attribute of an embedded lab; axe-core with the player open.
// Screenshots go to docs/guide.png and docs/guide-zh.png.
// Run: node --test tests/e2e/   (needs the wasm package built into www/pkg/)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DOCS_DIR, labForFile, newPage, ready, api, command, consoleLines, waitFor, axePage, axe, screenshot, assertNoErrors,
} from './helpers.mjs';

let lab;
labForFile((l) => {
  lab = l;
});

/** The chapter events a host page gets, recorded in order. */
function recordEvents() {
  window.__chapter = [];
  for (const name of ['lab-step', 'lab-answer', 'lab-checkpoint', 'lab-scenario-complete']) {
    document.addEventListener(name, (e) => window.__chapter.push({ name, ...e.detail }));
  }
}

async function openChapter(query, { locale = 'en-US' } = {}) {
  const context = await lab.browser.newContext({ locale, viewport: { width: 1280, height: 800 } });
  const page = await newPage({ ...lab, context }, recordEvents);
  await page.goto(lab.baseUrl + query);
  await ready(page);
  return page;
}

const el = (page, id) => page.getByTestId(id);
const text = async (page, id) => (await el(page, id).textContent()).trim();

/** Runs the shown step through the UI (Run, then "skip to the step's end") until its outcome. */
async function runStep(page) {
  await el(page, 'guide-run').click();
  // Either the step is still running (skip to its end) or it has already ended.
  const finish = el(page, 'guide-finish');
  await page.locator('[data-testid="guide-finish"]:visible, [data-testid="guide-next"]:visible').first().waitFor();
  // The step may end between the look and the click: then there is nothing left to skip.
  if (await finish.isVisible()) await finish.click({ timeout: 2000 }).catch(() => {});
  await el(page, 'guide-next').waitFor({ state: 'visible', timeout: 60_000 });
}

async function shot(page, name) {
  await mkdir(DOCS_DIR, { recursive: true });
  await copyFile(await screenshot(page, name), path.join(DOCS_DIR, name));
}

/** What the player says, per language, where the tests read it. */
const WORDS = {
  en: {
    locale: 'en-US',
    title5: 'A short disconnect',
    step: (n, total) => `Step ${n} of ${total}`,
    narration5: /B is a connected replica of A/,
    answerFirst: /Answer the question first/,
    actualContinue: /What the run did: \+CONTINUE, then only the bytes B missed/,
    yoursFull: /You predicted: \+FULLRESYNC, then a new RDB/,
    actual34: /What the run did: 34 bytes/,
    title2: 'Diskless sync and the delay',
    actual1: /What the run did: 1/,
    goal2: /with a single BGSAVE/,
    notYet: /Not yet/,
    foreign: ['第', '运行', '目标', '提示'],
  },
  'zh-CN': {
    locale: 'zh-CN',
    title5: '短暂断线',
    step: (n, total) => `第 ${n} 步，共 ${total} 步`,
    narration5: /B 是 A 的已连接副本/,
    answerFirst: /请先回答问题/,
    actualContinue: /运行的结果：\+CONTINUE，然后只发送 B 错过的字节/,
    yoursFull: /你的预测：\+FULLRESYNC，然后发送新的 RDB/,
    actual34: /运行的结果：34 字节/,
    title2: '无盘同步与等待延迟',
    actual1: /运行的结果：1/,
    goal2: /只用一次 BGSAVE/,
    notYet: /还没有/,
    foreign: ['Step ', 'Run the trial', 'Your goal', 'Hint', 'Next step'],
  },
};

for (const [lang, w] of Object.entries(WORDS)) {
  test(`a chapter played through (${lang}): predict, run, outcome beside the answer, back, again, next, free play`, async () => {
    const page = await openChapter('/index.html?scenario=05-short-disconnect', { locale: w.locale });
    assert.equal(await text(page, 'guide-title'), w.title5);
    assert.equal(await text(page, 'guide-position'), w.step(1, 2));
    assert.match(await text(page, 'guide-text'), w.narration5);
    // The narration is announced, and the nodes it names are highlighted on the stage.
    const live = await el(page, 'live').textContent();
    assert.ok(live.startsWith(w.step(1, 2)), live);
    assert.match(live, w.narration5);
    assert.equal(await page.locator('.card--highlight').count(), 2);
    // Predict first: running without an answer asks for one.
    await el(page, 'guide-run').click();
    assert.match(await text(page, 'guide-outcome'), w.answerFirst);
    const start = await api(page, 'now');

    await el(page, 'guide-choice-1').check();
    await runStep(page);
    assert.equal(await el(page, 'guide-verdict').getAttribute('data-right'), 'true');
    assert.match(await text(page, 'guide-actual'), w.actualContinue);
    assert.equal(await page.locator('[data-testid="guide-checks"] li[data-holds="true"]').count(), 3);
    assert.equal(await page.locator('[data-testid="guide-checks"] li[data-holds="false"]').count(), 0);
    // What the step typed is in the consoles, with the replies, as if the learner had typed it.
    const typed = await consoleLines(page, 0);
    assert.deepEqual(typed.filter((l) => l.startsWith('127.0.0.1:6379> INCR')), Array(3).fill('127.0.0.1:6379> INCR counter'));
    assert.ok(typed.includes('(integer) 3'));
    if (lang === 'en') await shot(page, 'guide.png');

    // Back is time travel to the step's start; the step runs again, here with the other answer.
    await el(page, 'guide-back').click();
    await waitFor(async () => (await api(page, 'now')) === start, { what: 'the clock back at the step’s start' });
    assert.equal(await el(page, 'guide-run').isVisible(), true);
    await el(page, 'guide-choice-2').check();
    await runStep(page);
    assert.equal(await el(page, 'guide-verdict').getAttribute('data-right'), 'false');
    assert.match(await text(page, 'guide-yours'), w.yoursFull);
    assert.match(await text(page, 'guide-actual'), /\+CONTINUE/);

    // On to step 2: a number.
    await el(page, 'guide-next').click();
    assert.equal(await text(page, 'guide-position'), w.step(2, 2));
    await el(page, 'guide-number').fill('34');
    await runStep(page);
    assert.equal(await el(page, 'guide-verdict').getAttribute('data-right'), 'true');
    assert.match(await text(page, 'guide-actual'), w.actual34);

    // The lab stays live: explore freely from here.
    assert.deepEqual(await command(page, 1, 'GET color'), ['"blue"']);
    const events = await page.evaluate(() => window.__chapter);
    const answers = events.filter((e) => e.name === 'lab-answer').map((e) => [e.step, e.correct]);
    assert.deepEqual(answers, [[1, true], [1, false], [2, true]]);
    const checkpoints = events.filter((e) => e.name === 'lab-checkpoint');
    assert.ok(checkpoints.every((e) => e.passed && e.id === '05-short-disconnect'), JSON.stringify(checkpoints));
    assert.deepEqual(events.filter((e) => e.name === 'lab-step').map((e) => e.step), [1, 1, 2]);
    assert.equal(events.filter((e) => e.name === 'lab-scenario-complete').length, 1);
    // The URL is a deep link to where the learner is.
    assert.match(page.url(), /scenario=05-short-disconnect&step=2/);
    await assertNoErrors(lab, page);
    await page.context().close();
  });

  test(`a chapter with a challenge played through (${lang}): the trial fails, the solution solves it`, async () => {
    const page = await openChapter('/index.html?scenario=02-diskless-sync', { locale: w.locale });
    assert.equal(await text(page, 'guide-title'), w.title2);
    assert.equal(await text(page, 'guide-position'), w.step(1, 2));
    await el(page, 'guide-number').fill('2');
    await runStep(page);
    assert.equal(await el(page, 'guide-verdict').getAttribute('data-right'), 'false');
    assert.match(await text(page, 'guide-actual'), w.actual1);
    await el(page, 'guide-next').click();
    assert.match(await text(page, 'guide-goal'), w.goal2);
    await runStep(page); // the step itself does nothing: the goal is the learner's
    assert.equal(await el(page, 'guide-next').isDisabled(), true, 'not before the goal is reached');

    const trial = async () => {
      await el(page, 'guide-trial').click();
      const finish = el(page, 'guide-finish');
      await finish.waitFor({ state: 'visible' });
      await finish.click({ timeout: 2000 }).catch(() => {});
      const verdict = el(page, 'guide-challenge').locator('[data-testid="guide-verdict"]');
      await verdict.waitFor({ timeout: 60_000 });
      return verdict;
    };
    let verdict = await trial();
    assert.equal(await verdict.getAttribute('data-solved'), 'false');
    assert.match(await verdict.textContent(), w.notYet);
    // The learner's own command would do; here, the reference solution.
    await el(page, 'guide-solution').click();
    await waitFor(async () => (await command(page, 0, 'CONFIG GET repl-diskless-sync-delay')).some((l) => l.endsWith('"10"')), { what: 'the solution applied' });
    verdict = await trial();
    assert.equal(await verdict.getAttribute('data-solved'), 'true');
    assert.ok(!(await el(page, 'guide-challenge').innerText()).includes('null'), 'no stray text');
    assert.equal(await el(page, 'guide-next').isDisabled(), false);
    if (lang === 'zh-CN') await shot(page, 'guide-zh.png');
    // No sentence of the player's own in the other language.
    const side = await el(page, 'guide').innerText();
    for (const phrase of w.foreign) assert.ok(!side.includes(phrase), phrase);
    // The chapter list marks the chapter done.
    await el(page, 'guide-next').click();
    await el(page, 'chapter-02-diskless-sync').waitFor();
    assert.equal(await el(page, 'chapter-02-diskless-sync').getAttribute('data-state'), 'complete');
    assert.equal(await page.locator('[data-testid="guide-list"] li').count(), 18);
    await assertNoErrors(lab, page);
    await page.context().close();
  });
}

test('a deep link opens its step, the steps before it already run', async () => {
  const page = await openChapter('/index.html?scenario=04-propagation&step=3');
  assert.equal(await text(page, 'guide-position'), 'Step 3 of 3');
  assert.deepEqual(await command(page, 1, 'GET stock'), ['"2"']);
  assert.ok((await api(page, 'now')) > 5000);
  // "Save this run as a scenario": a file that replays the run, for an author to finish.
  const [download] = await Promise.all([page.waitForEvent('download'), el(page, 'guide-save').click()]);
  assert.equal(download.suggestedFilename(), 'scenario.toml');
  const saved = await readFile(await download.path(), 'utf8');
  assert.match(saved, /^# A scenario made from a run in the Redis Replication Lab \(seed 1\)\./);
  assert.match(saved, /topology = "A;B"/);
  assert.match(saved, /do = \["B: REPLICAOF \{A\}"\]/);
  assert.match(saved, /do = \["wait [\d.]+ms", "A: INCRBYFLOAT price 1\.5"\]/);
  await assertNoErrors(lab, page);
  await page.context().close();
});

test('a broken scenario file lists its problems with their lines, and the lab stays usable', async () => {
  const page = await openChapter('/index.html?scenario=01-first-full-sync');
  const broken = [
    'title = { en = "Broken" }',
    'summary = { en = "x" }',
    '[lab]',
    'topology = "A;B>A"',
    '[[step]]',
    'text = { en = "go" }',
    'do = ["C: SET k v", "explode A"]',
    'until = "B.master_link == \'up\'"',
  ].join('\n');
  await el(page, 'guide-file').setInputFiles({ name: 'broken.toml', mimeType: 'text/plain', buffer: Buffer.from(broken) });
  await el(page, 'guide-errors').waitFor();
  const items = await el(page, 'guide-errors').locator('li').allTextContents();
  assert.deepEqual(items, [
    "broken.toml:7: step 1 do[1]: unknown node 'C': the lab's nodes are A to B",
    "broken.toml:7: step 1 do[2]: unknown action 'explode' (a console line is 'A: COMMAND ...'; actions: wait, cut, partition, heal, crash, restart, pause, link, links, load, add-node, remove-node, sentinel)",
    "broken.toml:8: step 1 until: unknown INFO field 'master_link' (at character 3) in 'B.master_link == 'up''",
  ]);
  // The chapter that was open is still there, and the lab answers.
  assert.equal(await text(page, 'guide-title'), 'The first full sync');
  assert.deepEqual(await command(page, 0, 'DBSIZE'), ['(integer) 1001']);
  // A file that checks but whose lab cannot be set up: its reason, and the lab as it was.
  const stuck = 'title = { en = "Stuck" }\nsummary = { en = "x" }\n[lab]\ntopology = "A"\nready = "up(A) and not up(A)"\ntimeout = "1s"\n[[step]]\ntext = { en = "go" }\n';
  await el(page, 'guide-file').setInputFiles({ name: 'stuck.toml', mimeType: 'text/plain', buffer: Buffer.from(stuck) });
  await waitFor(async () => (await el(page, 'guide-errors').textContent()).includes('stuck.toml'), { what: 'the setup failure' });
  assert.match(await el(page, 'guide-errors').textContent(), /stuck\.toml: lab: the lab's setup: 'up\(A\) and not up\(A\)' did not hold within 1 s/);
  assert.equal(await text(page, 'guide-title'), 'The first full sync');
  assert.deepEqual(await command(page, 0, 'GET greeting'), ['"hello"']);
  await assertNoErrors(lab, page);
  await page.context().close();
});

test('an embedded lab opens the chapter its scenario attribute names and tells its host', async () => {
  const page = await openChapter('/embed.html?scenario=01-first-full-sync&lang=zh-CN');
  assert.equal(await text(page, 'guide-title'), '第一次全量同步');
  const events = await page.evaluate(() => window.__chapter);
  assert.deepEqual(events.map((e) => [e.name, e.id, e.step, e.total]), [['lab-step', '01-first-full-sync', 1, 3]]);
  // openScenario: another chapter by id, and a bad file's text refused (the open one stays).
  assert.equal(await api(page, 'openScenario', '05-short-disconnect'), true);
  assert.equal(await text(page, 'guide-title'), '短暂断线');
  assert.equal(await api(page, 'openScenario', 'bad', 'title = 1'), false);
  assert.equal(await text(page, 'guide-title'), '短暂断线');
  assert.equal(await el(page, 'guide-errors').isVisible(), true);
  await assertNoErrors(lab, page);
  await page.context().close();
});

test('axe-core finds no violation with the player open, in English and in Chinese', async () => {
  const page = await axePage(lab);
  for (const lang of ['en', 'zh-CN']) {
    await page.goto(`${lab.baseUrl}/index.html?scenario=05-short-disconnect`);
    await ready(page);
    await page.evaluate((l) => document.querySelector('redis-repl-lab').setAttribute('lang', l), lang);
    await el(page, 'guide-choice-1').check();
    await runStep(page);
    assert.deepEqual(await axe(page), [], lang);
  }
  await page.close();
});
