//! Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SINTER,
//! SUNION, SDIFF, their STORE variants, SINTERCARD and SMOVE.
//!
//! Sets are where Redis rewrites a non-deterministic command for its replicas: SPOP picks members
//! at random, so the master propagates what it actually removed (one `SREM key member` per popped
//! member, or `DEL key` when the whole set goes), never the SPOP itself (REDIS-REPLICATION.md §7.2).
//! Replies list members in the order Redis would where that order is deterministic (an intset's
//! ascending integers); random picks draw from the node's seeded generator.

use rand_core::Rng;

use super::{
    flags, get_typed, lookup_key, not_an_integer, parse_i64, store_typed, syntax_error, wrong_type, Answer, Command,
    Ctx, Data, DataFn,
};
use crate::keyspace::{Bytes, SetValue, Value};
use crate::resp::Frame;

/// Set commands.
pub(super) const COMMANDS: &[Command<DataFn>] = &[
    Command { name: "sadd", arity: -3, flags: flags::WRITE, handler: sadd },
    Command { name: "srem", arity: -3, flags: flags::WRITE, handler: srem },
    Command { name: "smembers", arity: 2, flags: 0, handler: smembers },
    Command { name: "sismember", arity: 3, flags: 0, handler: sismember },
    Command { name: "smismember", arity: -3, flags: 0, handler: smismember },
    Command { name: "scard", arity: 2, flags: 0, handler: scard },
    Command { name: "spop", arity: -2, flags: flags::WRITE, handler: spop },
    Command { name: "srandmember", arity: -2, flags: 0, handler: srandmember },
    Command { name: "sinter", arity: -2, flags: 0, handler: sinter },
    Command { name: "sintercard", arity: -3, flags: 0, handler: sintercard },
    Command { name: "sunion", arity: -2, flags: 0, handler: sunion },
    Command { name: "sdiff", arity: -2, flags: 0, handler: sdiff },
    Command { name: "sinterstore", arity: -3, flags: flags::WRITE, handler: sinterstore },
    Command { name: "sunionstore", arity: -3, flags: flags::WRITE, handler: sunionstore },
    Command { name: "sdiffstore", arity: -3, flags: flags::WRITE, handler: sdiffstore },
    Command { name: "smove", arity: 4, flags: flags::WRITE, handler: smove },
];

/// The largest |count| a negative SRANDMEMBER count may ask for. Redis has no limit and builds the
/// whole reply (a count near -2^63 makes it run out of memory); the lab refuses instead.
const SRANDMEMBER_MAX_REPEATS: u64 = 1_000_000;

fn members_reply(members: Vec<Bytes>) -> Frame {
    Frame::Array(members.into_iter().map(Frame::Bulk).collect())
}

/// A uniform index below `n` (n > 0) from the node's generator.
fn random_index(data: &mut Data<'_>, n: usize) -> usize {
    (data.rng.next_u64() % n as u64) as usize
}

/// `count` distinct members picked at random (count < members.len()), in pick order.
fn pick_distinct(data: &mut Data<'_>, mut members: Vec<Bytes>, count: usize) -> Vec<Bytes> {
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let i = random_index(data, members.len());
        out.push(members.swap_remove(i));
    }
    out
}

pub(super) fn sadd(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let (mut set, existed) = match get_typed::<SetValue>(data, ctx, &argv[1])? {
        Some(s) => (s, true),
        None => (SetValue::new(), false),
    };
    let added = argv[2..].iter().filter(|m| set.insert(m.to_vec())).count();
    if added > 0 {
        store_typed(data, ctx, &argv[1], set, existed);
        ctx.propagate(argv.to_vec());
    }
    Ok(Frame::Integer(added as i64))
}

pub(super) fn srem(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    super::remove_members(data, ctx, argv, SetValue::remove)
}

pub(super) fn smembers(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let s = get_typed::<SetValue>(data, ctx, &argv[1])?;
    Ok(s.map_or(Frame::Array(vec![]), |s| members_reply(s.members())))
}

pub(super) fn sismember(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let s = get_typed::<SetValue>(data, ctx, &argv[1])?;
    Ok(Frame::Integer(s.is_some_and(|s| s.contains(&argv[2])) as i64))
}

pub(super) fn smismember(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let s = get_typed::<SetValue>(data, ctx, &argv[1])?;
    Ok(Frame::Array(
        argv[2..].iter().map(|m| Frame::Integer(s.as_ref().is_some_and(|s| s.contains(m)) as i64)).collect(),
    ))
}

pub(super) fn scard(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let s = get_typed::<SetValue>(data, ctx, &argv[1])?;
    Ok(Frame::Integer(s.map_or(0, |s| s.len()) as i64))
}

/// Redis's `getPositiveLongFromObjectOrReply`: one error for both a non-integer and a negative.
fn positive_count(arg: &[u8]) -> Result<u64, Frame> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n as u64),
        _ => Err(Frame::error("ERR value is out of range, must be positive")),
    }
}

/// `SPOP key [count]`: propagated as `SREM key member` per popped member, or `DEL key` when the
/// count takes the whole set.
pub(super) fn spop(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    if argv.len() > 3 {
        return Err(syntax_error());
    }
    let count = match argv.get(2).map(|a| positive_count(a)) {
        Some(Ok(n)) => Some(n),
        Some(Err(e)) => return Err(e),
        None => None,
    };
    let key = &argv[1];
    let mut set = match get_typed::<SetValue>(data, ctx, key)? {
        Some(s) => s,
        None => return Ok(if count.is_some() { Frame::Array(vec![]) } else { Frame::Null }),
    };
    let Some(count) = count else {
        let members = set.members();
        let m = members[random_index(data, members.len())].clone();
        set.remove(&m);
        store_typed(data, ctx, key, set, true);
        ctx.propagate(vec![b"SREM".to_vec(), key.clone(), m.clone()]);
        return Ok(Frame::Bulk(m));
    };
    if count == 0 {
        return Ok(Frame::Array(vec![]));
    }
    let members = set.members();
    if count >= members.len() as u64 {
        data.keyspace.db_mut(ctx.db).remove(key);
        ctx.propagate(vec![b"DEL".to_vec(), key.clone()]);
        return Ok(members_reply(members));
    }
    let popped = pick_distinct(data, members, count as usize);
    for m in &popped {
        set.remove(m);
        ctx.propagate(vec![b"SREM".to_vec(), key.clone(), m.clone()]);
    }
    store_typed(data, ctx, key, set, true);
    Ok(members_reply(popped))
}

/// `SRANDMEMBER key [count]`: a positive count gives distinct members, a negative one may repeat.
pub(super) fn srandmember(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    if argv.len() > 3 {
        return Err(syntax_error());
    }
    let count = match argv.get(2) {
        None => None,
        Some(a) => match parse_i64(a) {
            Some(i64::MIN) => {
                return Err(Frame::error(
                    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                ))
            }
            Some(n) => Some(n),
            None => return Err(not_an_integer()),
        },
    };
    let set = match get_typed::<SetValue>(data, ctx, &argv[1])? {
        Some(s) => s,
        None => return Ok(if count.is_some() { Frame::Array(vec![]) } else { Frame::Null }),
    };
    let members = set.members();
    let Some(count) = count else {
        return Ok(Frame::Bulk(members[random_index(data, members.len())].clone()));
    };
    if count < 0 {
        let n = count.unsigned_abs();
        if n > SRANDMEMBER_MAX_REPEATS {
            return Err(Frame::error("ERR value is out of range"));
        }
        let picks = (0..n).map(|_| Frame::Bulk(members[random_index(data, members.len())].clone())).collect();
        return Ok(Frame::Array(picks));
    }
    if count as u64 >= members.len() as u64 {
        return Ok(members_reply(members));
    }
    Ok(members_reply(pick_distinct(data, members, count as usize)))
}

/// The sets named by `keys`, a missing key as None; WRONGTYPE as soon as a key holds another type.
fn get_sets(data: &mut Data<'_>, ctx: &mut Ctx, keys: &[Vec<u8>]) -> Result<Vec<Option<SetValue>>, Frame> {
    keys.iter().map(|k| get_typed::<SetValue>(data, ctx, k)).collect()
}

/// Redis's `sinterGenericCommand`: any missing key makes the result empty; the members come in
/// the order of the smallest set.
fn inter(sets: Vec<Option<SetValue>>) -> Vec<Bytes> {
    let Some(mut sets) = sets.into_iter().collect::<Option<Vec<SetValue>>>() else {
        return vec![];
    };
    sets.sort_by_key(SetValue::len);
    let Some((first, rest)) = sets.split_first() else {
        return vec![];
    };
    first.members().into_iter().filter(|m| rest.iter().all(|s| s.contains(m))).collect()
}

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Diff,
}

/// Redis's `sunionDiffGenericCommand`: the result is built as a new set (an intset while it can
/// be), which gives its reply order.
fn union_diff(sets: Vec<Option<SetValue>>, op: SetOp) -> SetValue {
    let mut out = SetValue::new();
    let mut it = sets.into_iter();
    match op {
        SetOp::Union => {
            for s in it.flatten() {
                for m in s.members() {
                    out.insert(m);
                }
            }
        }
        SetOp::Diff => {
            let Some(Some(first)) = it.next() else {
                return out;
            };
            let rest: Vec<SetValue> = it.flatten().collect();
            for m in first.members() {
                if !rest.iter().any(|s| s.contains(&m)) {
                    out.insert(m);
                }
            }
        }
    }
    out
}

fn set_from(members: Vec<Bytes>) -> SetValue {
    let mut s = SetValue::new();
    for m in members {
        s.insert(m);
    }
    s
}

pub(super) fn sinter(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let sets = get_sets(data, ctx, &argv[1..])?;
    Ok(members_reply(inter(sets)))
}

pub(super) fn sunion(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let sets = get_sets(data, ctx, &argv[1..])?;
    Ok(members_reply(union_diff(sets, SetOp::Union).members()))
}

pub(super) fn sdiff(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let sets = get_sets(data, ctx, &argv[1..])?;
    Ok(members_reply(union_diff(sets, SetOp::Diff).members()))
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`
pub(super) fn sintercard(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let numkeys = match parse_i64(&argv[1]) {
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
        Some(_) => return Err(Frame::error("ERR numkeys should be greater than 0")),
        None => return Err(Frame::error("ERR numkeys should be greater than 0")),
    };
    if numkeys > argv.len() - 2 {
        return Err(Frame::error("ERR Number of keys can't be greater than number of args"));
    }
    let mut limit = 0u64;
    let mut i = 2 + numkeys;
    while i < argv.len() {
        if argv[i].eq_ignore_ascii_case(b"limit") && i + 1 < argv.len() {
            match parse_i64(&argv[i + 1]) {
                Some(n) if n >= 0 => limit = n as u64,
                _ => return Err(Frame::error("ERR LIMIT can't be negative")),
            }
            i += 2;
        } else {
            return Err(syntax_error());
        }
    }
    let n = inter(get_sets(data, ctx, &argv[2..2 + numkeys])?).len() as u64;
    Ok(Frame::Integer(if limit > 0 { n.min(limit) } else { n } as i64))
}

/// Stores a STORE variant's result: a non-empty result replaces the destination (dropping its
/// TTL); an empty one deletes it. Propagated as given when something changed.
fn store_result(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>], result: SetValue) -> Answer {
    let n = result.len();
    super::store_destination(data, ctx, argv, result, n)
}

pub(super) fn sinterstore(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let sets = get_sets(data, ctx, &argv[2..])?;
    store_result(data, ctx, argv, set_from(inter(sets)))
}

pub(super) fn sunionstore(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let sets = get_sets(data, ctx, &argv[2..])?;
    store_result(data, ctx, argv, union_diff(sets, SetOp::Union))
}

pub(super) fn sdiffstore(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let sets = get_sets(data, ctx, &argv[2..])?;
    store_result(data, ctx, argv, union_diff(sets, SetOp::Diff))
}

/// `SMOVE source destination member`
pub(super) fn smove(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let (src_key, dst_key, member) = (&argv[1], &argv[2], &argv[3]);
    let src = lookup_key(data, ctx, src_key);
    let dst = lookup_key(data, ctx, dst_key);
    let Some(src) = src else {
        return Ok(Frame::Integer(0));
    };
    let Value::Set(mut src) = src else {
        return Err(wrong_type());
    };
    let dst = match dst {
        Some(Value::Set(s)) => Some(s),
        Some(_) => return Err(wrong_type()),
        None => None,
    };
    if src_key == dst_key {
        return Ok(Frame::Integer(src.contains(member) as i64));
    }
    if !src.remove(member) {
        return Ok(Frame::Integer(0));
    }
    store_typed(data, ctx, src_key, src, true);
    let existed = dst.is_some();
    let mut dst = dst.unwrap_or_else(SetValue::new);
    dst.insert(member.clone());
    store_typed(data, ctx, dst_key, dst, existed);
    ctx.propagate(argv.to_vec());
    Ok(Frame::Integer(1))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::node::commands::testutil::{streaming_pair, world};

    use crate::sim::World;

    /// A master and a replica in sync, recording what the master sends.
    fn pair() -> World {
        streaming_pair(3)
    }

    /// The commands in the master's stream after the first SELECT, as space-joined text.
    fn stream(w: &World) -> Vec<String> {
        let t = w.transcript(0, 1);
        let start = t.windows(14).position(|x| x == b"*2\r\n$6\r\nSELECT").unwrap_or(t.len());
        let mut out = Vec::new();
        let mut rest = &t[start..];
        while let Ok(crate::resp::Parsed::Complete(argv, used)) = crate::resp::parse_command(rest) {
            let line: Vec<String> = argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
            if line != ["ping"] {
                out.push(line.join(" "));
            }
            rest = &rest[used..];
        }
        out
    }

    #[test]
    fn add_remove_members_and_intset_order() {
        let mut w = world();
        assert_eq!(w.console(0, "SADD s 3 1 2 10 -5"), "(integer) 5");
        assert_eq!(w.console(0, "SADD s 1 2"), "(integer) 0");
        assert_eq!(w.console(0, "SMEMBERS s"), "1) \"-5\"\n2) \"1\"\n3) \"2\"\n4) \"3\"\n5) \"10\"");
        assert_eq!(w.console(0, "SREM s 1 zz"), "(integer) 1");
        assert_eq!(w.console(0, "SISMEMBER s 2"), "(integer) 1");
        assert_eq!(w.console(0, "SMISMEMBER s 2 zz"), "1) (integer) 1\n2) (integer) 0");
        assert_eq!(w.console(0, "SMISMEMBER nokey 1"), "1) (integer) 0");
        assert_eq!(w.console(0, "SCARD s"), "(integer) 4");
        assert_eq!(w.console(0, "SCARD nokey"), "(integer) 0");
        assert_eq!(w.console(0, "SMEMBERS nokey"), "(empty array)");
        assert_eq!(w.console(0, "SREM s -5 2 3 10"), "(integer) 4");
        assert_eq!(w.console(0, "EXISTS s"), "(integer) 0");
        w.console(0, "SET str x");
        for cmd in ["SADD str 1", "SREM str 1", "SMEMBERS str", "SISMEMBER str 1", "SCARD str", "SPOP str 0"] {
            assert_eq!(w.console(0, cmd), "(error) WRONGTYPE Operation against a key holding the wrong kind of value");
        }
    }

    #[test]
    fn spop_and_srandmember_arguments() {
        let mut w = world();
        w.console(0, "SADD s 1 2");
        assert_eq!(w.console(0, "SPOP s -1"), "(error) ERR value is out of range, must be positive");
        assert_eq!(w.console(0, "SPOP s x"), "(error) ERR value is out of range, must be positive");
        assert_eq!(w.console(0, "SPOP s 1 2"), "(error) ERR syntax error");
        assert_eq!(w.console(0, "SPOP s 0"), "(empty array)");
        assert_eq!(w.console(0, "SPOP nokey"), "(nil)");
        assert_eq!(w.console(0, "SPOP nokey 3"), "(empty array)");
        assert_eq!(w.console(0, "SRANDMEMBER s x"), "(error) ERR value is not an integer or out of range");
        assert_eq!(
            w.console(0, "SRANDMEMBER s -9223372036854775808"),
            "(error) ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
        );
        assert_eq!(w.console(0, "SRANDMEMBER s 100"), "1) \"1\"\n2) \"2\"");
        assert_eq!(w.console(0, "SRANDMEMBER s 0"), "(empty array)");
        assert_eq!(w.console(0, "SRANDMEMBER nokey"), "(nil)");
        assert_eq!(w.console(0, "SRANDMEMBER nokey -3"), "(empty array)");
        assert_eq!(w.console(0, "SRANDMEMBER s -5").lines().count(), 5);
        let one = w.console(0, "SRANDMEMBER s");
        assert!(one == "\"1\"" || one == "\"2\"");
        assert_eq!(w.console(0, "SPOP s 2"), "1) \"1\"\n2) \"2\"");
        assert_eq!(w.console(0, "EXISTS s"), "(integer) 0");
    }

    #[test]
    fn algebra_and_store_variants() {
        let mut w = world();
        w.console(0, "SADD a 3 1 2");
        w.console(0, "SADD b 2 3 4");
        w.console(0, "SET str x");
        assert_eq!(w.console(0, "SINTER a b"), "1) \"2\"\n2) \"3\"");
        assert_eq!(w.console(0, "SINTER a nokey"), "(empty array)");
        assert!(w.console(0, "SINTER nokey str").starts_with("(error) WRONGTYPE"));
        assert_eq!(w.console(0, "SUNION a nokey b"), "1) \"1\"\n2) \"2\"\n3) \"3\"\n4) \"4\"");
        assert_eq!(w.console(0, "SDIFF a b"), "1) \"1\"");
        assert_eq!(w.console(0, "SDIFF nokey a"), "(empty array)");
        assert!(w.console(0, "SDIFF a nokey str").starts_with("(error) WRONGTYPE"));
        assert_eq!(w.console(0, "SINTERCARD 2 a b LIMIT 1"), "(integer) 1");
        assert_eq!(w.console(0, "SINTERCARD 0 a"), "(error) ERR numkeys should be greater than 0");
        assert_eq!(w.console(0, "SINTERCARD 2 a"), "(error) ERR Number of keys can't be greater than number of args");
        assert_eq!(w.console(0, "SINTERCARD 1 a LIMIT -1"), "(error) ERR LIMIT can't be negative");
        assert_eq!(w.console(0, "SINTERSTORE d a b"), "(integer) 2");
        assert_eq!(w.console(0, "SUNIONSTORE str a b"), "(integer) 4");
        assert_eq!(w.console(0, "SMEMBERS str"), "1) \"1\"\n2) \"2\"\n3) \"3\"\n4) \"4\"");
        assert_eq!(w.console(0, "SDIFFSTORE d a a"), "(integer) 0");
        assert_eq!(w.console(0, "EXISTS d"), "(integer) 0");
    }

    #[test]
    fn smove_cases() {
        let mut w = world();
        w.console(0, "SADD a 1 2");
        w.console(0, "SET str x");
        assert_eq!(w.console(0, "SMOVE nokey str 1"), "(integer) 0");
        assert!(w.console(0, "SMOVE a str 1").starts_with("(error) WRONGTYPE"));
        assert!(w.console(0, "SMOVE str a 1").starts_with("(error) WRONGTYPE"));
        assert_eq!(w.console(0, "SMOVE a a 1"), "(integer) 1");
        assert_eq!(w.console(0, "SMOVE a a 9"), "(integer) 0");
        assert_eq!(w.console(0, "SMOVE a b 1"), "(integer) 1");
        assert_eq!(w.console(0, "SMOVE a b 2"), "(integer) 1");
        assert_eq!(w.console(0, "EXISTS a"), "(integer) 0");
        assert_eq!(w.console(0, "SMEMBERS b"), "1) \"1\"\n2) \"2\"");
    }

    #[test]
    fn propagation_matches_redis() {
        let mut w = pair();
        for cmd in [
            "SADD s 1 2 3 4 5 6",
            "SADD s 1",
            "SREM s nope",
            "SPOP s 0",
            "SADD t a",
            "SPOP t 1",
            "SADD a 1 2",
            "SADD b 2 3",
            "SINTERSTORE d a b",
            "SINTERSTORE d a nokey",
            "SINTERSTORE d a nokey",
            "SMOVE a b 1",
            "SMOVE a b 9",
        ] {
            w.console(0, cmd);
        }
        w.run_for_ms(1_000);
        assert_eq!(
            stream(&w),
            [
                "SELECT 0",
                "SADD s 1 2 3 4 5 6",
                "SADD t a",
                "DEL t",
                "SADD a 1 2",
                "SADD b 2 3",
                "SINTERSTORE d a b",
                "SINTERSTORE d a nokey",
                "SMOVE a b 1"
            ]
        );
        // SPOP with a count: one SREM per member, wrapped in MULTI/EXEC; the whole set: DEL.
        let popped = w.console(0, "SPOP s 2");
        let single = w.console(0, "SPOP s");
        w.console(0, "SPOP s 10");
        w.run_for_ms(1_000);
        let s = stream(&w);
        let tail = &s[s.len() - 6..];
        assert_eq!(tail[0], "MULTI");
        assert!(tail[1].starts_with("SREM s ") && tail[2].starts_with("SREM s "));
        assert!(popped.contains(&format!("\"{}\"", &tail[1][7..])));
        assert_eq!(tail[3], "EXEC");
        assert_eq!(tail[4], format!("SREM s {}", single.trim_matches('"')));
        assert_eq!(tail[5], "DEL s");
        assert_eq!(w.node(0).digest(), w.node(1).digest());
    }
}
