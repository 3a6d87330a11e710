//! Write load: a simulated client that writes to a node at a steady rate, as `redis-benchmark -t
//! set -r 100000` would, so a learner can watch the stream, the backlog and the replicas' lag
//! under load.
//!
//! The client is one connection to the node (its replies are read and dropped). Every
//! [`LOAD_TICK`] of virtual time it sends, pipelined, the `SET load:<k> <n>` commands that are
//! due at its rate (the `n`th write goes to key `k = n mod` [`LOAD_KEYS`], so a load left running
//! for hours overwrites its keys instead of filling the tab), so a run with a load is as deterministic as any other: it is a recorded
//! action, replayed by time travel and shared links. A crashed node's client reconnects when the
//! node is back.

use super::trace::What;
use super::{Endpoint, Event, Peer, World};
use crate::node::{ConnId, Micros};
use crate::resp::{encode_command_into, parse_frame, Frame, Parsed};

/// How often the client sends what is due.
pub const LOAD_TICK: Micros = 10_000;
/// The highest rate a load may have (writes per second).
pub const MAX_LOAD_RATE: u64 = 100_000;
/// How many keys a load writes to, in turn (`redis-benchmark -r`).
pub const LOAD_KEYS: u64 = 100_000;

/// The `n`th write of a load: `SET load:<n mod LOAD_KEYS> <n>`, as RESP, appended to `out`.
pub fn encode_load_write(n: u64, out: &mut Vec<u8>) {
    let key = format!("load:{}", n % LOAD_KEYS);
    encode_command_into(&[b"SET".as_slice(), key.as_bytes(), n.to_string().as_bytes()], out);
}

/// A steady writer on one node.
#[derive(Clone, Debug)]
pub(super) struct Load {
    node: usize,
    /// Writes per second.
    rate: u64,
    conn: Option<ConnId>,
    /// When the current rate started, and the writes sent since.
    since: Micros,
    sent: u64,
    /// Every write the client ever sent (the next key number).
    total: u64,
}

impl World {
    /// Starts (or changes, or with `rate` 0 stops) a write load of `rate` writes per second on
    /// node `i`.
    pub fn set_load(&mut self, i: usize, rate: u64) {
        if !self.is_present(i) {
            return;
        }
        let rate = rate.min(MAX_LOAD_RATE);
        let now = self.now;
        let running = self.loads.iter().any(|l| l.node == i && l.rate > 0);
        match self.loads.iter_mut().find(|l| l.node == i) {
            Some(l) => {
                l.rate = rate;
                l.since = now;
                l.sent = 0;
            }
            None => self.loads.push(Load { node: i, rate, conn: None, since: now, sent: 0, total: 0 }),
        }
        if rate > 0 && !running {
            self.schedule(now + LOAD_TICK, Event::LoadTick { node: i });
        }
        self.record(i, What::Load { rate });
        self.version += 1;
    }

    /// Opens a client connection to node `i` whose replies are dropped, for a benchmark or a
    /// tool that sends its own pipelined commands with [`World::client_send`].
    pub fn open_client(&mut self, i: usize) -> ConnId {
        let c = self.nodes[i].node.accept(self.now, "127.0.0.1", 61_000 + i as u16);
        self.endpoints.insert((Peer::Node(i), c), Endpoint::Load);
        c
    }

    /// Opens a client connection to node `i` whose replies are kept for
    /// [`World::client_replies`]: a program's second connection next to the console (one that
    /// blocks in `WAIT` while the console goes on writing, for instance).
    pub fn open_reading_client(&mut self, i: usize) -> ConnId {
        let c = self.nodes[i].node.accept(self.now, "127.0.0.1", 62_000 + i as u16);
        self.endpoints.insert((Peer::Node(i), c), Endpoint::Client);
        self.client_out.insert((i, c), Vec::new());
        c
    }

    /// The replies that reached a client of [`World::open_reading_client`] since the last call,
    /// and whether it is still connected (a crash, a restart or the node closing it ends it; its
    /// last replies still come out once).
    pub fn client_replies(&mut self, i: usize, conn: ConnId) -> (Vec<Frame>, bool) {
        let open = self.endpoints.get(&(Peer::Node(i), conn)) == Some(&Endpoint::Client);
        let mut frames = Vec::new();
        if let Some(out) = self.client_out.get_mut(&(i, conn)) {
            while let Ok(Parsed::Complete(frame, used)) = parse_frame(out) {
                out.drain(..used);
                frames.push(frame);
            }
        }
        if !open {
            self.client_out.remove(&(i, conn));
        }
        (frames, open)
    }

    /// Bytes from a client of [`World::open_client`] or [`World::open_reading_client`],
    /// arriving at node `i` now.
    pub fn client_send(&mut self, i: usize, conn: ConnId, bytes: &[u8]) {
        if self.nodes.get(i).is_some_and(|s| s.up) {
            self.nodes[i].node.receive(self.now, conn, bytes);
            self.drain(i);
        }
    }

    /// The write load on node `i` (writes per second; 0 when none).
    pub fn load_rate(&self, i: usize) -> u64 {
        self.loads.iter().find(|l| l.node == i).map_or(0, |l| l.rate)
    }

    /// Sends what is due on node `i`'s load and schedules the next tick.
    pub(super) fn load_tick(&mut self, i: usize) {
        let now = self.now;
        let Some(k) = self.loads.iter().position(|l| l.node == i && l.rate > 0) else {
            return;
        };
        self.schedule(now + LOAD_TICK, Event::LoadTick { node: i });
        if !self.nodes[i].up {
            // A client cannot write to a server that is down; it goes on from now when it is back.
            let l = &mut self.loads[k];
            l.since = now;
            l.sent = 0;
            return;
        }
        let conn =
            match self.loads[k].conn.filter(|c| self.endpoints.get(&(Peer::Node(i), *c)) == Some(&Endpoint::Load)) {
                Some(c) => c,
                None => {
                    let c = self.nodes[i].node.accept(now, "127.0.0.1", 60_000 + i as u16);
                    self.endpoints.insert((Peer::Node(i), c), Endpoint::Load);
                    self.loads[k].conn = Some(c);
                    c
                }
            };
        let l = &mut self.loads[k];
        let due = (l.rate as u128 * (now - l.since) as u128 / 1_000_000) as u64;
        let n = due.saturating_sub(l.sent);
        if n == 0 {
            return;
        }
        let mut bytes = Vec::new();
        for j in l.total..l.total + n {
            encode_load_write(j, &mut bytes);
        }
        l.sent += n;
        l.total += n;
        self.nodes[i].node.receive(now, conn, &bytes);
        self.drain(i);
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::sim::World;

    #[test]
    fn a_load_writes_at_its_rate_and_replicates() {
        let mut w = World::new(4);
        let m = w.add_node();
        let r = w.add_node();
        w.console(r, "REPLICAOF 127.0.0.1 6379");
        w.run_for_ms(8_000);
        w.set_load(m, 500);
        w.run_for_ms(2_000);
        assert_eq!(w.console(m, "DBSIZE"), "(integer) 1000");
        w.set_load(m, 0);
        w.run_for_ms(2_000);
        assert_eq!(w.console(m, "DBSIZE"), "(integer) 1000", "stopped");
        assert_eq!(w.console(r, "DBSIZE"), "(integer) 1000", "replicated");
        assert_eq!(w.console(r, "GET load:999"), "\"999\"");
        // A crashed node's load reconnects after the restart.
        w.set_load(m, 100);
        w.crash(m);
        w.run_for_ms(1_000);
        w.restart(m);
        w.run_for_ms(1_000);
        let keys: i64 = w.console(m, "DBSIZE").trim_start_matches("(integer) ").parse().unwrap();
        assert!(keys > 0, "writing again after the restart: {keys}");
    }
}
