//! A sentinel's links to the instances it watches (`instanceLink`): connecting and
//! reconnecting, the commands it sends (PING, INFO, `SLAVEOF` inside MULTI/EXEC, hello messages
//! to its peers) with the reply each waits for, and reading those replies in order, as hiredis
//! callbacks do in `sentinel.c`.

use super::*;

impl Sentinel {
    pub(super) fn advance(&mut self, now: Micros) {
        self.now = self.now.max(now);
    }

    pub(super) fn alloc_conn(&mut self) -> ConnId {
        let id = self.next_conn;
        self.next_conn += 1;
        id
    }

    pub(super) fn push_send(&mut self, conn: ConnId, data: Vec<u8>) {
        if !data.is_empty() {
            self.outputs.push_back(Output::Send { conn, data, offset: None });
        }
    }

    pub(super) fn who_by_conn(&self, conn: ConnId) -> Option<Who> {
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
    pub(super) fn drop_link(&mut self, who: Who) {
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
    pub(super) fn close_link(&mut self, who: Who) {
        if let Some(c) = self.inst(who).link.conn {
            self.outputs.push_back(Output::Close { conn: c });
        }
        self.drop_link(who);
    }

    /// `sentinelReconnectInstance`: at most one attempt a second.
    pub(super) fn reconnect(&mut self, who: Who) {
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
    pub(super) fn send_command(&mut self, who: Who, args: &[&str], pending: Pending) -> bool {
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

    pub(super) fn send_ping(&mut self, who: Who) {
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
    pub(super) fn send_slaveof(&mut self, who: Who, to: Option<(String, u16)>) -> bool {
        let (host, port) = to.map_or(("NO".to_string(), "ONE".to_string()), |(h, p)| (h, p.to_string()));
        self.send_command(who, &["MULTI"], Pending::Discard)
            && self.send_command(who, &["SLAVEOF", &host, &port], Pending::Discard)
            && self.send_command(who, &["EXEC"], Pending::Discard)
    }

    /// `sentinelSendPeriodicCommands`.
    pub(super) fn send_periodic(&mut self, who: Who) {
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
    pub(super) fn send_hello(&mut self, who: Who) {
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

    pub(super) fn read_replies(&mut self, who: Who) {
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

    pub(super) fn inst_exists(&self, who: Who) -> Option<()> {
        match who {
            Who::Master => Some(()),
            Who::Replica(i) => self.replicas.get(i).map(|_| ()),
            Who::Peer(i) => self.peers.get(i).map(|_| ()),
        }
    }
}
