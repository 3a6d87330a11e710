//! Interop, our node as master: a real redis-server 7.0.15 replicates from `repl-lab server` over
//! TCP (issue 7, item 1).
//!
//! - Full sync with the diskless framing (`$EOF:<mark>`) and with the disk framing (`$<len>`),
//!   of a dataset of every type in several databases with expiries, then the stream.
//! - The link killed repeatedly while a writer thread writes: with a 1 MB backlog every
//!   reconnection is a partial resync (our `sync_partial_ok`); with a 16 KB backlog, the replica
//!   is held asleep (`DEBUG SLEEP`) while more than the backlog is written, so every reconnection
//!   is a full resync after a refused PSYNC (`sync_partial_err`).
//! - A restart from `dump.rdb`: SHUTDOWN saves the replication id and offset, the restarted node
//!   takes the old id as replid2, and the replica comes back with `+CONTINUE` (§5.8).
//!
//! Each test ends with both datasets equal key by key and both offsets equal.

#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod common;

use common::{
    restart_repl_lab, start_redis, start_repl_lab, start_repl_lab_in, wait_converged, wait_link_up, wait_offset_growth,
    wait_until, write_all, Client, Proxy, ServerGuard, TempDir, Workload, Writer, SYNC_WAIT,
};

/// Our server as a master with these settings (no diskless delay: tests do not wait 5 s).
fn our_master(backlog: &str, diskless: &str, dir: Option<&TempDir>) -> ServerGuard {
    let args = ["--config", "repl-diskless-sync-delay", "0", "--config", "repl-diskless-sync", diskless];
    let args = [&args[..], &["--config", "repl-backlog-size", backlog]].concat();
    match dir {
        Some(d) => start_repl_lab_in(&d.0, &args),
        None => start_repl_lab(&args),
    }
}

/// Points a real replica at `port` and waits until its link is up.
fn replicate(replica: &ServerGuard, port: u16) -> Client {
    let mut c = replica.client();
    assert_eq!(c.call(&["REPLICAOF", "127.0.0.1", &port.to_string()]), b"+OK\r\n");
    wait_link_up(&mut c);
    c
}

fn stat(c: &mut Client, name: &str) -> i64 {
    c.info_int("stats", name)
}

fn full_sync(diskless: &str) {
    let ours = our_master("1mb", diskless, None);
    let mut c = ours.client();
    let mut load = Workload::new(7, 40);
    write_all(&mut c, &load.commands(1500));
    let replica = start_redis(&[]);
    let proxy = Proxy::start(ours.port);
    let _link = replicate(&replica, proxy.port);
    write_all(&mut c, &load.commands(1500));
    let data = wait_converged(ours.port, replica.port, SYNC_WAIT);

    let rec = &proxy.recordings()[0];
    let head = String::from_utf8_lossy(&rec.to_client[..rec.to_client.len().min(300)]).into_owned();
    let reply = head.split_once("+FULLRESYNC ").map(|(_, r)| r).unwrap_or_default();
    assert!(!reply.is_empty(), "no +FULLRESYNC in {head:?}");
    let payload = reply.split_once("\r\n").map(|(_, p)| p.trim_start_matches('\n')).unwrap_or_default();
    if diskless == "yes" {
        assert!(payload.starts_with("$EOF:"), "diskless framing expected: {payload:?}");
    } else {
        let len = payload.strip_prefix('$').and_then(|p| p.split_once("\r\nREDIS0010"));
        assert!(len.is_some_and(|(n, _)| n.parse::<usize>().is_ok()), "disk framing expected: {payload:?}");
    }
    assert_eq!(stat(&mut c, "sync_full"), 1);
    for kind in ["string", "list", "hash", "set", "zset"] {
        assert!(data.values().any(|v| v.starts_with(kind)), "no {kind} in the dataset");
    }
    let dbs: std::collections::BTreeSet<&str> = data.keys().filter_map(|k| k.split(':').next()).collect();
    assert!(dbs.len() >= 3, "several databases: {dbs:?}");
    assert!(data.values().any(|v| !v.ends_with("(expires -1)")), "keys with an expiry");
}

#[test]
fn real_replica_full_sync_diskless_framing() {
    full_sync("yes");
}

#[test]
fn real_replica_full_sync_disk_framing() {
    full_sync("no");
}

const KILLS: i64 = 4;

/// Kills the link `KILLS` times while a writer thread writes; returns our master's stats.
fn kills_under_load(backlog: &str, outage: bool) -> (i64, i64, i64) {
    let ours = our_master(backlog, "yes", None);
    let mut c = ours.client();
    write_all(&mut c, &Workload::new(11, 40).commands(500));
    let replica = start_redis(&[]);
    let mut rc = replicate(&replica, ours.port);
    let writer = Writer::start(ours.port, 12, 40);
    for round in 0..KILLS {
        wait_link_up(&mut rc);
        // Kill only once the writer has written a good deal since the last round.
        wait_offset_growth(&mut c, 64 * 1024);
        let before = stat(&mut c, "sync_full") + stat(&mut c, "sync_partial_ok");
        if outage {
            // The replica sleeps while its link dies and more than the backlog is written.
            let mut sleeper = replica.client();
            sleeper.send(&["DEBUG", "SLEEP", "0.3"]);
            assert_eq!(c.call(&["CLIENT", "KILL", "TYPE", "replica"]), b":1\r\n");
            let big = "b".repeat(64 * 1024);
            assert_eq!(c.call(&["SET", "big", &big]), b"+OK\r\n");
            assert_eq!(sleeper.read_reply(), b"+OK\r\n");
        } else if round % 2 == 0 {
            assert_eq!(c.call(&["CLIENT", "KILL", "TYPE", "replica"]), b":1\r\n");
        } else {
            assert_eq!(rc.call(&["CLIENT", "KILL", "TYPE", "master"]), b":1\r\n");
        }
        wait_until("the replica to resynchronize", SYNC_WAIT, || {
            let now = stat(&mut c, "sync_full") + stat(&mut c, "sync_partial_ok");
            if now > before {
                Ok(())
            } else {
                Err(format!("round {round}: no new sync yet"))
            }
        });
    }
    let written = writer.stop();
    assert!(written > 0, "the writer wrote");
    wait_converged(ours.port, replica.port, SYNC_WAIT);
    wait_until("the replica to acknowledge the whole stream", SYNC_WAIT, || {
        let off = c.info_int("replication", "master_repl_offset");
        let row = c.info_field_opt("replication", "slave0").unwrap_or_default();
        if row.contains(&format!(",offset={off},")) {
            Ok(())
        } else {
            Err(format!("master_repl_offset:{off}, slave0:{row}"))
        }
    });
    (stat(&mut c, "sync_full"), stat(&mut c, "sync_partial_ok"), stat(&mut c, "sync_partial_err"))
}

#[test]
fn link_kills_under_load_with_a_1mb_backlog_resync_partially() {
    let (full, partial_ok, partial_err) = kills_under_load("1mb", false);
    // The first sync is a refused PSYNC too: a master turned replica offers its own history (§5.3).
    assert_eq!((full, partial_ok, partial_err), (1, KILLS, 1), "sync_full, sync_partial_ok, sync_partial_err");
}

#[test]
fn link_kills_under_load_with_a_16kb_backlog_resync_fully() {
    let (full, partial_ok, partial_err) = kills_under_load("16kb", true);
    assert_eq!(
        (full, partial_ok, partial_err),
        (1 + KILLS, 0, 1 + KILLS),
        "sync_full, sync_partial_ok, sync_partial_err"
    );
}

#[test]
fn restarted_master_accepts_the_replica_with_continue() {
    let dir = TempDir::new("interop-restart");
    let ours = our_master("1mb", "yes", Some(&dir));
    let mut c = ours.client();
    let mut load = Workload::new(21, 30);
    write_all(&mut c, &load.commands(400));
    let replica = start_redis(&[]);
    let mut rc = replicate(&replica, ours.port);
    write_all(&mut c, &load.commands(400));
    wait_converged(ours.port, replica.port, SYNC_WAIT);
    let replid = c.info_field("replication", "master_replid");

    // SHUTDOWN waits for the replica's ACK, saves dump.rdb with the replication info, and exits.
    c.send(&["SHUTDOWN"]);
    let port = ours.port;
    wait_until("our server to exit after SHUTDOWN", SYNC_WAIT, || {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Err(_) => Ok(()),
            Ok(_) => Err("still listening".into()),
        }
    });
    drop(ours);
    assert!(dir.0.join("dump.rdb").exists(), "SHUTDOWN saved dump.rdb");
    let offset = rc.info_int("replication", "master_repl_offset");

    let args = ["--config", "repl-diskless-sync-delay", "0"];
    let ours = restart_repl_lab(port, &dir.0, &args);
    let mut c = ours.client();
    assert_eq!(c.info_field("replication", "master_replid2"), replid, "the old id is kept as replid2");
    assert_eq!(c.info_int("replication", "second_repl_offset"), offset + 1);
    wait_link_up(&mut rc);
    wait_until("the replica's PSYNC to be accepted", SYNC_WAIT, || match stat(&mut c, "sync_partial_ok") {
        1 => Ok(()),
        n => Err(format!("sync_partial_ok:{n}, sync_full:{}", stat(&mut c, "sync_full"))),
    });
    assert_eq!(stat(&mut c, "sync_full"), 0);
    write_all(&mut c, &load.commands(200));
    assert_eq!(c.call(&["SELECT", "0"]), b"+OK\r\n");
    assert_eq!(c.call(&["SET", "after-restart", "streamed"]), b"+OK\r\n");
    // One probe reads both datasets and compares them; a second read of either would race the
    // workload's sub-second TTLs.
    let data = wait_converged(ours.port, replica.port, SYNC_WAIT);
    assert_eq!(data.get("0:after-restart").map(String::as_str), Some("string streamed (expires -1)"));
}

/// A real replica that stops reading (its whole server asleep in DEBUG SLEEP) fills its socket,
/// then our shared replication buffer, until `client-output-buffer-limit replica` drops it; when
/// it wakes, the 1 MB backlog no longer covers it, so it full-syncs, and the data converge.
#[test]
fn a_replica_that_stops_reading_hits_the_output_buffer_limit() {
    let dir = TempDir::new("cob");
    let ours = our_master("1mb", "yes", Some(&dir));
    let mut c = ours.client();
    assert_eq!(c.call(&["CONFIG", "SET", "client-output-buffer-limit", "replica 2mb 0 0"]), b"+OK\r\n");
    let replica = start_redis(&[]);
    let mut rc = replicate(&replica, ours.port);
    let mut sleeper = replica.client();
    sleeper.send(&["DEBUG", "SLEEP", "2"]);
    // More than the kernel's loopback buffers can absorb on both sides, plus the limit.
    let value = "v".repeat(1024 * 1024);
    for i in 0..32 {
        assert_eq!(c.call(&["SET", &format!("big:{i}"), &value]), b"+OK\r\n");
    }
    wait_until("the replica to be dropped", SYNC_WAIT, || {
        let log = ours.log_text();
        match log.contains("scheduled to be closed ASAP for overcoming of output buffer limits.") {
            true => Ok(()),
            false => Err("no output-buffer drop logged yet".to_string()),
        }
    });
    assert_eq!(sleeper.read_reply(), b"+OK\r\n");
    wait_link_up(&mut rc);
    wait_converged(ours.port, replica.port, SYNC_WAIT);
    assert_eq!(stat(&mut c, "sync_full"), 2, "the dropped replica needed a second full sync");
}
