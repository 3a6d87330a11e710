//! Time: `serverCron`'s work on the node (expiring keys actively, the replication cron,
//! failover and shutdown timers) and DEBUG SLEEP, during which the node holds its inputs and
//! runs nothing, then picks up where it stopped.

use super::*;

impl Node {
    /// Stops the node until `now + duration`, as SIGSTOP or `DEBUG SLEEP` would: it processes
    /// nothing and writes nothing; inputs wait (as in kernel buffers) and are handled on resume.
    pub fn pause(&mut self, now: Micros, duration: Micros) {
        self.advance(now);
        let until = now.saturating_add(duration);
        self.paused_until = Some(self.paused_until.map_or(until, |u| u.max(until)));
    }

    /// True while paused.
    pub fn is_paused(&self) -> bool {
        self.paused_until.is_some()
    }

    pub(super) fn hold(&mut self, now: Micros, input: HeldInput) -> bool {
        self.advance(now);
        if self.paused_until.is_some() {
            self.held.push_back(input);
            return true;
        }
        false
    }

    pub(super) fn resume(&mut self) {
        self.paused_until = None;
        let now = self.now;
        // The requests that came in the same read as the DEBUG SLEEP run first, as Redis goes on
        // with that client's query buffer once it wakes.
        // Each step may run a DEBUG SLEEP that stops the node again: then what is left waits,
        // in its order (an input taken from `held` while stopped would go back at its end).
        let waiting: Vec<ConnId> = self.conns.iter().filter(|(_, c)| !c.query.is_empty()).map(|(&id, _)| id).collect();
        for conn in waiting {
            self.process_query(conn);
            if self.paused_until.is_some() {
                return;
            }
        }
        while let Some(input) = self.held.pop_front() {
            match input {
                HeldInput::Connected(c) => self.connected(now, c),
                HeldInput::ConnectFailed(c, r) => self.connect_failed(now, c, &r),
                HeldInput::Receive(c, d) => self.receive(now, c, &d),
                HeldInput::Closed(c) => self.closed(now, c),
                HeldInput::Drained(c, n) => {
                    self.drained(now, c, n);
                }
            }
            if self.paused_until.is_some() {
                break;
            }
        }
    }

    pub(super) fn server_cron(&mut self) {
        self.update_failover_status();
        self.active_expire();
        if !self.serving.replicas.is_empty() {
            self.check_output_buffer_limits(true);
        }
        // run_with_period(1000): loops 0, 10, 20... so the first replicationCron is in the
        // first serverCron, as in Redis.
        if self.cron_loops % 10 == 0 {
            self.replication_cron();
        }
        self.cron_loops += 1;
    }

    /// Active expiry on a master: expired keys are deleted and each deletion propagates as DEL.
    /// Replicas wait for their master's DELs (REDIS-REPLICATION.md §7.3).
    pub(super) fn active_expire(&mut self) {
        if self.master.is_some() || !self.active_expire_enabled {
            return;
        }
        let now = self.unix_ms();
        for db in 0..crate::keyspace::DATABASES {
            for key in self.keyspace.db_mut(db).remove_expired(now) {
                self.stats.expired_keys += 1;
                self.feed_command(db, &[b"DEL".to_vec(), key]);
            }
        }
    }
}
