//! The frame: one snapshot of the whole world for the page to draw.
//!
//! The page reads it once per animation frame, so it holds everything a view needs and nothing
//! a view would have to work out: which node replicates from which (matched by address here,
//! where the addresses live), each link's state and settings, the partition groups, who is up or
//! paused, the timers running, and the messages on the wire with their decoded labels. Times are
//! virtual microseconds (the fields end in `Us`).
//!
//! At volume the wire can hold thousands of segments; the frame carries the first
//! [`MESSAGES_PER_DIRECTION`] of each direction of each connection pair and counts the rest, so
//! its size stays bounded while the trace keeps every byte.

use serde::Serialize;

use super::wire::Kind;
use super::{Peer, World};
use crate::node::{Micros, NodeView};
use crate::sentinel::SentinelView;

/// Messages listed per direction between two peers; the rest are counted in [`Crowd`]. The
/// stage draws three labelled messages per direction at most, and a count beyond that.
pub const MESSAGES_PER_DIRECTION: usize = 6;

/// A message's label in the frame is cut to this many characters (its bytes, and so its whole
/// content, are one request away; the frame is sent to the page up to 60 times a second).
pub const LABEL_CHARS: usize = 80;

/// The whole world at one moment.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Frame {
    /// Virtual time.
    #[serde(rename = "nowUs")]
    pub now: Micros,
    /// Changes whenever anything in the world changed.
    pub version: u64,
    /// The nodes in the lab (removed ones are left out), by slot index.
    pub nodes: Vec<NodeFrame>,
    /// One per node configured as a replica.
    pub links: Vec<LinkFrame>,
    /// Partition group per node slot while the network is partitioned, else None.
    pub groups: Option<Vec<u32>>,
    /// The sentinels.
    pub sentinels: Vec<SentinelFrame>,
    /// Messages on the wire, soonest arrival first within each direction.
    pub messages: Vec<Message>,
    /// Messages left out of `messages`, per direction.
    pub crowds: Vec<Crowd>,
}

/// One node: what INFO replication and ROLE show ([`NodeView`]), plus its process state.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeFrame {
    /// INFO replication, ROLE, transfer progress, timers.
    #[serde(flatten)]
    pub view: NodeView,
    /// False while crashed or shut down.
    pub up: bool,
    /// True while stopped (SIGSTOP, DEBUG SLEEP).
    pub paused: bool,
    /// Keys per database, for the databases that hold any: `(db, keys)`.
    pub keyspace: Vec<(usize, usize)>,
    /// The write load running on it, in writes per second (0: none).
    pub load: u64,
}

/// A replication link: a node configured as a replica of `host:port`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkFrame {
    /// The replica's slot index.
    pub replica: usize,
    /// The node listening on `host:port`, if one is in the lab.
    pub master: Option<usize>,
    /// The configured master address.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The replica's state as ROLE prints it: `connect`, `connecting`, `handshake`, `sync`,
    /// `connected`.
    pub state: &'static str,
    /// The master lists this replica (its `slaveN` line): with its state there.
    pub master_sees: Option<&'static str>,
    /// The two ends are in different partition groups.
    pub partitioned: bool,
    /// One-way latency.
    #[serde(rename = "latencyUs")]
    pub latency: Micros,
    /// Extra random delay per segment, at most.
    #[serde(rename = "jitterUs")]
    pub jitter: Micros,
    /// Bytes per second.
    pub bandwidth: u64,
}

/// A segment on the wire.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Its number in the run (the page asks for its bytes with it).
    pub id: u64,
    /// The replication offset of its first byte, when it carries a master's stream.
    pub offset: Option<i64>,
    /// Sender.
    pub from: Peer,
    /// Receiver.
    pub to: Peer,
    /// When its first byte left.
    #[serde(rename = "sentAtUs")]
    pub sent_at: Micros,
    /// When its last byte arrives.
    #[serde(rename = "arriveAtUs")]
    pub arrive_at: Micros,
    /// Its size.
    pub bytes: usize,
    /// Decoded from its bytes.
    pub label: String,
    /// Decoded from its bytes.
    pub kind: Kind,
    /// Between partition groups: it arrives only after the heal.
    pub held: bool,
}

/// Messages of one direction not listed in [`Frame::messages`].
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Crowd {
    /// Sender.
    pub from: Peer,
    /// Receiver.
    pub to: Peer,
    /// How many.
    pub count: usize,
    /// Their bytes.
    pub bytes: usize,
}

/// One sentinel.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentinelFrame {
    /// What it sees.
    #[serde(flatten)]
    pub view: SentinelView,
    /// Its partition group while the network is partitioned.
    pub group: Option<u32>,
    /// The node listening where it sees the master, if one is in the lab.
    pub master: Option<usize>,
}

impl World {
    /// The frame for the page.
    pub fn frame(&self) -> Frame {
        let partitioned = !self.groups.is_empty() || !self.sentinel_groups.is_empty();
        let nodes: Vec<NodeFrame> = self
            .present_nodes()
            .map(|i| {
                let slot = &self.nodes[i];
                let mut view = slot.node.view();
                view.index = i;
                for r in &mut view.replicas {
                    r.node = self.node_across(Peer::Node(i), r.conn);
                }
                let keyspace =
                    slot.node.keyspace().dbs().filter(|(_, db)| !db.is_empty()).map(|(d, db)| (d, db.len())).collect();
                NodeFrame {
                    view,
                    up: slot.up,
                    paused: slot.up && slot.node.is_paused(),
                    keyspace,
                    load: self.load_rate(i),
                }
            })
            .collect();
        let links = nodes.iter().filter_map(|n| self.link_frame(n, &nodes)).collect();
        let sentinels = (0..self.sentinels.len())
            .filter_map(|j| {
                let view = self.sentinel_view(j)?;
                let group = partitioned.then(|| self.sentinel_groups.get(j).copied().unwrap_or(0));
                let master = self.node_at(&view.master_host, view.master_port);
                Some(SentinelFrame { view, group, master })
            })
            .collect();
        let (messages, crowds) = self.wire_frame();
        Frame {
            now: self.now,
            version: self.version,
            nodes,
            links,
            groups: partitioned.then(|| (0..self.nodes.len()).map(|i| self.group_of(Peer::Node(i))).collect()),
            sentinels,
            messages,
            crowds,
        }
    }

    fn link_frame(&self, n: &NodeFrame, nodes: &[NodeFrame]) -> Option<LinkFrame> {
        let v = &n.view;
        let host = v.master_host.clone()?;
        let master = self.node_at(&host, v.master_port);
        let params = master.map_or(self.params, |m| self.params_between(v.index, m));
        let master_view = master.and_then(|m| nodes.iter().find(|f| f.view.index == m));
        let master_sees = master_view.and_then(|f| f.view.replicas.iter().find(|r| r.port == v.port)).map(|r| r.phase);
        Some(LinkFrame {
            replica: v.index,
            master,
            host,
            port: v.master_port,
            state: v.repl_state,
            master_sees,
            partitioned: master.is_some_and(|m| self.partitioned(Peer::Node(v.index), Peer::Node(m))),
            latency: params.latency,
            jitter: params.jitter,
            bandwidth: params.bandwidth,
        })
    }

    /// The node at the other end of `peer`'s connection `conn`.
    fn node_across(&self, peer: Peer, conn: crate::node::ConnId) -> Option<usize> {
        let Some(super::Endpoint::Link(id, side)) = self.endpoints.get(&(peer, conn)) else {
            return None;
        };
        match self.links.get(id)?.ends[1 - side].0 {
            Peer::Node(n) => Some(n),
            Peer::Sentinel(_) => None,
        }
    }

    /// The node in the lab listening on `host:port`.
    fn node_at(&self, host: &str, port: u16) -> Option<usize> {
        match self.peer_at(host, port) {
            Some(Peer::Node(m)) if self.is_present(m) => Some(m),
            _ => None,
        }
    }

    fn wire_frame(&self) -> (Vec<Message>, Vec<Crowd>) {
        let mut messages = Vec::new();
        let mut crowds: Vec<Crowd> = Vec::new();
        for link in self.links.values() {
            // Bytes between partition groups wait for the heal.
            let held = self.partitioned(link.ends[0].0, link.ends[1].0);
            for dir in &link.dirs {
                for (k, s) in dir.segments.iter().enumerate() {
                    if k < MESSAGES_PER_DIRECTION {
                        messages.push(Message {
                            id: s.id,
                            offset: s.offset,
                            from: s.from,
                            to: s.to,
                            sent_at: s.sent_at,
                            arrive_at: s.arrive_at,
                            bytes: s.data.len(),
                            label: short_label(&s.label),
                            kind: s.kind,
                            held,
                        });
                        continue;
                    }
                    match crowds.iter_mut().find(|c| c.from == s.from && c.to == s.to) {
                        Some(c) => {
                            c.count += 1;
                            c.bytes += s.data.len();
                        }
                        None => crowds.push(Crowd { from: s.from, to: s.to, count: 1, bytes: s.data.len() }),
                    }
                }
            }
        }
        (messages, crowds)
    }
}

/// A label cut to [`LABEL_CHARS`] characters, with an ellipsis when cut.
fn short_label(label: &str) -> String {
    match label.char_indices().nth(LABEL_CHARS) {
        Some((at, _)) => format!("{}…", &label[..at]),
        None => label.to_string(),
    }
}
