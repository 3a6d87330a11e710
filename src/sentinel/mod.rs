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

use crate::actor::Actor;
use crate::node::replication::random_hex40;
use crate::node::{ConnId, LogLine, Micros, Output, Timer, TimerKind};
use crate::resp::{encode_command, parse_command, parse_frame, Frame, Parsed};

mod console;
mod failover;
mod info;
mod links;

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

/// What happens to a sentinel: its connections and its timer.
impl Actor for Sentinel {
    /// An inbound connection (another sentinel, or a console) was accepted; returns its id.
    fn accept(&mut self, now: Micros, _peer_host: &str, _peer_port: u16) -> ConnId {
        self.advance(now);
        let id = self.alloc_conn();
        self.conns.insert(id, ConnRole::In(Vec::new()));
        id
    }

    /// An outbound connection is established: buffered commands go out.
    fn connected(&mut self, now: Micros, conn: ConnId) {
        self.advance(now);
        if let Some(who) = self.who_by_conn(conn) {
            let link = &mut self.inst_mut(who).link;
            link.established = true;
            let data = std::mem::take(&mut link.outbuf);
            self.push_send(conn, data);
        }
    }

    /// An outbound connection failed: whatever the reason, the link is retried on its own
    /// schedule.
    fn connect_failed(&mut self, now: Micros, conn: ConnId, _reason: &str) {
        self.closed(now, conn);
    }

    /// The peer closed a connection, or it was reset.
    fn closed(&mut self, now: Micros, conn: ConnId) {
        self.advance(now);
        if let Some(who) = self.who_by_conn(conn) {
            self.drop_link(who);
        }
        self.conns.remove(&conn);
    }

    /// Bytes arrived on a connection.
    fn receive(&mut self, now: Micros, conn: ConnId, data: &[u8]) {
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
    fn tick(&mut self, now: Micros) {
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

    /// When [`Actor::tick`] is next needed.
    fn next_deadline(&self) -> Micros {
        self.next_timer
    }

    /// The next thing to do for the environment.
    fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The next event or log line.
    fn poll_log(&mut self) -> Option<LogLine> {
        self.logs.pop_front()
    }
}

fn unix_ms(now: Micros) -> i64 {
    crate::node::EPOCH_UNIX_MS + (now / 1000) as i64
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::info::slave_line;
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
