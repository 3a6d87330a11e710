//! Determinism across platforms: the same seed and the same actions give the same trace, byte
//! for byte, natively and on wasm32 (this file runs under both `cargo test` and
//! `wasm-pack test --node`). The digest is a golden value: a change to the engine that changes
//! what happens in this run changes it, and then it must be updated here, on purpose.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use redis_repl_lab::sim::session::{Action, Session};

/// Trace digest of [`scenario`], identical on every platform.
const GOLDEN: &str = include_str!("determinism.golden");

fn scenario() -> Session {
    let mut s = Session::new(2026);
    for _ in 0..3 {
        s.act(Action::AddNode).unwrap();
    }
    s.act(Action::Link(0, 1, 3_000, 2_000, 256 * 1024)).unwrap();
    s.act(Action::Link(0, 2, 8_000, 5_000, 64 * 1024)).unwrap();
    s.act(Action::Console(1, "REPLICAOF 127.0.0.1 6379".into())).unwrap();
    s.act(Action::Console(2, "REPLICAOF 127.0.0.1 6379".into())).unwrap();
    for i in 0..300u64 {
        s.run_until(i * 100_000);
        s.act(Action::Console(0, format!("SET k{} {}", i % 37, i))).unwrap();
        s.act(Action::Console(0, format!("SADD s{} m{}", i % 5, i))).unwrap();
        let fault = match i {
            60 => Action::Cut(0, 1),
            120 => Action::Partition(vec![0, 0, 1]),
            160 => Action::Heal,
            200 => Action::Crash(2),
            230 => Action::Restart(2),
            250 => Action::Pause(1, 1_500),
            _ => continue,
        };
        s.act(fault).unwrap();
    }
    s.run_until(60_000_000);
    s
}

#[test]
fn the_same_run_gives_the_golden_digest_on_every_platform() {
    let s = scenario();
    let w = s.world();
    assert_eq!(w.node(0).digest(), w.node(1).digest());
    assert_eq!(w.node(0).digest(), w.node(2).digest());
    assert_eq!(w.trace_digest(), GOLDEN.trim(), "update tests/determinism.golden only for an intended change");
}
