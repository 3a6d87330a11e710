//! Memory benchmark: bytes per key of one node holding 1,000,000 keys of one type, natively and
//! in wasm, next to redis-server 7.0.15's `used_memory` for the same keys, in the same run; then
//! what a replica of the string dataset adds.
//!
//! The lab's node is the sans-IO `Node` (no simulator around it, no trace), fed the commands
//! through a client connection as a server would be; its bytes are what the allocator holds
//! after the load less what it held before, counted by a wrapper around the native server's
//! allocator. Its dataset is then saved as an RDB file, which `benches/memory-wasm.mjs` loads
//! into a node of the web package (www/pkg: run ./scripts/build first) and measures with the
//! page heap's own count. Redis's are `used_memory` after less before, the same commands sent
//! pipelined. Run with `cargo bench --bench memory`.
//!
//! A replica does not share its master's memory, in the lab as in Redis: its dataset is what it
//! parsed from the bytes that reached it, which is what the lab shows (a replica can differ from
//! its master: stale, partly loaded, written to). The replica table measures that copy.

mod support;

#[cfg(not(target_arch = "wasm32"))]
use std::alloc::{GlobalAlloc, Layout};
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use redis_repl_lab::node::replication::ReplConfig;
use redis_repl_lab::node::{Node, NodeConfig};
use redis_repl_lab::rdb::{write_rdb, AuxInfo};
use redis_repl_lab::resp::encode_command_into;
use redis_repl_lab::sim::{LinkParams, World};
use support::{info, info_on, json_field, json_number, node_json, reply, start_redis};

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
const KINDS: [&str; 5] = ["string", "list", "hash", "set", "zset"];

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

fn held() -> isize {
    HELD.load(Ordering::Relaxed)
}

/// Bytes per key in our node, and the node's dataset as an RDB file.
fn ours(kind: &str) -> (f64, Vec<u8>) {
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
    let before = held();
    let mut n = 0;
    while n < KEYS {
        node.receive(1, conn, &batch(kind, n));
        while node.poll_output().is_some() {}
        while node.poll_log().is_some() {}
        n += BATCH;
    }
    let per_key = (held() - before) as f64 / KEYS as f64;
    (per_key, write_rdb(node.keyspace(), &AuxInfo { ctime_secs: 0, used_mem: 0, repl: None }))
}

/// What a replica of the string dataset adds to the lab, natively: a simulated master loaded
/// from `rdb` and a replica that syncs from it; bytes per key held after the sync less before the
/// replica was added, and the part of it that is the replica's dump.rdb.
fn ours_replica(rdb: &[u8]) -> (f64, f64) {
    let mut w = World::new(1);
    w.set_link_params(LinkParams { latency: 1_000, bandwidth: 1_000_000_000, jitter: 0 });
    let m = w.add_node();
    w.import_rdb(m, rdb).expect("the benchmark's own RDB loads");
    w.run_for_ms(1_000);
    let before = held();
    let r = w.add_node();
    w.console(r, "REPLICAOF 127.0.0.1 6379");
    let mut waited = 0;
    while w.node(r).view().link_status != Some("up") {
        assert!(waited < 60_000, "the replica did not sync");
        w.run_for_ms(100);
        waited += 100;
    }
    assert_eq!(w.console(r, "DBSIZE"), format!("(integer) {KEYS}"));
    let disk = w.node(r).disk().map_or(0, <[u8]>::len);
    ((held() - before) as f64 / KEYS as f64, disk as f64 / KEYS as f64)
}

/// `used_memory` of the server behind `c`.
fn used_memory(c: &mut TcpStream, buf: &mut Vec<u8>) -> i64 {
    info_on(c, buf, "memory", "used_memory").parse().expect("used_memory")
}

/// Bytes per key in redis-server, and what a replica of that dataset holds per key (`replica`).
fn redis(kind: &str, replica: bool) -> (f64, Option<f64>) {
    let master = start_redis(&["--repl-diskless-sync-delay", "0"]);
    let mut c = TcpStream::connect(("127.0.0.1", master.port)).expect("connect");
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
    let per_key = (used_memory(&mut c, &mut buf) - before) as f64 / KEYS as f64;
    if !replica {
        return (per_key, None);
    }
    let r = start_redis(&[]);
    let mut rc = TcpStream::connect(("127.0.0.1", r.port)).expect("connect");
    let empty = used_memory(&mut rc, &mut buf);
    rc.write_all(&redis_repl_lab::resp::encode_command(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]))
        .expect("write");
    let answer = reply(&mut rc, &mut buf);
    assert_eq!(answer, redis_repl_lab::resp::Frame::Simple("OK".into()), "REPLICAOF");
    let deadline = Instant::now() + Duration::from_secs(60);
    while info(r.port, "replication", "master_link_status") != "up" {
        let why = || {
            format!(
                "{:?} {:?}",
                info(r.port, "replication", "master_sync_in_progress"),
                info(master.port, "persistence", "rdb_last_bgsave_status")
            )
        };
        assert!(Instant::now() < deadline, "the replica did not sync: {}", why());
        std::thread::sleep(Duration::from_millis(50));
    }
    let replica_per_key = (used_memory(&mut rc, &mut buf) - empty) as f64 / KEYS as f64;
    (per_key, Some(replica_per_key))
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-memory");
    std::fs::create_dir_all(&dir).expect("target/bench-memory");
    let mut rows = Vec::new();
    let mut string_rdb = Vec::new();
    for kind in KINDS {
        let (lab, rdb) = ours(kind);
        std::fs::write(dir.join(format!("{kind}.rdb")), &rdb).expect("write the RDB");
        let (redis, replica) = redis(kind, kind == "string");
        if kind == "string" {
            string_rdb = rdb;
        }
        rows.push((kind, lab, redis, replica));
    }
    let wasm = node_json("memory-wasm.mjs", &[dir.to_str().expect("a UTF-8 path")]).unwrap_or_else(|e| {
        eprintln!("{e}");
        Vec::new()
    });
    let wasm_per_key = |kind: &str| {
        wasm.iter().find(|l| json_field(l, "kind").as_deref() == Some(kind)).and_then(|l| json_number(l, "perKey"))
    };
    let shown = |x: Option<f64>| x.map_or("(not measured)".to_string(), |x| format!("{x:.0}"));
    let ratio = |x: Option<f64>, r: f64| x.map_or(String::new(), |x| format!("{:.2}×", x / r));

    println!("memory: 1,000,000 keys of one type in one node; bytes per key (allocator bytes held natively,");
    println!("the page heap's bytes held in wasm, used_memory for redis-server 7.0.15)\n");
    println!("| type | command per key | lab (native) | lab (wasm) | redis-server | native / redis | wasm / redis |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (kind, lab, redis, _) in &rows {
        let w = wasm_per_key(kind);
        let shown_cmd = command(kind, 1).join(" ");
        println!(
            "| {kind} | `{shown_cmd}` | {lab:.0} | {} | {redis:.0} | {:.2}× | {} |",
            shown(w),
            lab / redis,
            ratio(w, *redis)
        );
    }

    let redis_replica = rows.iter().find_map(|r| r.3).unwrap_or(f64::NAN);
    let (native_replica, native_disk) = ours_replica(&string_rdb);
    let wasm_replica = wasm.iter().find(|l| l.contains("\"replica\":true"));
    println!("\na replica of the string dataset: what it adds, bytes per key (lab: the whole process or page,");
    println!("after the sync; redis-server: the replica's used_memory)\n");
    println!("| | lab (native) | lab (wasm) | redis-server | native / redis |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| replica | {native_replica:.0} | {} | {redis_replica:.0} | {:.2}× |",
        shown(wasm_replica.and_then(|l| json_number(l, "perKey"))),
        native_replica / redis_replica
    );
    let wasm_disk = shown(wasm_replica.and_then(|l| json_number(l, "diskPerKey")));
    println!("\n(of these, the replica's dump.rdb, which it saves from what it received: {native_disk:.0} natively, {wasm_disk} in wasm)");
}
