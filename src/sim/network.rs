//! The simulated network: links that behave like TCP connections between peers (a node or a
//! sentinel), with latency, jitter and bandwidth per pair; segments queued per direction and
//! delivered in order at their virtual time; connect, accept, refuse, close and reset; and the
//! event loop that hands each arrival to its actor and acts on what the actor asks for.

use super::*;

impl World {
    /// Sets latency, jitter and bandwidth for all links, present and future (pairs with their
    /// own settings keep them).
    pub fn set_link_params(&mut self, p: LinkParams) {
        self.params = p;
        self.version += 1;
    }

    /// Sets latency, jitter and bandwidth between nodes `a` and `b`, from now on.
    pub fn set_pair_params(&mut self, a: usize, b: usize, p: LinkParams) {
        self.pair_params.insert((a.min(b), a.max(b)), p);
        let what = What::LinkSettings { a, b, latency: p.latency, jitter: p.jitter, bandwidth: p.bandwidth };
        self.record(a, what);
        self.version += 1;
    }

    /// The parameters of the link between two nodes.
    pub fn params_between(&self, a: usize, b: usize) -> LinkParams {
        self.pair_params.get(&(a.min(b), a.max(b))).copied().unwrap_or(self.params)
    }

    pub(super) fn schedule(&mut self, at: Micros, ev: Event) {
        self.seq += 1;
        self.queue.insert((at, self.seq), ev);
    }

    /// Collects node `i`'s outputs and log lines and acts on them.
    pub(super) fn drain(&mut self, i: usize) {
        self.drain_logs(i);
        let now_state = self.nodes[i].node.learner_state();
        if now_state != self.nodes[i].seen {
            for change in now_state.changes_from(&self.nodes[i].seen) {
                self.record(i, What::State(change));
            }
            self.nodes[i].seen = now_state;
        }
        self.drain_outputs(i);
    }

    pub(super) fn drain_logs(&mut self, i: usize) {
        while let Some(LogLine { time, level, text }) = self.nodes[i].node.poll_log() {
            self.trace.push_back(TraceEvent { time, node: i, what: What::Log { level, text } });
        }
    }

    pub(super) fn drain_outputs(&mut self, i: usize) {
        while let Some(out) = self.nodes[i].node.poll_output() {
            self.output(Peer::Node(i), out);
        }
    }

    /// The node exited after SHUTDOWN, as redis-server does: its final save is already on its
    /// simulated disk, the sockets are closed after what they hold (unlike a crash, bytes
    /// already sent still arrive), and the node is down until restarted from that file.
    pub(super) fn exited(&mut self, i: usize) {
        self.drain_logs(i);
        let me = Peer::Node(i);
        let conns: Vec<ConnId> = self
            .links
            .values()
            .flat_map(|l| {
                l.ends.iter().zip(l.open).filter(|((p, _), open)| *p == me && *open).filter_map(|((_, c), _)| *c)
            })
            .collect();
        for conn in conns {
            self.close(me, conn);
        }
        self.nodes[i].up = false;
        self.endpoints.retain(|(n, _), e| *n != me || *e == Endpoint::Console);
        self.record(i, What::ShutDown);
        self.version += 1;
    }

    /// Collects sentinel `j`'s outputs and event lines and acts on them.
    pub(super) fn drain_sentinel(&mut self, j: usize) {
        while let Some(LogLine { time, level, text }) = self.sentinels[j].poll_log() {
            self.trace.push_back(TraceEvent { time, node: j, what: What::Sentinel { level, text } });
        }
        while let Some(out) = self.sentinels[j].poll_output() {
            self.output(Peer::Sentinel(j), out);
        }
    }

    /// The node or sentinel behind a peer, as the simulator drives both.
    pub(super) fn actor(&mut self, p: Peer) -> &mut dyn Actor {
        match p {
            Peer::Node(i) => &mut self.nodes[i].node,
            Peer::Sentinel(j) => &mut self.sentinels[j],
        }
    }

    pub(super) fn drain_peer(&mut self, p: Peer) {
        match p {
            Peer::Node(i) => self.drain(i),
            Peer::Sentinel(j) => self.drain_sentinel(j),
        }
    }

    pub(super) fn output(&mut self, p: Peer, out: Output) {
        match out {
            Output::Send { conn, data, offset } => self.send(p, conn, data, offset),
            Output::Connect { conn, host, port } => self.connect(p, conn, &host, port),
            Output::Close { conn } => self.close(p, conn),
            // The simulated disk is the node's own copy of the file: written as soon as asked.
            Output::Persist { .. } => {
                if let Peer::Node(i) = p {
                    self.nodes[i].node.persisted(Persisted::Written);
                }
            }
            Output::Exit => {
                if let Peer::Node(i) = p {
                    self.exited(i);
                }
            }
            Output::Note(note) => {
                if let Peer::Node(i) = p {
                    self.note(i, note);
                }
            }
        }
    }

    pub(super) fn peer_up(&self, p: Peer) -> bool {
        match p {
            Peer::Node(i) => self.nodes.get(i).is_some_and(|s| s.up),
            Peer::Sentinel(j) => j < self.sentinels.len(),
        }
    }

    /// The peer listening on `host:port`, up or not.
    pub(super) fn peer_at(&self, host: &str, port: u16) -> Option<Peer> {
        let node = self.nodes.iter().position(|s| s.node.addr() == (host, port)).map(Peer::Node);
        node.or_else(|| self.sentinels.iter().position(|s| s.addr() == (host, port)).map(Peer::Sentinel))
    }

    /// Latency, jitter and bandwidth between two peers (sentinels use the world's settings).
    pub(super) fn params_peers(&self, a: Peer, b: Peer) -> LinkParams {
        match (a, b) {
            (Peer::Node(x), Peer::Node(y)) => self.params_between(x, y),
            _ => self.params,
        }
    }

    /// Records a connection or traffic event between `a` and `b`: under the sentinel's index when
    /// a sentinel is one end, else under `a`'s.
    pub(super) fn record_link(&mut self, a: Peer, b: Peer, what: What) {
        match (a, b) {
            (Peer::Sentinel(j), _) | (_, Peer::Sentinel(j)) => self.record(j, what),
            (Peer::Node(i), Peer::Node(_)) => self.record(i, what),
        }
    }

    /// What a node tells the learner, into the trace.
    pub(super) fn note(&mut self, i: usize, note: Note) {
        let what = match note {
            Note::NotPropagated { command, replicas } => What::NotPropagated { command, replicas },
            Note::Propagated { label, db, start, end } => What::Propagated { label, db, start, end },
            Note::Psync(d) => {
                if let Some(p) = self.psyncs.as_mut() {
                    p.push((i, (*d).clone()));
                }
                What::Psync(d)
            }
        };
        self.record(i, what);
    }

    pub(super) fn send(&mut self, p: Peer, conn: ConnId, data: Vec<u8>, offset: Option<i64>) {
        match self.endpoints.get(&(p, conn)).copied() {
            Some(Endpoint::Console) => {
                if let Peer::Node(i) = p {
                    self.nodes[i].console_out.extend(data);
                }
            }
            // Like TCP, a large write reaches the peer in pieces, each as soon as it has crossed
            // the link, not all at once when its last byte arrives.
            Some(Endpoint::Link(id, side)) => {
                let mut at = offset;
                for chunk in data.chunks(SEGMENT_MAX) {
                    self.send_segment(p, id, side, chunk.to_vec(), at);
                    at = at.map(|o| o + chunk.len() as i64);
                }
            }
            Some(Endpoint::Client) => {
                if let Peer::Node(i) = p {
                    self.client_out.entry((i, conn)).or_default().extend(data);
                }
            }
            Some(Endpoint::Load) | None => {}
        }
    }

    pub(super) fn send_segment(&mut self, i: Peer, id: u64, side: usize, data: Vec<u8>, offset: Option<i64>) {
        let now = self.now;
        let Some(to) = self.links.get(&id).map(|l| l.ends[1 - side].0) else {
            return;
        };
        let p = self.params_peers(i, to);
        let jitter = if p.jitter > 0 { rand_core::Rng::next_u64(&mut self.rng) % (p.jitter + 1) } else { 0 };
        let Some(link) = self.links.get_mut(&id) else {
            return;
        };
        if let (Some(t), Peer::Node(a), Peer::Node(b)) = (self.transcripts.as_mut(), i, to) {
            t.entry((a, b)).or_default().extend_from_slice(&data);
        }
        let (labels, saw_sync) = link.dirs[side].decoder.feed(&data);
        if saw_sync {
            link.dirs[1 - side].decoder.awaiting_payload = true;
        }
        let dir = &mut link.dirs[side];
        let start = dir.free_at.max(now);
        let tx = (data.len() as u128 * 1_000_000).div_ceil(p.bandwidth.max(1) as u128) as Micros;
        dir.free_at = start + tx;
        let arrive = (dir.free_at + p.latency + jitter).max(dir.last_arrive);
        dir.last_arrive = arrive;
        let kind = labels.iter().map(|l| l.0).find(|k| *k != Kind::Keepalive).or(labels.first().map(|l| l.0));
        let label = labels.iter().map(|l| l.1.as_str()).collect::<Vec<_>>().join(" · ");
        let len = data.len();
        let kind = kind.unwrap_or(Kind::Stream);
        self.next_segment += 1;
        let seg = self.next_segment;
        let data = std::sync::Arc::new(data);
        dir.segments.push_back(Segment {
            id: seg,
            offset,
            from: i,
            to,
            sent_at: start,
            arrive_at: arrive,
            data: data.clone(),
            label: label.clone(),
            kind,
        });
        self.keep_bytes(seg, data);
        self.schedule(arrive, Event::Deliver { link: id, side });
        self.record_link(i, to, What::Sent { from: i, to, label, bytes: len, kind, seg, offset });
    }

    pub(super) fn connect(&mut self, i: Peer, conn: ConnId, host: &str, port: u16) {
        let known = self.peer_at(host, port);
        let target = known.filter(|t| self.peer_up(*t));
        let lat = known.map_or(self.params.latency, |t| self.params_peers(i, t).latency);
        let Some(t) = target else {
            self.schedule(self.now + 2 * lat, Event::Refused { node: i, conn });
            return;
        };
        let id = self.next_link;
        self.next_link += 1;
        let dir = || Dir {
            free_at: 0,
            segments: VecDeque::new(),
            decoder: WireDecoder::default(),
            stalled: 0,
            last_arrive: 0,
        };
        self.links.insert(id, Link { ends: [(i, Some(conn)), (t, None)], open: [true, true], dirs: [dir(), dir()] });
        self.endpoints.insert((i, conn), Endpoint::Link(id, 0));
        self.record_link(i, t, What::Connect { from: i, to: t, host: host.to_string(), port });
        self.schedule(self.now + lat, Event::Accept { link: id });
    }

    pub(super) fn close(&mut self, i: Peer, conn: ConnId) {
        let (id, side) = match self.endpoints.remove(&(i, conn)) {
            Some(Endpoint::Link(id, side)) => (id, side),
            // The node closed the console (-UNBLOCKED, a protocol error): it reconnects at once,
            // as redis-cli does, so the learner can keep typing.
            Some(Endpoint::Console) => {
                if let Peer::Node(n) = i {
                    let console = self.nodes[n].node.accept(self.now, "127.0.0.1", 50_000 + n as u16);
                    self.nodes[n].console = console;
                    // What the old connection left unread is gone with it (redis-cli starts over).
                    self.nodes[n].console_out.clear();
                    self.nodes[n].console_late.clear();
                    self.endpoints.insert((i, console), Endpoint::Console);
                }
                return;
            }
            // The load's client reconnects at its next tick; a program's client learns it is
            // gone from `client_replies`.
            Some(Endpoint::Load | Endpoint::Client) | None => return,
        };
        let now = self.now;
        let (lat, other) = match self.links.get(&id) {
            Some(l) => (self.params_peers(l.ends[0].0, l.ends[1].0).latency, l.ends[1 - side].0),
            None => return,
        };
        let Some(link) = self.links.get_mut(&id) else {
            return;
        };
        link.open[side] = false;
        if link.ends[1 - side].1.is_none() {
            // Closed before the other side accepted it (a SYN lost in a partition): nothing
            // will ever use this link again.
            self.links.remove(&id);
        }
        let last = self.links.get(&id).and_then(|l| l.dirs[side].segments.back()).map_or(now, |s| s.arrive_at);
        let at = last.max(now + lat);
        self.record_link(i, other, What::Close { by: i, peer: other });
        self.schedule(at, Event::PeerClosed { link: id, side: 1 - side });
    }

    pub(super) fn handle(&mut self, ev: Event) {
        let now = self.now;
        match ev {
            Event::LoadTick { node } => self.load_tick(node),
            Event::Accept { link } => {
                let Some(l) = self.links.get(&link) else {
                    return;
                };
                let (client, server) = (l.ends[0].0, l.ends[1].0);
                if !l.open[0] || !self.peer_up(server) || self.partitioned(client, server) {
                    return; // the SYN is lost; the connecting node times out on its own
                }
                let peer_port = 40_000 + link as u16;
                let conn = self.actor(server).accept(now, "127.0.0.1", peer_port);
                self.endpoints.insert((server, conn), Endpoint::Link(link, 1));
                if let Some(l) = self.links.get_mut(&link) {
                    l.ends[1].1 = Some(conn);
                }
                let lat = self.params_peers(client, server).latency;
                self.schedule(now + lat, Event::Established { link });
                self.record_link(server, client, What::Accept { server, client });
            }
            Event::Established { link } => {
                let Some(l) = self.links.get(&link) else {
                    return;
                };
                if let (true, (peer, Some(conn))) = (l.open[0], l.ends[0]) {
                    self.actor(peer).connected(now, conn);
                    self.drain_peer(peer);
                }
            }
            Event::Refused { node, conn } => {
                self.actor(node).connect_failed(now, conn, "Connection refused");
                self.drain_peer(node);
            }
            Event::Deliver { link, side } => {
                let blocked = self.links.get(&link).is_some_and(|l| self.partitioned(l.ends[0].0, l.ends[1].0));
                let Some(l) = self.links.get_mut(&link) else {
                    return;
                };
                if blocked {
                    l.dirs[side].stalled += 1;
                    return;
                }
                let Some(seg) = l.dirs[side].segments.pop_front() else {
                    return;
                };
                let (to, conn) = l.ends[1 - side];
                let open = l.open[1 - side];
                let (from, from_conn) = l.ends[side];
                let sender_open = l.open[side];
                let delivered = open && conn.is_some();
                let what = What::Delivered {
                    from: seg.from,
                    to,
                    label: seg.label.clone(),
                    bytes: seg.data.len(),
                    kind: seg.kind,
                    delivered,
                    seg: seg.id,
                    offset: seg.offset,
                };
                self.record_link(to, seg.from, what);
                if let (true, Some(conn)) = (open, conn) {
                    self.actor(to).receive(now, conn, &seg.data);
                    self.drain_peer(to);
                    // The segment left the sender's socket buffers: a node may write more.
                    if let (true, Some(fc), Peer::Node(f)) = (sender_open, from_conn, from) {
                        if self.nodes[f].up && self.nodes[f].node.drained(now, fc, seg.data.len()) {
                            self.drain(f);
                        }
                    }
                }
                self.gc_link(link);
            }
            Event::PeerClosed { link, side } => {
                let blocked = self.links.get(&link).is_some_and(|l| self.partitioned(l.ends[0].0, l.ends[1].0));
                if blocked {
                    // The FIN waits behind the partition too.
                    let lat = self.links.get(&link).map_or(0, |l| self.params_peers(l.ends[0].0, l.ends[1].0).latency);
                    self.schedule(now + lat.max(1), Event::PeerClosed { link, side });
                    return;
                }
                let Some(l) = self.links.get_mut(&link) else {
                    return;
                };
                if l.open[side] {
                    l.open[side] = false;
                    if let (peer, Some(conn)) = l.ends[side] {
                        self.endpoints.remove(&(peer, conn));
                        self.peer_closed(peer, conn);
                    }
                }
                self.gc_link(link);
            }
        }
    }

    pub(super) fn gc_link(&mut self, id: u64) {
        if let Some(l) = self.links.get(&id) {
            if !l.open[0] && !l.open[1] && l.dirs.iter().all(|d| d.segments.is_empty()) {
                self.links.remove(&id);
            }
        }
    }

    /// Tells a peer that one of its connections closed.
    pub(super) fn peer_closed(&mut self, p: Peer, conn: ConnId) {
        let now = self.now;
        self.actor(p).closed(now, conn);
        self.drain_peer(p);
    }
}
