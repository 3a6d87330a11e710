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
//! - [`commands`]: the data commands and what each write propagates (with Redis's rewrites,
//!   e.g. `SET k v EX 10` → `SET k v PXAT <ms>`), on the node's data only.
//! - [`rdb`]: the RDB version 10 writer and reader with CRC-64/Jones.
//! - [`node`]: one Redis server as a sans-IO state machine: push inputs with the current
//!   virtual time, poll outputs (one enum: bytes to send, connections to open or close, files
//!   to write, exit, notes) and log lines, ask for the next deadline. Inside it,
//!   [`node::commands`] holds the command table, Redis's pre-execution checks and the commands
//!   that act on the node itself, and [`node::replication`] the backlog and both sides of the
//!   protocol, as `impl Node` blocks.
//! - [`actor`]: what the simulator drives, a node or a sentinel alike.
//! - [`sentinel`]: Redis Sentinel as a sans-IO actor like a node.
//! - [`sim`]: the simulated world: a virtual clock, an event queue, links that behave like
//!   TCP connections with latency and bandwidth, and the trace with decoded wire labels.
//! - [`scenario`]: guided scenarios (the course's chapters) as data files, run by the engine
//!   so that every answer key is checked against what it does.
//! - [`export`]: a lab's topology as `redis.conf` files and scripts, to run it on real Redis.
//! - `wasm` (wasm32 only): the `Lab` object the page drives.
//! - `native` (feature `native`): the TCP adapter behind the `repl-lab server` command.
//!
//! Each layer uses only the ones before it in this list (tests aside), so the engine's modules
//! import each other in no circle.
//!
//! ## The loop: from a console line to a replica's applied offset
//! Follow `SET k v` typed into master A's console while replica B streams from it.
//!
//! 1. [`sim::World::console`] splits the line as redis-cli does ([`resp`]), encodes it as a
//!    RESP array and hands it to A with [`node::Node::receive`] at the current virtual time.
//! 2. A appends the bytes to the client's query buffer and parses whole commands out of it
//!    ([`resp::parse_command_within`]; half a command waits for more bytes, as in Redis).
//! 3. [`node::commands::dispatch`] makes Redis's checks (unknown command, arity, read-only replica,
//!    stale data), runs the handler against the [`keyspace`], and collects what the write
//!    propagates, rewritten as Redis rewrites it.
//! 4. The node feeds that to its replication stream: `SELECT` if the db changed, the command,
//!    both appended to the backlog ([`node::replication`]'s `feed_stream`), `master_repl_offset`
//!    advancing by their bytes.
//! 5. The driver asks for outputs ([`node::Node::poll_output`]): the turn ends, the stream is
//!    written to every online replica as one [`node::Output::Send`] carrying the offset of
//!    its first byte, and the reply `+OK` goes to the console. Everything a node wants done
//!    comes out this way: bytes, connections to open or close, `dump.rdb` to write
//!    ([`node::Output::Persist`]), the end of a SHUTDOWN ([`node::Output::Exit`]), and notes
//!    for the learner (a PSYNC verdict, a propagation).
//! 6. [`sim`] carries the bytes over the A–B link: latency, jitter and bandwidth decide the
//!    virtual time they arrive; a cut or a partition drops them; each segment is traced with a
//!    label decoded from its own bytes.
//! 7. B receives them on its master link. The master is a client of B's whose commands run
//!    without replies; B's `reploff` advances only by whole commands applied (a MULTI by its
//!    EXEC), and the same bytes go into B's own backlog, so B can serve sub-replicas and a
//!    later PSYNC from its offset.
//! 8. Once a second B's cron sends `REPLCONF ACK <offset>`; A records it, which is what
//!    `INFO replication` shows as `slave0:…offset=` and what `WAIT` counts.
//!
//! The same node runs unchanged behind the native TCP server (`repl-lab server`), where step 6
//! is a real socket; the tests hold both against redis-server 7.0.15.
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

pub mod actor;
pub mod commands;
pub mod export;
pub mod keyspace;
pub mod node;
pub mod rdb;
pub mod resp;
pub mod scenario;
pub mod sentinel;
pub mod sim;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
pub mod native;

/// The Redis version the engine behaves as.
pub const REDIS_VERSION: &str = "7.0.15";
