//! Interop, our node as replica: `repl-lab server` replicates from a real redis-server 7.0.15
//! over TCP (issue 7, items 2 and 3).
//!
//! - A full sync of a dataset with every type and encoding Redis 7.0 writes (int-encoded and
//!   LZF-compressed strings, listpack and hashtable hashes, listpack and skiplist sorted sets,
//!   intsets and hashtable sets, quicklists of several listpack nodes, some of them
//!   LZF-compressed with `list-compress-depth 1`), in several databases with expiries; then the
//!   stream, the link killed from both sides while a writer writes (every reconnection a partial
//!   resync on the real master); then a failover: our node promoted with `REPLICAOF NO ONE`, the
//!   real server re-pointed to it and accepted with `+CONTINUE <new id>` (replid2 at work).
//! - A restart: our replica stopped with SHUTDOWN saves `dump.rdb` with the master's replication
//!   id and its offset; started again it offers `PSYNC <id> <offset+1>` and the real master
//!   answers `+CONTINUE` (REDIS-REPLICATION.md §5.8).
//! - A chain, real master → our node → real sub-replica: the sub-replica's `+FULLRESYNC`
//!   carries the top master's replid, its offsets equal the master's, and it stays connected
//!   while our node's own link is killed and partially resynchronized.

#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod common;

use common::{
    restart_repl_lab, start_redis, start_repl_lab_in, wait_converged, wait_link_up, wait_offset_growth, wait_until,
    write_all, Client, Proxy, ServerGuard, TempDir, Workload, Writer, SYNC_WAIT,
};

/// A real master with no diskless delay, holding a dataset of every type and encoding.
fn real_master_with_every_encoding() -> ServerGuard {
    let m = start_redis(&["--repl-diskless-sync-delay", "0", "--list-compress-depth", "1"]);
    let mut c = m.client();
    let many = |prefix: &str, n: usize| (0..n).map(|i| format!("{prefix}{i}")).collect::<Vec<_>>();
    let cmd = |parts: &[&str], rest: Vec<String>| {
        let mut v: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
        v.extend(rest);
        v
    };
    let pairs = |n: usize| (0..n).flat_map(|i| [format!("f{i}"), format!("value {i}")]).collect::<Vec<_>>();
    let scored = |n: usize| (0..n).flat_map(|i| [format!("{}", i as f64 * 1.5), format!("m{i}")]).collect::<Vec<_>>();
    let cmds = vec![
        cmd(&["SET", "str:short", "v"], vec![]),
        cmd(&["SET", "str:int", "12345"], vec![]),
        cmd(&["SET", "str:bigint", "1234567890123"], vec![]),
        cmd(&["SET", "str:lzf", &"abc".repeat(100)], vec![]),
        cmd(&["SET", "str:plain", "the quick brown fox jumps over the lazy dog"], vec![]),
        cmd(&["SET", "str:ttl", "soon", "EX", "100000"], vec![]),
        cmd(&["RPUSH", "list:small"], many("e", 5)),
        cmd(&["RPUSH", "list:big"], many(&"long element ".repeat(8), 2000)),
        cmd(&["HSET", "hash:small"], pairs(5)),
        cmd(&["HSET", "hash:big"], pairs(600)),
        cmd(&["SADD", "set:ints"], (0..50).map(|i| (i * 7).to_string()).collect()),
        cmd(&["SADD", "set:strs"], many("member", 50)),
        cmd(&["ZADD", "zset:small"], scored(5)),
        cmd(&["ZADD", "zset:big"], scored(300)),
        cmd(&["PEXPIRE", "hash:big", "100000000"], vec![]),
        cmd(&["SELECT", "3"], vec![]),
        cmd(&["SET", "db3:key", "in db 3"], vec![]),
        cmd(&["RPUSH", "db3:list", "x", "y"], vec![]),
        cmd(&["SELECT", "15"], vec![]),
        cmd(&["SADD", "db15:set", "1", "2", "3"], vec![]),
        cmd(&["SELECT", "0"], vec![]),
    ];
    write_all(&mut c, &cmds);
    let encodings: Vec<String> = ["str:int", "str:lzf", "list:big", "hash:small", "hash:big", "set:ints"]
        .iter()
        .chain(["set:strs", "zset:small", "zset:big"].iter())
        .map(|k| match c.read_frame_of(&["OBJECT", "ENCODING", k]) {
            redis_repl_lab::resp::Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
            other => format!("{other:?}"),
        })
        .collect();
    let want = ["int", "raw", "quicklist", "listpack", "hashtable", "intset", "hashtable", "listpack", "skiplist"];
    assert_eq!(encodings, want, "the real master holds every encoding");
    m
}

/// Our server started as a replica of `m` (its log in a temporary `--dir`), with its link up.
fn our_replica_of(m: &ServerGuard) -> (TempDir, ServerGuard, Client) {
    let dir = TempDir::new("interop-replica");
    let port = m.port.to_string();
    let ours =
        start_repl_lab_in(&dir.0, &["--replicaof", "127.0.0.1", &port, "--config", "repl-diskless-sync-delay", "0"]);
    let mut oc = ours.client();
    wait_link_up(&mut oc);
    (dir, ours, oc)
}

#[test]
fn our_replica_syncs_streams_resyncs_and_takes_over() {
    let m = real_master_with_every_encoding();
    let mut mc = m.client();
    let (_dir, ours, mut oc) = our_replica_of(&m);
    wait_converged(m.port, ours.port, SYNC_WAIT);

    // The stream, and the link killed from both sides under load: partial resyncs each time.
    let writer = Writer::start(m.port, 31, 40);
    const KILLS: i64 = 4;
    for round in 0..KILLS {
        wait_link_up(&mut oc);
        wait_offset_growth(&mut mc, 32 * 1024);
        let (killer, kind) = if round % 2 == 0 { (&mut oc, "master") } else { (&mut mc, "replica") };
        assert_eq!(killer.call(&["CLIENT", "KILL", "TYPE", kind]), b":1\r\n", "CLIENT KILL TYPE {kind}");
        wait_until("our replica to resynchronize", SYNC_WAIT, || match mc.info_int("stats", "sync_partial_ok") {
            n if n > round => Ok(()),
            n => Err(format!("sync_partial_ok:{n}")),
        });
    }
    writer.stop();
    wait_converged(m.port, ours.port, SYNC_WAIT);
    assert_eq!(mc.info_int("stats", "sync_full"), 1);
    assert_eq!(mc.info_int("stats", "sync_partial_ok"), KILLS);

    // Failover: promote ours, re-point the real server at it (through a proxy, to see the bytes).
    let old_id = mc.info_field("replication", "master_replid");
    let offset = mc.info_int("replication", "master_repl_offset");
    assert_eq!(oc.call(&["REPLICAOF", "NO", "ONE"]), b"+OK\r\n");
    let new_id = oc.info_field("replication", "master_replid");
    assert_ne!(new_id, old_id);
    assert_eq!(oc.info_field("replication", "master_replid2"), old_id);
    assert_eq!(oc.info_int("replication", "second_repl_offset"), offset + 1);
    let proxy = Proxy::start(ours.port);
    assert_eq!(mc.call(&["REPLICAOF", "127.0.0.1", &proxy.port.to_string()]), b"+OK\r\n");
    wait_link_up(&mut mc);
    let to_master = String::from_utf8_lossy(&proxy.recordings()[0].to_server).into_owned();
    assert!(to_master.contains(&format!("$5\r\nPSYNC\r\n$40\r\n{old_id}\r\n")), "{to_master:?}");
    let from_ours = String::from_utf8_lossy(&proxy.recordings()[0].to_client).into_owned();
    assert!(from_ours.starts_with(&format!("+PONG\r\n+OK\r\n+OK\r\n+CONTINUE {new_id}\r\n")), "{from_ours:?}");
    assert_eq!((oc.info_int("stats", "sync_partial_ok"), oc.info_int("stats", "sync_full")), (1, 0));
    assert_eq!(mc.info_field("replication", "master_replid"), new_id);
    assert_eq!(mc.info_field("replication", "master_replid2"), old_id);
    write_all(&mut oc, &Workload::new(32, 20).commands(300));
    wait_converged(ours.port, m.port, SYNC_WAIT);
}

#[test]
fn chain_real_master_our_node_real_subreplica() {
    let m = real_master_with_every_encoding();
    let mut mc = m.client();
    let (_dir, ours, mut oc) = our_replica_of(&m);
    let sub = start_redis(&[]);
    let mut sc = sub.client();
    let proxy = Proxy::start(ours.port);
    assert_eq!(sc.call(&["REPLICAOF", "127.0.0.1", &proxy.port.to_string()]), b"+OK\r\n");
    wait_link_up(&mut sc);
    let top_id = mc.info_field("replication", "master_replid");
    let reply = String::from_utf8_lossy(&proxy.recordings()[0].to_client).into_owned();
    let full = reply.split("\r\n").map(|l| l.trim_start_matches('\n')).find(|l| l.starts_with("+FULLRESYNC "));
    let full = full.unwrap_or_default().to_string();
    assert!(
        full.starts_with(&format!("+FULLRESYNC {top_id} ")),
        "{full:?} should carry {top_id}: {}",
        common::show(reply.as_bytes())
    );

    let writer = Writer::start(m.port, 41, 40);
    for _ in 0..2 {
        wait_offset_growth(&mut mc, 32 * 1024);
        assert_eq!(oc.call(&["CLIENT", "KILL", "TYPE", "master"]), b":1\r\n");
        wait_link_up(&mut oc);
    }
    writer.stop();
    wait_converged(m.port, sub.port, SYNC_WAIT);
    wait_converged(m.port, ours.port, SYNC_WAIT);
    assert_eq!(mc.info_int("stats", "sync_partial_ok"), 2, "our node came back with PSYNC each time");
    assert_eq!(proxy.recordings().len(), 1, "the sub-replica never had to reconnect");
    assert_eq!(oc.info_int("stats", "sync_full"), 1);
    assert_eq!(sc.info_field("replication", "master_replid"), top_id);
}

#[test]
fn restarted_replica_resumes_with_continue() {
    let m = real_master_with_every_encoding();
    let mut mc = m.client();
    let (dir, ours, mut oc) = our_replica_of(&m);
    write_all(&mut mc, &Workload::new(51, 30).commands(300));
    wait_converged(m.port, ours.port, SYNC_WAIT);
    oc.send(&["SHUTDOWN"]);
    let port = ours.port;
    wait_until("our replica to exit", SYNC_WAIT, || match std::net::TcpStream::connect(("127.0.0.1", port)) {
        Err(_) => Ok(()),
        Ok(_) => Err("still listening".into()),
    });
    drop(ours);
    write_all(&mut mc, &Workload::new(52, 30).commands(300));
    let master = m.port.to_string();
    let ours = restart_repl_lab(port, &dir.0, &["--replicaof", "127.0.0.1", &master]);
    let mut oc = ours.client();
    wait_link_up(&mut oc);
    assert_eq!(mc.info_int("stats", "sync_partial_ok"), 1, "the restarted replica resumed with PSYNC");
    assert_eq!(mc.info_int("stats", "sync_full"), 1);
    wait_converged(m.port, ours.port, SYNC_WAIT);
}
