//! The invariants, checked while the run goes (every 100 ms of virtual time) and at its end:
//! the PSYNC rule on every decision, no stream errors in any log, offsets that never go back,
//! backlogs within what Redis's trimming keeps, in-sync replicas holding their master's data,
//! acknowledged writes kept unless a demotion or a lost disk explains them, and quiescence.

use super::*;

/// The most history a backlog may hold: what Redis 7's trimming keeps.
///
/// Redis 7 keeps the backlog and every replica's pending output in one list of blocks, and frees
/// a head block only when the rest still holds `repl-backlog-size` and no replica's cursor points
/// into it. So the history reaches back at most `size` bytes, or as far as the slowest replica
/// still has to be sent (a replica behind on a slow link pins blocks until `repl-timeout` or its
/// output-buffer limit drops it), plus the head block that straddles that point. A fixed multiple
/// of `size` was wrong: a fast writer and a slow link pin far more than 8 × size, legitimately.
pub(super) fn backlog_bound(v: &crate::node::NodeView) -> i64 {
    let end = v.master_repl_offset;
    let needed = v.replicas.iter().filter_map(|r| r.cursor).map(|c| end + 1 - c).max().unwrap_or(0);
    let largest_block = v.buffer.as_ref().and_then(|b| b.blocks.iter().map(|&(_, _, cap)| cap).max()).unwrap_or(0);
    (v.backlog.size as i64).max(needed) + largest_block as i64
}

impl Run {
    /// Holds every PSYNC answer against the rule of REDIS-REPLICATION.md §4.4, written out
    /// here again on its own: the id matches (case-insensitively) the replid, or the replid2 with
    /// an offset no later than second_repl_offset, and the backlog holds the offset
    /// (`first <= offset <= master_repl_offset + 1`).
    pub(super) fn check_psync_rule(&mut self) {
        for (node, d) in self.w.take_psync_decisions() {
            let id_ok = d.id.eq_ignore_ascii_case(&d.replid)
                || (d.id.eq_ignore_ascii_case(&d.replid2) && d.offset <= d.second_offset);
            let range_ok = d.backlog.is_some_and(|(first, next)| first <= d.offset && d.offset <= next);
            if (id_ok && range_ok) != d.accepted {
                self.violation(format!(
                    "node {node}: PSYNC {} {} answered accepted={} against the rule: {d:?}",
                    d.id, d.offset, d.accepted
                ));
            }
        }
    }

    pub(super) fn violation(&mut self, text: String) {
        // A broken run can repeat the same fault every sample; keep the report readable.
        if self.violations.len() < 50 {
            let t = self.w.now() / 1000;
            self.violations.push(format!("t={t}ms {text}"));
        }
    }

    /// Reads the trace since the last call: bytes moved, resyncs, stream errors.
    pub(super) fn scan_trace(&mut self) {
        let trace = self.w.trace();
        let mut found = Vec::new();
        for e in trace.skip(self.cursor).iter() {
            match &e.what {
                // Count each segment once, when sent (deliveries are traced too).
                What::Sent { from: Peer::Node(_), to: Peer::Node(_), bytes, .. } => self.bytes += *bytes as u64,
                What::Log { text, .. } => {
                    if let Some(wt) = self.watch.get_mut(e.node) {
                        if text.contains("Full resync from master") {
                            wt.full_resyncs += 1;
                        }
                        if text.contains("Successful partial resynchronization with master.") {
                            wt.partial_resyncs += 1;
                        }
                    }
                    if BAD_LOG.iter().any(|b| text.contains(b)) {
                        found.push(format!("node {} logged: {text}", e.node));
                    }
                }
                _ => {}
            }
        }
        self.cursor = trace.len();
        for f in found {
            self.violation(f);
        }
    }

    /// A replica at its master's replication id and offset, its link up, holds its master's
    /// dataset.
    pub(super) fn check_in_sync_datasets(&mut self) {
        for i in 0..self.cfg.nodes {
            if !self.w.is_up(i) {
                continue;
            }
            let v = self.w.node(i).view();
            let master = self.w.node(i).master_addr().and_then(|(_, port)| self.node_at(port));
            let Some(j) = master.filter(|&j| j != i && self.w.is_up(j)) else { continue };
            let mv = self.w.node(j).view();
            if v.link_status != Some("up") || v.replid != mv.replid || v.slave_repl_offset != mv.master_repl_offset {
                continue;
            }
            let (d, md) = (self.w.node(i).digest(), self.w.node(j).digest());
            if d != md {
                self.violation(format!(
                    "{} is at {}'s offset {} with its replication id, but its dataset differs ({d} vs {md}, {} vs {} keys)",
                    v.name, mv.name, mv.master_repl_offset, v.dbsize, mv.dbsize
                ));
            }
        }
    }

    /// Samples offsets and backlogs (every 100 ms of virtual time).
    pub(super) fn sample(&mut self) {
        self.scan_trace();
        for i in 0..self.cfg.nodes {
            self.take_waiter_replies(i);
        }
        self.check_in_sync_datasets();
        for i in 0..self.cfg.nodes {
            if !self.w.is_up(i) {
                continue;
            }
            let v = self.w.node(i).view();
            let wt = &mut self.watch[i];
            if v.backlog.active {
                wt.max_histlen = wt.max_histlen.max(v.backlog.histlen);
                let bound = backlog_bound(&v);
                if v.backlog.histlen > bound {
                    let (h, s) = (v.backlog.histlen, v.backlog.size);
                    self.violation(format!(
                        "{} backlog histlen {h} exceeds what trimming keeps ({bound}: size {s}, or what the slowest replica still needs, plus a block)",
                        v.name
                    ));
                }
            }
            if v.role == "master" {
                continue;
            }
            let wt = &mut self.watch[i];
            let epoch = wt.full_resyncs + wt.restarts;
            if epoch != wt.epoch {
                // A full sync or restart starts a new history; while the link is down the
                // offset shown may be the placeholder 1, so only a live link's offset counts.
                wt.epoch = epoch;
                wt.high = if v.link_status == Some("up") { v.slave_repl_offset } else { i64::MIN };
            } else if v.link_status == Some("up") && v.slave_repl_offset < wt.high {
                let high = wt.high;
                wt.high = v.slave_repl_offset;
                self.violation(format!(
                    "{} applied offset went back from {high} to {} without a full sync or restart",
                    v.name, v.slave_repl_offset
                ));
                continue;
            }
            // While the link is down the offset may read 1 (no master, no cached master, as
            // Redis's INFO shows it); only the offset of a live link counts.
            if v.link_status == Some("up") {
                let wt = &mut self.watch[i];
                wt.high = wt.high.max(v.slave_repl_offset);
            }
        }
    }

    /// Every write WAIT acknowledged is on the final master `m`, unless the master that took it
    /// lost it afterwards in one of the two ways Redis allows: it was turned into a replica (of
    /// a node promoted without the write, by an operator, a FAILOVER or the sentinels, which may
    /// pick an old master back from its dump), so a full sync replaced its dataset; or it
    /// crashed without a SAVE, losing its dataset.
    pub(super) fn check_waited_writes(&mut self, m: usize) {
        let demotions: Vec<(usize, Micros)> = self
            .w
            .trace()
            .iter()
            .filter(|e| matches!(e.what, What::State(Change::Role { to: "slave", .. })))
            .map(|e| (e.node, e.time))
            .collect();
        let acked = self.waited.iter().filter(|ww| ww.acked.is_some_and(|n| n > 0)).cloned().collect::<Vec<_>>();
        self.console(m, "SELECT 0");
        for ww in acked {
            if self.console(m, &format!("EXISTS {}", ww.key)) == "(integer) 1" {
                continue;
            }
            if demotions.iter().chain(&self.lost_disks).any(|&(i, t)| i == ww.node && t >= ww.at) {
                self.waited_lost += 1;
                continue;
            }
            let (t, n, of) = (ww.at / 1000, ww.acked.unwrap_or(0), ww.wanted);
            self.violation(format!(
                "{} written to {} at {t} ms and acknowledged by WAIT ({n} of {of} replicas) is not on the final master, though {} was never turned into a replica nor lost its disk after it",
                ww.key,
                self.w.node(ww.node).view().name,
                self.w.node(ww.node).view().name,
            ));
        }
    }

    /// The replicas' applied offsets, summed: it moves while they catch up.
    pub(super) fn applied_by_replicas(&self, m: usize) -> i64 {
        (0..self.cfg.nodes)
            .filter(|&i| i != m && self.w.is_up(i))
            .map(|i| self.w.node(i).view().slave_repl_offset)
            .sum()
    }

    /// True when nothing travels between nodes and every other node is a replica up to date
    /// with master `m`: its offset and its replication id. The id matters in a chain: a
    /// sub-replica whose replica just switched ids is at the right offset, its link still up
    /// until the close its replica sent arrives, and only then does it resync to the new id.
    pub(super) fn quiescent(&self, m: usize) -> bool {
        let node_traffic =
            self.w.in_flight().iter().any(|s| matches!((s.from, s.to), (super::Peer::Node(_), super::Peer::Node(_))));
        if node_traffic || !(0..self.cfg.nodes).all(|i| self.w.is_up(i)) {
            return false;
        }
        let mv = self.w.node(m).view();
        mv.role == "master"
            && (0..self.cfg.nodes).filter(|&i| i != m).all(|i| {
                let v = self.w.node(i).view();
                v.link_status == Some("up") && v.slave_repl_offset == mv.master_repl_offset && v.replid == mv.replid
            })
    }

    /// The final invariants, after healing: quiescence, and every other node at the final
    /// master's offset, replication id and data; the WAIT-ed writes kept or explained.
    pub(super) fn check_end(&mut self, master: usize, quiet: Quiet) {
        let nodes = self.cfg.nodes;
        self.check_waited_writes(master);
        let m = self.w.node(master).view();
        let master_digest = self.w.node(master).digest();
        if quiet.quiesced_after_ms.is_none() {
            let states: Vec<String> = (0..nodes)
                .filter(|&i| i != master)
                .map(|i| {
                    let v = self.w.node(i).view();
                    format!(
                        "{} {} {} offset {}",
                        v.name,
                        v.repl_state,
                        v.link_status.unwrap_or("-"),
                        v.slave_repl_offset
                    )
                })
                .collect();
            let flying = self.w.in_flight().len();
            self.violation(format!(
                "no quiescence ({} s after the run, the last {} s without a byte applied): master {} ({}) offset {}, {}, {flying} segments in flight",
                quiet.waited / 1_000_000,
                (quiet.waited - quiet.progress_at) / 1_000_000,
                m.name,
                m.role,
                m.master_repl_offset,
                states.join(", ")
            ));
        }
        for i in (0..nodes).filter(|&i| i != master) {
            let v = self.w.node(i).view();
            if v.slave_repl_offset != m.master_repl_offset {
                self.violation(format!(
                    "{} offset {} != master's {}",
                    v.name, v.slave_repl_offset, m.master_repl_offset
                ));
            }
            if v.replid != m.replid {
                self.violation(format!("{} replid {} != master's {}", v.name, v.replid, m.replid));
            }
            let d = self.w.node(i).digest();
            if d != master_digest {
                self.violation(format!("{} digest {d} != master's {master_digest}", v.name));
            }
        }
    }
}
