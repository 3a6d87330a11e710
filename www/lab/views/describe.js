// Words for the engine's typed trace events. The engine says what happened as a kind plus fields
// (src/sim/trace.rs); this turns each into a sentence from the catalogs. Redis's own log lines,
// a sentinel's event lines and the labels decoded from wire bytes are kept verbatim: they are
// what redis-server, redis-sentinel and the network said.

/** Display names of the peers in a frame: {node: Map(index -> name), sentinel: Map}. */
export function namesOf(frame, previous) {
  const node = new Map(previous ? previous.node : []);
  const sentinel = new Map(previous ? previous.sentinel : []);
  for (const n of frame.nodes) node.set(n.index, n.name);
  for (const s of frame.sentinels) sentinel.set(s.index, s.name);
  return { node, sentinel };
}

function peerName(names, p) {
  if (!p) return '?';
  const map = p.peer === 'sentinel' ? names.sentinel : names.node;
  return map.get(p.index) ?? `#${p.index}`;
}

/** The name of the node (or sentinel) an event is filed under. */
export function subjectName(ev, names) {
  const sentinel = ev.kind === 'sentinel' || ev.kind === 'sentinel-net';
  return (sentinel ? names.sentinel : names.node).get(ev.node) ?? `#${ev.node}`;
}

/** The first 8 characters of a replication id (the inspector and the log show the rest on focus). */
export function shortId(id) {
  return String(id ?? '').slice(0, 8);
}

/**
 * One event as {text, verbatim, ids}: `verbatim` is true when the text is Redis's own (a log or
 * sentinel line), `ids` lists full replication ids the text shortened.
 */
export function describe(ev, words, names) {
  const t = (key, params) => words.t(key, params);
  const subject = subjectName(ev, names);
  const peer = (p) => peerName(names, p);
  switch (ev.type) {
    case 'log':
    case 'sentinel':
      return { text: `${ev.level} ${ev.text}`, verbatim: true };
    case 'connect':
      return { text: t('ev.connect', { from: peer(ev.from), addr: `${ev.host}:${ev.port}` }) };
    case 'accept':
      return { text: t('ev.accept', { server: peer(ev.server), client: peer(ev.client) }) };
    case 'close':
      return { text: t('ev.close', { by: peer(ev.by), peer: peer(ev.peer) }) };
    case 'sent':
      return { text: t('ev.sent', { from: peer(ev.from), to: peer(ev.to), label: ev.label, bytes: words.bytes(ev.bytes) }) };
    case 'delivered':
      return {
        text: t(ev.delivered ? 'ev.delivered' : 'ev.dropped', {
          from: peer(ev.from), to: peer(ev.to), label: ev.label, bytes: words.bytes(ev.bytes),
        }),
      };
    case 'state':
      return describeChange(ev, subject, words);
    case 'paused':
      return { text: t('ev.paused', { name: subject, seconds: (ev.ms / 1000).toFixed(1) }) };
    case 'crashed':
    case 'restarted':
    case 'shutDown':
    case 'added':
    case 'removed':
    case 'healed':
      return { text: t(`ev.${ev.type}`, { name: subject }) };
    case 'imported':
      return { text: t('ev.imported', { name: subject, bytes: words.bytes(ev.bytes) }) };
    case 'linkSettings':
      return {
        text: t('ev.linkSettings', {
          a: names.node.get(ev.a) ?? `#${ev.a}`, b: names.node.get(ev.b) ?? `#${ev.b}`,
          ms: ev.latency / 1000, jitter: ev.jitter / 1000, bw: words.bytes(ev.bandwidth),
        }),
      };
    case 'cut':
      return { text: t('ev.cut', { a: names.node.get(ev.a) ?? `#${ev.a}`, b: names.node.get(ev.b) ?? `#${ev.b}` }) };
    case 'partition':
    case 'sentinelPartition':
      return { text: t(`ev.${ev.type}`, { sides: sides(ev.groups, ev.type === 'partition' ? names.node : names.sentinel) }) };
    case 'psync':
      return {
        text: t(ev.accepted ? 'ev.psyncContinue' : 'ev.psyncFull', {
          name: subject, port: ev.replicaPort, ask: `PSYNC ${ev.id} ${ev.offset}`, bytes: words.n(ev.bytes), why: t(`psync.full.${ev.reason}`),
        }),
      };
    case 'propagated':
      return { text: t('ev.propagated', { name: subject, label: ev.label, start: ev.start, end: ev.end }) };
    case 'load':
      return { text: t(ev.rate > 0 ? 'ev.load' : 'ev.loadStopped', { name: subject, n: words.n(ev.rate) }) };
    case 'notPropagated':
      return { text: t(ev.replicas > 0 ? 'ev.notPropagated' : 'ev.notPropagatedReplica', { name: subject, command: ev.command, n: ev.replicas }) };
    default:
      return { text: t('ev.unknown', { type: ev.type }) };
  }
}

function describeChange(ev, subject, words) {
  const t = (key, params) => words.t(key, params);
  switch (ev.change) {
    case 'role':
      return { text: t('ev.role', { name: subject, from: t(ev.from === 'master' ? 'role.master' : 'role.replica'), to: t(ev.to === 'master' ? 'role.master' : 'role.replica') }) };
    case 'replState':
      return { text: t('ev.replState', { name: subject, from: ev.from, to: ev.to, meaning: t(`replstate.${ev.to}`) }) };
    case 'replid':
      return { text: t('ev.replid', { name: subject, from: shortId(ev.from), to: shortId(ev.to) }), ids: [ev.from, ev.to] };
    case 'backlogCreated':
    case 'backlogFreed':
      return { text: t(`ev.${ev.change}`, { name: subject }) };
    case 'replica':
      return { text: t(ev.from ? 'ev.replica' : 'ev.replicaNew', { name: subject, port: ev.port, from: ev.from, to: ev.to }) };
    case 'replicaGone':
      return { text: t('ev.replicaGone', { name: subject, port: ev.port }) };
    default:
      return { text: t('ev.unknown', { type: ev.change }) };
  }
}

/** "A, B | C": the members of each partition group. */
function sides(groups, names) {
  const by = new Map();
  (groups || []).forEach((g, i) => {
    if (!names.has(i)) return;
    if (!by.has(g)) by.set(g, []);
    by.get(g).push(names.get(i));
  });
  return Array.from(by.keys()).sort((a, b) => a - b).map((g) => by.get(g).join(', ')).join(' | ');
}

/** Whether an event is worth a polite screen-reader announcement, and its words. */
export function announcement(ev, words, names) {
  const important = ev.type === 'state' && ['role', 'replState', 'backlogCreated'].includes(ev.change)
    ? ev.change !== 'replState' || ['sync', 'connected', 'connect'].includes(ev.to)
    : ['crashed', 'restarted', 'shutDown', 'cut', 'partition', 'healed', 'notPropagated', 'removed', 'psync'].includes(ev.type);
  return important ? describe(ev, words, names).text : null;
}
