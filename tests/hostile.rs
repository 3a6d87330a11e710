//! Hostile clients over TCP: our `repl-lab server` and a real redis-server 7.0.15 are sent the
//! same malformed or abusive bytes, and must answer with the same bytes (Redis's own `Protocol
//! error` wording) and close the connection the same way; the other clients of each server must
//! not notice. Bulk lengths claiming gigabytes are refused from their header, before any byte of
//! the claimed payload arrives, so nothing is allocated for them.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use common::{start_redis, start_repl_lab_in, Client, TempDir};

/// Sends `bytes`, then ends the connection's sending side, and returns everything the server
/// wrote until it closed (a reset after a protocol error counts as closed).
fn exchange(port: u16, bytes: &[u8]) -> Vec<u8> {
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    // The server may close while we still write: what it answered is what matters.
    let _ = c.write_all(bytes);
    let _ = c.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        match c.read(&mut chunk) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
            Err(e) => panic!("reading from port {port}: {e} (after {} bytes)", out.len()),
        }
    }
}

/// The cases: (what, bytes sent, what both servers answer).
fn cases() -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let err = |msg: &str| format!("-ERR Protocol error: {msg}\r\n").into_bytes();
    let mut pings = Vec::new();
    for _ in 0..100_000 {
        pings.extend_from_slice(b"PING\r\n");
    }
    vec![
        ("a bulk length of 2 GB", b"*1\r\n$2147483648\r\n".to_vec(), err("invalid bulk length")),
        ("a bulk length of 512 MB and 1 byte", b"*1\r\n$536870913\r\n".to_vec(), err("invalid bulk length")),
        ("a bulk length of 512 MB exactly, then the end", b"*1\r\n$536870912\r\n".to_vec(), Vec::new()),
        ("a negative bulk length", b"*1\r\n$-5\r\n".to_vec(), err("invalid bulk length")),
        ("a multibulk of 2^31 arguments", b"*2147483648\r\n".to_vec(), err("invalid multibulk length")),
        ("a multibulk claiming 2^31 - 1 arguments, then the end", b"*2147483647\r\n".to_vec(), Vec::new()),
        ("an array nested in a request", b"*2\r\n*1\r\n$4\r\nPING\r\n".to_vec(), err("expected '$', got '*'")),
        ("an inline line of 70,000 bytes with no end", vec![b'a'; 70_000], err("too big inline request")),
        ("unbalanced quotes", b"SET \"a b\r\n".to_vec(), err("unbalanced quotes in request")),
        ("a request cut short, then the end", b"*2\r\n$3\r\nGET\r\n$10\r\nabc".to_vec(), Vec::new()),
        ("100,000 pipelined PINGs in one write", pings, b"+PONG\r\n".repeat(100_000)),
    ]
}

#[test]
fn hostile_bytes_get_redis_own_answers_and_other_clients_do_not_notice() {
    let redis = start_redis(&[]);
    let dir = TempDir::new("hostile");
    let ours = start_repl_lab_in(&dir.0, &[]);
    // A client of each server that stays connected through everything.
    let mut bystanders: Vec<Client> = [redis.port, ours.port].iter().map(|&p| Client::connect(p)).collect();
    for b in &mut bystanders {
        assert_eq!(b.call(&["SET", "kept", "1"]), b"+OK\r\n");
    }
    for (what, bytes, expected) in cases() {
        let from_redis = exchange(redis.port, &bytes);
        assert_eq!(
            String::from_utf8_lossy(&from_redis),
            String::from_utf8_lossy(&expected),
            "redis-server's answer to {what} (the oracle itself)"
        );
        let from_ours = exchange(ours.port, &bytes);
        assert_eq!(String::from_utf8_lossy(&from_ours), String::from_utf8_lossy(&expected), "our answer to {what}");
        for b in &mut bystanders {
            assert_eq!(b.call(&["GET", "kept"]), b"$1\r\n1\r\n", "a bystander after {what}");
        }
    }
    // Our server logged each protocol error as Redis does, and is still whole.
    let log = ours.log_text();
    assert!(log.contains("Protocol error (invalid bulk length) from client"), "{log}");
    assert_eq!(Client::connect(ours.port).call(&["DBSIZE"]), b":1\r\n");
}
