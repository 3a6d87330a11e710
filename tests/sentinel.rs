//! Sentinel-style automatic failover (the Sentinel item of the replication issue): sentinels
//! that ping every node, mark the master down, agree on it, elect a leader, pick a replica as
//! `sentinelSelectSlave` does, promote it, re-point the others and, when it returns, the old
//! master. Each test asserts what a learner running the same steps against redis-server and
//! redis-sentinel 7.0 would see: the event lines, the roles, the replication ids, full versus
//! partial resyncs, and the data, including writes that a failover loses.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod lab;

use lab::{field, logs};
use redis_repl_lab::sentinel::SentinelConfig;
use redis_repl_lab::sim::{What, World};

/// `down-after-milliseconds` in these tests (Sentinel's default is 30 s).
const DOWN_AFTER: u64 = 5_000;

fn config(quorum: u32) -> SentinelConfig {
    SentinelConfig { quorum, down_after_ms: DOWN_AFTER, failover_timeout_ms: 60_000, ..Default::default() }
}

/// A master (node 0) with `replicas` replicas, each configured with `settings` first, and
/// `sentinels` sentinels with the given quorum; run until the sentinels have seen the replicas
/// in the master's INFO (sent every 10 s).
fn cluster(seed: u64, replicas: usize, settings: &[&[&str]], sentinels: usize, quorum: u32) -> World {
    let mut w = World::new(seed);
    for i in 0..=replicas {
        w.add_node();
        assert_eq!(w.console(i, "CONFIG SET repl-diskless-sync-delay 0"), "OK");
        for s in settings.get(i).copied().unwrap_or_default() {
            assert_eq!(w.console(i, &format!("CONFIG SET {s}")), "OK");
        }
    }
    for i in 1..=replicas {
        assert_eq!(w.console(i, "REPLICAOF 127.0.0.1 6379"), "OK");
    }
    for _ in 0..sentinels {
        assert!(w.add_sentinel(0, config(quorum)).is_some());
    }
    w.run_for_ms(12_000);
    for j in 0..sentinels {
        assert_eq!(w.sentinel_view(j).unwrap().replicas.len(), replicas, "sentinel {j} found the replicas");
    }
    w
}

/// Sentinel `j`'s event lines, with the level mark (`# +sdown master ...`).
fn events(w: &World, j: usize) -> Vec<String> {
    w.trace()
        .iter()
        .filter_map(|e| match &e.what {
            What::Sentinel { level, text } if e.node == j => Some(format!("{level} {text}")),
            _ => None,
        })
        .collect()
}

/// Every sentinel's events with the given type (`+selected-slave`, ...).
fn all_events(w: &World, kind: &str) -> Vec<String> {
    (0..w.sentinel_count()).flat_map(|j| events(w, j)).filter(|e| e.contains(&format!(" {kind} "))).collect()
}

/// The port of the replica the leader selected, from its `+selected-slave` line.
fn selected_port(w: &World) -> u16 {
    let sel = all_events(w, "+selected-slave");
    assert_eq!(sel.len(), 1, "exactly one leader selects a replica: {sel:?}");
    sel[0].split(' ').nth(5).and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("bad line {}", sel[0]))
}

#[test]
fn a_crashed_master_is_replaced_by_a_replica_and_the_other_is_repointed() {
    let mut w = cluster(1, 2, &[], 3, 2);
    assert_eq!(w.console(0, "SET k v"), "OK");
    w.run_for_ms(1_000);
    w.crash(0);
    w.run_for_ms(20_000);

    // The sequence Sentinel logs, in order, somewhere among the three sentinels.
    let order = [
        "+sdown master",
        "+odown master",
        "+try-failover master",
        "+elected-leader master",
        "+selected-slave slave",
        "+failover-state-wait-promotion slave",
        "+promoted-slave slave",
        "+slave-reconf-sent slave",
        "+slave-reconf-done slave",
        "+failover-end master",
        "+switch-master mymaster 127.0.0.1 6379 127.0.0.1",
    ];
    let leader = (0..3).find(|&j| events(&w, j).iter().any(|e| e.contains("+elected-leader"))).expect("a leader");
    let evs = events(&w, leader);
    let mut at = 0;
    for step in order {
        let found = evs[at..].iter().position(|e| e.contains(step));
        at += found.unwrap_or_else(|| panic!("{step} missing after event {at}: {evs:#?}")) + 1;
    }
    assert!(evs.iter().any(|e| e.starts_with("# +odown master mymaster 127.0.0.1 6379 #quorum ")), "{evs:#?}");

    let new = selected_port(&w);
    let (p, other) = if new == 6380 { (1, 2) } else { (2, 1) };
    assert_eq!(w.node(p).view().role, "master");
    assert_eq!(w.node(other).view().master_port, new);
    assert_eq!(w.node(other).view().link_status, Some("up"));
    assert_eq!(w.console(p, "GET k"), "\"v\"");
    // Every sentinel, the followers through the leader's hello, now names the new master.
    for j in 0..3 {
        assert_eq!(
            w.sentinel_console(j, "SENTINEL get-master-addr-by-name mymaster"),
            format!("1) \"127.0.0.1\"\n2) \"{new}\"")
        );
    }
    // Thanks to PSYNC2 the other replica continues partially from the promoted one.
    assert_eq!(field(&mut w, p, "stats", "sync_partial_ok"), "1");
    assert_eq!(logs(&w, other, "Full resync from master"), 1, "only the initial sync");
}

#[test]
fn the_replica_with_the_lowest_priority_number_is_promoted() {
    // First find which replica the run-id rule alone would pick, then give the other one the
    // better (lower) replica-priority: priority is compared first.
    let base = cluster(2, 2, &[], 3, 2);
    let runid = |w: &mut World, i: usize| field(w, i, "server", "run_id");
    let mut probe = base.clone();
    let (a, b) = (runid(&mut probe, 1), runid(&mut probe, 2));
    let loser = if a < b { 2 } else { 1 };
    let mut w = cluster(2, 2, &[&[], &["replica-priority 100"], &["replica-priority 100"]], 3, 2);
    assert_eq!(w.console(loser, "CONFIG SET replica-priority 10"), "OK");
    w.run_for_ms(11_000); // the sentinels read the new slave_priority in INFO
    w.crash(0);
    w.run_for_ms(20_000);
    assert_eq!(selected_port(&w), 6379 + loser as u16);
    assert_eq!(w.node(loser).view().role, "master");
}

#[test]
fn with_equal_priorities_the_replica_with_the_highest_offset_is_promoted() {
    let mut w = cluster(3, 2, &[], 3, 2);
    let runid = |w: &mut World, i: usize| field(w, i, "server", "run_id");
    let (a, b) = (runid(&mut w, 1), runid(&mut w, 2));
    // The replica the run id would favour gets its stream late: what is in flight is lost in
    // the crash, so it ends behind the other.
    let (behind, ahead) = if a < b { (1, 2) } else { (2, 1) };
    w.set_pair_params(0, behind, redis_repl_lab::sim::LinkParams { latency: 3_000_000, ..Default::default() });
    for i in 0..20 {
        assert_eq!(w.console(0, &format!("SET key{i} {i}")), "OK");
    }
    w.run_for_ms(500);
    w.crash(0);
    w.run_for_ms(20_000);
    assert_eq!(selected_port(&w), 6379 + ahead as u16);
    let promoted = w.node(ahead).view();
    assert_eq!(promoted.role, "master");
    assert_eq!(w.console(ahead, "DBSIZE"), "(integer) 20");
    // The lagging replica follows the promoted one; having less, it continues partially.
    let v = w.node(behind).view();
    assert_eq!((v.master_port, v.link_status), (6379 + ahead as u16, Some("up")));
    assert_eq!(w.console(behind, "DBSIZE"), "(integer) 20");
    assert_eq!(logs(&w, behind, "Successful partial resynchronization with master."), 1);
}

#[test]
fn with_equal_priorities_and_offsets_the_smallest_run_id_wins() {
    for seed in [4, 5] {
        let mut w = cluster(seed, 3, &[], 3, 2);
        let ids: Vec<String> = (1..4).map(|i| field(&mut w, i, "server", "run_id")).collect();
        let best = (1..4).min_by_key(|&i| ids[i - 1].clone()).unwrap_or(1);
        w.crash(0);
        w.run_for_ms(20_000);
        assert_eq!(selected_port(&w), 6379 + best as u16, "seed {seed}, run ids {ids:?}");
    }
}

#[test]
fn a_replica_with_priority_zero_is_never_promoted() {
    let mut w = cluster(6, 2, &[], 3, 2);
    let ids: Vec<String> = (1..3).map(|i| field(&mut w, i, "server", "run_id")).collect();
    let favourite = if ids[0] < ids[1] { 1 } else { 2 };
    assert_eq!(w.console(favourite, "CONFIG SET replica-priority 0"), "OK");
    w.run_for_ms(11_000);
    w.crash(0);
    w.run_for_ms(20_000);
    assert_eq!(selected_port(&w), 6379 + (3 - favourite) as u16);
    assert_eq!(w.node(favourite).view().role, "slave");

    // Alone, a priority-0 replica is no candidate at all: the failover aborts.
    let mut w = cluster(7, 1, &[&[], &["replica-priority 0"]], 3, 2);
    w.crash(0);
    w.run_for_ms(20_000);
    assert!(!all_events(&w, "-failover-abort-no-good-slave").is_empty());
    assert!(all_events(&w, "+selected-slave").is_empty());
    assert_eq!(w.node(1).view().role, "slave");
}

#[test]
fn a_sentinel_alone_in_thinking_the_master_down_starts_no_failover() {
    let mut w = cluster(8, 2, &[], 3, 2);
    // Sentinel 0 is cut off from everything; the others still see the master.
    w.partition_sentinels(&[1, 0, 0]);
    w.run_for_ms(60_000);
    let lonely = events(&w, 0);
    assert!(lonely.iter().any(|e| e.starts_with("# +sdown master mymaster")), "{lonely:#?}");
    assert!(!lonely.iter().any(|e| e.contains("+odown")), "one sentinel is not a quorum of 2: {lonely:#?}");
    assert!(all_events(&w, "+try-failover").is_empty());
    for j in 1..3 {
        assert!(!events(&w, j).iter().any(|e| e.contains("+sdown master")), "sentinel {j} sees the master");
    }
    assert_eq!(w.node(0).view().role, "master");
    assert_eq!(w.sentinel_view(0).map(|v| (v.sdown, v.odown)), Some((true, false)));
    // Its connection attempts made during the partition lost their SYN; the next ones succeed.
    w.heal();
    w.run_for_ms(20_000);
    assert!(events(&w, 0).iter().any(|e| e.starts_with("# -sdown master mymaster")));
}

/// The old master cut off by a partition: the others fail over; when the partition heals, the
/// sentinels turn it into a replica of the new master. How it resyncs depends on whether its
/// offset moved past the promotion point (§5.4): its in-stream PINGs (every
/// repl-ping-replica-period) alone are enough to make it diverge.
fn partitioned_master_rejoins(seed: u64, ping_period: &str) -> (World, u16) {
    let settings = ["repl-ping-replica-period", ping_period].join(" ");
    let mut w = cluster(seed, 2, &[&[settings.as_str()]], 3, 2);
    w.console(0, "SET before 1");
    w.run_for_ms(1_000);
    w.partition(&[1, 0, 0]);
    w.run_for_ms(25_000);
    let new = selected_port(&w);
    w.heal();
    w.run_for_ms(40_000);
    assert!(!all_events(&w, "+convert-to-slave").is_empty(), "the old master is converted");
    let v = w.node(0).view();
    assert_eq!((v.role, v.master_port, v.link_status), ("slave", new, Some("up")));
    (w, new)
}

#[test]
fn a_returning_old_master_with_nothing_extra_resyncs_partially() {
    let (mut w, new) = partitioned_master_rejoins(9, "3600");
    let p = (new - 6379) as usize;
    assert_eq!(logs(&w, 0, "Successful partial resynchronization with master."), 1);
    assert_eq!(logs(&w, 0, "Full resync from master"), 0);
    assert_eq!(w.node(0).view().replid2, w.node(p).view().replid2, "both keep the old id as replid2");
    assert_eq!(w.console(0, "GET before"), "\"1\"");
    assert_eq!(field(&mut w, p, "stats", "sync_full"), "0");
}

#[test]
fn a_returning_old_master_whose_pings_moved_its_offset_resyncs_fully() {
    let (w, new) = partitioned_master_rejoins(9, "1");
    let p = (new - 6379) as usize;
    assert_eq!(logs(&w, 0, "Full resync from master"), 1, "its own PINGs diverged it");
    assert_eq!(w.node(0).digest(), w.node(p).digest());
    assert_eq!(w.node(0).view().slave_repl_offset, w.node(p).view().master_repl_offset);
}

#[test]
fn a_crashed_old_master_that_restarts_is_converted_and_full_syncs() {
    let mut w = cluster(10, 2, &[], 3, 2);
    w.console(0, "SET k 1");
    w.run_for_ms(1_000);
    assert_eq!(w.console(0, "SAVE"), "OK");
    w.crash(0);
    w.run_for_ms(20_000);
    let new = selected_port(&w);
    w.restart(0);
    // It comes back as a master (its config says so) until Sentinel converts it, at least
    // 8 s after it reported its role (twice the hello period), at its next INFO.
    w.run_for_ms(3_000);
    assert_eq!(w.node(0).view().role, "master");
    w.run_for_ms(25_000);
    let conv = all_events(&w, "+convert-to-slave");
    assert!(conv.iter().all(|e| e.contains("slave 127.0.0.1:6379 127.0.0.1 6379 @ mymaster")), "{conv:?}");
    assert!(!conv.is_empty());
    // After the switch the old master is a new entry among the replicas ("+slave"), so its new
    // run id is simply learnt, without a +reboot.
    assert!(all_events(&w, "+slave").iter().any(|e| e.contains("slave 127.0.0.1:6379 127.0.0.1 6379 @")));
    let v = w.node(0).view();
    assert_eq!((v.role, v.master_port, v.link_status), ("slave", new, Some("up")));
    // A restarted master has a fresh replication id (the old one is only its replid2), so the
    // PSYNC it sends as a new replica cannot continue: a full sync, as Redis 7.0 does.
    assert_eq!(logs(&w, 0, "Full resync from master"), 1);
    assert_eq!(w.console(0, "GET k"), "\"1\"");
}

#[test]
fn writes_acknowledged_by_an_isolated_old_master_are_lost_in_the_failover() {
    let mut w = cluster(11, 2, &[], 3, 2);
    assert_eq!(w.console(0, "SET kept 1"), "OK");
    w.run_for_ms(1_000);
    // The master is cut off from its replicas and the sentinels, but a client next to it
    // still writes, and the master acknowledges (min-replicas-to-write is 0).
    w.partition(&[1, 0, 0]);
    w.run_for_ms(100);
    assert_eq!(w.console(0, "SET lost 1"), "OK");
    assert_eq!(w.console(0, "INCR counter"), "(integer) 1");
    w.run_for_ms(25_000);
    let p = (selected_port(&w) - 6379) as usize;
    assert_eq!(w.console(p, "GET lost"), "(nil)", "never replicated: the new master does not have it");
    assert_eq!(w.console(p, "GET kept"), "\"1\"");
    assert_eq!(w.console(0, "GET lost"), "\"1\"", "still on the old master while it is isolated");
    w.heal();
    w.run_for_ms(40_000);
    assert_eq!(w.node(0).view().role, "slave");
    assert_eq!(logs(&w, 0, "Full resync from master"), 1, "its extra writes force a full sync");
    assert_eq!(w.console(0, "GET lost"), "(nil)", "the acknowledged write is gone for good");
    assert_eq!(w.console(0, "GET counter"), "(nil)");
    assert_eq!(w.console(0, "GET kept"), "\"1\"");
    assert_eq!(w.node(0).digest(), w.node(p).digest());
}

#[test]
fn sentinel_events_and_traffic_are_in_the_trace_as_the_sentinels_doing() {
    let mut w = cluster(12, 1, &[], 2, 2);
    w.crash(0);
    w.run_for_ms(20_000);
    let s: Vec<_> = w.trace().iter().filter(|e| e.kind() == "sentinel").collect();
    assert!(s.iter().all(|e| e.node < 2 && (e.text().starts_with("S1: ") || e.text().starts_with("S2: "))));
    assert!(s.iter().any(|e| e.text().contains("# +switch-master mymaster 127.0.0.1 6379 127.0.0.1 6380")));
    // The sentinels' own bytes travel the simulated links: PINGs, INFO, the SLAVEOF transaction.
    let net: Vec<String> = w.trace().iter().filter(|e| e.kind() == "sentinel-net").map(|e| e.text()).collect();
    assert!(net.iter().any(|t| t.starts_with("S1 → A PING") || t.starts_with("S2 → A PING")));
    assert!(net.iter().any(|t| t.contains("→ B") && t.contains("SLAVEOF NO ONE")), "{:?}", &net[..20]);
    assert!(net.iter().any(|t| t.contains("is-master-down-by-addr")));
    // The replica only did what it was told: its log shows the REPLICAOF, not a decision.
    assert_eq!(logs(&w, 1, "MASTER MODE enabled"), 1);
    // No node-to-node traffic is attributed to the sentinels and vice versa.
    assert!(w.trace().iter().filter(|e| e.kind() == "net").all(|e| !e.text().starts_with('S')));
}
