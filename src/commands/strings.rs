//! String commands: GET, SET (every option), GETSET, GETDEL, GETEX, MSET, MSETNX, MGET, SETNX,
//! SETEX, PSETEX, INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT, APPEND, STRLEN, GETRANGE, SUBSTR,
//! SETRANGE. Most of what replication rewrites lives here: relative expiries become
//! `SET key value PXAT <abs ms>` or `PEXPIREAT`, GETSET a SET, GETDEL a DEL, INCRBYFLOAT a
//! `SET key <result> KEEPTTL`, so replicas never recompute time or floating point.

use super::expire::already_expired;
use super::keys::{cstr, key_live};
use super::long_double::{self, LongDouble};
use super::{
    flags, not_an_integer, parse_i64, syntax_error, wrong_arity, wrong_type, Answer, Command, Ctx, Data, DataFn,
};
use crate::keyspace::Value;
use crate::resp::Frame;

/// String commands.
pub(super) const COMMANDS: &[Command<DataFn>] = &[
    Command { name: "get", arity: 2, flags: 0, handler: get },
    Command { name: "set", arity: -3, flags: flags::WRITE, handler: set },
    Command { name: "getset", arity: 3, flags: flags::WRITE, handler: getset },
    Command { name: "getdel", arity: 2, flags: flags::WRITE, handler: getdel },
    Command { name: "getex", arity: -2, flags: flags::WRITE, handler: getex },
    Command { name: "mset", arity: -3, flags: flags::WRITE, handler: mset },
    Command { name: "msetnx", arity: -3, flags: flags::WRITE, handler: msetnx },
    Command { name: "mget", arity: -2, flags: 0, handler: mget },
    Command { name: "setnx", arity: 3, flags: flags::WRITE, handler: setnx },
    Command { name: "setex", arity: 4, flags: flags::WRITE, handler: setex },
    Command { name: "psetex", arity: 4, flags: flags::WRITE, handler: psetex },
    Command { name: "incr", arity: 2, flags: flags::WRITE, handler: incr },
    Command { name: "decr", arity: 2, flags: flags::WRITE, handler: decr },
    Command { name: "incrby", arity: 3, flags: flags::WRITE, handler: incrby },
    Command { name: "decrby", arity: 3, flags: flags::WRITE, handler: decrby },
    Command { name: "incrbyfloat", arity: 3, flags: flags::WRITE, handler: incrbyfloat },
    Command { name: "append", arity: 3, flags: flags::WRITE, handler: append },
    Command { name: "strlen", arity: 2, flags: 0, handler: strlen },
    Command { name: "getrange", arity: 4, flags: 0, handler: getrange },
    Command { name: "substr", arity: 4, flags: 0, handler: getrange },
    Command { name: "setrange", arity: 4, flags: flags::WRITE, handler: setrange },
];

/// Redis's `getGenericCommand`: the string under `key`, `Ok(None)` if missing, or WRONGTYPE.
fn get_string(data: &mut Data<'_>, ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<u8>>, Frame> {
    match lookup(data, ctx, key) {
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(_) => Err(wrong_type()),
        None => Ok(None),
    }
}

/// The value under `key` as this caller sees it (expiring it first if it is due).
fn lookup(data: &mut Data<'_>, ctx: &mut Ctx, key: &[u8]) -> Option<Value> {
    if !key_live(data, ctx, key) {
        return None;
    }
    data.keyspace.db(ctx.db).get_raw(key).cloned()
}

fn bulk_or_null(v: Option<Vec<u8>>) -> Frame {
    v.map_or(Frame::Null, Frame::Bulk)
}

pub(super) fn get(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    get_string(data, ctx, &argv[1]).map(bulk_or_null)
}

/// Which expiry option was given (Redis's OBJ_EX, OBJ_PX, OBJ_EXAT, OBJ_PXAT).
#[derive(Clone, Copy, PartialEq)]
enum Expire {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// What `parseExtendedStringArgumentsOrReply` found.
#[derive(Default)]
struct Options<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<(Expire, &'a [u8])>,
}

/// Redis's `parseExtendedStringArgumentsOrReply` for SET (`for_set`) or GETEX. The same expiry
/// option may be repeated (the last wins), two different ones may not.
fn parse_options(argv: &[Vec<u8>], for_set: bool) -> Result<Options<'_>, Frame> {
    let mut o = Options::default();
    let mut j = if for_set { 3 } else { 2 };
    while j < argv.len() {
        let opt = cstr(&argv[j]).to_ascii_uppercase();
        let next = argv.get(j + 1).map(|v| v.as_slice());
        let kind = o.expire.map(|(k, _)| k);
        let other_expire = |k: Expire| kind.is_some_and(|have| have != k);
        match opt.as_slice() {
            b"NX" if !o.xx && for_set => o.nx = true,
            b"XX" if !o.nx && for_set => o.xx = true,
            b"GET" if for_set => o.get = true,
            b"KEEPTTL" if !o.persist && kind.is_none() && for_set => o.keepttl = true,
            b"PERSIST" if !for_set && kind.is_none() && !o.keepttl => o.persist = true,
            b"EX" | b"PX" | b"EXAT" | b"PXAT" => {
                let k = match opt.as_slice() {
                    b"EX" => Expire::Ex,
                    b"PX" => Expire::Px,
                    b"EXAT" => Expire::ExAt,
                    _ => Expire::PxAt,
                };
                match next {
                    Some(v) if !o.keepttl && !o.persist && !other_expire(k) => o.expire = Some((k, v)),
                    _ => return Err(syntax_error()),
                }
                j += 1;
            }
            _ => return Err(syntax_error()),
        }
        j += 1;
    }
    Ok(o)
}

/// Redis's `getExpireMillisecondsOrReply`: the absolute expiry time in unix ms.
fn expire_ms(data: &Data<'_>, kind: Expire, arg: &[u8], name: &str) -> Result<i64, Frame> {
    let Some(mut ms) = parse_i64(arg) else {
        return Err(not_an_integer());
    };
    let invalid = || Frame::error(format!("ERR invalid expire time in '{name}' command"));
    let seconds = matches!(kind, Expire::Ex | Expire::ExAt);
    if ms <= 0 || (seconds && ms > i64::MAX / 1000) {
        return Err(invalid());
    }
    if seconds {
        ms *= 1000;
    }
    if matches!(kind, Expire::Ex | Expire::Px) {
        ms = ms.wrapping_add(data.unix_ms());
    }
    if ms <= 0 {
        return Err(invalid());
    }
    Ok(ms)
}

/// Redis's `setGenericCommand`, shared by SET, SETNX, SETEX and PSETEX. `ok` and `abort` are
/// the replies for a write and for an NX/XX refusal (without GET).
#[allow(clippy::too_many_arguments)]
fn set_generic(
    data: &mut Data<'_>,
    ctx: &mut Ctx,
    argv: &[Vec<u8>],
    value: &[u8],
    o: &Options<'_>,
    name: &str,
    ok: Frame,
    abort: Frame,
) -> Answer {
    let key = &argv[1];
    let at = match o.expire {
        Some((kind, arg)) => Some(expire_ms(data, kind, arg, name)?),
        None => None,
    };
    let old = if o.get { Some(bulk_or_null(get_string(data, ctx, key)?)) } else { None };
    // Whether the key exists matters to NX and XX only; a key with an expiry is still looked up,
    // since finding it expired deletes it and propagates a DEL first (Redis's lookupKeyWrite).
    let look = o.nx || o.xx || data.keyspace.db(ctx.db).expire_at(key).is_some();
    let found = look && key_live(data, ctx, key);
    if (o.nx && found) || (o.xx && !found) {
        return Ok(old.unwrap_or(abort));
    }
    let db = data.keyspace.db_mut(ctx.db);
    let v = Value::Str(value.to_vec());
    if o.keepttl {
        db.set_keep_ttl(key.clone(), v);
    } else {
        db.set(key.clone(), v);
    }
    if let Some(at) = at {
        db.set_expire(key, at);
        ctx.propagate(vec![
            b"SET".to_vec(),
            key.clone(),
            value.to_vec(),
            b"PXAT".to_vec(),
            at.to_string().into_bytes(),
        ]);
    } else if o.get {
        let is_get = |a: &Vec<u8>| cstr(a).eq_ignore_ascii_case(b"get");
        let out = argv.iter().enumerate().filter(|(j, a)| *j < 3 || !is_get(a)).map(|(_, a)| a.clone()).collect();
        ctx.propagate(out);
    } else {
        ctx.propagate(argv.to_vec());
    }
    Ok(old.unwrap_or(ok))
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]`. With an expiry it is
/// propagated as `SET key value PXAT <abs ms>` (every other option dropped); with GET, without
/// the GETs.
pub(super) fn set(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let o = parse_options(argv, true)?;
    set_generic(data, ctx, argv, &argv[2], &o, "set", Frame::ok(), Frame::Null)
}

fn setnx(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let o = Options { nx: true, ..Options::default() };
    set_generic(data, ctx, argv, &argv[2], &o, "setnx", Frame::Integer(1), Frame::Integer(0))
}

fn setex(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let o = Options { expire: Some((Expire::Ex, &argv[2])), ..Options::default() };
    set_generic(data, ctx, argv, &argv[3], &o, "setex", Frame::ok(), Frame::Null)
}

fn psetex(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let o = Options { expire: Some((Expire::Px, &argv[2])), ..Options::default() };
    set_generic(data, ctx, argv, &argv[3], &o, "psetex", Frame::ok(), Frame::Null)
}

/// GETSET: the old value, and the new one without TTL; propagated as `SET key value`.
fn getset(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let old = get_string(data, ctx, &argv[1])?;
    data.keyspace.db_mut(ctx.db).set(argv[1].clone(), Value::Str(argv[2].clone()));
    ctx.propagate(vec![b"SET".to_vec(), argv[1].clone(), argv[2].clone()]);
    Ok(bulk_or_null(old))
}

/// GETDEL: propagated as `DEL key` when it deleted something.
fn getdel(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let old = get_string(data, ctx, &argv[1])?;
    if old.is_some() && data.keyspace.db_mut(ctx.db).remove(&argv[1]) {
        ctx.propagate(vec![b"DEL".to_vec(), argv[1].clone()]);
    }
    Ok(bulk_or_null(old))
}

/// `GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]`: never propagated as itself but as
/// `PEXPIREAT key <abs ms>`, `PERSIST key`, or `DEL key` for an absolute time already past.
fn getex(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let o = parse_options(argv, false)?;
    let key = &argv[1];
    let value = match get_string(data, ctx, key)? {
        Some(v) => v,
        None => return Ok(Frame::Null),
    };
    let at = match o.expire {
        Some((kind, arg)) => Some((kind, expire_ms(data, kind, arg, "getex")?)),
        None => None,
    };
    match at {
        Some((Expire::ExAt | Expire::PxAt, ms)) if already_expired(data, ms) => {
            data.keyspace.db_mut(ctx.db).remove(key);
            ctx.propagate(vec![b"DEL".to_vec(), key.clone()]);
        }
        Some((_, ms)) => {
            data.keyspace.db_mut(ctx.db).set_expire(key, ms);
            ctx.propagate(vec![b"PEXPIREAT".to_vec(), key.clone(), ms.to_string().into_bytes()]);
        }
        None if o.persist && data.keyspace.db_mut(ctx.db).remove_expire(key) => {
            ctx.propagate(vec![b"PERSIST".to_vec(), key.clone()]);
        }
        None => {}
    }
    Ok(Frame::Bulk(value))
}

fn mset(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    mset_generic(data, ctx, argv, "mset")
}

fn msetnx(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    mset_generic(data, ctx, argv, "msetnx")
}

/// MSET and MSETNX; every key set loses its TTL. MSETNX sets nothing if any key exists.
fn mset_generic(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>], name: &str) -> Answer {
    let nx = name == "msetnx";
    if argv.len() % 2 == 0 {
        return Err(wrong_arity(name));
    }
    if nx {
        for pair in argv[1..].chunks(2) {
            if key_live(data, ctx, &pair[0]) {
                return Ok(Frame::Integer(0));
            }
        }
    }
    let db = data.keyspace.db_mut(ctx.db);
    for pair in argv[1..].chunks(2) {
        db.set(pair[0].clone(), Value::Str(pair[1].clone()));
    }
    ctx.propagate(argv.to_vec());
    Ok(if nx { Frame::Integer(1) } else { Frame::ok() })
}

/// MGET: nil for a missing key or a key of another type.
fn mget(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let mut out = Vec::with_capacity(argv.len() - 1);
    for key in &argv[1..] {
        out.push(match lookup(data, ctx, key) {
            Some(Value::Str(s)) => Frame::Bulk(s),
            _ => Frame::Null,
        });
    }
    Ok(Frame::Array(out))
}

/// Redis's `incrDecrCommand`: the new value keeps the key's TTL; propagated as given.
fn incr_decr(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>], by: i64) -> Answer {
    let current = match get_string(data, ctx, &argv[1])? {
        Some(s) => match parse_i64(&s) {
            Some(n) => n,
            None => return Err(not_an_integer()),
        },
        None => 0,
    };
    let Some(next) = current.checked_add(by) else {
        return Err(Frame::error("ERR increment or decrement would overflow"));
    };
    data.keyspace.db_mut(ctx.db).set_keep_ttl(argv[1].clone(), Value::Str(next.to_string().into_bytes()));
    ctx.propagate(argv.to_vec());
    Ok(Frame::Integer(next))
}

pub(super) fn incr(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    incr_decr(data, ctx, argv, 1)
}

fn decr(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    incr_decr(data, ctx, argv, -1)
}

fn incrby(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let by = parse_i64(&argv[2]).ok_or_else(not_an_integer)?;
    incr_decr(data, ctx, argv, by)
}

fn decrby(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    match parse_i64(&argv[2]).ok_or_else(not_an_integer)? {
        i64::MIN => Err(Frame::error("ERR decrement would overflow")),
        by => incr_decr(data, ctx, argv, -by),
    }
}

/// INCRBYFLOAT in `long double` precision as Redis computes it; the reply is `%.17Lf` without
/// trailing zeros, and the command reaches replicas as `SET key <result> KEEPTTL`.
fn incrbyfloat(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let current = match get_string(data, ctx, &argv[1])? {
        Some(s) => long_double::parse(&s),
        None => Some(LongDouble::ZERO),
    };
    let (Some(current), Some(by)) = (current, long_double::parse(&argv[2])) else {
        return Err(Frame::error("ERR value is not a valid float"));
    };
    let Some(sum) = current.add(by).filter(|v| !v.is_infinite()) else {
        return Err(Frame::error("ERR increment would produce NaN or Infinity"));
    };
    let text = sum.to_human().into_bytes();
    data.keyspace.db_mut(ctx.db).set_keep_ttl(argv[1].clone(), Value::Str(text.clone()));
    ctx.propagate(vec![b"SET".to_vec(), argv[1].clone(), text.clone(), b"KEEPTTL".to_vec()]);
    Ok(Frame::Bulk(text))
}

/// Redis's `checkStringLength`: the result may not pass `proto-max-bulk-len` (what the master
/// sends is applied whatever its size).
fn check_string_length(data: &Data<'_>, ctx: &Ctx, size: u64, append: u64) -> Result<(), Frame> {
    match size.checked_add(append) {
        _ if ctx.from_master => Ok(()),
        Some(total) if total <= data.proto_max_bulk_len => Ok(()),
        _ => Err(Frame::error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")),
    }
}

/// APPEND: creates the key if missing, keeps the TTL otherwise; always propagated.
fn append(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let key = &argv[1];
    let total = match get_string(data, ctx, key)? {
        None => {
            data.keyspace.db_mut(ctx.db).set(key.clone(), Value::Str(argv[2].clone()));
            argv[2].len()
        }
        Some(old) => {
            check_string_length(data, ctx, old.len() as u64, argv[2].len() as u64)?;
            match data.keyspace.db_mut(ctx.db).get_mut(key) {
                Some(Value::Str(s)) => {
                    s.extend_from_slice(&argv[2]);
                    s.len()
                }
                _ => return Err(wrong_type()),
            }
        }
    };
    ctx.propagate(argv.to_vec());
    Ok(Frame::Integer(total as i64))
}

fn strlen(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let v = get_string(data, ctx, &argv[1])?;
    Ok(Frame::Integer(v.map_or(0, |s| s.len() as i64)))
}

/// GETRANGE (and its old name SUBSTR): inclusive, negative offsets count from the end.
fn getrange(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let (Some(mut start), Some(mut end)) = (parse_i64(&argv[2]), parse_i64(&argv[3])) else {
        return Err(not_an_integer());
    };
    let s = match get_string(data, ctx, &argv[1])? {
        Some(s) => s,
        None => return Ok(Frame::Bulk(Vec::new())),
    };
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        return Ok(Frame::Bulk(Vec::new()));
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return Ok(Frame::Bulk(Vec::new()));
    }
    Ok(Frame::Bulk(s[start as usize..=end as usize].to_vec()))
}

/// SETRANGE: pads with zero bytes; an empty value changes nothing (and is not propagated).
fn setrange(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let Some(offset) = parse_i64(&argv[2]) else {
        return Err(not_an_integer());
    };
    if offset < 0 {
        return Err(Frame::error("ERR offset is out of range"));
    }
    let (key, value) = (&argv[1], &argv[3]);
    let old = get_string(data, ctx, key)?;
    if value.is_empty() {
        return Ok(Frame::Integer(old.map_or(0, |s| s.len() as i64)));
    }
    check_string_length(data, ctx, offset as u64, value.len() as u64)?;
    let offset = offset as usize;
    let write = |s: &mut Vec<u8>| {
        if s.len() < offset + value.len() {
            s.resize(offset + value.len(), 0);
        }
        s[offset..offset + value.len()].copy_from_slice(value);
        s.len()
    };
    let db = data.keyspace.db_mut(ctx.db);
    let len = match old {
        None => {
            let mut s = Vec::new();
            let len = write(&mut s);
            db.set(key.clone(), Value::Str(s));
            len
        }
        Some(_) => match db.get_mut(key) {
            Some(Value::Str(s)) => write(s),
            _ => return Err(wrong_type()),
        },
    };
    ctx.propagate(argv.to_vec());
    Ok(Frame::Integer(len as i64))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::node::commands::testutil::{streaming_pair, world};

    use crate::resp::encode_command;

    #[test]
    fn set_options_as_redis() {
        let mut w = world();
        // Replies checked against redis-server 7.0.15.
        assert_eq!(w.console(0, "SET k v EX 10 EX 20"), "OK");
        assert_eq!(w.console(0, "TTL k"), "(integer) 20");
        assert_eq!(w.console(0, "SET k v PX 100 EX 20"), "(error) ERR syntax error");
        assert_eq!(w.console(0, "SET k v EX 10 KEEPTTL"), "(error) ERR syntax error");
        assert_eq!(w.console(0, "SET k v NX XX"), "(error) ERR syntax error");
        assert_eq!(w.console(0, "SET k v NX NX"), "(nil)");
        assert_eq!(w.console(0, "SET k w GET GET XX"), "\"v\"");
        assert_eq!(w.console(0, "SET k v EX 0"), "(error) ERR invalid expire time in 'set' command");
        assert_eq!(w.console(0, "SETEX k -1 v"), "(error) ERR invalid expire time in 'setex' command");
        assert_eq!(w.console(0, "PSETEX k abc v"), "(error) ERR value is not an integer or out of range");
        assert_eq!(w.console(0, "SETNX k v"), "(integer) 0");
        assert_eq!(w.console(0, "SETNX n v"), "(integer) 1");
        assert_eq!(w.console(0, "LPUSH l x"), "(integer) 1");
        let wrong = "(error) WRONGTYPE Operation against a key holding the wrong kind of value";
        assert_eq!(w.console(0, "SET l v GET"), wrong);
        assert_eq!(w.console(0, "GETSET l v"), wrong);
        assert_eq!(w.console(0, "MGET k l nokey"), "1) \"w\"\n2) (nil)\n3) (nil)");
        assert_eq!(w.console(0, "MSET a 1 b"), "(error) ERR wrong number of arguments for 'mset' command");
        assert_eq!(w.console(0, "MSETNX a 1 k 2"), "(integer) 0");
        assert_eq!(w.console(0, "MSETNX a 1 a 2"), "(integer) 1");
        assert_eq!(w.console(0, "GET a"), "\"2\"");
    }

    #[test]
    fn getex_getdel_and_ranges() {
        let mut w = world();
        w.console(0, "SET k hello");
        assert_eq!(w.console(0, "GETEX k EX 1 PX 100"), "(error) ERR syntax error");
        assert_eq!(w.console(0, "GETEX k NX"), "(error) ERR syntax error");
        assert_eq!(w.console(0, "GETEX nokey EX -1"), "(nil)");
        assert_eq!(w.console(0, "GETEX k EX -1"), "(error) ERR invalid expire time in 'getex' command");
        assert_eq!(w.console(0, "GETEX k EX 100"), "\"hello\"");
        assert_eq!(w.console(0, "TTL k"), "(integer) 100");
        assert_eq!(w.console(0, "GETEX k PERSIST PERSIST"), "\"hello\"");
        assert_eq!(w.console(0, "TTL k"), "(integer) -1");
        assert_eq!(w.console(0, "GETRANGE k -3 -1"), "\"llo\"");
        assert_eq!(w.console(0, "GETRANGE k -1 -5"), "\"\"");
        assert_eq!(w.console(0, "GETRANGE k 0 -9223372036854775808"), "\"h\"");
        assert_eq!(w.console(0, "SUBSTR k 1 100"), "\"ello\"");
        assert_eq!(w.console(0, "SETRANGE k -1 x"), "(error) ERR offset is out of range");
        assert_eq!(
            w.console(0, "SETRANGE k 536870912 x"),
            "(error) ERR string exceeds maximum allowed size (proto-max-bulk-len)"
        );
        assert_eq!(w.console(0, "SETRANGE k 7 !"), "(integer) 8");
        assert_eq!(w.console(0, "GET k"), "\"hello\\x00\\x00!\"");
        assert_eq!(w.console(0, "SETRANGE nokey 3 \"\""), "(integer) 0");
        assert_eq!(w.console(0, "APPEND k ?"), "(integer) 9");
        assert_eq!(w.console(0, "STRLEN k"), "(integer) 9");
        assert_eq!(w.console(0, "GETEX k EXAT 1"), "\"hello\\x00\\x00!?\"");
        assert_eq!(w.console(0, "EXISTS k"), "(integer) 0");
        w.console(0, "SET d 1");
        assert_eq!(w.console(0, "GETDEL d"), "\"1\"");
        assert_eq!(w.console(0, "GETDEL d"), "(nil)");
    }

    #[test]
    fn counters_as_redis() {
        let mut w = world();
        w.console(0, "SET i 1 EX 100");
        assert_eq!(w.console(0, "INCRBY i 10"), "(integer) 11");
        assert_eq!(w.console(0, "DECR i"), "(integer) 10");
        assert_eq!(w.console(0, "TTL i"), "(integer) 100");
        assert_eq!(w.console(0, "DECRBY i -9223372036854775808"), "(error) ERR decrement would overflow");
        assert_eq!(w.console(0, "INCRBY i 9223372036854775807"), "(error) ERR increment or decrement would overflow");
        assert_eq!(w.console(0, "INCRBY i x"), "(error) ERR value is not an integer or out of range");
        assert_eq!(w.console(0, "INCRBYFLOAT i 0.1"), "\"10.1\"");
        assert_eq!(w.console(0, "TTL i"), "(integer) 100");
        assert_eq!(w.console(0, "INCRBYFLOAT i abc"), "(error) ERR value is not a valid float");
        assert_eq!(w.console(0, "INCRBYFLOAT i inf"), "(error) ERR increment would produce NaN or Infinity");
        assert_eq!(w.console(0, "INCRBYFLOAT f 0x10"), "\"16\"");
        assert_eq!(w.console(0, "INCRBYFLOAT f 1e-17"), "\"16.00000000000000001\"");
        // 1e400 is finite in long double; Redis prints every digit of its binary value.
        let big =
            "1000000000000000000028188068394758651458645343362905203862591069353968553400862986203936399484832416\
             0522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778\
             9438243915933380474706750262466844013592375136038303437354855052449559649790218250382800910684149474\
             0245689865304095101751265809261582758892018347251164331659136266413817630973480634373249743022194688\
             0";
        assert_eq!(w.console(0, "INCRBYFLOAT g 1e400"), format!("\"{big}\""));
        w.console(0, "SET g 1e4932");
        assert_eq!(w.console(0, "INCRBYFLOAT g 1e4932"), "(error) ERR increment would produce NaN or Infinity");
    }

    #[test]
    fn rewrites_reach_the_replica() {
        let mut w = streaming_pair(1);
        let at = crate::node::EPOCH_UNIX_MS + 8_000 + 100_000;
        for line in [
            "SET k v EX 100",
            "SET k v PXAT 99999999999999 XX GET",
            "SET k w GET GET",
            "SETEX s 100 v",
            "PSETEX p 100000 v",
            "GETSET k x",
            "GETEX k EX 100",
            "GETEX k",
            "GETEX k PERSIST",
            "GETEX k PERSIST",
            "GETDEL k",
            "GETDEL k",
            "SET f 1.5",
            "INCRBYFLOAT f 0.1",
            "APPEND a \"\"",
            "SETRANGE a 0 \"\"",
            "GETEX s EXAT 1",
        ] {
            w.console(0, line);
        }
        w.run_for_ms(1_000);
        let t = String::from_utf8_lossy(w.transcript(0, 1)).into_owned();
        let stream = &t[t.find("*2\r\n$6\r\nSELECT").unwrap_or(0)..];
        let lines: Vec<Vec<String>> = [
            "SELECT 0".to_string(),
            format!("SET k v PXAT {at}"),
            "SET k v PXAT 99999999999999".into(),
            "SET k w".into(),
            format!("SET s v PXAT {at}"),
            format!("SET p v PXAT {at}"),
            "SET k x".into(),
            format!("PEXPIREAT k {at}"),
            "PERSIST k".into(),
            "DEL k".into(),
            "SET f 1.5".into(),
            "SET f 1.6 KEEPTTL".into(),
            "APPEND a _".into(),
            "DEL s".into(),
        ]
        .iter()
        .map(|l| l.split(' ').map(|a| if a == "_" { String::new() } else { a.to_string() }).collect())
        .collect();
        let expected: Vec<u8> = lines.iter().flat_map(|l| encode_command(l)).collect();
        assert_eq!(stream, String::from_utf8_lossy(&expected));
        assert_eq!(w.node(0).digest(), w.node(1).digest());
    }
}
