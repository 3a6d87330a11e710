// Unit tests (Node only, no browser) of two pure parts of the element: its attributes read and
// checked (www/lab/settings.js) and where the node cards go on the stage (www/lab/views/layout.js).
// Run: node --test tests/e2e/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSettings, parseTopology, parseConfig, VIEWS } from '../../www/lab/settings.js';
import { layout, SIZES } from '../../www/lab/views/layout.js';

/** readSettings over a plain object of attributes. */
const read = (attrs) => readSettings((name) => (name in attrs ? attrs[name] : null));

test('no attributes: three nodes, B and C replicas of A, every view, full controls, paused', () => {
  const { settings, errors } = read({});
  assert.deepEqual(errors, []);
  assert.deepEqual(settings.nodes, [{ name: 'A', replicaOf: null }, { name: 'B', replicaOf: 'A' }, { name: 'C', replicaOf: 'A' }]);
  assert.equal(settings.seed, 1);
  assert.equal(settings.controls, 'full');
  assert.equal(settings.theme, 'light');
  assert.equal(settings.speed, 1);
  assert.equal(settings.autoplay, false);
  assert.deepEqual([...settings.views], VIEWS);
  assert.equal(settings.lang, null);
});

test('topology: names, masters, chains, and the nodes it implies', () => {
  assert.deepEqual(parseTopology('A;B>A;C>B').nodes, [
    { name: 'A', replicaOf: null }, { name: 'B', replicaOf: 'A' }, { name: 'C', replicaOf: 'B' },
  ]);
  // Lower case and spaces are fine; a node only named as a master exists; D is a master of its own.
  assert.deepEqual(parseTopology(' b > a ; d ').nodes, [
    { name: 'A', replicaOf: null }, { name: 'B', replicaOf: 'A' }, { name: 'C', replicaOf: null }, { name: 'D', replicaOf: null },
  ]);
  assert.deepEqual(parseTopology(''), { error: 'empty' });
  assert.deepEqual(parseTopology('A;B=>A'), { error: 'item', params: { item: 'B=>A' } });
  assert.deepEqual(parseTopology('A;J>A'), { error: 'name', params: { name: 'J', last: 'H' } });
  assert.deepEqual(parseTopology('B>B'), { error: 'self', params: { name: 'B' } });
  assert.deepEqual(parseTopology('B>A;B>C'), { error: 'twice', params: { name: 'B' } });
  assert.equal(parseTopology('B>A;B>A').error, undefined, 'the same line twice is no contradiction');
});

test('config: CONFIG SET lines per node, * for all, values with spaces quoted as redis-cli takes them', () => {
  assert.deepEqual(parseConfig('*:repl-backlog-size 64kb; B:repl-diskless-sync no', 3).lines, [
    { node: 0, line: 'CONFIG SET repl-backlog-size 64kb' },
    { node: 1, line: 'CONFIG SET repl-backlog-size 64kb' },
    { node: 2, line: 'CONFIG SET repl-backlog-size 64kb' },
    { node: 1, line: 'CONFIG SET repl-diskless-sync no' },
  ]);
  assert.deepEqual(parseConfig('A:client-output-buffer-limit replica 1mb 512kb 10', 1).lines, [
    { node: 0, line: 'CONFIG SET client-output-buffer-limit "replica 1mb 512kb 10"' },
  ]);
  assert.deepEqual(parseConfig('A repl-timeout 10', 2), { error: 'item', params: { item: 'A repl-timeout 10' } });
  assert.deepEqual(parseConfig('D:repl-timeout 10', 3), { error: 'node', params: { name: 'D', item: 'D:repl-timeout 10' } });
});

test('each bad attribute is reported with its value and the lab keeps that attribute\'s default', () => {
  const { settings, errors } = read({
    seed: '-1', nodes: '9', controls: 'most', theme: 'neon', views: 'stage,graph', speed: '2',
    autoplay: 'sometimes', height: '100', 'aspect-ratio': 'wide', lang: 'fr',
  });
  assert.deepEqual(errors.map((e) => [e.attribute, e.key, e.params.value]), [
    ['seed', 'seed', '-1'],
    ['nodes', 'nodes', '9'],
    ['lang', 'lang', 'fr'],
    ['controls', 'controls', 'most'],
    ['theme', 'theme', 'neon'],
    ['views', 'views', 'stage,graph'],
    ['speed', 'speed', '2'],
    ['autoplay', 'autoplay', 'sometimes'],
    ['height', 'height', '100'],
    ['aspect-ratio', 'aspect', 'wide'],
  ]);
  assert.equal(errors.find((e) => e.attribute === 'views').params.unknown, 'graph');
  assert.equal(settings.seed, 1);
  assert.equal(settings.nodes.length, 3);
  assert.equal(settings.controls, 'full');
  assert.equal(settings.speed, 1);
  assert.equal(settings.height, null);
});

test('good values are taken as written', () => {
  const { settings, errors } = read({
    seed: '4294967295', nodes: '8', controls: 'none', theme: 'auto', views: 'stage, log', speed: '0.25',
    autoplay: '', height: '420px', 'aspect-ratio': '16 / 10', lang: 'zh-CN', log: ' RL1;s=1;t=0 ',
  });
  assert.deepEqual(errors, []);
  assert.equal(settings.seed, 4294967295);
  assert.equal(settings.nodes.length, 8);
  assert.equal(settings.nodes[7].replicaOf, 'A');
  assert.equal(settings.controls, 'none');
  assert.deepEqual([...settings.views], ['stage', 'log']);
  assert.equal(settings.speed, 0.25);
  assert.equal(settings.autoplay, true);
  assert.equal(settings.height, 420);
  assert.equal(settings.aspect, '16 / 10');
  assert.equal(settings.lang, 'zh-CN');
  assert.equal(settings.log, 'RL1;s=1;t=0');
  assert.equal(read({ autoplay: 'false' }).settings.autoplay, false);
  assert.equal(read({ topology: 'A;B>A', nodes: '5' }).settings.nodes.length, 2, 'topology wins over nodes');
});

const nodes = (n) => Array.from({ length: n }, (_, index) => ({ index }));
const chain = (n) => Array.from({ length: n - 1 }, (_, i) => ({ replica: i + 1, master: i }));

test('layout: a master over its replicas, full cards when they fit', () => {
  const g = layout(nodes(3), [{ replica: 1, master: 0 }, { replica: 2, master: 0 }], 800, 600);
  assert.equal(g.size, 'full');
  assert.equal(g.direction, 'down');
  const [a, b, c] = [0, 1, 2].map((i) => g.cards.get(i));
  assert.ok(a.y < b.y && b.y === c.y, 'replicas below their master, side by side');
  assert.equal(a.x + a.w / 2, (b.x + c.x + c.w) / 2, 'the master centred over them');
});

test('layout: a chain too deep for a short stage is laid sideways, master on the left', () => {
  const g = layout(nodes(3), chain(3), 800, 290);
  assert.equal(g.direction, 'right');
  const [a, b, c] = [0, 1, 2].map((i) => g.cards.get(i));
  assert.ok(a.x + a.w < b.x && b.x + b.w < c.x, 'levels from left to right');
  assert.equal(a.y, b.y);
  for (const card of g.cards.values()) assert.ok(card.y >= 0 && card.y + card.h <= 290, 'inside the stage');
  // With room, the same chain stands upright.
  assert.equal(layout(nodes(3), chain(3), 800, 600).direction, 'down');
});

test('layout: eight replicas of one master on a narrow stage wrap into rows without overlapping', () => {
  const links = Array.from({ length: 7 }, (_, i) => ({ replica: i + 1, master: 0 }));
  const g = layout(nodes(8), links, 360, 400);
  const boxes = [...g.cards.values()];
  for (const box of boxes) assert.ok(box.x >= 0 && box.x + box.w <= 360, 'within the width');
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [p, q] = [boxes[i], boxes[j]];
      assert.ok(p.x + p.w <= q.x || q.x + q.w <= p.x || p.y + p.h <= q.y || q.y + q.h <= p.y, `cards ${i} and ${j} overlap`);
    }
  }
  assert.ok(SIZES.some((s) => s.name === g.size));
});

test('layout: a loop of replicas (A → B → A) still has a top', () => {
  const g = layout(nodes(2), [{ replica: 0, master: 1 }, { replica: 1, master: 0 }], 800, 600);
  assert.equal(g.cards.size, 2);
  assert.ok(g.cards.get(0).y < g.cards.get(1).y, 'cut at the lowest index: A on top');
});
