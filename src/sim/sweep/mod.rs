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

mod faults;
mod invariants;
mod workload;

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

/// Runs one headless run and checks the invariants.
pub fn run(cfg: SweepConfig) -> SweepReport {
    run_with_world(cfg).0
}

/// [`run`], also handing back the world at the end, to read the trace of a failing seed.
pub fn run_with_world(cfg: SweepConfig) -> (SweepReport, World) {
    let cfg = SweepConfig { nodes: cfg.nodes.max(1), ..cfg };
    let mut g = Gen(ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5357_4545_505f_5246));
    let promotions = if cfg.faults && g.chance(35) { Promotions::Sentinels } else { Promotions::Operator };
    let (mut r, settings) = Run::set_up(&cfg, promotions, &mut g);
    let end = cfg.virtual_secs * 1_000_000;
    let plan = plan(&cfg, promotions, end, &mut g);
    let (mut log, writes) = r.drive(plan, end);
    let (master, quiet) = r.heal_and_quiesce(end, &mut log);
    r.check_end(master, quiet);
    let report = r.report(settings, writes, log, quiet.quiesced_after_ms);
    (report, r.w)
}

/// How the wait for quiescence after the run ended.
#[derive(Clone, Copy, Debug)]
struct Quiet {
    /// Virtual ms after the end of the run at which the world was quiescent, if it was.
    quiesced_after_ms: Option<u64>,
    /// How long it waited, and when a replica last applied a byte (µs after the end).
    waited: Micros,
    progress_at: Micros,
}

/// The schedule: writes at random times, then the faults, in time order (equal times keep
/// their drawing order).
fn plan(cfg: &SweepConfig, promotions: Promotions, end: Micros, g: &mut Gen) -> Vec<(Micros, Action)> {
    let mut plan: Vec<(Micros, Action)> = Vec::new();
    for _ in 0..cfg.writes_per_sec.saturating_mul(cfg.virtual_secs) {
        let at = g.below(end.max(1));
        let a = if g.chance(3) { Action::WaitedWrite } else { Action::Write(workload::write(g)) };
        plan.push((at, a));
    }
    if cfg.faults {
        faults::schedule(g, cfg.nodes, end, promotions, &mut plan);
    }
    plan.sort_by_key(|(t, _)| *t);
    plan
}

impl Run {
    /// The world of one run: its nodes with the run's settings (drawn from `g`), every other
    /// node a replica of the first, and the sentinels in a sentinel run. Returns the settings
    /// as the report lists them.
    fn set_up(cfg: &SweepConfig, promotions: Promotions, g: &mut Gen) -> (Run, Vec<String>) {
        let nodes = cfg.nodes;
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

        // A small backlog overflows under long partitions (full syncs instead of partial ones),
        // disk-based sync exercises the other transfer path.
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
            let scfg = SentinelConfig {
                quorum: 2,
                down_after_ms: down_after,
                failover_timeout_ms: 10_000,
                ..Default::default()
            };
            for _ in 0..3 {
                r.w.add_sentinel(0, scfg.clone());
            }
            settings.push(format!("3 sentinels, quorum 2, down-after {down_after} ms, failover-timeout 10 s"));
        }
        (r, settings)
    }

    /// Runs the plan to `end`, sampling every 100 ms; returns the fault log and the writes sent.
    fn drive(&mut self, plan: Vec<(Micros, Action)>, end: Micros) -> (Vec<String>, u64) {
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
                self.w.run_until(at);
                self.apply(a, &mut log, &mut writes);
            }
            self.w.run_until(t);
            self.sample();
            self.check_psync_rule();
        }
        (log, writes)
    }

    /// Heals everything, restarts whatever is down, lets the operator (or the sentinels) point
    /// every node at one master, and waits for quiescence while the replicas make progress.
    /// Returns the final master.
    fn heal_and_quiesce(&mut self, end: Micros, log: &mut Vec<String>) -> (usize, Quiet) {
        self.w.heal();
        for i in 0..self.cfg.nodes {
            if !self.w.is_up(i) {
                self.w.restart(i);
                self.watch[i].restarts += 1;
                log.push(format!("{}ms restart {} (end)", self.w.now() / 1000, self.w.node(i).name()));
            }
        }
        if self.promotions == Promotions::Operator {
            // Let a FAILOVER under way finish (or time out) first.
            self.w.run_until(end + 6_000_000);
            let m = self.current_master();
            let changed =
                if self.w.node(m).view().role != "master" { self.promote(m) } else { self.repoint_all(m) > 0 };
            if changed {
                log.push(format!("{}ms operator points every node at {}", self.w.now() / 1000, self.w.node(m).name()));
            }
        }
        let mut quiet = Quiet { quiesced_after_ms: None, waited: self.w.now() - end, progress_at: 0 };
        quiet.progress_at = quiet.waited;
        let mut m = self.current_master();
        let mut applied = self.applied_by_replicas(m);
        while quiet.waited - quiet.progress_at <= QUIESCE_STALL && quiet.waited <= QUIESCE_CAP {
            self.w.run_until((end + quiet.waited).max(self.w.now()));
            self.sample();
            m = self.current_master();
            if self.quiescent(m) {
                quiet.quiesced_after_ms = Some(quiet.waited / 1000);
                break;
            }
            let now_applied = self.applied_by_replicas(m);
            if now_applied != applied {
                (applied, quiet.progress_at) = (now_applied, quiet.waited);
            }
            quiet.waited += SAMPLE;
        }
        self.check_psync_rule();
        for i in 0..self.cfg.nodes {
            self.take_waiter_replies(i);
        }
        (m, quiet)
    }

    /// The run's report: each node's counters, then the last scan of the trace for stream
    /// errors (the INFO calls included), then the totals.
    fn report(&mut self, settings: Vec<String>, writes: u64, log: Vec<String>, quiesced: Option<u64>) -> SweepReport {
        let mut reports = Vec::new();
        for i in 0..self.cfg.nodes {
            let info = self.console(i, "INFO stats");
            let v = self.w.node(i).view();
            let wt = &self.watch[i];
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
                digest: self.w.node(i).digest(),
                max_histlen: wt.max_histlen,
            });
        }
        self.scan_trace();
        let count = |f: &dyn Fn(&What) -> bool| self.w.trace().iter().filter(|e| f(&e.what)).count() as u64;
        SweepReport {
            config: self.cfg.clone(),
            settings,
            writes,
            faults: log,
            bytes_moved: self.bytes,
            promotions: count(&|w| matches!(w, What::State(Change::Role { from: "slave", to: "master" }))),
            sentinel_failovers: count(
                &|w| matches!(w, What::Sentinel { text, .. } if text.starts_with("+failover-end ")),
            ),
            waited_writes: (
                self.waited.len() as u64,
                self.waited.iter().filter(|ww| ww.acked.is_some_and(|n| n > 0)).count() as u64,
                self.waited_lost,
            ),
            quiesced_after_ms: quiesced,
            end_ms: self.w.now() / 1000,
            nodes: reports,
            trace_events: self.w.trace().len(),
            trace_digest: self.w.trace_digest(),
            violations: std::mem::take(&mut self.violations),
        }
    }
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
