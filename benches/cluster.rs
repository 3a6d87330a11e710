//! Cluster benchmark: how many writes a second a simulated master and its replicas take, next
//! to the same topology of real redis-server 7.0.15 processes on loopback, in the same run.
//!
//! The lab: a master and 1, 3 or 7 replicas in the simulator, every byte encoded, carried over
//! the simulated links, parsed and applied; one client sends `SET key:<n> <64-byte value>`
//! pipelined 16 deep; the clock stops when every replica has applied the last write (its
//! offset equals the master's). Redis: the same topology, `redis-benchmark -t set -P 16 -d 64`
//! against the master, and the clock stops when every replica's offset (INFO) equals the
//! master's. Both with one client, so the pipeline depth is the same. Medians of three runs;
//! run with `cargo bench --bench cluster`. A second table compares the lab's own write load natively
//! and in wasm under Node (`benches/cluster-wasm.mjs`, against www/pkg: run ./scripts/build first).

/// The native server's allocator (as redis-server links jemalloc): the engine natively.
#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use redis_repl_lab::resp::encode_command_into;
use redis_repl_lab::sim::{LinkParams, World};
use support::{info, json_number, median, node_json, start_redis, ServerGuard};

/// Writes per measured run.
const WRITES: u64 = 200_000;
/// Commands per pipelined batch.
const PIPELINE: u64 = 16;
const RUNS: usize = 3;

fn value(n: u64) -> Vec<u8> {
    let mut v = format!("value:{n}").into_bytes();
    v.resize(64, b'x');
    v
}

/// One run in the lab: the seconds from the first write until every replica applied the last.
/// A master and `replicas` replicas in sync, on links fast enough that virtual bandwidth is not
/// what is measured.
fn synced(replicas: usize) -> (World, usize, Vec<usize>) {
    let mut w = World::new(1);
    w.set_link_params(LinkParams { latency: 100, bandwidth: 10_000_000_000, jitter: 0 });
    let m = w.add_node();
    w.console(m, "CONFIG SET repl-diskless-sync-delay 0");
    let rs: Vec<usize> = (0..replicas).map(|_| w.add_node()).collect();
    for &r in &rs {
        w.console(r, "REPLICAOF 127.0.0.1 6379");
    }
    w.run_for_ms(3_000);
    assert!(rs.iter().all(|&r| w.node(r).view().link_status == Some("up")), "replicas synced");
    (w, m, rs)
}

/// Runs the world until every replica's offset reaches the master's.
fn until_applied(w: &mut World, m: usize, rs: &[usize]) {
    let target = w.node(m).view().master_repl_offset;
    while rs.iter().any(|&r| w.node(r).view().slave_repl_offset < target) {
        let t = w.now() + 1_000;
        w.run_until(t);
    }
}

fn lab_run(replicas: usize) -> f64 {
    let (mut w, m, rs) = synced(replicas);
    let client = w.open_client(m);
    let mut batch = Vec::new();
    let started = Instant::now();
    let mut n = 0;
    while n < WRITES {
        batch.clear();
        for k in n..n + PIPELINE {
            encode_command_into(&[b"SET".as_slice(), format!("key:{k}").as_bytes(), &value(k)], &mut batch);
        }
        n += PIPELINE;
        w.client_send(m, client, &batch);
        let t = w.now() + 10;
        w.run_until(t);
    }
    until_applied(&mut w, m, &rs);
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(w.console(rs[0], "DBSIZE"), format!("(integer) {WRITES}"));
    secs
}

/// The lab's own write load (`SET load:<n mod 100000> <n>`, 100,000 a virtual second, pipelined every
/// 10 ms) for two virtual seconds: the workload `benches/cluster-wasm.mjs` runs in wasm, done
/// natively, so the two are compared on equal terms. Writes per wall-clock second until every
/// replica applied the last one.
fn lab_load_run(replicas: usize) -> f64 {
    let (mut w, m, rs) = synced(replicas);
    let started = Instant::now();
    w.set_load(m, 100_000);
    w.run_for_ms(2_000);
    w.set_load(m, 0);
    until_applied(&mut w, m, &rs);
    let secs = started.elapsed().as_secs_f64();
    let writes: f64 = w.console(m, "DBSIZE").trim_start_matches("(integer) ").parse().unwrap_or(0.0);
    writes / secs
}

/// The wasm rows: `node benches/cluster-wasm.mjs` against www/pkg, one rate per replica count.
fn wasm_load_rates() -> Result<Vec<(usize, f64)>, String> {
    let lines = node_json("cluster-wasm.mjs", &[])?;
    Ok(lines.iter().filter_map(|j| Some((json_number(j, "replicas")? as usize, json_number(j, "rate")?))).collect())
}

/// One run on real servers: the seconds from the benchmark's start until every replica
/// applied what the master took.
fn redis_run(replicas: usize) -> f64 {
    let master = start_redis(&["--repl-diskless-sync-delay", "0"]);
    let rs: Vec<ServerGuard> =
        (0..replicas).map(|_| start_redis(&["--replicaof", "127.0.0.1", &master.port.to_string()])).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while rs.iter().any(|r| info(r.port, "replication", "master_link_status") != "up") {
        assert!(Instant::now() < deadline, "replicas did not sync");
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    let status = Command::new("redis-benchmark")
        .args(["-p", &master.port.to_string(), "-t", "set", "-P", &PIPELINE.to_string(), "-d", "64"])
        .args(["-n", &WRITES.to_string(), "-r", &WRITES.to_string(), "-c", "1", "-q"])
        .stdout(Stdio::null())
        .status()
        .expect("redis-benchmark");
    assert!(status.success());
    let target: u64 = info(master.port, "replication", "master_repl_offset").parse().expect("offset");
    while rs.iter().any(|r| info(r.port, "replication", "slave_repl_offset").parse::<u64>().unwrap_or(0) < target) {
        std::thread::sleep(Duration::from_millis(1));
    }
    started.elapsed().as_secs_f64()
}

fn main() {
    // `cargo bench --bench cluster -- lab N`: one lab run with N replicas only (for a profiler).
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "lab") {
        let replicas = args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(3);
        let secs = lab_run(replicas);
        println!("lab, {replicas} replicas: {:.0} writes/s", WRITES as f64 / secs);
        return;
    }
    println!("cluster: {WRITES} SETs of 64-byte values, pipelined {PIPELINE} deep, one client; until every replica applied them");
    println!("(medians of {RUNS} runs; writes per second)\n");
    println!("| replicas | lab (native) | redis-server 7.0.15 | lab / redis |");
    println!("|---:|---:|---:|---:|");
    for replicas in [1, 3, 7] {
        let lab = median((0..RUNS).map(|_| lab_run(replicas)).collect());
        let redis = median((0..RUNS).map(|_| redis_run(replicas)).collect());
        let (lab_rate, redis_rate) = (WRITES as f64 / lab, WRITES as f64 / redis);
        println!("| {replicas} | {lab_rate:.0} | {redis_rate:.0} | {:.2}× |", lab_rate / redis_rate);
    }
    println!("\nthe lab's write load (SET load:<n mod 100000> <n>, 100,000 a virtual second, pipelined every 10 ms), native and wasm (Node)\n");
    println!("| replicas | native | wasm | wasm / native |");
    println!("|---:|---:|---:|---:|");
    let wasm = wasm_load_rates().unwrap_or_else(|e| {
        eprintln!("{e}");
        Vec::new()
    });
    for replicas in [1, 3, 7] {
        let native = median((0..RUNS).map(|_| lab_load_run(replicas)).collect());
        match wasm.iter().find(|(r, _)| *r == replicas) {
            Some((_, w)) => println!("| {replicas} | {native:.0} | {w:.0} | {:.2}× |", w / native),
            None => println!("| {replicas} | {native:.0} | (not measured) | |"),
        }
    }
}
