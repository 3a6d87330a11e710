// RDB benchmark, wasm half: encode (Lab.exportRdb) and decode (parseRdb) of 1,000,000 string keys
// with 64-byte values in the web package that ./scripts/build puts in www/pkg, run by Node 20.
//
//   node benches/rdb-wasm.mjs [RANDOM_RDB]
//
// Always measures the DEBUG POPULATE shape (`DEBUG POPULATE 1000000 key 64`: values `value:N`
// zero-padded to 64 bytes, which LZF compresses heavily). Given RANDOM_RDB (a dump.rdb written by
// `cargo bench --bench rdb` with 64-byte pseudo-random hex values), it also imports that file into
// a node with importRdb and measures the same two operations on it. Each operation runs REPS
// times; the median is reported. Prints a table for people and one `json: {...}` line per shape
// for benches/rdb.rs.

import fs from 'node:fs';
import init, { Lab, parseRdb } from '../www/pkg/redis_repl_lab.js';

const KEYS = 1_000_000;
const REPS = 3;

await init({ module_or_path: fs.readFileSync(new URL('../www/pkg/redis_repl_lab_bg.wasm', import.meta.url)) });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

function measure(shape, lab) {
  const dbsize = lab.command(0, 'DBSIZE');
  if (dbsize !== `(integer) ${KEYS}`) throw new Error(`${shape}: DBSIZE says ${dbsize}, expected ${KEYS}`);
  const enc = [];
  const dec = [];
  let bytes;
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    bytes = lab.exportRdb(0);
    enc.push((performance.now() - t0) / 1000);
  }
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    const parsed = parseRdb(bytes);
    dec.push((performance.now() - t0) / 1000);
    // Freed after the clock stops, as the native decode's keyspace is dropped after it.
    const keys = parsed.keys;
    parsed.free();
    if (keys !== KEYS) throw new Error(`${shape}: parseRdb found ${keys} keys, expected ${KEYS}`);
  }
  return { shape, keys: KEYS, bytes: bytes.length, encode_s: median(enc), decode_s: median(dec), reps: REPS };
}

const results = [];

{
  const lab = new Lab(1);
  lab.addNode();
  const t0 = performance.now();
  const reply = lab.command(0, `DEBUG POPULATE ${KEYS} key 64`);
  if (reply !== 'OK') throw new Error(`DEBUG POPULATE replied ${reply}`);
  console.error(`wasm: DEBUG POPULATE ${KEYS} took ${((performance.now() - t0) / 1000).toFixed(2)} s (not timed)`);
  results.push(measure('populate', lab));
  lab.free();
}

const randomPath = process.argv[2];
if (randomPath) {
  const file = fs.readFileSync(randomPath);
  const lab = new Lab(1);
  lab.addNode();
  lab.importRdb(0, file);
  results.push(measure('random', lab));
  lab.free();
}

console.log('| wasm, 1,000,000 keys x 64 B (median of 3) | RDB MB | seconds | keys/s | MB/s |');
console.log('|---|---:|---:|---:|---:|');
for (const r of results) {
  for (const [op, s] of [['encode (exportRdb)', r.encode_s], ['decode (parseRdb)', r.decode_s]]) {
    const mb = r.bytes / 1e6;
    console.log(`| ${r.shape}: ${op} | ${mb.toFixed(1)} | ${s.toFixed(3)} | ${Math.round(r.keys / s)} | ${(mb / s).toFixed(1)} |`);
  }
}
for (const r of results) console.log(`json: ${JSON.stringify(r)}`);
