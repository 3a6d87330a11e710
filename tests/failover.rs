//! The FAILOVER command (REDIS-REPLICATION.md §5.7): a coordinated switch in which the old master
//! waits for a replica to catch up, hands over with PSYNC ... FAILOVER and continues partially.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod lab;

use lab::field;
use redis_repl_lab::sim::World;

fn trio(seed: u64) -> World {
    let mut w = World::new(seed);
    w.record_transcripts();
    for _ in 0..3 {
        w.add_node();
    }
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.console(2, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(9_000);
    w
}

#[test]
fn failover_to_a_replica_hands_over_with_a_partial_resync() {
    let mut w = trio(1);
    w.console(0, "SET before 1");
    let old_id = w.node(0).view().replid;
    assert_eq!(w.console(0, "FAILOVER TO 127.0.0.1 6380"), "OK");
    assert_eq!(field(&mut w, 0, "replication", "master_failover_state"), "waiting-for-sync");
    assert_eq!(w.console(0, "SET paused 1"), "", "writes wait while the failover runs");
    w.run_for_ms(3_000);
    // The held write ran when the failover finished, on what is now a replica.
    assert_eq!(
        w.console_late_replies(0),
        vec!["(error) READONLY You can't write against a read only replica.".to_string()]
    );
    let (a, b) = (w.node(0).view(), w.node(1).view());
    assert_eq!(b.role, "master");
    assert_eq!(b.replid2, old_id);
    assert_eq!(a.role, "slave");
    assert_eq!(a.master_port, 6380);
    assert_eq!(a.link_status, Some("up"));
    assert_eq!(field(&mut w, 0, "replication", "master_failover_state"), "no-failover");
    let sent = String::from_utf8_lossy(w.transcript(0, 1)).into_owned();
    assert!(
        sent.contains(&format!("$5\r\nPSYNC\r\n$40\r\n{old_id}\r\n")) && sent.contains("$8\r\nFAILOVER\r\n"),
        "{sent:?}"
    );
    assert!(w.trace().iter().any(|e| e.node == 1 && e.text().contains("MASTER MODE enabled (failover request from")));
    assert_eq!(field(&mut w, 1, "stats", "sync_partial_ok"), "1");
    w.console(1, "SET after 2");
    w.run_for_ms(1_000);
    assert_eq!(w.console(0, "GET after"), "\"2\"");
    assert_eq!(w.console(2, "GET after"), "\"2\"", "the other replica follows through the old master");
}

#[test]
fn failover_errors_as_redis_words_them() {
    let mut w = trio(2);
    let c = |w: &mut World, n: usize, l: &str| w.console(n, l);
    assert_eq!(c(&mut w, 1, "FAILOVER"), "(error) ERR FAILOVER is not valid when server is a replica.");
    assert_eq!(c(&mut w, 0, "FAILOVER ABORT"), "(error) ERR No failover in progress.");
    assert_eq!(c(&mut w, 0, "FAILOVER TIMEOUT 0"), "(error) ERR FAILOVER timeout must be greater than 0");
    assert_eq!(
        c(&mut w, 0, "FAILOVER FORCE"),
        "(error) ERR FAILOVER with force option requires both a timeout and target HOST and IP."
    );
    assert_eq!(
        c(&mut w, 0, "FAILOVER TO 127.0.0.1 7000"),
        "(error) ERR FAILOVER target HOST and PORT is not a replica."
    );
    assert_eq!(c(&mut w, 0, "FAILOVER BOGUS"), "(error) ERR syntax error");
    let mut lone = World::new(3);
    lone.add_node();
    assert_eq!(lone.console(0, "FAILOVER"), "(error) ERR FAILOVER requires connected replicas.");
    w.pause_node(1, 5_000);
    c(&mut w, 0, "SET lag 1"); // the paused replica cannot acknowledge this
    assert_eq!(c(&mut w, 0, "FAILOVER TO 127.0.0.1 6380 TIMEOUT 500"), "OK");
    assert_eq!(c(&mut w, 0, "FAILOVER"), "(error) ERR FAILOVER already in progress.");
    assert_eq!(c(&mut w, 0, "REPLICAOF NO ONE"), "(error) ERR REPLICAOF not allowed while failing over.");
    w.console(0, "SET x 1");
    w.run_for_ms(1_000);
    assert!(w.trace().iter().any(|e| e.text().contains("Replica never caught up before timeout")));
    assert_eq!(w.node(0).view().role, "master", "no FORCE: the old master stays");
    assert_eq!(w.console_late_replies(0), vec!["OK".to_string()], "the held write ran after the abort");
}

#[test]
fn forced_failover_hands_over_even_to_a_lagging_replica() {
    let mut w = trio(4);
    w.pause_node(1, 3_000);
    w.console(0, "SET lag 1");
    assert_eq!(w.console(0, "FAILOVER TO 127.0.0.1 6380 TIMEOUT 500 FORCE"), "OK");
    w.run_for_ms(6_000);
    assert!(w.trace().iter().any(|e| e.text().contains("FAILOVER to 127.0.0.1:6380 time out exceeded, failing over.")));
    assert_eq!(w.node(1).view().role, "master");
    assert_eq!(w.node(0).view().role, "slave");
    assert_eq!(w.node(0).view().link_status, Some("up"));
}
