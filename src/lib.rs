//! # Redis Replication Lab
//!
//! A Redis 7.0 master–replica replication engine that runs in a web page (compiled to
//! WebAssembly) and natively, so learners can watch what replication really does: the
//! handshake, the full sync with its RDB payload, the writes buffered meanwhile, the backlog,
//! command propagation, offsets and heartbeats.
//!
//! ## The map, bottom to top
//! - [`resp`]: RESP2 frames, a streaming parser ("incomplete" is not an error), the encoder,
//!   redis-cli line splitting and reply formatting for the consoles.
//! - [`keyspace`]: 16 databases in persistent maps, so a fork for BGSAVE is an O(1) clone.
//! - [`commands`]: the command table, Redis's pre-execution checks, and what each write
//!   propagates (with Redis's rewrites, e.g. `SET k v EX 10` → `SET k v PXAT <ms>`).
//! - [`rdb`]: the RDB version 10 writer and reader with CRC-64/Jones.
//! - [`replication`]: the backlog and both sides of the protocol, as `impl Node` blocks.
//! - [`node`]: one Redis server as a sans-IO state machine: push inputs with the current
//!   virtual time, poll outputs (bytes to send, connections to open or close, log lines), ask
//!   for the next deadline.
//! - [`sim`]: the simulated world: a virtual clock, an event queue, links that behave like
//!   TCP connections with latency and bandwidth, and the trace with decoded wire labels.
//! - [`scenario`]: guided scenarios (the course's chapters) as data files, run by the engine
//!   so that every answer key is checked against what it does.
//! - [`export`]: a lab's topology as `redis.conf` files and scripts, to run it on real Redis.
//! - `wasm` (wasm32 only): the `Lab` object the page drives.
//! - `native` (feature `native`): the TCP adapter behind the `repl-lab server` command.
//!
//! ## How data flows
//! A user action (a console line) reaches [`sim::World::console`], which hands the encoded
//! command to the node at the current virtual time. The node answers with outputs: reply bytes,
//! replication bytes for a connection, a connection to open. The world carries bytes over
//! [`sim`] links, where bandwidth and latency decide when they arrive, and delivers them to the
//! receiving node at that virtual time. Every step lands in the trace, labelled by decoding the
//! very bytes that travel, so what the page shows can never differ from what was sent.
//!
//! ```
//! use redis_repl_lab::sim::World;
//! let mut w = World::new(7);
//! let m = w.add_node();
//! let r = w.add_node();
//! assert_eq!(w.console(r, "REPLICAOF 127.0.0.1 6379"), "OK");
//! assert_eq!(w.console(m, "SET k v"), "OK");
//! w.run_for_ms(20_000);
//! assert_eq!(w.console(r, "GET k"), "\"v\"");
//! ```

pub mod commands;
pub mod export;
pub mod keyspace;
pub mod node;
pub mod rdb;
pub mod replication;
pub mod resp;
pub mod scenario;
pub mod sim;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
pub mod native;

/// The Redis version the engine behaves as.
pub const REDIS_VERSION: &str = "7.0.15";
