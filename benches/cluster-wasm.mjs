// Cluster benchmark, wasm half: the lab's own write load (`SET load:<n mod 100000> <n>`, 100,000 a second
// of virtual time, pipelined every 10 ms) on a master with 1, 3 or 7 replicas, in the web package
// that ./scripts/build puts in www/pkg, run by Node. The wall-clock time from the load's start
// until every replica has applied the last write gives writes per second. `cargo bench --bench
// cluster` runs the same workload natively and prints both, with this file's `json:` lines.
//
//   node benches/cluster-wasm.mjs

import fs from 'node:fs';
import init, { Lab } from '../www/pkg/redis_repl_lab.js';

const RATE = 100_000; // writes per virtual second (the lab's highest load)
const VIRTUAL_MS = 2_000;
const RUNS = 3;

await init({ module_or_path: fs.readFileSync(new URL('../www/pkg/redis_repl_lab_bg.wasm', import.meta.url)) });

const field = (lab, i, name) => {
  const line = lab.info(i, 'replication').split('\r\n').find((l) => l.startsWith(`${name}:`));
  return line ? Number(line.slice(name.length + 1)) : NaN;
};

function run(replicas) {
  const lab = new Lab(1);
  lab.setLinks(0.1, 10_000_000_000);
  lab.addNode();
  lab.command(0, 'CONFIG SET repl-diskless-sync-delay 0');
  for (let r = 1; r <= replicas; r++) {
    lab.addNode();
    lab.command(r, 'REPLICAOF 127.0.0.1 6379');
  }
  lab.advance(3_000);
  for (let r = 1; r <= replicas; r++) {
    if (!lab.info(r, 'replication').includes('master_link_status:up')) throw new Error(`replica ${r} did not sync`);
  }
  const t0 = performance.now();
  lab.setLoad(0, RATE);
  lab.advance(VIRTUAL_MS);
  lab.setLoad(0, 0);
  const target = field(lab, 0, 'master_repl_offset');
  while ([...Array(replicas).keys()].some((r) => field(lab, r + 1, 'slave_repl_offset') < target)) lab.advance(1);
  const secs = (performance.now() - t0) / 1000;
  const writes = Number(lab.command(0, 'DBSIZE').replace('(integer) ', ''));
  lab.free();
  return writes / secs;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const replicas of [1, 3, 7]) {
  const rate = median(Array.from({ length: RUNS }, () => run(replicas)));
  console.log(`wasm, ${replicas} replicas: ${rate.toFixed(0)} writes/s`);
  console.log(`json: ${JSON.stringify({ replicas, rate })}`);
}
