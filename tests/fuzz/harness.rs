//! What each fuzz target checks, shared by the libFuzzer targets next to this file (run by hand
//! with `cargo fuzz`, on nightly: see README.md here) and by `tests/fuzz_corpora.rs`, which replays
//! the kept corpora with `cargo test` on stable, so an input that once broke a decoder stays a
//! test. Each target asserts a property that could fail, not only "no panic":
//!
//! - `resp_command`: a query buffer parsed as it arrives, in pieces of any size, gives exactly the
//!   commands (or the protocol error) that parsing it whole gives, as a server must, whether each
//!   piece is read from the request's start or resumes where the last one stopped;
//! - `resp_frame`: the same for replies, and every complete reply formats for the console;
//! - `console_line`: a line redis-cli would split, sent as RESP, parses back to the same words;
//! - `rdb`: a file the reader accepts is written back and read again to the same dataset;
//! - `shared_log`: a run's log the decoder accepts encodes back to the same log, and (if it spans
//!   at most ten seconds and its write loads issue at most 5,000 writes) comes back to the same
//!   log after a replay;
//! - `scenario`: the scenario loader answers every text with a scenario or errors, never a panic;
//! - `node_client`: a node sent any bytes by a client answers exactly the same bytes however they
//!   are split, and still answers another client's PING;
//! - `node_master_stream`: a replica fed any bytes as its master's stream, after a real handshake,
//!   ends with the same dataset, offset and replies to its master however they are split.

#![allow(dead_code)] // each target uses one check

use redis_repl_lab::node::{ConnId, Node, NodeConfig, Output, Persisted};
use redis_repl_lab::rdb::{read_rdb, write_rdb, AuxInfo};
use std::cell::RefCell;

use redis_repl_lab::resp::{
    encode_command, format_reply, parse_command, parse_command_resuming, parse_frame, split_args, Parsed, RequestLimits,
};
use redis_repl_lab::sim::session::{Action, RunLog, Session};

/// The input's first byte as a piece size (1 to 256), and the rest as the bytes to send.
fn piece_size(data: &[u8]) -> (usize, &[u8]) {
    match data.split_first() {
        Some((&b, rest)) => (usize::from(b) + 1, rest),
        None => (1, data),
    }
}

/// What a reader makes of a buffer: each item read, then why it stopped (incomplete or error).
fn read_all<T>(buf: &[u8], parse: impl Fn(&[u8]) -> Result<Parsed<T>, String>) -> (Vec<T>, Option<String>, usize) {
    let (mut items, mut at) = (Vec::new(), 0);
    loop {
        match parse(&buf[at..]) {
            Ok(Parsed::Complete(item, used)) => {
                assert!(used > 0, "a complete item consumes bytes");
                items.push(item);
                at += used;
            }
            Ok(Parsed::Incomplete) => return (items, None, at),
            Err(e) => return (items, Some(e), at),
        }
    }
}

/// Reads `data` as it arrives `size` bytes at a time, as a server reads a socket.
fn read_in_pieces<T>(
    data: &[u8],
    size: usize,
    parse: impl Fn(&[u8]) -> Result<Parsed<T>, String>,
) -> (Vec<T>, Option<String>) {
    let (mut items, mut buf) = (Vec::new(), Vec::new());
    for piece in data.chunks(size) {
        buf.extend_from_slice(piece);
        let (got, err, used) = read_all(&buf, &parse);
        items.extend(got);
        if err.is_some() {
            return (items, err);
        }
        buf.drain(..used);
    }
    (items, None)
}

/// Reading `data` whole with `parse` and in pieces with `in_pieces` gives the same.
fn same_in_pieces_as_whole<T: PartialEq + std::fmt::Debug>(
    data: &[u8],
    parse: impl Fn(&[u8]) -> Result<Parsed<T>, String>,
    in_pieces: impl Fn(&[u8]) -> Result<Parsed<T>, String>,
) {
    let (size, bytes) = piece_size(data);
    let (whole, whole_err, _) = read_all(bytes, &parse);
    let (pieces, pieces_err) = read_in_pieces(bytes, size, &in_pieces);
    assert_eq!(pieces, whole, "items read in pieces of {size} bytes");
    assert_eq!(pieces_err, whole_err, "the error read in pieces of {size} bytes");
}

pub fn resp_command(data: &[u8]) {
    let whole = |b: &[u8]| parse_command(b).map_err(|e| e.to_string());
    same_in_pieces_as_whole(data, whole, whole);
    let progress = RefCell::new(None);
    let resuming = |b: &[u8]| {
        parse_command_resuming(b, RequestLimits::default(), &mut progress.borrow_mut()).map_err(|e| e.to_string())
    };
    same_in_pieces_as_whole(data, whole, resuming);
}

pub fn resp_frame(data: &[u8]) {
    let whole = |b: &[u8]| parse_frame(b).map_err(|e| e.to_string());
    same_in_pieces_as_whole(data, whole, whole);
    let (frames, _, _) = read_all(data, |b| parse_frame(b).map_err(|e| e.to_string()));
    for f in &frames {
        let _: String = format_reply(f);
    }
}

pub fn console_line(data: &[u8]) {
    let Ok(words) = split_args(data) else { return };
    if words.is_empty() {
        return;
    }
    match parse_command(&encode_command(&words)) {
        Ok(Parsed::Complete(back, _)) => assert_eq!(back, words, "the words back from RESP"),
        other => panic!("a command we encoded does not parse: {other:?}"),
    }
}

pub fn rdb(data: &[u8]) {
    let Ok(file) = read_rdb(data) else { return };
    let again = write_rdb(&file.keyspace, &AuxInfo { ctime_secs: 0, used_mem: 0, repl: None });
    let reread = read_rdb(&again).expect("a file we wrote reads back");
    assert_eq!(reread.keyspace.digest(), file.keyspace.digest(), "the dataset survives a write and a read");
}

/// The longest run `shared_log` replays, in virtual µs. A replay costs the virtual time it
/// spans (every node's cron, ten times a second), up to the 24 hours a log may claim: that is the
/// simulator's work, which the sweep covers, and at seconds an input it would leave the decoder
/// a few thousand inputs an hour. Every input is decoded; those of up to ten seconds (and
/// [`REPLAYED_WRITES`] of load) are replayed.
const REPLAYED_SPAN: u64 = 10_000_000;

/// The most writes the write loads of a replayed log may issue. A load of up to 100,000 writes a
/// second on each of eight nodes is the write path's work, again the sweep's (it drives loads on
/// every seed): ten seconds of it takes the replay seconds, and the fuzzer, which finds loads
/// early, spent most of its time there, at a few hundred inputs a second.
const REPLAYED_WRITES: u64 = 5_000;

/// How many writes the log's loads ask for until it ends: each rate runs from its action until
/// the node's next load action or the log's end (the simulator caps a rate, this counts it
/// uncapped, so it never underestimates).
fn load_writes(log: &RunLog) -> u64 {
    let end = log.span();
    let loads: Vec<(u64, usize, u64)> = log
        .actions
        .iter()
        .filter_map(|(t, a)| match a {
            Action::Load(node, rate) => Some((*t, *node, *rate)),
            _ => None,
        })
        .collect();
    loads
        .iter()
        .enumerate()
        .map(|(i, &(t, node, rate))| {
            let until = loads[i + 1..].iter().find(|l| l.1 == node).map_or(end, |l| l.0);
            rate.saturating_mul(until.saturating_sub(t)) / 1_000_000
        })
        .fold(0u64, u64::saturating_add)
}

pub fn shared_log(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(log) = RunLog::decode(&text) else { return };
    let text = log.encode();
    assert_eq!(RunLog::decode(&text).as_ref(), Ok(&log), "a decoded log encodes to the same log");
    if log.span() > REPLAYED_SPAN || load_writes(&log) > REPLAYED_WRITES {
        return;
    }
    let Ok(session) = Session::from_log(&text) else { return };
    let replayed = session.to_log();
    let again = Session::from_log(&replayed).expect("a log we wrote decodes");
    assert_eq!(again.to_log(), replayed, "a decoded log replays to the same log");
}

pub fn scenario(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = redis_repl_lab::scenario::load("fuzz", &text);
}

/// A node as the native server runs one (virtual time from 0).
fn node(port: u16, replicaof: Option<(String, u16)>) -> Node {
    let cfg = NodeConfig {
        name: format!("127.0.0.1:{port}"),
        host: "127.0.0.1".into(),
        port,
        repl: Default::default(),
        epoch_unix_ms: 1_700_000_000_000,
    };
    Node::restart_loaded(cfg, 1, 0, None, replicaof)
}

/// How a connection's bytes ended, so far: closed by the node, or the node exited (SHUTDOWN).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Ends {
    closed: bool,
    exited: bool,
}

impl std::ops::BitOrAssign for Ends {
    fn bitor_assign(&mut self, other: Ends) {
        self.closed |= other.closed;
        self.exited |= other.exited;
    }
}

/// What the node wrote on `conn` since the last call (appended to `out`), and whether it closed
/// it or exited. Its saves are written at once, as the simulator writes them.
fn drain(node: &mut Node, conn: ConnId, out: &mut Vec<u8>) -> Ends {
    let mut ends = Ends::default();
    while let Some(o) = node.poll_output() {
        match o {
            Output::Send { conn: c, data, .. } if c == conn => out.extend_from_slice(&data),
            Output::Close { conn: c } if c == conn => ends.closed = true,
            Output::Persist { .. } => node.persisted(Persisted::Written),
            Output::Exit => ends.exited = true,
            _ => {}
        }
    }
    ends
}

/// Inputs that stop the run on purpose (`DEBUG PANIC`) or take seconds each (`DEBUG POPULATE`
/// of millions of keys) are left out: they are not bugs, and they would hide the rest.
fn on_purpose(data: &[u8]) -> bool {
    let lower = data.to_ascii_lowercase();
    [b"panic".as_slice(), b"populate"].iter().any(|w| lower.windows(w.len()).any(|x| x == *w))
}

/// Lets the node's virtual time run until it is not stopped (DEBUG SLEEP) any more, for at most
/// an hour; returns the time reached.
fn wake(n: &mut Node, mut t: u64) -> u64 {
    n.tick(t);
    while n.is_paused() && t < 3_600_000_000 {
        t = n.next_deadline().max(t + 1);
        n.tick(t);
    }
    t
}

pub fn node_client(data: &[u8]) {
    if on_purpose(data) {
        return;
    }
    let (size, bytes) = piece_size(data);
    let run = |size: usize| {
        let mut n = node(6379, None);
        let c = n.accept(0, "127.0.0.1", 50_000);
        let (mut out, mut ends) = (Vec::new(), Ends::default());
        for piece in bytes.chunks(size) {
            n.receive(0, c, piece);
            ends |= drain(&mut n, c, &mut out);
        }
        let t = wake(&mut n, 1_000_000);
        ends |= drain(&mut n, c, &mut out);
        (n, out, ends, t)
    };
    let (mut n, whole, whole_ends, t) = run(bytes.len().max(1));
    if n.is_paused() {
        return; // asleep for more than an hour: its replies are not all out in either run
    }
    let (_, pieces, pieces_ends, _) = run(size);
    // Replies written before a DEBUG SLEEP leave at once when the sleep came in a later read,
    // and after it otherwise (as in Redis): once the node is awake, the bytes are the same.
    assert_eq!(pieces, whole, "the replies when the bytes come in pieces of {size}");
    assert_eq!(pieces_ends, whole_ends, "closed, exited or not, in pieces of {size}");
    if !whole_ends.exited {
        let other = n.accept(t, "127.0.0.1", 50_001);
        n.receive(t, other, b"PING\r\n");
        let mut pong = Vec::new();
        drain(&mut n, other, &mut pong);
        assert_eq!(pong, b"+PONG\r\n", "another client after those bytes");
    }
}

/// A replica of 127.0.0.1:6379 that went through the handshake and a full sync of an empty
/// dataset (answered as a Redis 7.0 master answers), and the connection to its master.
fn synced_replica() -> (Node, ConnId) {
    let mut n = node(6380, Some(("127.0.0.1".into(), 6379)));
    let mut link = None;
    while let Some(o) = n.poll_output() {
        if let Output::Connect { conn, .. } = o {
            link = Some(conn);
        }
    }
    let link = link.expect("the replica connects to its master");
    n.connected(0, link);
    let rdb = write_rdb(&Default::default(), &AuxInfo { ctime_secs: 0, used_mem: 0, repl: None });
    for _ in 0..8 {
        let mut asked = Vec::new();
        drain(&mut n, link, &mut asked);
        let (requests, _, _) = read_all(&asked, |b| parse_command(b).map_err(|e| e.to_string()));
        for argv in requests {
            let answer = match argv.first().map(|a| a.to_ascii_uppercase()).as_deref() {
                Some(b"PING") => b"+PONG\r\n".to_vec(),
                Some(b"PSYNC" | b"SYNC") => {
                    let mut a = format!("+FULLRESYNC {} 0\r\n${}\r\n", "f".repeat(40), rdb.len()).into_bytes();
                    a.extend_from_slice(&rdb);
                    a
                }
                _ => b"+OK\r\n".to_vec(),
            };
            n.receive(0, link, &answer);
        }
    }
    n.tick(1_000_000);
    assert_eq!(n.view().repl_state, "connected", "the handshake the harness plays is a master's");
    (n, link)
}

pub fn node_master_stream(data: &[u8]) {
    if on_purpose(data) {
        return;
    }
    let (size, bytes) = piece_size(data);
    let run = |size: usize| {
        let (mut n, link) = synced_replica();
        drain(&mut n, link, &mut Vec::new());
        let (mut back, mut ends) = (Vec::new(), Ends::default());
        for piece in bytes.chunks(size) {
            n.receive(1_000_000, link, piece);
            ends |= drain(&mut n, link, &mut back);
        }
        wake(&mut n, 1_500_000);
        ends |= drain(&mut n, link, &mut back);
        let v = n.view();
        (n.digest(), v.slave_repl_offset, v.repl_state, back, ends)
    };
    let whole = run(bytes.len().max(1));
    assert_eq!(run(size), whole, "the replica when the stream comes in pieces of {size}");
}

/// One target's check.
pub type Check = fn(&[u8]);

/// Every target by name, for the corpus replay.
pub const TARGETS: &[(&str, Check)] = &[
    ("resp_command", resp_command),
    ("resp_frame", resp_frame),
    ("console_line", console_line),
    ("rdb", rdb),
    ("shared_log", shared_log),
    ("scenario", scenario),
    ("node_client", node_client),
    ("node_master_stream", node_master_stream),
];
