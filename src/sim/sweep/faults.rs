//! The faults a run draws and how they are applied: cuts, partitions, crashes with or without
//! a SAVE, restarts, pauses, and changes of master by an operator (`REPLICAOF NO ONE` and
//! `REPLICAOF`, or `FAILOVER`); in sentinel runs the sentinels change masters on their own.

use super::*;

/// The fault schedule: episodes at random times, each closed before `end`.
pub(super) fn schedule(
    g: &mut Gen,
    nodes: usize,
    end: Micros,
    promotions: Promotions,
    out: &mut Vec<(Micros, Action)>,
) {
    if nodes < 2 {
        return;
    }
    let start = 1_000_000;
    if end <= start + SAMPLE {
        return;
    }
    let secs = end / 1_000_000;
    let episodes = g.range(secs / 12 + 1, secs / 5 + 1);
    let mut partition_free: Micros = 0;
    let mut crash_free = vec![0 as Micros; nodes];
    let mut pause_free = vec![0 as Micros; nodes];
    for _ in 0..episodes {
        let at = g.range(start, end - SAMPLE);
        let room = end - at;
        let dur = g.range(200_000, 15_000_000).min(room - 1);
        match g.below(7) {
            0 => out.push((at, Action::Cut(g.range(1, nodes as u64 - 1) as usize))),
            1 => {
                if at < partition_free {
                    continue;
                }
                let mut groups: Vec<u32> = (0..nodes).map(|_| g.below(2) as u32).collect();
                if groups.iter().all(|x| *x == groups[0]) {
                    let i = g.below(nodes as u64) as usize;
                    groups[i] ^= 1;
                }
                out.push((at, Action::Partition(groups)));
                out.push((at + dur, Action::Heal));
                partition_free = at + dur + 1;
            }
            2 => {
                // Replicas crash more often than the master.
                let node = if g.chance(25) { 0 } else { g.range(1, nodes as u64 - 1) as usize };
                if at < crash_free[node] {
                    continue;
                }
                out.push((at, Action::Crash { node, save: g.chance(50) }));
                out.push((at + dur, Action::Restart(node)));
                crash_free[node] = at + dur + 1;
            }
            3 => {
                let node = g.below(nodes as u64) as usize;
                if at < pause_free[node] {
                    continue;
                }
                let ms = (dur / 1000).clamp(1, 9_000);
                out.push((at, Action::Pause { node, ms }));
                pause_free[node] = at + ms * 1000 + 1;
            }
            4 => {
                let node = g.below(nodes as u64) as usize;
                if at < crash_free[node] {
                    continue;
                }
                out.push((at, Action::Reboot { node, save: g.chance(50) }));
            }
            _ if promotions == Promotions::Sentinels => {
                // The sentinels' work: the master itself (whoever it is then) goes away.
                out.push((at, Action::Crash { node: usize::MAX, save: g.chance(50) }));
                out.push((at + dur.max(6_000_000).min(room - 1), Action::Restart(usize::MAX)));
            }
            5 => out.push((at, Action::Promote(g.below(nodes as u64) as usize))),
            _ => {
                // An operator gives FAILOVER a timeout: without one it would hold writes back
                // for as long as no replica catches up.
                let timeout_ms = g.range(1_000, 5_000);
                let force_to = g.chance(30).then(|| g.below(nodes as u64) as usize);
                out.push((at, Action::Failover { timeout_ms, force_to }));
            }
        }
    }
}

impl Run {
    /// The node an address names, if it is one of the run's.
    pub(super) fn node_at(&self, port: u16) -> Option<usize> {
        let i = port.checked_sub(BASE_PORT)? as usize;
        (i < self.cfg.nodes).then_some(i)
    }

    /// Where the master is now: what the sentinels say (the one with the newest configuration),
    /// or, for an operator, the end of the replication chain from the last master it set.
    pub(super) fn current_master(&self) -> usize {
        if self.promotions == Promotions::Sentinels {
            let best =
                (0..self.w.sentinel_count()).filter_map(|j| self.w.sentinel_view(j)).max_by_key(|v| v.config_epoch);
            return best.and_then(|v| self.node_at(v.master_port)).unwrap_or(self.master);
        }
        let mut m = self.master;
        for _ in 0..self.cfg.nodes {
            let next = self.w.is_up(m).then(|| self.w.node(m).master_addr()).flatten();
            match next.and_then(|(_, port)| self.node_at(port)) {
                Some(n) if n != m => m = n,
                _ => break,
            }
        }
        m
    }

    /// REPLICAOF NO ONE on `p`, then REPLICAOF p on every other node that is up.
    pub(super) fn promote(&mut self, p: usize) -> bool {
        if self.console(p, "REPLICAOF NO ONE") != "OK" {
            return false;
        }
        self.master = p;
        self.repoint_all(p);
        true
    }

    /// Points every node but `m` that is up and not already its replica at `m`; returns how
    /// many it re-pointed.
    pub(super) fn repoint_all(&mut self, m: usize) -> usize {
        let port = BASE_PORT + m as u16;
        let mut changed = 0;
        for i in 0..self.cfg.nodes {
            let wanted = Some(("127.0.0.1".to_string(), port));
            if i != m && self.w.is_up(i) && self.w.node(i).master_addr() != wanted {
                let line = format!("REPLICAOF 127.0.0.1 {port}");
                let mut reply = self.console(i, &line);
                if reply.contains("not allowed while failing over") {
                    // The operator takes over from a FAILOVER still waiting for its replica.
                    self.console(i, "FAILOVER ABORT");
                    reply = self.console(i, &line);
                }
                if !reply.starts_with("OK") && !reply.is_empty() {
                    self.violation(format!("node {i}: REPLICAOF answered {reply}"));
                }
                changed += 1;
            }
        }
        changed
    }

    pub(super) fn apply(&mut self, a: Action, log: &mut Vec<String>, writes: &mut u64) {
        let t = self.w.now() / 1000;
        let name = |i: usize| ((b'A' + (i % 26) as u8) as char).to_string();
        match a {
            Action::Write(lines) => {
                let m = self.current_master();
                self.master = m;
                for l in lines {
                    self.console(m, &l);
                    *writes += 1;
                }
            }
            Action::WaitedWrite => {
                self.waited_write();
                *writes += 3;
            }
            Action::Cut(r) => {
                self.w.cut(0, r);
                log.push(format!("{t}ms cut A-{}", name(r)));
            }
            Action::Crash { node: usize::MAX, save } => {
                let m = self.current_master();
                if self.crashed_master.is_none() && self.w.is_up(m) {
                    self.crashed_master = Some(m);
                    self.apply(Action::Crash { node: m, save }, log, writes);
                }
            }
            Action::Restart(usize::MAX) => {
                if let Some(m) = self.crashed_master.take() {
                    self.apply(Action::Restart(m), log, writes);
                }
            }
            Action::Reboot { node, save } => {
                if !self.w.is_up(node) || self.crashed_master == Some(node) {
                    return;
                }
                self.apply(Action::Crash { node, save }, log, writes);
                self.apply(Action::Restart(node), log, writes);
            }
            Action::Promote(p) => {
                let m = self.current_master();
                if p != m && self.w.is_up(p) && !self.w.node(p).is_paused() && self.promote(p) {
                    log.push(format!("{t}ms promote {} (REPLICAOF NO ONE, others REPLICAOF it)", name(p)));
                }
            }
            Action::Failover { timeout_ms, force_to } => {
                let m = self.current_master();
                if self.w.is_up(m) && !self.w.node(m).is_paused() {
                    let to =
                        force_to.map_or(String::new(), |n| format!("TO 127.0.0.1 {} FORCE ", BASE_PORT + n as u16));
                    let line = format!("FAILOVER {to}TIMEOUT {timeout_ms}");
                    let reply = self.console(m, &line);
                    log.push(format!("{t}ms {line} on {}: {reply}", name(m)));
                }
            }
            Action::Partition(groups) => {
                self.w.partition(&groups);
                log.push(format!("{t}ms partition {groups:?}"));
            }
            Action::Heal => {
                self.w.heal();
                log.push(format!("{t}ms heal"));
            }
            Action::Crash { node, save } => {
                if !self.w.is_up(node) {
                    return;
                }
                let saved = save && !self.w.node(node).is_paused() && self.console(node, "SAVE") == "OK";
                if !saved && self.w.node(node).view().role == "master" {
                    self.lost_disks.push((node, self.w.now()));
                }
                self.w.crash(node);
                log.push(format!("{t}ms crash {}{}", name(node), if saved { " after SAVE" } else { "" }));
            }
            Action::Restart(node) => {
                if self.w.is_up(node) {
                    return;
                }
                self.w.restart(node);
                self.watch[node].restarts += 1;
                log.push(format!("{t}ms restart {}", name(node)));
            }
            Action::Pause { node, ms } => {
                if !self.w.is_up(node) {
                    return;
                }
                self.w.pause_node(node, ms);
                log.push(format!("{t}ms pause {} {ms}ms", name(node)));
            }
        }
    }
}
