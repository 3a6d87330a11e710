//! One Redis server as a sans-IO state machine.
//!
//! In the manner of quinn-proto and str0m, the node performs no I/O and reads no clock. Inputs are
//! pushed in with the current virtual time (a connection accepted or established, bytes arrived,
//! a connection closed, time passing), and everything the node wants done is polled out as one
//! [`Output`]: bytes to send on a connection, a connection to open or close, `dump.rdb` to
//! write, the end of a SHUTDOWN, a note for the learner; log lines come out beside.
//! [`Node::next_deadline`] says when the node next wants [`Node::tick`]. The node never knows
//! whether it runs in the simulator or behind real sockets; the same code serves both.
//!
//! This file holds the node's state, its inputs and outputs; `conn.rs` its connections and
//! their buffers and limits, `query.rs` query processing, `cron.rs` its timers and DEBUG SLEEP,
//! `view.rs` what a learner sees of it, `browse.rs` paging through its keys; `commands/` its
//! command table and the commands that act on the node itself, `replication/` both sides of
//! the protocol and the backlog, each as `impl Node` blocks of their own.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use crate::keyspace::Keyspace;
use crate::node::replication::backlog::Backlog;
use crate::node::replication::master::{MasterSide, RdbChild, ReplicaPeer};
use crate::node::replication::replica::MasterLink;
use crate::node::replication::{random_hex40, ReplConfig, NULL_REPLID};
use crate::resp::{parse_command_resuming, Frame, Parsed, RequestLimits, RequestProgress};
use commands::Ctx;

mod browse;
pub mod commands;
mod conn;
mod cron;
mod query;
pub mod replication;
mod view;
pub use browse::{KeyEntry, KeyPage};
pub use view::{BacklogView, BufferView, Change, ChildView, LearnerState, NodeView, ReplicaView, Timer, TimerKind};

/// A connection, numbered by the node that owns it.
pub type ConnId = u64;

/// Virtual time in microseconds since the start of the run.
pub type Micros = u64;

/// The unix time (ms) that virtual time 0 stands for in the simulator: 2026-01-01T00:00:00Z. Absolute expiry times,
/// `ctime` and `TIME` are reckoned from it.
pub const EPOCH_UNIX_MS: i64 = 1_767_225_600_000;

/// Something the node asks its environment to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Write bytes to a connection.
    Send {
        /// The connection.
        conn: ConnId,
        /// The bytes, in stream order.
        data: Vec<u8>,
        /// The replication offset of the first byte, when the bytes are a master's replication
        /// stream to a replica (what the page places on the stream's offset axis).
        offset: Option<i64>,
    },
    /// Open a connection to `host:port`; answer with [`Node::connected`] or [`Node::connect_failed`].
    Connect {
        /// The id the node gave the new connection.
        conn: ConnId,
        /// Target host.
        host: String,
        /// Target port.
        port: u16,
    },
    /// Close a connection (after writing what was already sent).
    Close {
        /// The connection.
        conn: ConnId,
    },
    /// Something a learner should be told that Redis itself does not log (the simulator puts it
    /// in the trace; a real server has no one to tell).
    Note(Note),
    /// Write `data` as `dump.rdb` (a SAVE, a BGSAVE or disk-based sync that finished, the final
    /// save of a SHUTDOWN); answer with [`Node::persisted`]. `last` marks the final save: the
    /// node exits or cancels its SHUTDOWN on the answer.
    Persist {
        /// The whole file (shared with the node's own copy, [`Node::disk`]).
        data: Arc<[u8]>,
        /// The final save before exiting.
        last: bool,
    },
    /// The node has shut down (SHUTDOWN finished): the environment flushes what it was asked to
    /// send and ends the process. Nothing follows.
    Exit,
}

/// The environment's answer to an [`Output::Persist`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Persisted {
    /// The file is written.
    Written,
    /// Writing it failed, for this reason.
    Failed(String),
    /// The environment keeps no files (the native server without `--dir`).
    Discarded,
}

/// What [`Output::Note`] tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// A master answered a `PSYNC`: what was asked, what it held, and its verdict.
    Psync(Box<crate::node::replication::master::PsyncDecision>),
    /// A write (or the master's in-stream PING, or a SELECT it inserted) entered the replication
    /// stream at offsets `start..=end`, in database `db`.
    Propagated {
        /// The command, as the wire view labels it.
        label: String,
        /// Its database.
        db: usize,
        /// Offset of its first byte.
        start: i64,
        /// Offset of its last byte.
        end: i64,
    },
    /// A command changed the dataset without being propagated (`DEBUG POPULATE`): `replicas`
    /// connected replicas do not get the change; a replica now differs from its master.
    NotPropagated {
        /// The command, as typed (upper case).
        command: String,
        /// Connected replicas.
        replicas: usize,
    },
}

/// A log line, worded as Redis 7.0.15 words it (REDIS-REPLICATION.md §12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// Virtual time of the line.
    pub time: Micros,
    /// Redis's level mark: `.` debug, `-` verbose, `*` notice, `#` warning.
    pub level: char,
    /// The message.
    pub text: String,
}

/// An input that arrived while the node was paused, replayed in order when it resumes.
#[derive(Clone, Debug)]
enum HeldInput {
    Connected(ConnId),
    ConnectFailed(ConnId, String),
    Receive(ConnId, Vec<u8>),
    Closed(ConnId),
    Drained(ConnId, usize),
}

/// Static facts about a node: its name and address.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// A display name ("A", "B", ...).
    pub name: String,
    /// The host it listens on.
    pub host: String,
    /// The port it listens on.
    pub port: u16,
    /// Replication settings.
    pub repl: ReplConfig,
    /// The unix time (ms) that virtual time 0 stands for: [`EPOCH_UNIX_MS`] in the simulator,
    /// the real start time behind TCP.
    pub epoch_unix_ms: i64,
}

/// What a connection is to this node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ConnKind {
    /// An inbound client (maybe a replica after SYNC/PSYNC).
    Client,
    /// The outbound link to this node's master.
    MasterLink,
}

/// Per-connection state.
#[derive(Clone, Debug)]
pub(crate) struct Conn {
    pub kind: ConnKind,
    pub peer_host: String,
    pub peer_port: u16,
    /// Unparsed request bytes.
    pub query: Vec<u8>,
    /// Selected database.
    pub db: usize,
    /// `REPLCONF listening-port`, 0 if never sent.
    pub listening_port: u16,
    /// `REPLCONF ip-address` (the replica's `replica-announce-ip`), shown instead of the peer ip.
    pub announced_ip: Option<String>,
    /// `REPLCONF capa eof` / `capa psync2`.
    pub capa_eof: bool,
    pub capa_psync2: bool,
    /// `REPLCONF rdb-only 1` (`redis-cli --rdb`): the RDB and nothing more, then disconnected.
    pub rdb_only: bool,
    /// Set once the client issued SYNC/PSYNC.
    pub replica: Option<ReplicaPeer>,
    /// Closed on our side; further input is ignored.
    pub closing: bool,
    /// The master offset after this client's last propagated write (what WAIT waits for).
    pub woff: i64,
    /// Authenticated (always, when no `requirepass` was set at connect time).
    pub authenticated: bool,
    /// Bytes handed to the environment and not yet reported drained (what sits in the kernel's
    /// socket buffers), when the environment reports drains (see [`Node::set_socket_buffer`]).
    pub unacked: usize,
    /// Since when a normal client's output buffer is over the soft limit, if it is.
    pub soft_since: Option<Micros>,
    /// How far the request at the start of `query` has been read, if it is incomplete.
    pub progress: Option<RequestProgress>,
}

impl Conn {
    fn new(kind: ConnKind, peer_host: String, peer_port: u16) -> Self {
        Conn {
            kind,
            peer_host,
            peer_port,
            query: Vec::new(),
            db: 0,
            listening_port: 0,
            announced_ip: None,
            capa_eof: false,
            capa_psync2: false,
            rdb_only: false,
            replica: None,
            closing: false,
            woff: 0,
            authenticated: true,
            unacked: 0,
            soft_since: None,
            progress: None,
        }
    }
}

/// Counters shown by INFO stats.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// `sync_full`
    pub sync_full: u64,
    /// `sync_partial_ok`
    pub sync_partial_ok: u64,
    /// `sync_partial_err`
    pub sync_partial_err: u64,
    /// `expired_keys`
    pub expired_keys: u64,
    /// `total_net_repl_input_bytes`
    pub net_repl_input_bytes: u64,
    /// `total_net_repl_output_bytes`
    pub net_repl_output_bytes: u64,
    /// `total_commands_processed`
    pub commands_processed: u64,
}

/// What INFO persistence and LASTSAVE report.
#[derive(Clone, Debug, Default)]
pub struct Persistence {
    /// Unix ms of the last successful save (the start time until one happens).
    pub last_save_ms: i64,
    /// `rdb_saves`
    pub saves: u64,
    /// `rdb_changes_since_last_save`: writes since the last save.
    pub dirty: u64,
    /// `rdb_last_bgsave_time_sec` (-1 before the first).
    pub last_bgsave_secs: i64,
    /// `rdb_last_load_keys_loaded`
    pub last_load_keys: u64,
    /// Whether the environment keeps files: a SHUTDOWN with neither SAVE nor NOSAVE saves only
    /// then (Redis's "save points configured"). The native server without `--dir` keeps none.
    pub keeps_files: bool,
    /// The [`Output::Persist`]s not answered yet, in order: whether each is the final save.
    pub(crate) unanswered: VecDeque<bool>,
}

/// One Redis server.
#[derive(Clone, Debug)]
pub struct Node {
    pub(crate) cfg: NodeConfig,
    pub(crate) keyspace: Keyspace,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) now: Micros,
    pub(crate) conns: BTreeMap<ConnId, Conn>,
    next_conn: ConnId,
    outputs: VecDeque<Output>,
    logs: VecDeque<LogLine>,
    /// `run_id`
    pub(crate) run_id: String,
    /// `master_replid`, `master_replid2`, `master_repl_offset`, `second_repl_offset`.
    pub(crate) replid: String,
    pub(crate) replid2: String,
    pub(crate) master_repl_offset: i64,
    pub(crate) second_replid_offset: i64,
    pub(crate) backlog: Option<Backlog>,
    /// The master side: the replicas this node serves and what it owes them.
    pub(crate) serving: MasterSide,
    /// The replica side: the link to our master when this node is a replica.
    pub(crate) master: Option<MasterLink>,
    /// The forked BGSAVE child, if one runs.
    pub(crate) child: Option<RdbChild>,
    /// The simulated disk: the last RDB saved (`dump.rdb`).
    pub(crate) disk: Option<Arc<[u8]>>,
    pub(crate) stats: Stats,
    pub(crate) persistence: Persistence,
    /// Transaction state per client (connection 0 is the master client on a replica).
    pub(crate) tx: BTreeMap<ConnId, commands::TxState>,
    /// Settings kept as text for CONFIG GET (those the engine does not act on yet).
    pub(crate) config_text: BTreeMap<&'static str, String>,
    next_cron: Micros,
    pub(crate) cron_loops: u64,
    /// A FAILOVER under way.
    pub(crate) failover: Option<crate::node::replication::failover::Failover>,
    /// `DEBUG SET-ACTIVE-EXPIRE`: the expiry cycle runs (default) or only lazy expiry does.
    pub(crate) active_expire_enabled: bool,
    /// A SHUTDOWN under way (the environment ends the process when it is due).
    pub(crate) shutdown: Option<commands::Shutdown>,
    /// Set while the node is stopped (DEBUG SLEEP, or SIGSTOP in the simulator).
    paused_until: Option<Micros>,
    held: VecDeque<HeldInput>,
    /// The socket buffer space per connection, when the environment reports drains: a replica's
    /// stream is written only while its socket has room, the rest waits in the shared
    /// replication buffer (None: every write is taken at once).
    pub(crate) socket_buffer: Option<usize>,
    /// What one client may make the node hold (see [`ClientLimits`]).
    pub(crate) limits: ClientLimits,
}

/// How much one client may make a server hold, as Redis's settings bound it.
#[derive(Clone, Debug)]
pub(crate) struct ClientLimits {
    /// `proto-max-bulk-len`: the longest string a request may carry, or a command build.
    pub proto_max_bulk_len: u64,
    /// `client-query-buffer-limit`: unparsed requests plus commands queued in MULTI.
    pub query_buffer: u64,
    /// `client-output-buffer-limit normal`: hard, soft (bytes, 0 for none) and soft seconds.
    pub normal_output: [u64; 3],
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits { proto_max_bulk_len: crate::resp::BULK_MAX, query_buffer: 1 << 30, normal_output: [0; 3] }
    }
}

/// What Redis keeps of a client's replies in its fixed reply buffer (`PROTO_REPLY_CHUNK_BYTES`),
/// outside what the output-buffer limits count.
const REPLY_BUFFER: usize = 16 * 1024;

impl Node {
    /// A node started at virtual time `now`, drawing its ids from `seed`.
    pub fn new(cfg: NodeConfig, seed: u64, now: Micros) -> Node {
        let mut node = Node::initialized(cfg, seed, now);
        node.log('*', "Ready to accept connections");
        node
    }

    /// A node up to "Server initialized": what comes before loading the dataset.
    fn initialized(cfg: NodeConfig, seed: u64, now: Micros) -> Node {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let run_id = random_hex40(&mut rng);
        let replid = random_hex40(&mut rng);
        let mut node = Node {
            cfg,
            keyspace: Keyspace::default(),
            rng,
            now,
            conns: BTreeMap::new(),
            next_conn: 1,
            outputs: VecDeque::new(),
            logs: VecDeque::new(),
            run_id,
            replid,
            replid2: NULL_REPLID.to_string(),
            master_repl_offset: 0,
            second_replid_offset: -1,
            backlog: None,
            serving: MasterSide::new(now),
            master: None,
            child: None,
            disk: None,
            stats: Stats::default(),
            persistence: Persistence { last_bgsave_secs: -1, keeps_files: true, ..Default::default() },
            tx: BTreeMap::new(),
            config_text: BTreeMap::new(),
            // Redis's first serverCron runs 1 ms after start, then every 100 ms (hz 10).
            next_cron: now + 1_000,
            cron_loops: 0,
            active_expire_enabled: true,
            failover: None,
            shutdown: None,
            paused_until: None,
            held: VecDeque::new(),
            socket_buffer: None,
            limits: ClientLimits::default(),
        };
        node.persistence.last_save_ms = node.unix_ms();
        node.log('*', "Server initialized");
        node
    }

    /// Starts a node as Redis starts after a crash or a restart: it loads its saved RDB, if any,
    /// and takes up its replication history from the RDB's AUX fields (REDIS-REPLICATION.md §5.8):
    /// a replica rebuilds a cached master to PSYNC from; a master keeps the old id as replid2 so
    /// its replicas can still PSYNC.
    pub fn restart(
        cfg: NodeConfig,
        seed: u64,
        now: Micros,
        disk: Option<Vec<u8>>,
        replicaof: Option<(String, u16)>,
    ) -> Node {
        let loaded = disk.map(|bytes| (crate::rdb::read_rdb(&bytes), bytes));
        Node::restart_loaded(cfg, seed, now, loaded, replicaof)
    }

    /// [`Node::restart`] with the dump already parsed (an environment that checked the file
    /// first need not parse it twice).
    pub fn restart_loaded(
        cfg: NodeConfig,
        seed: u64,
        now: Micros,
        loaded: Option<(Result<crate::rdb::RdbFile, crate::rdb::RdbError>, Vec<u8>)>,
        replicaof: Option<(String, u16)>,
    ) -> Node {
        let mut node = Node::initialized(cfg, seed, now);
        let mut history = None;
        if let Some((parsed, bytes)) = loaded {
            match parsed {
                Ok(file) => {
                    let id = file.aux_field("repl-id").map(|v| String::from_utf8_lossy(v).into_owned());
                    let off = file.aux_int("repl-offset");
                    let db = file.aux_int("repl-stream-db");
                    if let (Some(id), Some(off), Some(db)) = (id, off, db) {
                        if id.len() == 40 && off >= 0 && (0..16).contains(&db) {
                            history = Some((id, off, db as usize));
                        }
                    }
                    let keys = file.keys;
                    node.persistence.last_load_keys = keys as u64;
                    node.keyspace = file.keyspace;
                    node.log('*', format!("Done loading RDB, keys loaded: {keys}, keys expired: 0."));
                    node.log('*', "DB loaded from disk: 0.000 seconds");
                    node.disk = Some(bytes.into());
                }
                Err(e) => node.log('#', format!("Fatal error loading the DB: {e}. Exiting.")),
            }
        }
        node.log('*', "Ready to accept connections");
        match (replicaof, history) {
            (Some((host, port)), h) => {
                node.replicaof_at_startup(&host, port);
                if let (Some((id, off, db)), Some(l)) = (h, node.master.as_mut()) {
                    node.replid = id.clone();
                    node.master_repl_offset = off;
                    l.cached = Some(crate::node::replication::replica::MasterClient::new(id, off, db, now));
                }
            }
            (None, Some((id, off, _))) => {
                node.replid2 = id;
                node.second_replid_offset = off + 1;
                node.master_repl_offset = off;
                node.create_backlog();
            }
            (None, None) => {}
        }
        node
    }

    /// The node's configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.cfg
    }

    /// What the node has saved on its simulated disk (`dump.rdb`).
    pub fn disk(&self) -> Option<&[u8]> {
        self.disk.as_deref()
    }

    /// Puts a file on the node's simulated disk (what it loads at its next start).
    pub fn set_disk(&mut self, bytes: Vec<u8>) {
        self.disk = Some(bytes.into());
    }

    /// Deletes `dump.rdb` from the simulated disk.
    pub fn clear_disk(&mut self) {
        self.disk = None;
    }

    /// The configured master, if this node is a replica.
    pub fn master_addr(&self) -> Option<(String, u16)> {
        self.master.as_ref().map(|l| (l.host.clone(), l.port))
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    /// The address it listens on.
    pub fn addr(&self) -> (&str, u16) {
        (&self.cfg.host, self.cfg.port)
    }

    /// Virtual milliseconds since the start of the run.
    pub(crate) fn now_ms(&self) -> i64 {
        (self.now / 1000) as i64
    }

    /// The node's unix time in ms (virtual).
    pub(crate) fn unix_ms(&self) -> i64 {
        self.cfg.epoch_unix_ms + self.now_ms()
    }

    /// Whole seconds elapsed since `t`, as Redis compares its second-resolution `unixtime`.
    pub(crate) fn secs_since(&self, t: Micros) -> u64 {
        (self.now / 1_000_000).saturating_sub(t / 1_000_000)
    }

    pub(crate) fn note(&mut self, note: Note) {
        self.outputs.push_back(Output::Note(note));
    }

    /// Asks the environment to write `dump.rdb` ([`Output::Persist`]); see [`Node::persisted`].
    pub(crate) fn persist(&mut self, data: Arc<[u8]>, last: bool) {
        self.persistence.unanswered.push_back(last);
        self.outputs.push_back(Output::Persist { data, last });
    }

    /// Tells the environment the node is done ([`Output::Exit`]).
    pub(crate) fn exit(&mut self) {
        self.log('#', "Redis is now ready to exit, bye bye...");
        self.outputs.push_back(Output::Exit);
    }

    pub(crate) fn log(&mut self, level: char, text: impl Into<String>) {
        self.logs.push_back(LogLine { time: self.now, level, text: text.into() });
    }

    fn advance(&mut self, now: Micros) {
        if now > self.now {
            self.now = now;
        }
    }

    /// An inbound connection from `peer` was accepted; returns its id.
    pub fn accept(&mut self, now: Micros, peer_host: &str, peer_port: u16) -> ConnId {
        self.advance(now);
        let id = self.alloc_conn();
        let mut conn = Conn::new(ConnKind::Client, peer_host.to_string(), peer_port);
        conn.authenticated = self.requirepass().is_none();
        self.conns.insert(id, conn);
        id
    }

    /// An outbound connection asked for with [`Output::Connect`] is established.
    pub fn connected(&mut self, now: Micros, conn: ConnId) {
        if self.hold(now, HeldInput::Connected(conn)) {
            return;
        }
        if self.is_master_link(conn) {
            self.master_link_connected(conn);
        }
    }

    /// An outbound connection failed (refused, unreachable).
    pub fn connect_failed(&mut self, now: Micros, conn: ConnId, reason: &str) {
        if self.hold(now, HeldInput::ConnectFailed(conn, reason.to_string())) {
            return;
        }
        let is_link = self.is_master_link(conn);
        self.conns.remove(&conn);
        if is_link {
            self.master_link_failed(reason);
        }
    }

    /// Bytes arrived on a connection.
    pub fn receive(&mut self, now: Micros, conn: ConnId, data: &[u8]) {
        if self.hold(now, HeldInput::Receive(conn, data.to_vec())) {
            return;
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.closing {
            return;
        }
        if c.kind == ConnKind::MasterLink {
            self.stats.net_repl_input_bytes += data.len() as u64;
            self.master_link_read(conn, data);
            return;
        }
        c.query.extend_from_slice(data);
        if self.check_query_buffer_limit(conn) {
            return;
        }
        self.process_query(conn);
    }

    /// The peer closed the connection (or it was reset).
    pub fn closed(&mut self, now: Micros, conn: ConnId) {
        if self.hold(now, HeldInput::Closed(conn)) {
            return;
        }
        if self.conns.contains_key(&conn) {
            self.forget(conn);
        }
    }

    /// Runs whatever is due at `now`: the 10 Hz server cron, the 1 Hz replication cron, and the
    /// BGSAVE child's progress.
    pub fn tick(&mut self, now: Micros) {
        self.advance(now);
        if let Some(until) = self.paused_until {
            if self.now < until {
                return;
            }
            self.resume();
        }
        self.child_progress();
        self.process_waiters();
        if self.next_cron <= self.now {
            // Once, however late: Redis's event loop runs a due timer once and sets the next
            // run a period after this one (ae.c), so a node waking from DEBUG SLEEP does not
            // catch up on the crons it slept through (nor send a PING for each ten seconds).
            self.next_cron = self.now + 100_000;
            self.server_cron();
        }
    }

    /// When the node next needs [`Node::tick`].
    pub fn next_deadline(&self) -> Micros {
        if let Some(until) = self.paused_until {
            return until;
        }
        let child = self.child.as_ref().and_then(|c| c.next_deadline());
        let soonest = child.map_or(self.next_cron, |c| c.min(self.next_cron));
        self.serving.next_wait_deadline().map_or(soonest, |w| w.min(soonest))
    }

    /// The next thing the node wants done, if any. The first call after an input ends the
    /// node's turn: the replication stream it fed meanwhile is written to its replicas then.
    pub fn poll_output(&mut self) -> Option<Output> {
        if self.paused_until.is_some() {
            return None;
        }
        self.flush_stream();
        self.finish_shutdown_if_due();
        self.outputs.pop_front()
    }

    /// The next log line, if any.
    pub fn poll_log(&mut self) -> Option<LogLine> {
        self.logs.pop_front()
    }

    /// The dataset (read-only), for digests and tests.
    pub fn keyspace(&self) -> &Keyspace {
        &self.keyspace
    }

    /// `DEBUG DIGEST`.
    pub fn digest(&self) -> String {
        self.keyspace.digest()
    }
}
