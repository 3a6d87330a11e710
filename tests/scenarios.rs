//! Scenario tests of issue 6, one Redis behaviour each, asserting on what a learner running the
//! same steps against redis-server 7.0 would see: replies, INFO and ROLE fields, stats counters,
//! log lines and bytes on the wire (REDIS-REPLICATION.md §2–§7).
//!
//! The PSYNC boundaries of §4.4 are probed on clones of one world: each clone's console sends
//! one `PSYNC`, so every probe starts from the same master state.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod lab;

use lab::{field, info, int, logs};
use redis_repl_lab::sim::{LinkParams, World};

/// `n` fresh nodes (transcripts recorded) with `master_setup` run on node 0.
fn nodes(seed: u64, n: usize, master_setup: &[&str]) -> World {
    let mut w = World::new(seed);
    w.record_transcripts();
    for _ in 0..n {
        w.add_node();
    }
    for line in master_setup {
        assert_eq!(w.console(0, line), "OK", "{line}");
    }
    w
}

/// A master and a synced replica (B replicates A).
fn synced(seed: u64, master_setup: &[&str]) -> World {
    let mut w = nodes(seed, 2, master_setup);
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(8_000);
    assert_eq!(w.node(1).view().link_status, Some("up"));
    w
}

/// Sends `PSYNC id offset` from a clone's console (after `REPLCONF capa psync2` when asked) and
/// returns the console's first reply and the log lines the master wrote meanwhile.
fn probe(w: &World, node: usize, psync2: bool, id: &str, offset: i64) -> (String, Vec<String>) {
    let mut c = w.clone();
    let before = c.trace().len();
    if psync2 {
        assert_eq!(c.console(node, "REPLCONF capa psync2"), "OK");
    }
    let reply = c.console(node, &format!("PSYNC {id} {offset}"));
    let logs = c.trace().iter().skip(before).filter(|e| e.node == node && e.kind() == "log").map(|e| e.text());
    (reply, logs.collect())
}

fn has(logs: &[String], needle: &str) -> bool {
    logs.iter().any(|l| l.contains(needle))
}

/// A synced pair whose master's backlog (16 KB) no longer starts at offset 1.
fn trimmed_backlog(seed: u64) -> World {
    let mut w = synced(seed, &["CONFIG SET repl-backlog-size 16kb"]);
    let v = "v".repeat(2_000);
    for i in 0..40 {
        w.console(0, &format!("SET k{i} {v}"));
    }
    w.run_for_ms(1_000);
    assert!(w.node(0).view().backlog.first_byte > 1, "{:?}", w.node(0).view().backlog);
    w
}

#[test]
fn psync_at_the_backlogs_first_byte_continues_with_the_whole_backlog() {
    let w = trimmed_backlog(1);
    let m = w.node(0).view();
    let (reply, logs) = probe(&w, 0, true, &m.replid, m.backlog.first_byte);
    assert_eq!(reply, format!("CONTINUE {}", m.replid));
    let k = m.master_repl_offset + 1 - m.backlog.first_byte;
    assert_eq!(k, m.backlog.histlen);
    let expect = format!("Sending {k} bytes of backlog starting from offset {}.", m.backlog.first_byte);
    assert!(has(&logs, &expect), "{logs:?}");
}

#[test]
fn psync_one_before_the_first_byte_is_a_full_resync_for_lack_of_backlog() {
    let w = trimmed_backlog(2);
    let m = w.node(0).view();
    let off = m.backlog.first_byte - 1;
    let (reply, logs) = probe(&w, 0, true, &m.replid, off);
    // The console announced no `capa eof`: a disk BGSAVE starts at once, with the fork's offset.
    assert_eq!(reply, format!("FULLRESYNC {} {}", m.replid, m.master_repl_offset));
    assert!(has(&logs, &format!("for lack of backlog (Replica request was: {off}).")), "{logs:?}");
}

#[test]
fn psync_at_the_master_offset_plus_one_continues_with_nothing() {
    let w = synced(3, &[]);
    let m = w.node(0).view();
    let off = m.master_repl_offset + 1;
    let (reply, logs) = probe(&w, 0, true, &m.replid, off);
    assert_eq!(reply, format!("CONTINUE {}", m.replid));
    assert!(has(&logs, &format!("Sending 0 bytes of backlog starting from offset {off}.")), "{logs:?}");
}

#[test]
fn psync_one_past_the_master_offset_plus_one_is_a_full_resync_with_a_warning() {
    let mut w = synced(4, &[]);
    let m = w.node(0).view();
    let off = m.master_repl_offset + 2;
    let (reply, logs) = probe(&w, 0, true, &m.replid, off);
    assert!(reply.starts_with("FULLRESYNC "), "{reply}");
    assert!(has(&logs, "for lack of backlog"), "{logs:?}");
    let warning = format!(
        "tried to PSYNC with an offset ({off}) that is greater than the master replication offset ({})",
        m.master_repl_offset
    );
    assert!(has(&logs, &warning), "{logs:?}");
    // The clone counted it; the original world counts only B's first PSYNC with its own id.
    assert_eq!(int(&mut w, 0, "stats", "sync_partial_err"), 1);
}

#[test]
fn psync_in_the_middle_of_a_command_gets_the_raw_bytes_from_there() {
    let mut w = synced(5, &[]);
    w.console(0, "SET key value");
    let m = w.node(0).view();
    let off = m.master_repl_offset + 1 - 9; // "$5\r\nvalue\r\n" minus its first 2 bytes
    let mut c = w.clone();
    c.console(0, "REPLCONF capa psync2");
    assert_eq!(c.console(0, &format!("PSYNC {} {off}", m.replid)), format!("CONTINUE {}", m.replid));
    // What follows +CONTINUE is the stream's last 9 bytes, not a whole command.
    c.run_for_ms(10);
    assert!(logs(&c, 0, &format!("Sending 9 bytes of backlog starting from offset {off}.")) == 1);
}

#[test]
fn psync_replids_compare_case_insensitively_and_without_psync2_continue_is_bare() {
    let w = synced(6, &[]);
    let m = w.node(0).view();
    let upper = m.replid.to_ascii_uppercase();
    let (reply, _) = probe(&w, 0, true, &upper, m.master_repl_offset + 1);
    assert_eq!(reply, format!("CONTINUE {}", m.replid), "the master answers with its own spelling");
    let (bare, _) = probe(&w, 0, false, &m.replid, m.master_repl_offset + 1);
    assert_eq!(bare, "CONTINUE", "no capa psync2: +CONTINUE without an id");
}

#[test]
fn psync_with_an_unknown_replid_is_full_and_counts_a_partial_error() {
    let w = synced(7, &[]);
    let m = w.node(0).view();
    let mut c = w.clone();
    let id = "f".repeat(40);
    assert!(c.console(0, &format!("PSYNC {id} 1")).starts_with(&format!("FULLRESYNC {} ", m.replid)));
    let msg = format!(
        "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{id}', my replication IDs are '{}' and '{}')",
        m.replid, m.replid2
    );
    assert_eq!(logs(&c, 0, &msg), 1);
    assert_eq!(int(&mut c, 0, "stats", "sync_partial_err"), 2, "B's first PSYNC, then this one");
    assert_eq!(int(&mut c, 0, "stats", "sync_full"), 2);
    let mut d = w.clone();
    assert!(d.console(0, "PSYNC ? -1").starts_with("FULLRESYNC"));
    assert_eq!(int(&mut d, 0, "stats", "sync_partial_err"), 1, "`?` is not a failed partial resync");
    assert_eq!(logs(&d, 0, "Full resync requested by replica 127.0.0.1:<unknown-replica-port>"), 1);
    assert_eq!(d.console(0, "PSYNC ? x"), "", "a replica that already synced is ignored");
}

#[test]
fn psync_with_a_non_integer_offset_is_refused_with_redis_words() {
    let w = synced(8, &[]);
    let mut c = w.clone();
    assert_eq!(c.console(0, "PSYNC abc xyz"), "(error) ERR value is not an integer or out of range");
    assert_eq!(logs(&c, 0, "asks for synchronization but with a wrong offset"), 1);
    assert_eq!(c.console(0, "PSYNC a 1 2 3"), "(error) ERR syntax error");
}

/// B promoted with REPLICAOF NO ONE: it keeps A's id as replid2, valid up to its offset + 1.
fn promoted(seed: u64) -> (World, String, i64) {
    let mut w = synced(seed, &[]);
    w.console(0, "SET a 1");
    w.run_for_ms(500);
    let old = w.node(0).view().replid;
    let off = w.node(1).view().master_repl_offset;
    assert_eq!(w.console(1, "REPLICAOF NO ONE"), "OK");
    let b = w.node(1).view();
    assert_eq!((b.replid2.as_str(), b.second_repl_offset), (old.as_str(), off + 1));
    assert_ne!(b.replid, old);
    let line = format!(
        "Setting secondary replication ID to {old}, valid up to offset: {}. New replication ID is {}",
        off + 1,
        b.replid
    );
    assert_eq!(logs(&w, 1, &line), 1);
    (w, old, off + 1)
}

#[test]
fn replid2_is_accepted_up_to_the_second_offset_and_not_one_byte_further() {
    let (mut w, old, second) = promoted(9);
    w.console(1, "SET b 2"); // the new history moves on
    let new = w.node(1).view().replid;
    let (at, _) = probe(&w, 1, true, &old, second);
    assert_eq!(at, format!("CONTINUE {new}"));
    let (before, logs) = probe(&w, 1, true, &old, second - 1);
    assert_eq!(before, format!("CONTINUE {new}"));
    assert!(has(&logs, &format!("Sending {} bytes of backlog", w.node(1).view().master_repl_offset + 2 - second)));
    let (after, logs) = probe(&w, 1, true, &old, second + 1);
    assert!(after.starts_with(&format!("FULLRESYNC {new} ")), "{after}");
    let msg = format!("Requested offset for second ID was {}, but I can reply up to {second}", second + 1);
    assert!(has(&logs, &msg), "{logs:?}");
}

#[test]
fn the_old_master_rejoins_the_promoted_replica_partially_and_shifts_its_ids() {
    let (mut w, old, second) = promoted(10);
    w.console(1, "SET promoted 1");
    let new = w.node(1).view().replid;
    assert_eq!(w.console(0, "REPLICAOF 127.0.0.1 6380"), "OK");
    w.run_for_ms(2_000);
    let a = w.node(0).view();
    assert_eq!(a.link_status, Some("up"));
    assert_eq!((a.replid.as_str(), a.replid2.as_str(), a.second_repl_offset), (new.as_str(), old.as_str(), second));
    assert_eq!(logs(&w, 0, &format!("Master replication ID changed to {new}")), 1);
    assert_eq!(int(&mut w, 1, "stats", "sync_partial_ok"), 1);
    assert_eq!(int(&mut w, 1, "stats", "sync_full"), 0);
    let to_a = String::from_utf8_lossy(w.transcript(1, 0)).into_owned();
    assert!(to_a
        .contains(&format!("+CONTINUE {new}\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$8\r\npromoted")));
    assert_eq!(w.console(0, "GET promoted"), "\"1\"");
}

#[test]
fn a_diverged_old_master_resyncs_fully_and_loses_its_unreplicated_write() {
    let mut w = synced(11, &[]);
    w.partition(&[0, 1]);
    w.console(0, "SET lost 1"); // never reaches B
    assert_eq!(w.console(1, "REPLICAOF NO ONE"), "OK");
    w.heal();
    w.cut(0, 1);
    assert_eq!(w.console(0, "REPLICAOF 127.0.0.1 6380"), "OK");
    w.run_for_ms(8_000);
    assert_eq!(w.node(0).view().link_status, Some("up"));
    assert_eq!(logs(&w, 1, "but I can reply up to"), 1, "A's offset is past B's second offset");
    assert_eq!(int(&mut w, 1, "stats", "sync_full"), 1);
    assert_eq!(w.console(0, "GET lost"), "(nil)", "the write only A had is gone");
    assert_eq!(w.node(0).digest(), w.node(1).digest());
}

#[test]
fn a_backlog_overflow_forces_a_full_sync_with_the_same_replid() {
    let mut w = synced(12, &["CONFIG SET repl-backlog-size 16kb"]);
    let id = w.node(0).view().replid;
    w.cut(0, 1);
    // 60 KB written before the replica's immediate PSYNC arrives.
    let v = "v".repeat(2_000);
    for i in 0..30 {
        w.console(0, &format!("SET k{i} {v}"));
    }
    w.run_for_ms(8_000);
    assert_eq!(w.node(1).view().link_status, Some("up"));
    assert_eq!(logs(&w, 0, "for lack of backlog"), 1);
    assert_eq!(w.node(0).view().replid, id, "the history is the same, only too old");
    let to_b = String::from_utf8_lossy(w.transcript(0, 1)).into_owned();
    assert_eq!(to_b.matches(&format!("+FULLRESYNC {id} ")).count(), 2);
    // B's very first PSYNC (its own id, as a master turned replica) was refused too.
    assert_eq!(int(&mut w, 0, "stats", "sync_partial_err"), 2);
    assert_eq!(w.node(0).digest(), w.node(1).digest());
}

/// A synced pair whose link then slows to `bytes_per_sec`.
fn slow_link(seed: u64, limit: &str, backlog: &str, bytes_per_sec: u64) -> World {
    let mut w = synced(seed, &[&format!("CONFIG SET repl-backlog-size {backlog}")]);
    assert_eq!(w.console(0, &format!("CONFIG SET client-output-buffer-limit \"{limit}\"")), "OK");
    w.set_pair_params(0, 1, LinkParams { latency: 1_000, jitter: 0, bandwidth: bytes_per_sec });
    w
}

fn write_kb(w: &mut World, kb: usize, tag: &str) {
    let v = "x".repeat(1_000);
    for i in 0..kb {
        w.console(0, &format!("SET {tag}{} {v}", i % 64));
    }
}

#[test]
fn a_slow_online_replica_over_the_hard_limit_is_dropped_and_resyncs_fully_when_the_backlog_moved_on() {
    let mut w = slow_link(13, "replica 64kb 0 0", "64kb", 20_000);
    write_kb(&mut w, 600, "h");
    let m = w.node(0).view();
    assert!(m.backlog.histlen > 64 * 1024, "the slow replica pins the shared buffer: {:?}", m.backlog);
    w.run_for_ms(100);
    assert_eq!(logs(&w, 0, "scheduled to be closed ASAP for overcoming of output buffer limits."), 1);
    assert!(w.trace().iter().any(|e| e.node == 0 && e.text().contains("flags=S") && e.text().contains("cmd=psync")));
    w.run_for_ms(60_000);
    assert_eq!(w.node(1).view().link_status, Some("up"));
    assert!(logs(&w, 0, "for lack of backlog") >= 1);
    assert!(int(&mut w, 0, "stats", "sync_full") >= 2);
    assert_eq!(w.node(0).digest(), w.node(1).digest());
}

#[test]
fn a_replica_over_the_soft_limit_for_its_seconds_is_closed_then_psyncs_from_the_backlog() {
    let mut w = slow_link(14, "replica 0 300kb 1", "4mb", 100_000);
    write_kb(&mut w, 900, "s");
    w.run_for_ms(3_000);
    assert_eq!(logs(&w, 0, "for overcoming of output buffer limits."), 1);
    w.run_for_ms(20_000);
    assert_eq!(w.node(1).view().link_status, Some("up"));
    assert_eq!(int(&mut w, 0, "stats", "sync_partial_ok"), 1, "the 4 MB backlog still covered it");
    assert_eq!(int(&mut w, 0, "stats", "sync_full"), 1);
    assert_eq!(w.node(0).digest(), w.node(1).digest());
}

#[test]
fn a_short_excursion_over_the_soft_limit_is_tolerated() {
    let mut w = slow_link(15, "replica 0 300kb 30", "4mb", 100_000);
    write_kb(&mut w, 900, "t");
    w.run_for_ms(3_000);
    assert!(w.node(0).view().replicas[0].state == "online");
    w.run_for_ms(20_000);
    assert_eq!(logs(&w, 0, "for overcoming of output buffer limits."), 0);
    assert_eq!(w.node(0).digest(), w.node(1).digest());
}

#[test]
fn announce_ip_and_port_go_in_the_handshake_and_in_the_masters_info_and_role() {
    let mut w = nodes(16, 2, &[]);
    assert_eq!(w.console(1, "CONFIG SET replica-announce-ip 10.0.0.7"), "OK");
    assert_eq!(w.console(1, "CONFIG SET slave-announce-port 7777"), "OK");
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(8_000);
    let sent = String::from_utf8_lossy(w.transcript(1, 0)).into_owned();
    assert!(sent.starts_with(
        "*1\r\n$4\r\nPING\r\n*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n7777\r\n\
         *3\r\n$8\r\nREPLCONF\r\n$10\r\nip-address\r\n$8\r\n10.0.0.7\r\n*5\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n"
    ));
    let got = String::from_utf8_lossy(w.transcript(0, 1)).into_owned();
    assert!(got.starts_with("+PONG\r\n+OK\r\n+OK\r\n+OK\r\n"), "three REPLCONF replies: {got:?}");
    let row = field(&mut w, 0, "replication", "slave0");
    assert!(row.starts_with("ip=10.0.0.7,port=7777,state=online,"), "{row}");
    assert!(w.console(0, "ROLE").contains("1) \"10.0.0.7\"\n      2) \"7777\""));
    assert_eq!(logs(&w, 0, "Replica 10.0.0.7:7777 asks for synchronization"), 1);
}

#[test]
fn replconf_errors_as_redis_words_them() {
    let mut w = nodes(17, 1, &[]);
    let long = "1".repeat(46);
    assert_eq!(
        w.console(0, &format!("REPLCONF ip-address {long}")),
        "(error) ERR REPLCONF ip-address provided by replica instance is too long: 46 bytes"
    );
    assert_eq!(w.console(0, "REPLCONF listening-port"), "(error) ERR syntax error");
    assert_eq!(w.console(0, "REPLCONF bogus 1"), "(error) ERR Unrecognized REPLCONF option: bogus");
    assert_eq!(w.console(0, "REPLCONF capa unknown-capa"), "OK", "unknown capabilities are ignored");
    assert_eq!(w.console(0, "REPLCONF ACK 10"), "", "ACK from a non-replica: no reply at all");
    assert_eq!(w.console(0, "REPLCONF GETACK *"), "", "GETACK on a master: no reply");
    assert_eq!(w.console(0, "PING"), "PONG");
}

/// A master with 5000 keys on a link slow enough that the RDB takes seconds to cross.
fn slow_full_sync(seed: u64, replica_setup: &[&str]) -> World {
    let mut w = nodes(seed, 2, &["DEBUG POPULATE 5000 key 40", "CONFIG SET repl-diskless-sync-delay 0"]);
    for line in replica_setup {
        assert_eq!(w.console(1, line), "OK", "{line}");
    }
    w.set_pair_params(0, 1, LinkParams { latency: 1_000, jitter: 0, bandwidth: 40_000 });
    w
}

#[test]
fn diskless_load_on_an_empty_replica_blocks_it_with_loading_while_the_rdb_streams_in() {
    let mut w = slow_full_sync(18, &["CONFIG SET repl-diskless-load on-empty-db"]);
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(2_000);
    assert_eq!(w.node(1).view().repl_state, "sync");
    assert_eq!(logs(&w, 1, "receiving streamed RDB from master with EOF to parser"), 1);
    assert_eq!(field(&mut w, 1, "persistence", "loading"), "1");
    assert_eq!(field(&mut w, 1, "persistence", "async_loading"), "0");
    assert!(int(&mut w, 1, "persistence", "loading_loaded_bytes") > 0);
    assert_eq!(w.console(1, "GET key:1"), "(error) LOADING Redis is loading the dataset in memory");
    assert_eq!(w.console(1, "PING"), "(error) LOADING Redis is loading the dataset in memory");
    assert!(w.console(1, "ROLE").contains("\"sync\""), "ROLE carries the LOADING flag");
    let nl = w.transcript(1, 0).iter().rev().take_while(|&&b| b == b'\n').count();
    assert!(nl >= 1, "newlines to the master while loading");
    w.run_for_ms(10_000);
    assert_eq!(field(&mut w, 1, "persistence", "loading"), "0");
    assert_eq!(w.console(1, "STRLEN key:1"), "(integer) 40");
    assert!(w.node(1).disk().is_none(), "a diskless load writes no dump.rdb");
}

#[test]
fn on_empty_db_with_keys_falls_back_to_a_disk_load_serving_stale_data() {
    let mut w = slow_full_sync(19, &["CONFIG SET repl-diskless-load on-empty-db", "SET mine 1"]);
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(2_000);
    assert_eq!(logs(&w, 1, "receiving streamed RDB from master with EOF to disk"), 1);
    assert_eq!(field(&mut w, 1, "persistence", "loading"), "0");
    assert_eq!(w.console(1, "GET mine"), "\"1\"", "stale data is served during the transfer");
    w.run_for_ms(10_000);
    assert_eq!(w.console(1, "GET mine"), "(nil)", "flushed at the end");
    assert!(w.node(1).disk().is_some());
}

#[test]
fn swapdb_with_a_new_history_loads_blocking_and_swaps_at_the_end() {
    let mut w = slow_full_sync(20, &["CONFIG SET repl-diskless-load swapdb", "SET mine 1"]);
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(2_000);
    assert_eq!(field(&mut w, 1, "persistence", "loading"), "1", "a different replid: not async");
    assert_eq!(w.console(1, "GET mine"), "(error) LOADING Redis is loading the dataset in memory");
    assert_eq!(logs(&w, 1, "Flushing old data"), 0, "the old data waits for the swap");
    w.run_for_ms(10_000);
    for line in [
        "Loading DB in memory",
        "Done loading RDB, keys loaded: 5000",
        "Swapping active DB with loaded DB",
        "Discarding old DB in background",
        "Finished with success",
    ] {
        assert_eq!(logs(&w, 1, line), 1, "{line}");
    }
    assert_eq!(w.console(1, "GET mine"), "(nil)");
    assert_eq!(w.console(1, "DBSIZE"), "(integer) 5000");
}

/// A replica in sync with `repl-diskless-load swapdb` whose next full sync stays in the
/// master's history (the backlog overflowed while it was away): async loading.
fn swapdb_async(seed: u64) -> World {
    let mut w = slow_full_sync(21 + seed, &["CONFIG SET repl-diskless-load swapdb"]);
    w.console(0, "CONFIG SET repl-backlog-size 16kb");
    w.set_pair_params(0, 1, LinkParams::default());
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(3_000);
    assert_eq!(w.node(1).view().link_status, Some("up"));
    w.console(0, "SET old 1");
    w.run_for_ms(100);
    w.set_pair_params(0, 1, LinkParams { latency: 1_000, jitter: 0, bandwidth: 40_000 });
    w.cut(0, 1);
    w.console(0, "SET old 2");
    write_kb(&mut w, 40, "o");
    w.run_for_ms(2_000);
    assert_eq!(w.node(1).view().repl_state, "sync");
    w
}

#[test]
fn swapdb_inside_the_same_history_keeps_serving_the_old_data_while_loading() {
    let mut w = swapdb_async(0);
    assert_eq!(field(&mut w, 1, "persistence", "async_loading"), "1");
    assert_eq!(field(&mut w, 1, "persistence", "loading"), "0");
    assert_eq!(w.console(1, "GET old"), "\"1\"", "the old dataset answers reads");
    assert_eq!(w.console(1, "SAVE"), "(error) LOADING Redis is loading the dataset in memory");
    assert_eq!(w.console(1, "REPLICAOF NO ONE"), "(error) LOADING Redis is loading the dataset in memory");
    w.run_for_ms(15_000);
    assert_eq!(field(&mut w, 1, "persistence", "async_loading"), "0");
    assert_eq!(w.console(1, "GET old"), "\"2\"");
    assert_eq!(w.node(0).digest(), w.node(1).digest());
}

#[test]
fn a_loading_replica_answers_psync_with_loading_and_its_sub_replica_retries() {
    let mut w = swapdb_async(1);
    w.add_node();
    w.console(2, "REPLICAOF 127.0.0.1 6380");
    w.run_for_ms(1_500);
    assert!(logs(&w, 2, "Master is currently unable to PSYNC but should be in the future: LOADING") >= 1);
    assert_ne!(w.node(2).view().link_status, Some("up"));
    w.run_for_ms(25_000);
    assert_eq!(w.node(2).view().link_status, Some("up"), "it kept retrying each second");
    assert_eq!(w.node(2).digest(), w.node(0).digest());
}

#[test]
fn serve_stale_data_no_answers_masterdown_even_to_ping_but_info_role_echo_and_replicaof_work() {
    let mut w = synced(23, &[]);
    assert_eq!(w.console(1, "CONFIG SET replica-serve-stale-data no"), "OK");
    assert_eq!(w.console(1, "GET a"), "(nil)", "the link is up");
    w.crash(0);
    w.run_for_ms(100);
    let err = "(error) MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
    assert_eq!(w.console(1, "GET a"), err);
    assert_eq!(w.console(1, "DBSIZE"), err);
    // PING has no `stale` flag in 7.0 (found by replaying chapter 8 on redis-server 7.0.15).
    assert_eq!(w.console(1, "PING"), err);
    assert_eq!(w.console(1, "ECHO hi"), "\"hi\"");
    assert!(w.console(1, "ROLE").contains("\"connect"));
    assert_eq!(field(&mut w, 1, "replication", "master_link_status"), "down");
    assert_eq!(w.console(1, "REPLICAOF NO ONE"), "OK");
    assert_eq!(w.console(1, "GET a"), "(nil)", "a master serves again");
}

#[test]
fn a_writable_replica_keeps_its_writes_local_until_the_master_overwrites_them() {
    let mut w = synced(24, &[]);
    assert_eq!(w.console(1, "CONFIG SET replica-read-only no"), "OK");
    assert_eq!(field(&mut w, 1, "replication", "slave_read_only"), "0");
    let before = w.node(1).view().master_repl_offset;
    assert_eq!(w.console(1, "SET local 1"), "OK");
    assert_eq!(w.node(1).view().master_repl_offset, before, "not propagated, not counted");
    w.run_for_ms(1_000);
    assert_eq!(w.console(0, "GET local"), "(nil)");
    assert!(!String::from_utf8_lossy(w.transcript(1, 0)).contains("local"));
    w.console(0, "SET local master");
    w.run_for_ms(100);
    assert_eq!(w.console(1, "GET local"), "\"master\"");
    assert_eq!(
        w.console(1, "WAIT 0 0").split('.').next(),
        Some("(error) ERR WAIT cannot be used with replica instances")
    );
}

#[test]
fn keepalive_newlines_reach_a_waiting_replica_and_never_count_in_offsets() {
    let mut w = nodes(25, 2, &[]);
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(3_500);
    assert_eq!(field(&mut w, 0, "replication", "slave0").split(',').nth(2), Some("state=wait_bgsave"));
    let got = w.transcript(0, 1).to_vec();
    assert!(got.ends_with(b"+OK\r\n+OK\r\n\n\n\n"), "{:?}", String::from_utf8_lossy(&got));
    let off = w.node(0).view().master_repl_offset;
    w.run_for_ms(5_000);
    let line = String::from_utf8_lossy(w.transcript(0, 1)).into_owned();
    let full = format!("+FULLRESYNC {} {off}\r\n", w.node(0).view().replid);
    assert!(line.contains(&full), "the newlines moved no offset: {line:?}");
}

#[test]
fn a_second_replica_attaches_to_a_running_disk_bgsave() {
    let mut w = nodes(
        26,
        3,
        &["DEBUG POPULATE 20000 key 50", "CONFIG SET repl-diskless-sync no", "CONFIG SET lab-rdb-bytes-per-sec 100000"],
    );
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(1_000);
    assert_eq!(logs(&w, 0, "Starting BGSAVE for SYNC with target: disk"), 1);
    w.console(0, "SET between 1");
    w.console(2, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(500);
    assert_eq!(logs(&w, 0, "Waiting for end of BGSAVE for SYNC"), 1);
    let first = String::from_utf8_lossy(w.transcript(0, 1)).into_owned();
    let second = String::from_utf8_lossy(w.transcript(0, 2)).into_owned();
    let fr = |s: &str| s.lines().find(|l| l.starts_with("+FULLRESYNC")).map(str::to_string);
    assert!(fr(&first).is_some());
    assert_eq!(fr(&first), fr(&second), "the same fork, the same offset");
    w.run_for_ms(30_000);
    assert_eq!(logs(&w, 0, "Starting BGSAVE for SYNC"), 1, "one BGSAVE served both");
    assert_eq!(w.console(2, "GET between"), "\"1\"", "buffered for both since the fork");
    assert_eq!(w.node(2).digest(), w.node(0).digest());
}

#[test]
fn diskless_sync_waits_its_delay_then_one_fork_serves_every_waiting_replica() {
    let mut w = nodes(27, 3, &[]);
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(2_000);
    w.console(2, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(2_000);
    assert_eq!(logs(&w, 0, "Delay next BGSAVE for diskless SYNC"), 2);
    assert_eq!(logs(&w, 0, "Starting BGSAVE"), 0, "5 s have not passed since the first");
    // The first replicationCron after 5 s of waiting (crons at 1 ms past each second).
    w.run_for_ms(2_100);
    assert_eq!(logs(&w, 0, "Starting BGSAVE for SYNC with target: replicas sockets"), 1);
    w.run_for_ms(1_000);
    assert_eq!(logs(&w, 0, "Diskless rdb transfer, done reading from pipe, 2 replicas still up."), 1);
    assert_eq!(w.node(1).view().link_status, Some("up"));
    assert_eq!(w.node(2).view().link_status, Some("up"));
}

#[test]
fn diskless_max_replicas_starts_the_fork_without_waiting() {
    let mut w = nodes(28, 3, &["CONFIG SET repl-diskless-sync-max-replicas 2"]);
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.console(2, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(1_500);
    assert_eq!(logs(&w, 0, "Starting BGSAVE for SYNC with target: replicas sockets"), 1);
    w.run_for_ms(1_000);
    assert_eq!(w.node(2).view().link_status, Some("up"));
}

#[test]
fn a_replica_arriving_during_a_socket_transfer_waits_for_the_next_bgsave() {
    let mut w = nodes(
        29,
        3,
        &[
            "DEBUG POPULATE 20000 key 50",
            "CONFIG SET repl-diskless-sync-delay 0",
            "CONFIG SET lab-rdb-bytes-per-sec 100000",
        ],
    );
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(1_500);
    w.console(2, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(500);
    assert_eq!(logs(&w, 0, "Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC"), 1);
    w.run_for_ms(40_000);
    assert_eq!(logs(&w, 0, "Starting BGSAVE for SYNC with target: replicas sockets"), 2);
    assert_eq!(w.node(2).view().link_status, Some("up"));
}

#[test]
fn a_disk_rdb_on_a_slow_link_shows_send_bulk_until_its_last_byte_is_written() {
    let mut w = nodes(30, 2, &["DEBUG POPULATE 20000 key 50", "CONFIG SET repl-diskless-sync no"]);
    w.set_pair_params(0, 1, LinkParams { latency: 1_000, jitter: 0, bandwidth: 100_000 });
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(2_000);
    assert_eq!(field(&mut w, 0, "replication", "slave0").split(',').nth(2), Some("state=send_bulk"));
    assert_eq!(logs(&w, 0, "Synchronization with replica 127.0.0.1:6380 succeeded"), 0);
    w.run_for_ms(15_000);
    assert_eq!(logs(&w, 0, "Synchronization with replica 127.0.0.1:6380 succeeded"), 1);
    assert_eq!(field(&mut w, 0, "replication", "slave0").split(',').nth(2), Some("state=online"));
}

#[test]
fn role_walks_through_connect_connecting_handshake_sync_connected() {
    let mut w = nodes(31, 2, &[]);
    w.console(1, "REPLICAOF 127.0.0.1 7299");
    w.run_for_ms(1_500);
    assert_eq!(
        w.console(1, "ROLE"),
        "1) \"slave\"\n2) \"127.0.0.1\"\n3) (integer) 7299\n4) \"connect\"\n5) (integer) -1"
    );
    assert_eq!(logs(&w, 1, "Error condition on socket for SYNC: Connection refused"), 2);
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    assert!(w.console(1, "ROLE").contains("\"connecting\""));
    w.run_for_ms(3);
    assert!(w.console(1, "ROLE").contains("\"handshake\""));
    w.run_for_ms(8_000);
    let off = w.node(1).view().slave_repl_offset;
    assert!(w.console(1, "ROLE").ends_with(&format!("4) \"connected\"\n5) (integer) {off}")));
    let m = w.console(0, "ROLE");
    assert!(
        m.starts_with(&format!(
            "1) \"master\"\n2) (integer) {}\n3) 1) 1) \"127.0.0.1\"\n      2) \"6380\"",
            w.node(0).view().master_repl_offset
        )),
        "{m}"
    );
}

#[test]
fn info_replication_fields_come_in_redis_order_in_both_roles() {
    let mut w = synced(32, &[]);
    let m = info(&mut w, 0, "replication");
    // Both roles end with the same block, from master_failover_state on.
    let tail = [
        "master_failover_state",
        "master_replid",
        "master_replid2",
        "master_repl_offset",
        "second_repl_offset",
        "repl_backlog_active",
        "repl_backlog_size",
        "repl_backlog_first_byte_offset",
        "repl_backlog_histlen",
    ];
    let master_head = ["role", "connected_slaves", "slave0"];
    assert_eq!(m.names(), [&master_head[..], &tail[..]].concat());
    let r = info(&mut w, 1, "replication");
    let replica_head = [
        "role",
        "master_host",
        "master_port",
        "master_link_status",
        "master_last_io_seconds_ago",
        "master_sync_in_progress",
        "slave_read_repl_offset",
        "slave_repl_offset",
        "slave_priority",
        "slave_read_only",
        "replica_announced",
        "connected_slaves",
    ];
    assert_eq!(r.names(), [&replica_head[..], &tail[..]].concat());
    w.cut(0, 1);
    w.crash(0);
    w.run_for_ms(2_000);
    let down = info(&mut w, 1, "replication");
    let at = down.names().iter().position(|n| *n == "master_link_down_since_seconds").expect("down since");
    assert_eq!(down.names()[at - 1], "slave_repl_offset");
    assert_eq!(down.fields()[at].1, "2");
    assert_eq!(field(&mut w, 1, "replication", "master_last_io_seconds_ago"), "-1");
}

#[test]
fn info_stats_count_full_and_partial_syncs_and_replication_bytes() {
    let mut w = synced(33, &[]);
    let out0 = int(&mut w, 0, "stats", "total_net_repl_output_bytes");
    let in0 = int(&mut w, 1, "stats", "total_net_repl_input_bytes");
    assert!(out0 > 0 && in0 >= out0, "the replica also read the handshake replies: {in0} {out0}");
    w.cut(0, 1);
    w.run_for_ms(1_000);
    assert_eq!((int(&mut w, 0, "stats", "sync_full"), int(&mut w, 0, "stats", "sync_partial_ok")), (1, 1));
    assert_eq!(int(&mut w, 0, "stats", "sync_partial_err"), 1, "B's first PSYNC named its own old id");
    let (out1, in1) =
        (int(&mut w, 0, "stats", "total_net_repl_output_bytes"), int(&mut w, 1, "stats", "total_net_repl_input_bytes"));
    w.console(0, "SET k v");
    w.run_for_ms(100);
    let out2 = int(&mut w, 0, "stats", "total_net_repl_output_bytes");
    assert_eq!(out2 - out1, 23 + 27, "SELECT 0 then the SET");
    assert_eq!(int(&mut w, 1, "stats", "total_net_repl_input_bytes") - in1, out2 - out1);
}

#[test]
fn replicaof_replies_and_side_effects_as_redis() {
    let mut w = synced(34, &[]);
    assert_eq!(w.console(1, "REPLICAOF 127.0.0.1 6379"), "OK Already connected to specified master");
    assert_eq!(w.console(0, "REPLICAOF NO ONE"), "OK", "a no-op on a master");
    assert_eq!(w.console(1, "REPLICAOF 127.0.0.1 99999"), "(error) ERR Invalid master port");
    assert_eq!(w.console(1, "REPLICAOF host"), "(error) ERR wrong number of arguments for 'replicaof' command");
    assert_eq!(w.console(0, "SET moved 1"), "OK");
    w.run_for_ms(100);
    let id = w.node(0).view().replid;
    let off = w.node(1).view().slave_repl_offset;
    assert_eq!(w.console(0, "REPLICAOF 127.0.0.1 6380"), "OK");
    assert_eq!(
        logs(&w, 0, "Before turning into a replica, using my own master parameters to synthesize a cached master"),
        1
    );
    assert_eq!(logs(&w, 0, "REPLICAOF 127.0.0.1:6380 enabled (user request from 'id="), 1);
    w.run_for_ms(100);
    let psync =
        format!("Trying a partial resynchronization (request {id}:{}).", w.node(0).view().master_repl_offset + 1);
    assert_eq!(logs(&w, 0, &psync), 1);
    assert!(off > 0);
}

#[test]
fn continue_with_a_new_replid_disconnects_the_sub_replicas_which_psync_back() {
    let mut w = nodes(35, 3, &[]);
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(8_000);
    w.console(2, "REPLICAOF 127.0.0.1 6380");
    w.run_for_ms(8_000);
    w.console(0, "SET k v");
    w.run_for_ms(100); // B must have everything the restarted master's empty backlog starts after
    w.console(0, "SAVE");
    w.crash(0);
    w.restart(0); // a new replid, with the old one as replid2
    let new = w.node(0).view().replid;
    w.run_for_ms(3_000);
    assert_eq!(logs(&w, 1, &format!("Master replication ID changed to {new}")), 1);
    assert_eq!(logs(&w, 1, "Connection with replica 127.0.0.1:6381 lost."), 1);
    assert_eq!(logs(&w, 2, &format!("Master replication ID changed to {new}")), 1);
    assert_eq!(int(&mut w, 1, "stats", "sync_partial_ok"), 1, "C came back partially");
    assert_eq!(int(&mut w, 1, "stats", "sync_full"), 1);
    assert_eq!(w.node(2).view().replid, new);
}

#[test]
fn a_transfer_that_stalls_times_out_on_the_replica() {
    let mut w = slow_full_sync(36, &["CONFIG SET repl-timeout 3"]);
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(1_500);
    assert_eq!(w.node(1).view().repl_state, "sync");
    w.partition(&[0, 1]);
    w.run_for_ms(6_000);
    assert_eq!(
        logs(&w, 1, "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value."),
        1
    );
    w.heal();
    w.set_pair_params(0, 1, LinkParams::default());
    w.run_for_ms(15_000);
    assert_eq!(w.node(1).view().link_status, Some("up"));
}

#[test]
fn a_handshake_without_answers_times_out_connecting() {
    let mut w = nodes(37, 2, &[]);
    w.console(1, "CONFIG SET repl-timeout 2");
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.pause_node(0, 10_000);
    w.run_for_ms(5_000);
    assert!(logs(&w, 1, "Timeout connecting to the MASTER...") >= 1);
    w.run_for_ms(15_000);
    assert_eq!(w.node(1).view().link_status, Some("up"), "it retried and succeeded after the pause");
}

#[test]
fn the_first_replica_creates_the_backlog_with_a_new_replid() {
    let mut w = nodes(38, 2, &[]);
    let before = w.node(0).view();
    assert!(!before.backlog.active);
    w.console(0, "SET a 1");
    assert_eq!(w.node(0).view().master_repl_offset, 0, "no backlog, no replica: the offset stays");
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(100);
    let after = w.node(0).view();
    assert_ne!(after.replid, before.replid);
    assert!(after.backlog.active);
    assert_eq!((after.backlog.first_byte, after.backlog.histlen), (1, 0));
    let line =
        format!("Replication backlog created, my new replication IDs are '{}' and '{}'", after.replid, after.replid2);
    assert_eq!(logs(&w, 0, &line), 1);
}

/// SHUTDOWN on a master with a replica: it waits for the replica to catch up, saves, logs its
/// goodbye and goes down; restarted from that dump it keeps the old history as replid2, so the
/// replica continues with a partial resync.
#[test]
fn shutdown_saves_exits_and_the_restarted_master_is_continued() {
    let mut w = synced(41, &[]);
    assert_eq!(w.console(0, "SET before-shutdown 1"), "OK");
    let before = int(&mut w, 0, "replication", "master_repl_offset");
    w.console(0, "SHUTDOWN");
    w.run_for_ms(2_000);
    assert!(!w.is_up(0), "the master exited");
    assert_eq!(logs(&w, 0, "Redis is now ready to exit, bye bye..."), 1);
    assert_eq!(logs(&w, 0, "DB saved on disk"), 1);
    assert!(w.trace().iter().any(|e| e.kind() == "fault" && e.text().ends_with("shut down")));
    let dump = redis_repl_lab::rdb::read_rdb(w.node(0).disk().expect("the final save")).expect("a valid dump");
    let saved_offset = dump.aux_int("repl-offset").expect("repl-offset in the dump");
    assert!(saved_offset > before, "the GETACK sent to the lagging replica counts in the offset");
    assert_eq!(int(&mut w, 1, "replication", "slave_repl_offset"), saved_offset, "the replica got everything first");
    assert_eq!(field(&mut w, 1, "replication", "master_link_status"), "down");
    w.restart(0);
    w.run_for_ms(5_000);
    assert_eq!(w.console(0, "GET before-shutdown"), "\"1\"", "loaded from the final save");
    assert_eq!(int(&mut w, 0, "stats", "sync_partial_ok"), 1, "the replica continued");
    assert_eq!(field(&mut w, 1, "replication", "master_link_status"), "up");
}

/// `REPLCONF rdb-only 1` (what `redis-cli --rdb` sends): the client gets its RDB and is then
/// disconnected instead of going online; bad values are refused as Redis refuses them.
#[test]
fn an_rdb_only_replica_is_disconnected_after_its_rdb() {
    let mut w = nodes(43, 1, &["SET k v"]);
    assert_eq!(w.console(0, "REPLCONF rdb-only 2"), "(error) ERR value is out of range, value must between 0 and 1");
    assert_eq!(w.console(0, "REPLCONF rdb-only x"), "(error) ERR value is not an integer or out of range");
    assert_eq!(w.console(0, "REPLCONF rdb-only 1"), "OK");
    w.console(0, "PSYNC ? -1");
    w.run_for_ms(8_000);
    assert_eq!(logs(&w, 0, "RDB transfer completed, rdb only replica"), 1);
    assert_eq!(logs(&w, 0, "Synchronization with replica"), 0, "never online");
    assert_eq!(int(&mut w, 0, "replication", "connected_slaves"), 0);
    assert_eq!(int(&mut w, 0, "stats", "sync_full"), 1);
}

/// INFO's transfer fields as Redis 7.0.15 prints them: the size of an EOF-marked (diskless)
/// payload is unknown, so `master_sync_total_bytes` is 0 and the bytes "left" go negative; a
/// disk payload's `$<len>` gives the size.
#[test]
fn transfer_fields_follow_redis_for_both_framings() {
    for (diskless, eof) in [("yes", true), ("no", false)] {
        let mut w = nodes(
            31,
            2,
            &[&format!("CONFIG SET repl-diskless-sync {diskless}"), "CONFIG SET repl-diskless-sync-delay 0"],
        );
        w.console(0, "DEBUG POPULATE 20000 key 100");
        w.set_pair_params(0, 1, LinkParams { latency: 1_000, bandwidth: 256 * 1024, jitter: 0 });
        w.console(1, "REPLICAOF 127.0.0.1 6379");
        let mut seen = false;
        for _ in 0..200 {
            w.run_for_ms(50);
            let read = int(&mut w, 1, "replication", "master_sync_read_bytes");
            if read <= 0 || read == i64::MIN {
                continue;
            }
            let total = int(&mut w, 1, "replication", "master_sync_total_bytes");
            let left = int(&mut w, 1, "replication", "master_sync_left_bytes");
            let perc = field(&mut w, 1, "replication", "master_sync_perc");
            if eof {
                assert_eq!((total, left, perc.as_str()), (0, -read, "0.00"), "diskless");
            } else {
                assert!(total > read, "disk: {total} > {read}");
                assert_eq!(left, total - read);
                assert_eq!(perc, format!("{:.2}", read as f64 / total as f64 * 100.0));
            }
            seen = true;
            break;
        }
        assert!(seen, "the transfer was watched (diskless {diskless})");
    }
}
