//! What each fuzz target checks, shared by the libFuzzer targets next to this file (run by hand
//! with `cargo fuzz`, on nightly: see README.md here) and by `tests/fuzz_corpora.rs`, which replays
//! the kept corpora with `cargo test` on stable, so an input that once broke a decoder stays a
//! test. Each target asserts a property that could fail, not only "no panic":
//!
//! - `resp_command`: a query buffer parsed as it arrives, in pieces of any size, gives exactly the
//!   commands (or the protocol error) that parsing it whole gives, as a server must;
//! - `resp_frame`: the same for replies, and every complete reply formats for the console;
//! - `console_line`: a line redis-cli would split, sent as RESP, parses back to the same words;
//! - `rdb`: a file the reader accepts is written back and read again to the same dataset;
//! - `shared_log`: a run's log the decoder accepts comes back to the same log after a replay;
//! - `scenario`: the scenario loader answers every text with a scenario or errors, never a panic.

#![allow(dead_code)] // each target uses one check

use redis_repl_lab::rdb::{read_rdb, write_rdb, AuxInfo};
use redis_repl_lab::resp::{encode_command, format_reply, parse_command, parse_frame, split_args, Parsed};
use redis_repl_lab::sim::session::Session;

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

fn same_in_pieces_as_whole<T: PartialEq + std::fmt::Debug>(
    data: &[u8],
    parse: impl Fn(&[u8]) -> Result<Parsed<T>, String>,
) {
    let (size, bytes) = piece_size(data);
    let (whole, whole_err, _) = read_all(bytes, &parse);
    let (pieces, pieces_err) = read_in_pieces(bytes, size, &parse);
    assert_eq!(pieces, whole, "items read in pieces of {size} bytes");
    assert_eq!(pieces_err, whole_err, "the error read in pieces of {size} bytes");
}

pub fn resp_command(data: &[u8]) {
    same_in_pieces_as_whole(data, |b| parse_command(b).map_err(|e| e.to_string()));
}

pub fn resp_frame(data: &[u8]) {
    same_in_pieces_as_whole(data, |b| parse_frame(b).map_err(|e| e.to_string()));
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

pub fn shared_log(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(session) = Session::from_log(&text) else { return };
    let log = session.to_log();
    let again = Session::from_log(&log).expect("a log we wrote decodes");
    assert_eq!(again.to_log(), log, "a decoded log replays to the same log");
}

pub fn scenario(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = redis_repl_lab::scenario::load("fuzz", &text);
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
];
