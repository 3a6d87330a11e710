//! The simulation sweep: many seeds of a master and two replicas under a random workload and
//! random faults (cuts, partitions, crashes with and without a SAVE and later restarts,
//! immediate restarts, pauses, and promotions: an operator's REPLICAOF NO ONE + REPLICAOF, the
//! FAILOVER command, or, in about a third of the seeds, three sentinels failing over on their
//! own), then healing and quiescence, with every invariant of `sim::sweep` checked (every node
//! converges on one master's dataset, replication id and offset, offsets never go back except
//! at a full sync or restart, bounded backlogs, no torn stream, PSYNC answered by §4.4's rule,
//! no panic).
//!
//! `cargo test --test sweep` runs 100 seeds natively (a handful on wasm32): the test command
//! keeps to its time budget, and long sweeps are run by hand. For one, set `SWEEP_SEEDS` (and
//! optionally `SWEEP_FIRST`, the first seed, default 1, and `SWEEP_NODES`, a number of nodes or
//! a range `3-8` from which each seed takes `3 + seed % 6`):
//!
//! ```text
//! SWEEP_SEEDS=5000 SWEEP_NODES=3-8 cargo test --release --test sweep -- --nocapture
//! ```
//!
//! A failing seed is replayed, with its full report, by `repl-lab sim --seed S --nodes N
//! --virtual-secs 60 --faults random --writes-per-sec 40`.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use redis_repl_lab::sim::sweep::{run, SweepConfig, SweepReport};

/// Virtual seconds of each run (then healing and quiescence, typically a few more seconds).
const VIRTUAL_SECS: u64 = 60;
/// Writes per virtual second on the master.
const WRITES_PER_SEC: u64 = 40;

fn config(seed: u64) -> SweepConfig {
    SweepConfig { seed, nodes: 3, virtual_secs: VIRTUAL_SECS, faults: true, writes_per_sec: WRITES_PER_SEC }
}

/// How many nodes each seed runs: 3, or what `SWEEP_NODES` says (`5`, or `3-8`: the lowest plus
/// the seed modulo the range's width).
fn nodes_for(seed: u64) -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    if let Ok(v) = std::env::var("SWEEP_NODES") {
        let whole =
            |t: &str| t.trim().parse::<u64>().unwrap_or_else(|_| panic!("SWEEP_NODES: {v:?} is not N or LOW-HIGH"));
        let (low, high) = match v.split_once('-') {
            Some((a, b)) => (whole(a), whole(b)),
            None => (whole(&v), whole(&v)),
        };
        assert!((2..=8).contains(&low) && low <= high && high <= 8, "SWEEP_NODES: {v:?}, from 2 to 8 nodes");
        return (low + seed % (high - low + 1)) as usize;
    }
    let _ = seed;
    3
}

#[cfg(not(target_arch = "wasm32"))]
fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("{name} must be a whole number, not {v:?}")),
        Err(_) => default,
    }
}

/// The seeds to run: 100 natively (`SWEEP_SEEDS`/`SWEEP_FIRST` override), 5 on wasm32.
fn seeds() -> std::ops::Range<u64> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let first = env_u64("SWEEP_FIRST", 1);
        first..first + env_u64("SWEEP_SEEDS", 100)
    }
    #[cfg(target_arch = "wasm32")]
    {
        1..6
    }
}

/// Runs the seeds, on every core natively; reports in seed order.
fn sweep(seeds: std::ops::Range<u64>) -> Vec<SweepReport> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let all: Vec<u64> = seeds.collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
        let chunk = all.len().div_ceil(threads).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = all
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .map(|&seed| run(SweepConfig { nodes: nodes_for(seed), ..config(seed) }))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("a sweep thread panicked")).collect()
        })
    }
    #[cfg(target_arch = "wasm32")]
    {
        seeds.map(|seed| run(SweepConfig { nodes: nodes_for(seed), ..config(seed) })).collect()
    }
}

#[test]
fn every_invariant_holds_over_a_sweep_of_seeds_with_random_faults() {
    #[cfg(not(target_arch = "wasm32"))]
    let started = std::time::Instant::now();
    let seeds = seeds();
    let count = seeds.end - seeds.start;
    let reports = sweep(seeds);
    let failed: Vec<&SweepReport> = reports.iter().filter(|r| !r.ok()).collect();
    for r in &failed {
        println!("{r}");
    }
    let sum = |f: &dyn Fn(&SweepReport) -> u64| reports.iter().map(f).sum::<u64>();
    // Counted on every node: with promotions, any node may have served a resync.
    let full = sum(&|r| r.nodes.iter().map(|n| n.sync_full).sum());
    let partial = sum(&|r| r.nodes.iter().map(|n| n.sync_partial_ok).sum());
    let faults = sum(&|r| r.faults.len() as u64);
    let bytes = sum(&|r| r.bytes_moved);
    let promotions = sum(&|r| r.promotions);
    let sentinel_failovers = sum(&|r| r.sentinel_failovers);
    let restarts = sum(&|r| r.nodes.iter().map(|n| n.restarts).sum());
    let slowest = reports.iter().filter_map(|r| r.quiesced_after_ms).max().unwrap_or(0);
    let (waited, acked, lost) = (sum(&|r| r.waited_writes.0), sum(&|r| r.waited_writes.1), sum(&|r| r.waited_writes.2));
    let (fewest, most) = (
        reports.iter().map(|r| r.config.nodes).min().unwrap_or(0),
        reports.iter().map(|r| r.config.nodes).max().unwrap_or(0),
    );
    println!(
        "sweep: {count} seeds from {} × {VIRTUAL_SECS} virtual s, {fewest}-{most} nodes, {WRITES_PER_SEC} writes/s: \
         {faults} faults, {promotions} promotions ({sentinel_failovers} by sentinels), {restarts} restarts, \
         sync_full {full}, sync_partial_ok {partial}, {waited} writes WAITed for ({acked} acknowledged, {lost} of them lost to a demotion or a lost disk), \
         {bytes} bytes moved, slowest quiescence {slowest} ms",
        reports.first().map_or(0, |r| r.config.seed)
    );
    #[cfg(not(target_arch = "wasm32"))]
    println!("sweep run time: {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        failed.is_empty(),
        "{} of {count} seeds broke an invariant: {:?}",
        failed.len(),
        failed.iter().map(|r| r.config.seed).collect::<Vec<_>>()
    );
    // The sweep must actually exercise both kinds of resync, promotions of every kind and
    // restarts, or it proves little.
    assert!(full > count && partial > count, "too few resyncs: full {full}, partial {partial}");
    assert!(promotions > count, "too few promotions: {promotions}");
    assert!(restarts > count, "too few restarts: {restarts}");
    #[cfg(not(target_arch = "wasm32"))]
    assert!(sentinel_failovers > count / 10, "too few sentinel failovers: {sentinel_failovers}");
}

#[test]
fn the_same_seed_gives_the_same_trace_and_report() {
    for seed in [7, 42] {
        let a = run(config(seed));
        let b = run(config(seed));
        assert_eq!(a.trace_digest, b.trace_digest, "seed {seed}");
        assert_eq!(a, b, "seed {seed}");
        assert!(a.ok(), "{a}");
    }
    assert_ne!(run(config(7)).trace_digest, run(config(8)).trace_digest, "different seeds, different runs");
}

#[test]
fn a_run_without_faults_syncs_once_and_partially_never() {
    let r = run(SweepConfig { seed: 3, nodes: 3, virtual_secs: 20, faults: false, writes_per_sec: 40 });
    assert!(r.ok(), "{r}");
    assert!(r.faults.is_empty());
    assert_eq!(r.nodes[0].sync_full, 2, "{r}");
    assert_eq!(r.nodes[0].sync_partial_ok, 0, "{r}");
    assert!(r.nodes.iter().all(|n| n.digest == r.nodes[0].digest));
}

/// Found by a longer sweep (5 nodes, 200 writes/s, 120 virtual s, 128 KB/s links): a replica
/// restarted far behind is accepted for a partial resync and the master writes the whole
/// backlog (886,607 bytes) in one go. The simulator used to deliver a write as one segment,
/// only when its last byte arrived, so at 128 KB/s the replica saw nothing for 6.8 s, its 5 s
/// repl-timeout fired and it asked again forever. Links now deliver writes in 16 KB pieces, as
/// TCP does, and the replica catches up.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_replica_far_behind_on_a_slow_link_catches_up_from_the_backlog() {
    for seed in [5323, 5381] {
        let r = run(SweepConfig { seed, nodes: 5, virtual_secs: 120, faults: true, writes_per_sec: 200 });
        assert!(r.ok(), "{r}");
    }
}

/// Seeds of the first 100,000-seed sweep (3 to 8 nodes) in which writes acknowledged by `WAIT` are
/// missing from the final master: each time an operator promoted a node that lacked them (in
/// seed 647, one a `FAILOVER` had already made a master: a replica told `REPLICAOF` a new master
/// still holds its old replication id, so its old master's `PSYNC … FAILOVER` promotes it, as in
/// Redis 7.0), and the master that had taken them was turned into its replica. The sweep's
/// first rule, any promotion after the write, was too loose to be worth checking; the rule now
/// is the write's own master being demoted or losing its disk. Native only, as the tests around it.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn acknowledged_writes_are_lost_only_when_their_master_is_demoted_or_loses_its_disk() {
    for (seed, nodes) in [(136, 7), (647, 8), (1794, 3)] {
        let r = run(SweepConfig { nodes, ..config(seed) });
        assert!(r.ok(), "{r}");
        let (_, acked, lost) = r.waited_writes;
        assert!(lost > 10 && lost < acked, "seed {seed}: the losses the rule explains: {r}");
    }
}

/// Writes made faster than a slow link carries: the master's backlog holds what the replica has
/// not been sent, far beyond 8 × its size (a bound the sweep once checked, which Redis 7 does not
/// promise: `repl-lab sim --nodes 4 --writes-per-sec 20000 --faults none` failed on it), and the
/// sweep waits while the replica drains it (that command's replicas need 316 s after the run;
/// the sweep used to give up after a fixed 120 s). Native only, as the test above: the wasm32 run
/// of this file checks the platform, not the invariants again.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_backlog_pinned_by_a_slow_replica_is_allowed_and_the_sweep_waits_for_it() {
    // Seed 36 draws a 64 KB backlog, Redis's default replica output buffer limit (so the slow
    // replica is never dropped) and 128 KB/s links: 20,000 writes a second outrun the link.
    let r = run(SweepConfig { seed: 36, nodes: 2, virtual_secs: 5, faults: false, writes_per_sec: 20_000 });
    assert!(r.ok(), "{r}");
    assert!(r.settings.iter().any(|s| s == "repl-backlog-size 64kb"), "{r}");
    let master = &r.nodes[0];
    assert!(master.max_histlen > 1024 * 1024, "the backlog was pinned, far beyond its 64 KB: {r}");
    assert!(r.quiesced_after_ms.is_some_and(|ms| ms > 1_000), "the replica needed time to catch up: {r}");
}

/// The seeds of the 100,000-seed sweep that broke an invariant, each now a test. Five caught a
/// replica switched to another master while half a command (or an open transaction) from the
/// old one was in its query buffer: it spliced the new master's stream onto those bytes
/// ("Protocol error from master … Desync?" on every replica of a promoted node in seeds 9419,
/// 13287, 13719 and 20291; a replica at its master's offset with another dataset in seed 20650).
/// Two caught the sweep itself calling a chain quiescent while a sub-replica still held its
/// replica's old replication id, the close that makes it resync still on the wire (13010, 14736).
/// Native only, as the tests around it.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn the_seeds_the_long_sweep_failed_on_hold_every_invariant() {
    for seed in [9419, 13010, 13287, 13719, 14736, 20291, 20650] {
        let r = run(SweepConfig { nodes: 3 + (seed % 6) as usize, ..config(seed) });
        assert!(r.ok(), "{r}");
    }
}
