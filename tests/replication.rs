//! A master and a replica in the simulator: the handshake bytes, the full sync, offsets.
//!
//! These are plain `#[test]`s: natively they run under `cargo test`, and on wasm32 the import
//! below turns them into `wasm_bindgen_test`s so the same engine runs under Node.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod lab;

use lab::{field, int, logs, stat};
use redis_repl_lab::rdb::{crc64, read_rdb};
use redis_repl_lab::sim::{LinkParams, World};

fn pair(seed: u64) -> World {
    let mut w = World::new(seed);
    w.record_transcripts();
    w.add_node();
    w.add_node();
    w
}

#[test]
fn replica_handshake_bytes_match_redis_7() {
    let mut w = pair(1);
    assert_eq!(w.console(1, "REPLICAOF 127.0.0.1 6379"), "OK");
    w.run_for_ms(10_000);
    let replid = w.node(1).view().replid;
    let sent = String::from_utf8_lossy(w.transcript(1, 0)).into_owned();
    // A node that was a master synthesises a cached master from itself: PSYNC <own id> <offset+1>.
    let handshake = "*1\r\n$4\r\nPING\r\n\
        *3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n6380\r\n\
        *5\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n$4\r\ncapa\r\n$6\r\npsync2\r\n\
        *3\r\n$5\r\nPSYNC\r\n$40\r\n";
    assert!(sent.starts_with(handshake), "{sent:?}");
    let psync_id = &sent[handshake.len()..handshake.len() + 40];
    assert_ne!(psync_id, replid, "the replica now carries the master's id");
    assert_eq!(&sent[handshake.len() + 40..handshake.len() + 49], "\r\n$1\r\n1\r\n");
    let ack = format!(
        "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n${}\r\n{}\r\n",
        w.node(0).view().master_repl_offset.to_string().len(),
        w.node(0).view().master_repl_offset
    );
    assert!(sent.contains(&ack), "an ACK of the master's offset follows the load: {sent:?}");
}

#[test]
fn master_replies_pong_ok_ok_then_fullresync_with_eof_payload() {
    let mut w = pair(2);
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(10_000);
    let got = w.transcript(0, 1).to_vec();
    let replies = b"+PONG\r\n+OK\r\n+OK\r\n";
    assert!(got.starts_with(replies), "{:?}", String::from_utf8_lossy(&got));
    let rest = &got[replies.len()..];
    // Newlines once a second while the diskless delay (5 s) runs.
    let newlines = rest.iter().take_while(|&&b| b == b'\n').count();
    assert!((4..=6).contains(&newlines), "{newlines} keepalives");
    let rest = &rest[newlines..];
    let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
    let line = std::str::from_utf8(&rest[..line_end]).unwrap();
    let parts: Vec<&str> = line.split(' ').collect();
    assert_eq!(parts[0], "+FULLRESYNC");
    assert_eq!(parts[1], w.node(0).view().replid);
    // The ping fed each 10 s into the stream counts: the fork-time offset is a multiple of 14.
    let off: i64 = parts[2].parse().unwrap();
    assert_eq!(off % 14, 0);
    let rest = &rest[line_end + 2..];
    assert!(rest.starts_with(b"$EOF:"));
    let mark = &rest[5..45];
    assert_eq!(&rest[45..47], b"\r\n");
    let body = &rest[47..];
    let end = body.windows(40).position(|w| w == mark).expect("closing mark");
    let rdb = &body[..end];
    assert!(rdb.starts_with(b"REDIS0010"));
    let (payload, trailer) = rdb.split_at(rdb.len() - 8);
    assert_eq!(u64::from_le_bytes(trailer.try_into().unwrap()), crc64(payload));
    let file = read_rdb(rdb).unwrap();
    assert_eq!(file.aux_field("repl-id"), Some(parts[1].as_bytes()));
    assert_eq!(file.aux_int("repl-offset"), Some(off));
}

#[test]
fn writes_during_transfer_arrive_after_it_then_streaming_with_equal_offsets() {
    let mut w = pair(3);
    // 2 KB/s: the RDB takes visible time on the wire.
    w.set_link_params(LinkParams { latency: 5_000, bandwidth: 2_048, jitter: 0 });
    w.console(0, "DEBUG POPULATE 100 key 20");
    w.console(0, "SET before 1");
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(6_500);
    let m = w.node(0).view();
    assert!(m.replicas[0].state == "online" || m.replicas[0].state == "wait_bgsave", "{m:?}");
    let r = w.node(1).view();
    assert_eq!(r.repl_state, "sync", "the payload is still on the wire: {r:?}");
    assert_eq!(w.console(0, "SET during 2"), "OK");
    w.run_for_ms(5_000);
    assert_eq!(w.console(1, "GET before"), "\"1\"");
    assert_eq!(w.console(1, "GET during"), "\"2\"");
    assert_eq!(w.console(0, "INCR counter"), "(integer) 1");
    assert_eq!(w.console(0, "SET k v EX 100"), "OK");
    w.run_for_ms(1_500);
    assert_eq!(w.console(1, "GET counter"), "\"1\"");
    let master_off: i64 = int(&mut w, 0, "replication", "master_repl_offset");
    assert_eq!(int(&mut w, 1, "replication", "master_repl_offset"), master_off);
    assert_eq!(int(&mut w, 1, "replication", "slave_repl_offset"), master_off);
    assert_eq!(field(&mut w, 1, "replication", "master_link_status"), "up");
    assert_eq!(w.node(0).digest(), w.node(1).digest());
    // The write made after the fork is not in the RDB but follows it in the stream, preceded by
    // the SELECT that every full sync forces; later writes stream, SET ... EX rewritten as PXAT.
    let to_replica = w.transcript(0, 1).to_vec();
    let mark_at = to_replica.windows(5).position(|x| x == b"$EOF:").unwrap() + 5;
    let mark = &to_replica[mark_at..mark_at + 40];
    let rdb_end = mark_at + 42 + to_replica[mark_at + 42..].windows(40).position(|x| x == mark).unwrap();
    let rdb = read_rdb(&to_replica[mark_at + 42..rdb_end]).unwrap();
    assert!(rdb.keyspace.db(0).get_raw(b"before").is_some());
    assert!(rdb.keyspace.db(0).get_raw(b"during").is_none(), "written after the fork");
    let stream = String::from_utf8_lossy(&to_replica[rdb_end + 40..]).into_owned();
    assert!(
        stream.starts_with("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$6\r\nduring\r\n$1\r\n2\r\n"),
        "{stream:?}"
    );
    assert!(stream.contains("*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n"));
    assert!(stream.contains("*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$4\r\nPXAT\r\n$13\r\n"));
    assert!(w.console(1, "SET x 1").starts_with("(error) READONLY"));
}

#[test]
fn offsets_count_every_stream_byte_including_pings() {
    let mut w = pair(4);
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(10_000);
    let start: i64 = int(&mut w, 0, "replication", "master_repl_offset");
    // `*3 $3 SET $1 a $1 b` is 27 bytes; the first write after a full sync carries SELECT 0 (23).
    w.console(0, "SET a b");
    let after_set: i64 = int(&mut w, 0, "replication", "master_repl_offset");
    let delta = after_set - start;
    assert_eq!(delta, 27 + 23);
    w.console(0, "SET a c");
    let second: i64 = int(&mut w, 0, "replication", "master_repl_offset");
    assert_eq!(second - after_set, 27, "no SELECT once the stream's db is known");
    let after_set = second;
    w.run_for_ms(30_000);
    let later: i64 = int(&mut w, 0, "replication", "master_repl_offset");
    assert_eq!((later - after_set) % 14, 0, "only 14-byte pings in between");
    assert!(later - after_set >= 28, "at least two pings in 30 s");
    assert_eq!(int(&mut w, 1, "replication", "slave_repl_offset"), later);
    let role = w.console(0, "ROLE");
    assert!(role.contains(&format!("\"{later}\"")), "ROLE lists the replica's ACKed offset: {role}");
}

#[test]
fn same_seed_same_trace() {
    let run = |seed| {
        let mut w = pair(seed);
        w.console(1, "REPLICAOF 127.0.0.1 6379");
        w.console(0, "SET a 1");
        w.run_for_ms(15_000);
        w.trace_digest()
    };
    assert_eq!(run(9), run(9));
    assert_ne!(run(9), run(10));
}

#[test]
fn a_paused_master_sends_nothing_and_catches_up_on_resume() {
    let mut w = pair(6);
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(8_000);
    assert_eq!(w.console(0, "DEBUG SLEEP 3"), "", "the reply waits for the node to wake");
    w.run_for_ms(1_000);
    assert!(w.node(0).is_paused());
    // The replica's ACKs queue up at the sleeping master; nothing comes back meanwhile.
    let sent_before = w.transcript(0, 1).len();
    w.run_for_ms(1_500);
    assert_eq!(w.transcript(0, 1).len(), sent_before);
    w.run_for_ms(1_000);
    assert!(!w.node(0).is_paused());
    assert_eq!(w.console_late_replies(0), vec!["OK".to_string()]);
    assert_eq!(w.console(0, "SET after sleep"), "OK");
    w.run_for_ms(500);
    assert_eq!(w.console(1, "GET after"), "\"sleep\"");
    let t = w.console(0, "TIME");
    assert!(t.starts_with("1) \"1767225"), "virtual clock from 2026-01-01: {t}");
}

/// A master that slept through 35 s of crons runs one cron when it wakes, as Redis's event loop
/// runs a late timer once: at most one PING for the whole sleep (catching up would send one per 10 s slept),
/// then one every 10 s again.
#[test]
fn a_master_waking_from_a_long_sleep_does_not_catch_up_on_the_pings_it_missed() {
    let mut w = pair(7);
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(8_000);
    let before = int(&mut w, 0, "replication", "master_repl_offset");
    w.console(0, "DEBUG SLEEP 35");
    w.run_for_ms(35_050);
    assert!(!w.node(0).is_paused());
    let woken = int(&mut w, 0, "replication", "master_repl_offset");
    assert!(woken - before <= 14, "{} bytes of PINGs for one sleep", woken - before);
    w.run_for_ms(30_000);
    let later = int(&mut w, 0, "replication", "master_repl_offset");
    assert_eq!((later - woken) % 14, 0, "only PINGs since");
    assert!((28..=42).contains(&(later - woken)), "one PING every 10 s: {} bytes in 30 s", later - woken);
}

/// `DEBUG SLEEP`'s argument is read by `strtod` and checked by nothing, as in redis-server 7.0.15
/// (asked by hand: `abc`, `-1`, `nan`, `inf` and `5.E50` answer `OK` at once, `0x10` sleeps 16 s).
#[test]
fn debug_sleep_reads_its_seconds_as_redis_does() {
    let mut w = pair(6);
    for at_once in ["abc", "-1", "nan", "inf", "5.E50", "1e-9"] {
        assert_eq!(w.console(0, &format!("DEBUG SLEEP {at_once}")), "OK", "{at_once}");
        assert!(!w.node(0).is_paused(), "{at_once}");
    }
    assert_eq!(w.console(0, "DEBUG SLEEP 0x2"), "", "hexadecimal, as strtod reads it");
    w.run_for_ms(1_900);
    assert!(w.node(0).is_paused());
    w.run_for_ms(200);
    assert!(!w.node(0).is_paused());
    assert_eq!(w.console(0, "DEBUG SLEEP 0.5seconds"), "", "the number before the junk");
    w.run_for_ms(600);
    assert!(!w.node(0).is_paused());
}

#[test]
fn replica_repl_timeout_shorter_than_the_ping_period_drops_and_psyncs() {
    let mut w = pair(7);
    assert_eq!(w.console(1, "CONFIG SET repl-timeout 2"), "OK");
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(8_000);
    assert_eq!(w.node(1).view().link_status, Some("up"));
    w.run_for_ms(20_000);
    assert!(logs(&w, 1, "MASTER timeout: no data nor PING received...") >= 3);
    assert!(stat(&mut w, 0, "sync_partial_ok") >= 3, "each reconnection is a partial resync");
    assert_eq!(stat(&mut w, 0, "sync_full"), 1);
    assert_eq!(w.node(0).digest(), w.node(1).digest());
}

#[test]
fn master_drops_a_silent_replica_which_then_psyncs_back() {
    let mut w = pair(8);
    assert_eq!(w.console(0, "CONFIG SET repl-timeout 3"), "OK");
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(8_000);
    w.pause_node(1, 6_000);
    w.run_for_ms(6_000);
    assert_eq!(logs(&w, 0, "Disconnecting timedout replica (streaming sync): 127.0.0.1:6380"), 1);
    w.run_for_ms(3_000);
    assert_eq!(w.node(1).view().link_status, Some("up"));
    assert_eq!(logs(&w, 0, "Sending 0 bytes of backlog"), 1, "nothing was written meanwhile");
    assert_eq!(stat(&mut w, 0, "sync_partial_ok"), 1);
}

#[test]
fn backlog_is_freed_with_a_new_replid_after_the_ttl_without_replicas() {
    let mut w = pair(9);
    w.console(0, "CONFIG SET repl-backlog-ttl 5");
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(8_000);
    let id = w.node(0).view().replid;
    w.console(1, "REPLICAOF NO ONE");
    w.run_for_ms(3_000);
    assert!(w.node(0).view().backlog.active, "kept within the TTL");
    w.run_for_ms(4_000);
    let m = w.node(0).view();
    assert!(!m.backlog.active);
    assert_ne!(m.replid, id);
    assert_eq!(logs(&w, 0, "Replication backlog freed after 5 seconds without connected replicas."), 1);
}

#[test]
fn replicas_hide_expired_keys_but_wait_for_the_masters_del() {
    let mut w = pair(10);
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(8_000);
    assert_eq!(w.console(0, "DEBUG SET-ACTIVE-EXPIRE 0"), "OK");
    w.console(0, "SET k v PX 100");
    w.run_for_ms(500);
    assert_eq!(w.console(1, "GET k"), "(nil)");
    assert_eq!(w.console(1, "EXISTS k"), "(integer) 0");
    assert_eq!(w.console(1, "DBSIZE"), "(integer) 1", "still stored until the master's DEL");
    assert_eq!(w.console(0, "DBSIZE"), "(integer) 1", "no active expiry on the master either");
    assert_eq!(w.console(0, "GET k"), "(nil)", "lazy expiry on the master deletes and propagates DEL");
    w.run_for_ms(100);
    assert_eq!(w.console(1, "DBSIZE"), "(integer) 0");
    let stream = String::from_utf8_lossy(w.transcript(0, 1)).into_owned();
    assert!(stream.ends_with("*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"), "{stream:?}");
    // Active expiry on: a key with a short TTL is deleted by the cycle and the DEL follows.
    w.console(0, "DEBUG SET-ACTIVE-EXPIRE 1");
    w.console(0, "SET short 1 PX 1");
    w.run_for_ms(300);
    assert_eq!(w.console(1, "DBSIZE"), "(integer) 0");
    assert_eq!(w.node(0).digest(), w.node(1).digest());
}

#[test]
fn wait_counts_acknowledging_replicas_and_blocks_until_timeout() {
    let mut w = pair(11);
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(8_000);
    assert_eq!(w.console(0, "SET k v"), "OK");
    assert_eq!(w.console(0, "WAIT 1 1000"), "", "blocks until the replica acknowledges");
    w.run_for_ms(100);
    assert_eq!(w.console_late_replies(0), vec!["(integer) 1".to_string()]);
    let stream = String::from_utf8_lossy(w.transcript(0, 1)).into_owned();
    assert!(stream.contains("*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"), "GETACK goes through the stream");
    assert_eq!(w.console(0, "WAIT 0 0"), "(integer) 1", "returns the count, not the request");
    assert_eq!(w.console(0, "WAIT 2 300"), "");
    w.run_for_ms(299);
    assert!(w.console_late_replies(0).is_empty());
    w.run_for_ms(2);
    assert_eq!(w.console_late_replies(0), vec!["(integer) 1".to_string()]);
    w.console(0, "MULTI");
    w.console(0, "WAIT 5 0");
    assert_eq!(w.console(0, "EXEC"), "1) (integer) 1", "inside MULTI it answers at once");
    assert!(w.console(1, "WAIT 1 0").starts_with("(error) ERR WAIT cannot be used with replica instances."));
    assert_eq!(w.console(0, "WAIT 1 -1"), "(error) ERR timeout is negative");
    assert_eq!(w.node(1).view().slave_repl_offset, w.node(0).view().master_repl_offset);
}

#[test]
fn min_replicas_to_write_refuses_writes_without_enough_good_replicas() {
    let mut w = pair(12);
    w.console(0, "CONFIG SET min-replicas-to-write 1");
    w.console(0, "CONFIG SET min-replicas-max-lag 3");
    w.run_for_ms(1_100);
    assert_eq!(w.console(0, "SET k v"), "(error) NOREPLICAS Not enough good replicas to write.");
    assert_eq!(w.console(0, "GET k"), "(nil)", "reads still work");
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(9_000);
    assert_eq!(w.console(0, "SET k v"), "OK");
    assert!(w.console(0, "INFO replication").contains("min_slaves_good_slaves:1"));
    w.pause_node(1, 10_000);
    w.run_for_ms(5_000);
    assert_eq!(w.console(0, "SET k w"), "(error) NOREPLICAS Not enough good replicas to write.");
    w.run_for_ms(7_000);
    assert_eq!(w.console(0, "SET k w"), "OK", "the replica ACKs again after waking");
}

#[test]
fn the_trace_reports_state_changes_a_learner_should_see() {
    let mut w = pair(13);
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(8_000);
    let states: Vec<String> = w.trace().iter().filter(|e| e.kind() == "state").map(|e| e.text()).collect();
    for expected in [
        "B: role master → slave",
        "B: replication state none → connecting",
        "B: replication state connecting → handshake",
        "B: replication state handshake → sync",
        "B: replication state sync → connected",
        "A: backlog created",
        "A: replica :6380 (new) → wait_bgsave",
        "A: replica :6380 wait_bgsave → online",
    ] {
        assert!(states.iter().any(|s| s == expected), "{expected} missing from {states:#?}");
    }
    assert!(states.iter().any(|s| s.starts_with("A: replication id ")), "the first replica changes the id");
}

/// A WAIT answers after the console returned; the next command typed reads its own reply, and
/// the WAIT's is a late reply.
#[test]
fn a_command_after_a_blocked_wait_reads_its_own_reply() {
    let mut w = pair(31);
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(20_000);
    assert_eq!(w.console(0, "SET k v"), "OK");
    assert_eq!(w.console(0, "WAIT 1 5000"), "", "blocked until the replica acknowledges");
    w.run_for_ms(2_000);
    assert_eq!(w.console(0, "GET k"), "\"v\"");
    assert_eq!(w.console_late_replies(0), vec!["(integer) 1".to_string()]);
    assert!(w.console_late_replies(0).is_empty());
}

/// `DEBUG POPULATE` that could leave more keys in a node, or more bytes, than a browser tab
/// holds is refused whole, with the limit in the reply, instead of filling the page until it
/// crashes.
#[test]
fn populate_refuses_more_than_a_tab_holds_and_adds_nothing() {
    let mut w = World::new(1);
    w.add_node();
    let refused =
        "(error) ERR the lab holds at most 2000000 keys per node, to fit in a browser tab (Redis has no such limit)";
    assert_eq!(w.console(0, "DEBUG POPULATE 50000000"), refused);
    assert_eq!(w.console(0, "DBSIZE"), "(integer) 0", "nothing was added");
    assert_eq!(w.console(0, "DEBUG POPULATE 10"), "OK");
    assert_eq!(w.console(0, "SELECT 3"), "OK");
    assert_eq!(w.console(0, "DEBUG POPULATE 1999991 other"), refused, "the keys of every database count");
    assert_eq!(w.console(0, "DBSIZE"), "(integer) 0");
    assert_eq!(
        w.console(0, "DEBUG POPULATE 257 big 1048576"),
        "(error) ERR the lab writes at most 268435456 bytes of values in one DEBUG POPULATE, to fit in a browser tab (Redis has no such limit)"
    );
    assert_eq!(w.console(0, "DEBUG POPULATE 256 big 1048576"), "OK", "exactly the limit");
    assert_eq!(w.console(0, "DBSIZE"), "(integer) 256");
}

/// A replica told `REPLICAOF` another node while part of a transaction from its old master is
/// still arriving keeps only what it applied (`replicationCacheMaster` empties the query buffer
/// and discards the MULTI): it asks its new master for what follows its applied offset, and the
/// new master's copy of the transaction is not spliced onto the half it had read. The sweep found
/// this (seeds 9419, 13287, 13719, 20291 and 20650: "Protocol error from master … Desync?" or a
/// replica at its master's offset with another dataset).
#[test]
fn a_replica_switching_masters_mid_transaction_drops_what_it_had_not_applied() {
    let mut w = World::new(1);
    for _ in 0..3 {
        w.add_node();
    }
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.console(2, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(9_000);
    // Node 2's link to the master carries 8 KB a second, node 1's is fast. The transaction
    // straddles the end of the master's first 16 KB replication buffer block, so it leaves in
    // two segments: node 2 reads the first after two seconds and the second half a second later.
    w.set_pair_params(0, 2, LinkParams { latency: 1_000, jitter: 0, bandwidth: 8 * 1024 });
    w.console(0, "MULTI");
    w.console(0, "SET small 1");
    w.console(0, &format!("SET big {}", "x".repeat(20_000)));
    assert_eq!(w.console(0, "EXEC"), "1) OK\n2) OK");
    w.run_for_ms(2_200);
    let (master, fast, slow) = (w.node(0).view(), w.node(1).view(), w.node(2).view());
    assert_eq!(fast.slave_repl_offset, master.master_repl_offset);
    assert!(
        slow.slave_read_repl_offset > slow.slave_repl_offset,
        "node 2 has read part of the transaction and applied none of it: {} > {}",
        slow.slave_read_repl_offset,
        slow.slave_repl_offset
    );

    assert_eq!(w.console(1, "REPLICAOF NO ONE"), "OK");
    assert_eq!(w.console(2, "REPLICAOF 127.0.0.1 6380"), "OK");
    w.set_pair_params(1, 2, LinkParams { latency: 1_000, jitter: 0, bandwidth: 1 << 20 });
    w.run_for_ms(2_000);
    assert_eq!(logs(&w, 2, "Protocol error"), 0);
    assert_eq!(stat(&mut w, 1, "sync_partial_ok"), 1, "node 2 continued from its applied offset");
    let (new_master, replica) = (w.node(1).view(), w.node(2).view());
    assert_eq!(replica.link_status, Some("up"));
    assert_eq!(replica.slave_repl_offset, new_master.master_repl_offset);
    assert_eq!(replica.slave_read_repl_offset, replica.slave_repl_offset);
    assert_eq!(w.node(2).digest(), w.node(1).digest());
    assert_eq!(w.console(2, "STRLEN big"), "(integer) 20000");
    // The transaction it was inside is gone with the old link: the next command from its new
    // master applies at once instead of being queued.
    w.console(1, "SET after 1");
    w.run_for_ms(500);
    assert_eq!(w.console(2, "GET after"), "\"1\"");
}
