//! The command table and dispatch: name, arity and flags per command, the checks Redis makes
//! before running one (unknown command, arity, read-only replica, stale data), and the
//! propagation list each write fills in, rewritten as Redis rewrites it (REDIS-REPLICATION.md §7).
//!
//! One file per family: `keys`, `strings`, `expire`, `lists`, `hashes`, `sets`,
//! `zsets`, `transactions` (MULTI, EXEC, WATCH), `server` (replication, INFO, DEBUG,
//! SAVE, WAIT, …), `config` (CONFIG GET and SET) and `connection` (CLIENT, SHUTDOWN);
//! `numbers` and `glob` read arguments as Redis reads them.
//!
//! The data families' handlers get a `Data` context (the keyspace, the clock, whether the node
//! is a replica, its generator, their counters and limits), so what a data command can touch is
//! in its signature, and answer an `Answer`, whose `Err` is the error reply: a helper's error
//! (a wrong type, a bad number) ends the handler with `?`. The others act on the node itself.

pub mod config;
mod connection;
mod expire;
mod glob;
mod hashes;
mod keys;
mod lists;
pub(crate) mod long_double;
mod numbers;
mod server;
mod sets;
mod strings;
mod transactions;
mod zsets;

pub(crate) use config::class_limits;
pub use connection::{SaveChoice, Shutdown};
pub(crate) use glob::string_match;
pub(crate) use numbers::parse_i64;
pub(crate) use transactions::TxState;

use rand_chacha::ChaCha8Rng;

use crate::keyspace::{Keyspace, Value};
use crate::node::{ClientLimits, ConnId, Node, Stats};
use crate::resp::Frame;

/// Flags of a command, as in Redis's command table.
pub(crate) mod flags {
    /// May modify the dataset.
    pub const WRITE: u8 = 1;
    /// Allowed while a replica's link is down with `replica-serve-stale-data no`.
    pub const STALE: u8 = 2;
    /// Administrative.
    pub const ADMIN: u8 = 4;
}

/// What a handler returns: a reply, or None when the command writes its own answer (PSYNC) or
/// answers nothing (REPLCONF ACK).
pub(crate) type Reply = Option<Frame>;

/// What a data command answers, always: `Err` holds an error reply, so that `?` ends a handler
/// with the error a helper found (a wrong type, a bad number, a syntax error).
pub(crate) type Answer = Result<Frame, Frame>;

/// How a command runs: the data families get only the data they may touch ([`Data`]); the
/// server, connection, configuration and transaction commands act on the node itself.
#[derive(Clone, Copy)]
pub(crate) enum Handler {
    Node(fn(&mut Node, &mut Ctx, &[Vec<u8>]) -> Reply),
    Data(fn(&mut Data<'_>, &mut Ctx, &[Vec<u8>]) -> Answer),
}

/// What a data command (keys, strings, lists, hashes, sets, sorted sets, expiry) may touch of
/// its node: the keyspace, the clock, whether the node is a replica, its random generator, the
/// counters and limits these commands keep, and the expiry DELs fed to the stream on their own
/// (SCAN and RANDOMKEY's). What such a command can do is in its type, not in the whole node.
pub(crate) struct Data<'a> {
    pub keyspace: &'a mut Keyspace,
    pub rng: &'a mut ChaCha8Rng,
    pub stats: &'a mut Stats,
    pub limits: &'a ClientLimits,
    unix_ms: i64,
    replica: bool,
    fed: Vec<(usize, Vec<Vec<u8>>)>,
}

impl<'a> Data<'a> {
    /// The data part of `node`, now.
    fn of(node: &'a mut Node) -> Self {
        Data {
            unix_ms: node.unix_ms(),
            replica: node.master.is_some(),
            keyspace: &mut node.keyspace,
            rng: &mut node.rng,
            stats: &mut node.stats,
            limits: &node.limits,
            fed: Vec::new(),
        }
    }

    /// The node's unix time in milliseconds.
    pub fn unix_ms(&self) -> i64 {
        self.unix_ms
    }

    /// Whether the node is a replica (it hides expired keys instead of deleting them).
    pub fn is_replica(&self) -> bool {
        self.replica
    }

    /// Deletes a key found expired by a command that touches arbitrary keys; its `DEL` goes to
    /// the replication stream on its own, never wrapped with the command's (Redis's
    /// `deleteExpiredKeyAndPropagate`).
    pub fn expire_key(&mut self, db: usize, key: &[u8]) {
        if self.keyspace.db_mut(db).remove(key) {
            self.stats.expired_keys += 1;
            self.fed.push((db, vec![b"DEL".to_vec(), key.to_vec()]));
        }
    }
}

/// Runs a data command on `node`'s data, then feeds the expiry DELs it made on their own.
fn run_data(
    node: &mut Node,
    f: fn(&mut Data<'_>, &mut Ctx, &[Vec<u8>]) -> Answer,
    ctx: &mut Ctx,
    argv: &[Vec<u8>],
) -> Reply {
    let mut data = Data::of(node);
    let answer = f(&mut data, ctx, argv);
    let fed = std::mem::take(&mut data.fed);
    for (db, argv) in fed {
        node.feed_command(db, &argv);
    }
    Some(answer.unwrap_or_else(|error| error))
}

/// One entry of the command table.
pub(crate) struct Command {
    pub name: &'static str,
    /// Redis arity: N means exactly N arguments (name included), -N means at least N.
    pub arity: i32,
    pub flags: u8,
    pub handler: Handler,
}

/// The caller of a command: its connection, selected db, whether it is our master, and what the
/// command propagates.
pub struct Ctx {
    /// The client's connection (0 for the master client on a replica).
    pub conn: ConnId,
    /// The selected database.
    pub db: usize,
    /// The command comes from our master: never rejected, never sees keys as expired.
    pub from_master: bool,
    /// Running inside EXEC: blocking commands answer at once.
    pub in_exec: bool,
    propagated: Vec<(usize, Vec<Vec<u8>>)>,
}

impl Ctx {
    /// A context for one call.
    pub fn new(conn: ConnId, db: usize, from_master: bool) -> Self {
        Ctx { conn, db, from_master, in_exec: false, propagated: Vec::new() }
    }

    /// Queues a command for the replication stream in the current database.
    pub(crate) fn propagate(&mut self, argv: Vec<Vec<u8>>) {
        self.propagated.push((self.db, argv));
    }

    /// What the call propagates, in order.
    pub fn take_propagated(&mut self) -> Vec<(usize, Vec<Vec<u8>>)> {
        std::mem::take(&mut self.propagated)
    }
}

/// Every family's table; a command is found by a case-insensitive name match.
const FAMILIES: &[&[Command]] = &[
    server::COMMANDS,
    connection::COMMANDS,
    config::COMMANDS,
    keys::COMMANDS,
    expire::COMMANDS,
    strings::COMMANDS,
    transactions::COMMANDS,
    lists::COMMANDS,
    hashes::COMMANDS,
    sets::COMMANDS,
    zsets::COMMANDS,
];

/// Whether the command table has a command of this name (any case).
pub fn is_command(name: &str) -> bool {
    lookup(name.as_bytes()).is_some()
}

fn lookup(name: &[u8]) -> Option<&'static Command> {
    FAMILIES.iter().flat_map(|f| f.iter()).find(|c| c.name.as_bytes().eq_ignore_ascii_case(name))
}

/// Redis's `rejectCommandFormat` turns newlines into spaces so an error stays one line.
fn one_line(s: String) -> String {
    s.replace(['\r', '\n'], " ")
}

pub(crate) fn unknown_command(argv: &[Vec<u8>]) -> Frame {
    let mut args = String::new();
    for a in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let text = String::from_utf8_lossy(a);
        let cut: String = text.chars().take(room).collect();
        args.push_str(&format!("'{cut}' "));
    }
    let name: String = String::from_utf8_lossy(&argv[0]).chars().take(128).collect();
    Frame::error(one_line(format!("ERR unknown command '{name}', with args beginning with: {args}")))
}

/// Redis's checks before a command runs or is queued (`processCommand`): known, right arity,
/// allowed on a read-only replica, allowed while the link to the master is down.
fn check(node: &Node, ctx: &Ctx, argv: &[Vec<u8>]) -> Result<&'static Command, Frame> {
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
                && link.state != crate::replication::ReplState::Connected
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
pub fn dispatch(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
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
        Handler::Node(f) => f(node, ctx, argv),
        Handler::Data(f) => run_data(node, f, ctx, argv),
    }
}

/// True for a known write command (what a client pause for FAILOVER holds back).
pub(crate) fn is_write(argv: &[Vec<u8>]) -> bool {
    argv.first().and_then(|n| lookup(n)).is_some_and(|c| c.flags & flags::WRITE != 0)
}

/// The number of commands in the table (`COMMAND COUNT`).
pub(crate) fn count() -> usize {
    FAMILIES.iter().map(|f| f.len()).sum()
}

/// Redis's reply to a command (or `command|subcommand`) given the wrong number of arguments.
pub(crate) fn wrong_arity(name: &str) -> Frame {
    Frame::error(format!("ERR wrong number of arguments for '{name}' command"))
}

/// Reads a key as a client sees it: on a master an expired key is deleted (and the DEL
/// propagated); on a replica it is hidden, except from our master's own commands (§7.3).
pub(crate) fn lookup_key(data: &mut Data<'_>, ctx: &mut Ctx, key: &[u8]) -> Option<Value> {
    if !keys::key_live(data, ctx, key) {
        return None;
    }
    data.keyspace.db(ctx.db).get_raw(key).cloned()
}

/// A collection type stored under a key, for typed reads and write-backs shared by the
/// list, hash, set and sorted-set families.
pub(crate) trait Collection: Sized {
    /// The value if it is of this type, or the value back.
    fn from_value(v: Value) -> Result<Self, Value>;
    /// Wraps it back into a [`Value`].
    fn into_value(self) -> Value;
    /// True if it holds no element.
    fn is_empty(&self) -> bool;
}

macro_rules! collection {
    ($t:ty, $variant:ident) => {
        impl Collection for $t {
            fn from_value(v: Value) -> Result<Self, Value> {
                match v {
                    Value::$variant(x) => Ok(x),
                    other => Err(other),
                }
            }
            fn into_value(self) -> Value {
                Value::$variant(self)
            }
            fn is_empty(&self) -> bool {
                <$t>::is_empty(self)
            }
        }
    };
}
collection!(crate::keyspace::ListValue, List);
collection!(crate::keyspace::HashValue, Hash);
collection!(crate::keyspace::SetValue, Set);
collection!(crate::keyspace::ZSetValue, ZSet);

/// The collection under `key` as a client sees it: Ok(None) when missing (an empty one counts as
/// missing, as Redis never keeps one), Err(WRONGTYPE) when the key holds another type.
pub(crate) fn get_typed<T: Collection>(data: &mut Data<'_>, ctx: &mut Ctx, key: &[u8]) -> Result<Option<T>, Frame> {
    match lookup_key(data, ctx, key).map(T::from_value) {
        Some(Ok(v)) if v.is_empty() => Ok(None),
        Some(Ok(v)) => Ok(Some(v)),
        Some(Err(_)) => Err(wrong_type()),
        None => Ok(None),
    }
}

/// Writes a collection back: an empty one deletes the key (Redis deletes empty collections), an
/// existing key keeps its TTL, a new key has none.
pub(crate) fn store_typed<T: Collection>(data: &mut Data<'_>, ctx: &Ctx, key: &[u8], v: T, existed: bool) {
    let db = data.keyspace.db_mut(ctx.db);
    if v.is_empty() {
        db.remove(key);
    } else if existed {
        db.set_keep_ttl(key.to_vec(), v.into_value());
    } else {
        db.set(key.to_vec(), v.into_value());
    }
}

/// The destination of a STORE command (SINTERSTORE and co., ZRANGESTORE): a non-empty result
/// replaces it (dropping its TTL), an empty one deletes it; propagated as given when something
/// changed; replies with the result's size.
pub(crate) fn store_destination<T: Collection>(
    data: &mut Data<'_>,
    ctx: &mut Ctx,
    argv: &[Vec<u8>],
    result: T,
    n: usize,
) -> Answer {
    let dst = &argv[1];
    if n > 0 {
        // Redis's setKey looks the destination up for writing first (which may expire it).
        let _ = lookup_key(data, ctx, dst);
        data.keyspace.db_mut(ctx.db).set(dst.clone(), result.into_value());
        ctx.propagate(argv.to_vec());
    } else if data.keyspace.db_mut(ctx.db).remove(dst) {
        ctx.propagate(argv.to_vec());
    }
    Ok(Frame::Integer(n as i64))
}

/// SREM and ZREM: removes the given members, deletes an emptied key, and propagates the command
/// as given when it removed anything; replies with the number removed.
pub(crate) fn remove_members<T: Collection>(
    data: &mut Data<'_>,
    ctx: &mut Ctx,
    argv: &[Vec<u8>],
    remove: fn(&mut T, &[u8]) -> bool,
) -> Answer {
    let mut v = match get_typed::<T>(data, ctx, &argv[1])? {
        Some(v) => v,
        None => return Ok(Frame::Integer(0)),
    };
    let removed = argv[2..].iter().filter(|m| remove(&mut v, m)).count();
    if removed > 0 {
        store_typed(data, ctx, &argv[1], v, true);
        ctx.propagate(argv.to_vec());
    }
    Ok(Frame::Integer(removed as i64))
}

/// `ERR value is not an integer or out of range`
pub(crate) fn not_an_integer() -> Frame {
    Frame::error("ERR value is not an integer or out of range")
}

/// `WRONGTYPE Operation against a key holding the wrong kind of value`
pub(crate) fn wrong_type() -> Frame {
    Frame::error("WRONGTYPE Operation against a key holding the wrong kind of value")
}

/// `ERR syntax error`
pub(crate) fn syntax_error() -> Frame {
    Frame::error("ERR syntax error")
}

/// Helpers for the families' unit tests: a bare node, and one command run on it.
#[cfg(test)]
pub(crate) mod testutil {
    use super::{dispatch, Ctx};
    use crate::node::{Node, NodeConfig, EPOCH_UNIX_MS};
    use crate::replication::ReplConfig;
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

    /// Runs one space-separated command; returns the raw reply and what it propagated.
    pub(crate) fn run(n: &mut Node, line: &str) -> (Frame, Vec<Vec<Vec<u8>>>) {
        let argv: Vec<Vec<u8>> = line.split(' ').map(|a| a.as_bytes().to_vec()).collect();
        let mut ctx = Ctx::new(1, 0, false);
        let reply = dispatch(n, &mut ctx, &argv).unwrap_or(Frame::Null);
        (reply, ctx.take_propagated().into_iter().map(|(_, a)| a).collect())
    }
}
