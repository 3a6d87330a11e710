//! The replica side: REPLICAOF, the handshake of §2.2 byte for byte, the PSYNC choice, receiving
//! and loading the RDB, then applying the stream while counting read and applied offsets, and
//! proxying the applied bytes verbatim into its own backlog (REDIS-REPLICATION.md §2, §5).

use super::{ReplState, NULL_REPLID};
use crate::node::{ConnId, ConnKind, Micros, Node};
use crate::rdb::read_rdb;
use crate::resp::{encode_command, parse_command_resuming, Parsed, RequestLimits, RequestProgress};

/// The connection id the master client's commands run under (no socket has id 0).
pub(crate) const MASTER_CLIENT: ConnId = 0;

/// The state this node keeps as a replica.
#[derive(Clone, Debug)]
pub(crate) struct MasterLink {
    pub host: String,
    pub port: u16,
    pub state: ReplState,
    /// The connection to the master (handshake, transfer, then the master client).
    pub conn: Option<ConnId>,
    /// Bytes read during the handshake and the payload header.
    pub buf: Vec<u8>,
    pub transfer: Option<Transfer>,
    /// The live master client once CONNECTED.
    pub client: Option<MasterClient>,
    /// What survives a disconnect, for the next PSYNC.
    pub cached: Option<MasterClient>,
    /// From `+FULLRESYNC`.
    pub master_replid: String,
    pub initial_offset: i64,
    pub last_io: Micros,
    /// When the link went down (None: never connected).
    pub down_since: Option<Micros>,
    /// Fell back to SYNC: the master is pre-PSYNC, no ACKs.
    pub pre_psync: bool,
}

impl MasterLink {
    fn new(host: &str, port: u16, cached: Option<MasterClient>, now: Micros) -> Self {
        MasterLink {
            host: host.to_string(),
            port,
            state: ReplState::Connect,
            conn: None,
            buf: Vec::new(),
            transfer: None,
            client: None,
            cached,
            master_replid: String::new(),
            initial_offset: -1,
            last_io: now,
            down_since: None,
            pre_psync: false,
        }
    }
}

/// The payload being received.
#[derive(Clone, Debug, Default)]
pub(crate) struct Transfer {
    /// `$EOF:<mark>` framing.
    pub mark: Option<Vec<u8>>,
    /// `$<len>` framing.
    pub size: Option<usize>,
    pub data: Vec<u8>,
    /// Set when `repl-diskless-load` parses the payload as it arrives.
    pub load: Option<super::loading::SocketLoad>,
}

/// The master as a client of this replica: what it applied, what it read, its selected db.
#[derive(Clone, Debug)]
pub(crate) struct MasterClient {
    pub replid: String,
    pub reploff: i64,
    pub read_reploff: i64,
    pub db: usize,
    pub query: Vec<u8>,
    /// Bytes at the front of `query` already executed but not yet applied (inside MULTI).
    pub parsed: usize,
    /// How far the command at `parsed` has been read, when it is still incomplete: a command
    /// of many arguments arriving in many reads is read once, not again from its start at
    /// every read, as for any client.
    pub progress: Option<RequestProgress>,
    pub last_interaction: Micros,
}

impl MasterClient {
    /// The master as a client, its stream starting at `reploff` with `db` selected.
    pub(crate) fn new(replid: String, reploff: i64, db: usize, now: Micros) -> Self {
        MasterClient {
            replid,
            reploff,
            read_reploff: reploff,
            db,
            query: Vec::new(),
            parsed: 0,
            progress: None,
            last_interaction: now,
        }
    }
}

fn line_of(buf: &[u8]) -> Option<(String, usize)> {
    let nl = buf.iter().position(|&b| b == b'\n')?;
    let mut line = &buf[..nl];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    Some((String::from_utf8_lossy(line).into_owned(), nl + 1))
}

impl Node {
    fn link(&mut self) -> Option<&mut MasterLink> {
        self.master.as_mut()
    }

    fn set_repl_state(&mut self, s: ReplState) {
        if let Some(l) = self.master.as_mut() {
            l.state = s;
        }
    }

    /// `REPLICAOF host port` (§5.3).
    pub(crate) fn replicaof(&mut self, host: &str, port: u16, who: &str) -> &'static str {
        if let Some(l) = &self.master {
            if l.host == host && l.port == port {
                self.log('*', "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
                return "OK Already connected to specified master";
            }
        }
        let was_master = self.master.is_none();
        self.unblock_waiters_for_role_change();
        let mut cached = None;
        if let Some(mut old) = self.master.take() {
            if let Some(c) = old.conn.take() {
                if self.conns.get(&c).is_some_and(|c| c.kind == ConnKind::MasterLink) {
                    self.conns.remove(&c);
                    self.push_close(c);
                }
            }
            cached = match old.client.take() {
                Some(live) => Some(self.cache_master_client(live)),
                None => old.cached.take(),
            };
        }
        if was_master {
            self.log('*', "Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.");
            cached = Some(MasterClient::new(self.replid.clone(), self.master_repl_offset, 0, self.now));
        }
        self.master = Some(MasterLink::new(host, port, cached, self.now));
        self.connect_to_master();
        self.log('*', format!("REPLICAOF {host}:{port} enabled (user request from '{who}')"));
        "OK"
    }

    /// `replicaof host port` in the configuration: state CONNECT with no cached master, so the
    /// first PSYNC is `? -1` (REDIS-REPLICATION.md §1).
    pub fn replicaof_at_startup(&mut self, host: &str, port: u16) {
        self.master = Some(MasterLink::new(host, port, None, self.now));
        self.connect_to_master();
    }

    /// `REPLICAOF NO ONE` (§5.2).
    pub(crate) fn replicaof_no_one(&mut self, who: &str) {
        self.promote(&format!("user request from '{who}'"));
    }

    /// `replicationUnsetMaster`: stop replicating, shift the replication id, drop sub-replicas.
    pub(crate) fn promote(&mut self, why: &str) {
        let Some(mut old) = self.master.take() else {
            return;
        };
        if let Some(c) = old.conn.take() {
            if self.conns.contains_key(&c) {
                self.conns.remove(&c);
                self.push_close(c);
            }
        }
        self.replid2 = self.replid.clone();
        self.second_replid_offset = self.master_repl_offset + 1;
        self.replid = super::random_hex40(&mut self.rng);
        let (id2, off, id) = (self.replid2.clone(), self.second_replid_offset, self.replid.clone());
        self.log(
            '*',
            format!("Setting secondary replication ID to {id2}, valid up to offset: {off}. New replication ID is {id}"),
        );
        self.forget_tx(MASTER_CLIENT);
        for r in self.serving.replicas.clone() {
            self.close(r);
        }
        self.serving.slaveseldb = -1;
        self.serving.no_replicas_since = self.now;
        self.log('*', format!("MASTER MODE enabled ({why})"));
    }

    /// `replicationCacheMaster`: what of the live master client survives for the next PSYNC.
    /// Only the applied offset does: the unexecuted tail of its query buffer, its read offset
    /// and a MULTI it was inside all belong to the old connection, and carrying them over
    /// would splice the old master's half command onto the new master's stream.
    fn cache_master_client(&mut self, mut c: MasterClient) -> MasterClient {
        self.forget_tx(MASTER_CLIENT);
        c.query.clear();
        c.parsed = 0;
        c.progress = None;
        c.read_reploff = c.reploff;
        c
    }

    fn connect_to_master(&mut self) {
        let Some(l) = &self.master else {
            return;
        };
        let (host, port) = (l.host.clone(), l.port);
        self.log('*', format!("Connecting to MASTER {host}:{port}"));
        let conn = self.open(ConnKind::MasterLink, &host, port);
        let now = self.now;
        if let Some(l) = self.link() {
            l.conn = Some(conn);
            l.state = ReplState::Connecting;
            l.last_io = now;
            l.buf.clear();
            l.transfer = None;
        }
        self.log('*', "MASTER <-> REPLICA sync started");
    }

    pub(crate) fn master_link_connected(&mut self, conn: ConnId) {
        if self.master.as_ref().and_then(|l| l.conn) != Some(conn) {
            return;
        }
        self.log('*', "Non blocking connect for SYNC fired the event.");
        self.set_repl_state(ReplState::ReceivePingReply);
        self.send(conn, encode_command(&["PING"]));
    }

    pub(crate) fn master_link_failed(&mut self, reason: &str) {
        self.log('#', format!("Error condition on socket for SYNC: {reason}"));
        if let Some(l) = self.link() {
            l.conn = None;
            l.state = ReplState::Connect;
        }
    }

    /// Drops the handshake or transfer and goes back to CONNECT (`cancelReplicationHandshake`).
    fn cancel_handshake(&mut self, reconnect: bool) {
        let conn = self.master.as_ref().and_then(|l| l.conn);
        if let Some(l) = self.link() {
            l.conn = None;
            l.state = ReplState::Connect;
            l.transfer = None;
            l.buf.clear();
        }
        if let Some(c) = conn {
            if self.conns.remove(&c).is_some() {
                self.push_close(c);
            }
        }
        if reconnect {
            self.connect_to_master();
        }
    }

    /// The master link closed under us (§2.7).
    pub(crate) fn master_link_lost(&mut self, conn: ConnId) {
        let Some(l) = self.master.as_mut() else {
            return;
        };
        if l.conn != Some(conn) {
            return;
        }
        l.conn = None;
        if l.state == ReplState::Connected {
            let live = l.client.take();
            let cached = live.map(|c| self.cache_master_client(c));
            let Some(l) = self.master.as_mut() else {
                return;
            };
            l.cached = cached;
            l.state = ReplState::Connect;
            l.down_since = Some(self.now);
            let (h, p) = (l.host.clone(), l.port);
            self.log('#', "Connection with master lost.");
            self.log('*', "Caching the disconnected master state.");
            self.log('*', format!("Reconnecting to MASTER {h}:{p}"));
            self.connect_to_master();
        } else {
            l.state = ReplState::Connect;
            l.transfer = None;
            l.buf.clear();
        }
    }

    /// Bytes from the master, whatever the state.
    pub(crate) fn master_link_read(&mut self, conn: ConnId, data: &[u8]) {
        let now = self.now;
        let Some(l) = self.master.as_mut() else {
            return;
        };
        if l.conn != Some(conn) {
            return;
        }
        l.last_io = now;
        if l.state == ReplState::Connected {
            self.apply_stream(data);
            return;
        }
        l.buf.extend_from_slice(data);
        self.advance_handshake();
    }

    fn advance_handshake(&mut self) {
        loop {
            let Some(l) = self.master.as_ref() else {
                return;
            };
            let state = l.state;
            if state == ReplState::Transfer {
                self.read_payload();
                return;
            }
            let Some((line, used)) = line_of(&l.buf) else {
                return;
            };
            if let Some(l) = self.link() {
                l.buf.drain(..used);
            }
            match state {
                ReplState::ReceivePingReply => {
                    let ok = !line.starts_with('-')
                        || line.starts_with("-NOAUTH")
                        || line.starts_with("-NOPERM")
                        || line.starts_with("-ERR operation not permitted");
                    if !ok {
                        self.log('#', format!("Error reply to PING from master: '{}'", &line[1..]));
                        self.cancel_handshake(false);
                        return;
                    }
                    self.log('*', "Master replied to PING, replication can continue...");
                    self.set_repl_state(ReplState::SendHandshake);
                    // AUTH goes first, pipelined with the REPLCONFs (§2.2).
                    let auth = self.masterauth();
                    let mut out = match &auth {
                        Some((Some(user), pass)) => encode_command(&["AUTH", user, pass]),
                        Some((None, pass)) => encode_command(&["AUTH", pass]),
                        None => Vec::new(),
                    };
                    out.extend(encode_command(&["REPLCONF", "listening-port", &self.announced_port().to_string()]));
                    let announce_ip = self.announce_ip();
                    if let Some(ip) = &announce_ip {
                        out.extend(encode_command(&["REPLCONF", "ip-address", ip]));
                    }
                    if !self.legacy_sync() {
                        out.extend(encode_command(&["REPLCONF", "capa", "eof", "capa", "psync2"]));
                    }
                    if let Some(c) = self.master.as_ref().and_then(|l| l.conn) {
                        self.send(c, out);
                    }
                    let next = if auth.is_some() { ReplState::ReceiveAuthReply } else { ReplState::ReceivePortReply };
                    self.set_repl_state(next);
                }
                ReplState::ReceiveAuthReply => {
                    if let Some(err) = line.strip_prefix('-') {
                        self.log('#', format!("Unable to AUTH to MASTER: -{err}"));
                        self.cancel_handshake(false);
                        return;
                    }
                    self.set_repl_state(ReplState::ReceivePortReply);
                }
                ReplState::ReceivePortReply => {
                    if let Some(err) = line.strip_prefix('-') {
                        self.log(
                            '*',
                            format!("(Non critical) Master does not understand REPLCONF listening-port: {err}"),
                        );
                    }
                    if self.announce_ip().is_some() {
                        self.set_repl_state(ReplState::ReceiveIpReply);
                        continue;
                    }
                    if self.legacy_sync() {
                        self.send_legacy_sync();
                        return;
                    }
                    self.set_repl_state(ReplState::ReceiveCapaReply);
                }
                ReplState::ReceiveIpReply => {
                    if let Some(err) = line.strip_prefix('-') {
                        self.log('*', format!("(Non critical) Master does not understand REPLCONF ip-address: {err}"));
                    }
                    self.set_repl_state(ReplState::ReceiveCapaReply);
                }
                ReplState::ReceiveCapaReply => {
                    if let Some(err) = line.strip_prefix('-') {
                        self.log('*', format!("(Non critical) Master does not understand REPLCONF capa: {err}"));
                    }
                    self.set_repl_state(ReplState::SendPsync);
                    self.send_psync();
                }
                ReplState::ReceivePsyncReply => {
                    if !self.psync_reply(&line) {
                        return;
                    }
                }
                _ => return,
            }
        }
    }

    /// `replica-announce-port`, or the port we listen on when it is 0.
    fn announced_port(&self) -> u16 {
        let announced = self.config_text.get("replica-announce-port").and_then(|p| p.parse::<u16>().ok());
        announced.filter(|&p| p != 0).unwrap_or(self.cfg.port)
    }

    /// `replica-announce-ip`, if set: the replica then sends `REPLCONF ip-address` (a replica of
    /// the lab's pre-2.8 mode knows no such option).
    fn announce_ip(&self) -> Option<String> {
        if self.legacy_sync() {
            return None;
        }
        self.config_text.get("replica-announce-ip").filter(|ip| !ip.is_empty()).cloned()
    }

    /// `masterauth` (and `masteruser`), if set.
    fn masterauth(&self) -> Option<(Option<String>, String)> {
        let pass = self.config_text.get("masterauth").filter(|p| !p.is_empty())?.clone();
        let user = self.config_text.get("masteruser").filter(|u| !u.is_empty()).cloned();
        Some((user, pass))
    }

    /// The lab's `lab-legacy-sync` mode: behave as a replica from before Redis 2.8, which knows
    /// no capabilities and no PSYNC, so every (re)connection is a full sync with `SYNC`.
    fn legacy_sync(&self) -> bool {
        self.config_text.get("lab-legacy-sync").is_some_and(|v| v == "yes")
    }

    fn send_legacy_sync(&mut self) {
        self.log('*', "(lab) Legacy replication: sending SYNC, every connection is a full resynchronization");
        self.fall_back_to_sync();
    }

    /// Sends the pre-PSYNC `SYNC` on the same connection: the master client will have no
    /// offset and get no ACKs.
    fn fall_back_to_sync(&mut self) {
        if let Some(l) = self.link() {
            l.cached = None;
            l.pre_psync = true;
            l.state = ReplState::Transfer;
            l.transfer = Some(Transfer::default());
            l.master_replid.clear();
            l.initial_offset = -1;
        }
        if let Some(c) = self.master.as_ref().and_then(|l| l.conn) {
            self.send(c, b"SYNC\r\n".to_vec());
        }
    }

    /// `slaveTryPartialResynchronization`, the sending half (§2.3).
    fn send_psync(&mut self) {
        let Some(l) = self.master.as_ref() else {
            return;
        };
        let (id, off) = match &l.cached {
            Some(c) => (c.replid.clone(), (c.reploff + 1).to_string()),
            None => ("?".to_string(), "-1".to_string()),
        };
        let conn = l.conn;
        if id == "?" {
            self.log('*', "Partial resynchronization not possible (no cached master)");
        } else {
            self.log('*', format!("Trying a partial resynchronization (request {id}:{off})."));
        }
        if let Some(c) = conn {
            let in_failover = self
                .failover
                .as_ref()
                .is_some_and(|f| f.state == crate::node::replication::failover::FailoverState::InProgress);
            let psync = if in_failover {
                encode_command(&["PSYNC", &id, &off, "FAILOVER"])
            } else {
                encode_command(&["PSYNC", &id, &off])
            };
            self.send(c, psync);
        }
        self.set_repl_state(ReplState::ReceivePsyncReply);
    }

    /// Handles the reply to PSYNC; returns false when processing must stop.
    fn psync_reply(&mut self, line: &str) -> bool {
        if line.is_empty() {
            return true; // keepalive newline while the master prepares the RDB
        }
        if self.failover.is_some() {
            if line.starts_with("+CONTINUE") || line.starts_with("+FULLRESYNC") {
                self.clear_failover();
            } else {
                self.abort_failover("Failover target rejected psync request");
                return false;
            }
        }
        if let Some(rest) = line.strip_prefix("+FULLRESYNC") {
            let mut parts = rest.split_whitespace();
            let id = parts.next().unwrap_or("").to_string();
            let off = parts.next().and_then(|o| o.parse::<i64>().ok()).unwrap_or(-1);
            let id = if id.len() == 40 { id } else { String::new() };
            self.log('*', format!("Full resync from master: {id}:{off}"));
            if self.master.as_ref().is_some_and(|l| l.cached.is_some()) {
                self.log('*', "Discarding previously cached master state.");
            }
            if let Some(l) = self.link() {
                l.master_replid = id;
                l.initial_offset = off;
                l.cached = None;
                l.state = ReplState::Transfer;
                l.transfer = Some(Transfer::default());
            }
            self.advance_handshake();
            return false;
        }
        if let Some(rest) = line.strip_prefix("+CONTINUE") {
            let new_id = rest.trim().to_string();
            self.log('*', "Successful partial resynchronization with master.");
            let Some(mut client) = self.master.as_mut().and_then(|l| l.cached.take()) else {
                return false;
            };
            if new_id.len() == 40 && new_id != client.replid {
                self.replid2 = client.replid.clone();
                self.second_replid_offset = self.master_repl_offset + 1;
                self.replid = new_id.clone();
                client.replid = new_id.clone();
                self.log('#', format!("Master replication ID changed to {new_id}"));
                for r in self.serving.replicas.clone() {
                    self.close(r);
                }
            }
            client.last_interaction = self.now;
            if self.backlog.is_none() {
                self.create_backlog();
            }
            let rest = self.link().map(|l| std::mem::take(&mut l.buf)).unwrap_or_default();
            if let Some(l) = self.link() {
                l.client = Some(client);
                l.state = ReplState::Connected;
                l.down_since = None;
            }
            self.log('*', "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
            if !rest.is_empty() {
                self.apply_stream(&rest);
            }
            return false;
        }
        if line.starts_with("-NOMASTERLINK") || line.starts_with("-LOADING") {
            self.log('*', format!("Master is currently unable to PSYNC but should be in the future: {}", &line[1..]));
            self.cancel_handshake(false);
            return false;
        }
        if line.starts_with("-ERR") {
            self.log('#', format!("Master does not support PSYNC or is in error state (reply: {line})"));
        } else {
            self.log('#', format!("Unexpected reply to PSYNC from master: {line}"));
        }
        self.fall_back_to_sync();
        false
    }

    /// TRANSFER: the `$` header, then the payload (§2.5).
    fn read_payload(&mut self) {
        let Some(l) = self.master.as_mut() else {
            return;
        };
        let Some(t) = l.transfer.as_mut() else {
            return;
        };
        if t.mark.is_none() && t.size.is_none() {
            let Some((line, used)) = line_of(&l.buf) else {
                return;
            };
            l.buf.drain(..used);
            if line.is_empty() {
                return self.read_payload();
            }
            if let Some(err) = line.strip_prefix('-') {
                let err = err.to_string();
                self.log('#', format!("MASTER aborted replication with an error: {err}"));
                self.cancel_handshake(true);
                return;
            }
            let socket = self.diskless_load_mode();
            let to = if socket.is_some() { "to parser" } else { "to disk" };
            let Some(t) = self.master.as_mut().and_then(|l| l.transfer.as_mut()) else {
                return;
            };
            if let Some(mark) = line.strip_prefix("$EOF:").filter(|m| m.len() >= 40) {
                t.mark = Some(mark.as_bytes()[..40].to_vec());
                self.log('*', format!("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF {to}"));
            } else if let Some(n) = line.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
                t.size = Some(n);
                self.log('*', format!("MASTER <-> REPLICA sync: receiving {n} bytes from master {to}"));
            } else {
                self.log('#', format!("Bad protocol from MASTER, the first byte is not '$' (we received '{line}'), are you sure the host and port are right?"));
                self.cancel_handshake(true);
                return;
            }
            if let Some(swapdb) = socket {
                self.begin_socket_load(swapdb);
            }
            return self.read_payload();
        }
        let Some(l) = self.master.as_mut() else {
            return;
        };
        let Some(t) = l.transfer.as_mut() else {
            return;
        };
        let rest = std::mem::take(&mut l.buf);
        let leftover = if let Some(size) = t.size {
            let need = size - t.data.len();
            let n = need.min(rest.len());
            t.data.extend_from_slice(&rest[..n]);
            if t.data.len() < size {
                return;
            }
            rest[n..].to_vec()
        } else {
            t.data.extend_from_slice(&rest);
            let mark = t.mark.clone().unwrap_or_default();
            if t.data.len() < mark.len() || !t.data.ends_with(&mark) {
                return;
            }
            let keep = t.data.len() - mark.len();
            t.data.truncate(keep);
            Vec::new()
        };
        let Some(t) = l.transfer.take() else {
            return;
        };
        self.load_transfer(t, leftover);
    }

    /// `replicationAttachToNewMaster`: sub-replicas must resync and the old history is gone.
    fn attach_to_new_master(&mut self) {
        for r in self.serving.replicas.clone() {
            self.close(r);
        }
        self.backlog = None;
    }

    /// The payload header arrived and `repl-diskless-load` applies: loading starts now, from the
    /// socket (flushing first unless `swapdb` keeps the old dataset until the swap).
    fn begin_socket_load(&mut self, swapdb: bool) {
        if !swapdb {
            self.attach_to_new_master();
            self.log('*', "MASTER <-> REPLICA sync: Flushing old data");
            self.keyspace.flush_all();
        }
        self.log('*', "MASTER <-> REPLICA sync: Loading DB in memory");
        let start_secs = self.unix_ms() / 1000;
        let own_id = self.replid.clone();
        if let Some(l) = self.master.as_mut() {
            // Async loading only inside the same history: the old data is an earlier point of it.
            let async_loading = swapdb && l.master_replid.eq_ignore_ascii_case(&own_id);
            if let Some(t) = l.transfer.as_mut() {
                t.load = Some(super::loading::SocketLoad { swapdb, async_loading, start_secs });
            }
        }
    }

    fn load_transfer(&mut self, t: Transfer, leftover: Vec<u8>) {
        let eof = t.mark.is_some();
        let socket = t.load.clone();
        if socket.is_none() {
            self.log('*', "MASTER <-> REPLICA sync: Flushing old data");
            self.attach_to_new_master();
            self.keyspace.flush_all();
            self.log('*', "MASTER <-> REPLICA sync: Loading DB in memory");
        }
        let file = match read_rdb(&t.data) {
            Ok(f) => f,
            Err(e) => {
                match &socket {
                    None => {
                        self.log('#', format!("Short read or OOM loading DB: {e}"));
                        self.log(
                            '#',
                            "Failed trying to load the MASTER synchronization DB from disk, check server logs.",
                        );
                    }
                    Some(s) => {
                        self.log('#', format!("Failed trying to load the MASTER synchronization DB from socket: {e}"));
                        if s.swapdb {
                            self.log('*', "MASTER <-> REPLICA sync: Discarding temporary DB in background");
                        } else {
                            self.keyspace.flush_all();
                        }
                    }
                }
                self.cancel_handshake(true);
                return;
            }
        };
        self.log('*', format!("Done loading RDB, keys loaded: {}, keys expired: 0.", file.keys));
        let swapdb = socket.as_ref().is_some_and(|s| s.swapdb);
        if swapdb {
            self.attach_to_new_master();
            self.log('*', "MASTER <-> REPLICA sync: Swapping active DB with loaded DB");
        }
        if socket.is_none() {
            // Only a disk load leaves the received file behind as dump.rdb.
            let file: std::sync::Arc<[u8]> = t.data.into();
            self.persist(file.clone(), false);
            self.disk = Some(file);
        }
        self.forget_tx(MASTER_CLIENT);
        let stream_db = file.aux_int("repl-stream-db").filter(|&d| (0..16).contains(&d)).unwrap_or(0) as usize;
        // swapdb: watched keys in the old or the new data count as touched (Redis's
        // touchAllWatchedKeysInDb with replaced_with); a flushed load touched the old ones already.
        self.keyspace.replace_data(file.keyspace, swapdb);
        if swapdb {
            self.log('*', "MASTER <-> REPLICA sync: Discarding old DB in background");
        }
        let Some(l) = self.master.as_mut() else {
            return;
        };
        let off = l.initial_offset;
        l.client = Some(MasterClient::new(l.master_replid.clone(), off, stream_db, self.now));
        l.state = ReplState::Connected;
        l.down_since = None;
        self.replid = if l.master_replid.is_empty() { NULL_REPLID.to_string() } else { l.master_replid.clone() };
        self.master_repl_offset = off;
        self.replid2 = NULL_REPLID.to_string();
        self.second_replid_offset = -1;
        self.create_backlog();
        self.log('*', "MASTER <-> REPLICA sync: Finished with success");
        if eof {
            self.send_ack();
        }
        if !leftover.is_empty() {
            self.apply_stream(&leftover);
        }
    }

    /// `REPLCONF ACK <reploff>` to the master (never to a pre-PSYNC master).
    pub(crate) fn send_ack(&mut self) {
        let Some(l) = self.master.as_ref() else {
            return;
        };
        let (Some(conn), Some(c)) = (l.conn, l.client.as_ref()) else {
            return;
        };
        if l.pre_psync {
            return;
        }
        let off = c.reploff.to_string();
        self.send(conn, encode_command(&["REPLCONF", "ACK", &off]));
    }

    /// CONNECTED: execute the master's commands without replies, count offsets, and proxy the
    /// applied bytes into our own backlog (§2.6).
    fn apply_stream(&mut self, data: &[u8]) {
        let now = self.now;
        let Some(c) = self.master.as_mut().and_then(|l| l.client.as_mut()) else {
            return;
        };
        c.query.extend_from_slice(data);
        c.read_reploff += data.len() as i64;
        c.last_interaction = now;
        let mut applied_to = 0usize;
        let mut pos = c.parsed;
        loop {
            let Some(c) = self.master.as_mut().and_then(|l| l.client.as_mut()) else {
                return;
            };
            let limits = RequestLimits { max_bulk: u64::MAX, unauthenticated: false };
            match parse_command_resuming(&c.query[pos..], limits, &mut c.progress) {
                Ok(Parsed::Incomplete) => break,
                Ok(Parsed::Complete(argv, used)) => {
                    pos += used;
                    if argv.is_empty() {
                        continue;
                    }
                    self.call_from_master(&argv);
                    // Inside MULTI the applied offset waits for the EXEC (commandProcessed).
                    if self.in_multi(MASTER_CLIENT) {
                        continue;
                    }
                    let Some(c) = self.master.as_mut().and_then(|l| l.client.as_mut()) else {
                        return;
                    };
                    let chunk = c.query[applied_to..pos].to_vec();
                    c.reploff += chunk.len() as i64;
                    applied_to = pos;
                    self.feed_stream(&chunk);
                }
                Err(e) => {
                    self.log('#', format!("Protocol error from master: {e}. Desync?"));
                    if let Some(conn) = self.master.as_ref().and_then(|l| l.conn) {
                        if let Some(l) = self.link() {
                            l.client = None;
                            l.cached = None;
                        }
                        self.close(conn);
                        if let Some(l) = self.link() {
                            l.state = ReplState::Connect;
                        }
                    }
                    return;
                }
            }
        }
        if let Some(c) = self.master.as_mut().and_then(|l| l.client.as_mut()) {
            c.query.drain(..applied_to);
            c.parsed = pos - applied_to;
        }
    }

    fn call_from_master(&mut self, argv: &[Vec<u8>]) {
        let db = self.master.as_ref().and_then(|l| l.client.as_ref()).map_or(0, |c| c.db);
        let mut ctx = crate::node::commands::Ctx::new(MASTER_CLIENT, db, true);
        let _ = crate::node::commands::dispatch(self, &mut ctx, argv);
        if let Some(c) = self.master.as_mut().and_then(|l| l.client.as_mut()) {
            c.db = ctx.db;
        }
    }

    /// The replica half of `replicationCron`: reconnect when in CONNECT, ACK every second.
    pub(crate) fn replica_cron(&mut self) {
        let Some(l) = self.master.as_ref() else {
            return;
        };
        let timeout = self.cfg.repl.timeout;
        let since = |t: Micros| self.secs_since(t);
        match l.state {
            ReplState::Connect => self.connect_to_master(),
            ReplState::Transfer if since(l.last_io) > timeout => {
                self.log('#', "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.");
                self.cancel_handshake(true);
            }
            ReplState::Connected => {
                let idle = l.client.as_ref().map_or(0, |c| since(c.last_interaction));
                let conn = l.conn;
                if idle > timeout {
                    self.log('#', "MASTER timeout: no data nor PING received...");
                    if let Some(conn) = conn {
                        // Freeing the master client caches it, then reconnects (§2.7).
                        self.close(conn);
                    }
                } else {
                    self.send_ack();
                }
            }
            // Loading from the socket, Redis writes a newline to the master at most once a
            // second (from the loader's progress callback) so that the link looks alive.
            ReplState::Transfer if self.socket_load().is_some() => {
                if let Some(c) = l.conn {
                    self.send(c, b"\n".to_vec());
                }
            }
            ReplState::None | ReplState::Transfer => {}
            _ if since(l.last_io) > timeout => {
                self.log('#', "Timeout connecting to the MASTER...");
                self.cancel_handshake(true);
            }
            _ => {}
        }
    }

    /// Both halves of Redis's 1 Hz `replicationCron`.
    pub(crate) fn replication_cron(&mut self) {
        self.replica_cron();
        self.master_cron();
    }
}
