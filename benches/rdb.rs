//! RDB benchmark: encode and decode of 1,000,000 string keys with 64-byte values, natively and in
//! wasm, next to a real redis-server 7.0.15's SAVE and start-up load of the same data, on the same
//! machine in the same run. Prints one markdown table; run with `cargo bench --bench rdb`.
//!
//! Two datasets, both with keys `key:0` .. `key:999999`:
//! - `random`: each value is 64 ASCII hex digits from a seeded PRNG (splitmix64, seed 42), which
//!   LZF can almost never shrink by the 4 bytes the writer requires, so values are stored raw;
//! - `populate`: each value is `value:N` zero-padded to 64 bytes, exactly what
//!   `DEBUG POPULATE 1000000 key 64` makes, which LZF compresses heavily.
//!
//! Native: `write_rdb` over a `Keyspace` holding the data, and `read_rdb` of its bytes (the decoded
//! keyspace is dropped after the clock stops); median of [`REPS`] runs.
//! redis-server: the data is loaded with pipelined SETs over TCP, then `SAVE` is timed (wall time
//! of the command, median of [`REDIS_REPS`]); the server is killed and restarted on its dump
//! [`REDIS_REPS`] times, timing from spawn until PING answers +PONG, `INFO persistence` shows
//! `loading:0` and DBSIZE is 1,000,000 (polled every millisecond; nothing is subtracted).
//! wasm: `node benches/rdb-wasm.mjs` against www/pkg (built by ./scripts/build), see that file.
//! MB is 10^6 bytes of the RDB file each side produces or reads.
//!
//! `RDB_BENCH_NATIVE_ONLY=1 cargo bench --bench rdb` times only our native side (for profiling).

/// The native server's allocator (see src/bin/repl-lab.rs), so the native rows measure the codec
/// as `repl-lab server` runs it.
#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis_repl_lab::keyspace::{Keyspace, Value};
use redis_repl_lab::rdb::{read_rdb, write_rdb, AuxInfo};
use redis_repl_lab::resp::{encode_command_into, parse_frame, Frame, Parsed};
use support::{json_field, json_number, median, node_json};

const KEYS: usize = 1_000_000;
const VALUE_LEN: usize = 64;
/// Native repetitions of each operation (median reported).
const REPS: usize = 5;
/// redis-server repetitions of SAVE and of the restart (median reported).
const REDIS_REPS: usize = 3;
/// SETs per write while loading redis-server.
const BATCH: usize = 10_000;
const REDIS_SERVER: &str = "/usr/bin/redis-server";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shape {
    Random,
    Populate,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Random => "random",
            Shape::Populate => "populate",
        }
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The 1,000,000 (key, value) pairs of one dataset.
fn dataset(shape: Shape) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut state = 42u64;
    (0..KEYS)
        .map(|i| {
            let key = format!("key:{i}").into_bytes();
            let value = match shape {
                Shape::Random => {
                    let mut v = String::with_capacity(VALUE_LEN);
                    for _ in 0..VALUE_LEN / 16 {
                        v.push_str(&format!("{:016x}", splitmix64(&mut state)));
                    }
                    v.into_bytes()
                }
                Shape::Populate => {
                    let mut v = format!("value:{i}").into_bytes();
                    v.resize(VALUE_LEN, 0);
                    v
                }
            };
            (key, value)
        })
        .collect()
}

/// How many values the writer stores LZF-compressed (it needs a saving of at least 4 bytes).
fn lzf_compressed(pairs: &[(Vec<u8>, Vec<u8>)]) -> usize {
    pairs.iter().filter(|(_, v)| redis_repl_lab::rdb::lzf::compress(v, VALUE_LEN - 4).is_some()).count()
}

/// One measured operation: median seconds and the RDB bytes it produced or read.
#[derive(Clone, Copy, Debug)]
struct Timing {
    secs: f64,
    bytes: usize,
}

impl Timing {
    fn keys_per_sec(self) -> f64 {
        KEYS as f64 / self.secs
    }
    fn mb_per_sec(self) -> f64 {
        self.bytes as f64 / 1e6 / self.secs
    }
}

/// Native encode and decode; returns them and the RDB bytes.
fn native(pairs: &[(Vec<u8>, Vec<u8>)]) -> (Timing, Timing, Vec<u8>) {
    let mut ks = Keyspace::default();
    for (k, v) in pairs {
        ks.db_mut(0).set(k.clone(), Value::Str(v.clone()));
    }
    assert_eq!(ks.total_keys(), KEYS);
    let info = AuxInfo { ctime_secs: 1_700_000_000, used_mem: 100_000_000, repl: None };
    let mut rdb = Vec::new();
    let mut enc = Vec::new();
    for _ in 0..REPS {
        let t = Instant::now();
        let bytes = write_rdb(&ks, &info);
        enc.push(t.elapsed().as_secs_f64());
        rdb = bytes;
    }
    let mut dec = Vec::new();
    let mut digest = String::new();
    for rep in 0..REPS {
        let t = Instant::now();
        let file = read_rdb(&rdb).expect("our own RDB must load");
        dec.push(t.elapsed().as_secs_f64());
        assert_eq!(file.keys, KEYS);
        if rep == 0 {
            digest = file.keyspace.digest();
        }
    }
    assert_eq!(digest, ks.digest(), "the decoded dataset differs from the encoded one");
    let n = rdb.len();
    (Timing { secs: median(enc), bytes: n }, Timing { secs: median(dec), bytes: n }, rdb)
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("repl-lab-bench-rdb-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("create temp dir");
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A redis-server process, killed by its pid when dropped (on success and on panic alike).
struct Redis {
    child: Child,
    port: u16,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("bind 127.0.0.1:0")
}

/// Spawns redis-server on a free port with its dump in `dir`; its log goes to `dir/<log>`.
fn spawn_redis(dir: &Path, log: &str) -> Redis {
    let port = free_port();
    let out = std::fs::File::create(dir.join(log)).expect("create log file");
    let child = Command::new(REDIS_SERVER)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .args(["--dbfilename", "dump.rdb", "--daemonize", "no", "--logfile", ""])
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn redis-server");
    Redis { child, port }
}

/// A minimal RESP connection.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(port: u16) -> Option<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(120))).ok()?;
        let _ = stream.set_nodelay(true);
        Some(Client { stream, buf: Vec::new() })
    }

    fn call(&mut self, argv: &[&[u8]]) -> Frame {
        let mut out = Vec::new();
        encode_command_into(argv, &mut out);
        self.stream.write_all(&out).expect("write to redis-server");
        loop {
            if let Ok(Parsed::Complete(f, n)) = parse_frame(&self.buf) {
                self.buf.drain(..n);
                return f;
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("redis-server closed the connection"),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("reading from redis-server: {e}"),
            }
        }
    }

    fn text(&mut self, argv: &[&[u8]]) -> String {
        match self.call(argv) {
            Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
            Frame::Simple(s) => s,
            other => panic!("unexpected reply {other:?}"),
        }
    }

    fn int(&mut self, argv: &[&[u8]]) -> i64 {
        match self.call(argv) {
            Frame::Integer(n) => n,
            other => panic!("unexpected reply {other:?}"),
        }
    }
}

/// Waits for a started server to answer PING with +PONG (a loading server answers -LOADING),
/// show `loading:0` and hold `keys` keys, polling every millisecond.
fn wait_loaded(redis: &mut Redis, keys: usize) {
    let t0 = Instant::now();
    let mut client = loop {
        if let Ok(Some(status)) = redis.child.try_wait() {
            panic!("redis-server exited at start-up: {status}");
        }
        if let Some(c) = Client::connect(redis.port) {
            break c;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "redis-server did not start");
        std::thread::sleep(Duration::from_millis(1));
    };
    loop {
        match client.call(&[b"PING"]) {
            Frame::Simple(s) if s == "PONG" => break,
            Frame::Error(e) if e.starts_with("LOADING") => std::thread::sleep(Duration::from_millis(1)),
            other => panic!("PING answered {other:?}"),
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "redis-server did not finish loading");
    }
    let info = client.text(&[b"INFO", b"persistence"]);
    assert!(info.contains("loading:0\r\n"), "redis-server still loading after PONG: {info}");
    assert_eq!(client.int(&[b"DBSIZE"]), keys as i64);
}

/// Loads the pairs with pipelined SETs: one thread writes batches, this one reads the +OKs.
fn load_redis(port: u16, pairs: &[(Vec<u8>, Vec<u8>)]) {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(120))).expect("set_read_timeout");
    let mut writer = stream.try_clone().expect("clone stream");
    let mut reader = stream;
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut out = Vec::new();
            for batch in pairs.chunks(BATCH) {
                out.clear();
                for (k, v) in batch {
                    encode_command_into(&[b"SET".as_slice(), k, v], &mut out);
                }
                writer.write_all(&out).expect("write SETs");
            }
        });
        let want = KEYS * 5;
        let mut got = 0usize;
        let mut chunk = vec![0u8; 256 * 1024];
        let mut carry = Vec::new();
        while got < want {
            let n = reader.read(&mut chunk).expect("read SET replies");
            assert!(n > 0, "redis-server closed the connection while loading");
            carry.extend_from_slice(&chunk[..n]);
            let whole = carry.len() / 5 * 5;
            assert!(carry[..whole].chunks(5).all(|r| r == b"+OK\r\n"), "a SET failed: {:?}", &carry[..whole.min(200)]);
            got += whole;
            carry.drain(..whole);
        }
    });
}

/// `DB loaded from disk: 0.812 seconds` from a redis-server log, if present.
fn logged_load_secs(path: &Path) -> Option<f64> {
    let log = std::fs::read_to_string(path).ok()?;
    let at = log.find("DB loaded from disk: ")? + "DB loaded from disk: ".len();
    log[at..].split_whitespace().next()?.parse().ok()
}

struct RedisResult {
    version: String,
    save: Timing,
    load: Timing,
    logged_load: Vec<f64>,
}

fn redis(shape: Shape, pairs: &[(Vec<u8>, Vec<u8>)]) -> RedisResult {
    let dir = TempDir::new(shape.name());
    let mut server = spawn_redis(&dir.0, "start.log");
    wait_loaded(&mut server, 0);
    let mut c = Client::connect(server.port).expect("connect");
    let info = c.text(&[b"INFO", b"server"]);
    let version = info.lines().find_map(|l| l.strip_prefix("redis_version:")).unwrap_or("?").trim().to_string();
    let t = Instant::now();
    load_redis(server.port, pairs);
    eprintln!(
        "redis {}: loaded {KEYS} keys with pipelined SETs in {:.2} s (not timed)",
        shape.name(),
        t.elapsed().as_secs_f64()
    );
    assert_eq!(c.int(&[b"DBSIZE"]), KEYS as i64);
    let mut saves = Vec::new();
    for _ in 0..REDIS_REPS {
        let t = Instant::now();
        match c.call(&[b"SAVE"]) {
            Frame::Simple(s) if s == "OK" => {}
            other => panic!("SAVE answered {other:?}"),
        }
        saves.push(t.elapsed().as_secs_f64());
    }
    drop(c);
    drop(server);
    let dump = dir.0.join("dump.rdb");
    let bytes = std::fs::metadata(&dump).expect("dump.rdb after SAVE").len() as usize;
    let mut loads = Vec::new();
    let mut logged_load = Vec::new();
    for rep in 0..REDIS_REPS {
        let log = format!("restart-{rep}.log");
        let t = Instant::now();
        let mut server = spawn_redis(&dir.0, &log);
        wait_loaded(&mut server, KEYS);
        loads.push(t.elapsed().as_secs_f64());
        drop(server);
        logged_load.extend(logged_load_secs(&dir.0.join(&log)));
    }
    RedisResult {
        version,
        save: Timing { secs: median(saves), bytes },
        load: Timing { secs: median(loads), bytes },
        logged_load,
    }
}

/// Runs benches/rdb-wasm.mjs; returns (shape, encode, decode) per measured shape, or why not.
fn wasm(random_rdb: &Path) -> Result<Vec<(Shape, Timing, Timing)>, String> {
    if !Path::new(env!("CARGO_MANIFEST_DIR")).join("www/pkg/redis_repl_lab_bg.wasm").exists() {
        return Err("skipped, run ./scripts/build first".into());
    }
    let mut rows = Vec::new();
    for line in node_json("rdb-wasm.mjs", &[random_rdb.to_str().ok_or("a UTF-8 path")?])? {
        let shape =
            if json_field(&line, "shape").as_deref() == Some("random") { Shape::Random } else { Shape::Populate };
        let bytes = json_number(&line, "bytes").ok_or("no bytes in the wasm output")? as usize;
        let enc = json_number(&line, "encode_s").ok_or("no encode_s in the wasm output")?;
        let dec = json_number(&line, "decode_s").ok_or("no decode_s in the wasm output")?;
        rows.push((shape, Timing { secs: enc, bytes }, Timing { secs: dec, bytes }));
    }
    if rows.is_empty() {
        return Err("benches/rdb-wasm.mjs printed no results".into());
    }
    Ok(rows)
}

fn main() {
    let shapes = [Shape::Random, Shape::Populate];
    let mut natives = Vec::new();
    let mut redises = Vec::new();
    let tmp = TempDir::new("wasm-input");
    let random_rdb = tmp.0.join("random.rdb");
    for shape in shapes {
        let pairs = dataset(shape);
        eprintln!(
            "{}: {KEYS} keys, {} of the 64-byte values LZF-compressible by at least 4 bytes",
            shape.name(),
            lzf_compressed(&pairs)
        );
        let (enc, dec, rdb) = native(&pairs);
        if std::env::var_os("RDB_BENCH_NATIVE_ONLY").is_some() {
            println!("{} native: encode {:.3} s, decode {:.3} s", shape.name(), enc.secs, dec.secs);
            continue;
        }
        if shape == Shape::Random {
            std::fs::write(&random_rdb, &rdb).expect("write random.rdb for the wasm run");
        }
        natives.push((shape, enc, dec));
        redises.push((shape, redis(shape, &pairs)));
    }
    if std::env::var_os("RDB_BENCH_NATIVE_ONLY").is_some() {
        return;
    }
    let wasm = wasm(&random_rdb);

    let redis_of = |shape: Shape| &redises.iter().find(|(s, _)| *s == shape).expect("redis row").1;
    let version = &redis_of(Shape::Random).version;
    println!();
    println!(
        "RDB, {KEYS} string keys `key:N` with {VALUE_LEN}-byte values; native median of {REPS}, redis-server {version} and wasm median of {REDIS_REPS}."
    );
    println!("random = pseudo-random hex values (LZF rarely helps); populate = DEBUG POPULATE's `value:N` zero-padded (LZF compresses).");
    println!();
    println!("| operation | data | RDB MB | seconds | keys/s | MB/s | keys/s vs redis-server |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    let row = |op: &str, shape: Shape, t: Timing, vs: Option<Timing>| {
        let ratio = vs.map_or("".to_string(), |r| format!("{:.2}x", t.keys_per_sec() / r.keys_per_sec()));
        println!(
            "| {op} | {} | {:.1} | {:.3} | {:.0} | {:.1} | {ratio} |",
            shape.name(),
            t.bytes as f64 / 1e6,
            t.secs,
            t.keys_per_sec(),
            t.mb_per_sec()
        );
    };
    let mut verdicts = Vec::new();
    for &(shape, enc, dec) in &natives {
        let r = redis_of(shape);
        row("our native encode (write_rdb)", shape, enc, Some(r.save));
        row("our native decode (read_rdb)", shape, dec, Some(r.load));
        for (dir, t, vs) in [("encode", enc, r.save), ("decode", dec, r.load)] {
            let ratio = t.keys_per_sec() / vs.keys_per_sec();
            verdicts.push(format!(
                "native {dir}, {}: {ratio:.2}x redis-server's keys/s, goal >= 2x: {}",
                shape.name(),
                if ratio >= 2.0 { "met" } else { "NOT met" }
            ));
        }
    }
    match &wasm {
        Ok(rows) => {
            for &(shape, enc, dec) in rows {
                let r = redis_of(shape);
                row("our wasm encode (exportRdb)", shape, enc, Some(r.save));
                row("our wasm decode (parseRdb)", shape, dec, Some(r.load));
                for (dir, t, vs) in [("encode", enc, r.save), ("decode", dec, r.load)] {
                    let ratio = t.keys_per_sec() / vs.keys_per_sec();
                    verdicts.push(format!(
                        "wasm {dir}, {}: {ratio:.2}x redis-server's keys/s, goal >= 1x: {}",
                        shape.name(),
                        if ratio >= 1.0 { "met" } else { "NOT met" }
                    ));
                }
            }
        }
        Err(why) => println!("| our wasm encode / decode | | | | | | wasm: {why} |"),
    }
    for &(shape, _, _) in &natives {
        let r = redis_of(shape);
        row("redis-server SAVE", shape, r.save, None);
        row("redis-server start-up load", shape, r.load, None);
    }
    println!();
    for v in verdicts {
        println!("- {v}");
    }
    if let Err(why) = &wasm {
        println!("- wasm: {why}");
    }
    for (shape, r) in &redises {
        let logged: Vec<String> = r.logged_load.iter().map(|s| format!("{s:.3}")).collect();
        println!(
            "- redis-server {}: start-up load is spawn to PING +PONG, loading:0 and DBSIZE {KEYS} (nothing subtracted); its log's \"DB loaded from disk\" said {} s",
            shape.name(),
            logged.join(" / ")
        );
    }
}
