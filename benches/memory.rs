//! Memory benchmark: bytes per key of one node holding 1,000,000 keys of one type, natively,
//! next to redis-server 7.0.15's `used_memory` for the same keys, in the same run.
//!
//! The lab's node is the sans-IO `Node` (no simulator around it, no trace), fed the commands
//! through a client connection as a server would be; its bytes are what the allocator holds
//! after the load less what it held before, counted by a wrapper around the native server's
//! allocator. Redis's are `used_memory` after less before, the same commands sent pipelined.
//! Run with `cargo bench --bench memory`.

#[cfg(not(target_arch = "wasm32"))]
use std::alloc::{GlobalAlloc, Layout};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use redis_repl_lab::node::{Node, NodeConfig};
use redis_repl_lab::replication::ReplConfig;
use redis_repl_lab::resp::{encode_command, encode_command_into, parse_frame, Frame, Parsed};

/// The native server's allocator, with a count of the bytes it holds.
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
struct Counting;

static HELD: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to mimalloc with the same arguments; the count is a side note.
#[cfg(not(target_arch = "wasm32"))]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        HELD.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        HELD.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

// Native only: this benchmark measures the native engine (a wasm32 build of it is only linted).
#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: Counting = Counting;

const KEYS: u64 = 1_000_000;
const BATCH: u64 = 1_000;

/// The command that makes key `n` of a type.
fn command(kind: &str, n: u64) -> Vec<String> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect();
    let key = format!("{kind}:{n}");
    match kind {
        "string" => s(&["SET", &key, &format!("value:{n}")]),
        "list" => s(&["RPUSH", &key, "a", "b", "c"]),
        "hash" => s(&["HSET", &key, "f1", "v1", "f2", "v2"]),
        "set" => s(&["SADD", &key, "a", "b", "c"]),
        _ => s(&["ZADD", &key, "1", "a", "2", "b", "3", "c"]),
    }
}

fn batch(kind: &str, from: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    for n in from..(from + BATCH).min(KEYS) {
        encode_command_into(&command(kind, n), &mut bytes);
    }
    bytes
}

/// Bytes per key in our node.
fn ours(kind: &str) -> f64 {
    let cfg = NodeConfig {
        name: "A".into(),
        host: "127.0.0.1".into(),
        port: 6379,
        repl: ReplConfig::default(),
        epoch_unix_ms: 0,
    };
    let mut node = Node::new(cfg, 1, 0);
    let conn = node.accept(0, "127.0.0.1", 50_000);
    while node.poll_output().is_some() {}
    let before = HELD.load(Ordering::Relaxed);
    let mut n = 0;
    while n < KEYS {
        node.receive(1, conn, &batch(kind, n));
        while node.poll_output().is_some() {}
        while node.poll_log().is_some() {}
        n += BATCH;
    }
    let after = HELD.load(Ordering::Relaxed);
    (after - before) as f64 / KEYS as f64
}

/// A redis-server process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn reply(c: &mut TcpStream, buf: &mut Vec<u8>) -> Frame {
    let mut chunk = [0u8; 64 * 1024];
    loop {
        if let Ok(Parsed::Complete(f, used)) = parse_frame(buf) {
            buf.drain(..used);
            return f;
        }
        let n = c.read(&mut chunk).expect("read");
        assert!(n > 0, "redis-server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn used_memory(c: &mut TcpStream, buf: &mut Vec<u8>) -> i64 {
    c.write_all(&encode_command(&["INFO", "memory"])).expect("write");
    let Frame::Bulk(text) = reply(c, buf) else { panic!("INFO is a bulk string") };
    let text = String::from_utf8_lossy(&text).into_owned();
    text.lines().find_map(|l| l.strip_prefix("used_memory:")).and_then(|v| v.trim().parse().ok()).expect("used_memory")
}

/// Bytes per key in redis-server.
fn redis(kind: &str) -> f64 {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server (./scripts/setup installs it)");
    let _server = Server(child);
    let mut c = loop {
        if let Ok(c) = TcpStream::connect(("127.0.0.1", port)) {
            break c;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut buf = Vec::new();
    let before = used_memory(&mut c, &mut buf);
    let mut n = 0;
    while n < KEYS {
        c.write_all(&batch(kind, n)).expect("write");
        for _ in n..(n + BATCH).min(KEYS) {
            reply(&mut c, &mut buf);
        }
        n += BATCH;
    }
    (used_memory(&mut c, &mut buf) - before) as f64 / KEYS as f64
}

fn main() {
    println!("memory: 1,000,000 keys of one type in one node; bytes per key (allocator bytes held natively,");
    println!("used_memory for redis-server 7.0.15)\n");
    println!("| type | command per key | lab (native) | redis-server | lab / redis |");
    println!("|---|---|---:|---:|---:|");
    for kind in ["string", "list", "hash", "set", "zset"] {
        let (lab, redis) = (ours(kind), redis(kind));
        let shown = command(kind, 1).join(" ");
        println!("| {kind} | `{shown}` | {lab:.0} | {redis:.0} | {:.2}× |", lab / redis);
    }
}
