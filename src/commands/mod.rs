//! The data commands, 116 of them: what each does to the dataset, what it replies, and what it
//! propagates, rewritten as Redis rewrites it (REDIS-REPLICATION.md §7): relative expiries become
//! absolute, INCRBYFLOAT a SET of its result, a random pick the members it picked.
//!
//! One file per family: `keys`, `strings`, `expire`, `lists`, `hashes`, `sets`, `zsets`;
//! `numbers` and `glob` read arguments as Redis reads them, `long_double` does INCRBYFLOAT's
//! arithmetic as Redis's `long double` does.
//!
//! This module knows nothing of nodes or replication. A handler gets a `Data` context (the
//! keyspace, the clock, whether the node is a replica, its generator, a counter and a limit), so
//! what a data command can touch is in its signature, and a [`Ctx`] to propagate through. It
//! answers an `Answer`, whose `Err` is the error reply: a helper's error (a wrong type, a bad
//! number) ends the handler with `?`. The command table, Redis's checks before a command runs,
//! and the commands that act on the node itself (replication, INFO, CONFIG, CLIENT, MULTI) are
//! the node's: [`crate::node::commands`].

mod expire;
mod glob;
mod hashes;
mod keys;
mod lists;
pub(crate) mod long_double;
pub(crate) mod numbers;
mod sets;
mod strings;
mod zsets;

pub(crate) use glob::string_match;
pub(crate) use numbers::parse_i64;

use rand_chacha::ChaCha8Rng;

use crate::keyspace::{Keyspace, Value};
use crate::resp::Frame;

/// A client connection's number, as the node that owns it gives them.
pub type ConnId = u64;

/// Flags of a command, as in Redis's command table.
pub(crate) mod flags {
    /// May modify the dataset.
    pub const WRITE: u8 = 1;
    /// Allowed while a replica's link is down with `replica-serve-stale-data no`.
    pub const STALE: u8 = 2;
    /// Administrative.
    pub const ADMIN: u8 = 4;
}

/// What a data command answers, always: `Err` holds an error reply, so that `?` ends a handler
/// with the error a helper found (a wrong type, a bad number, a syntax error).
pub(crate) type Answer = Result<Frame, Frame>;

/// What a data command (keys, strings, lists, hashes, sets, sorted sets, expiry) may touch of
/// its node: the keyspace, the clock, whether the node is a replica, its random generator, the
/// counters and limits these commands keep, and the expiry DELs fed to the stream on their own
/// (SCAN and RANDOMKEY's). What such a command can do is in its type, not in the whole node.
pub(crate) struct Data<'a> {
    pub keyspace: &'a mut Keyspace,
    pub rng: &'a mut ChaCha8Rng,
    /// The node's `expired_keys` counter (INFO stats).
    pub expired_keys: &'a mut u64,
    /// `proto-max-bulk-len`: the longest string SETRANGE and APPEND may make.
    pub proto_max_bulk_len: u64,
    unix_ms: i64,
    replica: bool,
    fed: Vec<(usize, Vec<Vec<u8>>)>,
}

impl<'a> Data<'a> {
    /// The context of one data command; `unix_ms` is the node's clock, `replica` whether it
    /// has a master.
    pub fn new(
        keyspace: &'a mut Keyspace,
        rng: &'a mut ChaCha8Rng,
        expired_keys: &'a mut u64,
        proto_max_bulk_len: u64,
        unix_ms: i64,
        replica: bool,
    ) -> Self {
        Data { keyspace, rng, expired_keys, proto_max_bulk_len, unix_ms, replica, fed: Vec::new() }
    }

    /// The expiry DELs the command fed on their own, in order, for the node's stream.
    pub fn take_fed(&mut self) -> Vec<(usize, Vec<Vec<u8>>)> {
        std::mem::take(&mut self.fed)
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
            *self.expired_keys += 1;
            self.fed.push((db, vec![b"DEL".to_vec(), key.to_vec()]));
        }
    }
}

/// How a data command runs.
pub(crate) type DataFn = fn(&mut Data<'_>, &mut Ctx, &[Vec<u8>]) -> Answer;

/// One entry of a command table; `F` is how the command runs (a [`DataFn`] here, a function of
/// the whole node for the node's own commands).
pub(crate) struct Command<F> {
    pub name: &'static str,
    /// Redis arity: N means exactly N arguments (name included), -N means at least N.
    pub arity: i32,
    pub flags: u8,
    pub handler: F,
}

/// The data families' tables.
pub(crate) const FAMILIES: &[&[Command<DataFn>]] = &[
    keys::COMMANDS,
    expire::COMMANDS,
    strings::COMMANDS,
    lists::COMMANDS,
    hashes::COMMANDS,
    sets::COMMANDS,
    zsets::COMMANDS,
];

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
