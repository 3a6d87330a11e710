//! The one interface through which an environment drives a process of the lab: a Redis node
//! ([`crate::node::Node`]) and a Sentinel ([`crate::sentinel::Sentinel`]) are both sans-IO state
//! machines, and the simulator treats them alike through this trait: it pushes in what happened
//! on their connections at a virtual time, runs their timers when due, and polls out what they
//! want done and what they logged. Only what differs stays specific: a node's learner-visible
//! state, a sentinel's event lines.

use crate::node::{ConnId, LogLine, Micros, Output};

/// A sans-IO process: inputs with the current virtual time in, outputs and log lines out.
pub trait Actor {
    /// A client connected to it from `peer_host:peer_port`; returns the new connection's id.
    fn accept(&mut self, now: Micros, peer_host: &str, peer_port: u16) -> ConnId;
    /// A connection it asked for with [`Output::Connect`] is established.
    fn connected(&mut self, now: Micros, conn: ConnId);
    /// A connection it asked for could not be made.
    fn connect_failed(&mut self, now: Micros, conn: ConnId, reason: &str);
    /// Bytes arrived on a connection.
    fn receive(&mut self, now: Micros, conn: ConnId, data: &[u8]);
    /// The other end closed a connection.
    fn closed(&mut self, now: Micros, conn: ConnId);
    /// Virtual time reached `now`: run what is due.
    fn tick(&mut self, now: Micros);
    /// When it next needs [`Actor::tick`].
    fn next_deadline(&self) -> Micros;
    /// The next thing it wants done.
    fn poll_output(&mut self) -> Option<Output>;
    /// The next line it logged.
    fn poll_log(&mut self) -> Option<LogLine>;
}

/// A node's inputs are its own methods (the native server and the tests call them directly).
impl Actor for crate::node::Node {
    fn accept(&mut self, now: Micros, peer_host: &str, peer_port: u16) -> ConnId {
        crate::node::Node::accept(self, now, peer_host, peer_port)
    }
    fn connected(&mut self, now: Micros, conn: ConnId) {
        crate::node::Node::connected(self, now, conn)
    }
    fn connect_failed(&mut self, now: Micros, conn: ConnId, reason: &str) {
        crate::node::Node::connect_failed(self, now, conn, reason)
    }
    fn receive(&mut self, now: Micros, conn: ConnId, data: &[u8]) {
        crate::node::Node::receive(self, now, conn, data)
    }
    fn closed(&mut self, now: Micros, conn: ConnId) {
        crate::node::Node::closed(self, now, conn)
    }
    fn tick(&mut self, now: Micros) {
        crate::node::Node::tick(self, now)
    }
    fn next_deadline(&self) -> Micros {
        crate::node::Node::next_deadline(self)
    }
    fn poll_output(&mut self) -> Option<Output> {
        crate::node::Node::poll_output(self)
    }
    fn poll_log(&mut self) -> Option<LogLine> {
        crate::node::Node::poll_log(self)
    }
}
