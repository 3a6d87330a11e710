//! Detection and failover, as `sentinel.c` runs them from its timer: SDOWN after
//! `down-after-milliseconds` without a valid reply, ODOWN when `quorum` sentinels agree, the
//! leader vote per epoch, then the failover state machine (select a replica by
//! `sentinelSelectSlave`'s rules, `SLAVEOF NO ONE` to it, wait for the promotion, re-point the
//! others, switch the monitored address), and the hello messages that carry the new
//! configuration to the other sentinels.

use super::*;

impl Sentinel {
    /// `sentinelForceHelloUpdateForMaster`: hellos go out at the next timer run.
    pub(super) fn force_hello_update(&mut self) {
        let at = self.ms() - PUBLISH_PERIOD - 1;
        for p in &mut self.peers {
            p.last_pub_time = p.last_pub_time.min(at);
        }
    }

    // ----- the timer -----

    /// `sentinelTimer` for our one master: the master, its replicas, the other sentinels.
    pub(super) fn timer(&mut self) {
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
    pub(super) fn handle_instance(&mut self, who: Who) {
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
    pub(super) fn check_sdown(&mut self, who: Who) {
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
    pub(super) fn check_odown(&mut self) {
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
    pub(super) fn ask_master_state(&mut self, forced: bool) {
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
    pub(super) fn start_failover_if_needed(&mut self) -> bool {
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
    pub(super) fn vote_leader(&mut self, req_epoch: u64, req_runid: &str) -> (Option<String>, u64) {
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
    pub(super) fn get_leader(&mut self, epoch: u64) -> Option<String> {
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
    pub(super) fn failover_state_machine(&mut self) {
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

    pub(super) fn set_failover_state(&mut self, s: FailoverState) {
        self.failover_state = s;
        self.failover_state_change_time = self.ms();
    }

    pub(super) fn failover_wait_start(&mut self) {
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
    pub(super) fn select_slave(&self) -> Option<usize> {
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

    pub(super) fn failover_select_slave(&mut self) {
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

    pub(super) fn failover_send_slaveof_noone(&mut self) {
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
    pub(super) fn failover_reconf_next_slave(&mut self) {
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
    pub(super) fn failover_detect_end(&mut self) {
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
    pub(super) fn abort_failover(&mut self) {
        self.failover_in_progress = false;
        self.set_failover_state(FailoverState::None);
        if let Some(p) = self.promoted.take() {
            if let Some(r) = self.replicas.get_mut(p) {
                r.promoted = false;
            }
        }
    }

    /// `sentinelFailoverSwitchToPromotedSlave`.
    pub(super) fn switch_to_promoted(&mut self) {
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
    pub(super) fn reset_master_and_change_address(&mut self, host: &str, port: u16) {
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
    pub(super) fn process_hello(&mut self, hello: &str) {
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
}
