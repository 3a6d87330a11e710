//! Faults in the simulator, and how Redis's replication reacts to each: a cut connection, a
//! partition that holds bytes back until it heals, crashes and restarts with and without a saved
//! RDB (REDIS-REPLICATION.md §2.7, §5.8, §8).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod lab;

use lab::{logs, stat};
use redis_repl_lab::sim::World;

fn synced_pair(seed: u64) -> World {
    let mut w = World::new(seed);
    w.add_node();
    w.add_node();
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(8_000);
    assert_eq!(w.node(1).view().link_status, Some("up"));
    w
}

#[test]
fn a_cut_link_is_followed_by_an_immediate_partial_resync() {
    let mut w = synced_pair(1);
    w.console(0, "SET a 1");
    w.run_for_ms(100);
    w.cut(0, 1);
    assert_eq!(w.node(1).view().link_status, Some("down"));
    assert!(logs(&w, 1, "Caching the disconnected master state.") > 0);
    w.console(0, "SET b 2");
    w.run_for_ms(1_000);
    assert_eq!(w.node(1).view().link_status, Some("up"));
    assert_eq!(stat(&mut w, 0, "sync_partial_ok"), 1);
    assert_eq!(stat(&mut w, 0, "sync_full"), 1);
    assert_eq!(w.console(1, "GET b"), "\"2\"");
    assert_eq!(w.node(0).view().master_repl_offset, w.node(1).view().slave_repl_offset);
}

#[test]
fn a_partition_holds_bytes_back_until_timeouts_fire_then_heals_partially() {
    let mut w = synced_pair(2);
    w.console(0, "CONFIG SET repl-timeout 5");
    w.console(1, "CONFIG SET repl-timeout 5");
    w.partition(&[0, 1]);
    w.console(0, "SET during partition");
    w.run_for_ms(3_000);
    assert_eq!(w.console(1, "GET during"), "(nil)", "held back, not delivered");
    w.run_for_ms(5_000);
    assert!(logs(&w, 0, "Disconnecting timedout replica (streaming sync)") > 0);
    assert!(logs(&w, 1, "MASTER timeout: no data nor PING received...") > 0);
    w.run_for_ms(5_000);
    assert_eq!(w.node(1).view().link_status, Some("down"), "reconnects cannot get through");
    w.heal();
    w.run_for_ms(8_000);
    assert_eq!(w.node(1).view().link_status, Some("up"));
    assert_eq!(w.console(1, "GET during"), "\"partition\"");
    assert_eq!(stat(&mut w, 0, "sync_full"), 1, "the backlog covered the gap");
    assert_eq!(w.node(0).digest(), w.node(1).digest());
}

#[test]
fn a_master_restarted_without_persistence_empties_its_replica() {
    let mut w = synced_pair(3);
    w.console(0, "SET k v");
    w.run_for_ms(500);
    assert_eq!(w.console(1, "GET k"), "\"v\"");
    let old_id = w.node(0).view().replid;
    w.crash(0);
    assert_eq!(w.console(0, "PING"), "Could not connect to Redis at 127.0.0.1:6379: Connection refused");
    w.run_for_ms(3_000);
    assert!(logs(&w, 1, "Error condition on socket for SYNC: Connection refused") > 0);
    assert_eq!(w.console(1, "GET k"), "\"v\"", "stale reads are served meanwhile");
    w.restart(0);
    w.run_for_ms(10_000);
    assert_ne!(w.node(0).view().replid, old_id);
    assert_eq!(w.node(1).view().link_status, Some("up"));
    assert_eq!(w.console(1, "DBSIZE"), "(integer) 0", "the replica full-synced an empty dataset");
}

#[test]
fn a_master_restarted_from_its_rdb_accepts_the_replica_partially_via_replid2() {
    let mut w = synced_pair(4);
    w.console(0, "SET k v");
    w.run_for_ms(500);
    assert_eq!(w.console(0, "SAVE"), "OK");
    let old_id = w.node(0).view().replid;
    w.crash(0);
    w.run_for_ms(2_000);
    w.restart(0);
    let m = w.node(0).view();
    assert_eq!(m.replid2, old_id);
    assert_eq!(w.console(0, "GET k"), "\"v\"");
    w.run_for_ms(3_000);
    assert_eq!(w.node(1).view().link_status, Some("up"));
    assert_eq!(stat(&mut w, 0, "sync_partial_ok"), 1);
    assert_eq!(stat(&mut w, 0, "sync_full"), 0);
}

#[test]
fn a_replica_restarted_from_its_rdb_psyncs_from_the_saved_offset() {
    let mut w = synced_pair(5);
    w.console(0, "SET k v");
    w.run_for_ms(500);
    w.console(1, "SAVE");
    let saved = w.node(1).view().slave_repl_offset;
    w.crash(1);
    w.console(0, "SET later 1");
    w.run_for_ms(2_000);
    w.restart(1);
    w.run_for_ms(2_000);
    assert!(
        logs(
            &w,
            1,
            &format!("Trying a partial resynchronization (request {}:{}).", w.node(0).view().replid, saved + 1)
        ) > 0
    );
    assert_eq!(w.node(1).view().link_status, Some("up"));
    assert_eq!(w.console(1, "GET later"), "\"1\"");
    assert_eq!(stat(&mut w, 0, "sync_partial_ok"), 1);
}

#[test]
fn jitter_delays_but_never_reorders_and_is_seeded() {
    let run = |seed| {
        let mut w = World::new(seed);
        w.add_node();
        w.add_node();
        w.set_pair_params(
            0,
            1,
            redis_repl_lab::sim::LinkParams { latency: 20_000, jitter: 50_000, bandwidth: 1 << 20 },
        );
        w.console(1, "REPLICAOF 127.0.0.1 6379");
        w.run_for_ms(10_000);
        for i in 0..200 {
            w.console(0, &format!("RPUSH l {i}"));
            w.run_for_ms(3);
        }
        w.run_for_ms(2_000);
        assert_eq!(w.node(0).digest(), w.node(1).digest(), "in order despite jitter");
        assert_eq!(w.console(1, "LINDEX l 199"), "\"199\"");
        w.trace_digest()
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
}

#[test]
fn legacy_sync_mode_full_syncs_on_every_reconnection() {
    let mut w = World::new(9);
    w.record_transcripts();
    w.add_node();
    w.add_node();
    assert_eq!(w.console(1, "CONFIG SET lab-legacy-sync yes"), "OK");
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(3_000);
    let sent = String::from_utf8_lossy(w.transcript(1, 0)).into_owned();
    assert!(
        sent.starts_with("*1\r\n$4\r\nPING\r\n*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n6380\r\nSYNC\r\n"),
        "{sent:?}"
    );
    let got = String::from_utf8_lossy(w.transcript(0, 1)).into_owned();
    assert!(!got.contains("FULLRESYNC") && got.contains("\r\n$"), "a bare $<len> payload: {got:?}");
    w.console(0, "SET a 1");
    w.run_for_ms(500);
    assert_eq!(w.console(1, "GET a"), "\"1\"");
    w.cut(0, 1);
    w.run_for_ms(3_000);
    assert_eq!(w.node(1).view().link_status, Some("up"));
    assert_eq!(stat(&mut w, 0, "sync_full"), 2, "no partial resync before Redis 2.8");
    assert_eq!(stat(&mut w, 0, "sync_partial_ok"), 0);
    assert_eq!(w.node(0).digest(), w.node(1).digest());
}

#[test]
fn output_buffer_overflow_during_a_slow_full_sync_loops_until_writes_calm_down() {
    let mut w = World::new(10);
    w.add_node();
    w.add_node();
    w.set_pair_params(0, 1, redis_repl_lab::sim::LinkParams { latency: 1_000, jitter: 0, bandwidth: 8 * 1024 });
    w.console(0, "DEBUG POPULATE 3000 key 50");
    w.console(0, "CONFIG SET repl-diskless-sync-delay 0");
    w.console(0, "CONFIG SET repl-backlog-size 16kb");
    assert_eq!(w.console(0, "CONFIG SET client-output-buffer-limit \"replica 32kb 16kb 2\""), "OK");
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    let big = "x".repeat(1000);
    for i in 0..300 {
        w.console(0, &format!("SET big{} {big}", i % 50));
        w.run_for_ms(100);
    }
    let drops = w
        .trace()
        .iter()
        .filter(|e| {
            e.node == 0 && e.text().contains("scheduled to be closed ASAP for overcoming of output buffer limits")
        })
        .count();
    assert!(drops >= 2, "the replica keeps being dropped while writes outpace the transfer: {drops}");
    assert!(stat(&mut w, 0, "sync_full") >= 3, "and keeps falling back to a full sync");
    assert_ne!(w.node(1).view().link_status, Some("up"));
    // Once the writes stop, the next full sync completes.
    w.run_for_ms(60_000);
    assert_eq!(w.node(1).view().link_status, Some("up"));
    assert_eq!(w.node(0).digest(), w.node(1).digest());
}

#[test]
fn bgsave_writes_the_disk_as_time_passes_and_a_restart_loads_it() {
    let mut w = World::new(12);
    w.add_node();
    w.console(0, "DEBUG POPULATE 1000 key 100");
    w.console(0, "CONFIG SET lab-rdb-bytes-per-sec 10000");
    let before = w.console(0, "LASTSAVE");
    w.run_for_ms(1_000);
    assert_eq!(w.console(0, "BGSAVE"), "Background saving started");
    assert_eq!(w.console(0, "BGSAVE"), "(error) ERR Background save already in progress");
    let info = w.console(0, "INFO persistence");
    assert!(info.contains("rdb_bgsave_in_progress:1"), "{info}");
    w.console(0, "SET after fork");
    w.run_for_ms(10_000);
    let info = w.console(0, "INFO persistence");
    assert!(info.contains("rdb_bgsave_in_progress:0") && info.contains("rdb_saves:1"), "{info}");
    assert!(info.contains("rdb_changes_since_last_save:0") || info.contains("rdb_changes_since_last_save:1"), "{info}");
    assert_ne!(w.console(0, "LASTSAVE"), before);
    w.crash(0);
    w.restart(0);
    assert_eq!(w.console(0, "DBSIZE"), "(integer) 1000", "the write after the fork is not in the file");
    assert!(w.console(0, "INFO persistence").contains("rdb_last_load_keys_loaded:1000"));
}

#[test]
fn a_master_with_requirepass_needs_masterauth_then_the_handshake_starts_with_auth() {
    let mut w = World::new(13);
    w.record_transcripts();
    w.add_node();
    w.add_node();
    assert_eq!(w.console(0, "CONFIG SET requirepass s3cret"), "OK");
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(3_000);
    assert_ne!(w.node(1).view().link_status, Some("up"));
    assert!(w
        .trace()
        .iter()
        .any(|e| e.node == 1 && e.text().contains("MASTER aborted replication with an error: NOAUTH")));
    assert_eq!(w.console(1, "CONFIG SET masterauth s3cret"), "OK");
    w.run_for_ms(10_000);
    assert_eq!(w.node(1).view().link_status, Some("up"));
    let sent = String::from_utf8_lossy(w.transcript(1, 0)).into_owned();
    assert!(
        sent.contains("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n*3\r\n$8\r\nREPLCONF\r\n"),
        "{sent:?}"
    );
    // A new client must authenticate; the console connected before requirepass stays in.
    assert_eq!(w.console(0, "AUTH wrong"), "(error) WRONGPASS invalid username-password pair or user is disabled.");
    assert_eq!(w.console(0, "AUTH s3cret"), "OK");
    assert!(w.console(1, "AUTH x").starts_with("(error) ERR AUTH <password> called without any password configured"));
}
