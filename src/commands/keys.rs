//! Generic key commands, whatever the type of the value: DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN,
//! RENAME, RENAMENX, RANDOMKEY, DBSIZE, FLUSHDB, FLUSHALL, SELECT, SWAPDB, MOVE, COPY. They are
//! where a learner sees databases, expiry on access and what a rename or move replicates as;
//! the EXPIRE/TTL family lives in [`super::expire`].

use rand_core::Rng;

use super::{flags, not_an_integer, parse_i64, string_match, syntax_error, Answer, Command, Ctx, Data, DataFn};
use crate::keyspace::DATABASES;
use crate::resp::Frame;

/// Generic key commands.
pub(super) const COMMANDS: &[Command<DataFn>] = &[
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

/// True if `key` exists in the caller's db for this caller; see [`key_live_in`].
pub(super) fn key_live(data: &mut Data<'_>, ctx: &mut Ctx, key: &[u8]) -> bool {
    key_live_in(data, ctx, ctx.db, key)
}

/// True if `key` exists in database `db` for this caller (Redis's `lookupKey` without copying
/// the value). A logically expired key is hidden on a replica, except from our master's own
/// commands; a master deletes it and queues `DEL key` with the command's own propagation, so
/// that, as in Redis 7.0, a command that expired a key and wrote is wrapped in MULTI/EXEC with
/// the DEL first.
pub(super) fn key_live_in(data: &mut Data<'_>, ctx: &mut Ctx, db: usize, key: &[u8]) -> bool {
    let now = data.unix_ms();
    let d = data.keyspace.db(db);
    if d.get_raw(key).is_none() {
        return false;
    }
    if !d.is_expired(key, now) {
        return true;
    }
    if data.is_replica() {
        return ctx.from_master;
    }
    if data.keyspace.db_mut(db).remove(key) {
        *data.expired_keys += 1;
        let own = ctx.db;
        ctx.db = db;
        ctx.propagate(vec![b"DEL".to_vec(), key.to_vec()]);
        ctx.db = own;
    }
    false
}

/// As [`key_live`], for the commands Redis flags as touching arbitrary keys (SCAN, RANDOMKEY):
/// their expiry DELs are fed one by one, never wrapped in MULTI/EXEC.
fn key_live_unwrapped(data: &mut Data<'_>, ctx: &Ctx, key: &[u8]) -> bool {
    let now = data.unix_ms();
    let d = data.keyspace.db(ctx.db);
    if d.get_raw(key).is_none() {
        return false;
    }
    if !d.is_expired(key, now) {
        return true;
    }
    if data.is_replica() {
        return ctx.from_master;
    }
    data.expire_key(ctx.db, key);
    false
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
pub(super) fn del(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let mut n = 0;
    for key in &argv[1..] {
        key_live(data, ctx, key);
        if data.keyspace.db_mut(ctx.db).remove(key) {
            n += 1;
        }
    }
    if n > 0 {
        ctx.propagate(argv.to_vec());
    }
    Ok(Frame::Integer(n))
}

pub(super) fn exists(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let mut n = 0;
    for key in &argv[1..] {
        if key_live(data, ctx, key) {
            n += 1;
        }
    }
    Ok(Frame::Integer(n))
}

fn type_cmd(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let name = if key_live(data, ctx, &argv[1]) {
        data.keyspace.db(ctx.db).get_raw(&argv[1]).map_or("none", |v| v.type_name())
    } else {
        "none"
    };
    Ok(Frame::Simple(name.into()))
}

/// True if the key is past its expiry time for this caller, without deleting it (Redis's
/// `keyIsExpired`, as KEYS uses it).
fn expired_for(data: &Data<'_>, ctx: &Ctx, key: &[u8]) -> bool {
    let expired = data.keyspace.db(ctx.db).is_expired(key, data.unix_ms());
    expired && !(ctx.from_master && data.is_replica())
}

/// KEYS: every matching key that is not logically expired. Redis answers in hash-table order;
/// the lab answers sorted. Expired keys are skipped, not deleted.
fn keys(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let pattern = &argv[1];
    let all = pattern.as_slice() == b"*";
    let out = data
        .keyspace
        .db(ctx.db)
        .keys_sorted()
        .into_iter()
        .filter(|k| all || string_match(pattern, k, false))
        .filter(|k| !expired_for(data, ctx, k))
        .map(Frame::Bulk)
        .collect();
    Ok(Frame::Array(out))
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
fn scan(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let Some(cursor) = parse_cursor(&argv[1]) else {
        return Err(Frame::error("ERR invalid cursor"));
    };
    let (mut count, mut pattern, mut type_name): (i64, Option<&[u8]>, Option<&[u8]>) = (10, None, None);
    let mut i = 2;
    while i < argv.len() {
        let opt = cstr(&argv[i]);
        let more = argv.len() - i >= 2;
        if opt.eq_ignore_ascii_case(b"count") && more {
            let Some(n) = parse_i64(&argv[i + 1]) else {
                return Err(not_an_integer());
            };
            if n < 1 {
                return Err(syntax_error());
            }
            count = n;
        } else if opt.eq_ignore_ascii_case(b"match") && more {
            pattern = Some(&argv[i + 1]).filter(|p| p.as_slice() != b"*").map(|p| p.as_slice());
        } else if opt.eq_ignore_ascii_case(b"type") && more {
            type_name = Some(cstr(&argv[i + 1]));
        } else {
            return Err(syntax_error());
        }
        i += 2;
    }
    let mut ordered: Vec<(u64, Vec<u8>)> = data
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
        if !key_live_unwrapped(data, ctx, &key) {
            continue;
        }
        if let Some(t) = type_name {
            let actual = data.keyspace.db(ctx.db).get_raw(&key).map_or("none", |v| v.type_name());
            if !t.eq_ignore_ascii_case(actual.as_bytes()) {
                continue;
            }
        }
        out.push(Frame::Bulk(key));
    }
    Ok(Frame::Array(vec![Frame::Bulk(next.to_string().into_bytes()), Frame::Array(out)]))
}

fn rename(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    rename_generic(data, ctx, argv, false)
}

fn renamenx(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    rename_generic(data, ctx, argv, true)
}

/// RENAME and RENAMENX: the value moves with its expiry time; renaming a key onto itself
/// changes nothing and propagates nothing.
fn rename_generic(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>], nx: bool) -> Answer {
    let (src, dst) = (&argv[1], &argv[2]);
    if !key_live(data, ctx, src) {
        return Err(Frame::error("ERR no such key"));
    }
    if src == dst {
        return Ok(if nx { Frame::Integer(0) } else { Frame::ok() });
    }
    let db = data.keyspace.db(ctx.db);
    let (Some(value), expire) = (db.get_raw(src).cloned(), db.expire_at(src)) else {
        return Err(Frame::error("ERR no such key"));
    };
    if key_live(data, ctx, dst) && nx {
        return Ok(Frame::Integer(0));
    }
    let db = data.keyspace.db_mut(ctx.db);
    db.set(dst.clone(), value);
    if let Some(at) = expire {
        db.set_expire(dst, at);
    }
    db.remove(src);
    ctx.propagate(argv.to_vec());
    Ok(if nx { Frame::Integer(1) } else { Frame::ok() })
}

/// RANDOMKEY as Redis's `dbRandomKey`: a master deletes the expired keys it draws and draws
/// again; a replica skips them, and when every key has a TTL gives up after 100 draws and
/// returns the last one even if expired.
fn randomkey(data: &mut Data<'_>, ctx: &mut Ctx, _: &[Vec<u8>]) -> Answer {
    let db = data.keyspace.db(ctx.db);
    let all_volatile = db.len() == db.expires_len();
    let mut tries = 100;
    loop {
        let keys = data.keyspace.db(ctx.db).keys_sorted();
        if keys.is_empty() {
            return Ok(Frame::Null);
        }
        let key = keys[(data.rng.next_u64() % keys.len() as u64) as usize].clone();
        if data.keyspace.db(ctx.db).expire_at(&key).is_some() {
            if all_volatile && data.is_replica() {
                tries -= 1;
                if tries == 0 {
                    return Ok(Frame::Bulk(key));
                }
            }
            if !key_live_unwrapped(data, ctx, &key) {
                continue;
            }
        }
        return Ok(Frame::Bulk(key));
    }
}

pub(super) fn dbsize(data: &mut Data<'_>, ctx: &mut Ctx, _: &[Vec<u8>]) -> Answer {
    Ok(Frame::Integer(data.keyspace.db(ctx.db).len() as i64))
}

/// FLUSHDB/FLUSHALL take an optional ASYNC or SYNC; both are always propagated.
fn flush_args_ok(argv: &[Vec<u8>]) -> bool {
    match argv.len() {
        1 => true,
        2 => cstr(&argv[1]).eq_ignore_ascii_case(b"sync") || cstr(&argv[1]).eq_ignore_ascii_case(b"async"),
        _ => false,
    }
}

fn flushdb(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    if !flush_args_ok(argv) {
        return Err(syntax_error());
    }
    data.keyspace.flush_db(ctx.db);
    ctx.propagate(argv.to_vec());
    Ok(Frame::ok())
}

pub(super) fn flushall(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    if !flush_args_ok(argv) {
        return Err(syntax_error());
    }
    data.keyspace.flush_all();
    ctx.propagate(argv.to_vec());
    Ok(Frame::ok())
}

pub(super) fn select(_: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    ctx.db = db_index(&argv[1])?;
    Ok(Frame::ok())
}

fn swapdb(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let a = get_int(&argv[1], Some("invalid first DB index"))?;
    let b = get_int(&argv[2], Some("invalid second DB index"))?;
    let range = 0..DATABASES as i64;
    if !range.contains(&a) || !range.contains(&b) {
        return Err(Frame::error("ERR DB index is out of range"));
    }
    data.keyspace.swap(a as usize, b as usize);
    ctx.propagate(argv.to_vec());
    Ok(Frame::ok())
}

fn move_cmd(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let dst = db_index(&argv[2])?;
    if dst == ctx.db {
        return Err(Frame::error("ERR source and destination objects are the same"));
    }
    let key = &argv[1];
    if !key_live(data, ctx, key) {
        return Ok(Frame::Integer(0));
    }
    let src = data.keyspace.db(ctx.db);
    let (Some(value), expire) = (src.get_raw(key).cloned(), src.expire_at(key)) else {
        return Ok(Frame::Integer(0));
    };
    if key_live_in(data, ctx, dst, key) {
        return Ok(Frame::Integer(0));
    }
    let db = data.keyspace.db_mut(dst);
    db.set(key.clone(), value);
    if let Some(at) = expire {
        db.set_expire(key, at);
    }
    data.keyspace.db_mut(ctx.db).remove(key);
    ctx.propagate(argv.to_vec());
    Ok(Frame::Integer(1))
}

/// COPY source destination [DB n] [REPLACE]: the copy keeps the source's expiry time.
fn copy(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let (mut dst, mut replace) = (ctx.db, false);
    let mut j = 3;
    while j < argv.len() {
        let opt = cstr(&argv[j]);
        if opt.eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if opt.eq_ignore_ascii_case(b"db") && j + 1 < argv.len() {
            let id = get_int(&argv[j + 1], None)?;
            if !(0..DATABASES as i64).contains(&id) {
                return Err(Frame::error("ERR DB index is out of range"));
            }
            dst = id as usize;
            j += 1;
        } else {
            return Err(syntax_error());
        }
        j += 1;
    }
    let (key, newkey) = (&argv[1], &argv[2]);
    if dst == ctx.db && key == newkey {
        return Err(Frame::error("ERR source and destination objects are the same"));
    }
    if !key_live(data, ctx, key) {
        return Ok(Frame::Integer(0));
    }
    let src = data.keyspace.db(ctx.db);
    let (Some(value), expire) = (src.get_raw(key).cloned(), src.expire_at(key)) else {
        return Ok(Frame::Integer(0));
    };
    if key_live_in(data, ctx, dst, newkey) && !replace {
        return Ok(Frame::Integer(0));
    }
    let db = data.keyspace.db_mut(dst);
    db.set(newkey.clone(), value);
    if let Some(at) = expire {
        db.set_expire(newkey, at);
    }
    ctx.propagate(argv.to_vec());
    Ok(Frame::Integer(1))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::node::commands::testutil::{streaming_pair, world};

    use crate::resp::encode_command;
    use crate::sim::World;

    /// The master→replica stream from its SELECT on, as commands split on spaces.
    fn stream_after_select(w: &World) -> String {
        let t = String::from_utf8_lossy(w.transcript(0, 1)).into_owned();
        t[t.find("*2\r\n$6\r\nSELECT").unwrap_or(0)..].to_string()
    }

    fn encoded(lines: &[&str]) -> String {
        let bytes: Vec<u8> = lines.iter().flat_map(|l| encode_command(&l.split(' ').collect::<Vec<_>>())).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn rename_copy_move_as_redis() {
        let mut w = world();
        // Replies checked against redis-server 7.0.15.
        assert_eq!(w.console(0, "RENAME nokey nokey"), "(error) ERR no such key");
        assert_eq!(w.console(0, "RENAMENX nokey x"), "(error) ERR no such key");
        w.console(0, "SET a 1");
        assert_eq!(w.console(0, "RENAME a a"), "OK");
        assert_eq!(w.console(0, "RENAMENX a a"), "(integer) 0");
        w.console(0, "SET b 2");
        assert_eq!(w.console(0, "RENAMENX a b"), "(integer) 0");
        w.console(0, "EXPIRE a 100");
        assert_eq!(w.console(0, "RENAME a b"), "OK");
        assert_eq!(w.console(0, "TTL b"), "(integer) 100");
        assert_eq!(w.console(0, "MOVE b 0"), "(error) ERR source and destination objects are the same");
        assert_eq!(w.console(0, "MOVE b x"), "(error) ERR value is not an integer or out of range");
        assert_eq!(w.console(0, "MOVE b 16"), "(error) ERR DB index is out of range");
        assert_eq!(
            w.console(0, "MOVE b 99999999999"),
            "(error) ERR value is out of range, value must between -2147483648 and 2147483647"
        );
        assert_eq!(w.console(0, "MOVE nokey 1"), "(integer) 0");
        assert_eq!(w.console(0, "COPY b b"), "(error) ERR source and destination objects are the same");
        assert_eq!(w.console(0, "COPY b c db"), "(error) ERR syntax error");
        assert_eq!(w.console(0, "COPY b c db x"), "(error) ERR value is not an integer or out of range");
        assert_eq!(w.console(0, "COPY b c DB 1"), "(integer) 1");
        assert_eq!(w.console(0, "COPY b c DB 1"), "(integer) 0");
        assert_eq!(w.console(0, "COPY b c DB 1 REPLACE"), "(integer) 1");
        assert_eq!(w.console(0, "MOVE b 1"), "(integer) 1");
        assert_eq!(w.console(0, "SELECT 1"), "OK");
        assert_eq!(w.console(0, "KEYS *"), "1) \"b\"\n2) \"c\"");
        assert_eq!(w.console(0, "TTL c"), "(integer) 100");
        assert_eq!(w.console(0, "TYPE c"), "string");
        assert_eq!(w.console(0, "TYPE nokey"), "none");
        assert_eq!(w.console(0, "SELECT 01"), "(error) ERR value is not an integer or out of range");
        assert_eq!(w.console(0, "SELECT 16"), "(error) ERR DB index is out of range");
    }

    #[test]
    fn swapdb_flushdb_and_errors() {
        let mut w = world();
        w.console(0, "SET a 1");
        assert_eq!(w.console(0, "SWAPDB x 0"), "(error) ERR invalid first DB index");
        assert_eq!(w.console(0, "SWAPDB 0 x"), "(error) ERR invalid second DB index");
        assert_eq!(w.console(0, "SWAPDB 99999999999 1"), "(error) ERR invalid first DB index");
        assert_eq!(w.console(0, "SWAPDB 0 16"), "(error) ERR DB index is out of range");
        assert_eq!(w.console(0, "SWAPDB 0 1"), "OK");
        assert_eq!(w.console(0, "DBSIZE"), "(integer) 0");
        w.console(0, "SELECT 1");
        assert_eq!(w.console(0, "GET a"), "\"1\"");
        assert_eq!(w.console(0, "FLUSHDB x"), "(error) ERR syntax error");
        assert_eq!(w.console(0, "FLUSHDB ASYNC"), "OK");
        assert_eq!(w.console(0, "DBSIZE"), "(integer) 0");
        assert_eq!(w.console(0, "RANDOMKEY"), "(nil)");
    }

    #[test]
    fn keys_and_scan() {
        let mut w = world();
        w.console(0, "MSET a 1 b 2 c 3 ab 4");
        w.console(0, "LPUSH l x");
        assert_eq!(w.console(0, "KEYS [^a]"), "1) \"b\"\n2) \"c\"\n3) \"l\"");
        assert_eq!(w.console(0, "KEYS [c-a]"), "1) \"a\"\n2) \"b\"\n3) \"c\"");
        assert_eq!(w.console(0, "KEYS a?"), "1) \"ab\"");
        assert_eq!(w.console(0, "KEYS [a"), "1) \"a\"");
        assert_eq!(w.console(0, "SCAN \" 0\""), "(error) ERR invalid cursor");
        assert_eq!(w.console(0, "SCAN 18446744073709551616"), "(error) ERR invalid cursor");
        assert_eq!(w.console(0, "SCAN 0 COUNT 0"), "(error) ERR syntax error");
        assert_eq!(w.console(0, "SCAN 0 COUNT x"), "(error) ERR value is not an integer or out of range");
        assert_eq!(w.console(0, "SCAN 0 MATCH"), "(error) ERR syntax error");
        assert_eq!(w.console(0, "SCAN 0 TYPE List"), "1) \"0\"\n2) 1) \"l\"");
        assert_eq!(w.console(0, "SCAN 0 TYPE foo"), "1) \"0\"\n2) (empty array)");
        // A small db comes back whole with cursor 0, as from Redis.
        assert!(w.console(0, "SCAN 0").starts_with("1) \"0\""));
        // Paging visits every key exactly once.
        for i in 0..60 {
            w.console(0, &format!("SET k{i} v"));
        }
        let mut seen = Vec::new();
        let mut cursor = "0".to_string();
        for _ in 0..100 {
            let reply = w.console(0, &format!("SCAN {cursor} MATCH k* COUNT 7"));
            let mut lines = reply.lines();
            let first = lines.next().unwrap_or_default();
            cursor = first.trim_start_matches("1) ").trim_matches('"').to_string();
            for l in lines {
                if let Some(k) = l.split('"').nth(1) {
                    seen.push(k.to_string());
                }
            }
            if cursor == "0" {
                break;
            }
        }
        seen.sort();
        let mut all: Vec<String> = (0..60).map(|i| format!("k{i}")).collect();
        all.sort();
        assert_eq!(seen, all);
    }

    #[test]
    fn lazy_expiry_is_wrapped_with_the_write_scan_is_not() {
        let mut w = streaming_pair(1);
        w.console(0, "DEBUG SET-ACTIVE-EXPIRE 0");
        w.console(0, "SET a 1");
        w.console(0, "SET x 1 PXAT 1");
        w.console(0, "SET y 1 PXAT 1");
        // Replica: a logically expired key is hidden but still counted by DBSIZE.
        w.run_for_ms(500);
        assert_eq!(w.console(1, "EXISTS x"), "(integer) 0");
        assert_eq!(w.console(1, "DBSIZE"), "(integer) 3");
        assert_eq!(w.console(1, "KEYS *"), "1) \"a\"");
        // Redis 7.0.15 sends MULTI, DEL x, rename a x, EXEC; SCAN's DELs go alone.
        assert_eq!(w.console(0, "RENAME a x"), "OK");
        assert_eq!(w.console(0, "SCAN 0"), "1) \"0\"\n2) 1) \"x\"");
        w.run_for_ms(1_000);
        let expected = encoded(&[
            "SELECT 0",
            "SET a 1",
            "SET x 1 PXAT 1",
            "SET y 1 PXAT 1",
            "MULTI",
            "DEL x",
            "RENAME a x",
            "EXEC",
            "DEL y",
        ]);
        assert_eq!(stream_after_select(&w), expected);
        assert_eq!(w.node(0).digest(), w.node(1).digest());
    }
}
