//! The master side: SYNC/PSYNC, the BGSAVE for replication, the payload framing, and streaming
//! the shared replication buffer to replicas (REDIS-REPLICATION.md §3, §4).

use super::backlog::Backlog;
use super::{random_hex40, SlaveState, NULL_REPLID};
use crate::node::{Conn, ConnId, Micros, Node};
use crate::rdb::{write_rdb, AuxInfo};
use crate::resp::{encode_command, Frame};

/// What the master knows of one replica connection.
#[derive(Clone, Debug)]
pub(crate) struct ReplicaPeer {
    pub state: SlaveState,
    /// Last `REPLCONF ACK` offset (0 until the first ACK).
    pub ack_off: i64,
    /// When the last ACK arrived.
    pub ack_time: Micros,
    /// The next stream offset to send; set at `+FULLRESYNC` (offset + 1) or `+CONTINUE`.
    pub cursor: Option<i64>,
    /// Connected with the pre-PSYNC `SYNC` command: no ACKs expected.
    pub pre_psync: bool,
    /// After a diskless transfer: stream only after the first ACK.
    pub stream_on_ack: bool,
    /// When the replica started waiting for a BGSAVE.
    pub wait_since: Micros,
    /// When its output buffer first went over the soft limit (cleared when back under).
    pub soft_since: Option<Micros>,
    /// SEND_BULK: the disk RDB (with its `$<len>` header) and how much of it was written.
    pub bulk: Option<(std::sync::Arc<Vec<u8>>, usize)>,
}

impl ReplicaPeer {
    /// A replica that just issued SYNC/PSYNC, in `state`, with its next stream byte at `cursor`.
    fn new(state: SlaveState, now: Micros, cursor: Option<i64>, pre_psync: bool) -> Self {
        ReplicaPeer {
            state,
            ack_off: 0,
            ack_time: now,
            cursor,
            pre_psync,
            stream_on_ack: false,
            wait_since: now,
            soft_since: None,
            bulk: None,
        }
    }
}

/// The master side of a node: the replicas it serves and what it owes them. Every node has one
/// (a replica serves sub-replicas); the replica side is [`super::replica::MasterLink`].
#[derive(Clone, Debug)]
pub(crate) struct MasterSide {
    /// Replica connections in the order they attached (INFO's slave0, slave1, ...).
    pub replicas: Vec<ConnId>,
    /// The db of the last command fed to replicas (-1 forces a SELECT).
    pub slaveseldb: i64,
    /// Since when no replica has been attached (for `repl-backlog-ttl`).
    pub no_replicas_since: Micros,
    /// Clients blocked in WAIT.
    pub waiters: Vec<super::wait::Waiter>,
    /// A WAIT blocked since the last GETACK was fed.
    pub getack_pending: bool,
    /// Replicas that ACKed within min-replicas-max-lag, refreshed by the cron.
    pub good_replicas: usize,
    /// Stream bytes were fed that the streaming replicas have not been written yet.
    pub stream_unflushed: bool,
}

impl MasterSide {
    /// No replicas yet, at `now`.
    pub fn new(now: Micros) -> Self {
        MasterSide {
            replicas: Vec::new(),
            slaveseldb: -1,
            no_replicas_since: now,
            waiters: Vec::new(),
            getack_pending: false,
            good_replicas: 0,
            stream_unflushed: false,
        }
    }
}

/// Why a master answered a PSYNC as it did (REDIS-REPLICATION.md §4.4), in the order it checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PsyncReason {
    /// `PSYNC ? -1`: the replica asked for a full resync.
    FullRequested,
    /// The id is neither `master_replid` nor `master_replid2`.
    IdMismatch,
    /// The id is `master_replid2` but the offset is past `second_repl_offset`.
    PastSecondOffset,
    /// The id matches but there is no backlog.
    NoBacklog,
    /// The offset is before the backlog's first byte: that history was dropped.
    BeforeBacklog,
    /// The offset is past `master_repl_offset + 1`: a history the master never had.
    AfterBacklog,
    /// Accepted: `+CONTINUE`, then the backlog from the offset on.
    Continue,
}

/// A master's answer to one `PSYNC <id> <offset>`, with the state it was decided on, so that a
/// checker can hold it against the rule of REDIS-REPLICATION.md §4.4 and the page can show it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PsyncDecision {
    /// The replica's listening port (`REPLCONF listening-port`), 0 if it gave none.
    pub replica_port: u16,
    /// The replication id asked for.
    pub id: String,
    /// The offset asked for.
    pub offset: i64,
    /// `master_replid` then.
    pub replid: String,
    /// `master_replid2` then.
    pub replid2: String,
    /// `second_repl_offset` then.
    pub second_offset: i64,
    /// `[first byte, master_repl_offset + 1]` of the backlog, if there was one.
    pub backlog: Option<(i64, i64)>,
    /// Whether `+CONTINUE` was answered.
    pub accepted: bool,
    /// Why.
    pub reason: PsyncReason,
    /// Backlog bytes sent after `+CONTINUE` (`master_repl_offset + 1 - offset`), else 0.
    pub bytes: i64,
}

/// Where the BGSAVE child writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildTarget {
    /// `dump.rdb`, then sent with `$<len>` framing.
    Disk,
    /// Straight to the replicas' sockets with `$EOF:<mark>` framing.
    Socket,
}

/// A forked BGSAVE child. The snapshot is taken at fork time (an O(1) clone of persistent maps),
/// so later writes never reach it; its bytes are released as virtual time passes, at
/// `lab-rdb-bytes-per-sec`, so the page can show progress.
#[derive(Clone, Debug)]
pub(crate) struct RdbChild {
    pub target: ChildTarget,
    pub data: Vec<u8>,
    pub produced: usize,
    pub started: Micros,
    pub rate: u64,
    /// Diskless: the EOF mark and the replicas fed by this child.
    pub mark: String,
    pub socket_replicas: Vec<ConnId>,
}

impl RdbChild {
    fn due(&self, now: Micros) -> usize {
        let elapsed = now.saturating_sub(self.started) as u128;
        let bytes = elapsed * self.rate as u128 / 1_000_000;
        (bytes.min(self.data.len() as u128)) as usize
    }

    /// When the next 16 KB (or the last bytes) will be ready.
    pub fn next_deadline(&self) -> Option<Micros> {
        if self.produced >= self.data.len() {
            return Some(self.started);
        }
        let target = (self.produced + 16 * 1024).min(self.data.len()) as u128;
        let us = (target * 1_000_000).div_ceil(self.rate.max(1) as u128);
        Some(self.started + us as Micros)
    }

    /// `{produced, total}` for the page.
    pub fn progress(&self) -> (usize, usize) {
        (self.produced, self.data.len())
    }
}

/// The ip a replica is known by: the one it announced with `REPLCONF ip-address`, else the
/// socket's peer address (Redis's `replicationGetSlaveName`).
pub(crate) fn replica_ip(c: &Conn) -> &str {
    c.announced_ip.as_deref().unwrap_or(&c.peer_host)
}

fn peer_name(c: &Conn) -> String {
    if c.listening_port == 0 {
        format!("{}:<unknown-replica-port>", replica_ip(c))
    } else {
        format!("{}:{}", replica_ip(c), c.listening_port)
    }
}

impl Node {
    pub(crate) fn replica_name(&self, conn: ConnId) -> String {
        self.conns.get(&conn).map(peer_name).unwrap_or_default()
    }

    fn peer_mut(&mut self, conn: ConnId) -> Option<&mut ReplicaPeer> {
        self.conns.get_mut(&conn).and_then(|c| c.replica.as_mut())
    }

    pub(crate) fn peer(&self, conn: ConnId) -> Option<&ReplicaPeer> {
        self.conns.get(&conn).and_then(|c| c.replica.as_ref())
    }

    /// Feeds one command generated on this node (a write, `ping`, `SELECT`) into the stream.
    /// Replicas never generate a stream of their own; with neither backlog nor replica nothing is
    /// fed and the offset does not move (§4.2).
    pub(crate) fn feed_command(&mut self, db: usize, argv: &[Vec<u8>]) {
        if self.master.is_some() || self.backlog.is_none() {
            return;
        }
        let mut bytes = Vec::new();
        if self.serving.slaveseldb != db as i64 {
            bytes.extend(encode_command(&[b"SELECT".to_vec(), db.to_string().into_bytes()]));
            self.serving.slaveseldb = db as i64;
        }
        let start = self.master_repl_offset + 1;
        let command_at = start + bytes.len() as i64;
        bytes.extend(encode_command(argv));
        self.feed_stream(&bytes);
        if command_at > start {
            self.note_propagated(&[b"SELECT".to_vec(), db.to_string().into_bytes()], db, start, command_at - 1);
        }
        self.note_propagated(argv, db, command_at, self.master_repl_offset);
    }

    fn note_propagated(&mut self, argv: &[Vec<u8>], db: usize, start: i64, end: i64) {
        let label = crate::resp::label_args(argv);
        self.note(crate::node::Note::Propagated { label, db, start, end });
    }

    /// Appends raw stream bytes to the backlog and advances `master_repl_offset`; the replicas
    /// that are streaming are sent them when the node is next asked for its outputs (see
    /// [`Node::flush_stream`]). A replica proxies its master's bytes through here too.
    pub(crate) fn feed_stream(&mut self, bytes: &[u8]) {
        let Some(backlog) = self.backlog.as_mut() else {
            return;
        };
        let new_block = backlog.append(bytes);
        self.master_repl_offset += bytes.len() as i64;
        self.serving.stream_unflushed = true;
        if new_block {
            self.check_output_buffer_limits(false);
        }
    }

    /// Writes what the stream gained to every replica that is streaming, as Redis does once per
    /// event-loop turn (`beforeSleep` → `handleClientsWithPendingWrites`): the commands of one
    /// pipeline reach a replica as one write, not one write each.
    pub(crate) fn flush_stream(&mut self) {
        if !self.serving.stream_unflushed {
            return;
        }
        self.serving.stream_unflushed = false;
        for conn in self.serving.replicas.clone() {
            self.flush_replica(conn);
        }
        self.trim_backlog();
    }

    /// `client-output-buffer-limit replica <hard> <soft> <seconds>`, with the hard limit never
    /// below `repl-backlog-size` (§3.8).
    pub(crate) fn replica_buffer_limits(&self) -> (u64, u64, u64) {
        let text = self.config_text.get("client-output-buffer-limit").map(String::as_str);
        let text = text.unwrap_or("normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
        let [hard, soft, secs] = crate::node::commands::class_limits(text, "slave");
        let hard = match hard {
            0 => 0,
            h => h.max(self.cfg.repl.backlog_size as u64),
        };
        (hard, soft, secs)
    }

    /// A replica's output buffer as Redis counts it: its span of the shared replication buffer.
    pub(crate) fn replica_output_buffer(&self, conn: ConnId) -> u64 {
        let cursor = self.peer(conn).and_then(|p| p.cursor);
        match (cursor, &self.backlog) {
            (Some(c), Some(b)) => b.referenced_span(c),
            _ => 0,
        }
    }

    /// Checks every replica's share of the replication buffer against
    /// `client-output-buffer-limit replica` and drops those over it: when a new block is
    /// appended (`freeClientAsync`, "scheduled to be closed ASAP") and from the clients cron
    /// (`freeClient`, "closed").
    pub(crate) fn check_output_buffer_limits(&mut self, from_cron: bool) {
        let (hard, soft, soft_secs) = self.replica_buffer_limits();
        for c in self.serving.replicas.clone() {
            let used = self.replica_output_buffer(c);
            let over_hard = hard > 0 && used >= hard;
            let over_soft = soft > 0 && used >= soft;
            // The first crossing of the soft limit only records the time (second resolution).
            let since = self.peer(c).and_then(|p| p.soft_since);
            let soft_since = if over_soft { Some(since.unwrap_or(self.now)) } else { None };
            let soft_expired = over_soft && since.is_some_and(|t| self.secs_since(t) > soft_secs);
            if let Some(p) = self.peer_mut(c) {
                p.soft_since = soft_since;
            }
            if over_hard || soft_expired {
                let info = self.client_info(c);
                let how = if from_cron { "closed" } else { "scheduled to be closed ASAP" };
                self.log('#', format!("Client {info} {how} for overcoming of output buffer limits."));
                self.close(c);
            }
        }
    }

    /// Sends an online replica what its socket takes of the stream from its cursor on; the
    /// rest waits in the shared replication buffer until the socket drains.
    fn flush_replica(&mut self, conn: ConnId) {
        let Some(p) = self.peer(conn) else {
            return;
        };
        if p.state != SlaveState::Online || p.stream_on_ack {
            return;
        }
        let Some(from) = p.cursor else {
            return;
        };
        let end = self.master_repl_offset + 1;
        let room = self.socket_room(conn);
        if from >= end || room == 0 {
            return;
        }
        let data = self.backlog.as_ref().map(|b| b.bytes_range(from, room)).unwrap_or_default();
        if let Some(p) = self.peer_mut(conn) {
            p.cursor = Some(from + data.len() as i64);
        }
        self.send_stream(conn, data, from);
    }

    /// A replica's socket has room again: continue its RDB, then its stream.
    pub(crate) fn socket_writable(&mut self, conn: ConnId) {
        self.send_bulk(conn);
        self.flush_replica(conn);
        self.trim_backlog();
    }

    /// SEND_BULK: writes what the socket takes of the disk RDB; once the last byte is written
    /// the replica goes online and its buffered stream follows at once (`sendBulkToSlave`).
    fn send_bulk(&mut self, conn: ConnId) {
        let room = self.socket_room(conn);
        let Some((file, pos)) = self.peer(conn).and_then(|p| p.bulk.clone()) else {
            return;
        };
        let n = room.min(file.len() - pos);
        if n > 0 {
            self.send(conn, file[pos..pos + n].to_vec());
        }
        let done = pos + n == file.len();
        if let Some(p) = self.peer_mut(conn) {
            p.bulk = if done { None } else { Some((file, pos + n)) };
        }
        if done && self.put_online(conn) {
            self.flush_replica(conn);
        }
    }

    /// `replicaPutOnline`: after its RDB a replica goes online, except one that asked for the RDB
    /// only, which is disconnected instead. Returns whether it went online.
    fn put_online(&mut self, conn: ConnId) -> bool {
        let name = self.replica_name(conn);
        if self.conns.get(&conn).is_some_and(|c| c.rdb_only) {
            self.log('*', format!("RDB transfer completed, rdb only replica ({name}) should be disconnected asap"));
            self.close(conn);
            return false;
        }
        let now = self.now;
        if let Some(p) = self.peer_mut(conn) {
            p.state = SlaveState::Online;
            p.ack_time = now;
        }
        self.log('*', format!("Synchronization with replica {name} succeeded"));
        true
    }

    fn trim_backlog(&mut self) {
        let oldest = self.serving.replicas.iter().filter_map(|&c| self.peer(c).and_then(|p| p.cursor)).min();
        if let Some(b) = self.backlog.as_mut() {
            b.trim(oldest);
        }
    }

    /// Redis's `createReplicationBacklog`.
    pub(crate) fn create_backlog(&mut self) {
        self.backlog = Some(Backlog::new(self.cfg.repl.backlog_size, self.master_repl_offset));
    }

    /// `changeReplicationId()` + `clearReplicationId2()`.
    pub(crate) fn new_replid(&mut self) {
        self.replid = random_hex40(&mut self.rng);
        self.replid2 = NULL_REPLID.to_string();
        self.second_replid_offset = -1;
    }

    /// `REPLCONF option value ...` from a client (§3.2).
    pub(crate) fn replconf(&mut self, conn: ConnId, argv: &[Vec<u8>]) -> Option<Frame> {
        if argv.len() % 2 == 0 {
            return Some(Frame::error("ERR syntax error"));
        }
        for pair in argv[1..].chunks(2) {
            let opt = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
            let val = &pair[1];
            match opt.as_str() {
                "listening-port" => {
                    let Some(port) = std::str::from_utf8(val).ok().and_then(|s| s.parse::<u16>().ok()) else {
                        return Some(Frame::error("ERR value is not an integer or out of range"));
                    };
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.listening_port = port;
                    }
                }
                "ip-address" => {
                    // NET_HOST_STR_LEN: an address must fit in 45 bytes.
                    if val.len() >= 46 {
                        let n = val.len();
                        return Some(Frame::error(format!(
                            "ERR REPLCONF ip-address provided by replica instance is too long: {n} bytes"
                        )));
                    }
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.announced_ip = Some(String::from_utf8_lossy(val).into_owned());
                    }
                }
                "capa" => {
                    if let Some(c) = self.conns.get_mut(&conn) {
                        match String::from_utf8_lossy(val).to_ascii_lowercase().as_str() {
                            "eof" => c.capa_eof = true,
                            "psync2" => c.capa_psync2 = true,
                            _ => {}
                        }
                    }
                }
                "ack" => {
                    let off = std::str::from_utf8(val).ok().and_then(|s| s.parse::<i64>().ok());
                    if let (Some(off), true) = (off, self.peer(conn).is_some()) {
                        self.replica_ack(conn, off);
                    }
                    return None;
                }
                "getack" => {
                    if self.master.is_some() {
                        self.send_ack();
                    }
                    return None;
                }
                "rdb-only" => {
                    let only = match std::str::from_utf8(val).ok().and_then(|v| v.parse::<i64>().ok()) {
                        Some(n @ 0..=1) => n == 1,
                        Some(_) => return Some(Frame::error("ERR value is out of range, value must between 0 and 1")),
                        None => return Some(Frame::error("ERR value is not an integer or out of range")),
                    };
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.rdb_only = only;
                    }
                }
                "rdb-filter-only" => {}
                _ => return Some(Frame::error(format!("ERR Unrecognized REPLCONF option: {opt}"))),
            }
        }
        Some(Frame::ok())
    }

    fn replica_ack(&mut self, conn: ConnId, off: i64) {
        let now = self.now;
        let Some(p) = self.peer_mut(conn) else {
            return;
        };
        if off > p.ack_off {
            p.ack_off = off;
        }
        p.ack_time = now;
        if p.state == SlaveState::Online && p.stream_on_ack {
            p.stream_on_ack = false;
            self.flush_replica(conn);
            self.trim_backlog();
        }
        if !self.serving.waiters.is_empty() {
            self.process_waiters();
        }
    }

    /// `SYNC` and `PSYNC replid offset` (§3.3). Replies are written here; returns None.
    pub(crate) fn sync_command(&mut self, conn: ConnId, argv: &[Vec<u8>]) -> Option<Frame> {
        if self.peer(conn).is_some() {
            return None;
        }
        let name = self.replica_name(conn);
        if argv.len() == 4 && argv[3].eq_ignore_ascii_case(b"failover") {
            if self.master.is_none() {
                return Some(Frame::error("ERR PSYNC FAILOVER can't be sent to a master."));
            }
            if !argv[1].eq_ignore_ascii_case(self.replid.as_bytes()) {
                return Some(Frame::error("ERR PSYNC FAILOVER replid must match my replid."));
            }
            let who = self.client_description(conn);
            self.promote(&format!("failover request from '{who}'"));
        } else if argv.len() > 3 {
            return Some(Frame::error("ERR syntax error"));
        }
        if self.failover.is_some() {
            return Some(Frame::error("NOMASTERLINK Can't SYNC while failing over"));
        }
        if let Some(link) = &self.master {
            if link.state != super::ReplState::Connected {
                return Some(Frame::error("NOMASTERLINK Can't SYNC while not connected with my master"));
            }
        }
        let is_psync = argv[0].eq_ignore_ascii_case(b"psync");
        self.log('*', format!("Replica {name} asks for synchronization"));
        if is_psync {
            let Some(offset) = std::str::from_utf8(&argv[2]).ok().and_then(|s| s.parse::<i64>().ok()) else {
                self.log('#', format!("Replica {name} asks for synchronization but with a wrong offset"));
                return Some(Frame::error("ERR value is not an integer or out of range"));
            };
            let id = String::from_utf8_lossy(&argv[1]).into_owned();
            if self.try_partial_resync(conn, &id, offset) {
                self.stats.sync_partial_ok += 1;
                return None;
            }
            if id != "?" {
                self.stats.sync_partial_err += 1;
            }
        }
        self.stats.sync_full += 1;
        let now = self.now;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.replica = Some(ReplicaPeer::new(SlaveState::WaitBgsaveStart, now, None, !is_psync));
        }
        self.serving.replicas.push(conn);
        if self.serving.replicas.len() == 1 && self.backlog.is_none() {
            self.new_replid();
            self.create_backlog();
            let (id, id2) = (self.replid.clone(), self.replid2.clone());
            self.log('*', format!("Replication backlog created, my new replication IDs are '{id}' and '{id2}'"));
        }
        self.schedule_full_sync(conn);
        None
    }

    /// §3.3 step 11: attach to a running disk BGSAVE, wait for the next one, or start one.
    fn schedule_full_sync(&mut self, conn: ConnId) {
        if let Some(child) = &self.child {
            if child.target == ChildTarget::Disk {
                let donor = self
                    .serving
                    .replicas
                    .iter()
                    .copied()
                    .find(|&c| c != conn && self.peer(c).is_some_and(|p| p.state == SlaveState::WaitBgsaveEnd));
                let capa_ok = donor.is_some_and(|d| {
                    let (a, b) = (&self.conns[&d], &self.conns[&conn]);
                    (!a.capa_eof || b.capa_eof) && (!a.capa_psync2 || b.capa_psync2)
                });
                if let (Some(d), true) = (donor, capa_ok) {
                    let cursor = self.peer(d).and_then(|p| p.cursor);
                    let pre = self.peer(conn).is_some_and(|p| p.pre_psync);
                    if let Some(p) = self.peer_mut(conn) {
                        p.state = SlaveState::WaitBgsaveEnd;
                        p.cursor = cursor;
                    }
                    if !pre {
                        let off = cursor.unwrap_or(self.master_repl_offset + 1) - 1;
                        let line = format!("+FULLRESYNC {} {}\r\n", self.replid, off);
                        self.send(conn, line.into_bytes());
                    }
                    self.log('*', "Waiting for end of BGSAVE for SYNC");
                } else {
                    self.log('*', "Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC");
                }
            } else {
                self.log('*', "Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC");
            }
            return;
        }
        let eof = self.conns.get(&conn).is_some_and(|c| c.capa_eof);
        if self.cfg.repl.diskless_sync && eof && self.cfg.repl.diskless_sync_delay > 0 {
            self.log('*', "Delay next BGSAVE for diskless SYNC");
        } else {
            self.start_bgsave_for_replication();
        }
    }

    /// §4.4: accept a partial resync, or say why not.
    fn try_partial_resync(&mut self, conn: ConnId, id: &str, from: i64) -> bool {
        let b = self.backlog.as_ref();
        let mut decision = PsyncDecision {
            replica_port: self.conns.get(&conn).map_or(0, |c| c.listening_port),
            id: id.to_string(),
            offset: from,
            replid: self.replid.clone(),
            replid2: self.replid2.clone(),
            second_offset: self.second_replid_offset,
            backlog: b.map(|b| (b.first_byte(), b.first_byte() + b.histlen())),
            accepted: false,
            reason: PsyncReason::FullRequested,
            bytes: 0,
        };
        decision.reason = self.decide_partial_resync(conn, id, from);
        decision.accepted = decision.reason == PsyncReason::Continue;
        if decision.accepted {
            decision.bytes = self.master_repl_offset + 1 - from;
        }
        let accepted = decision.accepted;
        self.note(crate::node::Note::Psync(Box::new(decision)));
        accepted
    }

    fn decide_partial_resync(&mut self, conn: ConnId, id: &str, from: i64) -> PsyncReason {
        let name = self.replica_name(conn);
        let same = id.eq_ignore_ascii_case(&self.replid);
        let second = id.eq_ignore_ascii_case(&self.replid2) && from <= self.second_replid_offset;
        if !same && !second {
            return if id == "?" {
                self.log('*', format!("Full resync requested by replica {name}"));
                PsyncReason::FullRequested
            } else if id.eq_ignore_ascii_case(&self.replid2) {
                let (x, y) = (from, self.second_replid_offset);
                self.log('*', format!("Partial resynchronization not accepted: Requested offset for second ID was {x}, but I can reply up to {y}"));
                PsyncReason::PastSecondOffset
            } else {
                let (a, b) = (self.replid.clone(), self.replid2.clone());
                self.log('*', format!("Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{id}', my replication IDs are '{a}' and '{b}')"));
                PsyncReason::IdMismatch
            };
        }
        let reason = match self.backlog.as_ref() {
            None => PsyncReason::NoBacklog,
            Some(b) if from < b.first_byte() => PsyncReason::BeforeBacklog,
            Some(b) if !b.covers(from) => PsyncReason::AfterBacklog,
            Some(_) => PsyncReason::Continue,
        };
        if reason != PsyncReason::Continue {
            self.log(
                '*',
                format!(
                    "Unable to partial resync with replica {name} for lack of backlog (Replica request was: {from})."
                ),
            );
            if from > self.master_repl_offset {
                let off = self.master_repl_offset;
                self.log('#', format!("Warning: replica {name} tried to PSYNC with an offset ({from}) that is greater than the master replication offset ({off})"));
            }
            return reason;
        }
        let psync2 = self.conns.get(&conn).is_some_and(|c| c.capa_psync2);
        let now = self.now;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.replica = Some(ReplicaPeer::new(SlaveState::Online, now, Some(from), false));
        }
        self.serving.replicas.push(conn);
        let line = if psync2 { format!("+CONTINUE {}\r\n", self.replid) } else { "+CONTINUE\r\n".to_string() };
        self.send(conn, line.into_bytes());
        let k = self.master_repl_offset + 1 - from;
        self.flush_replica(conn);
        self.log('*', format!("Partial resynchronization request from {name} accepted. Sending {k} bytes of backlog starting from offset {from}."));
        PsyncReason::Continue
    }

    /// Forks the child for the replicas waiting in WAIT_BGSAVE_START (§3.4).
    pub(crate) fn start_bgsave_for_replication(&mut self) {
        let waiting: Vec<ConnId> = self
            .serving
            .replicas
            .iter()
            .copied()
            .filter(|&c| self.peer(c).is_some_and(|p| p.state == SlaveState::WaitBgsaveStart))
            .collect();
        if waiting.is_empty() || self.child.is_some() {
            return;
        }
        let all_eof = waiting.iter().all(|c| self.conns[c].capa_eof);
        let target = if self.cfg.repl.diskless_sync && all_eof { ChildTarget::Socket } else { ChildTarget::Disk };
        let what = if target == ChildTarget::Socket { "replicas sockets" } else { "disk" };
        self.log('*', format!("Starting BGSAVE for SYNC with target: {what}"));
        let data = self.rdb_snapshot();
        let mark = if target == ChildTarget::Socket { random_hex40(&mut self.rng) } else { String::new() };
        self.serving.slaveseldb = -1;
        let cursor = self.master_repl_offset + 1;
        for &c in &waiting {
            let pre = self.peer(c).is_some_and(|p| p.pre_psync);
            if let Some(p) = self.peer_mut(c) {
                p.state = SlaveState::WaitBgsaveEnd;
                p.cursor = Some(cursor);
            }
            if !pre {
                let line = format!("+FULLRESYNC {} {}\r\n", self.replid, self.master_repl_offset);
                self.send(c, line.into_bytes());
            }
            if target == ChildTarget::Socket {
                self.send(c, format!("$EOF:{mark}\r\n").into_bytes());
            }
        }
        let replicas = if target == ChildTarget::Socket { waiting } else { Vec::new() };
        self.fork_child(target, data, mark, replicas);
        self.log('*', "Background RDB transfer started by pid 1");
        self.child_progress();
    }

    fn fork_child(&mut self, target: ChildTarget, data: Vec<u8>, mark: String, socket_replicas: Vec<ConnId>) {
        self.child = Some(RdbChild {
            target,
            data,
            produced: 0,
            started: self.now,
            rate: self.cfg.repl.rdb_bytes_per_sec.max(1),
            mark,
            socket_replicas,
        });
    }

    /// `BGSAVE`: forks a child that writes `dump.rdb` as virtual time passes.
    pub(crate) fn bgsave(&mut self) -> Frame {
        if self.child.is_some() {
            return Frame::error("ERR Background save already in progress");
        }
        let data = self.rdb_snapshot();
        self.fork_child(ChildTarget::Disk, data, String::new(), Vec::new());
        self.log('*', "Background saving started by pid 1");
        self.child_progress();
        Frame::Simple("Background saving started".into())
    }

    /// Bookkeeping of a save (SAVE, a disk BGSAVE, the final save of SHUTDOWN), and the file handed
    /// to the environment to write.
    pub(crate) fn saved_to_disk(&mut self, data: Vec<u8>, last: bool) {
        let file: std::sync::Arc<[u8]> = data.into();
        self.persist(file.clone(), last);
        self.disk = Some(file);
        self.persistence.last_save_ms = self.unix_ms();
        self.persistence.saves += 1;
        self.persistence.dirty = 0;
    }

    /// The RDB a fork would write now, with the replication AUX fields.
    pub fn rdb_snapshot(&self) -> Vec<u8> {
        // rdbPopulateSaveInfo: a master with a backlog, or a replica with a (cached) master.
        let repl = match &self.master {
            None if self.backlog.is_some() => {
                Some((self.serving.slaveseldb.max(0), self.replid.clone(), self.master_repl_offset))
            }
            None => None,
            Some(l) => l.client.as_ref().or(l.cached.as_ref()).map(|c| (c.db as i64, self.replid.clone(), c.reploff)),
        };
        let info = AuxInfo {
            ctime_secs: self.unix_ms() / 1000,
            used_mem: 1_000_000 + self.keyspace.total_keys() as u64 * 64,
            repl,
        };
        write_rdb(&self.keyspace, &info)
    }

    /// Releases the child's bytes due by now; finishes the transfer when it is done.
    pub(crate) fn child_progress(&mut self) {
        let Some(child) = self.child.as_mut() else {
            return;
        };
        let due = child.due(self.now);
        if due > child.produced {
            let chunk = child.data[child.produced..due].to_vec();
            child.produced = due;
            if child.target == ChildTarget::Socket {
                for c in child.socket_replicas.clone() {
                    self.send(c, chunk.clone());
                }
            }
        }
        let Some(child) = self.child.as_ref() else {
            return;
        };
        if child.produced < child.data.len() {
            return;
        }
        let Some(child) = self.child.take() else {
            return;
        };
        match child.target {
            ChildTarget::Socket => {
                let up = child.socket_replicas.iter().filter(|c| self.conns.contains_key(c)).count();
                self.log('*', format!("Diskless rdb transfer, done reading from pipe, {up} replicas still up."));
                self.log('*', "Background RDB transfer terminated with success");
                for c in child.socket_replicas {
                    if !self.conns.contains_key(&c) {
                        continue;
                    }
                    self.send(c, child.mark.clone().into_bytes());
                    let name = self.replica_name(c);
                    self.log('*', format!("Streamed RDB transfer with replica {name} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming"));
                    if self.put_online(c) {
                        if let Some(p) = self.peer_mut(c) {
                            p.stream_on_ack = true;
                        }
                    }
                }
            }
            ChildTarget::Disk => {
                self.log('*', "Background saving terminated with success");
                let secs = (self.now.saturating_sub(child.started) / 1_000_000) as i64;
                self.saved_to_disk(child.data.clone(), false);
                self.persistence.last_bgsave_secs = secs;
                let waiting: Vec<ConnId> = self
                    .serving
                    .replicas
                    .iter()
                    .copied()
                    .filter(|&c| self.peer(c).is_some_and(|p| p.state == SlaveState::WaitBgsaveEnd))
                    .collect();
                let mut bulk = format!("${}\r\n", child.data.len()).into_bytes();
                bulk.extend_from_slice(&child.data);
                let bulk = std::sync::Arc::new(bulk);
                for c in waiting {
                    if let Some(p) = self.peer_mut(c) {
                        p.state = SlaveState::SendBulk;
                        p.bulk = Some((bulk.clone(), 0));
                    }
                    self.send_bulk(c);
                }
                self.trim_backlog();
            }
        }
        // Replicas that arrived during a socket transfer need the next BGSAVE.
        if !self.cfg.repl.diskless_sync {
            self.start_bgsave_for_replication();
        }
    }

    pub(crate) fn replica_gone(&mut self, conn: ConnId, c: &Conn) {
        self.serving.replicas.retain(|&r| r != conn);
        if let Some(child) = self.child.as_mut() {
            child.socket_replicas.retain(|&r| r != conn);
        }
        self.log('*', format!("Connection with replica {} lost.", peer_name(c)));
        if self.serving.replicas.is_empty() {
            self.serving.no_replicas_since = self.now;
        }
        self.trim_backlog();
    }

    /// The master half of `replicationCron`: the in-stream ping, newlines to replicas waiting for
    /// the RDB, and starting a delayed diskless BGSAVE.
    pub(crate) fn master_cron(&mut self) {
        self.disconnect_timedout_replicas();
        self.refresh_good_replicas();
        self.free_idle_backlog();
        let period = self.cfg.repl.ping_period.max(1);
        // replication_cron_loops % repl-ping-replica-period: the first replicationCron is loop 0.
        if (self.cron_loops / 10) % period == 0
            && !self.serving.replicas.is_empty()
            && self.master.is_none()
            && !self.writes_paused()
        {
            // PING is fed with dictid = slaveseldb: no SELECT ever precedes it (§6.1).
            self.feed_stream(&encode_command(&["ping"]));
        }
        let disk_child = self.child.as_ref().is_some_and(|c| c.target == ChildTarget::Disk);
        for c in self.serving.replicas.clone() {
            let wants = self.peer(c).is_some_and(|p| {
                p.state == SlaveState::WaitBgsaveStart || (p.state == SlaveState::WaitBgsaveEnd && disk_child)
            });
            if wants {
                self.send(c, b"\n".to_vec());
            }
        }
        if self.child.is_none() {
            let waiting: Vec<Micros> = self
                .serving
                .replicas
                .iter()
                .filter_map(|&c| self.peer(c).filter(|p| p.state == SlaveState::WaitBgsaveStart).map(|p| p.wait_since))
                .collect();
            if let Some(&oldest) = waiting.iter().min() {
                let r = &self.cfg.repl;
                let max = r.diskless_sync_max_replicas;
                let idle = (self.now - oldest) / 1_000_000;
                if !r.diskless_sync || (max > 0 && waiting.len() >= max) || idle >= r.diskless_sync_delay {
                    self.start_bgsave_for_replication();
                }
            }
        }
    }

    /// Drops ONLINE replicas that have not ACKed for `repl-timeout` (§6.2); pre-PSYNC replicas
    /// never ACK and are exempt.
    fn disconnect_timedout_replicas(&mut self) {
        let timeout = self.cfg.repl.timeout;
        for c in self.serving.replicas.clone() {
            let Some(p) = self.peer(c) else {
                continue;
            };
            if p.state == SlaveState::Online && !p.pre_psync && self.secs_since(p.ack_time) > timeout {
                let name = self.replica_name(c);
                self.log('#', format!("Disconnecting timedout replica (streaming sync): {name}"));
                self.close(c);
            }
        }
    }

    /// A master with no replica for `repl-backlog-ttl` seconds frees its backlog and changes its
    /// replication id, so nobody can PSYNC into a history it no longer holds (§4.1).
    fn free_idle_backlog(&mut self) {
        let ttl = self.cfg.repl.backlog_ttl;
        if self.master.is_none()
            && self.serving.replicas.is_empty()
            && self.backlog.is_some()
            && ttl > 0
            && self.secs_since(self.serving.no_replicas_since) >= ttl
        {
            self.new_replid();
            self.backlog = None;
            self.log('*', format!("Replication backlog freed after {ttl} seconds without connected replicas."));
        }
    }

    /// Every replica's connection id, connection and replica state, in attach order.
    pub(crate) fn replica_peers(&self) -> impl Iterator<Item = (ConnId, &Conn, &ReplicaPeer)> {
        self.serving.replicas.iter().filter_map(|&c| {
            let conn = self.conns.get(&c)?;
            Some((c, conn, conn.replica.as_ref()?))
        })
    }

    /// Seconds since a replica's last ACK (INFO's `lag`); 0 until it is online.
    pub(crate) fn replica_lag(&self, p: &ReplicaPeer) -> u64 {
        if p.state == SlaveState::Online {
            (self.now - p.ack_time.min(self.now)) / 1_000_000
        } else {
            0
        }
    }

    /// `(ip, port, state, ack offset, lag seconds)` for every replica, in attach order.
    pub(crate) fn replica_rows(&self) -> Vec<(String, u16, SlaveState, i64, u64)> {
        self.replica_peers()
            .map(|(_, conn, p)| {
                (replica_ip(conn).to_string(), conn.listening_port, p.state, p.ack_off, self.replica_lag(p))
            })
            .collect()
    }
}
