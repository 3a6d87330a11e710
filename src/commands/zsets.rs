//! Sorted-set commands: ZADD (NX, XX, GT, LT, CH, INCR), ZINCRBY, ZREM, ZSCORE, ZMSCORE, ZCARD,
//! ZCOUNT, ZLEXCOUNT, ZRANK, ZREVRANK, ZPOPMIN, ZPOPMAX, the ZRANGE family (by rank, score and
//! lex, reversed, with LIMIT and WITHSCORES; ZRANGESTORE) and ZREMRANGEBYRANK/SCORE/LEX.
//!
//! Sorted sets are deterministic, so Redis propagates every one of these writes as the client
//! sent it (ZPOPMIN included). What needs care is the text: scores are parsed the way Redis's
//! `strtod`-based parsers accept them and printed with `%.17g`, so `ZADD z 1.1 a` then
//! `ZSCORE z a` answers "1.1000000000000001" as on a real server ([`super::numbers`]). Lex ranges walk the members the
//! way a listpack-encoded (small) sorted set does, which decides the answer when members of
//! different scores are mixed.

use super::numbers::{format_double, parse_f64, strtod};
use super::{
    flags, get_typed, not_an_integer, parse_i64, store_typed, syntax_error, Answer, Command, Ctx, Data, DataFn,
};
use crate::keyspace::{Bytes, ZSetValue};
use crate::resp::Frame;

/// Sorted-set commands.
pub(super) const COMMANDS: &[Command<DataFn>] = &[
    Command { name: "zadd", arity: -4, flags: flags::WRITE, handler: zadd },
    Command { name: "zincrby", arity: 4, flags: flags::WRITE, handler: zincrby },
    Command { name: "zrem", arity: -3, flags: flags::WRITE, handler: zrem },
    Command { name: "zscore", arity: 3, flags: 0, handler: zscore },
    Command { name: "zmscore", arity: -3, flags: 0, handler: zmscore },
    Command { name: "zcard", arity: 2, flags: 0, handler: zcard },
    Command { name: "zcount", arity: 4, flags: 0, handler: zcount },
    Command { name: "zlexcount", arity: 4, flags: 0, handler: zlexcount },
    Command { name: "zrank", arity: 3, flags: 0, handler: zrank },
    Command { name: "zrevrank", arity: 3, flags: 0, handler: zrevrank },
    Command { name: "zpopmin", arity: -2, flags: flags::WRITE, handler: zpopmin },
    Command { name: "zpopmax", arity: -2, flags: flags::WRITE, handler: zpopmax },
    Command { name: "zrange", arity: -4, flags: 0, handler: zrange },
    Command { name: "zrangestore", arity: -5, flags: flags::WRITE, handler: zrangestore },
    Command { name: "zrangebyscore", arity: -4, flags: 0, handler: zrangebyscore },
    Command { name: "zrevrangebyscore", arity: -4, flags: 0, handler: zrevrangebyscore },
    Command { name: "zrangebylex", arity: -4, flags: 0, handler: zrangebylex },
    Command { name: "zrevrangebylex", arity: -4, flags: 0, handler: zrevrangebylex },
    Command { name: "zrevrange", arity: -4, flags: 0, handler: zrevrange },
    Command { name: "zremrangebyrank", arity: 4, flags: flags::WRITE, handler: zremrangebyrank },
    Command { name: "zremrangebyscore", arity: 4, flags: flags::WRITE, handler: zremrangebyscore },
    Command { name: "zremrangebylex", arity: 4, flags: flags::WRITE, handler: zremrangebylex },
];

fn score_reply(d: f64) -> Frame {
    Frame::Bulk(format_double(d).into_bytes())
}

/// A small sorted set (a listpack in Redis) stores `-0` as `0`; the lab keeps every score that
/// way, so `-0` members order and compare as Redis's small sets do.
fn stored(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

// ---------------------------------------------------------------------------------------------
// Ranges.

/// A score range (`zrangespec`): `(` makes a bound exclusive.
#[derive(Clone, Copy)]
struct ScoreRange {
    min: f64,
    max: f64,
    minex: bool,
    maxex: bool,
}

impl ScoreRange {
    fn contains(&self, v: f64) -> bool {
        let gte_min = if self.minex { v > self.min } else { v >= self.min };
        let lte_max = if self.maxex { v < self.max } else { v <= self.max };
        gte_min && lte_max
    }
}

/// One bound of `zslParseRange`: `strtod` with leading spaces allowed, no ERANGE check, and the
/// rest of the argument must be empty (a NUL byte ends it, as for a C string).
fn parse_score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    let (body, ex) = match arg.first() {
        Some(b'(') => (&arg[1..], true),
        _ => (arg, false),
    };
    let (v, used, _) = strtod(body);
    if !matches!(body.get(used), None | Some(0)) || v.is_nan() {
        return None;
    }
    Some((v, ex))
}

fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, Frame> {
    match (parse_score_bound(min), parse_score_bound(max)) {
        (Some((min, minex)), Some((max, maxex))) => Ok(ScoreRange { min, max, minex, maxex }),
        _ => Err(Frame::error("ERR min or max is not a float")),
    }
}

/// One bound of a lex range: `-` and `+` are the smallest and largest strings.
#[derive(Clone, PartialEq)]
enum LexBound {
    Min,
    Max,
    Incl(Bytes),
    Excl(Bytes),
}

impl LexBound {
    fn parse(arg: &[u8]) -> Option<LexBound> {
        match arg.first() {
            Some(b'+') if matches!(arg.get(1), None | Some(0)) => Some(LexBound::Max),
            Some(b'-') if matches!(arg.get(1), None | Some(0)) => Some(LexBound::Min),
            Some(b'(') => Some(LexBound::Excl(arg[1..].to_vec())),
            Some(b'[') => Some(LexBound::Incl(arg[1..].to_vec())),
            _ => None,
        }
    }

    fn exclusive(&self) -> bool {
        !matches!(self, LexBound::Incl(_))
    }
}

/// A lex range (`zlexrangespec`).
#[derive(Clone)]
struct LexRange {
    min: LexBound,
    max: LexBound,
}

impl LexRange {
    fn parse(min: &[u8], max: &[u8]) -> Result<LexRange, Frame> {
        match (LexBound::parse(min), LexBound::parse(max)) {
            (Some(min), Some(max)) => Ok(LexRange { min, max }),
            _ => Err(Frame::error("ERR min or max not valid string range item")),
        }
    }

    fn gte_min(&self, v: &[u8]) -> bool {
        match &self.min {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Incl(b) => v >= b.as_slice(),
            LexBound::Excl(b) => v > b.as_slice(),
        }
    }

    fn lte_max(&self, v: &[u8]) -> bool {
        match &self.max {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Incl(b) => v <= b.as_slice(),
            LexBound::Excl(b) => v < b.as_slice(),
        }
    }

    /// `sdscmplex(min, max)`, with the special minimum and maximum strings.
    fn bounds_cmp(&self) -> std::cmp::Ordering {
        use std::cmp::Ordering::*;
        use LexBound::*;
        match (&self.min, &self.max) {
            (Min, Min) | (Max, Max) => Equal,
            (Min, _) | (_, Max) => Less,
            (Max, _) | (_, Min) => Greater,
            (Incl(a) | Excl(a), Incl(b) | Excl(b)) => a.cmp(b),
        }
    }

    /// Indices (into `members`, lowest first) that a lex walk visits, as Redis walks a listpack:
    /// from the first member (or last, reversed) inside the range, skip `offset` members, then
    /// take members while they stay within the far bound, at most `limit` (negative: no limit).
    fn walk(&self, members: &[&[u8]], reverse: bool, offset: i64, limit: i64) -> Vec<usize> {
        let cmp = self.bounds_cmp();
        let always_empty = cmp.is_gt() || (cmp.is_eq() && (self.min.exclusive() || self.max.exclusive()));
        let (Some(first), Some(last)) = (members.first(), members.last()) else {
            return vec![];
        };
        if always_empty || !self.gte_min(last) || !self.lte_max(first) {
            return vec![];
        }
        let n = members.len();
        let start = if reverse {
            match (0..n).rev().find(|&i| self.lte_max(members[i])) {
                Some(i) if self.gte_min(members[i]) => i,
                _ => return vec![],
            }
        } else {
            match (0..n).find(|&i| self.gte_min(members[i])) {
                Some(i) if self.lte_max(members[i]) => i,
                _ => return vec![],
            }
        };
        // A negative offset never stops skipping (Redis's `while (eptr && offset--)`).
        if offset < 0 || offset as u64 >= n as u64 {
            return vec![];
        }
        let offset = offset as usize;
        let mut out = Vec::new();
        let mut pos = if reverse { start.checked_sub(offset) } else { Some(start + offset).filter(|&p| p < n) };
        let mut left = limit;
        while let Some(p) = pos {
            if left == 0 {
                break;
            }
            let inside = if reverse { self.gte_min(members[p]) } else { self.lte_max(members[p]) };
            if !inside {
                break;
            }
            out.push(p);
            left -= 1;
            pos = if reverse { p.checked_sub(1) } else { Some(p + 1).filter(|&q| q < n) };
        }
        out
    }
}

/// Applies a LIMIT to members already in range, as Redis does: a negative offset skips
/// everything, a negative count takes everything.
fn apply_limit<T>(items: impl Iterator<Item = T>, offset: i64, limit: i64) -> Vec<T> {
    if offset < 0 {
        return vec![];
    }
    let it = items.skip(usize::try_from(offset).unwrap_or(usize::MAX));
    if limit < 0 {
        it.collect()
    } else {
        it.take(usize::try_from(limit).unwrap_or(usize::MAX)).collect()
    }
}

/// Redis's rank sanitising: negative ranks count from the end; None when the range is empty.
fn rank_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

// ---------------------------------------------------------------------------------------------
// Access helpers.

fn entries_reply(entries: Vec<(Bytes, f64)>, withscores: bool) -> Frame {
    let mut out = Vec::with_capacity(entries.len() * if withscores { 2 } else { 1 });
    for (m, s) in entries {
        out.push(Frame::Bulk(m));
        if withscores {
            out.push(score_reply(s));
        }
    }
    Frame::Array(out)
}

// ---------------------------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM and point reads.

const ZADD_NX: u8 = 1;
const ZADD_XX: u8 = 2;
const ZADD_GT: u8 = 4;
const ZADD_LT: u8 = 8;
const ZADD_INCR: u8 = 16;

/// Redis's `zaddGenericCommand`, shared by ZADD and ZINCRBY (which is ZADD with INCR preset).
fn zadd_generic(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>], mut opts: u8) -> Answer {
    let mut ch = false;
    let mut idx = 2;
    while idx < argv.len() {
        match argv[idx].to_ascii_lowercase().as_slice() {
            b"nx" => opts |= ZADD_NX,
            b"xx" => opts |= ZADD_XX,
            b"ch" => ch = true,
            b"incr" => opts |= ZADD_INCR,
            b"gt" => opts |= ZADD_GT,
            b"lt" => opts |= ZADD_LT,
            _ => break,
        }
        idx += 1;
    }
    let has = |f: u8| opts & f != 0;
    let (incr, nx, xx, gt, lt) = (has(ZADD_INCR), has(ZADD_NX), has(ZADD_XX), has(ZADD_GT), has(ZADD_LT));
    let elements = argv.len() - idx;
    if elements == 0 || elements % 2 != 0 {
        return Err(syntax_error());
    }
    if nx && xx {
        return Err(Frame::error("ERR XX and NX options at the same time are not compatible"));
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return Err(Frame::error("ERR GT, LT, and/or NX options at the same time are not compatible"));
    }
    if incr && elements > 2 {
        return Err(Frame::error("ERR INCR option supports a single increment-element pair"));
    }
    let mut pairs = Vec::with_capacity(elements / 2);
    for pair in argv[idx..].chunks(2) {
        let Some(score) = parse_f64(&pair[0]) else {
            return Err(Frame::error("ERR value is not a valid float"));
        };
        pairs.push((score, &pair[1]));
    }
    let key = &argv[1];
    let (mut z, existed) = match get_typed::<ZSetValue>(data, ctx, key)? {
        Some(z) => (z, true),
        None if xx => {
            return Ok(if incr { Frame::Null } else { Frame::Integer(0) });
        }
        None => (ZSetValue::default(), false),
    };
    let (mut added, mut updated, mut processed) = (0, 0, 0);
    let mut last_score = 0.0;
    for (score, member) in pairs {
        match z.score(member) {
            Some(cur) => {
                if nx {
                    continue;
                }
                let mut score = score;
                if incr {
                    score += cur;
                    if score.is_nan() {
                        return Err(Frame::error("ERR resulting score is not a number (NaN)"));
                    }
                }
                if (lt && score >= cur) || (gt && score <= cur) {
                    continue;
                }
                processed += 1;
                last_score = score;
                if score != cur {
                    z.insert(member.clone(), stored(score));
                    updated += 1;
                }
            }
            None if xx => {}
            None => {
                z.insert(member.clone(), stored(score));
                added += 1;
                processed += 1;
                last_score = score;
            }
        }
    }
    if added + updated > 0 {
        store_typed(data, ctx, key, z, existed);
        ctx.propagate(argv.to_vec());
    }
    Ok(if incr {
        if processed > 0 {
            score_reply(last_score)
        } else {
            Frame::Null
        }
    } else {
        Frame::Integer(if ch { added + updated } else { added })
    })
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]`
pub(super) fn zadd(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    zadd_generic(data, ctx, argv, 0)
}

/// `ZINCRBY key increment member`, propagated as given.
pub(super) fn zincrby(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    zadd_generic(data, ctx, argv, ZADD_INCR)
}

pub(super) fn zrem(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    super::remove_members(data, ctx, argv, ZSetValue::remove)
}

pub(super) fn zscore(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let z = get_typed::<ZSetValue>(data, ctx, &argv[1])?;
    Ok(z.and_then(|z| z.score(&argv[2])).map_or(Frame::Null, score_reply))
}

pub(super) fn zmscore(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let z = get_typed::<ZSetValue>(data, ctx, &argv[1])?;
    Ok(Frame::Array(
        argv[2..].iter().map(|m| z.as_ref().and_then(|z| z.score(m)).map_or(Frame::Null, score_reply)).collect(),
    ))
}

pub(super) fn zcard(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let z = get_typed::<ZSetValue>(data, ctx, &argv[1])?;
    Ok(Frame::Integer(z.map_or(0, |z| z.len()) as i64))
}

pub(super) fn zcount(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let range = parse_score_range(&argv[2], &argv[3])?;
    let z = get_typed::<ZSetValue>(data, ctx, &argv[1])?;
    Ok(Frame::Integer(z.map_or(0, |z| z.iter().filter(|(_, s)| range.contains(*s)).count()) as i64))
}

pub(super) fn zlexcount(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let range = LexRange::parse(&argv[2], &argv[3])?;
    let z = get_typed::<ZSetValue>(data, ctx, &argv[1])?;
    Ok(Frame::Integer(z.map_or(0, |z| {
        let members: Vec<&[u8]> = z.iter().map(|(m, _)| m).collect();
        range.walk(&members, false, 0, -1).len()
    }) as i64))
}

fn rank_generic(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>], reverse: bool) -> Answer {
    let z = get_typed::<ZSetValue>(data, ctx, &argv[1])?;
    let rank = z.as_ref().and_then(|z| Some((z.rank(&argv[2])?, z.len())));
    Ok(rank.map_or(Frame::Null, |(r, len)| Frame::Integer(if reverse { len - 1 - r } else { r } as i64)))
}

pub(super) fn zrank(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    rank_generic(data, ctx, argv, false)
}

pub(super) fn zrevrank(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    rank_generic(data, ctx, argv, true)
}

// ---------------------------------------------------------------------------------------------
// ZPOPMIN / ZPOPMAX

/// Redis's `zpopMinMaxCommand` / `genericZpopCommand`; propagated as given.
fn zpop(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>], max: bool) -> Answer {
    if argv.len() > 3 {
        return Err(syntax_error());
    }
    let count = match argv.get(2) {
        Some(a) => match parse_i64(a) {
            Some(n) if n >= 0 => n as u64,
            _ => return Err(Frame::error("ERR value is out of range, must be positive")),
        },
        None => 1,
    };
    let key = &argv[1];
    let mut z = match get_typed::<ZSetValue>(data, ctx, key)? {
        Some(z) => z,
        None => return Ok(Frame::Array(vec![])),
    };
    if count == 0 {
        return Ok(Frame::Array(vec![]));
    }
    let n = count.min(z.len() as u64) as usize;
    let popped: Vec<(Bytes, f64)> = if max {
        z.iter().rev().take(n).map(|(m, s)| (m.to_vec(), s)).collect()
    } else {
        z.iter().take(n).map(|(m, s)| (m.to_vec(), s)).collect()
    };
    for (m, _) in &popped {
        z.remove(m);
    }
    store_typed(data, ctx, key, z, true);
    ctx.propagate(argv.to_vec());
    Ok(entries_reply(popped, true))
}

pub(super) fn zpopmin(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    zpop(data, ctx, argv, false)
}

pub(super) fn zpopmax(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    zpop(data, ctx, argv, true)
}

// ---------------------------------------------------------------------------------------------
// The ZRANGE family.

#[derive(Clone, Copy, PartialEq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq)]
enum Direction {
    Auto,
    Forward,
    Reverse,
}

/// The members (with scores) a range selects from `z`, in reply order.
enum Selector {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

fn select(z: &ZSetValue, sel: &Selector, reverse: bool, offset: i64, limit: i64) -> Vec<(Bytes, f64)> {
    let ordered: Vec<(&[u8], f64)> = if reverse { z.iter().rev().collect() } else { z.iter().collect() };
    match sel {
        Selector::Rank(start, end) => match rank_range(*start, *end, ordered.len()) {
            Some((s, e)) => ordered[s..=e].iter().map(|(m, sc)| (m.to_vec(), *sc)).collect(),
            None => vec![],
        },
        Selector::Score(range) => apply_limit(ordered.into_iter().filter(|(_, s)| range.contains(*s)), offset, limit)
            .into_iter()
            .map(|(m, s)| (m.to_vec(), s))
            .collect(),
        Selector::Lex(range) => {
            let asc: Vec<(&[u8], f64)> = z.iter().collect();
            let members: Vec<&[u8]> = asc.iter().map(|(m, _)| *m).collect();
            range.walk(&members, reverse, offset, limit).into_iter().map(|i| (asc[i].0.to_vec(), asc[i].1)).collect()
        }
    }
}

/// Redis's `zrangeGenericCommand`. `first` is the index of the source key in `argv`; with
/// `store`, `argv[1]` is the destination (ZRANGESTORE).
fn zrange_generic(
    data: &mut Data<'_>,
    ctx: &mut Ctx,
    argv: &[Vec<u8>],
    first: usize,
    store: bool,
    mut rtype: RangeType,
    mut dir: Direction,
) -> Answer {
    let key = &argv[first];
    let (mut minidx, mut maxidx) = (first + 1, first + 2);
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = first + 3;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let opt = argv[j].to_ascii_lowercase();
        match opt.as_slice() {
            b"withscores" if !store => withscores = true,
            b"limit" if left >= 2 => {
                match (parse_i64(&argv[j + 1]), parse_i64(&argv[j + 2])) {
                    (Some(o), Some(l)) => (offset, limit) = (o, l),
                    _ => return Err(not_an_integer()),
                }
                j += 2;
            }
            b"rev" if dir == Direction::Auto => dir = Direction::Reverse,
            b"bylex" if rtype == RangeType::Auto => rtype = RangeType::Lex,
            b"byscore" if rtype == RangeType::Auto => rtype = RangeType::Score,
            _ => return Err(syntax_error()),
        }
        j += 1;
    }
    let reverse = dir == Direction::Reverse;
    if rtype == RangeType::Auto {
        rtype = RangeType::Rank;
    }
    if limit != -1 && rtype == RangeType::Rank {
        return Err(Frame::error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && rtype == RangeType::Lex {
        return Err(Frame::error("ERR syntax error, WITHSCORES not supported in combination with BYLEX"));
    }
    if reverse && rtype != RangeType::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    let sel = match rtype {
        RangeType::Score => Selector::Score(parse_score_range(&argv[minidx], &argv[maxidx])?),
        RangeType::Lex => Selector::Lex(LexRange::parse(&argv[minidx], &argv[maxidx])?),
        _ => match (parse_i64(&argv[minidx]), parse_i64(&argv[maxidx])) {
            (Some(s), Some(e)) => Selector::Rank(s, e),
            _ => return Err(not_an_integer()),
        },
    };
    let result = match get_typed::<ZSetValue>(data, ctx, key)? {
        Some(z) => select(&z, &sel, reverse, offset, limit),
        None => vec![],
    };
    if !store {
        return Ok(entries_reply(result, withscores));
    }
    let n = result.len();
    let mut z = ZSetValue::default();
    for (m, s) in result {
        z.insert(m, s);
    }
    super::store_destination(data, ctx, argv, z, n)
}

/// `ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`
pub(super) fn zrange(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    zrange_generic(data, ctx, argv, 1, false, RangeType::Auto, Direction::Auto)
}

/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]`
pub(super) fn zrangestore(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    zrange_generic(data, ctx, argv, 2, true, RangeType::Auto, Direction::Auto)
}

pub(super) fn zrangebyscore(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    zrange_generic(data, ctx, argv, 1, false, RangeType::Score, Direction::Forward)
}

pub(super) fn zrevrangebyscore(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    zrange_generic(data, ctx, argv, 1, false, RangeType::Score, Direction::Reverse)
}

pub(super) fn zrangebylex(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    zrange_generic(data, ctx, argv, 1, false, RangeType::Lex, Direction::Forward)
}

pub(super) fn zrevrangebylex(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    zrange_generic(data, ctx, argv, 1, false, RangeType::Lex, Direction::Reverse)
}

pub(super) fn zrevrange(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    zrange_generic(data, ctx, argv, 1, false, RangeType::Rank, Direction::Reverse)
}

// ---------------------------------------------------------------------------------------------
// ZREMRANGEBY*

/// Redis's `zremrangeGenericCommand`: the range is parsed before the key is looked up;
/// propagated as given when something was removed.
fn zremrange(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>], rtype: RangeType) -> Answer {
    let sel = match rtype {
        RangeType::Score => Selector::Score(parse_score_range(&argv[2], &argv[3])?),
        RangeType::Lex => Selector::Lex(LexRange::parse(&argv[2], &argv[3])?),
        _ => match (parse_i64(&argv[2]), parse_i64(&argv[3])) {
            (Some(s), Some(e)) => Selector::Rank(s, e),
            _ => return Err(not_an_integer()),
        },
    };
    let key = &argv[1];
    let mut z = match get_typed::<ZSetValue>(data, ctx, key)? {
        Some(z) => z,
        None => return Ok(Frame::Integer(0)),
    };
    let doomed = select(&z, &sel, false, 0, -1);
    for (m, _) in &doomed {
        z.remove(m);
    }
    if !doomed.is_empty() {
        store_typed(data, ctx, key, z, true);
        ctx.propagate(argv.to_vec());
    }
    Ok(Frame::Integer(doomed.len() as i64))
}

pub(super) fn zremrangebyrank(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    zremrange(data, ctx, argv, RangeType::Rank)
}

pub(super) fn zremrangebyscore(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    zremrange(data, ctx, argv, RangeType::Score)
}

pub(super) fn zremrangebylex(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    zremrange(data, ctx, argv, RangeType::Lex)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::node::commands::testutil::{streaming_pair, world};

    use super::*;

    #[test]
    fn score_range_bounds_parse_as_zsl_parse_range_does() {
        // Range bounds: leading spaces, an empty string (0) and out-of-range values pass.
        assert_eq!(parse_score_bound(b" 1").map(|b| b.0), Some(1.0));
        assert_eq!(parse_score_bound(b"").map(|b| b.0), Some(0.0));
        assert_eq!(parse_score_bound(b"(").map(|b| b.1), Some(true));
        assert_eq!(parse_score_bound(b"1e400").map(|b| b.0), Some(f64::INFINITY));
        assert!(parse_score_bound(b"2 ").is_none() && parse_score_bound(b"[1").is_none());
    }

    #[test]
    fn zadd_options_and_errors() {
        let mut w = world();
        assert_eq!(w.console(0, "ZADD z 1.1 a 2 b"), "(integer) 2");
        assert_eq!(w.console(0, "ZSCORE z a"), "\"1.1000000000000001\"");
        assert_eq!(w.console(0, "ZADD z INCR 1 a"), "\"2.1000000000000001\"");
        assert_eq!(w.console(0, "ZINCRBY z 1 b"), "\"3\"");
        assert_eq!(w.console(0, "ZADD z NX 5 a"), "(integer) 0");
        assert_eq!(w.console(0, "ZADD z NX INCR 5 a"), "(nil)");
        assert_eq!(w.console(0, "ZADD z XX CH 5 a 6 c"), "(integer) 1");
        assert_eq!(w.console(0, "ZADD z GT CH 1 a"), "(integer) 0");
        assert_eq!(w.console(0, "ZADD z LT CH 1 a"), "(integer) 1");
        assert_eq!(w.console(0, "ZADD z GT INCR -1 a"), "(nil)");
        assert_eq!(w.console(0, "ZADD nokey XX 1 a"), "(integer) 0");
        assert_eq!(w.console(0, "EXISTS nokey"), "(integer) 0");
        let errors = [
            ("ZADD z NX XX 1 a", "ERR XX and NX options at the same time are not compatible"),
            ("ZADD z NX GT 1 a", "ERR GT, LT, and/or NX options at the same time are not compatible"),
            ("ZADD z GT LT 1 a", "ERR GT, LT, and/or NX options at the same time are not compatible"),
            ("ZADD z INCR 1 a 2 b", "ERR INCR option supports a single increment-element pair"),
            ("ZADD z NX XX 1 a 2", "ERR syntax error"),
            ("ZADD z 1 a x b", "ERR value is not a valid float"),
            ("ZADD z 1e400 a", "ERR value is not a valid float"),
            ("ZINCRBY z NX a", "ERR syntax error"),
        ];
        for (cmd, err) in errors {
            assert_eq!(w.console(0, cmd), format!("(error) {err}"), "{cmd}");
        }
        w.console(0, "ZADD z inf c");
        assert_eq!(w.console(0, "ZINCRBY z -inf c"), "(error) ERR resulting score is not a number (NaN)");
        assert_eq!(w.console(0, "ZADD z -0 n"), "(integer) 1");
        assert_eq!(w.console(0, "ZSCORE z n"), "\"0\"");
        assert_eq!(w.console(0, "ZADD z INCR -0 m"), "\"-0\"");
        w.console(0, "SET str x");
        assert!(w.console(0, "ZADD str 1 a").starts_with("(error) WRONGTYPE"));
        assert_eq!(w.console(0, "ZADD str x a"), "(error) ERR value is not a valid float");
    }

    #[test]
    fn zrange_forms() {
        let mut w = world();
        w.console(0, "ZADD z 1 a 2 b 3 c 4 d");
        let cases = [
            (
                "ZRANGE z 0 -1 LIMIT 0 1",
                "(error) ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
            ),
            (
                "ZRANGE z a b BYLEX WITHSCORES",
                "(error) ERR syntax error, WITHSCORES not supported in combination with BYLEX",
            ),
            ("ZRANGE z 0 -1 BYSCORE BYLEX", "(error) ERR syntax error"),
            ("ZRANGE z 0 x", "(error) ERR value is not an integer or out of range"),
            ("ZRANGE z x 1 BYSCORE", "(error) ERR min or max is not a float"),
            ("ZRANGE z a + BYLEX", "(error) ERR min or max not valid string range item"),
            ("ZRANGEBYSCORE z 0 5 REV", "(error) ERR syntax error"),
            ("ZRANGE z (1 3 BYSCORE LIMIT 1 1 WITHSCORES", "1) \"c\"\n2) \"3\""),
            ("ZRANGE z +inf -inf BYSCORE REV LIMIT 0 2", "1) \"d\"\n2) \"c\""),
            ("ZRANGE z [a (c BYLEX", "1) \"a\"\n2) \"b\""),
            ("ZRANGE z - + BYLEX LIMIT 1 -1", "1) \"b\"\n2) \"c\"\n3) \"d\""),
            ("ZRANGE z 0 10 BYSCORE LIMIT -1 2", "(empty array)"),
            ("ZRANGE z -2 -1", "1) \"c\"\n2) \"d\""),
            ("ZREVRANGE z 0 1 WITHSCORES", "1) \"d\"\n2) \"4\"\n3) \"c\"\n4) \"3\""),
            ("ZRANGEBYSCORE z 0 5 WITHSCORES LIMIT 1 2", "1) \"b\"\n2) \"2\"\n3) \"c\"\n4) \"3\""),
            ("ZREVRANGEBYSCORE z 3 (1", "1) \"c\"\n2) \"b\""),
            ("ZRANGE nokey 0 -1", "(empty array)"),
            ("ZCOUNT z (1 3", "(integer) 2"),
            ("ZLEXCOUNT z [b (d", "(integer) 2"),
            ("ZRANK z c", "(integer) 2"),
            ("ZREVRANK z c", "(integer) 1"),
            ("ZRANK z q", "(nil)"),
            ("ZMSCORE z a q", "1) \"1\"\n2) (nil)"),
        ];
        for (cmd, want) in cases {
            assert_eq!(w.console(0, cmd), want, "{cmd}");
        }
        // Lex ranges walk members as a listpack does: a lower score first can hide the rest.
        w.console(0, "ZADD z 0 zero");
        assert_eq!(w.console(0, "ZRANGE z '' '' BYSCORE"), "1) \"zero\"");
        assert_eq!(w.console(0, "ZRANGE z [a [c BYLEX"), "(empty array)");
        assert_eq!(w.console(0, "ZRANGE z (zero + BYLEX"), "(empty array)");
        assert_eq!(w.console(0, "ZRANGE z - + BYLEX LIMIT 0 2"), "1) \"zero\"\n2) \"a\"");
    }

    #[test]
    fn pops_and_range_removals() {
        let mut w = world();
        w.console(0, "ZADD z 1 a 2 b 3 c 4 d");
        assert_eq!(w.console(0, "ZPOPMIN z"), "1) \"a\"\n2) \"1\"");
        assert_eq!(w.console(0, "ZPOPMAX z 2"), "1) \"d\"\n2) \"4\"\n3) \"c\"\n4) \"3\"");
        assert_eq!(w.console(0, "ZPOPMIN z 0"), "(empty array)");
        assert_eq!(w.console(0, "ZPOPMIN z -1"), "(error) ERR value is out of range, must be positive");
        assert_eq!(w.console(0, "ZPOPMIN z 1 2"), "(error) ERR syntax error");
        assert_eq!(w.console(0, "ZPOPMIN z 100"), "1) \"b\"\n2) \"2\"");
        assert_eq!(w.console(0, "EXISTS z"), "(integer) 0");
        assert_eq!(w.console(0, "ZPOPMIN z"), "(empty array)");
        w.console(0, "ZADD z 1 a 2 b 3 c 4 d");
        assert_eq!(w.console(0, "ZREMRANGEBYRANK z -1 -1"), "(integer) 1");
        assert_eq!(w.console(0, "ZREMRANGEBYSCORE z x 1"), "(error) ERR min or max is not a float");
        assert_eq!(w.console(0, "ZREMRANGEBYSCORE z (2 +inf"), "(integer) 1");
        assert_eq!(w.console(0, "ZREMRANGEBYLEX z - +"), "(integer) 2");
        assert_eq!(w.console(0, "EXISTS z"), "(integer) 0");
        assert_eq!(w.console(0, "ZREMRANGEBYRANK nokey x 1"), "(error) ERR value is not an integer or out of range");
    }

    #[test]
    fn writes_propagate_as_given_and_replicas_converge() {
        let mut w = streaming_pair(3);
        let cmds = [
            "zadd z 1.1 a 2 b",
            "zadd z incr 1 a",
            "zincrby z 0 b",
            "zadd z nx 5 a",
            "zpopmin z",
            "zpopmin z 0",
            "zrem z q",
            "zadd z 1 x 2 y",
            "zremrangebyscore z (1 +inf",
            "zrangestore d z 0 -1",
        ];
        for c in cmds {
            w.console(0, c);
        }
        w.run_for_ms(1_000);
        let t = String::from_utf8_lossy(w.transcript(0, 1)).into_owned();
        let expect =
            ["zadd z 1.1 a 2 b", "zadd z incr 1 a", "zpopmin z", "zadd z 1 x 2 y", "zremrangebyscore z (1 +inf"];
        let mut at = 0;
        for e in expect {
            let argv: Vec<&str> = e.split(' ').collect();
            let enc = String::from_utf8(crate::resp::encode_command(&argv)).unwrap();
            at += t[at..].find(&enc).unwrap_or_else(|| panic!("{e} not propagated"));
        }
        for e in ["zincrby z 0 b", "zadd z nx 5 a", "zpopmin z 0", "zrem z q"] {
            let argv: Vec<&str> = e.split(' ').collect();
            assert!(!t.contains(&String::from_utf8(crate::resp::encode_command(&argv)).unwrap()), "{e}");
        }
        assert_eq!(w.node(0).digest(), w.node(1).digest());
        assert_eq!(w.console(1, "ZRANGE d 0 -1 WITHSCORES"), "1) \"x\"\n2) \"1\"");
    }
}
