//! The simulated world: nodes, links that behave like TCP connections, a virtual clock and an
//! event queue, and the trace.
//!
//! Time is virtual (microseconds) and moves only when the world is told to run. Each step takes
//! the earliest of the queued network events and the nodes' own deadlines, so a run is a pure
//! function of the seed and the actions taken: the same inputs give the same trace, byte for
//! byte, natively and in wasm. Links are ordered and reliable while up; a byte sent at `t`
//! leaves once the link's serialiser is free (bandwidth) and arrives one latency later.
//!
//! Besides the Redis nodes the world can hold sentinels ([`crate::sentinel`]): separate actors with
//! their own connections over the same links (a [`Peer`] is either), so partitions and latency
//! affect what they see. Their event lines go into the trace with the kind `sentinel`, their
//! traffic with `sentinel-net`, so a promotion always reads as Sentinel's doing.
//!
//! The world's parts: this file holds the world itself (nodes and sentinels added and removed,
//! the consoles, the clock and the trace); `network.rs` the links, segments and event loop;
//! `faults.rs` cuts, partitions, crashes, restarts and pauses; `trace.rs` the typed events,
//! `wire.rs` the labels decoded from the bytes, `frame.rs` what the page draws, `session.rs`
//! time travel, `load.rs` a shared run replayed, `sweep/` the headless random runs.

pub mod frame;
pub mod load;
pub mod session;
pub mod sweep;
pub mod trace;
pub mod wire;

mod faults;
mod network;

use std::collections::{BTreeMap, VecDeque};

use crate::actor::Actor;
use crate::node::replication::ReplConfig;
use crate::node::{ConnId, LogLine, Micros, Node, NodeConfig, Note, Output, Persisted};
use crate::resp::{encode_command, format_reply, format_reply_for, parse_frame, split_args, Frame, Parsed};
use crate::sentinel::{Sentinel, SentinelConfig, SentinelView, SENTINEL_BASE_PORT};
pub use trace::{Change, TraceEvent, What};
use wire::{Kind, WireDecoder};

/// The largest piece a write is cut into on a link (Redis reads 16 KB at a time, PROTO_IOBUF_LEN).
pub const SEGMENT_MAX: usize = 16 * 1024;

/// What one connection's kernel buffers hold (send and receive side together): a node writes
/// no more than this ahead of what its peer has received (see [`Node::set_socket_buffer`]).
pub const SOCKET_BUFFER: usize = 256 * 1024;

/// The first node listens on this port; node i on `BASE_PORT + i`.
pub const BASE_PORT: u16 = 6379;

/// Latency and bandwidth of a link.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkParams {
    /// One-way latency in µs.
    pub latency: Micros,
    /// Bytes per second.
    pub bandwidth: u64,
    /// Extra delay drawn uniformly in `[0, jitter]` µs per segment, from the world's seed (order
    /// is kept, as TCP keeps it).
    pub jitter: Micros,
}

impl Default for LinkParams {
    fn default() -> Self {
        LinkParams { latency: 1_000, bandwidth: 10 * 1024 * 1024, jitter: 0 }
    }
}

/// One end of a connection: a Redis node or a sentinel, by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(tag = "peer", content = "index", rename_all = "lowercase")]
pub enum Peer {
    /// Node `i`.
    Node(usize),
    /// Sentinel `j`.
    Sentinel(usize),
}

/// A chunk of bytes travelling one way on a link.
#[derive(Clone, Debug)]
pub struct Segment {
    /// Its number in the run (the page asks for its bytes by it).
    pub id: u64,
    /// The replication offset of its first byte, when it carries a master's stream.
    pub offset: Option<i64>,
    /// Sender.
    pub from: Peer,
    /// Receiver.
    pub to: Peer,
    /// When its first byte left.
    pub sent_at: Micros,
    /// When its last byte arrives.
    pub arrive_at: Micros,
    /// The bytes (shared with the store of recent bytes, see [`World::segment_bytes`]).
    pub data: std::sync::Arc<Vec<u8>>,
    /// Decoded label.
    pub label: String,
    /// Decoded kind.
    pub kind: Kind,
}

#[derive(Clone, Debug)]
struct Dir {
    free_at: Micros,
    segments: VecDeque<Segment>,
    decoder: WireDecoder,
    /// Arrival time of the last segment sent, so jitter never reorders the stream.
    last_arrive: Micros,
    /// Segments that reached a partition wait here (their delivery events are spent).
    stalled: usize,
}

#[derive(Clone, Debug)]
struct Link {
    /// Side 0 connected, side 1 accepted: (peer, its connection id once known).
    ends: [(Peer, Option<ConnId>); 2],
    open: [bool; 2],
    dirs: [Dir; 2],
}

#[derive(Clone, Debug)]
enum Event {
    Accept { link: u64 },
    Established { link: u64 },
    Refused { node: Peer, conn: ConnId },
    Deliver { link: u64, side: usize },
    PeerClosed { link: u64, side: usize },
    LoadTick { node: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Console,
    Link(u64, usize),
    /// A write load's client (its replies are dropped).
    Load,
    /// A program's own client (see [`World::open_reading_client`]): its replies are kept.
    Client,
}

#[derive(Clone, Debug)]
struct Slot {
    node: Node,
    console: ConnId,
    console_out: Vec<u8>,
    /// Replies that came after their command had returned (a WAIT that blocked), set aside
    /// when the next command is typed so that each command reads its own reply.
    console_late: Vec<String>,
    /// False after a crash, until a restart.
    up: bool,
    /// Taken out of the lab: down for good, its slot free for the next node added.
    removed: bool,
    /// The state last reported in the trace.
    seen: crate::node::LearnerState,
    restarts: u64,
}

/// The whole simulated world.
#[derive(Clone, Debug)]
pub struct World {
    now: Micros,
    seed: u64,
    nodes: Vec<Slot>,
    sentinels: Vec<Sentinel>,
    links: BTreeMap<u64, Link>,
    next_link: u64,
    endpoints: BTreeMap<(Peer, ConnId), Endpoint>,
    queue: BTreeMap<(Micros, u64), Event>,
    seq: u64,
    params: LinkParams,
    /// Per-pair overrides of `params`, keyed by (lower, higher) node index.
    pair_params: BTreeMap<(usize, usize), LinkParams>,
    /// Draws jitter; seeded from the world's seed.
    rng: rand_chacha::ChaCha8Rng,
    /// Persistent, so that a checkpoint of the world does not copy the whole history.
    trace: imbl::Vector<TraceEvent>,
    /// Partition group of each node; bytes between different groups are held back.
    groups: Vec<u32>,
    /// Partition group of each sentinel (0 when not given).
    sentinel_groups: Vec<u32>,
    version: u64,
    /// When set, every PSYNC decision of every node is kept, for invariant checks.
    psyncs: Option<Vec<(usize, crate::node::replication::master::PsyncDecision)>>,
    /// When set, every byte sent between two nodes is kept, per (from, to), for tests.
    transcripts: Option<BTreeMap<(usize, usize), Vec<u8>>>,
    /// Segments sent so far (their ids).
    next_segment: u64,
    /// The bytes of the most recent segments, at most [`KEEP_BYTES`] of them, by segment id.
    recent: imbl::OrdMap<u64, std::sync::Arc<Vec<u8>>>,
    recent_bytes: usize,
    /// Write loads (see [`load`]).
    loads: Vec<load::Load>,
    /// What the nodes sent to the clients of [`World::open_reading_client`], not read yet.
    client_out: BTreeMap<(usize, ConnId), Vec<u8>>,
}

/// How many bytes of recent segments the world keeps for the page to show (the trace keeps
/// every segment's label; the oldest bytes go first).
pub const KEEP_BYTES: usize = 32 * 1024 * 1024;

impl World {
    /// An empty world whose every random choice derives from `seed`.
    pub fn new(seed: u64) -> World {
        World {
            now: 0,
            seed,
            nodes: Vec::new(),
            sentinels: Vec::new(),
            links: BTreeMap::new(),
            next_link: 1,
            endpoints: BTreeMap::new(),
            queue: BTreeMap::new(),
            seq: 0,
            params: LinkParams::default(),
            pair_params: BTreeMap::new(),
            rng: rand_core::SeedableRng::seed_from_u64(seed ^ 0x005E_ED0F_7E55),
            trace: imbl::Vector::new(),
            groups: Vec::new(),
            sentinel_groups: Vec::new(),
            version: 0,
            transcripts: None,
            psyncs: None,
            next_segment: 0,
            recent: imbl::OrdMap::new(),
            recent_bytes: 0,
            loads: Vec::new(),
            client_out: BTreeMap::new(),
        }
    }

    /// Starts keeping every PSYNC decision (see [`World::take_psync_decisions`]).
    pub fn record_psync_decisions(&mut self) {
        self.psyncs.get_or_insert_with(Vec::new);
    }

    /// The PSYNC decisions recorded since the last call, with the deciding node.
    pub fn take_psync_decisions(&mut self) -> Vec<(usize, crate::node::replication::master::PsyncDecision)> {
        self.psyncs.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Starts keeping a transcript of every byte sent from node to node.
    pub fn record_transcripts(&mut self) {
        self.transcripts.get_or_insert_with(BTreeMap::new);
    }

    /// Every byte node `from` has sent to node `to` since [`World::record_transcripts`].
    pub fn transcript(&self, from: usize, to: usize) -> &[u8] {
        self.transcripts.as_ref().and_then(|t| t.get(&(from, to))).map_or(&[], |v| v.as_slice())
    }

    /// Virtual time now, µs.
    pub fn now(&self) -> Micros {
        self.now
    }

    /// Changes with every state change, so a renderer can skip unchanged frames.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Adds a node listening on `127.0.0.1:(6379 + index)` with Redis's default configuration.
    pub fn add_node(&mut self) -> usize {
        self.add_node_with(ReplConfig::default())
    }

    /// Adds a node with the given replication settings, in the first slot a removed node left
    /// free (with that slot's name and port), else in a new one.
    pub fn add_node_with(&mut self, repl: ReplConfig) -> usize {
        let i = self.next_slot();
        let reused = (i < self.nodes.len()).then_some(i);
        let cfg = NodeConfig {
            name: trace::node_name(i),
            host: "127.0.0.1".into(),
            port: BASE_PORT + i as u16,
            repl,
            epoch_unix_ms: crate::node::EPOCH_UNIX_MS,
        };
        // A node in a reused slot draws other ids than the one before it.
        let restarts = reused.map_or(0, |i| self.nodes[i].restarts + 1);
        let seed = self.node_seed(i, restarts);
        let slot = self.seat(i, Node::new(cfg, seed, self.now), restarts);
        match reused {
            Some(i) => {
                self.nodes[i] = slot;
                self.record(i, What::Added);
            }
            None => self.nodes.push(slot),
        }
        self.drain(i);
        self.version += 1;
        i
    }

    /// A running node in slot `i`: the world's socket buffer, its console connected.
    fn seat(&mut self, i: usize, mut node: Node, restarts: u64) -> Slot {
        node.set_socket_buffer(Some(SOCKET_BUFFER));
        let console = node.accept(self.now, "127.0.0.1", 50_000 + i as u16);
        self.endpoints.insert((Peer::Node(i), console), Endpoint::Console);
        Slot {
            node,
            console,
            console_out: Vec::new(),
            console_late: Vec::new(),
            up: true,
            removed: false,
            restarts,
            seen: Default::default(),
        }
    }

    /// The slot the next node added takes: the first a removed node left, else a new one.
    pub fn next_slot(&self) -> usize {
        self.nodes.iter().position(|s| s.removed).unwrap_or(self.nodes.len())
    }

    /// The seed of the node in slot `i` after `restarts` restarts.
    fn node_seed(&self, i: usize, restarts: u64) -> u64 {
        self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i as u64 + 1).wrapping_add(restarts << 32)
    }

    /// Takes node `i` out of the lab, as switching its server off for good: its connections
    /// reset, its disk and its link settings go, and its slot is free for the next node added.
    /// Replicas configured to use it keep trying to connect, as they would.
    pub fn remove_node(&mut self, i: usize) {
        if !self.is_present(i) {
            return;
        }
        self.crash_silently(i);
        let slot = &mut self.nodes[i];
        slot.removed = true;
        slot.node.clear_disk();
        slot.console_out.clear();
        slot.console_late.clear();
        self.pair_params.retain(|(a, b), _| *a != i && *b != i);
        self.record(i, What::Removed);
        self.version += 1;
    }

    /// True while node `i` is part of the lab (up or down), false once removed.
    pub fn is_present(&self, i: usize) -> bool {
        self.nodes.get(i).is_some_and(|s| !s.removed)
    }

    /// The nodes in the lab, up or down (removed slots left out).
    pub fn present_nodes(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|&i| !self.nodes[i].removed)
    }

    /// Adds a sentinel listening on `127.0.0.1:(26379 + index)` that monitors node `master`
    /// with `cfg`. The sentinels already there learn of it and it of them, as their hello
    /// messages would teach them (see [`crate::sentinel`]). Returns its index, or None if there is no
    /// node `master`.
    pub fn add_sentinel(&mut self, master: usize, cfg: SentinelConfig) -> Option<usize> {
        let (mhost, mport) = {
            let n = &self.nodes.get(master)?.node;
            (n.addr().0.to_string(), n.addr().1)
        };
        let j = self.sentinels.len();
        if j >= crate::sentinel::MAX_SENTINELS {
            return None;
        }
        let name = trace::sentinel_name(j);
        let port = SENTINEL_BASE_PORT + j as u16;
        let seed = self.seed.wrapping_mul(0xD1B5_4A32_D192_ED03).wrapping_add(j as u64 + 1);
        let mut s = Sentinel::new(&name, ("127.0.0.1", port), cfg, (&mhost, mport), seed, self.now);
        let (id, host) = (s.myid().to_string(), s.addr().0.to_string());
        for k in 0..j {
            let other = &self.sentinels[k];
            let (oid, ohost, oport) = (other.myid().to_string(), other.addr().0.to_string(), other.addr().1);
            s.add_peer(&ohost, oport, &oid);
            self.sentinels[k].add_peer(&host, port, &id);
        }
        self.sentinels.push(s);
        for k in 0..=j {
            self.drain_sentinel(k);
        }
        self.version += 1;
        Some(j)
    }

    /// Number of sentinels.
    pub fn sentinel_count(&self) -> usize {
        self.sentinels.len()
    }

    /// Sentinel `j`.
    pub fn sentinel(&self, j: usize) -> &Sentinel {
        &self.sentinels[j]
    }

    /// What sentinel `j` sees, for the page, or None if there is no sentinel `j`.
    pub fn sentinel_view(&self, j: usize) -> Option<SentinelView> {
        let mut v = self.sentinels.get(j)?.view();
        v.index = j;
        Some(v)
    }

    /// Runs a redis-cli style line on sentinel `j` (PING, `SENTINEL get-master-addr-by-name
    /// mymaster`, ...) and returns the reply as redis-cli prints it.
    pub fn sentinel_console(&mut self, j: usize, line: &str) -> String {
        let Some(sentinel) = self.sentinels.get_mut(j) else {
            return format!("(error) ERR no such sentinel {j}");
        };
        let args = match console_args(line) {
            Ok(a) => a,
            Err(answer) => return answer,
        };
        let reply = sentinel.command(&args);
        self.drain_sentinel(j);
        self.version += 1;
        format_reply_for(&args, &reply)
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Node `i`.
    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i].node
    }

    /// Runs a redis-cli style line on node `i`'s console and returns the reply as redis-cli
    /// prints it. Nothing typed can make this panic (except `DEBUG PANIC`, which is its job).
    pub fn console(&mut self, i: usize, line: &str) -> String {
        match self.console_run(i, line) {
            Ok(Some((args, frame))) => format_reply_for(&args, &frame),
            Ok(None) => String::new(),
            Err(text) => text,
        }
    }

    /// Runs a console line on node `i` and returns its reply as a frame: None when the line is
    /// not a command, the node cannot answer (down, removed) or the reply is still to come.
    pub fn console_frame(&mut self, i: usize, line: &str) -> Option<Frame> {
        self.console_run(i, line).ok().flatten().map(|(_, frame)| frame)
    }

    /// A console line's arguments and reply frame (None while the reply is still to come), or
    /// what redis-cli would print instead of a reply.
    fn console_run(&mut self, i: usize, line: &str) -> Result<Option<ConsoleReply>, String> {
        let Some(slot) = self.nodes.get_mut(i).filter(|s| !s.removed) else {
            return Err(format!("(error) ERR no such node {i}"));
        };
        let args = console_args(line)?;
        if !slot.up {
            let (host, port) = slot.node.addr();
            return Err(format!("Could not connect to Redis at {host}:{port}: Connection refused"));
        }
        // Replies still waiting to be read belong to earlier commands: they are late replies.
        while let Ok(Parsed::Complete(frame, used)) = parse_frame(&slot.console_out) {
            slot.console_out.drain(..used);
            slot.console_late.push(format_reply(&frame));
        }
        let conn = slot.console;
        slot.node.receive(self.now, conn, &encode_command(&args));
        self.drain(i);
        self.version += 1;
        let slot = &mut self.nodes[i];
        match parse_frame(&slot.console_out) {
            Ok(Parsed::Complete(frame, used)) => {
                slot.console_out.drain(..used);
                Ok(Some((args, frame)))
            }
            Ok(Parsed::Incomplete) => Ok(None),
            Err(e) => Err(format!("(error) {e}")),
        }
    }

    /// Runs a console line on a clone's node without recording anything (for assertions).
    pub fn console_peek(&self, i: usize, line: &str) -> String {
        self.clone().console(i, line)
    }

    /// Replies that reached node `i`'s console after [`World::console`] returned (a reply that
    /// waited for a paused node, for instance), formatted as redis-cli prints them.
    pub fn console_late_replies(&mut self, i: usize) -> Vec<String> {
        let Some(slot) = self.nodes.get_mut(i) else {
            return Vec::new();
        };
        let mut out = std::mem::take(&mut slot.console_late);
        while let Ok(Parsed::Complete(frame, used)) = parse_frame(&slot.console_out) {
            slot.console_out.drain(..used);
            out.push(format_reply(&frame));
        }
        out
    }

    /// Runs the world for `ms` virtual milliseconds.
    pub fn run_for_ms(&mut self, ms: u64) {
        self.run_until(self.now + ms * 1000);
    }

    /// Runs the world until virtual time `t` (µs).
    pub fn run_until(&mut self, t: Micros) {
        loop {
            let next_event = self.queue.keys().next().map(|k| k.0);
            let next = self.next_time().unwrap_or(Micros::MAX);
            if next > t {
                break;
            }
            self.now = self.now.max(next);
            if next_event == Some(next) {
                if let Some((_, ev)) = self.queue.pop_first() {
                    self.handle(ev);
                }
            } else {
                for i in 0..self.nodes.len() {
                    if self.nodes[i].up && self.nodes[i].node.next_deadline() <= self.now {
                        self.nodes[i].node.tick(self.now);
                        self.drain(i);
                    }
                }
                for j in 0..self.sentinels.len() {
                    if self.sentinels[j].next_deadline() <= self.now {
                        self.sentinels[j].tick(self.now);
                        self.drain_sentinel(j);
                    }
                }
            }
            self.version += 1;
        }
        self.now = self.now.max(t);
    }

    /// When the world next has something to do: a delivery on a link, or a node's or a
    /// sentinel's deadline (its cron, a BGSAVE child, a paused node waking).
    pub fn next_time(&self) -> Option<Micros> {
        let next_event = self.queue.keys().next().map(|k| k.0);
        let next_actor = self
            .nodes
            .iter()
            .filter(|s| s.up)
            .map(|s| s.node.next_deadline())
            .chain(self.sentinels.iter().map(Sentinel::next_deadline))
            .min();
        match (next_event, next_actor) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn record(&mut self, node: usize, what: What) {
        self.trace.push_back(TraceEvent { time: self.now, node, what });
    }

    /// True unless node `i` has crashed.
    pub fn is_up(&self, i: usize) -> bool {
        self.nodes.get(i).is_some_and(|s| s.up)
    }

    /// The bytes of segment `id`, if they are among the most recent [`KEEP_BYTES`].
    pub fn segment_bytes(&self, id: u64) -> Option<&[u8]> {
        self.recent.get(&id).map(|d| d.as_slice())
    }

    fn keep_bytes(&mut self, id: u64, data: std::sync::Arc<Vec<u8>>) {
        self.recent_bytes += data.len();
        self.recent.insert(id, data);
        while self.recent_bytes > KEEP_BYTES {
            let Some(oldest) = self.recent.get_min().map(|(k, _)| *k) else {
                break;
            };
            if let Some(old) = self.recent.remove(&oldest) {
                self.recent_bytes -= old.len();
            }
        }
    }

    /// Every segment still travelling.
    pub fn in_flight(&self) -> Vec<&Segment> {
        self.links.values().flat_map(|l| l.dirs.iter().flat_map(|d| d.segments.iter())).collect()
    }

    /// The whole trace so far.
    pub fn trace(&self) -> &imbl::Vector<TraceEvent> {
        &self.trace
    }

    /// A digest of the trace: two runs with the same digest did the same things at the same
    /// virtual times.
    pub fn trace_digest(&self) -> String {
        let mut d = crate::rdb::CRC64.digest();
        for e in &self.trace {
            d.update(&e.time.to_le_bytes());
            d.update(&(e.node as u64).to_le_bytes());
            d.update(e.kind().as_bytes());
            d.update(e.text().as_bytes());
        }
        format!("{:016x}", d.finalize())
    }
}

/// A console line split as redis-cli splits it; what redis-cli prints instead when it is not a
/// command (bad quoting, or nothing typed).
/// A console line's arguments and the frame it was answered with.
type ConsoleReply = (Vec<Vec<u8>>, Frame);

fn console_args(line: &str) -> Result<Vec<Vec<u8>>, String> {
    match split_args(line.as_bytes()) {
        Err(_) => Err("Invalid argument(s)".into()),
        Ok(a) if a.is_empty() => Err(String::new()),
        Ok(a) => Ok(a),
    }
}
