//! The coordinated FAILOVER command of Redis 7.0 (REDIS-REPLICATION.md §5.7).
//!
//! The master pauses writes, waits until a replica (the target, or any) has acknowledged its
//! whole stream, then turns itself into a replica of that target and sends
//! `PSYNC <replid> <offset+1> FAILOVER`, which makes the target promote itself and accept the old
//! master with `+CONTINUE <new id>`. With FORCE and a TIMEOUT it fails over even to a replica
//! that has not caught up.

use super::SlaveState;
use crate::node::{ConnId, Micros, Node};
use crate::resp::Frame;

/// `master_failover_state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailoverState {
    /// Writes paused, waiting for a replica to catch up.
    WaitingForSync,
    /// PSYNC FAILOVER sent to the target.
    InProgress,
}

/// A FAILOVER under way.
#[derive(Clone, Debug)]
pub(crate) struct Failover {
    pub state: FailoverState,
    pub target: Option<(String, u16)>,
    pub force: bool,
    pub deadline: Option<Micros>,
}

impl Node {
    /// INFO's `master_failover_state`.
    pub(crate) fn failover_state_name(&self) -> &'static str {
        match self.failover.as_ref().map(|f| f.state) {
            None => "no-failover",
            Some(FailoverState::WaitingForSync) => "waiting-for-sync",
            Some(FailoverState::InProgress) => "failover-in-progress",
        }
    }

    /// Writes are paused while a failover runs (`pauseClients(PAUSE_DURING_FAILOVER)`).
    pub(crate) fn writes_paused(&self) -> bool {
        self.failover.is_some()
    }

    fn find_replica(&self, host: &str, port: u16) -> Option<ConnId> {
        self.serving
            .replicas
            .iter()
            .copied()
            .find(|c| self.conns.get(c).is_some_and(|conn| conn.peer_host == host && conn.listening_port == port))
    }

    /// `FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]`.
    pub(crate) fn failover_command(&mut self, argv: &[Vec<u8>]) -> Frame {
        if argv.len() == 2 && argv[1].eq_ignore_ascii_case(b"abort") {
            if self.failover.is_none() {
                return Frame::error("ERR No failover in progress.");
            }
            self.abort_failover("Failover manually aborted");
            return Frame::ok();
        }
        let (mut timeout, mut force, mut to) = (0i64, false, None);
        let mut j = 1;
        while j < argv.len() {
            let arg = argv[j].to_ascii_lowercase();
            if arg == b"timeout" && j + 1 < argv.len() && timeout == 0 {
                let Some(t) = std::str::from_utf8(&argv[j + 1]).ok().and_then(|s| s.parse::<i64>().ok()) else {
                    return Frame::error("ERR value is not an integer or out of range");
                };
                if t <= 0 {
                    return Frame::error("ERR FAILOVER timeout must be greater than 0");
                }
                timeout = t;
                j += 2;
            } else if arg == b"to" && j + 2 < argv.len() && to.is_none() {
                let Some(p) = std::str::from_utf8(&argv[j + 2]).ok().and_then(|s| s.parse::<i64>().ok()) else {
                    return Frame::error("ERR value is not an integer or out of range");
                };
                to = Some((String::from_utf8_lossy(&argv[j + 1]).into_owned(), p));
                j += 3;
            } else if arg == b"force" && !force {
                force = true;
                j += 1;
            } else {
                return Frame::error("ERR syntax error");
            }
        }
        if self.failover.is_some() {
            return Frame::error("ERR FAILOVER already in progress.");
        }
        if self.master.is_some() {
            return Frame::error("ERR FAILOVER is not valid when server is a replica.");
        }
        if self.serving.replicas.is_empty() {
            return Frame::error("ERR FAILOVER requires connected replicas.");
        }
        if force && (timeout == 0 || to.is_none()) {
            return Frame::error("ERR FAILOVER with force option requires both a timeout and target HOST and IP.");
        }
        let mut target = None;
        if let Some((host, port)) = to {
            let found = u16::try_from(port).ok().and_then(|p| self.find_replica(&host, p));
            let Some(c) = found else {
                return Frame::error("ERR FAILOVER target HOST and PORT is not a replica.");
            };
            if self.peer(c).is_none_or(|p| p.state != SlaveState::Online) {
                return Frame::error("ERR FAILOVER target replica is not online.");
            }
            self.log('*', format!("FAILOVER requested to {host}:{port}."));
            target = Some((host, port as u16));
        } else {
            self.log('*', "FAILOVER requested to any replica.");
        }
        let deadline = (timeout > 0).then(|| self.now + timeout as u64 * 1000);
        self.failover = Some(Failover { state: FailoverState::WaitingForSync, target, force, deadline });
        Frame::ok()
    }

    /// Redis's `updateFailoverStatus`: time out, or fail over to a caught-up replica.
    pub(crate) fn update_failover_status(&mut self) {
        let Some(f) = self.failover.clone() else {
            return;
        };
        if f.state != FailoverState::WaitingForSync {
            return;
        }
        if f.deadline.is_some_and(|d| d <= self.now) {
            match (&f.target, f.force) {
                (Some((h, p)), true) => {
                    self.log('*', format!("FAILOVER to {h}:{p} time out exceeded, failing over."));
                    self.start_failover(h.clone(), *p);
                }
                _ => self.abort_failover("Replica never caught up before timeout"),
            }
            return;
        }
        let caught_up = |n: &Node, c: ConnId| n.peer(c).is_some_and(|p| p.ack_off == n.master_repl_offset);
        let target = match &f.target {
            Some((h, p)) => self.find_replica(h, *p).filter(|&c| caught_up(self, c)).map(|_| (h.clone(), *p)),
            None => self
                .serving
                .replicas
                .iter()
                .copied()
                .find(|&c| caught_up(self, c))
                .and_then(|c| self.conns.get(&c).map(|conn| (conn.peer_host.clone(), conn.listening_port))),
        };
        if let Some((h, p)) = target {
            self.log('*', format!("Failover target {h}:{p} is synced, failing over."));
            self.start_failover(h, p);
        }
    }

    fn start_failover(&mut self, host: String, port: u16) {
        if let Some(f) = self.failover.as_mut() {
            f.state = FailoverState::InProgress;
            f.target = Some((host.clone(), port));
        }
        self.replicaof(&host, port, "failover");
    }

    /// `abortFailover`: back to master if we had already switched, and writes resume.
    pub(crate) fn abort_failover(&mut self, why: &str) {
        let Some(f) = self.failover.take() else {
            return;
        };
        let target = f.target.map(|(h, p)| format!("{h}:{p}")).unwrap_or_else(|| "any replica".into());
        self.log('*', format!("FAILOVER to {target} aborted: {why}"));
        if f.state == FailoverState::InProgress {
            self.replicaof_no_one("failover abort");
        }
        self.resume_paused_clients();
    }

    /// The failover finished (the target answered the PSYNC): writes resume.
    pub(crate) fn clear_failover(&mut self) {
        if self.failover.take().is_some() {
            self.resume_paused_clients();
        }
    }

    /// Runs the requests that waited while writes were paused.
    fn resume_paused_clients(&mut self) {
        let waiting: Vec<ConnId> = self.conns.iter().filter(|(_, c)| !c.query.is_empty()).map(|(id, _)| *id).collect();
        for c in waiting {
            self.process_query(c);
        }
    }
}
