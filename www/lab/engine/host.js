// Owns one lab's engine (the wasm `Lab` object) and answers requests about it. The same code runs
// inside the lab's Worker (worker.js) or, where Workers are unavailable, on the page's own thread
// (client.js), so the element's API is promise-based either way.
//
// A request is {op, ...}; the answer is a plain, structured-clonable value. The host keeps no
// replication knowledge: it calls the facade and forwards what it returns. It does keep a journal
// of the calls that changed the run (with the virtual time of each), so that after a panic a new
// engine can replay them up to the last call that succeeded and nothing of the run is lost.

/** Facade methods a request may call that change the run (recorded in the journal). */
const ACTIONS = new Set([
  'addNode', 'removeNode', 'command', 'cut', 'partition', 'heal', 'crash', 'restart', 'pauseNode',
  'setLink', 'setLinks', 'importRdb', 'addSentinel', 'sentinelCommand', 'partitionSentinels', 'setLoad',
  'scenarioBegin', 'scenarioBack', 'scenarioTrial', 'scenarioSolution', 'scenarioFinish',
]);

/** Frame fields that change without anything to draw (see `tick`). */
const UNSHOWN = new Set(['nowUs', 'version', 'horizonUs']);

/** Facade methods a request may call that only read. */
const READS = new Set([
  'info', 'keys', 'consoleHistory', 'exportRdb', 'actionLog', 'traceDigest', 'messageBytes', 'previousEventTime',
  'scenario', 'scenarioProgress', 'scenarioGoal', 'scenarioSkeleton', 'scenarioTyped', 'exportZip', 'reportLog',
]);

/** The longest a single tick may advance virtual time (ms): a hidden tab comes back in steps. */
const MAX_ADVANCE_MS = 60_000;

/** Trace events sent per tick at most; at volume the oldest of a burst are counted, not sent. */
const MAX_EVENTS = 2000;

/**
 * Wire traffic (sent and delivered segments) and propagated commands are the bulk of the trace
 * under load, and only some views need them: the host keeps the latest here and sends them only
 * to a page that asks (see `wants` in tick), or all at once when a view that needs them opens.
 */
const KEEP_TRAFFIC = 4000;
const KEEP_STREAM = 200;

export class EngineHost {
  /** @param {object} glue the wasm-bindgen module, initialised */
  constructor(glue) {
    this.glue = glue;
    this.lab = null;
    this.journal = []; // [{atMs, op, args}] calls that changed the run, in order
    this.seen = { version: -1, generation: -1 };
    this.eventsSeen = 0; // trace events sent to the page
    this.traffic = []; // the latest sent and delivered events
    this.stream = new Map(); // node -> its latest propagated commands
    this.dead = false; // set after a panic: the wasm instance must not be called again
  }

  /** Answers one request; throws an {message, code} object for refusals. */
  handle(req) {
    if (this.dead) throw { message: 'the engine stopped after an error', code: 'dead' };
    switch (req.op) {
      case 'create': return this.create(req);
      case 'tick': return this.tick(req.advanceMs, req.force, req.wants || {});
      case 'history': return { traffic: this.traffic.slice(), stream: Array.from(this.stream.entries()) };
      case 'step': {
        const happened = this.lab.step(req.maxMs);
        this.journal.push({ atMs: this.lab.now(), op: 'seek', args: [this.lab.now()] });
        return happened;
      }
      case 'seek':
        this.lab.seek(req.ms);
        this.journal.push({ atMs: this.lab.now(), op: 'seek', args: [req.ms] });
        return this.lab.now();
      case 'call': return this.call(req.name, req.args || []);
      case 'rdbSections': return this.glue.rdbSections(req.bytes, req.from, req.to);
      case 'loadScenario': return this.glue.loadScenario(req.id, req.text);
      default: throw { message: `unknown request ${req.op}`, code: 'bad-request' };
    }
  }

  create({ seed, log, restore, scenario }) {
    const { Lab } = this.glue;
    if (scenario) {
      // Built before the old lab is let go: a chapter whose setup fails leaves the lab as it was.
      const next = Lab.fromScenario(scenario.id, scenario.text);
      this.replaceLab(next);
      this.journal = [{ atMs: 0, op: 'scenario', args: [scenario.id, scenario.text] }];
      return { shared: false, seed, scenario: this.lab.scenario() };
    }
    this.replaceLab(null);
    if (restore) return this.replay(restore.seed, restore.journal);
    if (typeof log === 'string' && log !== '') {
      this.lab = Lab.fromLog(log);
      this.journal = [{ atMs: this.lab.now(), op: 'log', args: [log] }];
      return { shared: true, seed };
    }
    this.lab = new Lab(seed >>> 0);
    this.journal = [{ atMs: 0, op: 'seed', args: [seed >>> 0] }];
    return { shared: false, seed };
  }

  /** Puts `lab` in the old one's place (whose memory goes back to wasm), views starting afresh. */
  replaceLab(lab) {
    if (this.lab) this.lab.free();
    this.lab = lab;
    this.guideKey = null;
    this.frameKey = null;
    this.seen = { version: -1, generation: -1 };
    this.eventsSeen = 0;
    this.traffic = [];
    this.stream = new Map();
  }

  /** Rebuilds the run from a journal (after a panic), call by call. */
  replay(seed, journal) {
    const { Lab } = this.glue;
    const [first, ...rest] = journal;
    if (first && first.op === 'log') this.lab = Lab.fromLog(first.args[0]);
    else if (first && first.op === 'scenario') this.lab = Lab.fromScenario(...first.args);
    else this.lab = new Lab(seed >>> 0);
    this.journal = [first];
    for (const entry of rest) {
      if (entry.op === 'seek') {
        this.lab.seek(entry.args[0]);
      } else {
        const ahead = entry.atMs - this.lab.now();
        if (ahead > 0) this.lab.advance(ahead);
        try {
          this.lab[entry.op](...entry.args);
        } catch {
          // A call that was refused the first time is refused again; it changed nothing.
        }
      }
      this.journal.push(entry);
    }
    return { shared: false, seed, restored: rest.length };
  }

  /**
   * Lets `advanceMs` of virtual time pass and reports what changed: the frame when the world
   * changed since the last tick (or `force`), the trace events the page has not seen (after a
   * seek back, `truncate` says how many of those it had are still true), and console replies
   * that arrived late.
   */
  tick(advanceMs, force, wants) {
    const lab = this.lab;
    if (advanceMs > 0) lab.advance(Math.min(advanceMs, MAX_ADVANCE_MS));
    const version = lab.version();
    const generation = lab.generation();
    const changed = force || version !== this.seen.version || generation !== this.seen.generation;
    this.seen = { version, generation };
    const out = { nowMs: lab.now(), horizonMs: lab.horizon(), version, generation, frame: null, events: [], truncate: null, skipped: 0, late: [], guide: null, typed: [] };
    if (this.journal[0] && this.journal[0].op === 'scenario') {
      // Where the chapter's task is, sent when it changed, and the lines it typed.
      const progress = lab.scenarioProgress();
      const key = JSON.stringify(progress);
      if (key !== this.guideKey) out.guide = progress;
      this.guideKey = key;
      out.typed = lab.scenarioTyped();
    }
    if (!changed) return out;
    const frame = lab.frame();
    // A node's cron runs ten times a second and changes the version without changing anything
    // the page shows, and a live run's horizon moves with the clock (the page has it as
    // `horizonMs`): such a frame is not sent (the page's main thread draws nothing for it).
    const key = JSON.stringify(frame, (k, v) => (UNSHOWN.has(k) ? undefined : v));
    if (force || key !== this.frameKey) out.frame = frame;
    this.frameKey = key;
    const length = lab.traceLength();
    if (length < this.eventsSeen) {
      out.truncate = length;
      this.traffic = this.traffic.filter((e) => e.seq < length);
      for (const [node, kept] of this.stream) this.stream.set(node, kept.filter((e) => e.seq < length));
    }
    let from = Math.min(this.eventsSeen, length);
    if (length - from > MAX_EVENTS) {
      out.skipped = length - MAX_EVENTS - from;
      from = length - MAX_EVENTS;
    }
    out.events = this.sift(lab.events(from, length - from), wants);
    this.eventsSeen = length;
    if (out.events.length > 0 || out.truncate !== null) out.frame = frame;
    for (const node of frame.nodes) {
      const replies = lab.consoleLateReplies(node.index);
      if (replies.length > 0) out.late.push([node.index, replies]);
    }
    if (out.late.length > 0) out.frame = frame;
    return out;
  }

  /** Keeps the latest traffic and propagations; returns the events the page asked for. */
  sift(events, wants) {
    const out = [];
    for (const ev of events) {
      if (ev.type === 'sent' || ev.type === 'delivered') {
        this.traffic.push(ev);
        if (!wants.traffic) continue;
      } else if (ev.type === 'propagated') {
        const kept = this.stream.get(ev.node) || [];
        kept.push(ev);
        if (kept.length > KEEP_STREAM * 2) kept.splice(0, kept.length - KEEP_STREAM);
        this.stream.set(ev.node, kept);
        if (!wants.stream) continue;
      }
      out.push(ev);
    }
    if (this.traffic.length > KEEP_TRAFFIC * 2) this.traffic.splice(0, this.traffic.length - KEEP_TRAFFIC);
    return out;
  }

  call(name, args) {
    const lab = this.lab;
    if (!ACTIONS.has(name) && !READS.has(name)) throw { message: `unknown call ${name}`, code: 'bad-request' };
    const atMs = lab.now();
    const value = lab[name](...args);
    if (ACTIONS.has(name)) this.journal.push({ atMs, op: name, args });
    return value;
  }

  /**
   * After a panic: its message, what a new engine needs to rebuild the run up to the last good
   * call (`restore`), and what the engine was doing when it failed (`report`, for a bug report).
   */
  salvage(seed) {
    this.dead = true;
    const read = (name) => {
      try {
        return this.glue[name]();
      } catch {
        return undefined;
      }
    };
    return { message: read('lastPanic'), report: read('panicReport'), restore: { seed, journal: this.journal } };
  }
}

/** An exception from the facade as a plain, clonable object. */
export function plainError(err) {
  if (err && typeof err === 'object' && 'code' in err && !(err instanceof Error)) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = err && typeof err === 'object' && typeof err.code === 'string' ? err.code : undefined;
  // A scenario file's problems, each with its place and line.
  const errors = err && typeof err === 'object' && Array.isArray(err.errors) ? err.errors : undefined;
  return errors ? { message, code, errors } : { message, code };
}

/** True if an exception means the wasm instance is broken (a panic or a trap). */
export function isFatal(err, glue) {
  if (typeof WebAssembly !== 'undefined' && err instanceof WebAssembly.RuntimeError) return true;
  try {
    return typeof glue.lastPanic === 'function' && glue.lastPanic() !== undefined;
  } catch {
    return true;
  }
}
