//! Query processing: whole commands parsed out of a client's query buffer (half a command
//! waits for the rest, a protocol error closes the client as Redis does), each run through the
//! command table, and what a write propagates fed to the replication stream.

use super::*;

/// What Redis's log line calls a protocol error (`setProtocolError`), where it words it
/// otherwise than the reply does.
fn protocol_error_reason(reply: &str) -> &str {
    match reply {
        "unauthenticated multibulk length" => "unauth mbulk count",
        "unauthenticated bulk length" => "unauth bulk length",
        "unbalanced quotes in request" => "unbalanced quotes in inline request",
        r if r.starts_with("expected '$', got ") => "expected $ but got something else",
        r => r,
    }
}

impl Node {
    /// The `requirepass` password, if one is set.
    pub(crate) fn requirepass(&self) -> Option<&str> {
        self.config_text.get("requirepass").map(String::as_str).filter(|p| !p.is_empty())
    }

    pub(crate) fn process_query(&mut self, conn: ConnId) {
        self.process_query_batch(conn);
        self.flush_getack();
    }

    pub(super) fn process_query_batch(&mut self, conn: ConnId) {
        loop {
            let password = self.requirepass().is_some();
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if c.closing || c.query.is_empty() {
                return;
            }
            // A stopped node (DEBUG SLEEP) runs nothing; what the client sent after it waits in
            // its query buffer until the node wakes (see `resume`). A client blocked in WAIT or
            // SHUTDOWN reads nothing more until it is answered (CLIENT_BLOCKED).
            if self.paused_until.is_some()
                || self.serving.waiters.iter().any(|w| w.conn == conn)
                || self.shutdown.as_ref().is_some_and(|s| s.clients.contains(&conn))
            {
                return;
            }
            let limits = RequestLimits {
                max_bulk: self.limits.proto_max_bulk_len,
                unauthenticated: !c.authenticated && password,
            };
            match parse_command_resuming(&c.query, limits, &mut c.progress) {
                Ok(Parsed::Incomplete) => return,
                Ok(Parsed::Complete(argv, used)) => {
                    // During a FAILOVER or a SHUTDOWN waiting for replicas, writes wait in the
                    // query buffer (pauseClients WRITE).
                    if (self.writes_paused() || self.shutdown_pauses_writes()) && commands::is_write(&argv) {
                        return;
                    }
                    let Some(c) = self.conns.get_mut(&conn) else {
                        return;
                    };
                    c.query.drain(..used);
                    if !argv.is_empty() {
                        if let Some(reply) = self.call(conn, &argv) {
                            self.send_frame(conn, &reply);
                        }
                    }
                }
                Err(e) => {
                    let msg = format!("ERR {e}");
                    let line = format!(
                        "Protocol error ({}) from client: addr={}:{}",
                        protocol_error_reason(&e.0),
                        c.peer_host,
                        c.peer_port
                    );
                    self.log('-', line);
                    self.send_frame(conn, &Frame::error(msg));
                    self.close(conn);
                    return;
                }
            }
        }
    }

    /// Runs one command for a client connection and returns its reply (None: no reply, as for
    /// `REPLCONF ACK` or a PSYNC whose answer is written separately).
    pub(crate) fn call(&mut self, conn: ConnId, argv: &[Vec<u8>]) -> Option<Frame> {
        let db = self.conns.get(&conn).map_or(0, |c| c.db);
        let mut ctx = Ctx::new(conn, db, false);
        let reply = commands::dispatch(self, &mut ctx, argv);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.db = ctx.db;
        }
        let propagated = ctx.take_propagated();
        let wrote = !propagated.is_empty();
        self.persistence.dirty += propagated.len() as u64;
        self.propagate(propagated);
        if wrote {
            let off = self.master_repl_offset;
            if let Some(c) = self.conns.get_mut(&conn) {
                c.woff = off;
            }
        }
        reply
    }

    /// Feeds what a command changed to the replication stream, wrapped in MULTI/EXEC when more
    /// than one command propagates from one call (REDIS-REPLICATION.md §7.4).
    pub(crate) fn propagate(&mut self, cmds: Vec<(usize, Vec<Vec<u8>>)>) {
        if cmds.len() > 1 {
            // MULTI takes the first command's db, so a SELECT may precede it.
            let first_db = cmds[0].0;
            self.feed_command(first_db, &[b"MULTI".to_vec()]);
            for (db, argv) in &cmds {
                self.feed_command(*db, argv);
            }
            // EXEC takes the last command's db so that no SELECT is injected before it.
            let last_db = cmds[cmds.len() - 1].0;
            self.feed_command(last_db, &[b"EXEC".to_vec()]);
        } else if let Some((db, argv)) = cmds.first() {
            self.feed_command(*db, argv);
        }
    }
}
