//! MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Transactions matter to replication: everything one EXEC writes propagates as a single
//! execution unit, wrapped in MULTI/EXEC only when more than one command propagates
//! (REDIS-REPLICATION.md §7.4), and a replica applies its master's MULTI ... EXEC without
//! advancing its applied offset until the EXEC (§2.6).

use super::{flags, Command, Ctx, NodeFn, Reply};
use crate::keyspace::Bytes;
use crate::node::{ConnId, Node};
use crate::resp::Frame;

/// A client's transaction state.
#[derive(Clone, Debug, Default)]
pub(crate) struct TxState {
    /// Commands queued since MULTI (None outside MULTI).
    pub queue: Option<Vec<Vec<Vec<u8>>>>,
    /// Bytes of the queued commands' arguments (they count against the query buffer limit).
    pub queued_bytes: usize,
    /// A command was rejected while queuing: EXEC will abort.
    pub dirty: bool,
    /// WATCHed keys: db, key, modification stamp, and whether it was already expired.
    pub watched: Vec<(usize, Bytes, u64, bool)>,
}

/// Transaction commands.
pub(super) const COMMANDS: &[Command<NodeFn>] = &[
    Command { name: "multi", arity: 1, flags: flags::STALE, handler: multi },
    Command { name: "exec", arity: 1, flags: flags::STALE, handler: exec },
    Command { name: "discard", arity: 1, flags: flags::STALE, handler: discard },
    Command { name: "watch", arity: -2, flags: flags::STALE, handler: watch },
    Command { name: "unwatch", arity: 1, flags: flags::STALE, handler: unwatch },
];

/// Commands Redis 7.0 flags NO_MULTI: refused inside MULTI (and the transaction with them).
pub(super) fn refused_inside_multi(name: &str) -> bool {
    matches!(name, "psync" | "sync" | "save" | "shutdown")
}

/// Commands that run at once even inside MULTI.
pub(super) fn runs_inside_multi(name: &str) -> bool {
    matches!(name, "exec" | "discard" | "multi" | "watch" | "unwatch")
}

impl Node {
    pub(crate) fn in_multi(&self, conn: ConnId) -> bool {
        self.tx.get(&conn).is_some_and(|t| t.queue.is_some())
    }

    /// Flags the transaction of `conn` as failed (Redis's `flagTransaction`).
    pub(crate) fn flag_transaction(&mut self, conn: ConnId) {
        if let Some(t) = self.tx.get_mut(&conn).filter(|t| t.queue.is_some()) {
            t.dirty = true;
        }
    }

    pub(crate) fn queue_command(&mut self, conn: ConnId, argv: &[Vec<u8>]) {
        if let Some(t) = self.tx.get_mut(&conn) {
            if let Some(q) = t.queue.as_mut() {
                q.push(argv.to_vec());
                t.queued_bytes += argv.iter().map(Vec::len).sum::<usize>();
            }
        }
    }

    /// Ends `conn`'s transaction state, its queue and its watched keys (Redis's
    /// `unwatchAllKeys` with the rest): on EXEC, DISCARD, and when the client goes away.
    pub(crate) fn forget_tx(&mut self, conn: ConnId) -> TxState {
        let t = self.tx.remove(&conn).unwrap_or_default();
        for (db, key, _, _) in &t.watched {
            self.keyspace.db_mut(*db).unwatch(key);
        }
        t
    }

    fn watched_touched(&self, conn: ConnId) -> bool {
        let now = self.unix_ms();
        self.tx.get(&conn).is_some_and(|t| {
            t.watched.iter().any(|(db, key, version, was_expired)| {
                let d = self.keyspace.db(*db);
                d.version(key) != *version || (!was_expired && d.is_expired(key, now))
            })
        })
    }
}

fn multi(node: &mut Node, ctx: &mut Ctx, _: &[Vec<u8>]) -> Reply {
    if node.in_multi(ctx.conn) {
        return Err(Frame::error("ERR MULTI calls can not be nested"));
    }
    let t = node.tx.entry(ctx.conn).or_default();
    t.queue = Some(Vec::new());
    t.queued_bytes = 0;
    t.dirty = false;
    Ok(Some(Frame::ok()))
}

fn exec(node: &mut Node, ctx: &mut Ctx, _: &[Vec<u8>]) -> Reply {
    if !node.in_multi(ctx.conn) {
        return Err(Frame::error("ERR EXEC without MULTI"));
    }
    let touched = node.watched_touched(ctx.conn);
    let t = node.forget_tx(ctx.conn);
    if t.dirty {
        return Err(Frame::error("EXECABORT Transaction discarded because of previous errors."));
    }
    if touched {
        return Ok(Some(Frame::NullArray));
    }
    let mut replies = Vec::new();
    ctx.in_exec = true;
    for argv in t.queue.unwrap_or_default() {
        replies.push(super::dispatch(node, ctx, &argv).unwrap_or(Frame::Null));
    }
    ctx.in_exec = false;
    Ok(Some(Frame::Array(replies)))
}

fn discard(node: &mut Node, ctx: &mut Ctx, _: &[Vec<u8>]) -> Reply {
    if !node.in_multi(ctx.conn) {
        return Err(Frame::error("ERR DISCARD without MULTI"));
    }
    node.forget_tx(ctx.conn);
    Ok(Some(Frame::ok()))
}

fn watch(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    if node.in_multi(ctx.conn) {
        return Err(Frame::error("ERR WATCH inside MULTI is not allowed"));
    }
    let now = node.unix_ms();
    for k in &argv[1..] {
        let watching = node.tx.get(&ctx.conn).is_some_and(|t| t.watched.iter().any(|w| w.0 == ctx.db && w.1 == *k));
        if watching {
            continue;
        }
        let db = node.keyspace.db_mut(ctx.db);
        let was_expired = db.get_raw(k).is_some() && db.is_expired(k, now);
        let stamp = db.watch(k);
        node.tx.entry(ctx.conn).or_default().watched.push((ctx.db, k.clone(), stamp, was_expired));
    }
    Ok(Some(Frame::ok()))
}

fn unwatch(node: &mut Node, ctx: &mut Ctx, _: &[Vec<u8>]) -> Reply {
    let watched = node.tx.get_mut(&ctx.conn).map(|t| std::mem::take(&mut t.watched)).unwrap_or_default();
    for (db, key, _, _) in &watched {
        node.keyspace.db_mut(*db).unwatch(key);
    }
    Ok(Some(Frame::ok()))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::node::commands::testutil::{streaming_pair, world};

    #[test]
    fn queue_exec_discard_and_errors() {
        let mut w = world();
        assert_eq!(w.console(0, "EXEC"), "(error) ERR EXEC without MULTI");
        assert_eq!(w.console(0, "DISCARD"), "(error) ERR DISCARD without MULTI");
        assert_eq!(w.console(0, "MULTI"), "OK");
        assert_eq!(w.console(0, "MULTI"), "(error) ERR MULTI calls can not be nested");
        assert_eq!(w.console(0, "SET a 1"), "QUEUED");
        assert_eq!(w.console(0, "INCR a"), "QUEUED");
        assert_eq!(w.console(0, "EXEC"), "1) OK\n2) (integer) 2");
        w.console(0, "MULTI");
        assert!(w.console(0, "NOPE").starts_with("(error) ERR unknown command"));
        w.console(0, "SET a 5");
        assert_eq!(w.console(0, "EXEC"), "(error) EXECABORT Transaction discarded because of previous errors.");
        assert_eq!(w.console(0, "GET a"), "\"2\"");
        w.console(0, "MULTI");
        assert_eq!(w.console(0, "WATCH a"), "(error) ERR WATCH inside MULTI is not allowed");
        assert_eq!(w.console(0, "SAVE"), "(error) ERR Command not allowed inside a transaction");
        assert_eq!(w.console(0, "SHUTDOWN"), "(error) ERR Command not allowed inside a transaction");
        assert_eq!(w.console(0, "EXEC"), "(error) EXECABORT Transaction discarded because of previous errors.");
        assert!(w.is_up(0), "the refused SHUTDOWN never ran");
    }

    #[test]
    fn watch_aborts_when_the_key_was_written_even_with_the_same_value() {
        let mut w = world();
        w.console(0, "SET k v");
        assert_eq!(w.console(0, "WATCH k"), "OK");
        w.console(0, "SET k v");
        w.console(0, "MULTI");
        w.console(0, "SET k w");
        assert_eq!(w.console(0, "EXEC"), "(nil)");
        assert_eq!(w.console(0, "GET k"), "\"v\"");
        w.console(0, "WATCH k");
        w.console(0, "MULTI");
        w.console(0, "SET k w");
        assert_eq!(w.console(0, "EXEC"), "1) OK");
    }

    #[test]
    fn propagation_wraps_only_more_than_one_write() {
        let mut w = streaming_pair(2);
        w.console(0, "MULTI");
        w.console(0, "SET one 1");
        w.console(0, "EXEC");
        w.console(0, "MULTI");
        w.console(0, "GET one");
        w.console(0, "EXEC");
        w.console(0, "MULTI");
        w.console(0, "set a 1");
        w.console(0, "SELECT 2");
        w.console(0, "set b 2");
        w.console(0, "EXEC");
        w.run_for_ms(500);
        let t = String::from_utf8_lossy(w.transcript(0, 1)).into_owned();
        let stream = &t[t.find("*2\r\n$6\r\nSELECT").unwrap()..];
        assert_eq!(
            stream,
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$3\r\none\r\n$1\r\n1\r\n\
             *1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n\
             *2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*3\r\n$3\r\nset\r\n$1\r\nb\r\n$1\r\n2\r\n*1\r\n$4\r\nEXEC\r\n"
        );
        assert_eq!(w.node(0).digest(), w.node(1).digest());
        assert_eq!(w.node(1).view().slave_repl_offset, w.node(0).view().master_repl_offset);
    }
}
