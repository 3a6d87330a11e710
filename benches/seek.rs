//! Seek benchmark: how long time travel takes in a realistic run.
//!
//! Five nodes (a master and four replicas) with steady writes for ten virtual minutes, then
//! seeks back to the start, to the middle, and forward to the end. Prints a table; run with
//! `cargo bench --bench seek`.

use std::time::Instant;

use redis_repl_lab::sim::session::{Action, Session};

const VIRTUAL_SECS: u64 = 600;
const WRITES_PER_SEC: u64 = 20;

fn build() -> Session {
    let mut s = Session::new(42);
    for _ in 0..5 {
        s.act(Action::AddNode).unwrap();
    }
    for r in 1..5 {
        s.act(Action::Console(r, "REPLICAOF 127.0.0.1 6379".into())).unwrap();
    }
    let step = 1_000_000 / WRITES_PER_SEC;
    for i in 0..VIRTUAL_SECS * WRITES_PER_SEC {
        s.run_until(i * step);
        let line = match i % 4 {
            0 => format!("SET key:{} {}", i % 500, i),
            1 => format!("INCR counter:{}", i % 50),
            2 => format!("RPUSH list:{} {}", i % 20, i),
            _ => format!("HSET hash:{} f{} {}", i % 30, i % 100, i),
        };
        s.act(Action::Console(0, line)).unwrap();
    }
    s.run_until(VIRTUAL_SECS * 1_000_000);
    s
}

fn main() {
    let t = Instant::now();
    let mut s = build();
    let build_ms = t.elapsed().as_secs_f64() * 1000.0;
    let end = s.world().now();
    let digest = s.world().trace_digest();
    let mut rows = vec![("straight run, 600 virtual s".to_string(), build_ms)];
    for (label, target) in [
        ("seek back 10 min (to 0.5 s)", 500_000),
        ("seek forward to 5 min", 300_000_000),
        ("seek back to 4 min 55.5 s", 295_500_000),
        ("seek forward to the end", end),
    ] {
        let t = Instant::now();
        s.seek(target);
        rows.push((label.to_string(), t.elapsed().as_secs_f64() * 1000.0));
    }
    assert_eq!(s.world().trace_digest(), digest, "seeking must reproduce the straight run");
    println!("| 5 nodes, {WRITES_PER_SEC} writes/s, {} actions | wall ms |", s.actions().len());
    println!("|---|---:|");
    for (label, ms) in rows {
        println!("| {label} | {ms:.1} |");
    }
}
