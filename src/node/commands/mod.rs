//! The node's command table and dispatch: Redis's checks before a command runs or is queued
//! (unknown command, arity, authentication, MULTI, min-replicas, a read-only or stale replica,
//! loading), then the command, on the node's data ([`crate::commands`]) or on the node itself.
//!
//! The commands that act on the node itself live here, one file per family: `server`
//! (replication, INFO, DEBUG, SAVE, WAIT, …), `config` (CONFIG GET and SET), `connection`
//! (CLIENT, AUTH, SHUTDOWN) and `transactions` (MULTI, EXEC, WATCH).

pub mod config;
mod connection;
mod server;
mod transactions;

pub(crate) use config::class_limits;
pub use connection::{SaveChoice, Shutdown};
pub(crate) use transactions::TxState;

pub use crate::commands::Ctx;
pub(crate) use crate::commands::{flags, parse_i64, string_match, syntax_error, wrong_arity, Command};
use crate::commands::{unknown_command, Data, DataFn};
use crate::node::Node;
use crate::resp::Frame;

/// What a node command returns: `Ok(Some(reply))`, `Ok(None)` when the command writes its own
/// answer (PSYNC) or answers nothing (REPLCONF ACK), or `Err(error reply)`, so that `?` ends a
/// handler with the error a helper found.
pub(crate) type Reply = Result<Option<Frame>, Frame>;

/// How a node command runs: on the whole node.
pub(crate) type NodeFn = fn(&mut Node, &mut Ctx, &[Vec<u8>]) -> Reply;

/// How a command runs: the data families get only the data they may touch ([`Data`]); the
/// server, connection, configuration and transaction commands act on the node itself.
#[derive(Clone, Copy)]
enum Handler {
    Node(NodeFn),
    Data(DataFn),
}

/// A command found in the table.
#[derive(Clone, Copy)]
struct Entry {
    name: &'static str,
    arity: i32,
    flags: u8,
    handler: Handler,
}

/// Runs a data command on `node`'s data, then feeds the expiry DELs it made on their own.
fn run_data(node: &mut Node, f: DataFn, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Frame {
    let replica = node.master.is_some();
    let now = node.unix_ms();
    let mut data = Data::new(
        &mut node.keyspace,
        &mut node.rng,
        &mut node.stats.expired_keys,
        node.limits.proto_max_bulk_len,
        now,
        replica,
    );
    let answer = f(&mut data, ctx, argv);
    let fed = data.take_fed();
    for (db, argv) in fed {
        node.feed_command(db, &argv);
    }
    answer.unwrap_or_else(|error| error)
}

/// The node's own families' tables; the data families' are [`crate::commands::FAMILIES`].
const FAMILIES: &[&[Command<NodeFn>]] =
    &[server::COMMANDS, connection::COMMANDS, config::COMMANDS, transactions::COMMANDS];

/// Whether the command table has a command of this name (any case).
pub fn is_command(name: &str) -> bool {
    lookup(name.as_bytes()).is_some()
}

fn lookup(name: &[u8]) -> Option<Entry> {
    fn find<F>(families: &'static [&'static [Command<F>]], name: &[u8]) -> Option<&'static Command<F>> {
        families.iter().flat_map(|f| f.iter()).find(|c| c.name.as_bytes().eq_ignore_ascii_case(name))
    }
    fn entry<F: Copy>(c: &Command<F>, handler: fn(F) -> Handler) -> Entry {
        Entry { name: c.name, arity: c.arity, flags: c.flags, handler: handler(c.handler) }
    }
    match find(FAMILIES, name) {
        Some(c) => Some(entry(c, Handler::Node)),
        None => find(crate::commands::FAMILIES, name).map(|c| entry(c, Handler::Data)),
    }
}

/// Redis's checks before a command runs or is queued (`processCommand`): known, right arity,
/// allowed on a read-only replica, allowed while the link to the master is down.
fn check(node: &Node, ctx: &Ctx, argv: &[Vec<u8>]) -> Result<Entry, Frame> {
    let Some(cmd) = lookup(&argv[0]) else {
        return Err(unknown_command(argv));
    };
    let authed = ctx.from_master || node.conns.get(&ctx.conn).is_none_or(|c| c.authenticated);
    if !authed && cmd.name != "auth" {
        return Err(Frame::error("NOAUTH Authentication required."));
    }
    let n = argv.len() as i32;
    if (cmd.arity > 0 && n != cmd.arity) || n < -cmd.arity {
        return Err(wrong_arity(cmd.name));
    }
    if node.in_multi(ctx.conn) && transactions::refused_inside_multi(cmd.name) {
        return Err(Frame::error("ERR Command not allowed inside a transaction"));
    }
    if !ctx.from_master && cmd.flags & flags::WRITE != 0 && node.too_few_good_replicas() {
        return Err(Frame::error("NOREPLICAS Not enough good replicas to write."));
    }
    if !ctx.from_master {
        if let Some(link) = &node.master {
            if cmd.flags & flags::WRITE != 0 && node.cfg.repl.replica_read_only {
                return Err(Frame::error("READONLY You can't write against a read only replica."));
            }
            if !node.cfg.repl.serve_stale_data
                && link.state != crate::node::replication::ReplState::Connected
                && cmd.flags & flags::STALE == 0
            {
                return Err(Frame::error(
                    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
                ));
            }
        }
        if let Some(e) = node.loading_rejects(cmd.name) {
            return Err(e);
        }
    }
    Ok(cmd)
}

/// Runs a command after Redis's checks (`processCommand`), or queues it inside MULTI.
pub fn dispatch(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Option<Frame> {
    node.stats.commands_processed += 1;
    let rejected = check(node, ctx, argv);
    let cmd = match rejected {
        Ok(cmd) => cmd,
        Err(e) => {
            node.flag_transaction(ctx.conn);
            // A rejected EXEC always answers EXECABORT, naming why, and discards any transaction
            // (execCommandAbort), even outside MULTI.
            if argv[0].eq_ignore_ascii_case(b"exec") {
                node.tx.remove(&ctx.conn);
                let why = match &e {
                    Frame::Error(m) => m.strip_prefix("ERR ").unwrap_or(m).to_string(),
                    _ => String::new(),
                };
                return Some(Frame::error(format!("EXECABORT Transaction discarded because of: {why}")));
            }
            return Some(e);
        }
    };
    if node.in_multi(ctx.conn) && !transactions::runs_inside_multi(cmd.name) {
        node.queue_command(ctx.conn, argv);
        return Some(Frame::Simple("QUEUED".into()));
    }
    match cmd.handler {
        Handler::Node(f) => f(node, ctx, argv).unwrap_or_else(Some),
        Handler::Data(f) => Some(run_data(node, f, ctx, argv)),
    }
}

/// True for a known write command (what a client pause for FAILOVER holds back).
pub(crate) fn is_write(argv: &[Vec<u8>]) -> bool {
    argv.first().and_then(|n| lookup(n)).is_some_and(|c| c.flags & flags::WRITE != 0)
}

/// The number of commands in the table (`COMMAND COUNT`).
pub(crate) fn count() -> usize {
    let node: usize = FAMILIES.iter().map(|f| f.len()).sum();
    node + crate::commands::FAMILIES.iter().map(|f| f.len()).sum::<usize>()
}

/// Helpers for the families' unit tests: a bare node, and one command run on it.
#[cfg(test)]
pub(crate) mod testutil {
    use super::{dispatch, Ctx};
    use crate::node::replication::ReplConfig;
    use crate::node::{Node, NodeConfig, EPOCH_UNIX_MS};
    use crate::resp::Frame;

    /// A master node at virtual time 0.
    pub(crate) fn node() -> Node {
        let cfg = NodeConfig {
            name: "A".into(),
            host: "127.0.0.1".into(),
            port: 6379,
            repl: ReplConfig::default(),
            epoch_unix_ms: EPOCH_UNIX_MS,
        };
        Node::new(cfg, 1, 0)
    }

    /// A world with one node, for console-level tests.
    pub(crate) fn world() -> crate::sim::World {
        let mut w = crate::sim::World::new(1);
        w.add_node();
        w
    }

    /// A master (node 0) and its replica (node 1) streaming 8 s after `REPLICAOF`, with
    /// transcripts recorded: what a test of propagation starts from.
    pub(crate) fn streaming_pair(seed: u64) -> crate::sim::World {
        let mut w = crate::sim::World::new(seed);
        w.add_node();
        w.add_node();
        w.record_transcripts();
        w.console(1, "REPLICAOF 127.0.0.1 6379");
        w.run_for_ms(8_000);
        w
    }

    /// Runs one space-separated command; returns the raw reply and what it propagated.
    pub(crate) fn run(n: &mut Node, line: &str) -> (Frame, Vec<Vec<Vec<u8>>>) {
        let argv: Vec<Vec<u8>> = line.split(' ').map(|a| a.as_bytes().to_vec()).collect();
        let mut ctx = Ctx::new(1, 0, false);
        let reply = dispatch(n, &mut ctx, &argv).unwrap_or(Frame::Null);
        (reply, ctx.take_propagated().into_iter().map(|(_, a)| a).collect())
    }
}
