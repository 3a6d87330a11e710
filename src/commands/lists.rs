//! List commands, as Redis 7.0.15's `t_list.c` answers and propagates them: pushes and pops
//! (with the optional COUNT of LPOP/RPOP), ranges, indexes, LREM, LTRIM, LINSERT, LPOS, LMOVE
//! and RPOPLPUSH. A write that changes nothing propagates nothing, because Redis propagates a
//! command only when it made the dataset dirty.

use super::{
    flags, get_typed, not_an_integer, parse_i64, store_typed, syntax_error, wrong_arity, Answer, Command, Ctx, Data,
    DataFn,
};
use crate::keyspace::ListValue;
use crate::resp::Frame;

/// List commands.
pub(super) const COMMANDS: &[Command<DataFn>] = &[
    Command { name: "lpush", arity: -3, flags: flags::WRITE, handler: lpush },
    Command { name: "rpush", arity: -3, flags: flags::WRITE, handler: rpush },
    Command { name: "lpushx", arity: -3, flags: flags::WRITE, handler: lpushx },
    Command { name: "rpushx", arity: -3, flags: flags::WRITE, handler: rpushx },
    Command { name: "lpop", arity: -2, flags: flags::WRITE, handler: lpop },
    Command { name: "rpop", arity: -2, flags: flags::WRITE, handler: rpop },
    Command { name: "lrange", arity: 4, flags: 0, handler: lrange },
    Command { name: "llen", arity: 2, flags: 0, handler: llen },
    Command { name: "lindex", arity: 3, flags: 0, handler: lindex },
    Command { name: "lset", arity: 4, flags: flags::WRITE, handler: lset },
    Command { name: "lrem", arity: 4, flags: flags::WRITE, handler: lrem },
    Command { name: "ltrim", arity: 4, flags: flags::WRITE, handler: ltrim },
    Command { name: "linsert", arity: 5, flags: flags::WRITE, handler: linsert },
    Command { name: "lpos", arity: -3, flags: 0, handler: lpos },
    Command { name: "lmove", arity: 5, flags: flags::WRITE, handler: lmove },
    Command { name: "rpoplpush", arity: 3, flags: flags::WRITE, handler: rpoplpush },
];

type List = ListValue;

/// Redis's `getLongFromObjectOrReply` with no custom message.
fn parse_long(arg: &[u8]) -> Result<i64, Frame> {
    parse_i64(arg).ok_or_else(not_an_integer)
}

/// Redis's `getPositiveLongFromObjectOrReply`: anything but an integer >= 0 gets `msg`.
fn parse_positive(arg: &[u8], msg: &str) -> Result<i64, Frame> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(Frame::error(format!("ERR {msg}"))),
    }
}

/// A Redis list index (negative counts from the tail) as a position, if it is in range.
fn position(len: usize, index: i64) -> Option<usize> {
    let len = len as i64;
    let i = if index < 0 { len + index } else { index };
    (0..len).contains(&i).then_some(i as usize)
}

#[derive(Clone, Copy, PartialEq)]
enum End {
    Head,
    Tail,
}

fn push_generic(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>], end: End, only_existing: bool) -> Answer {
    let key = &argv[1];
    let (mut list, existed) = match get_typed::<List>(data, ctx, key)? {
        Some(l) => (l, true),
        None if only_existing => return Ok(Frame::Integer(0)),
        None => (List::new(), false),
    };
    for v in &argv[2..] {
        match end {
            End::Head => list.push_front(v.clone()),
            End::Tail => list.push_back(v.clone()),
        }
    }
    let len = list.len() as i64;
    store_typed(data, ctx, key, list, existed);
    ctx.propagate(argv.to_vec());
    Ok(Frame::Integer(len))
}

pub(super) fn lpush(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    push_generic(data, ctx, argv, End::Head, false)
}

pub(super) fn rpush(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    push_generic(data, ctx, argv, End::Tail, false)
}

pub(super) fn lpushx(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    push_generic(data, ctx, argv, End::Head, true)
}

pub(super) fn rpushx(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    push_generic(data, ctx, argv, End::Tail, true)
}

/// `LPOP/RPOP key [count]`: without a count a bulk (nil if no key); with one an array, a nil
/// array if no key, an empty array for a count of 0. Propagated as given.
fn pop_generic(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>], end: End) -> Answer {
    if argv.len() > 3 {
        return Err(wrong_arity(&String::from_utf8_lossy(&argv[0]).to_ascii_lowercase()));
    }
    let count = match argv.get(2) {
        Some(a) => Some(parse_positive(a, "value is out of range, must be positive")?),
        None => None,
    };
    let key = &argv[1];
    let mut list = match get_typed::<List>(data, ctx, key)? {
        Some(l) => l,
        None => return Ok(if count.is_some() { Frame::NullArray } else { Frame::Null }),
    };
    let reply = match count {
        Some(0) => return Ok(Frame::Array(Vec::new())),
        None => {
            let v = match end {
                End::Head => list.pop_front(),
                End::Tail => list.pop_back(),
            };
            Frame::Bulk(v.unwrap_or_default())
        }
        Some(n) => {
            let n = (n as u64).min(list.len() as u64) as usize;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let v = match end {
                    End::Head => list.pop_front(),
                    End::Tail => list.pop_back(),
                };
                out.extend(v.map(Frame::Bulk));
            }
            Frame::Array(out)
        }
    };
    store_typed(data, ctx, key, list, true);
    ctx.propagate(argv.to_vec());
    Ok(reply)
}

pub(super) fn lpop(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    pop_generic(data, ctx, argv, End::Head)
}

pub(super) fn rpop(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    pop_generic(data, ctx, argv, End::Tail)
}

/// The `start stop` arguments of LRANGE and LTRIM as Redis reads them: both integers, checked
/// before the key is looked at.
fn range_args(argv: &[Vec<u8>]) -> Result<(i64, i64), Frame> {
    Ok((parse_long(&argv[2])?, parse_long(&argv[3])?))
}

/// The inclusive index range `start..=end` selects in a list of `len` (negative indices count
/// from the tail), or None when it selects nothing.
fn clamp_range(start: i64, end: i64, len: i64) -> Option<(i64, i64)> {
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end };
    (start <= end && start < len).then(|| (start, end.min(len - 1)))
}

pub(super) fn lrange(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let (start, end) = range_args(argv)?;
    let list = match get_typed::<List>(data, ctx, &argv[1])? {
        Some(l) => l,
        None => return Ok(Frame::Array(Vec::new())),
    };
    let Some((start, end)) = clamp_range(start, end, list.len() as i64) else {
        return Ok(Frame::Array(Vec::new()));
    };
    let items = list.iter().skip(start as usize).take((end - start + 1) as usize).map(|v| Frame::Bulk(v.clone()));
    Ok(Frame::Array(items.collect()))
}

pub(super) fn llen(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let l = get_typed::<List>(data, ctx, &argv[1])?;
    Ok(Frame::Integer(l.map_or(0, |l| l.len() as i64)))
}

pub(super) fn lindex(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let list = match get_typed::<List>(data, ctx, &argv[1])? {
        Some(l) => l,
        None => return Ok(Frame::Null),
    };
    let index = parse_long(&argv[2])?;
    Ok(match position(list.len(), index).and_then(|i| list.get(i)) {
        Some(v) => Frame::Bulk(v.clone()),
        None => Frame::Null,
    })
}

pub(super) fn lset(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let mut list = match get_typed::<List>(data, ctx, &argv[1])? {
        Some(l) => l,
        None => return Err(Frame::error("ERR no such key")),
    };
    let index = parse_long(&argv[2])?;
    let Some(i) = position(list.len(), index) else {
        return Err(Frame::error("ERR index out of range"));
    };
    list.set(i, argv[3].clone());
    store_typed(data, ctx, &argv[1], list, true);
    ctx.propagate(argv.to_vec());
    Ok(Frame::ok())
}

/// `LREM key count element`: count > 0 removes from the head, < 0 from the tail, 0 all.
pub(super) fn lrem(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let count = parse_long(&argv[2])?;
    let list = match get_typed::<List>(data, ctx, &argv[1])? {
        Some(l) => l,
        None => return Ok(Frame::Integer(0)),
    };
    // Redis negates a negative count; LONG_MIN stays negative and so never limits.
    let limit = if count == 0 || count == i64::MIN { u64::MAX } else { count.unsigned_abs() };
    let target = &argv[3];
    let mut removed = 0u64;
    let mut keep: Vec<bool> = vec![true; list.len()];
    let order: Box<dyn Iterator<Item = usize>> =
        if count < 0 { Box::new((0..list.len()).rev()) } else { Box::new(0..list.len()) };
    for i in order {
        if removed >= limit {
            break;
        }
        if list.get(i) == Some(target) {
            keep[i] = false;
            removed += 1;
        }
    }
    if removed > 0 {
        let rest: List = list.iter().zip(&keep).filter(|(_, k)| **k).map(|(v, _)| v.clone()).collect();
        store_typed(data, ctx, &argv[1], rest, true);
        ctx.propagate(argv.to_vec());
    }
    Ok(Frame::Integer(removed as i64))
}

/// `LTRIM key start stop`: propagated only when it removed something, but the key counts as
/// touched for WATCH either way (Redis signals it unconditionally).
pub(super) fn ltrim(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let (start, end) = range_args(argv)?;
    let list = match get_typed::<List>(data, ctx, &argv[1])? {
        Some(l) => l,
        None => return Ok(Frame::ok()),
    };
    let len = list.len() as i64;
    let (ltrim, rtrim) = match clamp_range(start, end, len) {
        None => (len, 0),
        Some((start, end)) => (start, len - end - 1),
    };
    if ltrim + rtrim > 0 {
        let kept = list.slice(ltrim as usize, (len - ltrim - rtrim) as usize);
        store_typed(data, ctx, &argv[1], kept, true);
        ctx.propagate(argv.to_vec());
    } else {
        data.keyspace.db_mut(ctx.db).touch(&argv[1]);
    }
    Ok(Frame::ok())
}

/// `LINSERT key BEFORE|AFTER pivot element`: the new length, -1 without the pivot, 0 without
/// the key.
pub(super) fn linsert(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let after = match argv[2].to_ascii_lowercase().as_slice() {
        b"after" => true,
        b"before" => false,
        _ => return Err(syntax_error()),
    };
    let mut list = match get_typed::<List>(data, ctx, &argv[1])? {
        Some(l) => l,
        None => return Ok(Frame::Integer(0)),
    };
    let Some(at) = list.iter().position(|v| *v == argv[3]) else {
        return Ok(Frame::Integer(-1));
    };
    list.insert(if after { at + 1 } else { at }, argv[4].clone());
    let len = list.len() as i64;
    store_typed(data, ctx, &argv[1], list, true);
    ctx.propagate(argv.to_vec());
    Ok(Frame::Integer(len))
}

/// `LPOS key element [RANK rank] [COUNT num] [MAXLEN len]`, following `lposCommand` down to
/// its arithmetic on a RANK of LONG_MIN (which Redis 7.0 accepts and treats as "every match
/// from the tail").
pub(super) fn lpos(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let (mut rank, mut count, mut maxlen) = (1i64, -1i64, 0i64);
    let mut j = 3;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        let opt = argv[j].to_ascii_uppercase();
        match opt.as_slice() {
            b"RANK" if more => {
                j += 1;
                rank = parse_long(&argv[j])?;
                if rank == 0 {
                    return Err(Frame::error(
                        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
                         or use negative to start from the end of the list",
                    ));
                }
            }
            b"COUNT" if more => {
                j += 1;
                count = parse_positive(&argv[j], "COUNT can't be negative")?;
            }
            b"MAXLEN" if more => {
                j += 1;
                maxlen = parse_positive(&argv[j], "MAXLEN can't be negative")?;
            }
            _ => return Err(syntax_error()),
        }
        j += 1;
    }
    let from_tail = rank < 0;
    if from_tail {
        rank = rank.wrapping_neg();
    }
    let list = match get_typed::<List>(data, ctx, &argv[1])? {
        Some(l) => l,
        None => return Ok(if count != -1 { Frame::Array(Vec::new()) } else { Frame::Null }),
    };
    let len = list.len();
    let mut found = Vec::new();
    let mut matches = 0i64;
    let mut first = None;
    for index in 0..len {
        if maxlen != 0 && index as i64 >= maxlen {
            break;
        }
        let pos = if from_tail { len - index - 1 } else { index };
        if list.get(pos) != Some(&argv[2]) {
            continue;
        }
        matches += 1;
        if matches >= rank {
            if count == -1 {
                first = Some(pos);
                break;
            }
            found.push(Frame::Integer(pos as i64));
            if count != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= count {
                break;
            }
        }
    }
    Ok(if count != -1 { Frame::Array(found) } else { first.map_or(Frame::Null, |p| Frame::Integer(p as i64)) })
}

fn end_arg(arg: &[u8]) -> Option<End> {
    match arg.to_ascii_lowercase().as_slice() {
        b"left" => Some(End::Head),
        b"right" => Some(End::Tail),
        _ => None,
    }
}

/// Pops from `argv[1]` at `from` and pushes onto `argv[2]` at `to`; propagated as given.
fn move_generic(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>], from: End, to: End) -> Answer {
    let (src, dst) = (&argv[1], &argv[2]);
    let mut list = match get_typed::<List>(data, ctx, src)? {
        Some(l) if !l.is_empty() => l,
        _ => return Ok(Frame::Null),
    };
    let target = if src == dst { None } else { Some(get_typed::<List>(data, ctx, dst)?) };
    let value = match from {
        End::Head => list.pop_front(),
        End::Tail => list.pop_back(),
    }
    .unwrap_or_default();
    let push = |l: &mut List| match to {
        End::Head => l.push_front(value.clone()),
        End::Tail => l.push_back(value.clone()),
    };
    match target {
        None => {
            push(&mut list);
            store_typed(data, ctx, src, list, true);
        }
        Some(t) => {
            store_typed(data, ctx, src, list, true);
            let existed = t.is_some();
            let mut t = t.unwrap_or_default();
            push(&mut t);
            store_typed(data, ctx, dst, t, existed);
        }
    }
    ctx.propagate(argv.to_vec());
    Ok(Frame::Bulk(value))
}

pub(super) fn lmove(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let (Some(from), Some(to)) = (end_arg(&argv[3]), end_arg(&argv[4])) else {
        return Err(syntax_error());
    };
    move_generic(data, ctx, argv, from, to)
}

pub(super) fn rpoplpush(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    move_generic(data, ctx, argv, End::Tail, End::Head)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::node::commands::testutil::{node, run, streaming_pair, world};
    use crate::node::Node;
    use crate::resp::{encode_command, Frame};

    fn reply(n: &mut Node, line: &str) -> Frame {
        run(n, line).0
    }

    fn bulks(items: &[&str]) -> Frame {
        Frame::Array(items.iter().map(Frame::bulk).collect())
    }

    #[test]
    fn push_pop_and_range() {
        let mut w = world();
        assert_eq!(w.console(0, "RPUSH l a b c"), "(integer) 3");
        assert_eq!(w.console(0, "LPUSH l x y"), "(integer) 5");
        assert_eq!(w.console(0, "LRANGE l 0 -1"), "1) \"y\"\n2) \"x\"\n3) \"a\"\n4) \"b\"\n5) \"c\"");
        assert_eq!(w.console(0, "LRANGE l -2 100"), "1) \"b\"\n2) \"c\"");
        assert_eq!(w.console(0, "LRANGE l 3 1"), "(empty array)");
        assert_eq!(w.console(0, "LPUSHX nokey a"), "(integer) 0");
        assert_eq!(w.console(0, "RPUSHX l z"), "(integer) 6");
        assert_eq!(w.console(0, "RPOP l 2"), "1) \"z\"\n2) \"c\"");
        assert_eq!(w.console(0, "LPOP l"), "\"y\"");
        assert_eq!(w.console(0, "LLEN l"), "(integer) 3");
        assert_eq!(w.console(0, "LINDEX l -1"), "\"b\"");
        assert_eq!(w.console(0, "LINDEX l 3"), "(nil)");
        assert_eq!(w.console(0, "LPOP l 10"), "1) \"x\"\n2) \"a\"\n3) \"b\"");
        assert_eq!(w.console(0, "EXISTS l"), "(integer) 0");
        w.console(0, "SET s x");
        assert_eq!(
            w.console(0, "LPUSH s a"),
            "(error) WRONGTYPE Operation against a key holding the wrong kind of value"
        );
        assert_eq!(
            w.console(0, "LPOP s 0"),
            "(error) WRONGTYPE Operation against a key holding the wrong kind of value"
        );
        assert_eq!(w.console(0, "LPOP l -1"), "(error) ERR value is out of range, must be positive");
        assert_eq!(w.console(0, "LPOP l 1 2"), "(error) ERR wrong number of arguments for 'lpop' command");
    }

    #[test]
    fn pop_replies_distinguish_nil_nil_array_and_empty_array() {
        let mut n = node();
        assert_eq!(reply(&mut n, "LPOP nokey"), Frame::Null);
        assert_eq!(reply(&mut n, "LPOP nokey 0"), Frame::NullArray);
        assert_eq!(reply(&mut n, "RPOP nokey 2"), Frame::NullArray);
        run(&mut n, "RPUSH l a b c");
        assert_eq!(run(&mut n, "LPOP l 0"), (Frame::Array(vec![]), vec![]));
        let (r, p) = run(&mut n, "RPOP l 10");
        assert_eq!(r, bulks(&["c", "b", "a"]));
        assert_eq!(p, vec![vec![b"RPOP".to_vec(), b"l".to_vec(), b"10".to_vec()]]);
        assert_eq!(reply(&mut n, "LPOS nokey a"), Frame::Null);
        assert_eq!(reply(&mut n, "LPOS nokey a COUNT 0"), Frame::Array(vec![]));
        assert_eq!(reply(&mut n, "LMOVE nokey d LEFT LEFT"), Frame::Null);
    }

    #[test]
    fn lpos_options() {
        let mut w = world();
        w.console(0, "RPUSH l a b a c a d a");
        assert_eq!(w.console(0, "LPOS l a RANK -2 COUNT 2"), "1) (integer) 4\n2) (integer) 2");
        assert_eq!(w.console(0, "LPOS l a COUNT 2 RANK 3"), "1) (integer) 4\n2) (integer) 6");
        assert_eq!(w.console(0, "LPOS l a MAXLEN 3 RANK -1 COUNT 0"), "1) (integer) 6\n2) (integer) 4");
        assert_eq!(w.console(0, "LPOS l a RANK 10"), "(nil)");
        assert_eq!(
            w.console(0, "LPOS l a RANK -9223372036854775808 COUNT 1"),
            "1) (integer) 6\n2) (integer) 4\n3) (integer) 2\n4) (integer) 0"
        );
        assert_eq!(
            w.console(0, "LPOS l a RANK 0"),
            "(error) ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use \
             negative to start from the end of the list"
        );
        assert_eq!(w.console(0, "LPOS l a COUNT x"), "(error) ERR COUNT can't be negative");
        assert_eq!(w.console(0, "LPOS l a MAXLEN -1"), "(error) ERR MAXLEN can't be negative");
        assert_eq!(w.console(0, "LPOS l a RANK"), "(error) ERR syntax error");
    }

    #[test]
    fn edits() {
        let mut w = world();
        w.console(0, "RPUSH l a b a c a d a");
        assert_eq!(w.console(0, "LREM l -2 a"), "(integer) 2");
        assert_eq!(w.console(0, "LREM l 1 a"), "(integer) 1");
        assert_eq!(w.console(0, "LRANGE l 0 -1"), "1) \"b\"\n2) \"a\"\n3) \"c\"\n4) \"d\"");
        assert_eq!(w.console(0, "LSET l -1 Z"), "OK");
        assert_eq!(w.console(0, "LSET l 9 Z"), "(error) ERR index out of range");
        assert_eq!(w.console(0, "LSET nokey 0 Z"), "(error) ERR no such key");
        assert_eq!(w.console(0, "LINSERT l AFTER Z y"), "(integer) 5");
        assert_eq!(w.console(0, "LINSERT l before zz y"), "(integer) -1");
        assert_eq!(w.console(0, "LINSERT nokey before zz y"), "(integer) 0");
        assert_eq!(w.console(0, "LINSERT l middle a b"), "(error) ERR syntax error");
        assert_eq!(w.console(0, "LTRIM l 1 -2"), "OK");
        assert_eq!(w.console(0, "LRANGE l 0 -1"), "1) \"a\"\n2) \"c\"\n3) \"Z\"");
        assert_eq!(w.console(0, "LMOVE l l RIGHT LEFT"), "\"Z\"");
        assert_eq!(w.console(0, "RPOPLPUSH l other"), "\"c\"");
        assert_eq!(w.console(0, "LMOVE l other LEFT RIGHT"), "\"Z\"");
        assert_eq!(w.console(0, "LRANGE other 0 -1"), "1) \"c\"\n2) \"Z\"");
        assert_eq!(w.console(0, "LMOVE l other up LEFT"), "(error) ERR syntax error");
        assert_eq!(w.console(0, "LTRIM l 5 1"), "OK");
        assert_eq!(w.console(0, "EXISTS l"), "(integer) 0");
    }

    #[test]
    fn only_changes_propagate() {
        let mut n = node();
        run(&mut n, "RPUSH l a b c a");
        for line in ["LREM l 0 zz", "LTRIM l 0 -1", "LINSERT l BEFORE zz x", "LPUSHX nokey a", "LPOP l 0", "LSET l 9 x"]
        {
            assert_eq!(run(&mut n, line).1, Vec::<Vec<Vec<u8>>>::new(), "{line}");
        }
        for line in ["LREM l 0 a", "LTRIM l 0 0", "LSET l 0 b", "LMOVE l m LEFT RIGHT", "RPOPLPUSH m l"] {
            let argv: Vec<Vec<u8>> = line.split(' ').map(|a| a.as_bytes().to_vec()).collect();
            assert_eq!(run(&mut n, line).1, vec![argv], "{line}");
        }
    }

    #[test]
    fn replica_follows() {
        let mut w = streaming_pair(3);
        for line in [
            "RPUSH l a b c d e f",
            "LPOP l 2",
            "RPOP l",
            "LREM l 0 zz",
            "LINSERT l AFTER d x",
            "LTRIM l 0 2",
            "LMOVE l m RIGHT LEFT",
            "RPOPLPUSH l m",
            "LSET m 0 Q",
        ] {
            w.console(0, line);
        }
        w.run_for_ms(1_000);
        let t = String::from_utf8_lossy(w.transcript(0, 1)).into_owned();
        let stream = &t[t.find("*2\r\n$6\r\nSELECT").unwrap_or(0)..];
        let expected: Vec<u8> = [
            "SELECT 0",
            "RPUSH l a b c d e f",
            "LPOP l 2",
            "RPOP l",
            "LINSERT l AFTER d x",
            "LTRIM l 0 2",
            "LMOVE l m RIGHT LEFT",
            "RPOPLPUSH l m",
            "LSET m 0 Q",
        ]
        .iter()
        .flat_map(|l| encode_command(&l.split(' ').collect::<Vec<_>>()))
        .collect();
        assert_eq!(stream, String::from_utf8_lossy(&expected));
        assert_eq!(w.console(1, "LRANGE m 0 -1"), "1) \"Q\"\n2) \"x\"");
        assert_eq!(w.node(0).digest(), w.node(1).digest());
    }
}
