//! The expiry family: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX/XX/GT/LT), TTL, PTTL,
//! EXPIRETIME, PEXPIRETIME, PERSIST. Kept apart from the other key commands because this is where
//! replication rewrites time: every relative or second-based expiry reaches replicas as an
//! absolute `PEXPIREAT` in milliseconds, and an expiry already in the past as a `DEL`.

use super::keys::{cstr, key_live};
use super::{flags, not_an_integer, parse_i64, Command, Ctx, Reply};
use crate::node::Node;
use crate::resp::Frame;

/// Expiry commands.
pub(super) const COMMANDS: &[Command] = &[
    Command { name: "expire", arity: -3, flags: flags::WRITE, handler: expire },
    Command { name: "pexpire", arity: -3, flags: flags::WRITE, handler: pexpire },
    Command { name: "expireat", arity: -3, flags: flags::WRITE, handler: expireat },
    Command { name: "pexpireat", arity: -3, flags: flags::WRITE, handler: pexpireat },
    Command { name: "ttl", arity: 2, flags: 0, handler: ttl },
    Command { name: "pttl", arity: 2, flags: 0, handler: pttl },
    Command { name: "expiretime", arity: 2, flags: 0, handler: expiretime },
    Command { name: "pexpiretime", arity: 2, flags: 0, handler: pexpiretime },
    Command { name: "persist", arity: 2, flags: flags::WRITE, handler: persist },
];

fn expire(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let now = node.unix_ms();
    expire_generic(node, ctx, argv, now, true, "expire")
}

fn pexpire(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let now = node.unix_ms();
    expire_generic(node, ctx, argv, now, false, "pexpire")
}

fn expireat(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    expire_generic(node, ctx, argv, 0, true, "expireat")
}

fn pexpireat(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    expire_generic(node, ctx, argv, 0, false, "pexpireat")
}

/// Redis's `checkAlreadyExpired`: a time in the past deletes the key at once, except on a
/// replica, which keeps it until its master's DEL.
pub(super) fn already_expired(node: &Node, at_ms: i64) -> bool {
    at_ms <= node.unix_ms() && node.master.is_none()
}

/// Redis's `expireGenericCommand`: options first, then the time, then the key.
fn expire_generic(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>], base: i64, seconds: bool, name: &str) -> Reply {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &argv[3..] {
        let o = cstr(opt);
        if o.eq_ignore_ascii_case(b"nx") {
            nx = true;
        } else if o.eq_ignore_ascii_case(b"xx") {
            xx = true;
        } else if o.eq_ignore_ascii_case(b"gt") {
            gt = true;
        } else if o.eq_ignore_ascii_case(b"lt") {
            lt = true;
        } else {
            let text = String::from_utf8_lossy(o).replace(['\r', '\n'], " ");
            return Some(Frame::error(format!("ERR Unsupported option {text}")));
        }
    }
    if nx && (xx || gt || lt) {
        return Some(Frame::error("ERR NX and XX, GT or LT options at the same time are not compatible"));
    }
    if gt && lt {
        return Some(Frame::error("ERR GT and LT options at the same time are not compatible"));
    }
    let Some(mut when) = parse_i64(&argv[2]) else {
        return Some(not_an_integer());
    };
    let invalid = || Some(Frame::error(format!("ERR invalid expire time in '{name}' command")));
    if seconds {
        match when.checked_mul(1000) {
            Some(ms) => when = ms,
            None => return invalid(),
        }
    }
    if when > i64::MAX - base {
        return invalid();
    }
    when += base;
    let key = &argv[1];
    if !key_live(node, ctx, key) {
        return Some(Frame::Integer(0));
    }
    let current = node.keyspace.db(ctx.db).expire_at(key);
    if (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.is_none_or(|c| when <= c))
        || (lt && current.is_some_and(|c| when >= c))
    {
        return Some(Frame::Integer(0));
    }
    if already_expired(node, when) {
        node.keyspace.db_mut(ctx.db).remove(key);
        ctx.propagate(vec![b"DEL".to_vec(), key.clone()]);
        return Some(Frame::Integer(1));
    }
    node.keyspace.db_mut(ctx.db).set_expire(key, when);
    let mut out = argv.to_vec();
    if name != "pexpireat" {
        out[0] = b"PEXPIREAT".to_vec();
        out[2] = when.to_string().into_bytes();
    }
    ctx.propagate(out);
    Some(Frame::Integer(1))
}

fn ttl(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    ttl_generic(node, ctx, argv, false, false)
}

fn pttl(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    ttl_generic(node, ctx, argv, true, false)
}

fn expiretime(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    ttl_generic(node, ctx, argv, false, true)
}

fn pexpiretime(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    ttl_generic(node, ctx, argv, true, true)
}

/// -2 for a missing (or, to a replica's clients, logically expired) key, -1 without expiry;
/// seconds are rounded to the nearest, as Redis's `(ttl+500)/1000`.
fn ttl_generic(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>], ms: bool, absolute: bool) -> Reply {
    if !key_live(node, ctx, &argv[1]) {
        return Some(Frame::Integer(-2));
    }
    let Some(at) = node.keyspace.db(ctx.db).expire_at(&argv[1]) else {
        return Some(Frame::Integer(-1));
    };
    let t = if absolute { at } else { at - node.unix_ms() }.max(0);
    Some(Frame::Integer(if ms { t } else { ((t as i128 + 500) / 1000) as i64 }))
}

fn persist(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    if key_live(node, ctx, &argv[1]) && node.keyspace.db_mut(ctx.db).remove_expire(&argv[1]) {
        ctx.propagate(argv.to_vec());
        return Some(Frame::Integer(1));
    }
    Some(Frame::Integer(0))
}
