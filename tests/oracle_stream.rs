//! Differential oracle for the replication stream: attach to a real redis-server 7.0.15 and to our
//! `repl-lab server` as a replica would, run the same writes on both, and compare the two command
//! streams frame by frame.
//!
//! The attach is the one Redis's own test helper (`attach_to_replication_stream`) uses: raw
//! `SYNC\r\n` after `CONFIG SET repl-ping-replica-period 3600` (so no PING interleaves), skip the
//! newline keepalives, read the `$<len>` payload (`repl-diskless-sync no` on both, so it comes at
//! once with that framing; `$EOF:` is accepted too), then read commands.
//!
//! The writes cover the rewrites of REDIS-REPLICATION.md §7.2: SET EX → SET PXAT, SETEX, PSETEX,
//! EXPIRE → PEXPIREAT, a past expiry → DEL, GETEX, GETDEL → DEL, INCRBYFLOAT → SET KEEPTTL,
//! GETSET → SET, SET GET without GET, SPOP → SREM/DEL, LMOVE, RPOPLPUSH, SELECT on a db change,
//! MULTI/EXEC only around more than one write, nothing for no-op writes, FLUSHALL/FLUSHDB always.
//! Absolute ms timestamps computed from the clock (PXAT, PEXPIREAT) are replaced by a placeholder
//! after checking the two servers' values are within a few seconds of each other.

#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{decode, show_argv, split, start_redis, start_repl_lab, Client, ServerGuard};
use redis_repl_lab::resp::Frame;

/// Writes in the order they run; each line is a redis-cli style command.
const WRITES: &[&str] = &[
    // Plain writes, argument case preserved.
    "set plain v",
    "SET k1 v1",
    "INCR counter",
    "MSET m1 a m2 b",
    "APPEND k1 x",
    // Relative expiries become absolute.
    "SET k2 v2 EX 100",
    "SET k2b v PX 100000",
    "SET k2c v EXAT 4102444800",
    "SET k2d v PXAT 4102444800123",
    "SETEX k3 100 v3",
    "PSETEX k4 100000 v4",
    "SET k1 v KEEPTTL",
    "EXPIRE k1 100",
    "PEXPIRE k1 200000",
    "EXPIREAT k1 4102444800",
    "PEXPIREAT k1 4102444800999",
    "EXPIRE k1 100 NX",
    "PERSIST k1",
    "PERSIST k1",
    "EXPIRE k1 100 XX",
    // A past expiry deletes the key: DEL.
    "SET gone 1",
    "EXPIRE gone -1",
    "SET gone2 1",
    "PEXPIREAT gone2 1000",
    "SET gone3 1",
    "SET gone3 2 EXAT 1",
    // GETEX.
    "SET g v",
    "GETEX g",
    "GETEX g EX 100",
    "GETEX g PX 100000",
    "GETEX g EXAT 4102444800",
    "GETEX g PXAT 4102444800000",
    "GETEX g PERSIST",
    "GETEX g PERSIST",
    "GETEX g EXAT 1",
    "GETEX nosuch EX 100",
    // GETDEL, INCRBYFLOAT, GETSET, SET GET.
    "SET gd v",
    "GETDEL gd",
    "GETDEL gd",
    "INCRBYFLOAT f 1.5",
    "SET f 10 EX 1000",
    "INCRBYFLOAT f 0.25",
    "GETSET gs new",
    "SET gs v2 GET",
    "SET gs v3 NX GET",
    // SPOP: SREM for one member, DEL when the count covers the set.
    "SADD s1 only",
    "SPOP s1",
    "SADD s2 a b c",
    "SPOP s2 10",
    "SPOP nosuch",
    "SADD s3 x",
    "SPOP s3 1",
    // Lists.
    "RPUSH l1 a b c",
    "LMOVE l1 l2 LEFT RIGHT",
    "RPOPLPUSH l1 l2",
    "RPOPLPUSH nosuch l2",
    "LPOP l2",
    "RPOP l2 5",
    "LPUSHX nosuch x",
    // Hashes, sets, sorted sets.
    "HSET h f v g w",
    "HSET h f v",
    "HINCRBYFLOAT h n 1.5",
    "HDEL h nosuch",
    "HDEL h f",
    "SADD t 1 2",
    "SADD t 1",
    "SREM t nosuch",
    "SMOVE t t2 1",
    "SINTERSTORE t3 t t2",
    "ZADD z 1 a 2 b",
    "ZADD z NX 5 a",
    "ZINCRBY z 2 a",
    "ZPOPMIN z",
    "ZREMRANGEBYSCORE z 100 200",
    // No-op writes propagate nothing.
    "DEL nosuch",
    "UNLINK nosuch",
    "EXPIRE nosuch 100",
    "SET plain x NX",
    "SET nosuch x XX",
    "RENAMENX k1 plain",
    "MSETNX plain 1 new 2",
    // Key commands.
    "RENAME plain renamed",
    "COPY renamed copied",
    "MOVE copied 2",
    "DEL renamed counter",
    // SELECT when the database changes.
    "SELECT 1",
    "SET in1 v",
    "SET in1b v",
    "SELECT 0",
    "SET back0 v",
    "SELECT 3",
    "DEL nosuch",
    "SELECT 0",
    "SET still0 v",
    "SWAPDB 0 1",
    "SET after_swap v",
    // MULTI/EXEC: wrapped only when more than one write propagates.
    "MULTI",
    "SET t1 1",
    "SET t2 2",
    "EXEC",
    "MULTI",
    "SET t3 3",
    "GET t3",
    "EXEC",
    "MULTI",
    "GET t3",
    "EXEC",
    "MULTI",
    "DEL nosuch",
    "SET t4 4 EX 100",
    "EXEC",
    "MULTI",
    "SET t5 5",
    "SELECT 2",
    "SET t6 6",
    "SELECT 0",
    "EXEC",
    "MULTI",
    "INCR t7",
    "DISCARD",
    // FLUSHDB / FLUSHALL are always propagated, even on empty databases.
    "SELECT 5",
    "FLUSHDB",
    "SELECT 0",
    "FLUSHALL",
    "FLUSHALL",
    "SET last v",
];

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Attaches to a server as Redis's test helper does and returns the connection positioned at
/// the first byte of the command stream.
fn attach(server: &ServerGuard) -> Client {
    let mut admin = server.client();
    for c in ["CONFIG SET repl-ping-replica-period 3600", "CONFIG SET repl-diskless-sync no"] {
        let r = admin.cmd(c);
        assert_eq!(r, b"+OK\r\n", "{} on {}: {}", c, server.name, common::show(&r));
    }
    let mut replica = server.client();
    replica.send_raw(b"SYNC\r\n");
    let line = replica.read_line_skipping_newlines();
    if let Some(mark) = line.strip_prefix(b"$EOF:") {
        // Diskless: the payload ends with the same 40-byte mark.
        let mark = mark.to_vec();
        let mut payload = Vec::new();
        while !payload.ends_with(&mark) {
            payload.extend(replica.read_exact_bytes(1));
        }
    } else {
        let text = String::from_utf8_lossy(&line).into_owned();
        let len: usize = text
            .strip_prefix('$')
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{}: SYNC answered {text:?}", server.name));
        let rdb = replica.read_exact_bytes(len);
        assert!(rdb.starts_with(b"REDIS"), "{}: payload is not an RDB", server.name);
    }
    replica
}

/// One propagated command with clock-derived timestamps replaced; the timestamps apart.
fn normalise(frame: &Frame) -> (String, Vec<i64>) {
    let now = now_ms();
    let mut stamps = Vec::new();
    let Frame::Array(items) = frame else {
        return (format!("(not a command) {frame:?}"), stamps);
    };
    let argv: Vec<Vec<u8>> = items
        .iter()
        .map(|i| match i {
            Frame::Bulk(b) => {
                let n = std::str::from_utf8(b).ok().and_then(|s| s.parse::<i64>().ok());
                match n {
                    // An absolute ms time computed from the clock: within a day of now.
                    Some(n) if (now - 86_400_000..now + 86_400_000).contains(&n) => {
                        stamps.push(n);
                        b"<abs-ms>".to_vec()
                    }
                    _ => b.clone(),
                }
            }
            other => format!("{other:?}").into_bytes(),
        })
        .collect();
    (show_argv(&argv), stamps)
}

/// Reads the stream until the final `SET last v` and returns the commands.
fn read_stream(replica: &mut Client, name: &str) -> Vec<(String, Vec<i64>)> {
    let mut out = Vec::new();
    loop {
        let (cmd, stamps) = normalise(&replica.read_frame());
        let done = cmd == "SET last v";
        out.push((cmd, stamps));
        if done {
            return out;
        }
        assert!(out.len() < 10_000, "{name}: no end marker in the stream");
    }
}

#[test]
fn replication_streams_match_real_redis() {
    let redis = start_redis(&[]);
    // REPL_LAB_ORACLE_SELF=1: a second redis-server in place of ours, to check the normalisation.
    let ours = if std::env::var("REPL_LAB_ORACLE_SELF").is_ok_and(|v| v == "1") {
        start_redis(&[])
    } else {
        start_repl_lab(&[])
    };
    // Redis's replication cron pings replicas on the loops that are multiples of the period,
    // including its very first (at about 1 s of uptime): attach after that, as the test helper's
    // servers do, so the stream holds no ping.
    std::thread::sleep(Duration::from_millis(1500));
    let mut streams = Vec::new();
    for server in [&redis, &ours] {
        let mut replica = attach(server);
        let mut client = server.client();
        // Keys that the writes leave expired would otherwise be deleted by the active expire
        // cycle at a moment set by the wall clock, and their DEL land between different writes
        // on the two servers. Lazy expiry (on access) is what the writes themselves test.
        assert_eq!(client.call(&split("DEBUG SET-ACTIVE-EXPIRE 0")), b"+OK\r\n");
        for w in WRITES {
            let reply = client.call(&split(w));
            assert!(!reply.is_empty());
        }
        streams.push(read_stream(&mut replica, server.name));
        // Nothing more may follow the marker.
        replica.poll(Duration::from_millis(200));
        let extra = replica.pending().to_vec();
        if !extra.is_empty() {
            let f = decode(&extra);
            if let Some(s) = streams.last_mut() {
                s.push((format!("(after the end) {}", normalise(&f).0), Vec::new()));
            }
        }
    }
    let (r, o) = (&streams[0], &streams[1]);
    let show = |s: &[(String, Vec<i64>)]| s.iter().map(|(c, _)| format!("    {c}\n")).collect::<String>();
    let first_diff = (0..r.len().max(o.len())).find(|&i| r.get(i).map(|x| &x.0) != o.get(i).map(|x| &x.0));
    if let Some(i) = first_diff {
        let from = i.saturating_sub(5);
        panic!(
            "the streams differ at command #{i}:\n  redis: {:?}\n  ours:  {:?}\ncontext from #{from}:\n  redis:\n{}  ours:\n{}\nfull redis stream:\n{}full ours stream:\n{}",
            r.get(i).map(|x| &x.0),
            o.get(i).map(|x| &x.0),
            show(&r[from.min(r.len())..(i + 3).min(r.len())]),
            show(&o[from.min(o.len())..(i + 3).min(o.len())]),
            show(r),
            show(o)
        );
    }
    for ((cmd, a), (_, b)) in r.iter().zip(o) {
        assert_eq!(a.len(), b.len(), "{cmd}");
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 5_000, "{cmd}: timestamps {x} (redis) and {y} (ours) are too far apart");
        }
    }
    println!("{} propagated commands match:\n{}", r.len(), show(r));
}
