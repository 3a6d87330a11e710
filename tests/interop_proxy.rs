//! The fault proxy (`src/native/proxy.rs`) between two real redis-server 7.0.15 processes: the
//! lab's link faults done to real TCP, the ground `repl-lab replay` (issue 15) stands on. A
//! replica reaches its master through the proxy; a cut makes it reconnect and continue with a
//! partial resync; a hold (a partition) stops the stream without losing a byte; latency delays
//! it.

#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod common;

use std::time::{Duration, Instant};

use common::{start_redis, wait_link_up, wait_until, SYNC_WAIT};
use redis_repl_lab::native::proxy::{LinkFaults, Proxy};

#[test]
fn a_real_replica_through_the_proxy_survives_a_cut_a_hold_and_latency() {
    let master = start_redis(&["--repl-diskless-sync-delay", "0"]);
    let replica = start_redis(&[]);
    let proxy = Proxy::start(master.port).expect("proxy");
    let (mut m, mut r) = (master.client(), replica.client());
    r.cmd(&format!("REPLICAOF 127.0.0.1 {}", proxy.port()));
    wait_link_up(&mut r);
    m.cmd("SET k 1");
    let get = |r: &mut common::Client, key: &str| String::from_utf8_lossy(&r.cmd(&format!("GET {key}"))).into_owned();
    wait_until("the write to arrive", SYNC_WAIT, || {
        if get(&mut r, "k") == "$1\r\n1\r\n" {
            Ok(())
        } else {
            Err(get(&mut r, "k"))
        }
    });
    assert!(proxy.relayed() > 0);

    // A cut: both sides see the connection close; the replica comes back with a partial resync.
    proxy.cut();
    m.cmd("SET k 2");
    wait_until("a partial resync after the cut", SYNC_WAIT, || {
        let ok = m.info_int("stats", "sync_partial_ok");
        if ok == 1 && get(&mut r, "k") == "$1\r\n2\r\n" {
            Ok(())
        } else {
            Err(format!("sync_partial_ok:{ok}"))
        }
    });
    assert_eq!(m.info_int("stats", "sync_full"), 1, "still the one full sync of the start");

    // A hold: the write waits in the proxy, nothing is lost, and it arrives once released.
    proxy.set(LinkFaults { hold: true, ..LinkFaults::default() });
    m.cmd("SET k 3");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(get(&mut r, "k"), "$1\r\n2\r\n", "held back");
    proxy.set(LinkFaults::default());
    wait_until("the held write", SYNC_WAIT, || {
        if get(&mut r, "k") == "$1\r\n3\r\n" {
            Ok(())
        } else {
            Err(get(&mut r, "k"))
        }
    });
    assert_eq!(m.info_int("stats", "sync_partial_ok"), 1, "a hold breaks nothing");

    // Latency: a write takes at least that long to be applied.
    proxy.set(LinkFaults { latency: Duration::from_millis(300), ..LinkFaults::default() });
    let t0 = Instant::now();
    m.cmd("SET k 4");
    wait_until("the delayed write", SYNC_WAIT, || {
        if get(&mut r, "k") == "$1\r\n4\r\n" {
            Ok(())
        } else {
            Err(get(&mut r, "k"))
        }
    });
    assert!(t0.elapsed() >= Duration::from_millis(300), "{:?}", t0.elapsed());
    assert_eq!(proxy.faults().latency, Duration::from_millis(300));
}
