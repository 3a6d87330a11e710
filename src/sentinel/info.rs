//! What a sentinel learns from the replies it reads: a valid PING reply, another sentinel's
//! vote, and above all INFO, parsed as `sentinelRefreshInstanceInfo` parses it (role, run id,
//! the master's `slaveN:` lines that reveal its replicas, a replica's link status, offset and
//! priority), which is also how a promotion or a re-pointed replica is observed.

use super::*;

impl Sentinel {
    /// `sentinelPingReplyCallback`.
    pub(super) fn on_pong(&mut self, who: Who, frame: &Frame) {
        let now = self.ms();
        let text = match frame {
            Frame::Simple(s) | Frame::Error(s) => s.as_str(),
            _ => "",
        };
        let link = &mut self.inst_mut(who).link;
        if text.starts_with("PONG") || text.starts_with("LOADING") || text.starts_with("MASTERDOWN") {
            link.last_avail_time = now;
            link.act_ping_time = 0;
        }
        link.last_pong_time = now;
    }

    /// `sentinelReceiveIsMasterDownReply`.
    pub(super) fn on_is_master_down(&mut self, who: Who, frame: &Frame) {
        let Frame::Array(items) = frame else {
            return;
        };
        let (Some(Frame::Integer(down)), Some(Frame::Bulk(leader)), Some(Frame::Integer(epoch))) =
            (items.first(), items.get(1), items.get(2))
        else {
            return;
        };
        if items.len() != 3 {
            return;
        }
        let now = self.ms();
        let leader = String::from_utf8_lossy(leader).into_owned();
        let epoch = (*epoch).max(0) as u64;
        let p = self.inst_mut(who);
        p.last_master_down_reply_time = now;
        p.master_down = *down == 1;
        if leader != "*" {
            let changed = p.leader_epoch != epoch;
            let name = p.name.clone();
            p.leader = Some(leader.clone());
            p.leader_epoch = epoch;
            if changed {
                self.log('#', format!("{name} voted for {leader} {epoch}"));
            }
        }
    }

    /// `sentinelRefreshInstanceInfo`: reads INFO, then acts on what changed.
    pub(super) fn refresh_info(&mut self, who: Who, info: &str) {
        let now = self.ms();
        let mut role = None;
        let mut discovered = Vec::new();
        let mut reboot = false;
        {
            let is_master = who == Who::Master;
            let inst = self.inst_mut(who);
            inst.master_link_down_time = 0;
            for l in info.split("\r\n") {
                if let Some(id) = l.strip_prefix("run_id:").filter(|v| v.len() >= 40).map(|v| &v[..40]) {
                    match &inst.runid {
                        Some(old) if old != id => {
                            reboot = true;
                            inst.runid = Some(id.to_string());
                        }
                        None => inst.runid = Some(id.to_string()),
                        _ => {}
                    }
                }
                if is_master {
                    if let Some(addr) = slave_line(l) {
                        discovered.push(addr);
                    }
                }
                if let Some(v) = l.strip_prefix("master_link_down_since_seconds:") {
                    inst.master_link_down_time = v.trim().parse::<i64>().unwrap_or(0) * 1000;
                }
                if l.starts_with("role:master") {
                    role = Some(Kind::Master);
                } else if l.starts_with("role:slave") {
                    role = Some(Kind::Slave);
                }
                if role == Some(Kind::Slave) {
                    if let Some(h) = l.strip_prefix("master_host:") {
                        if inst.slave_master_host.as_deref().is_none_or(|o| !o.eq_ignore_ascii_case(h)) {
                            inst.slave_master_host = Some(h.to_string());
                            inst.slave_conf_change_time = now;
                        }
                    }
                    if let Some(p) = l.strip_prefix("master_port:") {
                        let p = p.trim().parse::<u16>().unwrap_or(0);
                        if inst.slave_master_port != p {
                            inst.slave_master_port = p;
                            inst.slave_conf_change_time = now;
                        }
                    }
                    if let Some(s) = l.strip_prefix("master_link_status:") {
                        inst.slave_master_link_up = s.eq_ignore_ascii_case("up");
                    }
                    if let Some(p) = l.strip_prefix("slave_priority:") {
                        inst.slave_priority = p.trim().parse().unwrap_or(0);
                    }
                    if let Some(o) = l.strip_prefix("slave_repl_offset:") {
                        inst.slave_repl_offset = o.trim().parse().unwrap_or(0);
                    }
                }
            }
            inst.info_refresh = now;
        }
        if reboot {
            self.event('*', "+reboot", who, "");
        }
        for (host, port) in discovered {
            if !self.replicas.iter().any(|r| r.host == host && r.port == port) {
                self.replicas.push(Instance::slave(&host, port, now));
                let at = self.replicas.len() - 1;
                self.event('*', "+slave", Who::Replica(at), "");
            }
        }
        let Some(role) = role else {
            return;
        };
        let inst = self.inst(who);
        if role != inst.role_reported {
            let coherent = inst.kind == role;
            let inst = self.inst_mut(who);
            inst.role_reported_time = now;
            inst.role_reported = role;
            if role == Kind::Slave {
                inst.slave_conf_change_time = now;
            }
            let kind = if coherent { "+role-change" } else { "-role-change" };
            self.event('-', kind, who, &format!(" new reported role is {}", role.name()));
        }
        let Who::Replica(i) = who else {
            return;
        };
        if role == Kind::Master {
            self.replica_reports_master(i);
        } else {
            self.replica_reports_slave(i);
        }
    }

    /// `sentinelMasterLooksSane`.
    pub(super) fn master_looks_sane(&self) -> bool {
        let m = &self.master;
        m.role_reported == Kind::Master
            && !m.sdown
            && !self.odown
            && m.info_refresh != 0
            && self.ms() - m.info_refresh < INFO_PERIOD * 2
    }

    /// A replica's INFO says `role:master`: the promotion we wait for, or one to undo.
    pub(super) fn replica_reports_master(&mut self, i: usize) {
        let now = self.ms();
        let r = &self.replicas[i];
        if r.promoted && self.failover_in_progress && self.failover_state == FailoverState::WaitPromotion {
            self.config_epoch = self.failover_epoch;
            self.failover_state = FailoverState::ReconfSlaves;
            self.failover_state_change_time = now;
            self.event('#', "+promoted-slave", Who::Replica(i), "");
            self.event('#', "+failover-state-reconf-slaves", Who::Master, "");
            self.force_hello_update();
            return;
        }
        let wait = PUBLISH_PERIOD * 4;
        if !r.promoted && self.master_looks_sane() && r.no_down_for(wait, 0, now) && now - r.role_reported_time > wait {
            let to = (self.master.host.clone(), self.master.port);
            if self.send_slaveof(Who::Replica(i), Some(to)) {
                self.event('*', "+convert-to-slave", Who::Replica(i), "");
            }
        }
    }

    /// A replica's INFO says `role:slave`: maybe of the wrong master, maybe in reconfiguration.
    pub(super) fn replica_reports_slave(&mut self, i: usize) {
        let now = self.ms();
        let (mhost, mport) = (self.master.host.clone(), self.master.port);
        let r = &self.replicas[i];
        let wrong_master = r.slave_master_port != mport
            || r.slave_master_host.as_deref().is_none_or(|h| !h.eq_ignore_ascii_case(&mhost));
        let wait = self.cfg.failover_timeout_ms as i64;
        if wrong_master
            && self.master_looks_sane()
            && r.no_down_for(wait, 0, now)
            && now - r.slave_conf_change_time > wait
            && self.send_slaveof(Who::Replica(i), Some((mhost, mport)))
        {
            self.event('*', "+fix-slave-config", Who::Replica(i), "");
        }
        let promoted = self.promoted.and_then(|p| self.replicas.get(p)).map(|p| (p.host.clone(), p.port));
        let r = &mut self.replicas[i];
        if r.reconf_sent {
            let to_promoted = promoted.as_ref().is_some_and(|(h, p)| {
                r.slave_master_host.as_deref().is_some_and(|mh| mh.eq_ignore_ascii_case(h)) && r.slave_master_port == *p
            });
            if to_promoted {
                r.reconf_sent = false;
                r.reconf_inprog = true;
                self.event('*', "+slave-reconf-inprog", Who::Replica(i), "");
            }
        }
        let r = &mut self.replicas[i];
        if r.reconf_inprog && r.slave_master_link_up {
            r.reconf_inprog = false;
            r.reconf_done = true;
            self.event('*', "+slave-reconf-done", Who::Replica(i), "");
        }
    }
}

/// The `(ip, port)` of a master's INFO line `slaveN:ip=...,port=...,...`.
pub(super) fn slave_line(l: &str) -> Option<(String, u16)> {
    let rest = l.strip_prefix("slave")?;
    if !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let field = |name: &str| rest.split([',', ':']).find_map(|f| f.strip_prefix(name)).map(str::to_string);
    let ip = field("ip=")?;
    let port = field("port=")?.parse().ok()?;
    Some((ip, port))
}
