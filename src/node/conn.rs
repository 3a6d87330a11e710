//! A node's connections: opening and closing them, writing to them through the client output
//! buffer and the socket room the environment reports, Redis's limits on what a client may
//! queue in either direction (`client-output-buffer-limit`, `client-query-buffer-limit`), and
//! how a client is described in logs and `CLIENT LIST`.

use super::*;

impl Node {
    pub(crate) fn send(&mut self, conn: ConnId, data: Vec<u8>) {
        self.send_at(conn, data, None);
    }

    /// Sends bytes of the replication stream that start at `offset`.
    pub(crate) fn send_stream(&mut self, conn: ConnId, data: Vec<u8>, offset: i64) {
        self.send_at(conn, data, Some(offset));
    }

    pub(super) fn send_at(&mut self, conn: ConnId, data: Vec<u8>, offset: Option<i64>) {
        if data.is_empty() {
            return;
        }
        if let Some(c) = self.conns.get(&conn) {
            if c.closing {
                return;
            }
            if c.replica.is_some() {
                self.stats.net_repl_output_bytes += data.len() as u64;
            }
            let normal = c.kind == ConnKind::Client && c.replica.is_none();
            if self.socket_buffer.is_some() {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.unacked += data.len();
                }
            }
            self.outputs.push_back(Output::Send { conn, data, offset });
            if normal && self.socket_buffer.is_some() {
                self.check_client_output_limit(conn);
            }
        }
    }

    /// Closes a normal client whose replies wait unsent past `client-output-buffer-limit
    /// normal` (a client that sends requests and never reads): at once over the hard limit,
    /// after the soft seconds over the soft one. What Redis counts is what waits beyond its
    /// 16 KB reply buffer; here, beyond what the socket took.
    pub(super) fn check_client_output_limit(&mut self, conn: ConnId) {
        let [hard, soft, soft_secs] = self.limits.normal_output;
        if hard == 0 && soft == 0 {
            return;
        }
        let now = self.now;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let used = c.unacked.saturating_sub(REPLY_BUFFER) as u64;
        let over_soft = soft > 0 && used >= soft;
        let since = c.soft_since;
        c.soft_since = if over_soft { Some(since.unwrap_or(now)) } else { None };
        let soft_expired = over_soft && since.is_some_and(|t| self.secs_since(t) > soft_secs);
        if (hard > 0 && used >= hard) || soft_expired {
            let info = self.client_info(conn);
            self.log('#', format!("Client {info} scheduled to be closed ASAP for overcoming of output buffer limits."));
            self.close(conn);
        }
    }

    /// Closes a client whose unparsed requests pass `client-query-buffer-limit`; true if it
    /// did. (Redis 7.0 counts neither the commands queued in MULTI nor, apart, a client that
    /// has not authenticated: later versions do.)
    pub(super) fn check_query_buffer_limit(&mut self, conn: ConnId) -> bool {
        let Some(c) = self.conns.get(&conn) else {
            return false;
        };
        if c.query.len() as u64 <= self.limits.query_buffer {
            return false;
        }
        let start = crate::resp::sds_repr(&c.query[..c.query.len().min(64)]);
        let info = self.client_info(conn);
        self.log(
            '#',
            format!("Closing client that reached max query buffer length: {info} (qbuf initial bytes: {start})"),
        );
        self.close(conn);
        true
    }

    /// A client as Redis's `CLIENT LIST` and its log lines describe it (`catClientInfoString`).
    /// The lab tracks no memory beyond buffers, and no connection age, so some fields are 0.
    pub(crate) fn client_info(&self, conn: ConnId) -> String {
        let Some(c) = self.conns.get(&conn) else {
            return format!("id={conn}");
        };
        let (flags, qbuf, omem, age, cmd) = match &c.replica {
            Some(_) => {
                let omem = self.replica_output_buffer(conn);
                let peer = self.peer(conn);
                let age = peer.map_or(0, |p| self.secs_since(p.wait_since));
                let cmd = if peer.is_some_and(|p| p.pre_psync) { "sync" } else { "psync" };
                ('S', 0, omem, age, cmd)
            }
            None => ('N', c.query.len(), c.unacked.saturating_sub(REPLY_BUFFER) as u64, 0, "NULL"),
        };
        let tx = self.tx.get(&conn).and_then(|t| t.queue.as_ref().map(|q| (q.len(), t.queued_bytes)));
        let (multi, multi_mem) = tx.map_or((-1, 0), |(n, b)| (n as i64, b));
        format!(
            "{} fd={} name= age={age} idle={age} flags={flags} db={} sub=0 psub=0 ssub=0 multi={multi} qbuf={qbuf} \
             qbuf-free=0 argv-mem=0 multi-mem={multi_mem} rbs=16384 rbp=0 obl=0 oll=0 omem={omem} tot-mem={} \
             events=r cmd={cmd} user=default redir=-1 resp=2",
            self.client_description(conn),
            conn + 7,
            c.db,
            qbuf as u64 + omem + multi_mem as u64,
        )
    }

    pub(crate) fn send_frame(&mut self, conn: ConnId, f: &Frame) {
        self.send(conn, f.encode());
    }

    /// Opens an outbound connection; the environment answers later.
    pub(crate) fn open(&mut self, kind: ConnKind, host: &str, port: u16) -> ConnId {
        let id = self.alloc_conn();
        self.conns.insert(id, Conn::new(kind, host.to_string(), port));
        self.outputs.push_back(Output::Connect { conn: id, host: host.to_string(), port });
        id
    }

    /// Closes a connection from our side and forgets it.
    pub(crate) fn close(&mut self, conn: ConnId) {
        if self.conns.contains_key(&conn) {
            self.forget(conn);
            self.outputs.push_back(Output::Close { conn });
        }
    }

    /// `id=.. addr=..` for log lines that name a client, as Redis's `catClientInfoString` starts.
    pub(crate) fn client_description(&self, conn: ConnId) -> String {
        match self.conns.get(&conn) {
            Some(c) => {
                format!("id={conn} addr={}:{} laddr={}:{}", c.peer_host, c.peer_port, self.cfg.host, self.cfg.port)
            }
            None => format!("id={conn}"),
        }
    }

    /// Tells the environment to close a connection the node has already forgotten.
    pub(crate) fn push_close(&mut self, conn: ConnId) {
        self.outputs.push_back(Output::Close { conn });
    }

    pub(super) fn alloc_conn(&mut self) -> ConnId {
        let id = self.next_conn;
        self.next_conn += 1;
        id
    }

    /// Declares that the environment reports, with [`Node::drained`], when the bytes it was
    /// given have left the socket, and how much a socket holds (the kernel's send and receive
    /// buffers). A slow or stalled replica then falls behind in the shared replication buffer,
    /// where the output-buffer limits see it, as in Redis. Without it every write is taken at once.
    pub fn set_socket_buffer(&mut self, bytes: Option<usize>) {
        self.socket_buffer = bytes.map(|b| b.max(1));
    }

    /// `bytes` of what the node sent on `conn` have reached the peer: the socket has room again.
    /// Returns true if that let the node write more (a replica's stream or RDB waiting for
    /// room), so the environment need not look for outputs after every delivery.
    pub fn drained(&mut self, now: Micros, conn: ConnId, bytes: usize) -> bool {
        if self.hold(now, HeldInput::Drained(conn, bytes)) {
            return false;
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return false;
        };
        c.unacked = c.unacked.saturating_sub(bytes);
        if c.replica.is_none() {
            return false;
        }
        self.socket_writable(conn);
        true
    }

    /// Room left in `conn`'s socket (unbounded without [`Node::set_socket_buffer`]).
    pub(crate) fn socket_room(&self, conn: ConnId) -> usize {
        match (self.socket_buffer, self.conns.get(&conn)) {
            (Some(cap), Some(c)) => cap.saturating_sub(c.unacked),
            (Some(_), None) => 0,
            (None, _) => usize::MAX,
        }
    }

    pub(super) fn forget(&mut self, conn: ConnId) {
        self.forget_tx(conn);
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        if c.kind == ConnKind::MasterLink {
            self.master_link_lost(conn);
        } else if c.replica.is_some() {
            self.replica_gone(conn, &c);
        }
    }

    pub(super) fn is_master_link(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_some_and(|c| c.kind == ConnKind::MasterLink)
    }
}
