//! The `#[wasm_bindgen]` facade: the `Lab` object the page drives.
//!
//! JavaScript holds no replication logic. It sends user actions (add a node, run a console line,
//! let time pass) and reads state: coarse snapshots through serde, and the in-flight messages
//! with their decoded labels. A Rust panic is recorded before it unwinds into a JS exception, so
//! the page can show its message in an error banner instead of freezing.

#[cfg(not(target_feature = "atomics"))]
mod heap;

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::sim::session::{Action, Session};
use crate::sim::{Peer, World};

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
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

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct InFlight<'a> {
    from: usize,
    to: usize,
    sent_at: f64,
    arrive_at: f64,
    bytes: usize,
    label: &'a str,
    kind: crate::sim::wire::Kind,
}

/// A message between a sentinel and a node (or another sentinel).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct SentinelMessage<'a> {
    sentinel: usize,
    /// The node at the other end, or None when it is another sentinel.
    node: Option<usize>,
    /// True when the message goes from the sentinel to the other end.
    outbound: bool,
    sent_at: f64,
    arrive_at: f64,
    label: &'a str,
    kind: crate::sim::wire::Kind,
}

#[derive(serde::Serialize)]
struct Event<'a> {
    time: f64,
    node: usize,
    kind: &'a str,
    text: &'a str,
}

fn to_js<T: serde::Serialize>(v: &T) -> Result<JsValue, JsError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(|e| JsError::new(&e.to_string()))
}

/// Parses a `dump.rdb` without loading it anywhere: the number of keys, or why it is bad.
#[wasm_bindgen(js_name = checkRdb)]
pub fn check_rdb(bytes: &[u8]) -> Result<u32, JsError> {
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
pub fn parse_rdb(bytes: &[u8]) -> Result<ParsedRdb, JsError> {
    crate::rdb::read_rdb(bytes).map(ParsedRdb).map_err(|e| JsError::new(&format!("Bad RDB file: {e}")))
}

/// A simulated world of Redis nodes, driven by the page.
#[wasm_bindgen]
pub struct Lab {
    session: Session,
}

#[wasm_bindgen]
impl Lab {
    /// A new lab; every random choice derives from `seed`.
    #[wasm_bindgen(constructor)]
    pub fn new(seed: u32) -> Lab {
        install_panic_hook();
        let mut session = Session::new(seed as u64);
        // Slow enough to watch: 250 ms one way, 64 KB/s.
        session.act(Action::Links(250_000, 64 * 1024));
        Lab { session }
    }

    /// A lab rebuilt from an action log (see `actionLog`); a malformed log is an error saying
    /// what is wrong.
    #[wasm_bindgen(js_name = fromLog)]
    pub fn from_log(log: &str) -> Result<Lab, JsError> {
        install_panic_hook();
        Session::from_log(log).map(|session| Lab { session }).map_err(|e| JsError::new(&e.to_string()))
    }

    /// The seed and every action so far, compact and URL-safe.
    #[wasm_bindgen(js_name = actionLog)]
    pub fn action_log(&self) -> String {
        self.session.to_log()
    }

    /// Moves virtual time to `ms`, back (restore a checkpoint and replay) or forward.
    pub fn seek(&mut self, ms: f64) {
        if ms.is_finite() && ms >= 0.0 {
            self.session.seek((ms * 1000.0) as u64);
        }
    }

    /// The furthest virtual time (ms) the recorded run reaches.
    pub fn horizon(&self) -> f64 {
        self.session.horizon() as f64 / 1000.0
    }

    /// Changes when seeking replaced the world (the page then redraws everything).
    pub fn generation(&self) -> f64 {
        self.session.generation() as f64
    }

    fn world(&self) -> &World {
        self.session.world()
    }

    /// Adds a node on 127.0.0.1:(6379 + index); returns its index.
    #[wasm_bindgen(js_name = addNode)]
    pub fn add_node(&mut self) -> usize {
        self.session.act(Action::AddNode);
        self.world().node_count() - 1
    }

    /// Number of nodes.
    #[wasm_bindgen(js_name = nodeCount)]
    pub fn node_count(&self) -> usize {
        self.world().node_count()
    }

    /// Runs a console line on node `i`; returns the reply formatted as redis-cli prints it.
    pub fn command(&mut self, i: usize, line: &str) -> String {
        if i >= self.world().node_count() {
            return format!("(error) ERR no such node {i}");
        }
        self.session.act(Action::Console(i, line.to_string()))
    }

    /// Lets `ms` of virtual time pass.
    pub fn advance(&mut self, ms: f64) {
        if ms.is_finite() && ms > 0.0 {
            let t = self.world().now() + (ms * 1000.0) as u64;
            self.session.run_until(t);
        }
    }

    /// Virtual milliseconds since the start.
    pub fn now(&self) -> f64 {
        self.world().now() as f64 / 1000.0
    }

    /// Changes whenever anything changed.
    pub fn version(&self) -> f64 {
        self.world().version() as f64
    }

    /// Sets one-way latency (ms) and bandwidth (bytes/s) of every link.
    #[wasm_bindgen(js_name = setLinkParams)]
    pub fn set_link_params(&mut self, latency_ms: f64, bytes_per_sec: f64) {
        let latency = (latency_ms.max(0.0) * 1000.0) as u64;
        self.session.act(Action::Links(latency, bytes_per_sec.max(1.0) as u64));
    }

    /// Sets one-way latency (ms), jitter (ms) and bandwidth (bytes/s) between nodes `a` and `b`.
    #[wasm_bindgen(js_name = setLink)]
    pub fn set_link(&mut self, a: usize, b: usize, latency_ms: f64, jitter_ms: f64, bytes_per_sec: f64) {
        let us = |ms: f64| if ms.is_finite() { (ms.max(0.0) * 1000.0) as u64 } else { 0 };
        let bw = if bytes_per_sec.is_finite() { bytes_per_sec.max(1.0) as u64 } else { 1 };
        self.session.act(Action::Link(a, b, us(latency_ms), us(jitter_ms), bw));
    }

    /// Node `i`'s dataset as a `dump.rdb` file (RDB version 10), for download.
    #[wasm_bindgen(js_name = exportRdb)]
    pub fn export_rdb(&self, i: usize) -> Result<Vec<u8>, JsError> {
        if i >= self.world().node_count() {
            return Err(JsError::new(&format!("no node {i}")));
        }
        Ok(self.world().node(i).rdb_snapshot())
    }

    /// Loads a `dump.rdb` into node `i` (it restarts from the file, and its replicas resync).
    /// A bad file is refused with the reason and the byte offset; nothing changes then.
    #[wasm_bindgen(js_name = importRdb)]
    pub fn import_rdb(&mut self, i: usize, bytes: &[u8]) -> Result<(), JsError> {
        if i >= self.world().node_count() {
            return Err(JsError::new(&format!("no node {i}")));
        }
        crate::rdb::read_rdb(bytes).map_err(|e| JsError::new(&format!("Bad RDB file: {e}")))?;
        self.session.act(Action::Import(i, bytes.to_vec()));
        Ok(())
    }

    /// A snapshot of node `i` (what INFO replication shows, plus transfer progress).
    #[wasm_bindgen(js_name = nodeState)]
    pub fn node_state(&self, i: usize) -> Result<JsValue, JsError> {
        if i >= self.world().node_count() {
            return Err(JsError::new(&format!("no node {i}")));
        }
        let mut v = self.world().node(i).view();
        v.index = i;
        to_js(&v)
    }

    /// Messages travelling now, with decoded labels.
    #[wasm_bindgen(js_name = inFlight)]
    pub fn in_flight(&self) -> Result<JsValue, JsError> {
        let v: Vec<InFlight> = self
            .world()
            .in_flight()
            .into_iter()
            .filter_map(|s| match (s.from, s.to) {
                (Peer::Node(from), Peer::Node(to)) => Some((from, to, s)),
                _ => None,
            })
            .map(|(from, to, s)| InFlight {
                from,
                to,
                sent_at: s.sent_at as f64 / 1000.0,
                arrive_at: s.arrive_at as f64 / 1000.0,
                bytes: s.data.len(),
                label: &s.label,
                kind: s.kind,
            })
            .collect();
        to_js(&v)
    }

    /// Messages travelling now between sentinels and nodes (kept apart from `inFlight`, which
    /// the node view draws between node boxes).
    #[wasm_bindgen(js_name = sentinelInFlight)]
    pub fn sentinel_in_flight(&self) -> Result<JsValue, JsError> {
        let v: Vec<SentinelMessage> = self
            .world()
            .in_flight()
            .into_iter()
            .filter_map(|s| {
                let (sentinel, other, outbound) = match (s.from, s.to) {
                    (Peer::Sentinel(j), other) => (j, other, true),
                    (other, Peer::Sentinel(j)) => (j, other, false),
                    _ => return None,
                };
                let node = match other {
                    Peer::Node(i) => Some(i),
                    Peer::Sentinel(_) => None,
                };
                Some(SentinelMessage {
                    sentinel,
                    node,
                    outbound,
                    sent_at: s.sent_at as f64 / 1000.0,
                    arrive_at: s.arrive_at as f64 / 1000.0,
                    label: &s.label,
                    kind: s.kind,
                })
            })
            .collect();
        to_js(&v)
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
    ) -> Result<usize, JsError> {
        if master >= self.world().node_count() {
            return Err(JsError::new(&format!("no node {master}")));
        }
        let ms = |v: f64| if v.is_finite() && v >= 1.0 { v as u64 } else { 1 };
        self.session.act(Action::AddSentinel(master, quorum.max(1), ms(down_after_ms), ms(failover_timeout_ms)));
        Ok(self.world().sentinel_count() - 1)
    }

    /// Number of sentinels.
    #[wasm_bindgen(js_name = sentinelCount)]
    pub fn sentinel_count(&self) -> usize {
        self.world().sentinel_count()
    }

    /// What sentinel `j` sees: its master (address, sdown, odown), failover state, epochs,
    /// the replicas and other sentinels it knows, and its latest event lines.
    #[wasm_bindgen(js_name = sentinelState)]
    pub fn sentinel_state(&self, j: usize) -> Result<JsValue, JsError> {
        match self.world().sentinel_view(j) {
            Some(v) => to_js(&v),
            None => Err(JsError::new(&format!("no sentinel {j}"))),
        }
    }

    /// Runs a console line on sentinel `j` (`SENTINEL get-master-addr-by-name mymaster`, ...).
    #[wasm_bindgen(js_name = sentinelCommand)]
    pub fn sentinel_command(&mut self, j: usize, line: &str) -> String {
        if j >= self.world().sentinel_count() {
            return format!("(error) ERR no such sentinel {j}");
        }
        self.session.act(Action::SentinelConsole(j, line.to_string()))
    }

    /// Puts sentinels in partition groups (one number per sentinel), next to the nodes' groups.
    #[wasm_bindgen(js_name = partitionSentinels)]
    pub fn partition_sentinels(&mut self, groups: Vec<u32>) {
        self.session.act(Action::PartitionSentinels(groups));
    }

    /// Trace events since the last call (kinds `sentinel` and `sentinel-net` carry a
    /// sentinel's index in `node`).
    #[wasm_bindgen(js_name = drainEvents)]
    pub fn drain_events(&mut self) -> Result<JsValue, JsError> {
        let drained = self.session.world_mut().drain_trace();
        let v: Vec<Event> = drained
            .iter()
            .map(|e| Event { time: e.time as f64 / 1000.0, node: e.node, kind: e.kind, text: &e.text })
            .collect();
        to_js(&v)
    }

    /// Replies that reached node `i`'s console after `command` returned (a node that was paused,
    /// by DEBUG SLEEP for instance, answers when it wakes).
    #[wasm_bindgen(js_name = consoleLateReplies)]
    pub fn console_late_replies(&mut self, i: usize) -> Vec<String> {
        self.session.world_mut().console_late_replies(i)
    }

    /// Resets every connection between nodes `a` and `b` (bytes in flight are lost).
    pub fn cut(&mut self, a: usize, b: usize) {
        self.session.act(Action::Cut(a, b));
    }

    /// Splits nodes into groups (one group number per node); bytes between groups wait.
    pub fn partition(&mut self, groups: Vec<u32>) {
        self.session.act(Action::Partition(groups));
    }

    /// Removes every partition.
    pub fn heal(&mut self) {
        self.session.act(Action::Heal);
    }

    /// Crashes node `i` (memory lost, saved RDB kept).
    pub fn crash(&mut self, i: usize) {
        self.session.act(Action::Crash(i));
    }

    /// Restarts a crashed node from its saved RDB.
    pub fn restart(&mut self, i: usize) {
        self.session.act(Action::Restart(i));
    }

    /// False while node `i` is crashed.
    #[wasm_bindgen(js_name = isUp)]
    pub fn is_up(&self, i: usize) -> bool {
        self.world().is_up(i)
    }

    /// Stops node `i` for `ms` of virtual time, as SIGSTOP then SIGCONT.
    #[wasm_bindgen(js_name = pauseNode)]
    pub fn pause_node(&mut self, i: usize, ms: f64) {
        if ms.is_finite() && ms > 0.0 {
            self.session.act(Action::Pause(i, ms as u64));
        }
    }

    /// True while node `i` is paused.
    #[wasm_bindgen(js_name = isPaused)]
    pub fn is_paused(&self, i: usize) -> bool {
        i < self.world().node_count() && self.world().node(i).is_paused()
    }

    /// The digest of the whole trace: equal digests mean identical runs.
    #[wasm_bindgen(js_name = traceDigest)]
    pub fn trace_digest(&self) -> String {
        self.world().trace_digest()
    }
}
