//! What the benchmarks that measure redis-server next to the lab share: the tests' redis-server
//! launcher (a free loopback port, a folder of its own, killed when dropped), a reply read off a
//! connection, an INFO field, the `json:` lines of a Node script that measures the web package,
//! and a median.

#![allow(dead_code)] // each benchmark uses part of it

#[path = "../../tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

#[allow(unused_imports)] // not every benchmark names the guard
pub use common::{start_redis, ServerGuard};

use redis_repl_lab::resp::{encode_command, parse_frame, Frame, Parsed};

/// The next reply on `c`; `buf` keeps what was read past it.
pub fn reply(c: &mut TcpStream, buf: &mut Vec<u8>) -> Frame {
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

/// One field of `INFO section` on `c` (empty if the server has no such field).
pub fn info_on(c: &mut TcpStream, buf: &mut Vec<u8>, section: &str, field: &str) -> String {
    c.write_all(&encode_command(&["INFO", section])).expect("write");
    let Frame::Bulk(text) = reply(c, buf) else { panic!("INFO answers with a bulk string") };
    let text = String::from_utf8_lossy(&text).into_owned();
    text.lines().find_map(|l| l.strip_prefix(&format!("{field}:")).map(|v| v.trim().to_string())).unwrap_or_default()
}

/// One field of `INFO section` of the server on `port`, on a new connection.
pub fn info(port: u16, section: &str, field: &str) -> String {
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    info_on(&mut c, &mut Vec::new(), section, field)
}

/// Runs `node benches/<script> args...` (it measures the web package in www/pkg) and returns its
/// `json:` lines.
pub fn node_json(script: &str, args: &[&str]) -> Result<Vec<String>, String> {
    let out = Command::new("node")
        .arg(format!("{}/benches/{script}", env!("CARGO_MANIFEST_DIR")))
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("node: {e}"))?;
    if !out.status.success() {
        return Err(format!("node benches/{script} failed ({}): run ./scripts/build first", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Ok(text.lines().filter_map(|l| l.strip_prefix("json: ")).map(str::to_string).collect())
}

/// A field of one of those flat JSON objects: a number, or a string's text.
pub fn json_field(line: &str, name: &str) -> Option<String> {
    let at = line.find(&format!("\"{name}\":"))? + name.len() + 3;
    let raw = line[at..].split([',', '}']).next()?.trim();
    Some(raw.trim_matches('"').to_string())
}

/// The number in a field of one of those lines.
pub fn json_number(line: &str, name: &str) -> Option<f64> {
    json_field(line, name)?.parse().ok()
}

/// The median of some measurements.
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}
