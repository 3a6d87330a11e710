//! What a learner sees of a node: the snapshot the page draws ([`NodeView`]), the part whose
//! changes go into the trace ([`LearnerState`], [`Change`]), and the timers a learner waits on
//! ([`Timer`]).
//!
//! Everything here reads the node and changes nothing; the page, the trace and the tests all see
//! the node through these views, so none of them needs to know how the node is laid out inside.

use super::{Micros, Node};
use crate::node::replication::{ReplState, SlaveState};

/// The part of a node's state whose changes the trace reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LearnerState {
    /// `master` or `slave`.
    pub role: &'static str,
    /// ROLE's replica state, or `none`.
    pub repl_state: &'static str,
    /// `master_replid`.
    pub replid: String,
    /// Each replica's listening port and state.
    pub replicas: Vec<(u16, &'static str)>,
    /// Whether a backlog exists.
    pub backlog: bool,
}

impl LearnerState {
    /// What changed from `before` to `self`.
    pub fn changes_from(&self, before: &LearnerState) -> Vec<Change> {
        let mut out = Vec::new();
        if self.role != before.role && !before.role.is_empty() {
            out.push(Change::Role { from: before.role, to: self.role });
        }
        if self.repl_state != before.repl_state && self.repl_state != "none" {
            out.push(Change::ReplState { from: before.repl_state, to: self.repl_state });
        }
        if self.replid != before.replid && !before.replid.is_empty() {
            out.push(Change::Replid { from: before.replid.clone(), to: self.replid.clone() });
        }
        if self.backlog != before.backlog {
            out.push(if self.backlog { Change::BacklogCreated } else { Change::BacklogFreed });
        }
        for (port, state) in &self.replicas {
            let old = before.replicas.iter().find(|r| r.0 == *port).map(|r| r.1);
            if old != Some(*state) {
                out.push(Change::Replica { port: *port, from: old, to: state });
            }
        }
        for (port, _) in before.replicas.iter().filter(|r| !self.replicas.iter().any(|n| n.0 == r.0)) {
            out.push(Change::ReplicaGone { port: *port });
        }
        out
    }
}

/// A change in what a learner watches on one node, as its master or as a replica.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "change", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Change {
    /// `role:` went from `from` to `to` (`master` or `slave`).
    Role { from: &'static str, to: &'static str },
    /// The replica-side state as ROLE prints it (`connect`, `connecting`, `handshake`, `sync`,
    /// `connected`).
    ReplState { from: &'static str, to: &'static str },
    /// `master_replid` changed.
    Replid { from: String, to: String },
    /// The replication backlog was created (the first replica attached).
    BacklogCreated,
    /// The replication backlog was freed (`repl-backlog-ttl` after the last replica left).
    BacklogFreed,
    /// A replica's state as this master lists it: the `state=` of INFO's `slaveN` line
    /// (`wait_bgsave`, `send_bulk`, `online`), `from` None when the replica is new.
    Replica { port: u16, from: Option<&'static str>, to: &'static str },
    /// A replica is no longer listed.
    ReplicaGone { port: u16 },
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = |id: &str| id.get(..8).unwrap_or(id).to_string();
        let text = match self {
            Change::Role { from, to } => format!("role {from} → {to}"),
            Change::ReplState { from, to } => format!("replication state {from} → {to}"),
            Change::Replid { from, to } => format!("replication id {} → {}", short(from), short(to)),
            Change::BacklogCreated => "backlog created".into(),
            Change::BacklogFreed => "backlog freed".into(),
            Change::Replica { port, from, to } => format!("replica :{port} {} → {to}", from.unwrap_or("(new)")),
            Change::ReplicaGone { port } => format!("replica :{port} gone"),
        };
        f.write_str(&text)
    }
}

/// A replica as its master lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaView {
    /// Peer ip.
    pub ip: String,
    /// `REPLCONF listening-port`.
    pub port: u16,
    /// `wait_bgsave`, `send_bulk` or `online`.
    pub state: &'static str,
    /// Last ACKed offset.
    pub offset: i64,
    /// Seconds since the last ACK.
    pub lag: u64,
    /// The state as Redis's `replstate` names it: `wait_bgsave_start`, `wait_bgsave_end`,
    /// `send_bulk` or `online` (INFO folds the first two into `wait_bgsave`).
    pub phase: &'static str,
    /// After a diskless transfer the master marks the replica online at once, but streams to it
    /// only after its first `REPLCONF ACK` (the RDB may still be on its way).
    pub awaiting_first_ack: bool,
    /// Bytes of the replication buffer this replica still has to be sent (what
    /// `client-output-buffer-limit replica` is checked against).
    pub output_buffer: u64,
    /// The stream offset of the next byte to send it; during a full sync, the fork-time offset
    /// of `+FULLRESYNC` plus one (the writes since wait in the buffer from there).
    pub cursor: Option<i64>,
    /// The connection it is on (the simulator finds the node at the other end).
    #[serde(skip)]
    pub conn: crate::node::ConnId,
    /// The node at the other end, when the node runs in the simulator (set by it).
    pub node: Option<usize>,
}

/// The shared replication buffer of Redis 7 (REDIS-REPLICATION.md §4.3): one list of blocks that
/// holds the backlog and what every replica has still to be sent.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BufferView {
    /// `(offset of the first byte, bytes used, bytes allocated)` per block, oldest first.
    pub blocks: Vec<(i64, usize, usize)>,
    /// The offset of the last byte held.
    pub end: i64,
}

/// The backlog as INFO shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BacklogView {
    /// `repl_backlog_active`
    pub active: bool,
    /// `repl_backlog_size`
    pub size: usize,
    /// `repl_backlog_first_byte_offset`
    pub first_byte: i64,
    /// `repl_backlog_histlen`
    pub histlen: i64,
}

/// A running BGSAVE child.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChildView {
    /// Bytes produced so far.
    pub produced: usize,
    /// Size of the whole RDB.
    pub total: usize,
    /// `disk` or `socket`.
    pub target: &'static str,
}

/// A coarse snapshot of one node for the page: what INFO replication and ROLE would show.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeView {
    /// Node index in the world (set by the caller).
    pub index: usize,
    /// Display name.
    pub name: String,
    /// Listening host.
    pub host: String,
    /// Listening port.
    pub port: u16,
    /// `master` or `slave`.
    pub role: &'static str,
    /// `master_replid`
    pub replid: String,
    /// `master_replid2`
    pub replid2: String,
    /// `master_repl_offset`
    pub master_repl_offset: i64,
    /// `second_repl_offset`
    pub second_repl_offset: i64,
    /// Keys in db 0..15.
    pub dbsize: usize,
    /// The configured master, if a replica.
    pub master_host: Option<String>,
    /// Its port (0 if none).
    pub master_port: u16,
    /// ROLE's state string, or `none`.
    pub repl_state: &'static str,
    /// `up`/`down`, or None for a master.
    pub link_status: Option<&'static str>,
    /// `slave_repl_offset`
    pub slave_repl_offset: i64,
    /// `slave_read_repl_offset`
    pub slave_read_repl_offset: i64,
    /// Payload bytes received in TRANSFER.
    pub sync_read_bytes: i64,
    /// Payload size, -1 when unknown (EOF-marked).
    pub sync_total_bytes: i64,
    /// Replicas, in attach order.
    pub replicas: Vec<ReplicaView>,
    /// The backlog.
    pub backlog: BacklogView,
    /// The shared replication buffer's blocks, while there is a backlog.
    pub buffer: Option<BufferView>,
    /// `loading` and `async_loading` of INFO persistence (a replica loading the RDB from the
    /// socket as it arrives, with `repl-diskless-load` on-empty-db or swapdb).
    pub loading: (bool, bool),
    /// While a replica receives an RDB: `eof` for the diskless `$EOF:<mark>` framing, `len` for
    /// the disk `$<len>` one, None before the payload's first line.
    pub sync_framing: Option<&'static str>,
    /// The BGSAVE child.
    pub rdb_child: Option<ChildView>,
    /// `client-output-buffer-limit replica`: hard and soft limits in bytes (0: none) and the
    /// soft limit's seconds, the hard limit never below `repl-backlog-size`.
    pub output_buffer_limit: (u64, u64, u64),
    /// Timers running on the node that a learner may be waiting for.
    pub timers: Vec<Timer>,
}

/// What a timer is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TimerKind {
    /// A master holds replicas in `wait_bgsave_start` for `repl-diskless-sync-delay` so that
    /// more can share one diskless transfer.
    DisklessDelay,
    /// A replica gives up connecting or handshaking after `repl-timeout` without a reply.
    ConnectTimeout,
    /// A replica gives up a transfer after `repl-timeout` without payload bytes.
    TransferTimeout,
    /// A replica drops its master after `repl-timeout` without data or PING.
    MasterTimeout,
    /// A master drops an online replica after `repl-timeout` without a `REPLCONF ACK`.
    ReplicaTimeout,
    /// A replica over the soft `client-output-buffer-limit` is dropped once over it this long.
    SoftLimit,
    /// A master without replicas frees its backlog after `repl-backlog-ttl`.
    BacklogTtl,
    /// A paused node (SIGSTOP, DEBUG SLEEP) resumes.
    Pause,
    /// SHUTDOWN stops waiting for lagging replicas (`shutdown-timeout`).
    Shutdown,
    /// FAILOVER gives up (or, with FORCE, fails over anyway).
    Failover,
    /// A sentinel marks the master subjectively down (`+sdown`) after `down-after-milliseconds`
    /// without a valid reply to its PING.
    DownAfter,
    /// A sentinel's failover gives up after `failover-timeout`.
    FailoverTimeout,
}

/// A timer running on a node: what it waits for, since when and until when (virtual µs).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timer {
    /// What it is.
    pub kind: TimerKind,
    /// When it started counting, where the node knows it.
    #[serde(rename = "sinceUs")]
    pub since: Option<Micros>,
    /// When it fires. Redis checks second-resolution timeouts in its 1 Hz cron, so those fire
    /// at the first check after this time.
    #[serde(rename = "deadlineUs")]
    pub deadline: Micros,
    /// The replica it concerns (its listening port), for the master's per-replica timers.
    pub replica_port: Option<u16>,
}

impl Node {
    /// What a learner should see change, for the trace: the role, the replica-side state, the
    /// replication id, and each replica's state as this node sees it.
    pub fn learner_state(&self) -> LearnerState {
        LearnerState {
            role: if self.master.is_some() { "slave" } else { "master" },
            repl_state: self.master.as_ref().map_or("none", |l| l.state.role_name()),
            replid: self.replid.clone(),
            replicas: self.replica_rows().into_iter().map(|r| (r.1, r.2.info_name())).collect(),
            backlog: self.backlog.is_some(),
        }
    }

    /// A snapshot for the page.
    pub fn view(&self) -> NodeView {
        let link = self.master.as_ref();
        let offsets =
            link.and_then(|l| l.client.as_ref().or(l.cached.as_ref())).map_or((1, 1), |c| (c.reploff, c.read_reploff));
        let transfer = link.and_then(|l| l.transfer.as_ref());
        NodeView {
            index: 0,
            name: self.cfg.name.clone(),
            host: self.cfg.host.clone(),
            port: self.cfg.port,
            role: if link.is_some() { "slave" } else { "master" },
            replid: self.replid.clone(),
            replid2: self.replid2.clone(),
            master_repl_offset: self.master_repl_offset,
            second_repl_offset: self.second_replid_offset,
            dbsize: self.keyspace.total_keys(),
            master_host: link.map(|l| l.host.clone()),
            master_port: link.map_or(0, |l| l.port),
            repl_state: link.map_or("none", |l| l.state.role_name()),
            link_status: link.map(|l| if l.state == ReplState::Connected { "up" } else { "down" }),
            slave_repl_offset: offsets.0,
            slave_read_repl_offset: offsets.1,
            sync_read_bytes: transfer.map_or(0, |t| t.data.len() as i64),
            sync_total_bytes: transfer.and_then(|t| t.size).map_or(-1, |s| s as i64),
            replicas: self.replica_views(),
            backlog: match &self.backlog {
                Some(b) => {
                    BacklogView { active: true, size: b.size(), first_byte: b.first_byte(), histlen: b.histlen() }
                }
                None => BacklogView { active: false, size: self.cfg.repl.backlog_size, first_byte: 0, histlen: 0 },
            },
            buffer: self.backlog.as_ref().map(|b| BufferView { blocks: b.blocks().collect(), end: b.end() }),
            loading: self.loading_flags(),
            sync_framing: transfer.and_then(|t| match (&t.mark, t.size) {
                (Some(_), _) => Some("eof"),
                (None, Some(_)) => Some("len"),
                (None, None) => None,
            }),
            rdb_child: self.child.as_ref().map(|c| {
                let (produced, total) = c.progress();
                let target =
                    if c.target == crate::node::replication::master::ChildTarget::Disk { "disk" } else { "socket" };
                ChildView { produced, total, target }
            }),
            output_buffer_limit: self.replica_buffer_limits(),
            timers: self.timers(),
        }
    }

    fn replica_views(&self) -> Vec<ReplicaView> {
        self.replica_peers()
            .map(|(c, conn, p)| ReplicaView {
                ip: crate::node::replication::master::replica_ip(conn).to_string(),
                port: conn.listening_port,
                state: p.state.info_name(),
                offset: p.ack_off,
                lag: self.replica_lag(p),
                phase: p.state.redis_name(),
                awaiting_first_ack: p.stream_on_ack,
                output_buffer: self.replica_output_buffer(c),
                cursor: p.cursor,
                conn: c,
                node: None,
            })
            .collect()
    }

    /// The timers running now, soonest first.
    pub fn timers(&self) -> Vec<Timer> {
        let secs = |s: u64| s.saturating_mul(1_000_000);
        // Redis's `time(NULL) - t > timeout` on whole seconds: true from the second after.
        let after = |t: Micros, timeout: u64| (t / 1_000_000 + timeout + 1).saturating_mul(1_000_000);
        let timer =
            |kind, since: Micros, deadline, replica_port| Timer { kind, since: Some(since), deadline, replica_port };
        let until = |kind, deadline| Timer { kind, since: None, deadline, replica_port: None };
        let r = &self.cfg.repl;
        let mut out = Vec::new();
        if let Some(until_t) = self.paused_until {
            out.push(until(TimerKind::Pause, until_t));
        }
        if let Some(l) = &self.master {
            let t = r.timeout;
            match l.state {
                ReplState::None | ReplState::Connect => {}
                ReplState::Transfer => {
                    out.push(timer(TimerKind::TransferTimeout, l.last_io, after(l.last_io, t), None))
                }
                ReplState::Connected => {
                    if let Some(c) = &l.client {
                        out.push(timer(
                            TimerKind::MasterTimeout,
                            c.last_interaction,
                            after(c.last_interaction, t),
                            None,
                        ));
                    }
                }
                _ => out.push(timer(TimerKind::ConnectTimeout, l.last_io, after(l.last_io, t), None)),
            }
        }
        let (_, soft, soft_secs) = self.replica_buffer_limits();
        let mut oldest_waiting = None::<Micros>;
        for &c in &self.serving.replicas {
            let (Some(conn), Some(p)) = (self.conns.get(&c), self.peer(c)) else {
                continue;
            };
            let port = Some(conn.listening_port);
            if p.state == SlaveState::WaitBgsaveStart {
                oldest_waiting = Some(oldest_waiting.map_or(p.wait_since, |o| o.min(p.wait_since)));
            }
            if p.state == SlaveState::Online && !p.pre_psync {
                out.push(timer(TimerKind::ReplicaTimeout, p.ack_time, after(p.ack_time, r.timeout), port));
            }
            if let (Some(since), true) = (p.soft_since, soft > 0) {
                out.push(timer(TimerKind::SoftLimit, since, after(since, soft_secs), port));
            }
        }
        if let (Some(oldest), None, true) = (oldest_waiting, &self.child, r.diskless_sync) {
            out.push(timer(TimerKind::DisklessDelay, oldest, oldest + secs(r.diskless_sync_delay), None));
        }
        if self.master.is_none() && self.serving.replicas.is_empty() && self.backlog.is_some() && r.backlog_ttl > 0 {
            let since = self.serving.no_replicas_since;
            out.push(timer(TimerKind::BacklogTtl, since, since + secs(r.backlog_ttl), None));
        }
        if let Some(s) = &self.shutdown {
            out.push(until(TimerKind::Shutdown, s.deadline));
        }
        if let Some(deadline) = self.failover.as_ref().and_then(|f| f.deadline) {
            out.push(until(TimerKind::Failover, deadline));
        }
        out.sort_by_key(|t| t.deadline);
        out
    }
}
