//! WAIT and min-replicas-to-write: the two ways a client can ask how far its writes have
//! reached the replicas (REDIS-REPLICATION.md §7.5, §7.6).
//!
//! Both rest on the replicas' `REPLCONF ACK` offsets. WAIT blocks a client until enough online
//! replicas have acknowledged its last write, asking them with `REPLCONF GETACK *` in the
//! stream; min-replicas refuses writes while too few replicas have acknowledged recently.

use super::SlaveState;
use crate::node::{ConnId, Micros, Node};
use crate::resp::{encode_command, Frame};

/// A client blocked in WAIT.
#[derive(Clone, Debug)]
pub(crate) struct Waiter {
    pub conn: ConnId,
    /// The master offset after the client's last write.
    pub offset: i64,
    pub numreplicas: usize,
    /// None: wait forever (timeout 0).
    pub deadline: Option<Micros>,
}

impl Node {
    /// Online replicas whose acknowledged offset reached `offset`.
    pub(crate) fn replicas_acked(&self, offset: i64) -> usize {
        self.serving
            .replicas
            .iter()
            .filter_map(|&c| self.peer(c))
            .filter(|p| p.state == SlaveState::Online && p.ack_off >= offset)
            .count()
    }

    fn config_num(&self, name: &str, default: u64) -> u64 {
        self.config_text.get(name).and_then(|v| v.parse().ok()).unwrap_or(default)
    }

    /// `(min-replicas-to-write, min-replicas-max-lag)` when both are set, as Redis requires.
    pub(crate) fn min_replicas(&self) -> Option<(usize, u64)> {
        let n = self.config_num("min-replicas-to-write", 0);
        let lag = self.config_num("min-replicas-max-lag", 10);
        (n > 0 && lag > 0).then_some((n as usize, lag))
    }

    /// Redis's `refreshGoodSlavesCount`: online replicas that ACKed within the max lag.
    pub(crate) fn refresh_good_replicas(&mut self) {
        let Some((_, lag)) = self.min_replicas() else {
            return;
        };
        let good = self
            .serving
            .replicas
            .iter()
            .filter_map(|&c| self.peer(c))
            .filter(|p| p.state == SlaveState::Online && self.secs_since(p.ack_time) <= lag)
            .count();
        self.serving.good_replicas = good;
    }

    /// True when min-replicas-to-write forbids writes now (masters only).
    pub(crate) fn too_few_good_replicas(&self) -> bool {
        self.master.is_none() && self.min_replicas().is_some_and(|(n, _)| self.serving.good_replicas < n)
    }

    /// `WAIT numreplicas timeout` for `conn`: the reply now, or None when the client blocks.
    pub(crate) fn wait_command(
        &mut self,
        conn: ConnId,
        numreplicas: usize,
        timeout_ms: u64,
        in_exec: bool,
    ) -> Option<Frame> {
        let offset = self.conns.get(&conn).map_or(0, |c| c.woff);
        let acked = self.replicas_acked(offset);
        if acked >= numreplicas || in_exec {
            return Some(Frame::Integer(acked as i64));
        }
        let deadline = (timeout_ms > 0).then(|| self.now + timeout_ms * 1000);
        self.serving.waiters.push(Waiter { conn, offset, numreplicas, deadline });
        self.serving.getack_pending = true;
        None
    }

    /// Sends `REPLCONF GETACK *` through the stream once per batch of input while clients wait
    /// (Redis does it in `beforeSleep`); like the ping, no SELECT precedes it.
    pub(crate) fn flush_getack(&mut self) {
        if std::mem::take(&mut self.serving.getack_pending) && !self.serving.waiters.is_empty() && self.master.is_none()
        {
            self.feed_stream(&encode_command(&["REPLCONF", "GETACK", "*"]));
        }
    }

    /// Answers the waiting clients that are satisfied or timed out.
    pub(crate) fn process_waiters(&mut self) {
        let now = self.now;
        let mut still = Vec::new();
        let mut answered = Vec::new();
        for w in std::mem::take(&mut self.serving.waiters) {
            let acked = self.replicas_acked(w.offset);
            if acked >= w.numreplicas || w.deadline.is_some_and(|d| d <= now) {
                self.send_frame(w.conn, &Frame::Integer(acked as i64));
                answered.push(w.conn);
            } else if self.conns.contains_key(&w.conn) {
                still.push(w);
            }
        }
        self.serving.waiters.extend(still);
        // Unblocked clients go on with what they sent meanwhile.
        for conn in answered {
            self.process_query(conn);
        }
    }

    /// Redis's `disconnectAllBlockedClients`, run when a master turns replica: every client
    /// blocked in WAIT gets `-UNBLOCKED` and is closed once the reply is written.
    pub(crate) fn unblock_waiters_for_role_change(&mut self) {
        for w in std::mem::take(&mut self.serving.waiters) {
            let msg = "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)";
            self.send_frame(w.conn, &Frame::error(msg));
            self.close(w.conn);
        }
    }
}

impl super::master::MasterSide {
    /// The earliest WAIT timeout.
    pub(crate) fn next_wait_deadline(&self) -> Option<Micros> {
        self.waiters.iter().filter_map(|w| w.deadline).min()
    }
}
