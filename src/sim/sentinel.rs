//! A Redis Sentinel (7.0) as a sans-IO actor of the simulated world.
//!
//! Replicas never fail over by themselves (REDIS-REPLICATION.md §8): they keep reconnecting to
//! the master they were given. Promotion is Sentinel's doing, and the lab shows it as such: a
//! sentinel is a separate process with its own TCP connections to every node, over the same
//! simulated links as the nodes' (so latency, partitions and cuts affect it too), and its own
//! event log worded as `sentinel.c` words it (`+sdown`, `+odown`, `+try-failover`,
//! `+elected-leader`, `+selected-slave`, `+promoted-slave`, `+failover-end`, `+switch-master`,
//! `+convert-to-slave`, ...).
//!
//! Like [`Node`](crate::node::Node), it performs no I/O and reads no clock: inputs are pushed in
//! with the virtual time, outputs ([`Output`]: bytes, connections to open or close) and event
//! lines are polled out, and [`Sentinel::next_deadline`] says when its timer next runs. The timer
//! runs at Sentinel's randomised 10–19 Hz, drawn from the seed.
//!
//! What it does, as `sentinel.c` does it: a PING to every instance once a second (the reply
//! must be `+PONG`, `-LOADING` or `-MASTERDOWN` to count), INFO every 10 s (every second to the
//! replicas of a master that is ODOWN or in failover, or that report their link down), replicas
//! discovered from the master's `slaveN:` INFO lines, SDOWN after `down-after-milliseconds`
//! without a valid reply, ODOWN when `quorum` sentinels agree (asked with `SENTINEL
//! is-master-down-by-addr` over the network), a leader elected per epoch by the same requests,
//! the replica chosen by `sentinelSelectSlave`'s rules, `SLAVEOF NO ONE` to it, the promotion
//! observed through INFO, the other replicas re-pointed `parallel-syncs` at a time, and the old
//! master converted into a replica when it comes back.
//!
//! Simplifications, on purpose:
//! - Sentinels know each other from the world's configuration (as if each had `sentinel
//!   known-sentinel` lines) instead of discovering each other through hello messages on the
//!   nodes' `__sentinel__:hello` pub/sub channel (the lab's nodes have no pub/sub). The hello
//!   messages themselves still travel, directly between sentinels (`PUBLISH __sentinel__:hello
//!   ...`, which Sentinel also sends to its peers), and carry the configuration after a failover.
//!   So no pub/sub connection to the nodes is opened.
//! - `SLAVEOF` is sent inside `MULTI`/`EXEC` as Sentinel does, but without `CONFIG REWRITE` and
//!   `CLIENT KILL TYPE normal|pubsub` (the lab's nodes have no config file; a restarted node keeps
//!   its REPLICAOF anyway, and there are no clients to disconnect besides the consoles).
//! - One master per sentinel; no TILT mode (the virtual clock never jumps), no scripts, no
//!   `master-reboot-down-after-period`, `parallel-syncs` fixed at 1 unless set in the config.

use std::collections::{BTreeMap, VecDeque};

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::node::{ConnId, LogLine, Micros, Output, Timer, TimerKind};
use crate::replication::random_hex40;
use crate::resp::{encode_command, parse_command, parse_frame, Frame, Parsed};

/// The first sentinel listens on this port; sentinel j on `SENTINEL_BASE_PORT + j`.
pub const SENTINEL_BASE_PORT: u16 = 26379;

const PING_PERIOD: i64 = 1000;
const INFO_PERIOD: i64 = 10_000;
const ASK_PERIOD: i64 = 1000;
const PUBLISH_PERIOD: i64 = 2000;
const SLAVE_RECONF_TIMEOUT: i64 = 10_000;
const MIN_LINK_RECONNECT_PERIOD: i64 = 15_000;
const ELECTION_TIMEOUT: i64 = 10_000;
const MAX_DESYNC: u64 = 1000;
const MAX_PENDING_COMMANDS: usize = 100;
const DEFAULT_SLAVE_PRIORITY: i64 = 100;
const HELLO_CHANNEL: &str = "__sentinel__:hello";
/// Events kept for the page's view of a sentinel: its card shows the last 12, and the view is
/// serialised on most animation frames; the world's trace keeps every event.
const EVENTS_KEPT: usize = 16;

/// The longest down-after or failover timeout a sentinel takes (about 31 years), so that its
/// millisecond arithmetic never overflows.
pub const MAX_SENTINEL_MS: u64 = 1_000_000_000_000;

/// The most sentinels one world holds (their ports count up from 26379).
pub const MAX_SENTINELS: usize = 1_000;

/// A sentinel's settings for its one master (`sentinel monitor` and `sentinel set`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentinelConfig {
    /// The master's name (`mymaster`).
    pub master_name: String,
    /// Sentinels that must agree that the master is down.
    pub quorum: u32,
    /// `down-after-milliseconds` (default 30000).
    pub down_after_ms: u64,
    /// `failover-timeout` (default 180000).
    pub failover_timeout_ms: u64,
    /// `parallel-syncs` (default 1).
    pub parallel_syncs: u32,
}

impl Default for SentinelConfig {
    fn default() -> Self {
        SentinelConfig {
            master_name: "mymaster".into(),
            quorum: 2,
            down_after_ms: 30_000,
            failover_timeout_ms: 180_000,
            parallel_syncs: 1,
        }
    }
}

/// Sentinel's failover states (`SENTINEL_FAILOVER_STATE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailoverState {
    /// No failover.
    None,
    /// Waiting to be elected leader.
    WaitStart,
    /// Choosing the replica to promote.
    SelectSlave,
    /// Sending it SLAVEOF NO ONE.
    SendSlaveofNoone,
    /// Waiting for INFO to report it as a master.
    WaitPromotion,
    /// Re-pointing the other replicas.
    ReconfSlaves,
    /// Done: switching to the promoted replica.
    UpdateConfig,
}

impl FailoverState {
    /// The name `SENTINEL MASTERS` shows (`sentinelFailoverStateStr`).
    pub fn name(self) -> &'static str {
        match self {
            FailoverState::None => "none",
            FailoverState::WaitStart => "wait_start",
            FailoverState::SelectSlave => "select_slave",
            FailoverState::SendSlaveofNoone => "send_slaveof_noone",
            FailoverState::WaitPromotion => "wait_promotion",
            FailoverState::ReconfSlaves => "reconf_slaves",
            FailoverState::UpdateConfig => "update_config",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Master,
    Slave,
    Sentinel,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Master => "master",
            Kind::Slave => "slave",
            Kind::Sentinel => "sentinel",
        }
    }
}

/// The reply a command sent on a link waits for, in order (hiredis callbacks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    Ping,
    Info,
    Discard,
    IsMasterDown,
    Publish,
}

/// The command connection to one instance (`instanceLink`); times in ms, 0 meaning never.
#[derive(Clone, Debug)]
struct Link {
    conn: Option<ConnId>,
    disconnected: bool,
    /// TCP established; until then writes wait in `outbuf`, as hiredis buffers them.
    established: bool,
    outbuf: Vec<u8>,
    inbuf: Vec<u8>,
    pending: VecDeque<Pending>,
    cc_conn_time: i64,
    act_ping_time: i64,
    last_ping_time: i64,
    last_avail_time: i64,
    last_pong_time: i64,
    last_reconn_time: i64,
}

impl Link {
    fn new(now: i64) -> Link {
        Link {
            conn: None,
            disconnected: true,
            established: false,
            outbuf: Vec::new(),
            inbuf: Vec::new(),
            pending: VecDeque::new(),
            cc_conn_time: 0,
            act_ping_time: now,
            last_ping_time: 0,
            last_avail_time: now,
            last_pong_time: now,
            last_reconn_time: 0,
        }
    }
}

/// A master, replica or other sentinel as this sentinel sees it (`sentinelRedisInstance`).
#[derive(Clone, Debug)]
struct Instance {
    kind: Kind,
    name: String,
    host: String,
    port: u16,
    runid: Option<String>,
    link: Link,
    sdown: bool,
    s_down_since: i64,
    info_refresh: i64,
    role_reported: Kind,
    role_reported_time: i64,
    master_link_down_time: i64,
    slave_master_host: Option<String>,
    slave_master_port: u16,
    slave_master_link_up: bool,
    slave_priority: i64,
    slave_repl_offset: i64,
    slave_conf_change_time: i64,
    slave_reconf_sent_time: i64,
    promoted: bool,
    reconf_sent: bool,
    reconf_inprog: bool,
    reconf_done: bool,
    // Other sentinels only.
    master_down: bool,
    leader: Option<String>,
    leader_epoch: u64,
    last_master_down_reply_time: i64,
    last_pub_time: i64,
}

impl Instance {
    fn new(kind: Kind, name: String, host: &str, port: u16, now: i64) -> Instance {
        Instance {
            kind,
            name,
            host: host.to_string(),
            port,
            runid: None,
            link: Link::new(now),
            sdown: false,
            s_down_since: 0,
            info_refresh: 0,
            role_reported: kind,
            role_reported_time: now,
            master_link_down_time: 0,
            slave_master_host: None,
            slave_master_port: 0,
            slave_master_link_up: false,
            slave_priority: DEFAULT_SLAVE_PRIORITY,
            slave_repl_offset: 0,
            slave_conf_change_time: now,
            slave_reconf_sent_time: 0,
            promoted: false,
            reconf_sent: false,
            reconf_inprog: false,
            reconf_done: false,
            master_down: false,
            leader: None,
            leader_epoch: 0,
            last_master_down_reply_time: now,
            last_pub_time: now,
        }
    }

    fn slave(host: &str, port: u16, now: i64) -> Instance {
        Instance::new(Kind::Slave, format!("{host}:{port}"), host, port, now)
    }

    fn no_down_for(&self, ms: i64, o_down_since: i64, now: i64) -> bool {
        let recent = self.s_down_since.max(o_down_since);
        recent == 0 || now - recent > ms
    }
}

/// Which instance, by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Master,
    Replica(usize),
    Peer(usize),
}

#[derive(Clone, Debug)]
enum ConnRole {
    /// Our command link to an instance.
    Out,
    /// A client of ours (another sentinel, or the console); its unparsed query bytes.
    In(Vec<u8>),
}

/// What the page shows of one instance a sentinel watches.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceView {
    /// `ip:port` (replicas) or the run id (sentinels).
    pub name: String,
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Subjectively down.
    pub sdown: bool,
    /// The role its last INFO reported (`master`/`slave`), for nodes.
    pub role_reported: &'static str,
    /// `slave_repl_offset` from its last INFO.
    pub offset: i64,
    /// `slave_priority` from its last INFO.
    pub priority: i64,
    /// The link to its master is up, as its INFO says.
    pub link_up: bool,
    /// For other sentinels: they said the master is down.
    pub master_down: bool,
}

/// A snapshot of a sentinel for the page and for tests.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentinelView {
    /// Index in the world (set by the caller).
    pub index: usize,
    /// Display name (`S1`, ...).
    pub name: String,
    /// Its own host.
    pub host: String,
    /// Its own port.
    pub port: u16,
    /// Its run id.
    pub myid: String,
    /// The master's name.
    pub master_name: String,
    /// The master's host as this sentinel sees it now.
    pub master_host: String,
    /// The master's port.
    pub master_port: u16,
    /// SDOWN.
    pub sdown: bool,
    /// ODOWN.
    pub odown: bool,
    /// Quorum.
    pub quorum: u32,
    /// Failover state name.
    pub failover_state: &'static str,
    /// `current_epoch`.
    pub current_epoch: u64,
    /// The master's `config_epoch`.
    pub config_epoch: u64,
    /// Replicas known.
    pub replicas: Vec<InstanceView>,
    /// Other sentinels.
    pub sentinels: Vec<InstanceView>,
    /// The latest events, oldest first, as `<level> <text>`.
    pub events: Vec<String>,
    /// What the sentinel is waiting for: the master's down-after-milliseconds while a PING is
    /// unanswered, the failover-timeout of a failover under way.
    pub timers: Vec<Timer>,
}

/// One Sentinel process monitoring one master.
#[derive(Clone, Debug)]
pub struct Sentinel {
    name: String,
    host: String,
    port: u16,
    myid: String,
    cfg: SentinelConfig,
    rng: ChaCha8Rng,
    now: Micros,
    next_timer: Micros,
    current_epoch: u64,
    master: Instance,
    replicas: Vec<Instance>,
    peers: Vec<Instance>,
    // Master-only state.
    odown: bool,
    o_down_since: i64,
    config_epoch: u64,
    failover_in_progress: bool,
    failover_state: FailoverState,
    failover_epoch: u64,
    failover_state_change_time: i64,
    failover_start_time: i64,
    master_leader: Option<String>,
    master_leader_epoch: u64,
    promoted: Option<usize>,
    conns: BTreeMap<ConnId, ConnRole>,
    next_conn: ConnId,
    outputs: VecDeque<Output>,
    logs: VecDeque<LogLine>,
    history: imbl::Vector<String>,
}

impl Sentinel {
    /// What it was configured with.
    pub fn config(&self) -> &SentinelConfig {
        &self.cfg
    }

    /// A sentinel named `name` listening on `host:port`, monitoring the master at
    /// `master_host:master_port`, started at `now` and drawing its id and timer jitter from `seed`.
    pub fn new(
        name: &str,
        (host, port): (&str, u16),
        cfg: SentinelConfig,
        (master_host, master_port): (&str, u16),
        seed: u64,
        now: Micros,
    ) -> Sentinel {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let myid = random_hex40(&mut rng);
        let ms = unix_ms(now);
        let master = Instance::new(Kind::Master, cfg.master_name.clone(), master_host, master_port, ms);
        let mut s = Sentinel {
            name: name.to_string(),
            host: host.to_string(),
            port,
            myid,
            cfg,
            rng,
            now,
            next_timer: now,
            current_epoch: 0,
            master,
            replicas: Vec::new(),
            peers: Vec::new(),
            odown: false,
            o_down_since: 0,
            config_epoch: 0,
            failover_in_progress: false,
            failover_state: FailoverState::None,
            failover_epoch: 0,
            failover_state_change_time: 0,
            failover_start_time: 0,
            master_leader: None,
            master_leader_epoch: 0,
            promoted: None,
            conns: BTreeMap::new(),
            next_conn: 1,
            outputs: VecDeque::new(),
            logs: VecDeque::new(),
            history: imbl::Vector::new(),
        };
        s.log('*', format!("Sentinel ID is {}", s.myid));
        let quorum = s.cfg.quorum;
        s.event('#', "+monitor", Who::Master, &format!(" quorum {quorum}"));
        s
    }

    /// Adds another sentinel that monitors the same master (what hello messages would teach).
    pub fn add_peer(&mut self, host: &str, port: u16, runid: &str) {
        let ms = self.ms();
        let mut p = Instance::new(Kind::Sentinel, runid.to_string(), host, port, ms);
        p.runid = Some(runid.to_string());
        self.peers.push(p);
        let at = self.peers.len() - 1;
        self.event('*', "+sentinel", Who::Peer(at), "");
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address it listens on.
    pub fn addr(&self) -> (&str, u16) {
        (&self.host, self.port)
    }

    /// Its run id (`SENTINEL MYID`).
    pub fn myid(&self) -> &str {
        &self.myid
    }

    /// The master's address as this sentinel currently sees it (`SENTINEL
    /// GET-MASTER-ADDR-BY-NAME`: the promoted replica's once it has been promoted).
    pub fn master_addr(&self) -> (String, u16) {
        let inst = self.current_master();
        (inst.host.clone(), inst.port)
    }

    /// True while a failover is in progress.
    pub fn failover_in_progress(&self) -> bool {
        self.failover_in_progress
    }

    fn current_master(&self) -> &Instance {
        match self.promoted.and_then(|p| self.replicas.get(p)) {
            Some(p) if self.failover_in_progress && self.failover_state >= FailoverState::ReconfSlaves => p,
            _ => &self.master,
        }
    }

    /// `mstime()`: unix milliseconds on the virtual clock, so that 0 means "long ago".
    fn ms(&self) -> i64 {
        unix_ms(self.now)
    }

    fn log(&mut self, level: char, text: String) {
        if self.history.len() >= EVENTS_KEPT {
            self.history.pop_front();
        }
        self.history.push_back(format!("{level} {text}"));
        self.logs.push_back(LogLine { time: self.now, level, text });
    }

    fn inst(&self, who: Who) -> &Instance {
        match who {
            Who::Master => &self.master,
            Who::Replica(i) => &self.replicas[i],
            Who::Peer(i) => &self.peers[i],
        }
    }

    fn inst_mut(&mut self, who: Who) -> &mut Instance {
        match who {
            Who::Master => &mut self.master,
            Who::Replica(i) => &mut self.replicas[i],
            Who::Peer(i) => &mut self.peers[i],
        }
    }

    /// `sentinelEvent` with `%@`: the instance, then `@ master` for non-masters, then `rest`.
    fn event(&mut self, level: char, kind: &str, who: Who, rest: &str) {
        let i = self.inst(who);
        let mut msg = format!("{} {} {} {}", i.kind.name(), i.name, i.host, i.port);
        if who != Who::Master {
            let m = &self.master;
            msg.push_str(&format!(" @ {} {} {}", m.name, m.host, m.port));
        }
        self.log(level, format!("{kind} {msg}{rest}"));
    }

    /// `sentinelEvent` without `%@`.
    fn event_plain(&mut self, level: char, kind: &str, msg: String) {
        self.log(level, format!("{kind} {msg}"));
    }

    fn rand_below(&mut self, n: u64) -> i64 {
        (self.rng.next_u64() % n) as i64
    }

    // ----- inputs -----

    /// An inbound connection (another sentinel, or a console) was accepted; returns its id.
    pub fn accept(&mut self, now: Micros) -> ConnId {
        self.advance(now);
        let id = self.alloc_conn();
        self.conns.insert(id, ConnRole::In(Vec::new()));
        id
    }

    /// An outbound connection is established: buffered commands go out.
    pub fn connected(&mut self, now: Micros, conn: ConnId) {
        self.advance(now);
        if let Some(who) = self.who_by_conn(conn) {
            let link = &mut self.inst_mut(who).link;
            link.established = true;
            let data = std::mem::take(&mut link.outbuf);
            self.push_send(conn, data);
        }
    }

    /// An outbound connection failed.
    pub fn connect_failed(&mut self, now: Micros, conn: ConnId) {
        self.closed(now, conn);
    }

    /// The peer closed a connection, or it was reset.
    pub fn closed(&mut self, now: Micros, conn: ConnId) {
        self.advance(now);
        if let Some(who) = self.who_by_conn(conn) {
            self.drop_link(who);
        }
        self.conns.remove(&conn);
    }

    /// Bytes arrived on a connection.
    pub fn receive(&mut self, now: Micros, conn: ConnId, data: &[u8]) {
        self.advance(now);
        match self.conns.get_mut(&conn) {
            Some(ConnRole::In(query)) => {
                query.extend_from_slice(data);
                self.serve(conn);
            }
            Some(ConnRole::Out) => {
                if let Some(who) = self.who_by_conn(conn) {
                    self.inst_mut(who).link.inbuf.extend_from_slice(data);
                    self.read_replies(who);
                }
            }
            None => {}
        }
    }

    /// Runs the timer if it is due.
    pub fn tick(&mut self, now: Micros) {
        self.advance(now);
        if self.now < self.next_timer {
            return;
        }
        self.timer();
        // Sentinel changes its timer frequency every time (10 to 19 Hz) so that sentinels
        // started together do not stay in step and split their votes forever.
        let hz = 10 + self.rand_below(10) as u64;
        self.next_timer = self.now + 1_000_000 / hz;
    }

    /// When [`Sentinel::tick`] is next needed.
    pub fn next_deadline(&self) -> Micros {
        self.next_timer
    }

    /// The next thing to do for the environment.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The next event or log line.
    pub fn poll_log(&mut self) -> Option<LogLine> {
        self.logs.pop_front()
    }

    fn advance(&mut self, now: Micros) {
        self.now = self.now.max(now);
    }

    fn alloc_conn(&mut self) -> ConnId {
        let id = self.next_conn;
        self.next_conn += 1;
        id
    }

    fn push_send(&mut self, conn: ConnId, data: Vec<u8>) {
        if !data.is_empty() {
            self.outputs.push_back(Output::Send { conn, data, offset: None });
        }
    }

    fn who_by_conn(&self, conn: ConnId) -> Option<Who> {
        if self.master.link.conn == Some(conn) {
            return Some(Who::Master);
        }
        if let Some(i) = self.replicas.iter().position(|r| r.link.conn == Some(conn)) {
            return Some(Who::Replica(i));
        }
        self.peers.iter().position(|r| r.link.conn == Some(conn)).map(Who::Peer)
    }

    // ----- links -----

    /// `instanceLinkConnectionError` / `instanceLinkCloseConnection`: the link is down, its
    /// pending replies will never come.
    fn drop_link(&mut self, who: Who) {
        let link = &mut self.inst_mut(who).link;
        let conn = link.conn.take();
        link.disconnected = true;
        link.established = false;
        link.pending.clear();
        link.outbuf.clear();
        link.inbuf.clear();
        if let Some(c) = conn {
            self.conns.remove(&c);
        }
    }

    /// Closes the link from our side.
    fn close_link(&mut self, who: Who) {
        if let Some(c) = self.inst(who).link.conn {
            self.outputs.push_back(Output::Close { conn: c });
        }
        self.drop_link(who);
    }

    /// `sentinelReconnectInstance`: at most one attempt a second.
    fn reconnect(&mut self, who: Who) {
        let now = self.ms();
        let inst = self.inst(who);
        if !inst.link.disconnected || now - inst.link.last_reconn_time < PING_PERIOD {
            return;
        }
        let (host, port) = (inst.host.clone(), inst.port);
        let conn = self.alloc_conn();
        self.conns.insert(conn, ConnRole::Out);
        self.outputs.push_back(Output::Connect { conn, host, port });
        let link = &mut self.inst_mut(who).link;
        link.last_reconn_time = now;
        link.conn = Some(conn);
        link.disconnected = false;
        link.established = false;
        link.pending.clear();
        link.cc_conn_time = now;
        self.send_ping(who);
    }

    /// Queues a command on an instance's link; false if the link is down.
    fn send_command(&mut self, who: Who, args: &[&str], pending: Pending) -> bool {
        let link = &mut self.inst_mut(who).link;
        let Some(conn) = link.conn else {
            return false;
        };
        let bytes = encode_command(args);
        link.pending.push_back(pending);
        if link.established {
            self.push_send(conn, bytes);
        } else {
            link.outbuf.extend_from_slice(&bytes);
        }
        true
    }

    fn send_ping(&mut self, who: Who) {
        if self.send_command(who, &["PING"], Pending::Ping) {
            let now = self.ms();
            let link = &mut self.inst_mut(who).link;
            link.last_ping_time = now;
            if link.act_ping_time == 0 {
                link.act_ping_time = now;
            }
        }
    }

    /// `sentinelSendSlaveOf`: MULTI, SLAVEOF host port (or NO ONE), EXEC.
    fn send_slaveof(&mut self, who: Who, to: Option<(String, u16)>) -> bool {
        let (host, port) = to.map_or(("NO".to_string(), "ONE".to_string()), |(h, p)| (h, p.to_string()));
        self.send_command(who, &["MULTI"], Pending::Discard)
            && self.send_command(who, &["SLAVEOF", &host, &port], Pending::Discard)
            && self.send_command(who, &["EXEC"], Pending::Discard)
    }

    /// `sentinelSendPeriodicCommands`.
    fn send_periodic(&mut self, who: Who) {
        let now = self.ms();
        let odown_or_failover = self.odown || self.failover_in_progress;
        let down_after = self.cfg.down_after_ms as i64;
        let inst = self.inst(who);
        if inst.link.disconnected || inst.link.pending.len() >= MAX_PENDING_COMMANDS {
            return;
        }
        let info_period = if inst.kind == Kind::Slave && (odown_or_failover || inst.master_link_down_time != 0) {
            1000
        } else {
            INFO_PERIOD
        };
        let ping_period = down_after.min(PING_PERIOD);
        let wants_info =
            inst.kind != Kind::Sentinel && (inst.info_refresh == 0 || now - inst.info_refresh > info_period);
        let wants_ping =
            now - inst.link.last_pong_time > ping_period && now - inst.link.last_ping_time > ping_period / 2;
        let wants_hello = inst.kind == Kind::Sentinel && now - inst.last_pub_time > PUBLISH_PERIOD;
        if wants_info {
            self.send_command(who, &["INFO"], Pending::Info);
        }
        if wants_ping {
            self.send_ping(who);
        }
        if wants_hello {
            self.send_hello(who);
        }
    }

    /// `sentinelSendHello`: our id and epoch, and the master's current address and config epoch.
    fn send_hello(&mut self, who: Who) {
        let m = self.current_master();
        let payload = format!(
            "{},{},{},{},{},{},{},{}",
            self.host,
            self.port,
            self.myid,
            self.current_epoch,
            self.cfg.master_name,
            m.host,
            m.port,
            self.config_epoch
        );
        self.send_command(who, &["PUBLISH", HELLO_CHANNEL, &payload], Pending::Publish);
    }

    // ----- replies -----

    fn read_replies(&mut self, who: Who) {
        loop {
            let link = &mut self.inst_mut(who).link;
            let frame = match parse_frame(&link.inbuf) {
                Ok(Parsed::Complete(f, used)) => {
                    link.inbuf.drain(..used);
                    f
                }
                Ok(Parsed::Incomplete) => return,
                Err(_) => {
                    // hiredis drops a connection that speaks bad protocol.
                    self.close_link(who);
                    return;
                }
            };
            let Some(pending) = link.pending.pop_front() else {
                continue;
            };
            match pending {
                Pending::Ping => self.on_pong(who, &frame),
                Pending::Info => {
                    if let Frame::Bulk(b) = &frame {
                        let text = String::from_utf8_lossy(b).into_owned();
                        self.refresh_info(who, &text);
                    }
                }
                Pending::IsMasterDown => self.on_is_master_down(who, &frame),
                Pending::Publish => {
                    if !matches!(frame, Frame::Error(_)) {
                        let now = self.ms();
                        self.inst_mut(who).last_pub_time = now;
                    }
                }
                Pending::Discard => {}
            }
            // A reply may have replaced the instance lists (a switch of master).
            if self.inst_exists(who).is_none() {
                return;
            }
        }
    }

    fn inst_exists(&self, who: Who) -> Option<()> {
        match who {
            Who::Master => Some(()),
            Who::Replica(i) => self.replicas.get(i).map(|_| ()),
            Who::Peer(i) => self.peers.get(i).map(|_| ()),
        }
    }

    /// `sentinelPingReplyCallback`.
    fn on_pong(&mut self, who: Who, frame: &Frame) {
        let now = self.ms();
        let text = match frame {
            Frame::Simple(s) | Frame::Error(s) => s.as_str(),
            _ => "",
        };
        let link = &mut self.inst_mut(who).link;
        if text.starts_with("PONG") || text.starts_with("LOADING") || text.starts_with("MASTERDOWN") {
            link.last_avail_time = now;
            link.act_ping_time = 0;
        }
        link.last_pong_time = now;
    }

    /// `sentinelReceiveIsMasterDownReply`.
    fn on_is_master_down(&mut self, who: Who, frame: &Frame) {
        let Frame::Array(items) = frame else {
            return;
        };
        let (Some(Frame::Integer(down)), Some(Frame::Bulk(leader)), Some(Frame::Integer(epoch))) =
            (items.first(), items.get(1), items.get(2))
        else {
            return;
        };
        if items.len() != 3 {
            return;
        }
        let now = self.ms();
        let leader = String::from_utf8_lossy(leader).into_owned();
        let epoch = (*epoch).max(0) as u64;
        let p = self.inst_mut(who);
        p.last_master_down_reply_time = now;
        p.master_down = *down == 1;
        if leader != "*" {
            let changed = p.leader_epoch != epoch;
            let name = p.name.clone();
            p.leader = Some(leader.clone());
            p.leader_epoch = epoch;
            if changed {
                self.log('#', format!("{name} voted for {leader} {epoch}"));
            }
        }
    }

    /// `sentinelRefreshInstanceInfo`: reads INFO, then acts on what changed.
    fn refresh_info(&mut self, who: Who, info: &str) {
        let now = self.ms();
        let mut role = None;
        let mut discovered = Vec::new();
        let mut reboot = false;
        {
            let is_master = who == Who::Master;
            let inst = self.inst_mut(who);
            inst.master_link_down_time = 0;
            for l in info.split("\r\n") {
                if let Some(id) = l.strip_prefix("run_id:").filter(|v| v.len() >= 40).map(|v| &v[..40]) {
                    match &inst.runid {
                        Some(old) if old != id => {
                            reboot = true;
                            inst.runid = Some(id.to_string());
                        }
                        None => inst.runid = Some(id.to_string()),
                        _ => {}
                    }
                }
                if is_master {
                    if let Some(addr) = slave_line(l) {
                        discovered.push(addr);
                    }
                }
                if let Some(v) = l.strip_prefix("master_link_down_since_seconds:") {
                    inst.master_link_down_time = v.trim().parse::<i64>().unwrap_or(0) * 1000;
                }
                if l.starts_with("role:master") {
                    role = Some(Kind::Master);
                } else if l.starts_with("role:slave") {
                    role = Some(Kind::Slave);
                }
                if role == Some(Kind::Slave) {
                    if let Some(h) = l.strip_prefix("master_host:") {
                        if inst.slave_master_host.as_deref().is_none_or(|o| !o.eq_ignore_ascii_case(h)) {
                            inst.slave_master_host = Some(h.to_string());
                            inst.slave_conf_change_time = now;
                        }
                    }
                    if let Some(p) = l.strip_prefix("master_port:") {
                        let p = p.trim().parse::<u16>().unwrap_or(0);
                        if inst.slave_master_port != p {
                            inst.slave_master_port = p;
                            inst.slave_conf_change_time = now;
                        }
                    }
                    if let Some(s) = l.strip_prefix("master_link_status:") {
                        inst.slave_master_link_up = s.eq_ignore_ascii_case("up");
                    }
                    if let Some(p) = l.strip_prefix("slave_priority:") {
                        inst.slave_priority = p.trim().parse().unwrap_or(0);
                    }
                    if let Some(o) = l.strip_prefix("slave_repl_offset:") {
                        inst.slave_repl_offset = o.trim().parse().unwrap_or(0);
                    }
                }
            }
            inst.info_refresh = now;
        }
        if reboot {
            self.event('*', "+reboot", who, "");
        }
        for (host, port) in discovered {
            if !self.replicas.iter().any(|r| r.host == host && r.port == port) {
                self.replicas.push(Instance::slave(&host, port, now));
                let at = self.replicas.len() - 1;
                self.event('*', "+slave", Who::Replica(at), "");
            }
        }
        let Some(role) = role else {
            return;
        };
        let inst = self.inst(who);
        if role != inst.role_reported {
            let coherent = inst.kind == role;
            let inst = self.inst_mut(who);
            inst.role_reported_time = now;
            inst.role_reported = role;
            if role == Kind::Slave {
                inst.slave_conf_change_time = now;
            }
            let kind = if coherent { "+role-change" } else { "-role-change" };
            self.event('-', kind, who, &format!(" new reported role is {}", role.name()));
        }
        let Who::Replica(i) = who else {
            return;
        };
        if role == Kind::Master {
            self.replica_reports_master(i);
        } else {
            self.replica_reports_slave(i);
        }
    }

    /// `sentinelMasterLooksSane`.
    fn master_looks_sane(&self) -> bool {
        let m = &self.master;
        m.role_reported == Kind::Master
            && !m.sdown
            && !self.odown
            && m.info_refresh != 0
            && self.ms() - m.info_refresh < INFO_PERIOD * 2
    }

    /// A replica's INFO says `role:master`: the promotion we wait for, or one to undo.
    fn replica_reports_master(&mut self, i: usize) {
        let now = self.ms();
        let r = &self.replicas[i];
        if r.promoted && self.failover_in_progress && self.failover_state == FailoverState::WaitPromotion {
            self.config_epoch = self.failover_epoch;
            self.failover_state = FailoverState::ReconfSlaves;
            self.failover_state_change_time = now;
            self.event('#', "+promoted-slave", Who::Replica(i), "");
            self.event('#', "+failover-state-reconf-slaves", Who::Master, "");
            self.force_hello_update();
            return;
        }
        let wait = PUBLISH_PERIOD * 4;
        if !r.promoted && self.master_looks_sane() && r.no_down_for(wait, 0, now) && now - r.role_reported_time > wait {
            let to = (self.master.host.clone(), self.master.port);
            if self.send_slaveof(Who::Replica(i), Some(to)) {
                self.event('*', "+convert-to-slave", Who::Replica(i), "");
            }
        }
    }

    /// A replica's INFO says `role:slave`: maybe of the wrong master, maybe in reconfiguration.
    fn replica_reports_slave(&mut self, i: usize) {
        let now = self.ms();
        let (mhost, mport) = (self.master.host.clone(), self.master.port);
        let r = &self.replicas[i];
        let wrong_master = r.slave_master_port != mport
            || r.slave_master_host.as_deref().is_none_or(|h| !h.eq_ignore_ascii_case(&mhost));
        let wait = self.cfg.failover_timeout_ms as i64;
        if wrong_master
            && self.master_looks_sane()
            && r.no_down_for(wait, 0, now)
            && now - r.slave_conf_change_time > wait
            && self.send_slaveof(Who::Replica(i), Some((mhost, mport)))
        {
            self.event('*', "+fix-slave-config", Who::Replica(i), "");
        }
        let promoted = self.promoted.and_then(|p| self.replicas.get(p)).map(|p| (p.host.clone(), p.port));
        let r = &mut self.replicas[i];
        if r.reconf_sent {
            let to_promoted = promoted.as_ref().is_some_and(|(h, p)| {
                r.slave_master_host.as_deref().is_some_and(|mh| mh.eq_ignore_ascii_case(h)) && r.slave_master_port == *p
            });
            if to_promoted {
                r.reconf_sent = false;
                r.reconf_inprog = true;
                self.event('*', "+slave-reconf-inprog", Who::Replica(i), "");
            }
        }
        let r = &mut self.replicas[i];
        if r.reconf_inprog && r.slave_master_link_up {
            r.reconf_inprog = false;
            r.reconf_done = true;
            self.event('*', "+slave-reconf-done", Who::Replica(i), "");
        }
    }

    /// `sentinelForceHelloUpdateForMaster`: hellos go out at the next timer run.
    fn force_hello_update(&mut self) {
        let at = self.ms() - PUBLISH_PERIOD - 1;
        for p in &mut self.peers {
            p.last_pub_time = p.last_pub_time.min(at);
        }
    }

    // ----- the timer -----

    /// `sentinelTimer` for our one master: the master, its replicas, the other sentinels.
    fn timer(&mut self) {
        self.handle_instance(Who::Master);
        for i in 0..self.replicas.len() {
            if i < self.replicas.len() {
                self.handle_instance(Who::Replica(i));
            }
        }
        for i in 0..self.peers.len() {
            self.handle_instance(Who::Peer(i));
        }
        if self.failover_state == FailoverState::UpdateConfig {
            self.switch_to_promoted();
        }
    }

    /// `sentinelHandleRedisInstance`.
    fn handle_instance(&mut self, who: Who) {
        self.reconnect(who);
        self.send_periodic(who);
        self.check_sdown(who);
        if who == Who::Master {
            self.check_odown();
            if self.start_failover_if_needed() {
                self.ask_master_state(true);
            }
            self.failover_state_machine();
            self.ask_master_state(false);
        }
    }

    /// `sentinelCheckSubjectivelyDown`.
    fn check_sdown(&mut self, who: Who) {
        let now = self.ms();
        let down_after = self.cfg.down_after_ms as i64;
        let inst = self.inst(who);
        let link = &inst.link;
        let elapsed = if link.act_ping_time != 0 {
            now - link.act_ping_time
        } else if link.disconnected {
            now - link.last_avail_time
        } else {
            0
        };
        // A connection that answers nothing for half the down-after period is replaced.
        if link.conn.is_some()
            && now - link.cc_conn_time > MIN_LINK_RECONNECT_PERIOD
            && link.act_ping_time != 0
            && now - link.act_ping_time > down_after / 2
            && now - link.last_pong_time > down_after / 2
        {
            self.close_link(who);
        }
        let inst = self.inst(who);
        let master_claims_slave = who == Who::Master
            && inst.role_reported == Kind::Slave
            && now - inst.role_reported_time > down_after + INFO_PERIOD * 2;
        if elapsed > down_after || master_claims_slave {
            if !inst.sdown {
                self.event('#', "+sdown", who, "");
                let inst = self.inst_mut(who);
                inst.s_down_since = now;
                inst.sdown = true;
            }
        } else if inst.sdown {
            self.event('#', "-sdown", who, "");
            self.inst_mut(who).sdown = false;
        }
    }

    /// `sentinelCheckObjectivelyDown`: our SDOWN plus the sentinels that said it is down.
    fn check_odown(&mut self) {
        let mut quorum = 0;
        let mut odown = false;
        if self.master.sdown {
            quorum = 1 + self.peers.iter().filter(|p| p.master_down).count() as u32;
            odown = quorum >= self.cfg.quorum;
        }
        if odown {
            if !self.odown {
                let q = self.cfg.quorum;
                self.event('#', "+odown", Who::Master, &format!(" #quorum {quorum}/{q}"));
                self.odown = true;
                self.o_down_since = self.ms();
            }
        } else if self.odown {
            self.event('#', "-odown", Who::Master, "");
            self.odown = false;
        }
    }

    /// `sentinelAskMasterStateToOtherSentinels`.
    fn ask_master_state(&mut self, forced: bool) {
        let now = self.ms();
        let (host, port) = (self.master.host.clone(), self.master.port.to_string());
        let epoch = self.current_epoch.to_string();
        let runid = if self.failover_state > FailoverState::None { self.myid.clone() } else { "*".to_string() };
        for i in 0..self.peers.len() {
            let p = &mut self.peers[i];
            if now - p.last_master_down_reply_time > ASK_PERIOD * 5 {
                p.master_down = false;
                p.leader = None;
            }
            if !self.master.sdown || p.link.disconnected {
                continue;
            }
            if !forced && now - p.last_master_down_reply_time < ASK_PERIOD {
                continue;
            }
            let args = ["SENTINEL", "is-master-down-by-addr", &host, &port, &epoch, &runid];
            self.send_command(Who::Peer(i), &args, Pending::IsMasterDown);
        }
    }

    /// `sentinelStartFailoverIfNeeded`.
    fn start_failover_if_needed(&mut self) -> bool {
        if !self.odown || self.failover_in_progress {
            return false;
        }
        if self.ms() - self.failover_start_time < self.cfg.failover_timeout_ms as i64 * 2 {
            return false;
        }
        self.failover_state = FailoverState::WaitStart;
        self.failover_in_progress = true;
        self.current_epoch += 1;
        self.failover_epoch = self.current_epoch;
        let epoch = self.current_epoch;
        self.event_plain('#', "+new-epoch", epoch.to_string());
        self.event('#', "+try-failover", Who::Master, "");
        self.failover_start_time = self.ms() + self.rand_below(MAX_DESYNC);
        self.failover_state_change_time = self.ms();
        true
    }

    /// `sentinelVoteLeader`: our vote for `epoch` (the first request of an epoch wins it).
    fn vote_leader(&mut self, req_epoch: u64, req_runid: &str) -> (Option<String>, u64) {
        if req_epoch > self.current_epoch {
            self.current_epoch = req_epoch;
            self.event_plain('#', "+new-epoch", req_epoch.to_string());
        }
        if self.master_leader_epoch < req_epoch && self.current_epoch <= req_epoch {
            self.master_leader = Some(req_runid.to_string());
            self.master_leader_epoch = self.current_epoch;
            let e = self.master_leader_epoch;
            self.event_plain('#', "+vote-for-leader", format!("{req_runid} {e}"));
            if !req_runid.eq_ignore_ascii_case(&self.myid) {
                self.failover_start_time = self.ms() + self.rand_below(MAX_DESYNC);
            }
        }
        (self.master_leader.clone(), self.master_leader_epoch)
    }

    /// `sentinelGetLeader`: the winner needs a majority of all sentinels and at least `quorum`.
    fn get_leader(&mut self, epoch: u64) -> Option<String> {
        let voters = self.peers.len() as u64 + 1;
        let mut counters: BTreeMap<String, u64> = BTreeMap::new();
        for p in &self.peers {
            if let (Some(l), true) = (&p.leader, p.leader_epoch == self.current_epoch) {
                *counters.entry(l.clone()).or_default() += 1;
            }
        }
        let mut winner: Option<String> = None;
        let mut max_votes = 0;
        for (id, v) in &counters {
            if *v > max_votes {
                max_votes = *v;
                winner = Some(id.clone());
            }
        }
        let candidate = winner.clone().unwrap_or_else(|| self.myid.clone());
        let (myvote, leader_epoch) = self.vote_leader(epoch, &candidate);
        if let (Some(v), true) = (myvote, leader_epoch == epoch) {
            let votes = counters.entry(v.clone()).or_default();
            *votes += 1;
            if *votes > max_votes {
                max_votes = *votes;
                winner = Some(v);
            }
        }
        let needed = (voters / 2 + 1).max(self.cfg.quorum as u64);
        winner.filter(|_| max_votes >= needed)
    }

    /// `sentinelFailoverStateMachine`.
    fn failover_state_machine(&mut self) {
        if !self.failover_in_progress {
            return;
        }
        match self.failover_state {
            FailoverState::WaitStart => self.failover_wait_start(),
            FailoverState::SelectSlave => self.failover_select_slave(),
            FailoverState::SendSlaveofNoone => self.failover_send_slaveof_noone(),
            FailoverState::WaitPromotion => {
                if self.ms() - self.failover_state_change_time > self.cfg.failover_timeout_ms as i64 {
                    self.event('#', "-failover-abort-slave-timeout", Who::Master, "");
                    self.abort_failover();
                }
            }
            FailoverState::ReconfSlaves => self.failover_reconf_next_slave(),
            FailoverState::None | FailoverState::UpdateConfig => {}
        }
    }

    fn set_failover_state(&mut self, s: FailoverState) {
        self.failover_state = s;
        self.failover_state_change_time = self.ms();
    }

    fn failover_wait_start(&mut self) {
        let leader = self.get_leader(self.failover_epoch);
        let is_leader = leader.is_some_and(|l| l.eq_ignore_ascii_case(&self.myid));
        if !is_leader {
            let timeout = ELECTION_TIMEOUT.min(self.cfg.failover_timeout_ms as i64);
            if self.ms() - self.failover_start_time > timeout {
                self.event('#', "-failover-abort-not-elected", Who::Master, "");
                self.abort_failover();
            }
            return;
        }
        self.event('#', "+elected-leader", Who::Master, "");
        self.set_failover_state(FailoverState::SelectSlave);
        self.event('#', "+failover-state-select-slave", Who::Master, "");
    }

    /// `sentinelSelectSlave`: the usable replicas, best first.
    fn select_slave(&self) -> Option<usize> {
        let now = self.ms();
        let down_after = self.cfg.down_after_ms as i64;
        let mut max_master_down = down_after * 10;
        if self.master.sdown {
            max_master_down += now - self.master.s_down_since;
        }
        let validity = if self.master.sdown { PING_PERIOD * 5 } else { INFO_PERIOD * 3 };
        let mut ok: Vec<usize> = (0..self.replicas.len())
            .filter(|&i| {
                let r = &self.replicas[i];
                !r.sdown
                    && !r.link.disconnected
                    && now - r.link.last_avail_time <= PING_PERIOD * 5
                    && r.slave_priority != 0
                    && now - r.info_refresh <= validity
                    && r.master_link_down_time <= max_master_down
            })
            .collect();
        ok.sort_by(|&a, &b| {
            let (a, b) = (&self.replicas[a], &self.replicas[b]);
            a.slave_priority.cmp(&b.slave_priority).then(b.slave_repl_offset.cmp(&a.slave_repl_offset)).then_with(
                || match (&a.runid, &b.runid) {
                    (Some(x), Some(y)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, None) => std::cmp::Ordering::Equal,
                },
            )
        });
        ok.first().copied()
    }

    fn failover_select_slave(&mut self) {
        match self.select_slave() {
            None => {
                self.event('#', "-failover-abort-no-good-slave", Who::Master, "");
                self.abort_failover();
            }
            Some(i) => {
                self.event('#', "+selected-slave", Who::Replica(i), "");
                self.replicas[i].promoted = true;
                self.promoted = Some(i);
                self.set_failover_state(FailoverState::SendSlaveofNoone);
                self.event('*', "+failover-state-send-slaveof-noone", Who::Replica(i), "");
            }
        }
    }

    fn failover_send_slaveof_noone(&mut self) {
        let Some(i) = self.promoted else {
            return;
        };
        if self.replicas[i].link.disconnected {
            if self.ms() - self.failover_state_change_time > self.cfg.failover_timeout_ms as i64 {
                self.event('#', "-failover-abort-slave-timeout", Who::Master, "");
                self.abort_failover();
            }
            return;
        }
        if !self.send_slaveof(Who::Replica(i), None) {
            return;
        }
        self.event('*', "+failover-state-wait-promotion", Who::Replica(i), "");
        self.set_failover_state(FailoverState::WaitPromotion);
    }

    /// `sentinelFailoverReconfNextSlave`: SLAVEOF the promoted replica, `parallel-syncs` at a time.
    fn failover_reconf_next_slave(&mut self) {
        let now = self.ms();
        let Some(p) = self.promoted else {
            return;
        };
        let to = (self.replicas[p].host.clone(), self.replicas[p].port);
        let mut in_progress = self.replicas.iter().filter(|r| r.reconf_sent || r.reconf_inprog).count() as u32;
        for i in 0..self.replicas.len() {
            if in_progress >= self.cfg.parallel_syncs {
                break;
            }
            let r = &mut self.replicas[i];
            if r.promoted || r.reconf_done {
                continue;
            }
            if r.reconf_sent && now - r.slave_reconf_sent_time > SLAVE_RECONF_TIMEOUT {
                r.reconf_sent = false;
                r.reconf_done = true;
                self.event('*', "-slave-reconf-sent-timeout", Who::Replica(i), "");
            }
            let r = &self.replicas[i];
            if r.reconf_sent || r.reconf_inprog || r.link.disconnected {
                continue;
            }
            if self.send_slaveof(Who::Replica(i), Some(to.clone())) {
                let r = &mut self.replicas[i];
                r.reconf_sent = true;
                r.slave_reconf_sent_time = now;
                self.event('*', "+slave-reconf-sent", Who::Replica(i), "");
                in_progress += 1;
            }
        }
        self.failover_detect_end();
    }

    /// `sentinelFailoverDetectEnd`.
    fn failover_detect_end(&mut self) {
        let Some(p) = self.promoted else {
            return;
        };
        if self.replicas[p].sdown {
            return;
        }
        let elapsed = self.ms() - self.failover_state_change_time;
        let mut not_reconfigured = self.replicas.iter().filter(|r| !(r.promoted || r.reconf_done || r.sdown)).count();
        let timeout = elapsed > self.cfg.failover_timeout_ms as i64;
        if timeout {
            not_reconfigured = 0;
            self.event('#', "+failover-end-for-timeout", Who::Master, "");
        }
        if not_reconfigured == 0 {
            self.event('#', "+failover-end", Who::Master, "");
            self.set_failover_state(FailoverState::UpdateConfig);
        }
        if timeout {
            let to = (self.replicas[p].host.clone(), self.replicas[p].port);
            for i in 0..self.replicas.len() {
                let r = &self.replicas[i];
                if r.promoted || r.reconf_done || r.reconf_sent || r.link.disconnected {
                    continue;
                }
                if self.send_slaveof(Who::Replica(i), Some(to.clone())) {
                    self.event('*', "+slave-reconf-sent-be", Who::Replica(i), "");
                    self.replicas[i].reconf_sent = true;
                }
            }
        }
    }

    /// `sentinelAbortFailover`.
    fn abort_failover(&mut self) {
        self.failover_in_progress = false;
        self.set_failover_state(FailoverState::None);
        if let Some(p) = self.promoted.take() {
            if let Some(r) = self.replicas.get_mut(p) {
                r.promoted = false;
            }
        }
    }

    /// `sentinelFailoverSwitchToPromotedSlave`.
    fn switch_to_promoted(&mut self) {
        let (host, port) = match self.promoted.and_then(|p| self.replicas.get(p)) {
            Some(r) => (r.host.clone(), r.port),
            None => (self.master.host.clone(), self.master.port),
        };
        let m = &self.master;
        let msg = format!("{} {} {} {host} {port}", m.name, m.host, m.port);
        self.event_plain('#', "+switch-master", msg);
        self.reset_master_and_change_address(&host, port);
    }

    /// `sentinelResetMasterAndChangeAddress`: the master moves to `host:port`; every other
    /// replica, and the old master, become replicas to watch (and, for the old master, to
    /// convert when it returns).
    fn reset_master_and_change_address(&mut self, host: &str, port: u16) {
        let now = self.ms();
        let mut slaves: Vec<(String, u16)> = self
            .replicas
            .iter()
            .filter(|r| !(r.host == host && r.port == port))
            .map(|r| (r.host.clone(), r.port))
            .collect();
        if !(self.master.host == host && self.master.port == port) {
            slaves.push((self.master.host.clone(), self.master.port));
        }
        // sentinelResetMaster (keeping the sentinels): every replica link is released.
        for i in 0..self.replicas.len() {
            self.close_link(Who::Replica(i));
        }
        self.replicas.clear();
        self.close_link(Who::Master);
        self.odown = false;
        self.failover_in_progress = false;
        self.master_leader = None;
        self.failover_state = FailoverState::None;
        self.failover_state_change_time = 0;
        self.failover_start_time = 0;
        self.promoted = None;
        let m = &mut self.master;
        m.sdown = false;
        m.runid = None;
        m.slave_master_host = None;
        m.link.act_ping_time = now;
        m.link.last_ping_time = 0;
        m.link.last_avail_time = now;
        m.link.last_pong_time = now;
        m.role_reported_time = now;
        m.role_reported = Kind::Master;
        m.host = host.to_string();
        m.port = port;
        m.s_down_since = 0;
        self.o_down_since = 0;
        for (h, p) in slaves {
            self.replicas.push(Instance::slave(&h, p, now));
            let at = self.replicas.len() - 1;
            self.event('*', "+slave", Who::Replica(at), "");
        }
    }

    /// `sentinelProcessHelloMessage` for a hello another sentinel sent us.
    fn process_hello(&mut self, hello: &str) {
        let t: Vec<&str> = hello.split(',').collect();
        if t.len() != 8 || t[4] != self.cfg.master_name {
            return;
        }
        let port = t[1].parse::<u16>().unwrap_or(0);
        let Some(si) =
            self.peers.iter().position(|p| p.host == t[0] && p.port == port && p.runid.as_deref() == Some(t[2]))
        else {
            return; // Unknown sentinels are not discovered here (static configuration).
        };
        let current_epoch = t[3].parse::<u64>().unwrap_or(0);
        let master_port = t[6].parse::<u16>().unwrap_or(0);
        let master_config_epoch = t[7].parse::<u64>().unwrap_or(0);
        if current_epoch > self.current_epoch {
            self.current_epoch = current_epoch;
            self.event_plain('#', "+new-epoch", current_epoch.to_string());
        }
        if self.config_epoch < master_config_epoch {
            self.config_epoch = master_config_epoch;
            if master_port != self.master.port || !self.master.host.eq_ignore_ascii_case(t[5]) {
                self.event('#', "+config-update-from", Who::Peer(si), "");
                let m = &self.master;
                let msg = format!("{} {} {} {} {master_port}", m.name, m.host, m.port, t[5]);
                self.event_plain('#', "+switch-master", msg);
                let host = t[5].to_string();
                self.reset_master_and_change_address(&host, master_port);
            }
        }
    }

    // ----- serving clients (other sentinels, the console) -----

    fn serve(&mut self, conn: ConnId) {
        loop {
            let Some(ConnRole::In(query)) = self.conns.get_mut(&conn) else {
                return;
            };
            let argv = match parse_command(query) {
                Ok(Parsed::Complete(argv, used)) => {
                    query.drain(..used);
                    argv
                }
                Ok(Parsed::Incomplete) => return,
                Err(e) => {
                    self.push_send(conn, Frame::error(format!("ERR {e}")).encode());
                    self.outputs.push_back(Output::Close { conn });
                    self.conns.remove(&conn);
                    return;
                }
            };
            if argv.is_empty() {
                continue;
            }
            let reply = self.command(&argv);
            self.push_send(conn, reply.encode());
        }
    }

    /// The commands a sentinel answers here: PING, PUBLISH (hellos), and SENTINEL MYID,
    /// GET-MASTER-ADDR-BY-NAME, IS-MASTER-DOWN-BY-ADDR.
    pub fn command(&mut self, argv: &[Vec<u8>]) -> Frame {
        let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
        let arg = |i: usize| argv.get(i).map(|a| String::from_utf8_lossy(a).into_owned()).unwrap_or_default();
        let arity = |what: &str| Frame::error(format!("ERR wrong number of arguments for '{what}' command"));
        match name.as_str() {
            "ping" => Frame::Simple("PONG".into()),
            "publish" if argv.len() == 3 => {
                if arg(1) != HELLO_CHANNEL {
                    return Frame::error("ERR Only HELLO messages are accepted by Sentinel instances.");
                }
                self.process_hello(&arg(2));
                Frame::Integer(1)
            }
            "publish" => arity("publish"),
            "sentinel" if argv.len() >= 2 => self.sentinel_command(argv),
            "sentinel" => arity("sentinel"),
            _ => crate::commands::unknown_command(argv),
        }
    }

    fn sentinel_command(&mut self, argv: &[Vec<u8>]) -> Frame {
        let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
        let arg = |i: usize| argv.get(i).map(|a| String::from_utf8_lossy(a).into_owned()).unwrap_or_default();
        let arity = || Frame::error(format!("ERR wrong number of arguments for 'sentinel|{sub}' command"));
        match sub.as_str() {
            "myid" if argv.len() == 2 => Frame::bulk(&self.myid),
            "get-master-addr-by-name" if argv.len() == 3 => {
                if arg(2) != self.cfg.master_name {
                    return Frame::NullArray;
                }
                let (h, p) = self.master_addr();
                Frame::Array(vec![Frame::bulk(h), Frame::bulk(p.to_string())])
            }
            "is-master-down-by-addr" if argv.len() == 6 => {
                let (Ok(port), Ok(epoch)) = (arg(3).parse::<i64>(), arg(4).parse::<i64>()) else {
                    return Frame::error("ERR value is not an integer or out of range");
                };
                let ours = arg(2) == self.master.host && port == self.master.port as i64;
                let down = ours && self.master.sdown;
                let runid = arg(5);
                let (leader, leader_epoch) =
                    if ours && runid != "*" { self.vote_leader(epoch.max(0) as u64, &runid) } else { (None, 0) };
                Frame::Array(vec![
                    Frame::Integer(i64::from(down)),
                    Frame::bulk(leader.as_deref().unwrap_or("*")),
                    Frame::Integer(leader_epoch as i64),
                ])
            }
            "myid" | "get-master-addr-by-name" | "is-master-down-by-addr" => arity(),
            _ => Frame::error(format!(
                "ERR unknown subcommand '{}'. Try SENTINEL HELP.",
                String::from_utf8_lossy(&argv[1]).chars().take(128).collect::<String>()
            )),
        }
    }

    /// A snapshot for the page and tests.
    pub fn view(&self) -> SentinelView {
        let inst = |i: &Instance| InstanceView {
            name: i.name.clone(),
            host: i.host.clone(),
            port: i.port,
            sdown: i.sdown,
            role_reported: i.role_reported.name(),
            offset: i.slave_repl_offset,
            priority: i.slave_priority,
            link_up: i.slave_master_link_up,
            master_down: i.master_down,
        };
        // The master being monitored, as SENTINEL MASTERS lists it (with its down flags); during a
        // failover's reconfiguration, get-master-addr-by-name already answers the promoted one.
        let (master_host, master_port) = (self.master.host.clone(), self.master.port);
        SentinelView {
            index: 0,
            name: self.name.clone(),
            host: self.host.clone(),
            port: self.port,
            myid: self.myid.clone(),
            master_name: self.cfg.master_name.clone(),
            master_host,
            master_port,
            sdown: self.master.sdown,
            odown: self.odown,
            quorum: self.cfg.quorum,
            failover_state: self.failover_state.name(),
            current_epoch: self.current_epoch,
            config_epoch: self.config_epoch,
            replicas: self.replicas.iter().map(inst).collect(),
            sentinels: self.peers.iter().map(inst).collect(),
            events: self.history.iter().cloned().collect(),
            timers: self.timers(),
        }
    }

    /// The timers a learner waits on, in virtual µs (the sentinel counts in unix ms).
    fn timers(&self) -> Vec<Timer> {
        let virtual_us = |ms: i64| ((ms - crate::node::EPOCH_UNIX_MS).max(0) as u64).saturating_mul(1000);
        let timer = |kind, since: i64, after: i64| Timer {
            kind,
            since: Some(virtual_us(since)),
            deadline: virtual_us(since.saturating_add(after)),
            replica_port: None,
        };
        let mut out = Vec::new();
        let link = &self.master.link;
        let waiting = if link.act_ping_time != 0 {
            Some(link.act_ping_time)
        } else {
            link.disconnected.then_some(link.last_avail_time)
        };
        if let (Some(since), false) = (waiting, self.master.sdown) {
            out.push(timer(TimerKind::DownAfter, since, self.cfg.down_after_ms as i64));
        }
        if self.failover_in_progress {
            out.push(timer(TimerKind::FailoverTimeout, self.failover_start_time, self.cfg.failover_timeout_ms as i64));
        }
        out
    }
}

fn unix_ms(now: Micros) -> i64 {
    crate::node::EPOCH_UNIX_MS + (now / 1000) as i64
}

/// The `(ip, port)` of a master's INFO line `slaveN:ip=...,port=...,...`.
fn slave_line(l: &str) -> Option<(String, u16)> {
    let rest = l.strip_prefix("slave")?;
    if !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let field = |name: &str| rest.split([',', ':']).find_map(|f| f.strip_prefix(name)).map(str::to_string);
    let ip = field("ip=")?;
    let port = field("port=")?.parse().ok()?;
    Some((ip, port))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn slave_lines_of_info_give_the_replica_addresses() {
        assert_eq!(
            slave_line("slave0:ip=127.0.0.1,port=6380,state=online,offset=42,lag=0"),
            Some(("127.0.0.1".into(), 6380))
        );
        assert_eq!(slave_line("slave_repl_offset:42"), None);
        assert_eq!(slave_line("slave1:ip=10.0.0.2,port=x"), None);
    }

    #[test]
    fn a_sentinel_answers_the_commands_other_sentinels_send() {
        let mut s = Sentinel::new("S1", ("127.0.0.1", 26379), SentinelConfig::default(), ("127.0.0.1", 6379), 1, 0);
        let argv = |s: &str| s.split(' ').map(|a| a.as_bytes().to_vec()).collect::<Vec<_>>();
        assert_eq!(s.command(&argv("PING")), Frame::Simple("PONG".into()));
        let r = s.command(&argv("SENTINEL get-master-addr-by-name mymaster"));
        assert_eq!(r, Frame::Array(vec![Frame::bulk("127.0.0.1"), Frame::bulk("6379")]));
        assert_eq!(s.command(&argv("SENTINEL get-master-addr-by-name other")), Frame::NullArray);
        // Not down: no; a vote request for epoch 1 gets our vote.
        let r = s.command(&argv("SENTINEL is-master-down-by-addr 127.0.0.1 6379 1 abcd"));
        assert_eq!(r, Frame::Array(vec![Frame::Integer(0), Frame::bulk("abcd"), Frame::Integer(1)]));
        // One vote per epoch: a second candidate gets the first one's name.
        let r = s.command(&argv("SENTINEL is-master-down-by-addr 127.0.0.1 6379 1 ef01"));
        assert_eq!(r, Frame::Array(vec![Frame::Integer(0), Frame::bulk("abcd"), Frame::Integer(1)]));
        assert_eq!(
            s.command(&argv("SENTINEL nope")),
            Frame::error("ERR unknown subcommand 'nope'. Try SENTINEL HELP.")
        );
        assert_eq!(
            s.command(&argv("SENTINEL myid x")),
            Frame::error("ERR wrong number of arguments for 'sentinel|myid' command")
        );
        assert_eq!(
            s.command(&argv("PUBLISH chan x")),
            Frame::error("ERR Only HELLO messages are accepted by Sentinel instances.")
        );
        let events = s.view().events;
        assert!(events.iter().any(|e| e == "# +monitor master mymaster 127.0.0.1 6379 quorum 2"), "{events:?}");
        assert!(events.iter().any(|e| e == "# +vote-for-leader abcd 1"), "{events:?}");
    }
}
