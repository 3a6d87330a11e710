//! Oracle: our RDB reader loads what a real redis-server 7.0.15 writes, every type in every
//! encoding it uses (strings int/embstr/raw and LZF, quicklist2 lists with packed, plain and
//! LZF-compressed nodes, listpack and hashtable hashes, intset and hashtable sets, listpack and
//! skiplist sorted sets, expiries, several databases), and a seeded random dataset whose sizes
//! cross every encoding threshold. Each key, type, value and expiry is compared with what the
//! server itself replies.
//!
//! Then a mutation fuzz: real files (whole, and one key at a time from DUMP payloads) and files
//! from our writer, with bit flips, truncations, inserted and deleted bytes and huge lengths, and
//! the checksum disabled; the reader must return Ok or Err, never panic, and never allocate more
//! than a bound linear in the input (a counting allocator measures each call).

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Instant;

use common::{decode, start_redis, Client, Rng, ServerGuard};
use redis_repl_lab::keyspace::{Keyspace, Value, DATABASES};
use redis_repl_lab::rdb::{read_rdb, write_rdb, AuxInfo};
use redis_repl_lab::resp::Frame;

// ---------------------------------------------------------------------------------------------
// A counting allocator: live bytes and their peak, per thread, while tracking is on.

struct Counting;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            let _ = LIVE.try_with(|l| {
                let now = l.get() + delta;
                l.set(now);
                let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
            });
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as isize));
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f` and returns its result with the peak of bytes it held allocated at once.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    TRACKING.with(|t| t.set(true));
    let out = f();
    TRACKING.with(|t| t.set(false));
    (out, PEAK.with(|p| p.get()).max(0) as usize)
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn bulks(f: Frame) -> Vec<Vec<u8>> {
    match f {
        Frame::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Frame::Bulk(b) => b,
                other => panic!("not a bulk: {other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

fn text(f: &Frame) -> String {
    match f {
        Frame::Simple(s) => s.clone(),
        Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("not text: {other:?}"),
    }
}

/// Sends the commands in pipelined batches and asserts that none failed.
fn run(c: &mut Client, cmds: &[Vec<Vec<u8>>]) {
    for chunk in cmds.chunks(500) {
        for (cmd, reply) in chunk.iter().zip(c.pipeline(chunk)) {
            assert!(!reply.starts_with(b"-"), "{} -> {}", common::show_argv(cmd), common::show(&reply));
        }
    }
}

fn argv(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}

/// `SAVE`, then the bytes of the server's dump.rdb.
fn save(c: &mut Client) -> Vec<u8> {
    assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
    let dir = bulks(c.read_frame_after(&["CONFIG", "GET", "dir"]))[1].clone();
    let path = std::path::Path::new(std::str::from_utf8(&dir).unwrap()).join("dump.rdb");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

trait CallFrame {
    fn read_frame_after(&mut self, argv: &[&str]) -> Frame;
}

impl CallFrame for Client {
    fn read_frame_after(&mut self, argv: &[&str]) -> Frame {
        decode(&self.call(argv))
    }
}

/// A score as ZADD accepts it and as it round-trips exactly.
fn score_arg(v: f64) -> Vec<u8> {
    format!("{v:?}").into_bytes()
}

// ---------------------------------------------------------------------------------------------
// The datasets.

/// Far-future expiry times (ms), distinct per key.
const EXPIRE_BASE: i64 = 4_102_444_800_000;

/// Every type in every encoding Redis 7.0 writes, over several databases.
fn build_every_type(c: &mut Client) {
    let mut rng = Rng::new(7);
    let mut cmds: Vec<Vec<Vec<u8>>> = vec![argv(&[b"SELECT", b"0"])];
    // Strings: int-encoded (and int-like ones too long for it), embstr, raw, LZF, binary, empty.
    for (k, v) in [
        ("s:int", "12345"),
        ("s:neg", "-7"),
        ("s:zero", "0"),
        ("s:i32", "-2147483648"),
        ("s:i64", "9223372036854775807"),
        ("s:lead0", "007"),
        ("s:short", "hello"),
        ("s:empty", ""),
        ("s:float", "3.14"),
    ] {
        cmds.push(argv(&[b"SET", k.as_bytes(), v.as_bytes()]));
    }
    cmds.push(argv(&[b"SET", b"s:lzf", "abc".repeat(200).as_bytes()]));
    cmds.push(argv(&[b"SET", b"s:random", &rng.bytes(300)]));
    cmds.push(argv(&[b"SET", b"s:binary\x00\xff", b"\x00\x01\xfe\xff\r\n"]));
    cmds.push(argv(&[b"SET", b"s:ttl", b"v", b"PXAT", (EXPIRE_BASE + 1).to_string().as_bytes()]));
    cmds.push(argv(&[b"SET", b"s:ttl-sec", b"v", b"EXAT", (EXPIRE_BASE / 1000 + 2).to_string().as_bytes()]));

    // Lists: small; ints in every listpack integer width and strings in every string width.
    cmds.push(argv(&[b"RPUSH", b"l:small", b"a", b"b", b"c"]));
    let mut widths: Vec<Vec<u8>> = [0i64, 127, 128, -1, 4095, -4096, 4096, 32767, -32768, 32768, 8388607, -8388608]
        .iter()
        .chain(&[8388608, 2147483647, -2147483648, 2147483648, i64::MAX, i64::MIN])
        .map(|n| n.to_string().into_bytes())
        .collect();
    for n in [0usize, 1, 63, 64, 4095, 4096] {
        widths.push(vec![b's'; n]);
    }
    widths.push(b"-0".to_vec());
    widths.push(b"1.5".to_vec());
    cmds.push([vec![b"RPUSH".to_vec(), b"l:widths".to_vec()], widths].concat());
    cmds.push(argv(&[b"LPUSH", b"l:lpush", b"1", b"2", b"3", b"x"]));
    // Many 8 KB listpack nodes, from small elements.
    let many: Vec<Vec<u8>> = (0..3000).map(|i| format!("item-{i}-{}", i * 7919 % 1000).into_bytes()).collect();
    cmds.push([vec![b"RPUSH".to_vec(), b"l:many".to_vec()], many].concat());
    // A 9 KB element under the default threshold: a packed node of its own.
    cmds.push(argv(&[b"RPUSH", b"l:big-packed", b"x", &rng.bytes(9000), b"y"]));
    cmds.push(argv(&[b"PEXPIREAT", b"l:small", (EXPIRE_BASE + 3).to_string().as_bytes()]));
    run(c, &cmds);
    cmds.clear();

    // Compressed interior nodes (list-compress-depth 1): saved as LZF blobs.
    run(c, &[argv(&[b"CONFIG", b"SET", b"list-compress-depth", b"1"])]);
    let comp: Vec<Vec<u8>> = (0..2000).map(|i| format!("compressible-element-{:06}", i % 50).into_bytes()).collect();
    run(c, &[[vec![b"RPUSH".to_vec(), b"l:compressed".to_vec()], comp].concat()]);
    run(c, &[argv(&[b"CONFIG", b"SET", b"list-compress-depth", b"0"])]);

    // Plain nodes: Redis 7.0 makes an element a PLAIN node only at or above
    // quicklist-packed-threshold (1 GB by default); lower it to see them.
    run(c, &[argv(&[b"DEBUG", b"QUICKLIST-PACKED-THRESHOLD", b"8000"])]);
    cmds.push(argv(&[b"RPUSH", b"l:plain", b"head", &plain_element(), b"mid", &rng.bytes(20000), b"tail"]));
    run(c, &cmds);
    cmds.clear();
    run(c, &[argv(&[b"DEBUG", b"QUICKLIST-PACKED-THRESHOLD", b"0"])]);

    // Hashes: listpack (insertion order), hashtable by value size and by field count.
    cmds.push(argv(&[
        b"HSET",
        b"h:small",
        b"z",
        b"1",
        b"a",
        b"-20000",
        b"m",
        b"text",
        b"n",
        b"",
        b"big",
        b"99999999999",
    ]));
    cmds.push(argv(&[b"HSET", b"h:longval", b"f", &[b'v'; 65]]));
    let mut many = vec![b"HSET".to_vec(), b"h:many".to_vec()];
    for i in 0..200 {
        many.push(format!("field:{i}").into_bytes());
        many.push(i.to_string().into_bytes());
    }
    cmds.push(many);
    cmds.push(argv(&[b"PEXPIREAT", b"h:small", (EXPIRE_BASE + 4).to_string().as_bytes()]));

    // Sets: intsets of 16, 32 and 64-bit members; hashtable by count and by strings.
    cmds.push(argv(&[b"SADD", b"set:i16", b"5", b"-3", b"100", b"0"]));
    cmds.push(argv(&[b"SADD", b"set:i32", b"70000", b"-1", b"-70000"]));
    cmds.push(argv(&[b"SADD", b"set:i64", b"9223372036854775807", b"-9223372036854775808", b"1"]));
    let mut big = vec![b"SADD".to_vec(), b"set:bigints".to_vec()];
    big.extend((0..600).map(|i| (i * 3).to_string().into_bytes()));
    cmds.push(big);
    cmds.push(argv(&[b"SADD", b"set:strings", b"apple", b"banana", b"42"]));
    cmds.push(argv(&[b"PEXPIREAT", b"set:i16", (EXPIRE_BASE + 5).to_string().as_bytes()]));

    // Sorted sets: listpack (scores as ints and strings), skiplist by count and by member size.
    let scores: [(&[u8], f64); 9] = [
        (b"neg-inf", f64::NEG_INFINITY),
        (b"int", 3.0),
        (b"neg", -2.0),
        (b"frac", 1.5),
        (b"huge", 1e300),
        (b"tiny", 5e-324),
        (b"pi", std::f64::consts::PI),
        (b"inf", f64::INFINITY),
        (b"same", 3.0),
    ];
    let mut z = vec![b"ZADD".to_vec(), b"z:small".to_vec()];
    for (m, s) in scores {
        z.push(score_arg(s));
        z.push(m.to_vec());
    }
    cmds.push(z);
    let mut z = vec![b"ZADD".to_vec(), b"z:many".to_vec()];
    for i in 0..200 {
        z.push(score_arg(i as f64 / 4.0 - 10.0));
        z.push(format!("member:{i}").into_bytes());
    }
    cmds.push(z);
    cmds.push(argv(&[b"ZADD", b"z:longmember", b"1", &[b'm'; 65]]));
    cmds.push(argv(&[b"PEXPIREAT", b"z:small", (EXPIRE_BASE + 6).to_string().as_bytes()]));

    // Other databases.
    cmds.push(argv(&[b"SELECT", b"1"]));
    cmds.push(argv(&[b"SET", b"s:int", b"1"]));
    cmds.push(argv(&[b"RPUSH", b"l:small", b"db1"]));
    cmds.push(argv(&[b"SELECT", b"5"]));
    cmds.push(argv(&[b"HSET", b"h", b"f", b"v"]));
    cmds.push(argv(&[b"SET", b"ttl", b"x", b"PXAT", (EXPIRE_BASE + 7).to_string().as_bytes()]));
    cmds.push(argv(&[b"SELECT", b"15"]));
    cmds.push(argv(&[b"ZADD", b"z", b"1", b"a"]));
    cmds.push(argv(&[b"SADD", b"s", b"1"]));
    cmds.push(argv(&[b"SELECT", b"0"]));
    run(c, &cmds);
}

/// The element that becomes a PLAIN quicklist node: incompressible, so it is stored as is.
fn plain_element() -> Vec<u8> {
    Rng::new(99).bytes(9000)
}

/// A random element that crosses listpack and intset thresholds now and then.
fn random_element(rng: &mut Rng, max_len: u64) -> Vec<u8> {
    match rng.below(10) {
        0 => (rng.next() as i64).to_string().into_bytes(),
        1 => (rng.range(0, 20000) as i64 - 10000).to_string().into_bytes(),
        2 => {
            let n = rng.range(0, max_len) as usize;
            rng.bytes(n)
        }
        3 if rng.chance(10) => vec![b'L'; rng.range(60, 200) as usize],
        _ => format!("e{}", rng.below(5000)).into_bytes(),
    }
}

/// A seeded random dataset: `keys` keys over four databases, sizes around every threshold.
fn build_random(c: &mut Client, seed: u64, keys: usize) {
    let mut rng = Rng::new(seed);
    let mut cmds = Vec::new();
    for db in 0..4 {
        cmds.push(argv(&[b"SELECT", db.to_string().as_bytes()]));
        for i in 0..keys / 4 {
            let key = format!("r:{i}:{}", rng.below(1000)).into_bytes();
            let n = if rng.chance(15) { rng.range(100, 700) } else { rng.range(1, 40) };
            let mut cmd;
            match rng.below(5) {
                0 => {
                    cmd = vec![b"SET".to_vec(), key.clone(), random_element(&mut rng, 100)];
                }
                1 => {
                    cmd = vec![if rng.chance(50) { b"RPUSH".to_vec() } else { b"LPUSH".to_vec() }, key.clone()];
                    cmd.extend((0..n).map(|_| random_element(&mut rng, 80)));
                }
                2 => {
                    cmd = vec![b"HSET".to_vec(), key.clone()];
                    for _ in 0..n.min(300) {
                        cmd.push(random_element(&mut rng, 20));
                        let max = if rng.chance(5) { 80 } else { 30 };
                        cmd.push(random_element(&mut rng, max));
                    }
                }
                3 => {
                    cmd = vec![b"SADD".to_vec(), key.clone()];
                    let ints = rng.chance(60);
                    for _ in 0..n {
                        cmd.push(if ints {
                            (rng.next() as i64 >> rng.below(63)).to_string().into_bytes()
                        } else {
                            random_element(&mut rng, 30)
                        });
                    }
                }
                _ => {
                    cmd = vec![b"ZADD".to_vec(), key.clone()];
                    for _ in 0..n.min(300) {
                        let s = match rng.below(4) {
                            0 => (rng.below(100) as f64) - 50.0,
                            1 => rng.below(1000) as f64 / 8.0,
                            2 => f64::from_bits(rng.next()),
                            _ => rng.next() as i64 as f64,
                        };
                        cmd.push(score_arg(if s.is_nan() { 0.5 } else { s }));
                        let max = if rng.chance(5) { 80 } else { 20 };
                        cmd.push(random_element(&mut rng, max));
                    }
                }
            }
            cmds.push(cmd);
            if rng.chance(20) {
                let at = EXPIRE_BASE + rng.below(1_000_000_000) as i64;
                cmds.push(argv(&[b"PEXPIREAT", &key, at.to_string().as_bytes()]));
            }
        }
    }
    cmds.push(argv(&[b"SELECT", b"0"]));
    run(c, &cmds);
}

// ---------------------------------------------------------------------------------------------
// The comparison.

/// What the comparison saw: (type, encoding) pairs and the number of keys.
#[derive(Default)]
struct Seen {
    encodings: std::collections::BTreeSet<(String, String)>,
    keys: usize,
}

/// Compares every key of every database of our loaded keyspace with the live server.
fn compare(c: &mut Client, ours: &Keyspace) -> Seen {
    let mut seen = Seen::default();
    for db in 0..DATABASES {
        assert_eq!(c.call(&["SELECT", &db.to_string()]), b"+OK\r\n");
        let mut theirs = bulks(c.read_frame_after(&["KEYS", "*"]));
        theirs.sort();
        let keys = ours.db(db).keys_sorted();
        assert_eq!(
            keys.iter().map(|k| String::from_utf8_lossy(k)).collect::<Vec<_>>(),
            theirs.iter().map(|k| String::from_utf8_lossy(k)).collect::<Vec<_>>(),
            "keys of db {db}"
        );
        let mut cmds = Vec::new();
        for k in &keys {
            let value_cmd: &[&[u8]] = match ours.db(db).get_raw(k) {
                Some(Value::Str(_)) => &[b"GET"],
                Some(Value::List(_)) => &[b"LRANGE", b"0", b"-1"],
                Some(Value::Hash(_)) => &[b"HGETALL"],
                Some(Value::Set(_)) => &[b"SMEMBERS"],
                Some(Value::ZSet(_)) => &[b"ZRANGE", b"0", b"-1", b"WITHSCORES"],
                None => unreachable!(),
            };
            cmds.push(vec![b"TYPE".to_vec(), k.clone()]);
            cmds.push(vec![b"OBJECT".to_vec(), b"ENCODING".to_vec(), k.clone()]);
            cmds.push(vec![b"PEXPIRETIME".to_vec(), k.clone()]);
            let mut v = vec![value_cmd[0].to_vec(), k.clone()];
            v.extend(value_cmd[1..].iter().map(|a| a.to_vec()));
            cmds.push(v);
        }
        let mut replies = Vec::new();
        for chunk in cmds.chunks(2000) {
            replies.extend(c.pipeline(chunk).into_iter().map(|r| decode(&r)));
        }
        for (k, r) in keys.iter().zip(replies.chunks(4)) {
            let name = String::from_utf8_lossy(k);
            let value = ours.db(db).get_raw(k).unwrap();
            let (ty, enc) = (text(&r[0]), text(&r[1]));
            assert_eq!(ty, value.type_name(), "TYPE of {name} in db {db}");
            let expire = match r[2] {
                Frame::Integer(-1) => None,
                Frame::Integer(at) => Some(at),
                ref other => panic!("PEXPIRETIME {name}: {other:?}"),
            };
            assert_eq!(ours.db(db).expire_at(k), expire, "expiry of {name} in db {db}");
            match (value, r[3].clone()) {
                (Value::Str(s), Frame::Bulk(b)) => assert_eq!(s, &b, "value of {name}"),
                (Value::List(l), f) => {
                    assert_eq!(l.iter().cloned().collect::<Vec<_>>(), bulks(f), "list {name} in db {db}")
                }
                (Value::Hash(h), f) => {
                    let mut mine: Vec<Vec<u8>> = h.iter().flat_map(|(f, v)| [f.to_vec(), v.to_vec()]).collect();
                    let mut theirs = bulks(f);
                    if enc != "listpack" {
                        let pairs = |v: &[Vec<u8>]| {
                            let mut p: Vec<(Vec<u8>, Vec<u8>)> =
                                v.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect();
                            p.sort();
                            p
                        };
                        mine = pairs(&mine).into_iter().flat_map(|(a, b)| [a, b]).collect();
                        theirs = pairs(&theirs).into_iter().flat_map(|(a, b)| [a, b]).collect();
                    }
                    assert_eq!(mine, theirs, "hash {name} ({enc}) in db {db}");
                }
                (Value::Set(s), f) => {
                    let mut theirs = bulks(f);
                    assert_eq!(s.is_intset(), enc == "intset", "set {name}: intset flag vs {enc}");
                    if enc != "intset" {
                        theirs.sort();
                    }
                    assert_eq!(s.members(), theirs, "set {name} ({enc}) in db {db}");
                }
                (Value::ZSet(z), f) => {
                    let theirs = bulks(f);
                    let theirs: Vec<(Vec<u8>, f64)> = theirs
                        .chunks(2)
                        .map(|c| (c[0].clone(), std::str::from_utf8(&c[1]).unwrap().parse::<f64>().unwrap()))
                        .collect();
                    let mine: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
                    assert_eq!(mine, theirs, "zset {name} ({enc}) in db {db}");
                }
                (v, f) => panic!("{name}: ours {v:?}, Redis {f:?}"),
            }
            seen.encodings.insert((ty, enc));
            seen.keys += 1;
        }
    }
    assert_eq!(c.call(&["SELECT", "0"]), b"+OK\r\n");
    seen
}

fn start() -> (ServerGuard, Client) {
    let server = start_redis(&[]);
    let client = server.client();
    (server, client)
}

#[test]
fn rdb_of_every_type_and_encoding_redis_writes_loads_as_redis_shows_it() {
    let (_server, mut c) = start();
    build_every_type(&mut c);
    let rdb = save(&mut c);
    let file = read_rdb(&rdb).unwrap_or_else(|e| panic!("{e}"));
    assert!(file.checksum_verified);
    assert_eq!(file.aux_field("redis-ver"), Some(&b"7.0.15"[..]));
    let seen = compare(&mut c, &file.keyspace);
    assert_eq!(seen.keys, file.keys);
    for (t, e) in [
        ("string", "int"),
        ("string", "embstr"),
        ("string", "raw"),
        ("list", "quicklist"),
        ("hash", "listpack"),
        ("hash", "hashtable"),
        ("set", "intset"),
        ("set", "hashtable"),
        ("zset", "listpack"),
        ("zset", "skiplist"),
    ] {
        assert!(seen.encodings.contains(&(t.to_string(), e.to_string())), "no {t} {e} in {:?}", seen.encodings);
    }
    // The plain node is in the file as such: container 1, then the raw 9000-byte element.
    let plain = [&[0x01, 0x40 | (9000 >> 8) as u8, (9000 & 0xFF) as u8][..], &plain_element()[..16]].concat();
    assert!(rdb.windows(plain.len()).any(|w| w == plain), "a PLAIN quicklist node");
    // And our writer's file of the same dataset reads back to the same dataset.
    let info = AuxInfo { ctime_secs: 0, used_mem: 0, repl: None };
    let again = read_rdb(&write_rdb(&file.keyspace, &info)).unwrap();
    assert_eq!(again.keyspace.digest(), file.keyspace.digest());
    println!("every-type dataset: {} keys, {} bytes of RDB, encodings {:?}", seen.keys, rdb.len(), seen.encodings);
}

#[test]
fn rdb_of_a_seeded_random_dataset_loads_as_redis_shows_it() {
    let (_server, mut c) = start();
    build_random(&mut c, 2024, 4000);
    let rdb = save(&mut c);
    let file = read_rdb(&rdb).unwrap_or_else(|e| panic!("{e}"));
    let seen = compare(&mut c, &file.keyspace);
    assert!(seen.keys > 3000, "{} keys", seen.keys);
    for (t, e) in [("hash", "listpack"), ("hash", "hashtable"), ("set", "intset"), ("set", "hashtable")] {
        assert!(seen.encodings.contains(&(t.to_string(), e.to_string())), "no {t} {e} in {:?}", seen.encodings);
    }
    assert!(seen.encodings.contains(&("zset".into(), "skiplist".into())));
    assert!(seen.encodings.contains(&("zset".into(), "listpack".into())));
    println!("random dataset: {} keys, {} bytes of RDB, encodings {:?}", seen.keys, rdb.len(), seen.encodings);
}

// ---------------------------------------------------------------------------------------------
// The mutation fuzz.

/// A v10 file holding one key, made from a DUMP payload (type byte, value, 2-byte version, CRC).
fn file_from_dump(key: &[u8], dump: &[u8]) -> Vec<u8> {
    let body = &dump[..dump.len() - 10];
    let mut f = b"REDIS0010".to_vec();
    f.push(body[0]);
    assert!(key.len() < 64);
    f.push(key.len() as u8);
    f.extend_from_slice(key);
    f.extend_from_slice(&body[1..]);
    f.push(0xFF);
    f.extend_from_slice(&[0; 8]);
    f
}

fn mutate(rng: &mut Rng, src: &[u8]) -> Vec<u8> {
    let mut f = src.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        // Mostly past the 9-byte header, which has only two ways to fail.
        let len = f.len().max(1) as u64;
        let at = if len > 10 && rng.chance(97) { rng.range(9, len - 1) } else { rng.below(len) } as usize;
        match rng.below(9) {
            0 => {
                if let Some(b) = f.get_mut(at) {
                    *b ^= 1 << rng.below(8);
                }
            }
            1 => {
                const INTERESTING: [u8; 10] = [0x00, 0x01, 0x7F, 0x80, 0x81, 0xC0, 0xC3, 0xF0, 0xFE, 0xFF];
                if let Some(b) = f.get_mut(at) {
                    *b = INTERESTING[rng.below(10) as usize];
                }
            }
            2 => f.truncate(at),
            3 => {
                let n = rng.range(1, 16) as usize;
                let bytes = rng.bytes(n);
                f.splice(at..at, bytes);
            }
            4 => {
                let end = (at + rng.range(1, 32) as usize).min(f.len());
                f.drain(at..end);
            }
            5 => {
                // A huge length: an RDB 32/64-bit length, or a blob's u32 length/count field.
                let huge: &[u8] = match rng.below(5) {
                    0 => &[0x80, 0xFF, 0xFF, 0xFF, 0xFF],
                    1 => &[0x81, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
                    2 => &[0xFF, 0xFF, 0xFF, 0x7F],
                    3 => &[0xF0, 0xFF, 0xFF, 0xFF, 0x0F],
                    _ => &[0xBF, 0xFF],
                };
                let end = (at + huge.len()).min(f.len());
                f.splice(at..end, huge.iter().copied());
            }
            6 => {
                // Duplicate a chunk (repeated keys, fields, entries).
                let end = (at + rng.range(1, 64) as usize).min(f.len());
                let chunk = f[at..end].to_vec();
                let to = rng.below(f.len() as u64 + 1) as usize;
                f.splice(to..to, chunk);
            }
            7 => {
                if let Some(b) = f.get_mut(at) {
                    *b = b.wrapping_add(rng.range(1, 3) as u8);
                }
            }
            _ => {
                if let Some(b) = f.get_mut(at) {
                    *b = b.wrapping_sub(rng.range(1, 3) as u8);
                }
            }
        }
    }
    // Inserted or deleted bytes move the trailer: zero the new last 8 bytes, most of the time, so
    // that the checksum stays disabled.
    if f.len() >= 17 && rng.chance(90) {
        let n = f.len();
        f[n - 8..].fill(0);
    }
    f
}

#[test]
fn rdb_mutation_fuzz_never_panics_and_allocates_in_proportion() {
    let (_server, mut c) = start();
    build_every_type(&mut c);
    run(&mut c, &[argv(&[b"SELECT", b"7"])]);
    build_random(&mut c, 77, 200);
    let whole = save(&mut c);

    // One small file per key, from the server's own DUMP payloads.
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    for db in 0..DATABASES {
        assert_eq!(c.call(&["SELECT", &db.to_string()]), b"+OK\r\n");
        for k in bulks(c.read_frame_after(&["KEYS", "*"])) {
            if k.len() >= 64 {
                continue;
            }
            let Frame::Bulk(dump) = decode(&c.call(&[b"DUMP".to_vec(), k.clone()])) else { panic!("DUMP") };
            let f = file_from_dump(&k, &dump);
            let loaded = read_rdb(&f).unwrap_or_else(|e| panic!("DUMP of {}: {e}", String::from_utf8_lossy(&k)));
            assert_eq!(loaded.keys, 1);
            corpus.push(f);
        }
    }
    // Files from our writer, of the whole dataset and of a small one.
    let loaded = read_rdb(&whole).unwrap();
    let info = AuxInfo { ctime_secs: 1, used_mem: 2, repl: Some((0, "a".repeat(40), 99)) };
    let ours = write_rdb(&loaded.keyspace, &info);
    let mut small = Keyspace::default();
    for (k, v) in loaded.keyspace.db(0).entries_sorted().into_iter().take(20).map(|(k, v, _)| (k.clone(), v.clone())) {
        small.db_mut(0).set(k, v);
    }
    small.db_mut(0).set_expire(b"s:int", EXPIRE_BASE);
    corpus.push(write_rdb(&small, &info));
    let big = [whole, ours];

    // The checksum is disabled (zeroed) so mutations reach the value decoders.
    let zero_crc = |f: &mut Vec<u8>| {
        let n = f.len();
        f[n - 8..].fill(0);
    };
    for f in corpus.iter_mut() {
        zero_crc(f);
    }
    let mut big = big.to_vec();
    for f in big.iter_mut() {
        zero_crc(f);
    }

    let mut rng = Rng::new(0xF022);
    let t0 = Instant::now();
    let (mut execs, mut ok, mut worst_ratio, mut worst_peak) = (0usize, 0usize, 0f64, 0usize);
    let mut reasons = std::collections::BTreeMap::<String, usize>::new();
    let mut check = |input: &[u8]| {
        let (res, peak) = measure(|| std::panic::catch_unwind(|| read_rdb(input)));
        let res = res.unwrap_or_else(|_| {
            panic!("read_rdb panicked on {} bytes: {}", input.len(), common::show(input));
        });
        let bound = 512 * input.len() + (4 << 20);
        assert!(peak <= bound, "{peak} bytes allocated for {} bytes of input", input.len());
        let ratio = peak as f64 / input.len().max(1) as f64;
        if peak > worst_peak {
            worst_peak = peak;
        }
        if ratio > worst_ratio && input.len() > 1000 {
            worst_ratio = ratio;
        }
        match res {
            Ok(_) => ok += 1,
            Err(e) => {
                let head: String = e.reason.chars().take_while(|&c| c != '(' && !c.is_ascii_digit()).collect();
                *reasons.entry(head.trim().to_string()).or_default() += 1;
            }
        }
        execs += 1;
    };
    for _ in 0..100_000 {
        let src = &corpus[rng.below(corpus.len() as u64) as usize];
        check(&mutate(&mut rng, src));
    }
    for _ in 0..200 {
        let src = &big[rng.below(2) as usize];
        check(&mutate(&mut rng, src));
    }
    let took = t0.elapsed();
    println!(
        "mutation fuzz: {execs} executions in {took:.2?} ({ok} loaded, {} rejected); corpus {} one-key files + 2 whole files of {} and {} bytes; peak allocation {worst_peak} bytes, worst ratio on inputs over 1 KB {worst_ratio:.1}x",
        execs - ok,
        corpus.len(),
        big[0].len(),
        big[1].len()
    );
    for (reason, n) in &reasons {
        println!("  {n:6}  {reason}");
    }
    assert!(execs >= 100_000);
    assert!(reasons.keys().any(|r| r.starts_with("Listpack integrity check failed.")));
    assert!(reasons.keys().any(|r| r.starts_with("Intset integrity check failed.")));
}
