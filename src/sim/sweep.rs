//! Headless random runs: one master and its replicas under a random workload and random faults,
//! then healing, quiescence and the invariants of the simulator issue.
//!
//! The faults: cuts, partitions, crashes (with or without a SAVE) and later restarts, immediate
//! restarts, pauses, and changes of master. In about a third of the runs three sentinels (quorum
//! 2) watch the nodes and fail over on their own when the master crashes, pauses or is
//! partitioned away; the workload then writes wherever the sentinels say the master is, as a
//! Sentinel-aware client does. In the other runs an operator changes masters: `REPLICAOF NO ONE`
//! on a replica and `REPLICAOF` to it on every other node that is up, or the `FAILOVER` command;
//! writes follow the master. After healing, the operator points every node at the final master
//! (in sentinel runs the sentinels do it).
//!
//! A run is a pure function of its [`SweepConfig`]: every random choice (the workload, the fault
//! schedule, the per-run settings) comes from a ChaCha8 generator seeded from the run's seed,
//! and the [`World`] itself is seeded from it too. Nothing here reads a clock or does I/O, so the
//! same seed gives the same [`SweepReport`] natively and in wasm. `repl-lab sim` prints one
//! report; `tests/sweep.rs` runs hundreds.
//!
//! The invariants checked (violations are collected as text; nothing here panics on purpose, so
//! a panic is an engine bug):
//! - after healing and quiescence every other node is a replica, with its link up, holding the
//!   final master's dataset (DEBUG DIGEST), its replication ID and its offset;
//! - a replica's applied offset, sampled every 100 ms of virtual time, never goes back while
//!   its link is up, except across a full sync (the replica logged "Full resync from master")
//!   or a restart of that replica;
//! - no backlog holds more history than Redis's trimming keeps (see `backlog_bound`);
//! - no node ever logs a replication-stream error ("Protocol error from master", a short read
//!   of the RDB, an unexpected PSYNC reply...): links are reliable and a cut closes both ends,
//!   so a well-behaved engine never sees a torn stream;
//! - a replica whose link is up, at its master's replication id and offset, holds its master's
//!   dataset (sampled every 100 ms): once in sync, it never serves a key its master deleted, nor
//!   misses one the master has;
//! - a write acknowledged by `WAIT` (now and then the workload writes a key of its own, then
//!   `WAIT <its connected replicas> 500`, on a second connection so that the WAIT blocks only
//!   itself) is on the final master, unless the master that took it was later turned into a
//!   replica (a failover to a node without the write) or crashed without a SAVE: the two ways
//!   Redis may lose an acknowledged write.

use std::fmt;

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use super::{Change, Peer, What, World, BASE_PORT};
use crate::node::{ConnId, Micros};
use crate::resp::{encode_command_into, Frame};
use crate::sentinel::SentinelConfig;

/// Sampling period for offsets and backlogs, and the quiescence check, µs (100 ms).
const SAMPLE: Micros = 100_000;

/// After the end of the run, how long the replicas may go without applying a byte before the
/// world counts as stuck, in virtual µs. While they keep applying (a slow link draining minutes
/// of writes made faster than it carries), the sweep waits, up to [`QUIESCE_CAP`].
const QUIESCE_STALL: Micros = 120_000_000;

/// The longest wait for quiescence, progress or not (an hour of virtual time).
const QUIESCE_CAP: Micros = 3_600_000_000;

/// The most history a backlog may hold: what Redis 7's trimming keeps.
///
/// Redis 7 keeps the backlog and every replica's pending output in one list of blocks, and frees
/// a head block only when the rest still holds `repl-backlog-size` and no replica's cursor points
/// into it. So the history reaches back at most `size` bytes, or as far as the slowest replica
/// still has to be sent (a replica behind on a slow link pins blocks until `repl-timeout` or its
/// output-buffer limit drops it), plus the head block that straddles that point. A fixed multiple
/// of `size` was wrong: a fast writer and a slow link pin far more than 8 × size, legitimately.
fn backlog_bound(v: &crate::node::NodeView) -> i64 {
    let end = v.master_repl_offset;
    let needed = v.replicas.iter().filter_map(|r| r.cursor).map(|c| end + 1 - c).max().unwrap_or(0);
    let largest_block = v.buffer.as_ref().and_then(|b| b.blocks.iter().map(|&(_, _, cap)| cap).max()).unwrap_or(0);
    (v.backlog.size as i64).max(needed) + largest_block as i64
}

/// Log text that a replica or master should never print in a simulated world.
const BAD_LOG: &[&str] =
    &["Protocol error", "Desync", "Short read", "Bad protocol", "Unexpected reply to PSYNC", "Master does not support"];

/// One headless run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepConfig {
    /// Seeds the world and every choice of the run.
    pub seed: u64,
    /// Number of nodes (node 0 is the master); at least 1.
    pub nodes: usize,
    /// Virtual seconds of workload and faults before healing.
    pub virtual_secs: u64,
    /// Inject random faults.
    pub faults: bool,
    /// Writes per virtual second on the master (a MULTI block counts as one).
    pub writes_per_sec: u64,
}

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig { seed: 1, nodes: 3, virtual_secs: 60, faults: true, writes_per_sec: 50 }
    }
}

/// What one node looked like at the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeReport {
    /// Node index.
    pub index: usize,
    /// Display name.
    pub name: String,
    /// `master` or `slave`.
    pub role: String,
    /// `sync_full` from INFO stats (counted since the node's last start).
    pub sync_full: u64,
    /// `sync_partial_ok`.
    pub sync_partial_ok: u64,
    /// `sync_partial_err`.
    pub sync_partial_err: u64,
    /// "Full resync from master" lines this node logged over the whole run.
    pub full_resyncs_received: u64,
    /// "Successful partial resynchronization with master." lines over the whole run.
    pub partial_resyncs_received: u64,
    /// Times the node was restarted after a crash.
    pub restarts: u64,
    /// `master_repl_offset`.
    pub master_repl_offset: i64,
    /// `slave_repl_offset` (1 on a master).
    pub slave_repl_offset: i64,
    /// The link to its master: `up`, `down`, or `-` on a master.
    pub link: String,
    /// Keys held.
    pub keys: usize,
    /// DEBUG DIGEST.
    pub digest: String,
    /// Largest `repl_backlog_histlen` seen.
    pub max_histlen: i64,
}

/// The outcome of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepReport {
    /// The configuration run.
    pub config: SweepConfig,
    /// Per-run settings drawn from the seed, as text (`repl-backlog-size 16kb`, ...).
    pub settings: Vec<String>,
    /// Commands sent to the master's console (MULTI, EXEC and SELECT count too).
    pub writes: u64,
    /// Faults injected, in order, as text with their virtual time.
    pub faults: Vec<String>,
    /// Bytes that travelled between nodes (the sum of the trace's `net` events).
    pub bytes_moved: u64,
    /// Promotions: times a node went from replica to master (by the operator, FAILOVER or a
    /// sentinel).
    pub promotions: u64,
    /// Failovers the sentinels completed (`+failover-end` events), 0 in runs without them.
    pub sentinel_failovers: u64,
    /// Writes followed by WAIT; how many of them WAIT said a replica acknowledged; and how many
    /// of those the final master lacks, each explained by its master's demotion or lost disk.
    pub waited_writes: (u64, u64, u64),
    /// Virtual ms after the end of the run at which the world was quiescent, if it was.
    pub quiesced_after_ms: Option<u64>,
    /// Virtual time at the end, ms.
    pub end_ms: u64,
    /// Per node.
    pub nodes: Vec<NodeReport>,
    /// Events in the trace.
    pub trace_events: usize,
    /// [`World::trace_digest`].
    pub trace_digest: String,
    /// Every invariant broken, in the order found; empty when the run is clean.
    pub violations: Vec<String>,
}

impl SweepReport {
    /// True when no invariant was broken.
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }
}

#[derive(Clone, Debug)]
enum Action {
    Write(Vec<String>),
    /// A key of the run's own on the master (`SET w:<n> <n>` in db 0), then `WAIT` for every
    /// replica connected to it.
    WaitedWrite,
    Cut(usize),
    Partition(Vec<u32>),
    Heal,
    Crash {
        node: usize,
        save: bool,
    },
    Restart(usize),
    Pause {
        node: usize,
        ms: u64,
    },
    /// A crash and an immediate restart (with a SAVE first, or not).
    Reboot {
        node: usize,
        save: bool,
    },
    /// The operator promotes this node (if it is a replica) and points the others at it.
    Promote(usize),
    /// `FAILOVER TIMEOUT ms` on the current master, or with `TO` a node and `FORCE`.
    Failover {
        timeout_ms: u64,
        force_to: Option<usize>,
    },
}

/// How masters change in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Promotions {
    /// An operator (REPLICAOF NO ONE + REPLICAOF, or FAILOVER).
    Operator,
    /// Three sentinels.
    Sentinels,
}

struct Gen(ChaCha8Rng);

impl Gen {
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.0.next_u64() % n
        }
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const KEYS: u64 = 12;

fn key(g: &mut Gen) -> String {
    format!("k{}", g.below(KEYS))
}

fn value(g: &mut Gen) -> String {
    if g.chance(4) {
        // A large value now and then, so small backlogs overflow.
        let n = g.range(500, 3000) as usize;
        let c = (b'a' + g.below(26) as u8) as char;
        std::iter::repeat_n(c, n).collect()
    } else {
        format!("v{}", g.below(1000))
    }
}

/// One write command (never MULTI/EXEC/SELECT).
fn command(g: &mut Gen) -> String {
    let k = key(g);
    match g.below(13) {
        0 => format!("SET {k} {}", value(g)),
        1 => format!("SET {k} {} EX {}", value(g), g.range(1, 20)),
        2 => format!("INCR {k}"),
        3 => format!("LPUSH {k} {}", value(g)),
        4 => format!("RPOP {k}"),
        5 => format!("HSET {k} f{} {}", g.below(5), value(g)),
        6 => format!("SADD {k} m{}", g.below(8)),
        7 => format!("SREM {k} m{}", g.below(8)),
        8 => format!("ZADD {k} {} m{}", g.below(100), g.below(8)),
        9 => format!("DEL {k}"),
        10 => format!("EXPIRE {k} {}", g.range(1, 30)),
        11 => format!("PEXPIRE {k} {}", g.range(100, 5000)),
        _ => format!("SET {k} {}", value(g)),
    }
}

/// One write on the master: a command, a MULTI block, or a SELECT.
fn write(g: &mut Gen) -> Vec<String> {
    match g.below(20) {
        0..=1 => {
            let mut v = vec!["MULTI".to_string()];
            for _ in 0..g.range(1, 4) {
                v.push(command(g));
            }
            v.push("EXEC".into());
            v
        }
        2 => vec![format!("SELECT {}", g.below(3))],
        _ => vec![command(g)],
    }
}

/// The fault schedule: episodes at random times, each closed before `end`.
fn faults(g: &mut Gen, nodes: usize, end: Micros, promotions: Promotions, out: &mut Vec<(Micros, Action)>) {
    if nodes < 2 {
        return;
    }
    let start = 1_000_000;
    if end <= start + SAMPLE {
        return;
    }
    let secs = end / 1_000_000;
    let episodes = g.range(secs / 12 + 1, secs / 5 + 1);
    let mut partition_free: Micros = 0;
    let mut crash_free = vec![0 as Micros; nodes];
    let mut pause_free = vec![0 as Micros; nodes];
    for _ in 0..episodes {
        let at = g.range(start, end - SAMPLE);
        let room = end - at;
        let dur = g.range(200_000, 15_000_000).min(room - 1);
        match g.below(7) {
            0 => out.push((at, Action::Cut(g.range(1, nodes as u64 - 1) as usize))),
            1 => {
                if at < partition_free {
                    continue;
                }
                let mut groups: Vec<u32> = (0..nodes).map(|_| g.below(2) as u32).collect();
                if groups.iter().all(|x| *x == groups[0]) {
                    let i = g.below(nodes as u64) as usize;
                    groups[i] ^= 1;
                }
                out.push((at, Action::Partition(groups)));
                out.push((at + dur, Action::Heal));
                partition_free = at + dur + 1;
            }
            2 => {
                // Replicas crash more often than the master.
                let node = if g.chance(25) { 0 } else { g.range(1, nodes as u64 - 1) as usize };
                if at < crash_free[node] {
                    continue;
                }
                out.push((at, Action::Crash { node, save: g.chance(50) }));
                out.push((at + dur, Action::Restart(node)));
                crash_free[node] = at + dur + 1;
            }
            3 => {
                let node = g.below(nodes as u64) as usize;
                if at < pause_free[node] {
                    continue;
                }
                let ms = (dur / 1000).clamp(1, 9_000);
                out.push((at, Action::Pause { node, ms }));
                pause_free[node] = at + ms * 1000 + 1;
            }
            4 => {
                let node = g.below(nodes as u64) as usize;
                if at < crash_free[node] {
                    continue;
                }
                out.push((at, Action::Reboot { node, save: g.chance(50) }));
            }
            _ if promotions == Promotions::Sentinels => {
                // The sentinels' work: the master itself (whoever it is then) goes away.
                out.push((at, Action::Crash { node: usize::MAX, save: g.chance(50) }));
                out.push((at + dur.max(6_000_000).min(room - 1), Action::Restart(usize::MAX)));
            }
            5 => out.push((at, Action::Promote(g.below(nodes as u64) as usize))),
            _ => {
                // An operator gives FAILOVER a timeout: without one it would hold writes back
                // for as long as no replica catches up.
                let timeout_ms = g.range(1_000, 5_000);
                let force_to = g.chance(30).then(|| g.below(nodes as u64) as usize);
                out.push((at, Action::Failover { timeout_ms, force_to }));
            }
        }
    }
}

fn stat(info: &str, field: &str) -> u64 {
    info.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':')))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Per-node bookkeeping while the run goes.
#[derive(Clone, Debug, Default)]
struct Watch {
    /// Highest applied offset since the last full sync or restart.
    high: i64,
    full_resyncs: u64,
    partial_resyncs: u64,
    restarts: u64,
    /// `full_resyncs + restarts` when `high` was last reset.
    epoch: u64,
    max_histlen: i64,
}

/// A write the workload followed with WAIT.
#[derive(Clone, Debug)]
struct WaitedWrite {
    key: String,
    /// The master it was sent to, and when.
    node: usize,
    at: Micros,
    /// The replicas WAIT asked for, and how many it said acknowledged it (once it answered).
    wanted: usize,
    acked: Option<u64>,
}

struct Run {
    w: World,
    /// Per node, the client the waited writes go through (its own, so that a WAIT blocks it and
    /// not the workload on the console), and the commands sent on it whose replies are still to
    /// come, in order: Some for a WAIT (its index in `waited`).
    waiters: Vec<Option<ConnId>>,
    pending: Vec<std::collections::VecDeque<Option<usize>>>,
    waited: Vec<WaitedWrite>,
    /// Acknowledged waited writes the final master lacks, explained.
    waited_lost: u64,
    /// When a master crashed without a SAVE (its dataset lost).
    lost_disks: Vec<(usize, Micros)>,
    cfg: SweepConfig,
    promotions: Promotions,
    /// The node the workload writes to.
    master: usize,
    /// The node a "crash the master" fault took down, for its restart.
    crashed_master: Option<usize>,
    watch: Vec<Watch>,
    cursor: usize,
    bytes: u64,
    violations: Vec<String>,
}

impl Run {
    fn console(&mut self, i: usize, line: &str) -> String {
        // Replies that a pause delayed would otherwise be taken for this command's.
        self.w.console_late_replies(i);
        self.w.console(i, line)
    }

    /// Reads the replies that reached node `i`'s waiter, giving each WAIT's to its write; a
    /// waiter whose connection is gone (a crash, a restart) gets no more.
    fn take_waiter_replies(&mut self, i: usize) {
        let Some(conn) = self.waiters[i] else { return };
        let (replies, open) = self.w.client_replies(i, conn);
        for reply in replies {
            if let (Some(Some(k)), Frame::Integer(n)) = (self.pending[i].pop_front(), reply) {
                self.waited[k].acked = Some(n as u64);
            }
        }
        if !open {
            self.waiters[i] = None;
            self.pending[i].clear();
        }
    }

    /// Writes a key of the run's own on the master, then waits for the replicas connected to
    /// it, on the master's waiter connection.
    fn waited_write(&mut self) {
        let m = self.current_master();
        if !self.w.is_up(m) {
            return;
        }
        let wanted = self.w.node(m).view().replicas.iter().filter(|r| r.state == "online").count();
        if wanted == 0 {
            return;
        }
        self.take_waiter_replies(m);
        let conn = match self.waiters[m] {
            Some(c) => c,
            None => *self.waiters[m].insert(self.w.open_reading_client(m)),
        };
        let k = self.waited.len();
        let key = format!("w:{k}");
        self.waited.push(WaitedWrite { key: key.clone(), node: m, at: self.w.now(), wanted, acked: None });
        let mut bytes = Vec::new();
        let (k_text, wanted_text) = (k.to_string(), wanted.to_string());
        encode_command_into(&[b"SET".as_slice(), key.as_bytes(), k_text.as_bytes()], &mut bytes);
        encode_command_into(&[b"WAIT".as_slice(), wanted_text.as_bytes(), b"500"], &mut bytes);
        self.pending[m].extend([None, Some(k)]);
        self.w.client_send(m, conn, &bytes);
    }

    /// Holds every PSYNC answer against the rule of REDIS-REPLICATION.md §4.4, written out
    /// here again on its own: the id matches (case-insensitively) the replid, or the replid2 with
    /// an offset no later than second_repl_offset, and the backlog holds the offset
    /// (`first <= offset <= master_repl_offset + 1`).
    fn check_psync_rule(&mut self) {
        for (node, d) in self.w.take_psync_decisions() {
            let id_ok = d.id.eq_ignore_ascii_case(&d.replid)
                || (d.id.eq_ignore_ascii_case(&d.replid2) && d.offset <= d.second_offset);
            let range_ok = d.backlog.is_some_and(|(first, next)| first <= d.offset && d.offset <= next);
            if (id_ok && range_ok) != d.accepted {
                self.violation(format!(
                    "node {node}: PSYNC {} {} answered accepted={} against the rule: {d:?}",
                    d.id, d.offset, d.accepted
                ));
            }
        }
    }

    fn violation(&mut self, text: String) {
        // A broken run can repeat the same fault every sample; keep the report readable.
        if self.violations.len() < 50 {
            let t = self.w.now() / 1000;
            self.violations.push(format!("t={t}ms {text}"));
        }
    }

    /// Reads the trace since the last call: bytes moved, resyncs, stream errors.
    fn scan_trace(&mut self) {
        let trace = self.w.trace();
        let mut found = Vec::new();
        for e in trace.skip(self.cursor).iter() {
            match &e.what {
                // Count each segment once, when sent (deliveries are traced too).
                What::Sent { from: Peer::Node(_), to: Peer::Node(_), bytes, .. } => self.bytes += *bytes as u64,
                What::Log { text, .. } => {
                    if let Some(wt) = self.watch.get_mut(e.node) {
                        if text.contains("Full resync from master") {
                            wt.full_resyncs += 1;
                        }
                        if text.contains("Successful partial resynchronization with master.") {
                            wt.partial_resyncs += 1;
                        }
                    }
                    if BAD_LOG.iter().any(|b| text.contains(b)) {
                        found.push(format!("node {} logged: {text}", e.node));
                    }
                }
                _ => {}
            }
        }
        self.cursor = trace.len();
        for f in found {
            self.violation(f);
        }
    }

    /// A replica at its master's replication id and offset, its link up, holds its master's
    /// dataset.
    fn check_in_sync_datasets(&mut self) {
        for i in 0..self.cfg.nodes {
            if !self.w.is_up(i) {
                continue;
            }
            let v = self.w.node(i).view();
            let master = self.w.node(i).master_addr().and_then(|(_, port)| self.node_at(port));
            let Some(j) = master.filter(|&j| j != i && self.w.is_up(j)) else { continue };
            let mv = self.w.node(j).view();
            if v.link_status != Some("up") || v.replid != mv.replid || v.slave_repl_offset != mv.master_repl_offset {
                continue;
            }
            let (d, md) = (self.w.node(i).digest(), self.w.node(j).digest());
            if d != md {
                self.violation(format!(
                    "{} is at {}'s offset {} with its replication id, but its dataset differs ({d} vs {md}, {} vs {} keys)",
                    v.name, mv.name, mv.master_repl_offset, v.dbsize, mv.dbsize
                ));
            }
        }
    }

    /// Samples offsets and backlogs (every 100 ms of virtual time).
    fn sample(&mut self) {
        self.scan_trace();
        for i in 0..self.cfg.nodes {
            self.take_waiter_replies(i);
        }
        self.check_in_sync_datasets();
        for i in 0..self.cfg.nodes {
            if !self.w.is_up(i) {
                continue;
            }
            let v = self.w.node(i).view();
            let wt = &mut self.watch[i];
            if v.backlog.active {
                wt.max_histlen = wt.max_histlen.max(v.backlog.histlen);
                let bound = backlog_bound(&v);
                if v.backlog.histlen > bound {
                    let (h, s) = (v.backlog.histlen, v.backlog.size);
                    self.violation(format!(
                        "{} backlog histlen {h} exceeds what trimming keeps ({bound}: size {s}, or what the slowest replica still needs, plus a block)",
                        v.name
                    ));
                }
            }
            if v.role == "master" {
                continue;
            }
            let wt = &mut self.watch[i];
            let epoch = wt.full_resyncs + wt.restarts;
            if epoch != wt.epoch {
                // A full sync or restart starts a new history; while the link is down the
                // offset shown may be the placeholder 1, so only a live link's offset counts.
                wt.epoch = epoch;
                wt.high = if v.link_status == Some("up") { v.slave_repl_offset } else { i64::MIN };
            } else if v.link_status == Some("up") && v.slave_repl_offset < wt.high {
                let high = wt.high;
                wt.high = v.slave_repl_offset;
                self.violation(format!(
                    "{} applied offset went back from {high} to {} without a full sync or restart",
                    v.name, v.slave_repl_offset
                ));
                continue;
            }
            // While the link is down the offset may read 1 (no master, no cached master, as
            // Redis's INFO shows it); only the offset of a live link counts.
            if v.link_status == Some("up") {
                let wt = &mut self.watch[i];
                wt.high = wt.high.max(v.slave_repl_offset);
            }
        }
    }

    /// The node an address names, if it is one of the run's.
    fn node_at(&self, port: u16) -> Option<usize> {
        let i = port.checked_sub(BASE_PORT)? as usize;
        (i < self.cfg.nodes).then_some(i)
    }

    /// Where the master is now: what the sentinels say (the one with the newest configuration),
    /// or, for an operator, the end of the replication chain from the last master it set.
    fn current_master(&self) -> usize {
        if self.promotions == Promotions::Sentinels {
            let best =
                (0..self.w.sentinel_count()).filter_map(|j| self.w.sentinel_view(j)).max_by_key(|v| v.config_epoch);
            return best.and_then(|v| self.node_at(v.master_port)).unwrap_or(self.master);
        }
        let mut m = self.master;
        for _ in 0..self.cfg.nodes {
            let next = self.w.is_up(m).then(|| self.w.node(m).master_addr()).flatten();
            match next.and_then(|(_, port)| self.node_at(port)) {
                Some(n) if n != m => m = n,
                _ => break,
            }
        }
        m
    }

    /// REPLICAOF NO ONE on `p`, then REPLICAOF p on every other node that is up.
    fn promote(&mut self, p: usize) -> bool {
        if self.console(p, "REPLICAOF NO ONE") != "OK" {
            return false;
        }
        self.master = p;
        self.repoint_all(p);
        true
    }

    /// Points every node but `m` that is up and not already its replica at `m`; returns how
    /// many it re-pointed.
    fn repoint_all(&mut self, m: usize) -> usize {
        let port = BASE_PORT + m as u16;
        let mut changed = 0;
        for i in 0..self.cfg.nodes {
            let wanted = Some(("127.0.0.1".to_string(), port));
            if i != m && self.w.is_up(i) && self.w.node(i).master_addr() != wanted {
                let line = format!("REPLICAOF 127.0.0.1 {port}");
                let mut reply = self.console(i, &line);
                if reply.contains("not allowed while failing over") {
                    // The operator takes over from a FAILOVER still waiting for its replica.
                    self.console(i, "FAILOVER ABORT");
                    reply = self.console(i, &line);
                }
                if !reply.starts_with("OK") && !reply.is_empty() {
                    self.violation(format!("node {i}: REPLICAOF answered {reply}"));
                }
                changed += 1;
            }
        }
        changed
    }

    fn apply(&mut self, a: Action, log: &mut Vec<String>, writes: &mut u64) {
        let t = self.w.now() / 1000;
        let name = |i: usize| ((b'A' + (i % 26) as u8) as char).to_string();
        match a {
            Action::Write(lines) => {
                let m = self.current_master();
                self.master = m;
                for l in lines {
                    self.console(m, &l);
                    *writes += 1;
                }
            }
            Action::WaitedWrite => {
                self.waited_write();
                *writes += 3;
            }
            Action::Cut(r) => {
                self.w.cut(0, r);
                log.push(format!("{t}ms cut A-{}", name(r)));
            }
            Action::Crash { node: usize::MAX, save } => {
                let m = self.current_master();
                if self.crashed_master.is_none() && self.w.is_up(m) {
                    self.crashed_master = Some(m);
                    self.apply(Action::Crash { node: m, save }, log, writes);
                }
            }
            Action::Restart(usize::MAX) => {
                if let Some(m) = self.crashed_master.take() {
                    self.apply(Action::Restart(m), log, writes);
                }
            }
            Action::Reboot { node, save } => {
                if !self.w.is_up(node) || self.crashed_master == Some(node) {
                    return;
                }
                self.apply(Action::Crash { node, save }, log, writes);
                self.apply(Action::Restart(node), log, writes);
            }
            Action::Promote(p) => {
                let m = self.current_master();
                if p != m && self.w.is_up(p) && !self.w.node(p).is_paused() && self.promote(p) {
                    log.push(format!("{t}ms promote {} (REPLICAOF NO ONE, others REPLICAOF it)", name(p)));
                }
            }
            Action::Failover { timeout_ms, force_to } => {
                let m = self.current_master();
                if self.w.is_up(m) && !self.w.node(m).is_paused() {
                    let to =
                        force_to.map_or(String::new(), |n| format!("TO 127.0.0.1 {} FORCE ", BASE_PORT + n as u16));
                    let line = format!("FAILOVER {to}TIMEOUT {timeout_ms}");
                    let reply = self.console(m, &line);
                    log.push(format!("{t}ms {line} on {}: {reply}", name(m)));
                }
            }
            Action::Partition(groups) => {
                self.w.partition(&groups);
                log.push(format!("{t}ms partition {groups:?}"));
            }
            Action::Heal => {
                self.w.heal();
                log.push(format!("{t}ms heal"));
            }
            Action::Crash { node, save } => {
                if !self.w.is_up(node) {
                    return;
                }
                let saved = save && !self.w.node(node).is_paused() && self.console(node, "SAVE") == "OK";
                if !saved && self.w.node(node).view().role == "master" {
                    self.lost_disks.push((node, self.w.now()));
                }
                self.w.crash(node);
                log.push(format!("{t}ms crash {}{}", name(node), if saved { " after SAVE" } else { "" }));
            }
            Action::Restart(node) => {
                if self.w.is_up(node) {
                    return;
                }
                self.w.restart(node);
                self.watch[node].restarts += 1;
                log.push(format!("{t}ms restart {}", name(node)));
            }
            Action::Pause { node, ms } => {
                if !self.w.is_up(node) {
                    return;
                }
                self.w.pause_node(node, ms);
                log.push(format!("{t}ms pause {} {ms}ms", name(node)));
            }
        }
    }

    /// Every write WAIT acknowledged is on the final master `m`, unless the master that took it
    /// lost it afterwards in one of the two ways Redis allows: it was turned into a replica (of
    /// a node promoted without the write, by an operator, a FAILOVER or the sentinels, which may
    /// pick an old master back from its dump), so a full sync replaced its dataset; or it
    /// crashed without a SAVE, losing its dataset.
    fn check_waited_writes(&mut self, m: usize) {
        let demotions: Vec<(usize, Micros)> = self
            .w
            .trace()
            .iter()
            .filter(|e| matches!(e.what, What::State(Change::Role { to: "slave", .. })))
            .map(|e| (e.node, e.time))
            .collect();
        let acked = self.waited.iter().filter(|ww| ww.acked.is_some_and(|n| n > 0)).cloned().collect::<Vec<_>>();
        self.console(m, "SELECT 0");
        for ww in acked {
            if self.console(m, &format!("EXISTS {}", ww.key)) == "(integer) 1" {
                continue;
            }
            if demotions.iter().chain(&self.lost_disks).any(|&(i, t)| i == ww.node && t >= ww.at) {
                self.waited_lost += 1;
                continue;
            }
            let (t, n, of) = (ww.at / 1000, ww.acked.unwrap_or(0), ww.wanted);
            self.violation(format!(
                "{} written to {} at {t} ms and acknowledged by WAIT ({n} of {of} replicas) is not on the final master, though {} was never turned into a replica nor lost its disk after it",
                ww.key,
                self.w.node(ww.node).view().name,
                self.w.node(ww.node).view().name,
            ));
        }
    }

    /// The replicas' applied offsets, summed: it moves while they catch up.
    fn applied_by_replicas(&self, m: usize) -> i64 {
        (0..self.cfg.nodes)
            .filter(|&i| i != m && self.w.is_up(i))
            .map(|i| self.w.node(i).view().slave_repl_offset)
            .sum()
    }

    /// True when nothing travels between nodes and every other node is a replica up to date
    /// with master `m`: its offset and its replication id. The id matters in a chain: a
    /// sub-replica whose replica just switched ids is at the right offset, its link still up
    /// until the close its replica sent arrives, and only then does it resync to the new id.
    fn quiescent(&self, m: usize) -> bool {
        let node_traffic =
            self.w.in_flight().iter().any(|s| matches!((s.from, s.to), (super::Peer::Node(_), super::Peer::Node(_))));
        if node_traffic || !(0..self.cfg.nodes).all(|i| self.w.is_up(i)) {
            return false;
        }
        let mv = self.w.node(m).view();
        mv.role == "master"
            && (0..self.cfg.nodes).filter(|&i| i != m).all(|i| {
                let v = self.w.node(i).view();
                v.link_status == Some("up") && v.slave_repl_offset == mv.master_repl_offset && v.replid == mv.replid
            })
    }
}

/// Runs one headless run and checks the invariants.
pub fn run(cfg: SweepConfig) -> SweepReport {
    run_with_world(cfg).0
}

/// [`run`], also handing back the world at the end, to read the trace of a failing seed.
pub fn run_with_world(cfg: SweepConfig) -> (SweepReport, World) {
    let nodes = cfg.nodes.max(1);
    let cfg = SweepConfig { nodes, ..cfg };
    let mut g = Gen(ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5357_4545_505f_5246));
    let promotions = if cfg.faults && g.chance(35) { Promotions::Sentinels } else { Promotions::Operator };
    let mut r = Run {
        w: {
            let mut w = World::new(cfg.seed);
            w.record_psync_decisions();
            w
        },
        cfg: cfg.clone(),
        promotions,
        master: 0,
        crashed_master: None,
        watch: vec![Watch::default(); nodes],
        cursor: 0,
        bytes: 0,
        violations: Vec::new(),
        waiters: vec![None; nodes],
        pending: vec![Default::default(); nodes],
        waited: Vec::new(),
        waited_lost: 0,
        lost_disks: Vec::new(),
    };

    // Per-run settings: a small backlog overflows under long partitions (full syncs instead of
    // partial ones), disk-based sync exercises the other transfer path.
    let backlog = ["16kb", "64kb", "1mb"][g.below(3) as usize];
    let diskless = if g.chance(70) { "yes" } else { "no" };
    // Replicas' output buffers: Redis's default, or limits a slow link or a burst can pass.
    let obuf = ["replica 268435456 67108864 60", "replica 64kb 32kb 5", "replica 1mb 0 0"][g.below(3) as usize];
    let mut settings = vec![
        "repl-timeout 5".to_string(),
        "repl-diskless-sync-delay 1".to_string(),
        format!("repl-diskless-sync {diskless}"),
        format!("repl-backlog-size {backlog}"),
        format!("client-output-buffer-limit \"{obuf}\""),
    ];
    settings.sort();
    // Links: from a fast LAN to a slow, distant one.
    let latency = [1_000, 5_000, 20_000][g.below(3) as usize];
    let bandwidth = [10 * 1024 * 1024, 1024 * 1024, 128 * 1024][g.below(3) as usize];
    let jitter = if g.chance(50) { latency / 2 } else { 0 };
    r.w.set_link_params(super::LinkParams { latency, bandwidth, jitter });
    for i in 0..nodes {
        r.w.add_node();
        for s in &settings {
            let reply = r.console(i, &format!("CONFIG SET {s}"));
            if reply != "OK" {
                r.violation(format!("node {i}: CONFIG SET {s} answered {reply}"));
            }
        }
    }
    settings.push(format!("links {} ms ± {} µs, {} KB/s", latency / 1000, jitter, bandwidth / 1024));
    for i in 1..nodes {
        let reply = r.console(i, "REPLICAOF 127.0.0.1 6379");
        if reply != "OK" {
            r.violation(format!("node {i}: REPLICAOF answered {reply}"));
        }
    }
    if promotions == Promotions::Sentinels && nodes > 1 {
        let down_after = [2_000, 3_000, 5_000][g.below(3) as usize];
        let scfg =
            SentinelConfig { quorum: 2, down_after_ms: down_after, failover_timeout_ms: 10_000, ..Default::default() };
        for _ in 0..3 {
            r.w.add_sentinel(0, scfg.clone());
        }
        settings.push(format!("3 sentinels, quorum 2, down-after {down_after} ms, failover-timeout 10 s"));
    }

    // The schedule: writes at random times, then the faults.
    let end = cfg.virtual_secs * 1_000_000;
    let mut plan: Vec<(Micros, Action)> = Vec::new();
    for _ in 0..cfg.writes_per_sec.saturating_mul(cfg.virtual_secs) {
        let at = g.below(end.max(1));
        let a = if g.chance(3) { Action::WaitedWrite } else { Action::Write(write(&mut g)) };
        plan.push((at, a));
    }
    if cfg.faults {
        faults(&mut g, nodes, end, promotions, &mut plan);
    }
    plan.sort_by_key(|(t, _)| *t); // stable: equal times keep their drawing order

    let mut log = Vec::new();
    let mut writes = 0;
    let mut plan = plan.into_iter().peekable();
    let mut t = 0;
    while t < end {
        t += SAMPLE;
        while let Some((at, _)) = plan.peek() {
            if *at > t {
                break;
            }
            let Some((at, a)) = plan.next() else { break };
            r.w.run_until(at);
            r.apply(a, &mut log, &mut writes);
        }
        r.w.run_until(t);
        r.sample();
        r.check_psync_rule();
    }

    // Heal everything, restart whatever is down, let the operator (or the sentinels) point
    // every node at one master, wait for quiescence.
    r.w.heal();
    for i in 0..nodes {
        if !r.w.is_up(i) {
            r.w.restart(i);
            r.watch[i].restarts += 1;
            log.push(format!("{}ms restart {} (end)", r.w.now() / 1000, r.w.node(i).name()));
        }
    }
    if r.promotions == Promotions::Operator {
        // Let a FAILOVER under way finish (or time out) first.
        r.w.run_until(end + 6_000_000);
        let m = r.current_master();
        let changed = if r.w.node(m).view().role != "master" { r.promote(m) } else { r.repoint_all(m) > 0 };
        if changed {
            log.push(format!("{}ms operator points every node at {}", r.w.now() / 1000, r.w.node(m).name()));
        }
    }
    let mut quiesced = None;
    let mut waited = r.w.now() - end;
    let mut m = r.current_master();
    let (mut applied, mut progress_at) = (r.applied_by_replicas(m), waited);
    while waited - progress_at <= QUIESCE_STALL && waited <= QUIESCE_CAP {
        r.w.run_until((end + waited).max(r.w.now()));
        r.sample();
        m = r.current_master();
        if r.quiescent(m) {
            quiesced = Some(waited / 1000);
            break;
        }
        let now_applied = r.applied_by_replicas(m);
        if now_applied != applied {
            (applied, progress_at) = (now_applied, waited);
        }
        waited += SAMPLE;
    }
    r.check_psync_rule();
    for i in 0..nodes {
        r.take_waiter_replies(i);
    }

    // Final invariants.
    let master = m;
    r.check_waited_writes(master);
    let m = r.w.node(master).view();
    let master_digest = r.w.node(master).digest();
    if quiesced.is_none() {
        let states: Vec<String> = (0..nodes)
            .filter(|&i| i != master)
            .map(|i| {
                let v = r.w.node(i).view();
                format!("{} {} {} offset {}", v.name, v.repl_state, v.link_status.unwrap_or("-"), v.slave_repl_offset)
            })
            .collect();
        let flying = r.w.in_flight().len();
        r.violation(format!(
            "no quiescence ({} s after the run, the last {} s without a byte applied): master {} ({}) offset {}, {}, {flying} segments in flight",
            waited / 1_000_000,
            (waited - progress_at) / 1_000_000,
            m.name,
            m.role,
            m.master_repl_offset,
            states.join(", ")
        ));
    }
    for i in (0..nodes).filter(|&i| i != master) {
        let v = r.w.node(i).view();
        if v.slave_repl_offset != m.master_repl_offset {
            r.violation(format!("{} offset {} != master's {}", v.name, v.slave_repl_offset, m.master_repl_offset));
        }
        if v.replid != m.replid {
            r.violation(format!("{} replid {} != master's {}", v.name, v.replid, m.replid));
        }
        let d = r.w.node(i).digest();
        if d != master_digest {
            r.violation(format!("{} digest {d} != master's {master_digest}", v.name));
        }
    }

    let mut reports = Vec::new();
    for i in 0..nodes {
        let info = r.console(i, "INFO stats");
        let v = r.w.node(i).view();
        let wt = &r.watch[i];
        reports.push(NodeReport {
            index: i,
            name: v.name.clone(),
            role: v.role.to_string(),
            sync_full: stat(&info, "sync_full"),
            sync_partial_ok: stat(&info, "sync_partial_ok"),
            sync_partial_err: stat(&info, "sync_partial_err"),
            full_resyncs_received: wt.full_resyncs,
            partial_resyncs_received: wt.partial_resyncs,
            restarts: wt.restarts,
            master_repl_offset: v.master_repl_offset,
            slave_repl_offset: v.slave_repl_offset,
            link: v.link_status.unwrap_or("-").to_string(),
            keys: v.dbsize,
            digest: r.w.node(i).digest(),
            max_histlen: wt.max_histlen,
        });
    }
    r.scan_trace();
    let report = SweepReport {
        config: cfg,
        settings,
        writes,
        faults: log,
        bytes_moved: r.bytes,
        promotions: r
            .w
            .trace()
            .iter()
            .filter(|e| matches!(e.what, What::State(Change::Role { from: "slave", to: "master" })))
            .count() as u64,
        sentinel_failovers: r
            .w
            .trace()
            .iter()
            .filter(|e| matches!(&e.what, What::Sentinel { text, .. } if text.starts_with("+failover-end ")))
            .count() as u64,
        waited_writes: (
            r.waited.len() as u64,
            r.waited.iter().filter(|ww| ww.acked.is_some_and(|n| n > 0)).count() as u64,
            r.waited_lost,
        ),
        quiesced_after_ms: quiesced,
        end_ms: r.w.now() / 1000,
        nodes: reports,
        trace_events: r.w.trace().len(),
        trace_digest: r.w.trace_digest(),
        violations: r.violations,
    };
    (report, r.w)
}

impl fmt::Display for SweepReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "seed {}  nodes {}  virtual {} s  faults {}  writes/s {}",
            c.seed,
            c.nodes,
            c.virtual_secs,
            if c.faults { "random" } else { "none" },
            c.writes_per_sec
        )?;
        writeln!(f, "settings: {}", self.settings.join(", "))?;
        writeln!(f, "commands sent: {}   faults injected: {}", self.writes, self.faults.len())?;
        for x in &self.faults {
            writeln!(f, "  {x}")?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<5} {:<6} {:>9} {:>15} {:>16} {:>9} {:>9} {:>8} {:>12} {:>12} {:<4} {:>5} {:>11}  digest",
            "node",
            "role",
            "sync_full",
            "sync_partial_ok",
            "sync_partial_err",
            "full_recv",
            "psync_ok",
            "restarts",
            "master_off",
            "slave_off",
            "link",
            "keys",
            "max_histlen"
        )?;
        for n in &self.nodes {
            writeln!(
                f,
                "{:<5} {:<6} {:>9} {:>15} {:>16} {:>9} {:>9} {:>8} {:>12} {:>12} {:<4} {:>5} {:>11}  {}",
                n.name,
                n.role,
                n.sync_full,
                n.sync_partial_ok,
                n.sync_partial_err,
                n.full_resyncs_received,
                n.partial_resyncs_received,
                n.restarts,
                n.master_repl_offset,
                n.slave_repl_offset,
                n.link,
                n.keys,
                n.max_histlen,
                n.digest
            )?;
        }
        writeln!(f)?;
        writeln!(f, "bytes moved between nodes: {}", self.bytes_moved)?;
        writeln!(f, "promotions: {}, of which sentinel failovers: {}", self.promotions, self.sentinel_failovers)?;
        let (waited, acked, lost) = self.waited_writes;
        writeln!(
            f,
            "writes followed by WAIT: {waited}, acknowledged by a replica: {acked}, lost to a demotion or a lost disk: {lost}"
        )?;
        match self.quiesced_after_ms {
            Some(ms) => writeln!(f, "quiescent {ms} ms after healing (virtual end {} ms)", self.end_ms)?,
            None => writeln!(f, "NOT quiescent (virtual end {} ms)", self.end_ms)?,
        }
        writeln!(f, "trace: {} events, digest {}", self.trace_events, self.trace_digest)?;
        if self.violations.is_empty() {
            writeln!(f, "invariants: all hold")
        } else {
            writeln!(f, "VIOLATIONS ({}):", self.violations.len())?;
            for v in &self.violations {
                writeln!(f, "  {v}")?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_reads_info_fields() {
        let info = "# Stats\nsync_full:3\nsync_partial_ok:2";
        assert_eq!(stat(info, "sync_full"), 3);
        assert_eq!(stat(info, "sync_partial_ok"), 2);
        assert_eq!(stat(info, "sync_partial_err"), 0);
    }
}
