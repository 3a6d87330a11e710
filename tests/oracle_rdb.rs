//! Oracle: the RDB a node writes for a full sync is accepted by Redis's own tools.
//! `redis-check-rdb` validates it, and a real redis-server 7.0.15 loads it at start-up with the
//! same contents. The test starts that server on a free loopback port (tests/common) and stops it by pid.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::process::Command;

use common::{start_redis, temp_dir, tool, Client};
use redis_repl_lab::sim::World;

fn sample_world() -> World {
    let mut w = World::new(5);
    w.add_node();
    w.console(0, "DEBUG POPULATE 300 key 40");
    w.console(0, "SET small 7");
    w.console(0, "SET negative -70000");
    w.console(0, "SET text \"hello world\"");
    w.console(0, &format!("SET long {}", "abc".repeat(50)));
    w.console(0, "SET ttl v EXAT 4102444800");
    w.console(0, "SELECT 3");
    w.console(0, "SET other db3");
    w
}

#[test]
fn redis_check_rdb_accepts_our_file() {
    let w = sample_world();
    let dir = temp_dir("check");
    let path = dir.join("dump.rdb");
    std::fs::write(&path, w.node(0).rdb_snapshot()).unwrap();
    let out = Command::new(tool("redis-check-rdb")).arg(&path).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("RDB looks OK"), "{text}");
    assert!(text.contains("redis-ver = '7.0.15'"), "{text}");
}

#[test]
fn real_redis_loads_our_file_with_the_same_contents() {
    let w = sample_world();
    let dir = temp_dir("load");
    std::fs::write(dir.join("dump.rdb"), w.node(0).rdb_snapshot()).unwrap();
    let dir_arg = dir.to_string_lossy().into_owned();
    let server = start_redis(&["--dir", &dir_arg]);
    let mut redis = Client::connect(server.port);
    let ours = w.node(0).keyspace();
    for (db, key) in
        [(0, "small"), (0, "negative"), (0, "text"), (0, "long"), (0, "key:0"), (0, "key:299"), (3, "other")]
    {
        let Some(redis_repl_lab::keyspace::Value::Str(v)) = ours.db(db).get_raw(key.as_bytes()) else {
            panic!("{key} missing from our dataset");
        };
        let db_s = db.to_string();
        let got = redis.pipeline(&[vec!["SELECT", db_s.as_str()], vec!["GET", key]]);
        assert_eq!(got[0], b"+OK\r\n");
        assert_eq!(got[1], redis_repl_lab::resp::Frame::Bulk(v.clone()).encode(), "key {key}");
    }
    assert_eq!(redis.call(&["SELECT", "0"]), b"+OK\r\n");
    assert_eq!(redis.call(&["DBSIZE"]), b":305\r\n");
    let pttl = String::from_utf8(redis.call(&["PEXPIRETIME", "ttl"])).unwrap();
    let at: i64 = pttl.trim_start_matches(':').trim().parse().unwrap();
    assert_eq!(Some(at), ours.db(0).expire_at(b"ttl"));
    assert!(String::from_utf8_lossy(&redis.call(&["INFO", "keyspace"])).contains("db3:keys=1,expires=0"));
}

/// Every value type our writer emits (legacy list, set, hash, zset2, strings of each encoding)
/// is loaded by a real redis-server with the same contents, in Redis's order where it has one.
#[test]
fn real_redis_loads_every_type_we_write() {
    let mut w = World::new(6);
    w.add_node();
    let setup = [
        "RPUSH list a bb 12 -5 \"with space\"",
        "HSET hash f1 v1 f2 2 f3 \"x y\"",
        "SADD ints 10 -3 2",
        "SADD strs apple banana cherry",
        "ZADD zset 1.5 m1 -inf low +inf high 2 m2 2 m0",
        "SET plain hello",
        "RPUSH ttl-list x",
        "PEXPIREAT ttl-list 4102444800123",
        "SELECT 7",
        "HSET other k v",
    ];
    for line in setup {
        assert!(!w.console(0, line).starts_with("(error)"), "{line}");
    }
    w.console(0, "SELECT 0");
    let dir = temp_dir("types");
    std::fs::write(dir.join("dump.rdb"), w.node(0).rdb_snapshot()).unwrap();
    let check = Command::new(tool("redis-check-rdb")).arg(dir.join("dump.rdb")).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let dir_arg = dir.to_string_lossy().into_owned();
    let server = start_redis(&["--dir", &dir_arg]);
    let mut redis = Client::connect(server.port);
    let reads = [
        ("TYPE list", false),
        ("LRANGE list 0 -1", false),
        ("HGETALL hash", false),
        ("SMEMBERS ints", false),
        ("SMEMBERS strs", true),
        ("ZRANGE zset 0 -1 WITHSCORES", false),
        ("TYPE zset", false),
        ("GET plain", false),
        ("PEXPIRETIME ttl-list", false),
        ("DBSIZE", false),
    ];
    for (line, unordered) in reads {
        let raw = redis.cmd(line);
        let theirs = match redis_repl_lab::resp::parse_frame(&raw) {
            Ok(redis_repl_lab::resp::Parsed::Complete(f, _)) => redis_repl_lab::resp::format_reply(&f),
            other => panic!("{line}: {other:?}"),
        };
        let ours = w.console(0, line);
        if unordered {
            let sorted = |s: &str| {
                let mut v: Vec<String> = s.lines().map(|l| l.split_once(") ").map_or(l, |x| x.1).to_string()).collect();
                v.sort();
                v
            };
            assert_eq!(sorted(&theirs), sorted(&ours), "{line}");
        } else {
            assert_eq!(theirs, ours, "{line}");
        }
    }
    assert_eq!(redis.cmd("SELECT 7"), b"+OK\r\n");
    assert_eq!(redis.cmd("HGET other k"), b"$1\r\nv\r\n");
}
