//! The expiry family: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX/XX/GT/LT), TTL, PTTL,
//! EXPIRETIME, PEXPIRETIME, PERSIST. Kept apart from the other key commands because this is where
//! replication rewrites time: every relative or second-based expiry reaches replicas as an
//! absolute `PEXPIREAT` in milliseconds, and an expiry already in the past as a `DEL`.

use super::keys::{cstr, key_live};
use super::{flags, not_an_integer, parse_i64, Answer, Command, Ctx, Data, DataFn};
use crate::resp::Frame;

/// Expiry commands.
pub(super) const COMMANDS: &[Command<DataFn>] = &[
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

fn expire(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let now = data.unix_ms();
    expire_generic(data, ctx, argv, now, true, "expire")
}

fn pexpire(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    let now = data.unix_ms();
    expire_generic(data, ctx, argv, now, false, "pexpire")
}

fn expireat(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    expire_generic(data, ctx, argv, 0, true, "expireat")
}

fn pexpireat(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    expire_generic(data, ctx, argv, 0, false, "pexpireat")
}

/// Redis's `checkAlreadyExpired`: a time in the past deletes the key at once, except on a
/// replica, which keeps it until its master's DEL.
pub(super) fn already_expired(data: &Data<'_>, at_ms: i64) -> bool {
    at_ms <= data.unix_ms() && !data.is_replica()
}

/// Redis's `expireGenericCommand`: options first, then the time, then the key.
fn expire_generic(
    data: &mut Data<'_>,
    ctx: &mut Ctx,
    argv: &[Vec<u8>],
    base: i64,
    seconds: bool,
    name: &str,
) -> Answer {
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
            return Err(Frame::error(format!("ERR Unsupported option {text}")));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(Frame::error("ERR NX and XX, GT or LT options at the same time are not compatible"));
    }
    if gt && lt {
        return Err(Frame::error("ERR GT and LT options at the same time are not compatible"));
    }
    let Some(mut when) = parse_i64(&argv[2]) else {
        return Err(not_an_integer());
    };
    let invalid = || Err(Frame::error(format!("ERR invalid expire time in '{name}' command")));
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
    if !key_live(data, ctx, key) {
        return Ok(Frame::Integer(0));
    }
    let current = data.keyspace.db(ctx.db).expire_at(key);
    if (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.is_none_or(|c| when <= c))
        || (lt && current.is_some_and(|c| when >= c))
    {
        return Ok(Frame::Integer(0));
    }
    if already_expired(data, when) {
        data.keyspace.db_mut(ctx.db).remove(key);
        ctx.propagate(vec![b"DEL".to_vec(), key.clone()]);
        return Ok(Frame::Integer(1));
    }
    data.keyspace.db_mut(ctx.db).set_expire(key, when);
    let mut out = argv.to_vec();
    if name != "pexpireat" {
        out[0] = b"PEXPIREAT".to_vec();
        out[2] = when.to_string().into_bytes();
    }
    ctx.propagate(out);
    Ok(Frame::Integer(1))
}

fn ttl(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    ttl_generic(data, ctx, argv, false, false)
}

fn pttl(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    ttl_generic(data, ctx, argv, true, false)
}

fn expiretime(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    ttl_generic(data, ctx, argv, false, true)
}

fn pexpiretime(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    ttl_generic(data, ctx, argv, true, true)
}

/// -2 for a missing (or, to a replica's clients, logically expired) key, -1 without expiry;
/// seconds are rounded to the nearest, as Redis's `(ttl+500)/1000`.
fn ttl_generic(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>], ms: bool, absolute: bool) -> Answer {
    if !key_live(data, ctx, &argv[1]) {
        return Ok(Frame::Integer(-2));
    }
    let Some(at) = data.keyspace.db(ctx.db).expire_at(&argv[1]) else {
        return Ok(Frame::Integer(-1));
    };
    let t = if absolute { at } else { at - data.unix_ms() }.max(0);
    Ok(Frame::Integer(if ms { t } else { ((t as i128 + 500) / 1000) as i64 }))
}

fn persist(data: &mut Data<'_>, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Answer {
    if key_live(data, ctx, &argv[1]) && data.keyspace.db_mut(ctx.db).remove_expire(&argv[1]) {
        ctx.propagate(argv.to_vec());
        return Ok(Frame::Integer(1));
    }
    Ok(Frame::Integer(0))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::node::commands::testutil::{streaming_pair, world};

    use crate::resp::encode_command;

    #[test]
    fn options_and_errors_as_redis() {
        let mut w = world();
        w.console(0, "SET a 1");
        // Replies checked against redis-server 7.0.15.
        let both = "(error) ERR NX and XX, GT or LT options at the same time are not compatible";
        assert_eq!(w.console(0, "EXPIRE a 10 nx xx"), both);
        assert_eq!(w.console(0, "EXPIRE a 10 nx gt"), both);
        assert_eq!(
            w.console(0, "EXPIRE a 10 gt lt"),
            "(error) ERR GT and LT options at the same time are not compatible"
        );
        assert_eq!(w.console(0, "EXPIRE a 10 foo"), "(error) ERR Unsupported option foo");
        assert_eq!(w.console(0, "EXPIRE a 99999999999999999"), "(error) ERR invalid expire time in 'expire' command");
        assert_eq!(
            w.console(0, "PEXPIRE a 9223372036854775807"),
            "(error) ERR invalid expire time in 'pexpire' command"
        );
        assert_eq!(w.console(0, "EXPIRE a abc"), "(error) ERR value is not an integer or out of range");
        assert_eq!(w.console(0, "EXPIRE a 10 gt"), "(integer) 0");
        assert_eq!(w.console(0, "EXPIRE a 10 xx"), "(integer) 0");
        assert_eq!(w.console(0, "EXPIRE a 10 lt"), "(integer) 1");
        assert_eq!(w.console(0, "EXPIRE a 5 nx"), "(integer) 0");
        assert_eq!(w.console(0, "EXPIRE a 20 lt"), "(integer) 0");
        assert_eq!(w.console(0, "EXPIRE a 20 gt"), "(integer) 1");
        assert_eq!(w.console(0, "TTL a"), "(integer) 20");
        assert_eq!(w.console(0, "PTTL a"), "(integer) 20000");
        assert_eq!(w.console(0, "EXPIRETIME a"), "(integer) 1767225620");
        assert_eq!(w.console(0, "PEXPIRETIME a"), "(integer) 1767225620000");
        assert_eq!(w.console(0, "PERSIST a"), "(integer) 1");
        assert_eq!(w.console(0, "PERSIST a"), "(integer) 0");
        assert_eq!(w.console(0, "TTL a"), "(integer) -1");
        assert_eq!(w.console(0, "EXPIRETIME a"), "(integer) -1");
        assert_eq!(w.console(0, "TTL nokey"), "(integer) -2");
        assert_eq!(w.console(0, "EXPIRE nokey 10"), "(integer) 0");
        assert_eq!(w.console(0, "PEXPIREAT a 9223372036854775807"), "(integer) 1");
        assert_eq!(w.console(0, "EXPIRETIME a"), "(integer) 9223372036854776");
        assert_eq!(w.console(0, "EXPIREAT a -5"), "(integer) 1");
        assert_eq!(w.console(0, "EXISTS a"), "(integer) 0");
    }

    #[test]
    fn propagated_as_pexpireat_or_del() {
        let mut w = streaming_pair(1);
        let base = crate::node::EPOCH_UNIX_MS + 8_000;
        for line in [
            "SET a 1",
            "EXPIRE a 100 nx",
            "PEXPIRE a 100000 XX",
            "EXPIREAT a 4102444800",
            "pexpireat a 4102444800001",
            "EXPIRE a 100 gt",
            "PERSIST a",
            "PERSIST a",
            "EXPIRE a -1",
        ] {
            w.console(0, line);
        }
        w.run_for_ms(1_000);
        let t = String::from_utf8_lossy(w.transcript(0, 1)).into_owned();
        let stream = &t[t.find("*2\r\n$6\r\nSELECT").unwrap_or(0)..];
        let lines = [
            "SELECT 0".to_string(),
            "SET a 1".into(),
            format!("PEXPIREAT a {} nx", base + 100_000),
            format!("PEXPIREAT a {} XX", base + 100_000),
            "PEXPIREAT a 4102444800000".into(),
            "pexpireat a 4102444800001".into(),
            "PERSIST a".into(),
            "DEL a".into(),
        ];
        let expected: Vec<u8> = lines.iter().flat_map(|l| encode_command(&l.split(' ').collect::<Vec<_>>())).collect();
        assert_eq!(stream, String::from_utf8_lossy(&expected));
        assert_eq!(w.node(0).digest(), w.node(1).digest());
    }

    #[test]
    fn replica_hides_expired_keys_without_deleting() {
        let mut w = world();
        w.add_node();
        w.console(1, "REPLICAOF 127.0.0.1 6379");
        w.run_for_ms(8_000);
        w.console(0, "DEBUG SET-ACTIVE-EXPIRE 0");
        w.console(0, "SET k v PX 100");
        w.run_for_ms(1_000);
        assert_eq!(w.console(1, "TTL k"), "(integer) -2");
        assert_eq!(w.console(1, "PTTL k"), "(integer) -2");
        assert_eq!(w.console(1, "GET k"), "(nil)");
        assert_eq!(w.console(1, "DBSIZE"), "(integer) 1");
        assert_eq!(w.console(0, "GET k"), "(nil)");
        w.run_for_ms(1_000);
        assert_eq!(w.console(1, "DBSIZE"), "(integer) 0");
    }
}
