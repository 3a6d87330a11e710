//! The `#[wasm_bindgen]` facade: the `Lab` object the page drives.
//!
//! JavaScript holds no replication logic. It sends user actions (add a node, run a console line,
//! let time pass, break a link) and reads the world back in one call per animation frame
//! ([`Lab::frame`]: every node, link, sentinel and message on the wire, see
//! [`crate::sim::frame`]) plus the trace events it has not seen, typed ([`Lab::events`], see
//! [`crate::sim::trace`]), which the page words in the learner's language.
//!
//! Refused actions throw a JavaScript `Error` with a `code` (`no-node`, `no-sentinel`,
//! `too-many-nodes`, `same-node`, `bad-rdb`, `bad-log`) the page translates, and an English
//! message for developers. A Rust panic is recorded before it unwinds into a JS exception, so
//! the page can show its message instead of freezing (see [`last_panic`]), with what the engine
//! was doing then (see [`panic_report`]), so that a new engine can write a bug report: a shared
//! run that does it again.

mod guide;
#[cfg(not(target_feature = "atomics"))]
mod heap;

pub use guide::load_scenario;

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::sim::frame::Frame;
use crate::sim::session::{Action, ActionError, Session};
use crate::sim::World;

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// What the engine was last asked to do (kept outside the `Lab`, which a panic leaves
    /// borrowed and unusable): the virtual time it was going to, and the action it was
    /// applying, if any, until it was applied.
    static DOING: RefCell<(u64, Option<Action>)> = const { RefCell::new((0, None)) };
}

/// Notes that the engine is about to run to `at`, applying `action` there if any.
fn doing(at: u64, action: Option<&Action>) {
    DOING.with(|d| *d.borrow_mut() = (at, action.cloned()));
}

fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
            console_error_panic_hook::hook(info);
        }));
    });
}

/// The message of the last Rust panic, if one happened.
#[wasm_bindgen(js_name = lastPanic)]
pub fn last_panic() -> Option<String> {
    LAST_PANIC.with(|p| p.borrow().clone())
}

/// After a panic, what the engine was doing: `{atUs, action}`, the virtual time it was going to
/// and the action it was applying (as the action log writes it), if any. A new engine that
/// replayed the run's journal turns it into a bug report ([`Lab::report_log`]).
#[wasm_bindgen(js_name = panicReport)]
pub fn panic_report() -> Result<JsValue, JsValue> {
    #[derive(serde::Serialize)]
    struct Report {
        #[serde(rename = "atUs")]
        at: u64,
        action: Option<String>,
    }
    let (at, action) = DOING.with(|d| d.borrow().clone());
    let report = Report { at, action: action.as_ref().map(crate::sim::session::encode_action) };
    to_js(&report).map_err(Into::into)
}

fn to_js<T: serde::Serialize>(v: &T) -> Result<JsValue, JsError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(|e| JsError::new(&e.to_string()))
}

/// Bytes the engine holds in the page's heap now (for the memory benchmark; see `heap.rs`).
#[wasm_bindgen(js_name = heapInUse)]
pub fn heap_in_use() -> f64 {
    heap::in_use() as f64
}

/// Parses a `dump.rdb` without loading it anywhere: the number of keys, or why it is bad.
#[wasm_bindgen(js_name = checkRdb)]
pub fn check_rdb(bytes: &[u8]) -> Result<u32, JsValue> {
    parse_rdb(bytes).map(|f| f.keys())
}

/// A parsed `dump.rdb`, held on the Rust side until JavaScript frees it.
#[wasm_bindgen]
pub struct ParsedRdb(crate::rdb::RdbFile);

#[wasm_bindgen]
impl ParsedRdb {
    /// Keys loaded.
    #[wasm_bindgen(getter)]
    pub fn keys(&self) -> u32 {
        self.0.keys as u32
    }

    /// The RDB version from the header.
    #[wasm_bindgen(getter)]
    pub fn version(&self) -> u32 {
        self.0.version
    }

    /// True if the trailer held a checksum that matched (false when it was 0).
    #[wasm_bindgen(getter, js_name = checksumVerified)]
    pub fn checksum_verified(&self) -> bool {
        self.0.checksum_verified
    }

    /// The file's contents as text, as `repl-lab rdb dump` prints them.
    pub fn describe(&self) -> String {
        crate::rdb::describe(&self.0)
    }
}

/// Parses a `dump.rdb` and keeps the result (for reading it without loading it into a node, and
/// for timing the decoder apart from freeing what it built).
#[wasm_bindgen(js_name = parseRdb)]
pub fn parse_rdb(bytes: &[u8]) -> Result<ParsedRdb, JsValue> {
    crate::rdb::read_rdb(bytes).map(ParsedRdb).map_err(|e| coded("bad-rdb", &format!("Bad RDB file: {e}")))
}

/// The parts of a `dump.rdb` (header, AUX fields, opcodes, keys, EOF, CRC-64) that overlap bytes
/// `from..to`: `[{start, end, kind, label}]`, for a hex view. A file that is not valid gives
/// its parts as far as it is valid.
#[wasm_bindgen(js_name = rdbSections)]
pub fn rdb_sections(bytes: &[u8], from: usize, to: usize) -> Result<JsValue, JsValue> {
    let (sections, _) = crate::rdb::rdb_sections(bytes);
    let shown: Vec<_> = sections.into_iter().filter(|s| s.end > from && s.start < to).collect();
    to_js(&shown).map_err(Into::into)
}

/// A JavaScript `Error` with a `code` property the page translates.
fn coded(code: &str, message: &str) -> JsValue {
    let e = js_sys::Error::new(message);
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&e, &JsValue::from_str("code"), &JsValue::from_str(code));
    e.into()
}

fn refused(e: ActionError) -> JsValue {
    let code = match e {
        ActionError::NoNode(_) => "no-node",
        ActionError::NoSentinel(_) => "no-sentinel",
        ActionError::TooManyNodes => "too-many-nodes",
        ActionError::SameNode(_) => "same-node",
    };
    coded(code, &e.to_string())
}

/// Milliseconds (JavaScript's unit) to virtual µs; negative, NaN and infinite become 0.
fn us(ms: f64) -> u64 {
    if ms.is_finite() && ms > 0.0 {
        (ms * 1000.0) as u64
    } else {
        0
    }
}

/// What the page draws in one frame: the world's [`Frame`] and where the recorded run stands.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PageFrame {
    #[serde(flatten)]
    frame: Frame,
    /// The furthest virtual time the recorded run reaches (the time slider's end).
    #[serde(rename = "horizonUs")]
    horizon: u64,
    /// Changes when seeking replaced the world: what was drawn belongs to another timeline.
    generation: u64,
}

/// A simulated world of Redis nodes with its recorded history, driven by the page.
#[wasm_bindgen]
pub struct Lab {
    session: Session,
    /// The chapter this lab was started from, if any.
    guide: Option<guide::Guide>,
}

#[wasm_bindgen]
impl Lab {
    /// A new, empty lab; every random choice derives from `seed`. Links are slow enough to
    /// watch: 250 ms one way, 64 KB/s.
    #[wasm_bindgen(constructor)]
    pub fn new(seed: u32) -> Lab {
        install_panic_hook();
        let mut session = Session::new(seed as u64);
        // Nothing can refuse a change of every link's settings.
        let (latency, bandwidth) = crate::sim::session::WATCHABLE_LINKS;
        let _ = session.act(Action::Links(latency, bandwidth));
        Lab { session, guide: None }
    }

    /// A lab rebuilt from an action log (see `actionLog`), run to the time it was shared at; a
    /// malformed log throws an error (code `bad-log`) saying what is wrong.
    #[wasm_bindgen(js_name = fromLog)]
    pub fn from_log(log: &str) -> Result<Lab, JsValue> {
        install_panic_hook();
        Session::from_log(log).map(|session| Lab { session, guide: None }).map_err(|e| coded("bad-log", &e.to_string()))
    }

    fn world(&self) -> &World {
        self.session.world()
    }

    fn act(&mut self, action: Action) -> Result<String, JsValue> {
        let now = self.world().now();
        doing(now, Some(&action));
        let result = self.session.act(action).map_err(refused);
        doing(now, None);
        result
    }

    // ----- reading -----

    /// Everything the page draws, as one object (see `crate::sim::frame`).
    pub fn frame(&self) -> Result<JsValue, JsValue> {
        let page = PageFrame {
            frame: self.world().frame(),
            horizon: self.session.horizon(),
            generation: self.session.generation(),
        };
        to_js(&page).map_err(Into::into)
    }

    /// Changes whenever anything in the world changed (cheaper than a frame to compare).
    pub fn version(&self) -> f64 {
        self.world().version() as f64
    }

    /// Changes when seeking replaced the world.
    pub fn generation(&self) -> f64 {
        self.session.generation() as f64
    }

    /// Virtual milliseconds since the start.
    pub fn now(&self) -> f64 {
        self.world().now() as f64 / 1000.0
    }

    /// The furthest virtual time (ms) the recorded run reaches.
    pub fn horizon(&self) -> f64 {
        self.session.horizon() as f64 / 1000.0
    }

    /// How many events the trace holds. The trace up to a moment is the same whatever happened
    /// later, so after seeking back the page keeps the first `traceLength()` events it has and
    /// reads on from there.
    #[wasm_bindgen(js_name = traceLength)]
    pub fn trace_length(&self) -> usize {
        self.world().trace().len()
    }

    /// Trace events `from..from + count` (fewer at the end), typed: `{seq, timeUs, node, kind,
    /// type, ...fields}` (see `crate::sim::trace::What`); `kind` groups them for filters.
    pub fn events(&self, from: usize, count: usize) -> Result<JsValue, JsValue> {
        #[derive(serde::Serialize)]
        struct Event<'a> {
            seq: usize,
            #[serde(rename = "timeUs")]
            time: u64,
            node: usize,
            kind: &'static str,
            #[serde(flatten)]
            what: &'a crate::sim::What,
        }
        let trace = self.world().trace();
        let to = from.saturating_add(count).min(trace.len());
        let v: Vec<Event> = (from.min(to)..to)
            .zip(trace.iter().skip(from))
            .map(|(seq, e)| Event { seq, time: e.time, node: e.node, kind: e.kind(), what: &e.what })
            .collect();
        to_js(&v).map_err(Into::into)
    }

    /// What `INFO <section>` answers on node `i` (all sections for an empty string), read without
    /// counting as a command.
    pub fn info(&self, i: usize, section: &str) -> Result<String, JsValue> {
        if !self.world().is_present(i) {
            return Err(refused(ActionError::NoNode(i)));
        }
        let sections: Vec<&str> = section.split_whitespace().collect();
        Ok(self.world().node(i).info_text(&sections))
    }

    /// A page of node `i`'s keys in database `db` matching the glob `pattern` (all for ""):
    /// `{db, total, offset, sorted, keys: [{key, type, size, pttl, expired, preview}]}`.
    pub fn keys(&self, i: usize, db: usize, pattern: &str, offset: usize, count: usize) -> Result<JsValue, JsValue> {
        if !self.world().is_present(i) {
            return Err(refused(ActionError::NoNode(i)));
        }
        let pattern = (!pattern.is_empty()).then_some(pattern.as_bytes());
        to_js(&self.world().node(i).browse(db, pattern, offset, count.min(1000))).map_err(Into::into)
    }

    /// The bytes of segment `id` (a message on the wire or in the trace), if the world still
    /// keeps them (the most recent `KEEP_BYTES`).
    #[wasm_bindgen(js_name = messageBytes)]
    pub fn message_bytes(&self, id: f64) -> Option<Vec<u8>> {
        self.world().segment_bytes(id as u64).map(<[u8]>::to_vec)
    }

    /// The console lines typed on node `i` so far in this timeline, with their replies:
    /// `[{timeUs, line, reply}]` (a shared run's consoles show what was typed).
    #[wasm_bindgen(js_name = consoleHistory)]
    pub fn console_history(&self, i: usize) -> Result<JsValue, JsValue> {
        #[derive(serde::Serialize)]
        struct Line<'a> {
            #[serde(rename = "timeUs")]
            time: u64,
            line: &'a str,
            reply: &'a str,
        }
        let lines: Vec<Line> = self
            .session
            .applied()
            .filter_map(|(time, a, reply)| match a {
                Action::Console(n, line) if *n == i => Some(Line { time, line, reply }),
                _ => None,
            })
            .collect();
        to_js(&lines).map_err(Into::into)
    }

    /// Replies that reached node `i`'s console after `command` returned (a node that was paused,
    /// by DEBUG SLEEP for instance, answers when it wakes).
    #[wasm_bindgen(js_name = consoleLateReplies)]
    pub fn console_late_replies(&mut self, i: usize) -> Vec<String> {
        self.session.world_mut().console_late_replies(i)
    }

    /// The seed and every action so far, compact and URL-safe, with the time now as the end:
    /// opened, it shows this moment.
    #[wasm_bindgen(js_name = actionLog)]
    pub fn action_log(&self) -> String {
        self.session.to_log_at(self.world().now())
    }

    /// A bug report: this run's log, then `action` (as `panicReport` gives it, from the engine
    /// that failed) at `at_us`, ending there; opened, it does again what failed. A malformed
    /// action throws (code `bad-log`).
    #[wasm_bindgen(js_name = reportLog)]
    pub fn report_log(&self, at_us: f64, action: Option<String>) -> Result<String, JsValue> {
        self.session.to_report_log(at_us as u64, action.as_deref()).map_err(|e| coded("bad-log", &e.to_string()))
    }

    /// The digest of the whole trace: equal digests mean identical runs.
    #[wasm_bindgen(js_name = traceDigest)]
    pub fn trace_digest(&self) -> String {
        self.world().trace_digest()
    }

    /// The lab's topology now, for real servers: a zip of `redis-lab/` with one `redis.conf`
    /// per node (ports from `port_base`), one `sentinel.conf` per sentinel, `start.sh`,
    /// `stop.sh` and `README.txt` (see [`crate::export`]).
    #[wasm_bindgen(js_name = exportZip)]
    pub fn export_zip(&self, port_base: u16) -> Vec<u8> {
        let base = port_base.clamp(1024, 40_000);
        crate::export::zip(&crate::export::export(self.world(), base, base + 20_000), "redis-lab")
    }

    /// Node `i`'s dataset as a `dump.rdb` file (RDB version 10), for download.
    #[wasm_bindgen(js_name = exportRdb)]
    pub fn export_rdb(&self, i: usize) -> Result<Vec<u8>, JsValue> {
        if !self.world().is_present(i) {
            return Err(refused(ActionError::NoNode(i)));
        }
        Ok(self.world().node(i).rdb_snapshot())
    }

    // ----- time -----

    /// Lets `ms` of virtual time pass.
    pub fn advance(&mut self, ms: f64) {
        let t = self.world().now().saturating_add(us(ms));
        doing(t, None);
        match &mut self.guide {
            Some(g) => g.run_until(&mut self.session, t),
            None => self.session.run_until(t),
        }
    }

    /// The virtual time (ms) of the last trace event before `ms`, if any (where "back one event"
    /// goes).
    #[wasm_bindgen(js_name = previousEventTime)]
    pub fn previous_event_time(&self, ms: f64) -> Option<f64> {
        let before = us(ms);
        self.world().trace().iter().rev().map(|e| e.time).find(|t| *t < before).map(|t| t as f64 / 1000.0)
    }

    /// Lets virtual time run to the next trace event, at most `max_ms` ahead; true if one
    /// happened.
    pub fn step(&mut self, max_ms: f64) -> bool {
        let now = self.world().now();
        // A chapter's task looks at the world at its own moments: a step stops at the next one.
        let wake = self.guide.as_ref().and_then(|g| g.wake_at(&self.session));
        let limit = wake.map_or(us(max_ms), |w| us(max_ms).min(w.saturating_sub(now)));
        doing(now.saturating_add(limit), None);
        let happened = self.session.step(limit);
        if let Some(g) = &mut self.guide {
            let t = self.session.world().now();
            g.run_until(&mut self.session, t);
        }
        happened
    }

    /// Moves virtual time to `ms`, back (restore a checkpoint and replay) or forward.
    pub fn seek(&mut self, ms: f64) {
        let t = us(ms);
        doing(t, None);
        match &mut self.guide {
            // Forward, a chapter's task goes on, looking at the world where it would have.
            Some(g) if t >= self.session.world().now() => g.run_until(&mut self.session, t),
            Some(g) => {
                g.cancel();
                self.session.seek(t);
            }
            None => self.session.seek(t),
        }
    }

    // ----- actions (recorded, so time travel and shared links replay them) -----

    /// Adds a node (on 127.0.0.1:6379 + its slot); returns its index. At most 8 nodes.
    #[wasm_bindgen(js_name = addNode)]
    pub fn add_node(&mut self) -> Result<usize, JsValue> {
        let slot = self.world().next_slot();
        self.act(Action::AddNode)?;
        Ok(slot)
    }

    /// Takes node `i` out of the lab.
    #[wasm_bindgen(js_name = removeNode)]
    pub fn remove_node(&mut self, i: usize) -> Result<(), JsValue> {
        self.act(Action::RemoveNode(i)).map(drop)
    }

    /// Runs a console line on node `i`; returns the reply formatted as redis-cli prints it.
    pub fn command(&mut self, i: usize, line: &str) -> Result<String, JsValue> {
        self.act(Action::Console(i, line.to_string()))
    }

    /// Sets one-way latency (ms) and bandwidth (bytes/s) of every link.
    #[wasm_bindgen(js_name = setLinks)]
    pub fn set_links(&mut self, latency_ms: f64, bytes_per_sec: f64) -> Result<(), JsValue> {
        self.act(Action::Links(us(latency_ms), bandwidth(bytes_per_sec))).map(drop)
    }

    /// Sets one-way latency (ms), jitter (ms) and bandwidth (bytes/s) between nodes `a` and `b`.
    #[wasm_bindgen(js_name = setLink)]
    pub fn set_link(
        &mut self,
        a: usize,
        b: usize,
        latency_ms: f64,
        jitter_ms: f64,
        bytes_per_sec: f64,
    ) -> Result<(), JsValue> {
        self.act(Action::Link(a, b, us(latency_ms), us(jitter_ms), bandwidth(bytes_per_sec))).map(drop)
    }

    /// Loads a `dump.rdb` into node `i` (it restarts from it, and its replicas resync). A bad
    /// file throws (code `bad-rdb`) with the reason and the byte offset; nothing changes then.
    #[wasm_bindgen(js_name = importRdb)]
    pub fn import_rdb(&mut self, i: usize, bytes: &[u8]) -> Result<(), JsValue> {
        crate::rdb::read_rdb(bytes).map_err(|e| coded("bad-rdb", &format!("Bad RDB file: {e}")))?;
        self.act(Action::Import(i, bytes.to_vec())).map(drop)
    }

    /// Starts a write load of `per_sec` writes per second on node `i` (`SET load:<n mod 100000> <n>`,
    /// pipelined every 10 ms); 0 stops it.
    #[wasm_bindgen(js_name = setLoad)]
    pub fn set_load(&mut self, i: usize, per_sec: f64) -> Result<(), JsValue> {
        let rate = if per_sec.is_finite() && per_sec > 0.0 { per_sec as u64 } else { 0 };
        self.act(Action::Load(i, rate)).map(drop)
    }

    /// Resets every connection between nodes `a` and `b` (bytes in flight are lost).
    pub fn cut(&mut self, a: usize, b: usize) -> Result<(), JsValue> {
        self.act(Action::Cut(a, b)).map(drop)
    }

    /// Splits nodes into groups (one group number per node slot); bytes between groups wait.
    pub fn partition(&mut self, groups: Vec<u32>) -> Result<(), JsValue> {
        self.act(Action::Partition(groups)).map(drop)
    }

    /// Removes every partition.
    pub fn heal(&mut self) -> Result<(), JsValue> {
        self.act(Action::Heal).map(drop)
    }

    /// Crashes node `i` (memory lost, saved RDB kept).
    pub fn crash(&mut self, i: usize) -> Result<(), JsValue> {
        self.act(Action::Crash(i)).map(drop)
    }

    /// Restarts a crashed node from its saved RDB.
    pub fn restart(&mut self, i: usize) -> Result<(), JsValue> {
        self.act(Action::Restart(i)).map(drop)
    }

    /// Stops node `i` for `ms` of virtual time, as SIGSTOP then SIGCONT.
    #[wasm_bindgen(js_name = pauseNode)]
    pub fn pause_node(&mut self, i: usize, ms: f64) -> Result<(), JsValue> {
        self.act(Action::Pause(i, us(ms) / 1000)).map(drop)
    }

    /// Adds a sentinel (on 127.0.0.1:26379 + index) monitoring node `master` with the given
    /// quorum, down-after-milliseconds and failover-timeout (ms); returns its index.
    #[wasm_bindgen(js_name = addSentinel)]
    pub fn add_sentinel(
        &mut self,
        master: usize,
        quorum: u32,
        down_after_ms: f64,
        failover_timeout_ms: f64,
    ) -> Result<usize, JsValue> {
        let ms = |v: f64| (us(v) / 1000).max(1);
        self.act(Action::AddSentinel(master, quorum.max(1), ms(down_after_ms), ms(failover_timeout_ms)))?;
        Ok(self.world().sentinel_count() - 1)
    }

    /// Runs a console line on sentinel `j` (`SENTINEL get-master-addr-by-name mymaster`, ...).
    #[wasm_bindgen(js_name = sentinelCommand)]
    pub fn sentinel_command(&mut self, j: usize, line: &str) -> Result<String, JsValue> {
        self.act(Action::SentinelConsole(j, line.to_string()))
    }

    /// Puts sentinels in partition groups (one number per sentinel), next to the nodes' groups.
    #[wasm_bindgen(js_name = partitionSentinels)]
    pub fn partition_sentinels(&mut self, groups: Vec<u32>) -> Result<(), JsValue> {
        self.act(Action::PartitionSentinels(groups)).map(drop)
    }
}

/// Bytes per second from JavaScript: at least 1.
fn bandwidth(bytes_per_sec: f64) -> u64 {
    if bytes_per_sec.is_finite() && bytes_per_sec >= 1.0 {
        bytes_per_sec as u64
    } else {
        1
    }
}
