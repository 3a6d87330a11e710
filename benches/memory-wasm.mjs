// Memory benchmark, wasm half: the bytes per key a node holds in the page's heap, for datasets
// that `cargo bench --bench memory` saved as RDB files (1,000,000 keys of one type each), loaded
// into a lab node in the web package that ./scripts/build puts in www/pkg, run by Node. The heap
// counts the bytes its callers hold (`heapInUse`), as the native benchmark's allocator does.
// Importing keeps two copies of the file (the run's action log, to replay it, and the node's
// dump.rdb, which it restarts from); their exact length is taken off.
//
// Then a replica joins the string master and syncs: what that adds to the page is printed with
// the replica's own dump.rdb (a replica saves what it received, as Redis's does).
//
//   node benches/memory-wasm.mjs DIR     (DIR holds string.rdb, list.rdb, ...)

import fs from 'node:fs';
import path from 'node:path';
import init, { Lab, heapInUse } from '../www/pkg/redis_repl_lab.js';

await init({ module_or_path: fs.readFileSync(new URL('../www/pkg/redis_repl_lab_bg.wasm', import.meta.url)) });

const dir = process.argv[2];
const dbsize = (lab, i) => Number(lab.command(i, 'DBSIZE').replace('(integer) ', ''));

function loaded(kind) {
  const file = fs.readFileSync(path.join(dir, `${kind}.rdb`));
  const lab = new Lab(1);
  lab.setLinks(1, 1_000_000_000);
  lab.addNode();
  const before = heapInUse();
  lab.importRdb(0, file);
  const keys = dbsize(lab, 0);
  const perKey = (heapInUse() - before - 2 * file.length) / keys;
  console.log(`json: ${JSON.stringify({ kind, keys, perKey })}`);
  return lab;
}

function replicaOf(lab) {
  const before = heapInUse();
  lab.addNode();
  lab.command(1, 'REPLICAOF 127.0.0.1 6379');
  for (let t = 0; t < 600 && !lab.info(1, 'replication').includes('master_link_status:up'); t++) lab.advance(100);
  const keys = dbsize(lab, 1);
  if (keys !== dbsize(lab, 0)) throw new Error(`the replica has ${keys} keys, its master ${dbsize(lab, 0)}`);
  const grown = heapInUse() - before;
  const disk = lab.exportRdb(1).length;
  console.log(`json: ${JSON.stringify({ replica: true, keys, perKey: grown / keys, diskPerKey: disk / keys })}`);
}

for (const kind of ['string', 'list', 'hash', 'set', 'zset']) {
  const lab = loaded(kind);
  if (kind === 'string') replicaOf(lab);
  lab.free();
}
