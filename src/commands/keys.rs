//! Generic key commands: DEL, EXISTS, DBSIZE, SELECT, FLUSHALL.

use super::{flags, lookup_key, not_an_integer, Command, Ctx, Reply};
use crate::keyspace::DATABASES;
use crate::node::Node;
use crate::resp::Frame;

/// Generic key commands.
pub(super) const COMMANDS: &[Command] = &[
    Command { name: "del", arity: -2, flags: flags::WRITE, handler: del },
    Command { name: "exists", arity: -2, flags: 0, handler: exists },
    Command { name: "dbsize", arity: 1, flags: 0, handler: dbsize },
    Command { name: "select", arity: 2, flags: flags::STALE, handler: select },
    Command { name: "flushall", arity: -1, flags: flags::WRITE, handler: flushall },
];

pub(super) fn del(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let mut n = 0;
    for key in &argv[1..] {
        // An expired key is first expired (its own DEL propagates), then counts as missing.
        if lookup_key(node, ctx, key).is_some() && node.keyspace.db_mut(ctx.db).remove(key) {
            n += 1;
        }
    }
    if n > 0 {
        ctx.propagate(argv.to_vec());
    }
    Some(Frame::Integer(n))
}

pub(super) fn exists(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let n = argv[1..].iter().filter(|k| lookup_key(node, ctx, k).is_some()).count();
    Some(Frame::Integer(n as i64))
}

pub(super) fn dbsize(node: &mut Node, ctx: &mut Ctx, _: &[Vec<u8>]) -> Reply {
    Some(Frame::Integer(node.keyspace.db(ctx.db).len() as i64))
}

pub(super) fn select(_: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let Some(i) = std::str::from_utf8(&argv[1]).ok().and_then(|s| s.parse::<i64>().ok()) else {
        return Some(not_an_integer());
    };
    if !(0..DATABASES as i64).contains(&i) {
        return Some(Frame::error("ERR DB index is out of range"));
    }
    ctx.db = i as usize;
    Some(Frame::ok())
}

pub(super) fn flushall(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    if argv.len() > 2 || (argv.len() == 2 && !matches!(argv[1].to_ascii_lowercase().as_slice(), b"async" | b"sync")) {
        return Some(super::syntax_error());
    }
    node.keyspace.flush_all();
    ctx.propagate(argv.to_vec());
    Some(Frame::ok())
}
