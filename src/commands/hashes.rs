//! Hash commands, as Redis 7.0.15's `t_hash.c` answers and propagates them. Fields come back in
//! insertion order, as from the listpack that holds every small Redis hash. HINCRBYFLOAT
//! computes in x87 long double like Redis on x86-64 and propagates as `HSET key field <result>`.

use rand_core::Rng;

use super::long_double::{self, LongDouble};
use super::{
    flags, get_typed, not_an_integer, parse_i64, store_typed, syntax_error, wrong_arity, Answer, Command, Ctx, Data,
    DataFn,
};
use crate::keyspace::HashValue;
use crate::resp::Frame;

/// Hash commands.
pub(super) const COMMANDS: &[Command<DataFn>] = &[
    Command { name: "hset", arity: -4, flags: flags::WRITE, handler: hset },
    Command { name: "hmset", arity: -4, flags: flags::WRITE, handler: hmset },
    Command { name: "hsetnx", arity: 4, flags: flags::WRITE, handler: hsetnx },
    Command { name: "hget", arity: 3, flags: 0, handler: hget },
    Command { name: "hmget", arity: -3, flags: 0, handler: hmget },
    Command { name: "hdel", arity: -3, flags: flags::WRITE, handler: hdel },
    Command { name: "hgetall", arity: 2, flags: 0, handler: hgetall },
    Command { name: "hlen", arity: 2, flags: 0, handler: hlen },
    Command { name: "hexists", arity: 3, flags: 0, handler: hexists },
    Command { name: "hincrby", arity: 4, flags: flags::WRITE, handler: hincrby },
    Command { name: "hincrbyfloat", arity: 4, flags: flags::WRITE, handler: hincrbyfloat },
    Command { name: "hkeys", arity: 2, flags: 0, handler: hkeys },
    Command { name: "hvals", arity: 2, flags: 0, handler: hvals },
    Command { name: "hstrlen", arity: 3, flags: 0, handler: hstrlen },
    Command { name: "hrandfield", arity: -2, flags: 0, handler: hrandfield },
];

/// The most elements HRANDFIELD with a negative count answers with. Redis has no limit (it
/// streams the reply); the lab builds replies in memory, so it refuses larger counts.
pub(crate) const RANDOM_REPLY_LIMIT: u64 = 100_000;

fn arity_error(argv: &[Vec<u8>]) -> Frame {
    wrong_arity(&String::from_utf8_lossy(&argv[0]).to_ascii_lowercase())
}

/// Sets every field/value pair; returns the number of new fields, or the error reply.
fn set_pairs(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Result<i64, Frame> {
    if argv.len() % 2 == 1 {
        return Err(arity_error(argv));
    }
    let (mut hash, existed) = match get_typed::<HashValue>(data, ctx, &argv[1])? {
        Some(h) => (h, true),
        None => (HashValue::default(), false),
    };
    let created = argv[2..].chunks(2).filter(|p| hash.insert(p[0].clone(), p[1].clone())).count();
    store_typed(data, ctx, &argv[1], hash, existed);
    ctx.propagate(argv.to_vec());
    Ok(created as i64)
}

/// `HSET key field value [field value ...]`: the number of new fields; always propagated.
pub(super) fn hset(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    set_pairs(data, ctx, argv).map(Frame::Integer)
}

pub(super) fn hmset(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    set_pairs(data, ctx, argv).map(|_| Frame::ok())
}

pub(super) fn hsetnx(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let (mut hash, existed) = match get_typed::<HashValue>(data, ctx, &argv[1])? {
        Some(h) => (h, true),
        None => (HashValue::default(), false),
    };
    if hash.get(&argv[2]).is_some() {
        return Ok(Frame::Integer(0));
    }
    hash.insert(argv[2].clone(), argv[3].clone());
    store_typed(data, ctx, &argv[1], hash, existed);
    ctx.propagate(argv.to_vec());
    Ok(Frame::Integer(1))
}

pub(super) fn hget(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let h = get_typed::<HashValue>(data, ctx, &argv[1])?;
    Ok(h.and_then(|h| h.get(&argv[2]).map(<[u8]>::to_vec)).map_or(Frame::Null, Frame::Bulk))
}

pub(super) fn hmget(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let h = get_typed::<HashValue>(data, ctx, &argv[1])?;
    Ok(Frame::Array(
        argv[2..]
            .iter()
            .map(|f| h.as_ref().and_then(|h| h.get(f).map(<[u8]>::to_vec)).map_or(Frame::Null, Frame::Bulk))
            .collect(),
    ))
}

pub(super) fn hdel(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let mut hash = match get_typed::<HashValue>(data, ctx, &argv[1])? {
        Some(h) => h,
        None => return Ok(Frame::Integer(0)),
    };
    let deleted = argv[2..].iter().filter(|f| hash.remove(f)).count();
    if deleted > 0 {
        store_typed(data, ctx, &argv[1], hash, true);
        ctx.propagate(argv.to_vec());
    }
    Ok(Frame::Integer(deleted as i64))
}

/// Fields, values or both of a hash, flat, in order; an empty array without the key.
fn listing(data: &mut Data<'_>, ctx: &mut Ctx, key: &[u8], fields: bool, values: bool) -> Answer {
    let h = get_typed::<HashValue>(data, ctx, key)?;
    let mut out = Vec::new();
    for (f, v) in h.iter().flat_map(|h| h.iter()) {
        if fields {
            out.push(Frame::Bulk(f.to_vec()));
        }
        if values {
            out.push(Frame::Bulk(v.to_vec()));
        }
    }
    Ok(Frame::Array(out))
}

pub(super) fn hgetall(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    listing(data, ctx, &argv[1], true, true)
}

pub(super) fn hkeys(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    listing(data, ctx, &argv[1], true, false)
}

pub(super) fn hvals(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    listing(data, ctx, &argv[1], false, true)
}

pub(super) fn hlen(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let h = get_typed::<HashValue>(data, ctx, &argv[1])?;
    Ok(Frame::Integer(h.map_or(0, |h| h.len() as i64)))
}

pub(super) fn hexists(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let h = get_typed::<HashValue>(data, ctx, &argv[1])?;
    Ok(Frame::Integer(h.is_some_and(|h| h.get(&argv[2]).is_some()) as i64))
}

pub(super) fn hstrlen(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let h = get_typed::<HashValue>(data, ctx, &argv[1])?;
    Ok(Frame::Integer(h.and_then(|h| h.get(&argv[2]).map(|v| v.len() as i64)).unwrap_or(0)))
}

/// `HINCRBY key field increment`; propagated as given.
pub(super) fn hincrby(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let Some(incr) = parse_i64(&argv[3]) else {
        return Err(not_an_integer());
    };
    let (mut hash, existed) = match get_typed::<HashValue>(data, ctx, &argv[1])? {
        Some(h) => (h, true),
        None => (HashValue::default(), false),
    };
    let old = match hash.get(&argv[2]) {
        Some(v) => match parse_i64(v) {
            Some(n) => n,
            None => return Err(Frame::error("ERR hash value is not an integer")),
        },
        None => 0,
    };
    let Some(new) = old.checked_add(incr) else {
        return Err(Frame::error("ERR increment or decrement would overflow"));
    };
    hash.insert(argv[2].clone(), new.to_string().into_bytes());
    store_typed(data, ctx, &argv[1], hash, existed);
    ctx.propagate(argv.to_vec());
    Ok(Frame::Integer(new))
}

/// `HINCRBYFLOAT key field increment`, in long double; propagated as `HSET key field <result>`
/// so that replicas never redo the float arithmetic.
pub(super) fn hincrbyfloat(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let Some(incr) = long_double::parse(&argv[3]) else {
        return Err(Frame::error("ERR value is not a valid float"));
    };
    if incr.is_infinite() {
        return Err(Frame::error("ERR value is NaN or Infinity"));
    }
    let (mut hash, existed) = match get_typed::<HashValue>(data, ctx, &argv[1])? {
        Some(h) => (h, true),
        None => (HashValue::default(), false),
    };
    let old = match hash.get(&argv[2]) {
        Some(v) => match long_double::parse(v) {
            Some(n) => n,
            None => return Err(Frame::error("ERR hash value is not a float")),
        },
        None => LongDouble::ZERO,
    };
    let Some(new) = old.add(incr).filter(|v| !v.is_infinite()) else {
        return Err(Frame::error("ERR increment would produce NaN or Infinity"));
    };
    let text = new.to_human().into_bytes();
    hash.insert(argv[2].clone(), text.clone());
    store_typed(data, ctx, &argv[1], hash, existed);
    ctx.propagate(vec![b"HSET".to_vec(), argv[1].clone(), argv[2].clone(), text.clone()]);
    Ok(Frame::Bulk(text))
}

/// A uniform index below `n` (n > 0) from the node's seeded generator.
fn random_index(data: &mut Data<'_>, n: usize) -> usize {
    (data.rng.next_u64() % n as u64) as usize
}

/// `HRANDFIELD key [count [WITHVALUES]]`, with Redis's rules: a positive count gives distinct
/// fields (the whole hash if the count reaches its size, else a sample in hash order, as from a
/// listpack), a negative count allows repeats and gives exactly |count| picks.
pub(super) fn hrandfield(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    if argv.len() < 3 {
        return Ok(match get_typed::<HashValue>(data, ctx, &argv[1])? {
            None => Frame::Null,
            Some(h) => {
                let i = random_index(data, h.len());
                h.iter().nth(i).map_or(Frame::Null, |(f, _)| Frame::Bulk(f.to_vec()))
            }
        });
    }
    let Some(l) = parse_i64(&argv[2]) else {
        return Err(not_an_integer());
    };
    if l == i64::MIN {
        return Err(Frame::error(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    if argv.len() > 4 || (argv.len() == 4 && !argv[3].eq_ignore_ascii_case(b"withvalues")) {
        return Err(syntax_error());
    }
    let withvalues = argv.len() == 4;
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(Frame::error("ERR value is out of range"));
    }
    let hash = match get_typed::<HashValue>(data, ctx, &argv[1])? {
        Some(h) => h,
        None => return Ok(Frame::Array(Vec::new())),
    };
    let count = l.unsigned_abs();
    if count == 0 {
        return Ok(Frame::Array(Vec::new()));
    }
    let entries: Vec<(&[u8], &[u8])> = hash.iter().collect();
    let size = entries.len();
    let mut out = Vec::new();
    let mut emit = |(f, v): (&[u8], &[u8])| {
        out.push(Frame::Bulk(f.to_vec()));
        if withvalues {
            out.push(Frame::Bulk(v.to_vec()));
        }
    };
    if l < 0 || count == 1 {
        if count > RANDOM_REPLY_LIMIT {
            return Err(Frame::error(format!(
                "ERR the lab answers at most {RANDOM_REPLY_LIMIT} random picks (Redis would stream them all)"
            )));
        }
        for _ in 0..count {
            let i = random_index(data, size);
            emit(entries[i]);
        }
    } else if count >= size as u64 {
        entries.into_iter().for_each(emit);
    } else {
        // Selection sampling: `count` distinct fields, kept in hash order.
        let mut needed = count;
        for (seen, e) in entries.iter().enumerate() {
            let remaining = (size - seen) as u64;
            if data.rng.next_u64() % remaining < needed {
                emit(*e);
                needed -= 1;
                if needed == 0 {
                    break;
                }
            }
        }
    }
    Ok(Frame::Array(out))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::commands::long_double::parse;
    use crate::node::commands::testutil::{node, run, streaming_pair, world};
    use crate::resp::{encode_command, Frame};

    fn argv(line: &str) -> Vec<Vec<u8>> {
        line.split(' ').map(|a| a.as_bytes().to_vec()).collect()
    }

    /// `a + b` as HINCRBYFLOAT answers it, or None where it errs.
    fn sum(a: &str, b: &str) -> Option<String> {
        let s = parse(a.as_bytes())?.add(parse(b.as_bytes())?)?;
        (!s.is_infinite()).then(|| s.to_human())
    }

    #[test]
    fn long_double_matches_redis() {
        // Each expectation is what redis-server 7.0.15 (x86-64) answers to HINCRBYFLOAT.
        assert_eq!(sum("0", "0.1").as_deref(), Some("0.1"));
        assert_eq!(sum("0.1", "1e3").as_deref(), Some("1000.09999999999999998"));
        assert_eq!(sum("10.5", "0.1").as_deref(), Some("10.6"));
        assert_eq!(sum("0", "-1e-30").as_deref(), Some("0"));
        assert_eq!(sum("0", "-0").as_deref(), Some("0"));
        assert_eq!(sum("0", "0x1p-18").as_deref(), Some("0.00000381469726562"));
        assert_eq!(sum("0", "0x3p-18").as_deref(), Some("0.00001144409179688"));
        assert_eq!(sum("9223372036854775807", "1").as_deref(), Some("9223372036854775808"));
        assert_eq!(sum("0", "18446744073709551617").as_deref(), Some("18446744073709551616"));
        assert_eq!(sum("0", "1.5e-17").as_deref(), Some("0.00000000000000002"));
        assert_eq!(sum("0", "5e-18").as_deref(), Some("0"));
        assert_eq!(sum("0", "0x1.fffffffffffffffe8p0").as_deref(), Some("2"));
        assert_eq!(
            sum("3.14159265358979324", "2.71828182845904523536028747135266249").as_deref(),
            Some("5.85987448204883848")
        );
        assert_eq!(sum("0", "3.6e-4951").as_deref(), Some("0"));
        assert!(sum("0", "1e4930").is_some_and(|s| s.len() == 4931 && s.starts_with("10000000000000000000261737")));
        assert_eq!(sum("1e4932", "1e4932"), None, "overflow");
        for bad in ["", " 1", "1 ", "nan", "1e", "1e+", ".", "0x", "0x1p", "1.5.5", "1e5000", "1e-5000", "1e-4952"] {
            assert_eq!(parse(bad.as_bytes()), None, "{bad:?}");
        }
        for good in ["inf", "-Infinity", ".5", "5.", "+1.25", "1E3", "0x.8p1", "1e-4940", "1.9e-4951"] {
            assert!(parse(good.as_bytes()).is_some(), "{good:?}");
        }
    }

    #[test]
    fn fields_in_insertion_order() {
        let mut w = world();
        assert_eq!(w.console(0, "HSET h b 1 a 2 b 3"), "(integer) 2");
        assert_eq!(w.console(0, "HMSET h c 4"), "OK");
        assert_eq!(w.console(0, "HGETALL h"), "1) \"b\"\n2) \"3\"\n3) \"a\"\n4) \"2\"\n5) \"c\"\n6) \"4\"");
        assert_eq!(w.console(0, "HKEYS h"), "1) \"b\"\n2) \"a\"\n3) \"c\"");
        assert_eq!(w.console(0, "HVALS h"), "1) \"3\"\n2) \"2\"\n3) \"4\"");
        assert_eq!(w.console(0, "HMGET h a zz"), "1) \"2\"\n2) (nil)");
        assert_eq!(w.console(0, "HSETNX h a 9"), "(integer) 0");
        assert_eq!(w.console(0, "HDEL h a zz"), "(integer) 1");
        assert_eq!(w.console(0, "HLEN h"), "(integer) 2");
        assert_eq!(w.console(0, "HEXISTS h a"), "(integer) 0");
        assert_eq!(w.console(0, "HSTRLEN h b"), "(integer) 1");
        assert_eq!(w.console(0, "HSET h a"), "(error) ERR wrong number of arguments for 'hset' command");
        assert_eq!(w.console(0, "HMSET h a 1 b"), "(error) ERR wrong number of arguments for 'hmset' command");
        assert_eq!(w.console(0, "HDEL h b c"), "(integer) 2");
        assert_eq!(w.console(0, "EXISTS h"), "(integer) 0");
        w.console(0, "SET s x");
        assert_eq!(
            w.console(0, "HGET s a"),
            "(error) WRONGTYPE Operation against a key holding the wrong kind of value"
        );
    }

    #[test]
    fn increments() {
        let mut w = world();
        w.console(0, "HSET h str abc big 9223372036854775807 sp \" 1\"");
        assert_eq!(w.console(0, "HINCRBY h n 5"), "(integer) 5");
        assert_eq!(w.console(0, "HINCRBY h n x"), "(error) ERR value is not an integer or out of range");
        assert_eq!(w.console(0, "HINCRBY h str 1"), "(error) ERR hash value is not an integer");
        assert_eq!(w.console(0, "HINCRBY h big 1"), "(error) ERR increment or decrement would overflow");
        assert_eq!(w.console(0, "HINCRBYFLOAT h f 10.5"), "\"10.5\"");
        assert_eq!(w.console(0, "HINCRBYFLOAT h f 0.1"), "\"10.6\"");
        assert_eq!(w.console(0, "HINCRBYFLOAT h str 1"), "(error) ERR hash value is not a float");
        assert_eq!(w.console(0, "HINCRBYFLOAT h sp 1"), "(error) ERR hash value is not a float");
        assert_eq!(w.console(0, "HINCRBYFLOAT h f abc"), "(error) ERR value is not a valid float");
        assert_eq!(w.console(0, "HINCRBYFLOAT h f inf"), "(error) ERR value is NaN or Infinity");
        w.console(0, "HSET h i inf");
        assert_eq!(w.console(0, "HINCRBYFLOAT h i 1"), "(error) ERR increment would produce NaN or Infinity");
    }

    #[test]
    fn hincrbyfloat_propagates_as_hset() {
        let mut n = node();
        let (r, p) = run(&mut n, "HINCRBYFLOAT h f 0.1");
        assert_eq!(r, Frame::bulk("0.1"));
        assert_eq!(p, vec![argv("HSET h f 0.1")]);
        assert_eq!(run(&mut n, "HSETNX h f 1").1, Vec::<Vec<Vec<u8>>>::new());
        assert_eq!(run(&mut n, "HDEL h zz").1, Vec::<Vec<Vec<u8>>>::new());
        assert_eq!(run(&mut n, "HSET h f 0.1").1, vec![argv("HSET h f 0.1")], "HSET always propagates");
        assert_eq!(run(&mut n, "HINCRBY h n 0").1, vec![argv("HINCRBY h n 0")]);
    }

    #[test]
    fn hrandfield_shapes() {
        let mut n = node();
        assert_eq!(run(&mut n, "HRANDFIELD nokey").0, Frame::Null);
        assert_eq!(run(&mut n, "HRANDFIELD nokey 3").0, Frame::Array(vec![]));
        run(&mut n, "HSET h a 1 b 2 c 3 d 4 e 5");
        let fields = ["a", "b", "c", "d", "e"];
        let names = |f: Frame| match f {
            Frame::Array(v) => v,
            other => panic!("{other:?}"),
        };
        // The whole hash, in order, when the count reaches its size.
        assert_eq!(names(run(&mut n, "HRANDFIELD h 9").0), fields.iter().map(Frame::bulk).collect::<Vec<_>>());
        for _ in 0..20 {
            // Distinct fields in hash order.
            let got = names(run(&mut n, "HRANDFIELD h 3").0);
            assert_eq!(got.len(), 3);
            let pos: Vec<usize> =
                got.iter().map(|g| fields.iter().position(|f| Frame::bulk(f) == *g).expect("a field")).collect();
            assert!(pos.windows(2).all(|w| w[0] < w[1]), "{pos:?}");
            // Repeats allowed with a negative count: exactly |count| picks, pairs with values.
            let got = names(run(&mut n, "HRANDFIELD h -7 WITHVALUES").0);
            assert_eq!(got.len(), 14);
            for pair in got.chunks(2) {
                let i = fields.iter().position(|f| Frame::bulk(f) == pair[0]).expect("a field");
                assert_eq!(pair[1], Frame::bulk((i + 1).to_string()));
            }
            assert!(matches!(run(&mut n, "HRANDFIELD h").0, Frame::Bulk(_)));
        }
        assert_eq!(run(&mut n, "HRANDFIELD h 0").0, Frame::Array(vec![]));
        assert_eq!(run(&mut n, "HRANDFIELD h 1 withvalue").0, Frame::error("ERR syntax error"));
        assert_eq!(
            run(&mut n, "HRANDFIELD h -9223372036854775808").0,
            Frame::error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
        );
        assert_eq!(
            run(&mut n, "HRANDFIELD h 4611686018427387904 WITHVALUES").0,
            Frame::error("ERR value is out of range")
        );
    }

    #[test]
    fn replica_follows() {
        let mut w = streaming_pair(3);
        for line in ["HSET h a 1 b 2", "HSETNX h a 3", "HDEL h zz", "HDEL h b", "HINCRBY h a 5", "HINCRBYFLOAT h f 1.5"]
        {
            w.console(0, line);
        }
        w.run_for_ms(1_000);
        let t = String::from_utf8_lossy(w.transcript(0, 1)).into_owned();
        let stream = &t[t.find("*2\r\n$6\r\nSELECT").unwrap_or(0)..];
        let expected: Vec<u8> = ["SELECT 0", "HSET h a 1 b 2", "HDEL h b", "HINCRBY h a 5", "HSET h f 1.5"]
            .iter()
            .flat_map(|l| encode_command(&l.split(' ').collect::<Vec<_>>()))
            .collect();
        assert_eq!(stream, String::from_utf8_lossy(&expected));
        assert_eq!(w.console(1, "HGETALL h"), "1) \"a\"\n2) \"6\"\n3) \"f\"\n4) \"1.5\"");
        assert_eq!(w.node(0).digest(), w.node(1).digest());
    }
}
