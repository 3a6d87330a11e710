//! Chained replication: a replica's sub-replicas get its master's stream verbatim and share the
//! top master's replication id and offsets (REDIS-REPLICATION.md §5.6).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use redis_repl_lab::sim::World;

fn chain(seed: u64) -> World {
    let mut w = World::new(seed);
    w.record_transcripts();
    for _ in 0..3 {
        w.add_node();
    }
    w.console(1, "REPLICAOF 127.0.0.1 6379");
    w.run_for_ms(8_000);
    w.console(2, "REPLICAOF 127.0.0.1 6380");
    w.run_for_ms(8_000);
    w
}

#[test]
fn a_sub_replica_shares_the_top_masters_id_and_offsets() {
    let mut w = chain(1);
    let top = w.node(0).view();
    let to_c = String::from_utf8_lossy(w.transcript(1, 2)).into_owned();
    assert!(to_c.contains(&format!("+FULLRESYNC {} ", top.replid)), "{to_c:?}");
    w.console(0, "SELECT 4");
    w.console(0, "SET deep 1");
    w.run_for_ms(1_500);
    assert_eq!(w.console(2, "SELECT 4"), "OK");
    assert_eq!(w.console(2, "GET deep"), "\"1\"");
    let (a, b, c) = (w.node(0).view(), w.node(1).view(), w.node(2).view());
    assert_eq!(b.replid, a.replid);
    assert_eq!(c.replid, a.replid);
    assert_eq!(c.slave_repl_offset, a.master_repl_offset);
    assert_eq!(b.master_repl_offset, a.master_repl_offset);
    // The middle node proxies bytes verbatim: what C received after its RDB is a suffix of
    // what B received.
    let to_b = w.transcript(0, 1).to_vec();
    let tail = &to_b[to_b.len() - 20..];
    assert!(w.transcript(1, 2).ends_with(tail));
}

#[test]
fn a_partial_resync_upstream_keeps_sub_replicas_a_full_one_drops_them() {
    let mut w = chain(2);
    w.cut(0, 1);
    w.run_for_ms(2_000);
    w.console(0, "SET after 1");
    w.run_for_ms(1_500);
    assert_eq!(w.console(2, "GET after"), "\"1\"");
    let stats = w.console(1, "INFO stats");
    assert!(stats.contains("sync_full:1"), "C's sync only: {stats}");
    // Now the top master restarts empty (new history): B full-syncs and drops C, which then
    // resyncs from B as well.
    w.crash(0);
    w.restart(0);
    w.run_for_ms(15_000);
    let (a, c) = (w.node(0).view(), w.node(2).view());
    assert_eq!(c.replid, a.replid);
    assert_eq!(w.console(2, "DBSIZE"), "(integer) 0");
    assert_eq!(w.node(2).view().link_status, Some("up"));
    assert!(w.trace().iter().any(|e| e.node == 1 && e.text().contains("Connection with replica 127.0.0.1:6381 lost.")));
}

#[test]
fn a_replica_whose_link_is_down_answers_nomasterlink() {
    let mut w = chain(3);
    w.crash(0);
    w.cut(1, 2);
    w.run_for_ms(3_000);
    let log: Vec<String> = w.trace().iter().filter(|e| e.node == 2).map(|e| e.text()).collect();
    assert!(
        log.iter().any(|t| t.contains("Master is currently unable to PSYNC but should be in the future")),
        "{log:?}"
    );
    assert_eq!(w.node(2).view().link_status, Some("down"));
}
