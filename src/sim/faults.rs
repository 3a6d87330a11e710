//! The faults a learner (or the sweep) injects: cutting the connections between two nodes,
//! partitions of nodes and sentinels and their healing, crashes (memory lost, `dump.rdb`
//! kept), restarts from that file, pauses (SIGSTOP), and a `dump.rdb` imported from outside.

use super::*;

impl World {
    /// Puts sentinels in partition groups (one number per sentinel; missing ones are in group
    /// 0), next to the nodes' groups of [`World::partition`]; [`World::heal`] clears both.
    pub fn partition_sentinels(&mut self, groups: &[u32]) {
        self.sentinel_groups = groups.to_vec();
        self.record(0, What::SentinelPartition { groups: groups.to_vec() });
        self.version += 1;
    }

    /// Pauses node `i` for `ms` of virtual time (SIGSTOP then SIGCONT).
    pub fn pause_node(&mut self, i: usize, ms: u64) {
        if let Some(slot) = self.nodes.get_mut(i).filter(|s| s.up) {
            slot.node.pause(self.now, ms * 1000);
            self.record(i, What::Paused { ms });
            self.version += 1;
        }
    }

    pub(super) fn partitioned(&self, a: Peer, b: Peer) -> bool {
        self.group_of(a) != self.group_of(b)
    }

    /// The partition group of a peer (0 when none was given).
    pub(super) fn group_of(&self, p: Peer) -> u32 {
        match p {
            Peer::Node(i) => self.groups.get(i).copied().unwrap_or(0),
            Peer::Sentinel(j) => self.sentinel_groups.get(j).copied().unwrap_or(0),
        }
    }

    /// Resets both ends of every connection between nodes `a` and `b` (as `CLIENT KILL` or a
    /// TCP reset): bytes in flight are lost and both nodes see the connection close now.
    pub fn cut(&mut self, a: usize, b: usize) {
        let ids: Vec<u64> = self
            .links
            .iter()
            .filter(|(_, l)| {
                let (x, y) = (l.ends[0].0, l.ends[1].0);
                let (a, b) = (Peer::Node(a), Peer::Node(b));
                (x == a && y == b) || (x == b && y == a)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.reset_link(id);
        }
        self.record(a, What::Cut { a, b });
        self.version += 1;
    }

    pub(super) fn reset_link(&mut self, id: u64) {
        let Some(l) = self.links.remove(&id) else {
            return;
        };
        for side in 0..2 {
            if let (peer, Some(conn)) = l.ends[side] {
                if l.open[side] && self.endpoints.remove(&(peer, conn)).is_some() && self.peer_up(peer) {
                    self.peer_closed(peer, conn);
                }
            }
        }
    }

    /// Splits the nodes into groups: bytes between nodes of different groups are held back (not
    /// lost) until [`World::heal`], so Redis's own timeouts fire as they would.
    pub fn partition(&mut self, groups: &[u32]) {
        self.groups = groups.to_vec();
        self.record(0, What::Partition { groups: groups.to_vec() });
        self.version += 1;
    }

    /// Removes every partition; held bytes resume their way in order.
    pub fn heal(&mut self) {
        self.groups.clear();
        self.sentinel_groups.clear();
        let now = self.now;
        let lats: BTreeMap<u64, Micros> =
            self.links.iter().map(|(id, l)| (*id, self.params_peers(l.ends[0].0, l.ends[1].0).latency)).collect();
        let mut resched = Vec::new();
        for (id, l) in self.links.iter_mut() {
            let lat = lats.get(id).copied().unwrap_or(0);
            for (side, d) in l.dirs.iter_mut().enumerate() {
                for seg in d.segments.iter_mut().take(d.stalled) {
                    seg.arrive_at = now + lat;
                }
                resched.extend(std::iter::repeat_n((*id, side, now + lat), d.stalled));
                d.stalled = 0;
            }
        }
        for (link, side, at) in resched {
            self.schedule(at, Event::Deliver { link, side });
        }
        self.record(0, What::Healed);
        self.version += 1;
    }

    /// Crashes node `i`: its memory is lost, its connections reset; its disk survives.
    pub fn crash(&mut self, i: usize) {
        if !self.nodes.get(i).is_some_and(|s| s.up) {
            return;
        }
        self.crash_silently(i);
        self.record(i, What::Crashed);
        self.version += 1;
    }

    /// Stops node `i` as a crash does, without a trace event.
    pub(super) fn crash_silently(&mut self, i: usize) {
        if !self.nodes[i].up {
            return;
        }
        let me = Peer::Node(i);
        let ids: Vec<u64> =
            self.links.iter().filter(|(_, l)| l.ends[0].0 == me || l.ends[1].0 == me).map(|(id, _)| *id).collect();
        self.nodes[i].up = false;
        for id in ids {
            self.reset_link(id);
        }
        self.endpoints.retain(|(n, _), e| *n != me || *e == Endpoint::Console);
    }

    /// Restarts a crashed node: it loads the RDB on its disk, and a node that was a replica
    /// comes back as a replica of the same master (as if REPLICAOF had been saved in its config).
    pub fn restart(&mut self, i: usize) {
        if !self.is_present(i) || self.nodes[i].up {
            return;
        }
        let restarts = self.nodes[i].restarts + 1;
        let seed = self.node_seed(i, restarts);
        let slot = &self.nodes[i];
        let cfg = slot.node.config().clone();
        let disk = slot.node.disk().map(<[u8]>::to_vec);
        let replicaof = slot.node.master_addr();
        let node = Node::restart(cfg, seed, self.now, disk, replicaof);
        self.nodes[i] = self.seat(i, node, restarts);
        self.record(i, What::Restarted);
        self.drain(i);
        self.version += 1;
    }

    /// Replaces node `i`'s dataset with an RDB file, as putting a `dump.rdb` in place and
    /// restarting redis-server does: the file is checked first (a bad file changes nothing), then
    /// the node restarts from it and its replicas resynchronise.
    pub fn import_rdb(&mut self, i: usize, bytes: &[u8]) -> Result<(), crate::rdb::RdbError> {
        crate::rdb::read_rdb(bytes)?;
        let Some(slot) = self.nodes.get_mut(i).filter(|s| !s.removed) else {
            return Err(crate::rdb::RdbError { offset: 0, reason: format!("no node {i}") });
        };
        slot.node.set_disk(bytes.to_vec());
        self.record(i, What::Imported { bytes: bytes.len() });
        self.crash(i);
        self.restart(i);
        Ok(())
    }
}
