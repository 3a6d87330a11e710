//! Generic key commands, whatever the type of the value: DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN,
//! RENAME, RENAMENX, RANDOMKEY, DBSIZE, FLUSHDB, FLUSHALL, SELECT, SWAPDB, MOVE, COPY. They are
//! where a learner sees databases, expiry on access and what a rename or move replicates as;
//! the EXPIRE/TTL family lives in [`super::expire`].

use rand_core::Rng;

use super::{flags, not_an_integer, parse_i64, string_match, syntax_error, Command, Ctx, Reply};
use crate::keyspace::DATABASES;
use crate::node::Node;
use crate::resp::Frame;

/// Generic key commands.
pub(super) const COMMANDS: &[Command] = &[
    Command { name: "del", arity: -2, flags: flags::WRITE, handler: del },
    Command { name: "unlink", arity: -2, flags: flags::WRITE, handler: del },
    Command { name: "exists", arity: -2, flags: 0, handler: exists },
    Command { name: "type", arity: 2, flags: 0, handler: type_cmd },
    Command { name: "keys", arity: 2, flags: 0, handler: keys },
    Command { name: "scan", arity: -2, flags: 0, handler: scan },
    Command { name: "rename", arity: 3, flags: flags::WRITE, handler: rename },
    Command { name: "renamenx", arity: 3, flags: flags::WRITE, handler: renamenx },
    Command { name: "randomkey", arity: 1, flags: 0, handler: randomkey },
    Command { name: "dbsize", arity: 1, flags: 0, handler: dbsize },
    Command { name: "flushdb", arity: -1, flags: flags::WRITE, handler: flushdb },
    Command { name: "flushall", arity: -1, flags: flags::WRITE, handler: flushall },
    Command { name: "select", arity: 2, flags: flags::STALE, handler: select },
    Command { name: "swapdb", arity: 3, flags: flags::WRITE, handler: swapdb },
    Command { name: "move", arity: 3, flags: flags::WRITE, handler: move_cmd },
    Command { name: "copy", arity: -3, flags: flags::WRITE, handler: copy },
];

/// True if `key` exists for this caller. A logically expired key is deleted on a master (the
/// DEL propagates) and hidden on a replica, except from our master's own commands; that is
/// Redis's `lookupKey` without copying the value.
pub(super) fn key_live(node: &mut Node, ctx: &Ctx, key: &[u8]) -> bool {
    let now = node.unix_ms();
    let db = node.keyspace.db(ctx.db);
    if db.get_raw(key).is_none() {
        return false;
    }
    if db.is_expired(key, now) {
        if node.master.is_some() {
            return ctx.from_master;
        }
        node.expire_key(ctx.db, key);
        return false;
    }
    true
}

/// The part of an argument C code sees as a string: everything before the first NUL byte.
pub(super) fn cstr(a: &[u8]) -> &[u8] {
    &a[..a.iter().position(|&b| b == 0).unwrap_or(a.len())]
}

/// Redis's `getIntFromObjectOrReply`: `msg` replaces both errors when given, as SWAPDB does.
pub(super) fn get_int(arg: &[u8], msg: Option<&str>) -> Result<i64, Frame> {
    let Some(v) = parse_i64(arg) else {
        return Err(msg.map_or_else(not_an_integer, |m| Frame::error(format!("ERR {m}"))));
    };
    if v < i32::MIN as i64 || v > i32::MAX as i64 {
        return Err(msg.map_or_else(
            || Frame::error("ERR value is out of range, value must between -2147483648 and 2147483647"),
            |m| Frame::error(format!("ERR {m}")),
        ));
    }
    Ok(v)
}

fn db_index(arg: &[u8]) -> Result<usize, Frame> {
    let i = get_int(arg, None)?;
    if !(0..DATABASES as i64).contains(&i) {
        return Err(Frame::error("ERR DB index is out of range"));
    }
    Ok(i as usize)
}

/// DEL and UNLINK (the lab frees memory at once either way). A replica deletes even a key that
/// is logically expired, as Redis's `delGenericCommand` does after `expireIfNeeded`.
pub(super) fn del(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let mut n = 0;
    for key in &argv[1..] {
        key_live(node, ctx, key);
        if node.keyspace.db_mut(ctx.db).remove(key) {
            n += 1;
        }
    }
    if n > 0 {
        ctx.propagate(argv.to_vec());
    }
    Some(Frame::Integer(n))
}

pub(super) fn exists(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let n = argv[1..].iter().filter(|k| key_live(node, ctx, k)).count();
    Some(Frame::Integer(n as i64))
}

fn type_cmd(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let name = if key_live(node, ctx, &argv[1]) {
        node.keyspace.db(ctx.db).get_raw(&argv[1]).map_or("none", |v| v.type_name())
    } else {
        "none"
    };
    Some(Frame::Simple(name.into()))
}

/// True if the key is past its expiry time for this caller, without deleting it (Redis's
/// `keyIsExpired`, as KEYS uses it).
fn expired_for(node: &Node, ctx: &Ctx, key: &[u8]) -> bool {
    let expired = node.keyspace.db(ctx.db).is_expired(key, node.unix_ms());
    expired && !(ctx.from_master && node.master.is_some())
}

/// KEYS: every matching key that is not logically expired. Redis answers in hash-table order;
/// the lab answers sorted. Expired keys are skipped, not deleted.
fn keys(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let pattern = &argv[1];
    let all = pattern.as_slice() == b"*";
    let out = node
        .keyspace
        .db(ctx.db)
        .keys_sorted()
        .into_iter()
        .filter(|k| all || string_match(pattern, k, false))
        .filter(|k| !expired_for(node, ctx, k))
        .map(Frame::Bulk)
        .collect();
    Some(Frame::Array(out))
}

/// A fixed 64-bit hash that orders keys for SCAN (FNV-1a, then a splitmix64 finaliser).
fn scan_hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Redis's `parseScanCursorOrReply`: `strtoul` in base 10 over the C string, which takes a sign,
/// wraps negative numbers and refuses a leading space, trailing text or overflow.
fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let s = cstr(arg);
    if s.is_empty() {
        return Some(0);
    }
    if matches!(s[0], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        return None;
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]. The cursor is a position in a fixed hash
/// order of the keys, so every key present for the whole iteration is returned, as Redis
/// guarantees; a db with no more than COUNT keys comes back whole with cursor 0, as Redis's does.
fn scan(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let Some(cursor) = parse_cursor(&argv[1]) else {
        return Some(Frame::error("ERR invalid cursor"));
    };
    let (mut count, mut pattern, mut type_name): (i64, Option<&[u8]>, Option<&[u8]>) = (10, None, None);
    let mut i = 2;
    while i < argv.len() {
        let opt = cstr(&argv[i]);
        let more = argv.len() - i >= 2;
        if opt.eq_ignore_ascii_case(b"count") && more {
            let Some(n) = parse_i64(&argv[i + 1]) else {
                return Some(not_an_integer());
            };
            if n < 1 {
                return Some(syntax_error());
            }
            count = n;
        } else if opt.eq_ignore_ascii_case(b"match") && more {
            pattern = Some(&argv[i + 1]).filter(|p| p.as_slice() != b"*").map(|p| p.as_slice());
        } else if opt.eq_ignore_ascii_case(b"type") && more {
            type_name = Some(cstr(&argv[i + 1]));
        } else {
            return Some(syntax_error());
        }
        i += 2;
    }
    let mut ordered: Vec<(u64, Vec<u8>)> = node
        .keyspace
        .db(ctx.db)
        .keys_sorted()
        .into_iter()
        .map(|k| (scan_hash(&k), k))
        .filter(|(h, _)| *h >= cursor)
        .collect();
    ordered.sort();
    let mut end = (count as usize).min(ordered.len());
    while end > 0 && end < ordered.len() && ordered[end].0 == ordered[end - 1].0 {
        end += 1;
    }
    let next = match (end < ordered.len(), end.checked_sub(1).map(|e| ordered[e].0)) {
        (true, Some(last)) => last.wrapping_add(1),
        _ => 0,
    };
    let mut out = Vec::new();
    for (_, key) in ordered.into_iter().take(end) {
        if pattern.is_some_and(|p| !string_match(p, &key, false)) {
            continue;
        }
        if !key_live(node, ctx, &key) {
            continue;
        }
        if let Some(t) = type_name {
            let actual = node.keyspace.db(ctx.db).get_raw(&key).map_or("none", |v| v.type_name());
            if !t.eq_ignore_ascii_case(actual.as_bytes()) {
                continue;
            }
        }
        out.push(Frame::Bulk(key));
    }
    Some(Frame::Array(vec![Frame::Bulk(next.to_string().into_bytes()), Frame::Array(out)]))
}

fn rename(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    rename_generic(node, ctx, argv, false)
}

fn renamenx(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    rename_generic(node, ctx, argv, true)
}

/// RENAME and RENAMENX: the value moves with its expiry time; renaming a key onto itself
/// changes nothing and propagates nothing.
fn rename_generic(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>], nx: bool) -> Reply {
    let (src, dst) = (&argv[1], &argv[2]);
    if !key_live(node, ctx, src) {
        return Some(Frame::error("ERR no such key"));
    }
    if src == dst {
        return Some(if nx { Frame::Integer(0) } else { Frame::ok() });
    }
    let db = node.keyspace.db(ctx.db);
    let (Some(value), expire) = (db.get_raw(src).cloned(), db.expire_at(src)) else {
        return Some(Frame::error("ERR no such key"));
    };
    if key_live(node, ctx, dst) && nx {
        return Some(Frame::Integer(0));
    }
    let db = node.keyspace.db_mut(ctx.db);
    db.set(dst.clone(), value);
    if let Some(at) = expire {
        db.set_expire(dst, at);
    }
    db.remove(src);
    ctx.propagate(argv.to_vec());
    Some(if nx { Frame::Integer(1) } else { Frame::ok() })
}

/// RANDOMKEY as Redis's `dbRandomKey`: a master deletes the expired keys it draws and draws
/// again; a replica skips them, and when every key has a TTL gives up after 100 draws and
/// returns the last one even if expired.
fn randomkey(node: &mut Node, ctx: &mut Ctx, _: &[Vec<u8>]) -> Reply {
    let db = node.keyspace.db(ctx.db);
    let all_volatile = db.len() == db.expires_len();
    let mut tries = 100;
    loop {
        let keys = node.keyspace.db(ctx.db).keys_sorted();
        if keys.is_empty() {
            return Some(Frame::Null);
        }
        let key = keys[(node.rng.next_u64() % keys.len() as u64) as usize].clone();
        if node.keyspace.db(ctx.db).expire_at(&key).is_some() {
            if all_volatile && node.master.is_some() {
                tries -= 1;
                if tries == 0 {
                    return Some(Frame::Bulk(key));
                }
            }
            if !key_live(node, ctx, &key) {
                continue;
            }
        }
        return Some(Frame::Bulk(key));
    }
}

pub(super) fn dbsize(node: &mut Node, ctx: &mut Ctx, _: &[Vec<u8>]) -> Reply {
    Some(Frame::Integer(node.keyspace.db(ctx.db).len() as i64))
}

/// FLUSHDB/FLUSHALL take an optional ASYNC or SYNC; both are always propagated.
fn flush_args_ok(argv: &[Vec<u8>]) -> bool {
    match argv.len() {
        1 => true,
        2 => cstr(&argv[1]).eq_ignore_ascii_case(b"sync") || cstr(&argv[1]).eq_ignore_ascii_case(b"async"),
        _ => false,
    }
}

fn flushdb(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    if !flush_args_ok(argv) {
        return Some(syntax_error());
    }
    node.keyspace.flush_db(ctx.db);
    ctx.propagate(argv.to_vec());
    Some(Frame::ok())
}

pub(super) fn flushall(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    if !flush_args_ok(argv) {
        return Some(syntax_error());
    }
    node.keyspace.flush_all();
    ctx.propagate(argv.to_vec());
    Some(Frame::ok())
}

pub(super) fn select(_: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    match db_index(&argv[1]) {
        Ok(i) => {
            ctx.db = i;
            Some(Frame::ok())
        }
        Err(e) => Some(e),
    }
}

fn swapdb(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let a = match get_int(&argv[1], Some("invalid first DB index")) {
        Ok(a) => a,
        Err(e) => return Some(e),
    };
    let b = match get_int(&argv[2], Some("invalid second DB index")) {
        Ok(b) => b,
        Err(e) => return Some(e),
    };
    let range = 0..DATABASES as i64;
    if !range.contains(&a) || !range.contains(&b) {
        return Some(Frame::error("ERR DB index is out of range"));
    }
    node.keyspace.swap(a as usize, b as usize);
    ctx.propagate(argv.to_vec());
    Some(Frame::ok())
}

fn move_cmd(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let dst = match db_index(&argv[2]) {
        Ok(d) => d,
        Err(e) => return Some(e),
    };
    if dst == ctx.db {
        return Some(Frame::error("ERR source and destination objects are the same"));
    }
    let key = &argv[1];
    if !key_live(node, ctx, key) {
        return Some(Frame::Integer(0));
    }
    let src = node.keyspace.db(ctx.db);
    let (Some(value), expire) = (src.get_raw(key).cloned(), src.expire_at(key)) else {
        return Some(Frame::Integer(0));
    };
    let dst_ctx = Ctx::new(ctx.conn, dst, ctx.from_master);
    if key_live(node, &dst_ctx, key) {
        return Some(Frame::Integer(0));
    }
    let db = node.keyspace.db_mut(dst);
    db.set(key.clone(), value);
    if let Some(at) = expire {
        db.set_expire(key, at);
    }
    node.keyspace.db_mut(ctx.db).remove(key);
    ctx.propagate(argv.to_vec());
    Some(Frame::Integer(1))
}

/// COPY source destination [DB n] [REPLACE]: the copy keeps the source's expiry time.
fn copy(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let (mut dst, mut replace) = (ctx.db, false);
    let mut j = 3;
    while j < argv.len() {
        let opt = cstr(&argv[j]);
        if opt.eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if opt.eq_ignore_ascii_case(b"db") && j + 1 < argv.len() {
            let id = match get_int(&argv[j + 1], None) {
                Ok(id) => id,
                Err(e) => return Some(e),
            };
            if !(0..DATABASES as i64).contains(&id) {
                return Some(Frame::error("ERR DB index is out of range"));
            }
            dst = id as usize;
            j += 1;
        } else {
            return Some(syntax_error());
        }
        j += 1;
    }
    let (key, newkey) = (&argv[1], &argv[2]);
    if dst == ctx.db && key == newkey {
        return Some(Frame::error("ERR source and destination objects are the same"));
    }
    if !key_live(node, ctx, key) {
        return Some(Frame::Integer(0));
    }
    let src = node.keyspace.db(ctx.db);
    let (Some(value), expire) = (src.get_raw(key).cloned(), src.expire_at(key)) else {
        return Some(Frame::Integer(0));
    };
    let dst_ctx = Ctx::new(ctx.conn, dst, ctx.from_master);
    if key_live(node, &dst_ctx, newkey) && !replace {
        return Some(Frame::Integer(0));
    }
    let db = node.keyspace.db_mut(dst);
    db.set(newkey.clone(), value);
    if let Some(at) = expire {
        db.set_expire(newkey, at);
    }
    ctx.propagate(argv.to_vec());
    Some(Frame::Integer(1))
}
