//! The trace: what happened in a simulated run, as typed events.
//!
//! Every event is a kind plus structured fields, never a sentence: the page words each one from
//! its own catalogs (English, 简体中文, ...), and tests match on fields rather than on prose. Two
//! kinds carry text that is not the lab's to translate: a node's log lines ([`What::Log`]) and a
//! sentinel's event lines ([`What::Sentinel`]) are what redis-server and redis-sentinel print,
//! verbatim; the label of a segment ([`What::Sent`], [`What::Delivered`]) is decoded from the
//! bytes on the wire.
//!
//! [`TraceEvent::text`] renders an event as one English line, for the `repl-lab sim` command,
//! test failure messages and the run's digest (which hashes these lines, so a run's digest does
//! not depend on how events are stored).

use serde::Serialize;

use super::wire::Kind;
use super::Peer;
use crate::node::replication::master::PsyncDecision;
pub use crate::node::Change;
use crate::node::Micros;

/// The display name of node `i` ("A", "B", ...).
pub fn node_name(i: usize) -> String {
    ((b'A' + (i % 26) as u8) as char).to_string()
}

/// The display name of sentinel `j` ("S1", "S2", ...).
pub fn sentinel_name(j: usize) -> String {
    format!("S{}", j + 1)
}

impl Peer {
    /// Its display name.
    pub fn name(self) -> String {
        match self {
            Peer::Node(i) => node_name(i),
            Peer::Sentinel(j) => sentinel_name(j),
        }
    }
}

/// What an event says happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum What {
    /// A log line of the node, as redis-server 7.0.15 words it.
    Log { level: char, text: String },
    /// An event line of the sentinel, as redis-sentinel 7.0 words it.
    Sentinel { level: char, text: String },
    /// `from` opens a connection to `host:port`, where `to` listens.
    Connect { from: Peer, to: Peer, host: String, port: u16 },
    /// `server` accepts a connection from `client`.
    Accept { server: Peer, client: Peer },
    /// `by` closes one of its connections, to `peer`.
    Close { by: Peer, peer: Peer },
    /// A segment leaves `from` for `to`: `bytes` bytes, labelled from those bytes (`kind` is the
    /// message's kind, serialised as `msgKind` beside the event's own group).
    Sent {
        from: Peer,
        to: Peer,
        label: String,
        bytes: usize,
        #[serde(rename = "msgKind")]
        kind: Kind,
        /// The segment's number: its `delivered` event has the same.
        seg: u64,
        /// The replication offset of its first byte, when it carries a master's stream.
        offset: Option<i64>,
    },
    /// A segment reaches `to`; `delivered` is false when its connection had closed meanwhile.
    Delivered {
        from: Peer,
        to: Peer,
        label: String,
        bytes: usize,
        #[serde(rename = "msgKind")]
        kind: Kind,
        delivered: bool,
        seg: u64,
        offset: Option<i64>,
    },
    /// The node, a master, answered a PSYNC (REDIS-REPLICATION.md §4.4): what was asked, what
    /// it held, its verdict and why.
    Psync(Box<PsyncDecision>),
    /// A command entered the node's replication stream at offsets `start..=end`.
    Propagated { label: String, db: usize, start: i64, end: i64 },
    /// Something the learner watches changed on the node.
    State(Change),
    /// The node was stopped for `ms` of virtual time (SIGSTOP, then SIGCONT).
    Paused { ms: u64 },
    /// The node crashed (memory lost, its saved RDB kept).
    Crashed,
    /// The node restarted (from its saved RDB, if any).
    Restarted,
    /// The node ended after SHUTDOWN.
    ShutDown,
    /// The node restarts from an imported `dump.rdb` of `bytes` bytes.
    Imported { bytes: usize },
    /// The node was added to the lab.
    Added,
    /// The node was taken out of the lab.
    Removed,
    /// The link between nodes `a` and `b` got new settings (µs, µs, bytes per second).
    LinkSettings { a: usize, b: usize, latency: Micros, jitter: Micros, bandwidth: u64 },
    /// Every connection between nodes `a` and `b` was reset.
    Cut { a: usize, b: usize },
    /// The nodes were split into groups (one group number per node).
    Partition { groups: Vec<u32> },
    /// The sentinels were split into groups (one group number per sentinel).
    SentinelPartition { groups: Vec<u32> },
    /// Every partition was removed.
    Healed,
    /// A write load of `rate` writes per second was started on the node (0: stopped).
    Load { rate: u64 },
    /// The node changed its dataset with a command that Redis does not propagate (`DEBUG
    /// POPULATE`): its replicas will not get the change.
    NotPropagated { command: String, replicas: usize },
}

/// One event of the trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceEvent {
    /// Virtual µs.
    pub time: Micros,
    /// The node concerned; for [`What::Sentinel`] and a sentinel's connections and traffic, the
    /// sentinel.
    pub node: usize,
    /// What happened.
    #[serde(flatten)]
    pub what: What,
}

impl TraceEvent {
    /// The group the event belongs to, for filters: `log` (Redis's log lines), `conn`
    /// (connections), `net` (traffic), `state`, `fault` (what the learner did to the world),
    /// `sentinel` (a sentinel's event lines) and `sentinel-net` (a sentinel's connections and
    /// traffic).
    pub fn kind(&self) -> &'static str {
        match &self.what {
            What::Log { .. } => "log",
            What::Sentinel { .. } => "sentinel",
            What::Connect { .. } | What::Accept { .. } | What::Close { .. } if self.sentinel_traffic() => {
                "sentinel-net"
            }
            What::Connect { .. } | What::Accept { .. } | What::Close { .. } => "conn",
            What::Sent { .. } | What::Delivered { .. } if self.sentinel_traffic() => "sentinel-net",
            What::Sent { .. } | What::Delivered { .. } => "net",
            What::State(_) | What::Paused { .. } | What::NotPropagated { .. } => "state",
            What::Psync(_) => "psync",
            What::Propagated { .. } => "stream",
            What::Crashed
            | What::Restarted
            | What::ShutDown
            | What::Imported { .. }
            | What::Added
            | What::Removed
            | What::LinkSettings { .. }
            | What::Cut { .. }
            | What::Partition { .. }
            | What::SentinelPartition { .. }
            | What::Healed
            | What::Load { .. } => "fault",
        }
    }

    fn sentinel_traffic(&self) -> bool {
        match &self.what {
            What::Connect { from, to, .. } => is_sentinel(*from) || is_sentinel(*to),
            What::Accept { server, client } => is_sentinel(*server) || is_sentinel(*client),
            What::Close { by, peer } => is_sentinel(*by) || is_sentinel(*peer),
            What::Sent { from, to, .. } | What::Delivered { from, to, .. } => is_sentinel(*from) || is_sentinel(*to),
            _ => false,
        }
    }

    /// The event as one English line (the command line's output, the run's digest).
    pub fn text(&self) -> String {
        let name = node_name(self.node);
        match &self.what {
            What::Log { level, text } => format!("{level} {text}"),
            What::Sentinel { level, text } => format!("{}: {level} {text}", sentinel_name(self.node)),
            What::Connect { from, host, port, .. } => format!("{} connects to {host}:{port}", from.name()),
            What::Accept { server, client } => {
                format!("{} accepts a connection from {}", server.name(), client.name())
            }
            What::Close { by, .. } => format!("{} closes a connection", by.name()),
            What::Sent { from, to, label, bytes, .. } => {
                format!("{} → {} {label} ({bytes} bytes)", from.name(), to.name())
            }
            What::Delivered { from, to, label, bytes, delivered, .. } => {
                let fate = if *delivered { "delivered" } else { "dropped: connection closed" };
                format!("{} ← {} {label} ({bytes} bytes) {fate}", to.name(), from.name())
            }
            What::State(change) => format!("{name}: {change}"),
            What::Paused { ms } => format!("{name} paused for {ms} ms"),
            What::Crashed => format!("{name} crashed"),
            What::Restarted => format!("{name} restarted"),
            What::ShutDown => format!("{name} shut down"),
            What::Imported { bytes } => format!("{name} restarted with an imported dump.rdb ({bytes} bytes)"),
            What::Added => format!("{name} added"),
            What::Removed => format!("{name} removed"),
            What::LinkSettings { a, b, latency, jitter, bandwidth } => {
                format!("link {a} ↔ {b}: latency {latency} µs, jitter {jitter} µs, {bandwidth} B/s")
            }
            What::Cut { a, b } => format!("link {} ↔ {} cut", node_name(*a), node_name(*b)),
            What::Partition { groups } => format!("partition {groups:?}"),
            What::SentinelPartition { groups } => format!("sentinel partition {groups:?}"),
            What::Healed => "partition healed".into(),
            What::Load { rate } => format!("{name}: write load {rate}/s"),
            What::Psync(d) => {
                let verdict = if d.accepted { format!("+CONTINUE, {} bytes", d.bytes) } else { "+FULLRESYNC".into() };
                format!(
                    "{name} answers PSYNC {} {} from :{}: {verdict} ({:?})",
                    d.id, d.offset, d.replica_port, d.reason
                )
            }
            What::Propagated { label, db, start, end } => {
                format!("{name} propagates {label} (db {db}) at {start}..={end}")
            }
            What::NotPropagated { command, replicas } => {
                format!("{name}: {command} changed the dataset and is not propagated to its {replicas} replica(s)")
            }
        }
    }
}

fn is_sentinel(p: Peer) -> bool {
    matches!(p, Peer::Sentinel(_))
}
