// index.html asks for every module of the lab, the engine's wasm and the lab's stylesheet at
// once (preloads), so the first frame does not wait for one import after another. The list is
// written by hand in the page; this test keeps it equal to the lab's real import graph, so a
// module added or removed without the page following fails here, not silently in the timing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WWW = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'www');

/** Every module `entry` imports, directly or not (static imports), as paths under www/. */
function importGraph(entry) {
  const seen = new Set();
  const walk = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(path.join(WWW, file), 'utf8');
    for (const m of source.matchAll(/^\s*import\s[^;]*?from\s+['"]([^'"]+)['"]/gms)) {
      walk(path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1])));
    }
  };
  walk(entry);
  return seen;
}

/** The `href`s of the page's `<link rel="...">` elements of one kind. */
function links(html, rel) {
  const found = [];
  for (const m of html.matchAll(/<link\s[^>]*>/g)) {
    const tag = m[0];
    if (tag.includes(`rel="${rel}"`)) found.push({ tag, href: /href="([^"]+)"/.exec(tag)[1] });
  }
  return found;
}

test('index.html preloads exactly the lab\'s module graph, its stylesheet and its engine', () => {
  const html = readFileSync(path.join(WWW, 'index.html'), 'utf8');
  const graph = importGraph('lab/redis-repl-lab.js');
  assert.ok(graph.size > 20, `the graph was read (${graph.size} modules)`);
  const preloaded = links(html, 'modulepreload').map((l) => l.href);
  assert.deepEqual([...preloaded].sort(), [...graph].sort());
  for (const href of preloaded) assert.ok(existsSync(path.join(WWW, href)), href);

  const other = links(html, 'preload');
  const wasm = other.find((l) => l.href === 'pkg/redis_repl_lab_bg.wasm');
  assert.ok(wasm, 'the engine is preloaded');
  // The lab fetches it with fetch() (same origin, CORS mode): only a preload `as="fetch"` with
  // `crossorigin` is reused by that request instead of downloading the file twice.
  assert.match(wasm.tag, /as="fetch"/);
  assert.match(wasm.tag, /\scrossorigin[\s>]/);
  const css = other.find((l) => l.href === 'lab/lab.css');
  assert.ok(css && /as="style"/.test(css.tag), 'the lab\'s stylesheet is preloaded');
});
