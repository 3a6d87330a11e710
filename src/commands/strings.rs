//! String commands: GET, SET (every option, with the PXAT rewrite), INCR.

use super::{flags, lookup_key, not_an_integer, parse_i64, syntax_error, wrong_type, Command, Ctx, Reply};
use crate::keyspace::Value;
use crate::node::Node;
use crate::resp::Frame;

/// String commands.
pub(super) const COMMANDS: &[Command] = &[
    Command { name: "get", arity: 2, flags: 0, handler: get },
    Command { name: "set", arity: -3, flags: flags::WRITE, handler: set },
    Command { name: "incr", arity: 2, flags: flags::WRITE, handler: incr },
];

pub(super) fn get(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    Some(match lookup_key(node, ctx, &argv[1]) {
        Some(Value::Str(s)) => Frame::Bulk(s),
        Some(_) => wrong_type(),
        None => Frame::Null,
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Expire {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]`, propagated as Redis 7.0
/// does: a relative or second-based expiry becomes `SET key value PXAT <abs ms>`, and GET is
/// dropped from the propagated command.
pub(super) fn set(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let (mut nx, mut xx, mut get, mut keepttl) = (false, false, false, false);
    let mut expire: Option<(Expire, &[u8])> = None;
    let mut get_at = None;
    let mut i = 3;
    while i < argv.len() {
        let opt = argv[i].to_ascii_uppercase();
        let next = argv.get(i + 1);
        match opt.as_slice() {
            b"NX" if !xx => nx = true,
            b"XX" if !nx => xx = true,
            b"GET" => {
                get = true;
                get_at = Some(i);
            }
            b"KEEPTTL" if expire.is_none() => keepttl = true,
            b"EX" | b"PX" | b"EXAT" | b"PXAT" if expire.is_none() && !keepttl && next.is_some() => {
                let kind = match opt.as_slice() {
                    b"EX" => Expire::Ex,
                    b"PX" => Expire::Px,
                    b"EXAT" => Expire::ExAt,
                    _ => Expire::PxAt,
                };
                expire = next.map(|v| (kind, v.as_slice()));
                i += 1;
            }
            _ => return Some(syntax_error()),
        }
        i += 1;
    }
    let mut at_ms = None;
    if let Some((kind, v)) = expire {
        let Some(n) = parse_i64(v) else {
            return Some(not_an_integer());
        };
        let unit = if matches!(kind, Expire::Ex | Expire::ExAt) { 1000 } else { 1 };
        if n <= 0 || n.checked_mul(unit).is_none() {
            return Some(Frame::error("ERR invalid expire time in 'set' command"));
        }
        let base = if matches!(kind, Expire::Ex | Expire::Px) { node.unix_ms() } else { 0 };
        let Some(abs) = (n * unit).checked_add(base) else {
            return Some(Frame::error("ERR invalid expire time in 'set' command"));
        };
        at_ms = Some(abs);
    }
    let old = lookup_key(node, ctx, &argv[1]);
    let found = old.is_some();
    if get && old.as_ref().is_some_and(|v| !matches!(v, Value::Str(_))) {
        return Some(wrong_type());
    }
    let old_reply = || match &old {
        Some(Value::Str(s)) => Frame::Bulk(s.clone()),
        _ => Frame::Null,
    };
    if (nx && found) || (xx && !found) {
        return Some(if get { old_reply() } else { Frame::Null });
    }
    let db = node.keyspace.db_mut(ctx.db);
    let value = Value::Str(argv[2].clone());
    if keepttl {
        db.set_keep_ttl(argv[1].clone(), value);
    } else {
        db.set(argv[1].clone(), value);
    }
    if let Some(at) = at_ms {
        db.set_expire(&argv[1], at);
    }
    match (expire, at_ms) {
        (Some((kind, _)), Some(at)) if kind != Expire::PxAt => ctx.propagate(vec![
            b"SET".to_vec(),
            argv[1].clone(),
            argv[2].clone(),
            b"PXAT".to_vec(),
            at.to_string().into_bytes(),
        ]),
        _ => {
            let mut out = argv.to_vec();
            if let Some(g) = get_at {
                out.remove(g);
            }
            ctx.propagate(out);
        }
    }
    Some(if get { old_reply() } else { Frame::ok() })
}

pub(super) fn incr(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let current = match lookup_key(node, ctx, &argv[1]) {
        Some(Value::Str(s)) => match parse_i64(&s) {
            Some(n) => n,
            None => return Some(not_an_integer()),
        },
        Some(_) => return Some(wrong_type()),
        None => 0,
    };
    let Some(next) = current.checked_add(1) else {
        return Some(Frame::error("ERR increment or decrement would overflow"));
    };
    node.keyspace.db_mut(ctx.db).set_keep_ttl(argv[1].clone(), Value::Str(next.to_string().into_bytes()));
    ctx.propagate(argv.to_vec());
    Some(Frame::Integer(next))
}
