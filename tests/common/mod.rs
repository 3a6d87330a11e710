//! Shared helpers for the oracle tests: start a real redis-server and our `repl-lab server` on free
//! loopback ports, stop them by pid whatever happens (a Drop guard), and talk RESP to them with a
//! tiny client that returns each reply as the exact bytes the server wrote.
//!
//! Every oracle test file includes this with `mod common;`; not every file uses every helper.
//!
//! The interop tests add: servers with a log file that is printed when a test fails, our server
//! with a `--dir` that survives a restart on the same port, INFO lookups, bounded polling
//! ([`wait_until`]), a workload of every type in several databases with a writer thread
//! ([`Writer`]), a key-by-key dataset listing ([`dataset`]), and a loopback proxy that records
//! the bytes in both directions ([`Proxy`]).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng as _, SeedableRng};
use redis_repl_lab::resp::{encode_command_into, parse_frame, Frame, Parsed};

/// How long a reply may take before the test gives up on a server.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The path of an installed Redis tool (`redis-server`, `redis-check-rdb`).
pub fn tool(name: &str) -> String {
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let p = format!("{dir}/{name}");
        if Path::new(&p).exists() {
            return p;
        }
    }
    panic!("{name} is not installed: run ./scripts/setup --browser (Debian packages redis-server, redis-tools)");
}

/// A fresh, empty temporary directory unique to this process and tag.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("repl-lab-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}

/// A loopback port nobody listens on right now (the OS picks it; we release it at once).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("bind 127.0.0.1:0")
}

/// A base port with `n` free ports after it.
pub fn free_ports(n: u16) -> u16 {
    for _ in 0..50 {
        let base = free_port();
        if base < 60_000 && (0..n).all(|k| TcpListener::bind(("127.0.0.1", base + k)).is_ok()) {
            return base;
        }
    }
    panic!("no {n} free ports in a row");
}

/// A server process that is killed (by its pid) when dropped, on success and on panic alike.
pub struct ServerGuard {
    child: Child,
    /// The loopback port it listens on.
    pub port: u16,
    /// What it is, for messages: "redis" or "repl-lab".
    pub name: &'static str,
    /// A directory removed with the guard (redis-server's own `--dir`).
    dir: Option<PathBuf>,
    /// Where the server logs; its tail is printed if the test fails.
    log: Option<PathBuf>,
}

impl ServerGuard {
    /// A new client connection to this server.
    pub fn client(&self) -> Client {
        Client::connect(self.port)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server has logged so far (empty if it logs nowhere we can read).
    pub fn log_text(&self) -> String {
        self.log
            .as_ref()
            .and_then(|l| std::fs::read(l).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            if let Some(bytes) = self.log.as_ref().and_then(|l| std::fs::read(l).ok()) {
                let text = String::from_utf8_lossy(&bytes);
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(40)..].join("\n");
                eprintln!("--- last log lines of {} on port {} ---\n{tail}", self.name, self.port);
            }
        }
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// Why a started server is not ready.
enum NotReady {
    /// It exited (its port was taken between [`free_port`] and its bind, say): try another.
    Exited,
}

/// Waits until `guard`'s own process listens on its port and answers PING. Answering is not
/// enough: between [`free_port`] and the child's bind, another test's server may take the port,
/// and its PONG would pass for ours, so the listening socket must be one of the child's.
fn wait_until_ready(guard: &mut ServerGuard) -> Result<(), NotReady> {
    let t0 = Instant::now();
    loop {
        if let Ok(Some(_)) = guard.child.try_wait() {
            return Err(NotReady::Exited);
        }
        if listens_on(guard.child.id(), guard.port) {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", guard.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut reply = [0u8; 7];
                if s.write_all(b"*1\r\n$4\r\nPING\r\n").is_ok()
                    && s.read_exact(&mut reply).is_ok()
                    && &reply == b"+PONG\r\n"
                {
                    return Ok(());
                }
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "{} did not start on port {}", guard.name, guard.port);
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// True if process `pid` holds the socket listening on 127.0.0.1:`port` (Linux's /proc: the
/// socket's inode in /proc/net/tcp is one of the process's open files).
fn listens_on(pid: u32, port: u16) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else { return false };
    let local = format!("0100007F:{port:04X}");
    let inodes: Vec<String> = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() > 9 && f[1] == local && f[3] == "0A")
        .map(|f| format!("socket:[{}]", f[9]))
        .collect();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
    fds.flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .any(|target| inodes.iter().any(|i| target.as_os_str() == i.as_str()))
}

/// Starts a real redis-server 7.0.15 on a free loopback port with no persistence, DEBUG enabled
/// and a fresh temporary `--dir`; `args` are extra `--name value` options.
pub fn start_redis(args: &[&str]) -> ServerGuard {
    // A port can be taken between free_port and the bind: retry a few times.
    for attempt in 0..5 {
        let port = free_port();
        let dir = temp_dir(&format!("redis-{port}-{attempt}"));
        let log = dir.join("redis.log");
        let child = Command::new(tool("redis-server"))
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--enable-debug-command", "yes", "--daemonize", "no", "--logfile"])
            .arg(&log)
            .arg("--dir")
            .arg(&dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        let mut guard = ServerGuard { child, port, name: "redis", dir: Some(dir), log: Some(log) };
        match wait_until_ready(&mut guard) {
            Ok(()) => return guard,
            Err(NotReady::Exited) => continue,
        }
    }
    panic!("could not start redis-server");
}

/// Starts our `repl-lab server` (built by cargo for this test) on a free loopback port; `args`
/// are extra options such as `--config NAME VALUE`.
#[cfg(feature = "native")]
pub fn start_repl_lab(args: &[&str]) -> ServerGuard {
    spawn_repl_lab(None, None, args)
}

/// Starts our server with `--dir dir` on a free port; its log goes to a file in `dir`.
#[cfg(feature = "native")]
pub fn start_repl_lab_in(dir: &Path, args: &[&str]) -> ServerGuard {
    spawn_repl_lab(None, Some(dir), args)
}

/// Starts our server again on `port` with `--dir dir` (after a SHUTDOWN, say).
#[cfg(feature = "native")]
pub fn restart_repl_lab(port: u16, dir: &Path, args: &[&str]) -> ServerGuard {
    spawn_repl_lab(Some(port), Some(dir), args)
}

#[cfg(feature = "native")]
fn spawn_repl_lab(fixed_port: Option<u16>, dir: Option<&Path>, args: &[&str]) -> ServerGuard {
    for _ in 0..5 {
        let port = fixed_port.unwrap_or_else(free_port);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_repl-lab"));
        cmd.args(["server", "--port", &port.to_string()]).args(args).stderr(Stdio::null());
        let log = dir.map(|d| d.join(format!("repl-lab-{port}.log")));
        match (&log, dir) {
            (Some(log), Some(d)) => {
                let file = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("open log file");
                cmd.arg("--dir").arg(d).stdout(file);
            }
            _ => {
                cmd.stdout(Stdio::null());
            }
        }
        let child = cmd.spawn().expect("spawn repl-lab");
        let mut guard = ServerGuard { child, port, name: "repl-lab", dir: None, log };
        match wait_until_ready(&mut guard) {
            Ok(()) => return guard,
            Err(NotReady::Exited) => continue,
        }
    }
    panic!("could not start repl-lab server");
}

/// A temporary directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh, empty directory for `tag`, unique in this process too.
    pub fn new(tag: &str) -> TempDir {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        TempDir(temp_dir(&format!("{tag}-{}", NEXT.fetch_add(1, Ordering::SeqCst))))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `probe` every 20 ms until it returns Ok or `timeout` passes; then panics with `what`
/// and the last reason the probe gave.
pub fn wait_until<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let t0 = Instant::now();
    loop {
        match probe() {
            Ok(v) => return v,
            Err(why) if t0.elapsed() >= timeout => panic!("timed out after {timeout:?} waiting for {what}: {why}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// One RESP2 connection that sends commands and reads replies as raw bytes.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Where the unread bytes of `buf` start.
    at: usize,
    pub port: u16,
}

impl Client {
    /// Connects to 127.0.0.1:port with the read timeout [`READ_TIMEOUT`].
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(READ_TIMEOUT)).expect("set_read_timeout");
        let _ = stream.set_nodelay(true);
        Client { stream, buf: Vec::new(), at: 0, port }
    }

    /// Sends one command (an array of bulk strings) without waiting for its reply.
    pub fn send<A: AsRef<[u8]>>(&mut self, argv: &[A]) {
        let mut out = Vec::new();
        encode_command_into(argv, &mut out);
        self.send_raw(&out);
    }

    /// Sends bytes as they are (inline commands, hand-made frames).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to server");
    }

    /// Reads more bytes into the buffer; panics on timeout or a closed connection.
    fn fill(&mut self) {
        if self.at > 0 && self.at == self.buf.len() {
            self.buf.clear();
            self.at = 0;
        }
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => panic!("server on port {} closed the connection", self.port),
            Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            Err(e) => panic!("reading from port {}: {e} (no reply within {READ_TIMEOUT:?})", self.port),
        }
    }

    /// Reads one complete reply frame and returns its exact bytes.
    pub fn read_reply(&mut self) -> Vec<u8> {
        loop {
            match parse_frame(&self.buf[self.at..]) {
                Ok(Parsed::Complete(_, n)) => {
                    let bytes = self.buf[self.at..self.at + n].to_vec();
                    self.at += n;
                    return bytes;
                }
                Ok(Parsed::Incomplete) => self.fill(),
                Err(e) => panic!("port {} sent an invalid reply ({e}): {:?}", self.port, show(&self.buf[self.at..])),
            }
        }
    }

    /// Reads one reply frame, decoded.
    pub fn read_frame(&mut self) -> Frame {
        decode(&self.read_reply())
    }

    /// Reads exactly `n` raw bytes (an RDB payload).
    pub fn read_exact_bytes(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() - self.at < n {
            self.fill();
        }
        let bytes = self.buf[self.at..self.at + n].to_vec();
        self.at += n;
        bytes
    }

    /// Reads one line ending in `\r\n` (without it), skipping the bare `\n` keepalives a master
    /// sends while a replica waits for its payload.
    pub fn read_line_skipping_newlines(&mut self) -> Vec<u8> {
        loop {
            while self.at < self.buf.len() && self.buf[self.at] == b'\n' {
                self.at += 1;
            }
            if let Some(i) = self.buf[self.at..].windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[self.at..self.at + i].to_vec();
                self.at += i + 2;
                return line;
            }
            self.fill();
        }
    }

    /// Bytes received but not yet consumed.
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.at..]
    }

    /// Waits up to `wait` for more bytes and appends them to the buffer; returns how many came.
    pub fn poll(&mut self, wait: Duration) -> usize {
        self.stream.set_read_timeout(Some(wait)).expect("set_read_timeout");
        let mut chunk = [0u8; 64 * 1024];
        let n = self.stream.read(&mut chunk).unwrap_or_default();
        self.buf.extend_from_slice(&chunk[..n]);
        self.stream.set_read_timeout(Some(READ_TIMEOUT)).expect("set_read_timeout");
        n
    }

    /// Sends one command and returns its reply's bytes.
    pub fn call<A: AsRef<[u8]>>(&mut self, argv: &[A]) -> Vec<u8> {
        self.send(argv);
        self.read_reply()
    }

    /// Sends one command written as redis-cli would split it (`SET k "a b"`), returns its reply.
    pub fn cmd(&mut self, line: &str) -> Vec<u8> {
        let argv = split(line);
        self.call(&argv)
    }

    /// `INFO section` as (field, value) pairs in the order the server lists them.
    pub fn info(&mut self, section: &str) -> Vec<(String, String)> {
        let Frame::Bulk(text) = self.read_frame_of(&["INFO", section]) else {
            panic!("INFO {section} on port {} is not a bulk string", self.port);
        };
        String::from_utf8_lossy(&text)
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// One field of `INFO section`, if the server lists it now (`slave0` only once a replica
    /// is connected).
    pub fn info_field_opt(&mut self, section: &str, field: &str) -> Option<String> {
        self.info(section).into_iter().find(|(k, _)| k == field).map(|(_, v)| v)
    }

    /// One field of `INFO section`; panics, naming it, if the server does not list it (a
    /// misspelled field must not read as an empty string an assertion could accept).
    pub fn info_field(&mut self, section: &str, field: &str) -> String {
        let port = self.port;
        self.info_field_opt(section, field)
            .unwrap_or_else(|| panic!("INFO {section} on port {port} has no field {field:?}"))
    }

    /// An integer field of `INFO section`; panics if it is missing or not an integer.
    pub fn info_int(&mut self, section: &str, field: &str) -> i64 {
        let v = self.info_field(section, field);
        v.parse().unwrap_or_else(|_| panic!("INFO {section} field {field} on port {} is {v:?}", self.port))
    }

    /// Sends one command and returns its decoded reply.
    pub fn read_frame_of<A: AsRef<[u8]>>(&mut self, argv: &[A]) -> Frame {
        decode(&self.call(argv))
    }

    /// Sends every command at once, then reads one reply per command.
    pub fn pipeline<A: AsRef<[u8]>>(&mut self, cmds: &[Vec<A>]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for c in cmds {
            encode_command_into(c, &mut out);
        }
        self.send_raw(&out);
        cmds.iter().map(|_| self.read_reply()).collect()
    }
}

/// Splits a line as redis-cli does (quotes, `\x41` escapes).
pub fn split(line: &str) -> Vec<Vec<u8>> {
    redis_repl_lab::resp::split_args(line.as_bytes()).unwrap_or_else(|e| panic!("bad line {line:?}: {e:?}"))
}

/// Decodes the bytes of one complete reply.
pub fn decode(bytes: &[u8]) -> Frame {
    match parse_frame(bytes) {
        Ok(Parsed::Complete(f, _)) => f,
        other => panic!("not one complete reply: {other:?} in {:?}", show(bytes)),
    }
}

/// Bytes as a readable escaped string (`*2\r\n$1\r\na...`), cut to a sensible length.
pub fn show(bytes: &[u8]) -> String {
    let s: String = bytes.escape_ascii().to_string();
    if s.len() > 400 {
        format!("{}...({} bytes)", &s[..400], bytes.len())
    } else {
        s
    }
}

/// A command line for messages: arguments joined by spaces, quoted when needed.
pub fn show_argv<A: AsRef<[u8]>>(argv: &[A]) -> String {
    argv.iter()
        .map(|a| {
            let a = a.as_ref();
            if a.is_empty() || a.iter().any(|&b| b <= b' ' || b == b'"' || b >= 0x7f) {
                format!("\"{}\"", a.escape_ascii())
            } else {
                String::from_utf8_lossy(a).into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// How long the interop tests wait for a sync, a reconnection or a catch-up.
pub const SYNC_WAIT: Duration = Duration::from_secs(20);

/// Waits until the replica behind `c` has its link to its master up.
pub fn wait_link_up(c: &mut Client) {
    wait_until("the link to the master to be up", SYNC_WAIT, || {
        match c.info_field("replication", "master_link_status").as_str() {
            "up" => Ok(()),
            other => Err(format!("master_link_status:{other}")),
        }
    });
}

/// Waits until the master behind `c` has streamed `bytes` more (a writer thread is writing).
pub fn wait_offset_growth(c: &mut Client, bytes: i64) {
    let from = c.info_int("replication", "master_repl_offset");
    wait_until("the writer to write", SYNC_WAIT, || match c.info_int("replication", "master_repl_offset") {
        off if off >= from + bytes => Ok(()),
        off => Err(format!("offset {off}, was {from}")),
    });
}

/// The tests' one seeded generator: the engine's own (ChaCha8 from `rand_chacha`), behind the few
/// draws the workloads and generated datasets need, so a seed gives the same run everywhere.
pub struct Rng(ChaCha8Rng);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }

    pub fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// A signed number in `lo..=hi`.
    pub fn range_i64(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below(hi.abs_diff(lo) + 1) as i64
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Writes of every type in several databases, expiries included (short ones that expire during
/// a test, long ones that do not), transactions, and the commands Redis rewrites on the wire.
/// Each type has its own key prefix, so no command meets a key of the wrong type.
pub struct Workload {
    rng: Rng,
    /// Bytes of padding in string values (the load per command).
    pub value_size: usize,
}

impl Workload {
    /// A workload from `seed` with values of about `value_size` bytes.
    pub fn new(seed: u64, value_size: usize) -> Workload {
        Workload { rng: Rng::new(seed), value_size }
    }

    /// The next batch: usually one command, a whole MULTI ... EXEC now and then.
    pub fn next_batch(&mut self) -> Vec<Vec<String>> {
        let r = &mut self.rng;
        let k = r.below(40);
        let m = r.below(30);
        let pad = "x".repeat(self.value_size.saturating_sub(8));
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let cmd = match r.below(30) {
            0 => s(&["SELECT", ["0", "1", "7", "15"][r.below(4) as usize]]),
            1 | 2 => s(&["SET", &format!("s:{k}"), &format!("v{m}:{pad}")]),
            3 => s(&["SET", &format!("s:{k}"), &format!("v{m}"), "EX", "100000"]),
            4 => s(&["SET", &format!("e:{k}"), "short", "PX", &(200 + r.below(600)).to_string()]),
            5 => s(&["APPEND", &format!("s:{k}"), "+a"]),
            6 => s(&["INCR", &format!("n:{k}")]),
            7 => s(&["INCRBYFLOAT", &format!("f:{k}"), "1.5"]),
            8 => s(&["RPUSH", &format!("l:{k}"), &format!("a{m}"), &format!("b{m}")]),
            9 => s(&["LPUSH", &format!("l:{k}"), &format!("{m}")]),
            10 => s(&["LPOP", &format!("l:{k}")]),
            11 => s(&["LTRIM", &format!("l:{k}"), "0", "30"]),
            12 => s(&["HSET", &format!("h:{k}"), &format!("f{m}"), &format!("v{m}"), "g", &pad]),
            13 => s(&["HDEL", &format!("h:{k}"), &format!("f{m}")]),
            14 => s(&["HINCRBY", &format!("h:{k}"), "count", "3"]),
            15 => s(&["SADD", &format!("S:{k}"), &format!("m{m}"), &format!("{m}")]),
            16 => s(&["SADD", &format!("I:{k}"), &m.to_string(), &(m * 1000).to_string()]),
            17 => s(&["SREM", &format!("S:{k}"), &format!("m{m}")]),
            18 => s(&["SPOP", &format!("I:{k}")]),
            19 => s(&["ZADD", &format!("z:{k}"), &(m as f64 / 4.0).to_string(), &format!("m{m}")]),
            20 => s(&["ZINCRBY", &format!("z:{k}"), "2.5", &format!("m{m}")]),
            21 => s(&["ZPOPMIN", &format!("z:{k}")]),
            22 => s(&["EXPIRE", &format!("h:{k}"), "100000"]),
            23 => s(&["PEXPIRE", &format!("s:{k}"), &(100 + r.below(700)).to_string()]),
            24 => s(&["PERSIST", &format!("h:{k}")]),
            25 => s(&["DEL", &format!("s:{k}"), &format!("n:{k}")]),
            26 => s(&["LMOVE", &format!("l:{k}"), &format!("l:{m}"), "LEFT", "RIGHT"]),
            27 => s(&["GETSET", &format!("s:{m}"), &format!("g{k}")]),
            28 => s(&["SETEX", &format!("x:{k}"), "100000", &format!("v{m}")]),
            _ => {
                return vec![
                    s(&["MULTI"]),
                    s(&["INCR", &format!("n:{k}")]),
                    s(&["RPUSH", &format!("l:{k}"), "tx"]),
                    s(&["ZADD", &format!("z:{m}"), "1", "tx"]),
                    s(&["EXEC"]),
                ]
            }
        };
        vec![cmd]
    }

    /// About `n` commands, whole transactions kept together.
    pub fn commands(&mut self, n: usize) -> Vec<Vec<String>> {
        let mut out = Vec::with_capacity(n + 4);
        while out.len() < n {
            out.extend(self.next_batch());
        }
        out
    }
}

/// Sends commands in pipelined batches and panics on any error reply.
pub fn write_all(c: &mut Client, cmds: &[Vec<String>]) {
    for batch in cmds.chunks(64) {
        for (cmd, reply) in batch.iter().zip(c.pipeline(batch)) {
            assert!(!reply.starts_with(b"-"), "{} on port {} failed: {}", show_argv(cmd), c.port, show(&reply));
        }
    }
}

/// A thread that writes a [`Workload`] to a server until stopped: the "load" of the tests.
/// It writes 32 commands at a time with a 2 ms pause between batches (about 10,000 commands a
/// second): steady load that a debug build of our node can apply as a replica, since a real
/// master left unpaced outruns it and any backlog.
pub struct Writer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<usize>>,
}

impl Writer {
    /// Starts writing to `port` from `seed`.
    pub fn start(port: u16, seed: u64, value_size: usize) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut c = Client::connect(port);
            let mut w = Workload::new(seed, value_size);
            let mut written = 0;
            while !flag.load(Ordering::SeqCst) {
                let cmds = w.commands(32);
                write_all(&mut c, &cmds);
                written += cmds.len();
                std::thread::sleep(Duration::from_millis(2));
            }
            written
        });
        Writer { stop, handle: Some(handle) }
    }

    /// Stops the thread; returns how many commands it wrote (it panics the test if the
    /// writer failed).
    pub fn stop(mut self) -> usize {
        self.finish().unwrap_or_else(|e| panic!("the writer thread failed: {e}"))
    }

    fn finish(&mut self) -> Result<usize, String> {
        self.stop.store(true, Ordering::SeqCst);
        match self.handle.take().map(|h| h.join()) {
            Some(Ok(n)) => Ok(n),
            Some(Err(e)) => Err(e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()),
            None => Ok(0),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// The whole dataset of a server, key by key: `db:key` → `type value (expire at ms)`, with
/// hashes and sets listed in sorted order (their order in a server is its own affair).
pub fn dataset(c: &mut Client) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let bulk = |f: &Frame| match f {
        Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        other => format!("{other:?}"),
    };
    let list = |f: Frame| match f {
        Frame::Array(items) => items.iter().map(bulk).collect::<Vec<_>>(),
        other => panic!("expected an array, got {other:?}"),
    };
    for db in 0..16 {
        c.call(&["SELECT", &db.to_string()]);
        for key in list(c.read_frame_of(&["KEYS", "*"])) {
            let Frame::Simple(kind) = c.read_frame_of(&["TYPE", &key]) else { continue };
            let value = match kind.as_str() {
                "string" => bulk(&c.read_frame_of(&["GET", &key])),
                "list" => list(c.read_frame_of(&["LRANGE", &key, "0", "-1"])).join(","),
                "hash" => {
                    let flat = list(c.read_frame_of(&["HGETALL", &key]));
                    let mut pairs: Vec<String> = flat.chunks(2).map(|p| p.join("=")).collect();
                    pairs.sort();
                    pairs.join(",")
                }
                "set" => {
                    let mut m = list(c.read_frame_of(&["SMEMBERS", &key]));
                    m.sort();
                    m.join(",")
                }
                "zset" => list(c.read_frame_of(&["ZRANGE", &key, "0", "-1", "WITHSCORES"])).join(","),
                "none" => continue, // expired between KEYS and TYPE
                other => format!("<{other}>"),
            };
            let Frame::Integer(at) = c.read_frame_of(&["PEXPIRETIME", &key]) else { continue };
            out.insert(format!("{db}:{key}"), format!("{kind} {value} (expires {at})"));
        }
    }
    c.call(&["SELECT", "0"]);
    out
}

/// What differs between two datasets, for a failure message (at most a few keys).
pub fn dataset_diff(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> String {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let diffs: Vec<String> = keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .take(5)
        .map(|k| format!("{k}: {:?} vs {:?}", a.get(k), b.get(k)))
        .collect();
    format!("{} vs {} keys; first differences: {}", a.len(), b.len(), diffs.join("; "))
}

/// Waits until two servers hold the same dataset and the same `master_repl_offset`, and it
/// stays so across two reads (the replica is caught up and nothing is in flight).
pub fn wait_converged(master: u16, replica: u16, timeout: Duration) -> BTreeMap<String, String> {
    let (mut m, mut r) = (Client::connect(master), Client::connect(replica));
    wait_until("the replica to hold the master's dataset and offset", timeout, || {
        let off = m.info_int("replication", "master_repl_offset");
        let (dm, dr) = (dataset(&mut m), dataset(&mut r));
        let roff = r.info_int("replication", "master_repl_offset");
        if dm != dr {
            return Err(dataset_diff(&dm, &dr));
        }
        if off != roff || off != m.info_int("replication", "master_repl_offset") {
            return Err(format!("offsets {off} (master) and {roff} (replica)"));
        }
        Ok(dm)
    })
}

/// The bytes a [`Proxy`] saw on one connection.
#[derive(Clone, Debug, Default)]
pub struct Recording {
    /// From the connecting side (a replica) to the server (its master).
    pub to_server: Vec<u8>,
    /// From the server back.
    pub to_client: Vec<u8>,
}

/// A loopback TCP proxy in front of `target`: every accepted connection is forwarded, one
/// thread per direction, and its bytes are recorded. Dropping it closes everything.
pub struct Proxy {
    /// The port to connect to instead of the target's.
    pub port: u16,
    recordings: Arc<Mutex<Vec<Arc<Mutex<Recording>>>>>,
    sockets: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
}

fn pump(mut from: TcpStream, mut to: TcpStream, rec: Arc<Mutex<Recording>>, to_server: bool) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                {
                    let mut r = rec.lock().expect("recording lock");
                    let side = if to_server { &mut r.to_server } else { &mut r.to_client };
                    side.extend_from_slice(&buf[..n]);
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

impl Proxy {
    /// Starts a proxy to 127.0.0.1:target on a free port.
    pub fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let recordings: Arc<Mutex<Vec<Arc<Mutex<Recording>>>>> = Arc::default();
        let sockets: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (recs, socks, flag) = (Arc::clone(&recordings), Arc::clone(&sockets), Arc::clone(&stop));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue; // the client sees its connection closed, as with a dead master
                };
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let rec = Arc::new(Mutex::new(Recording::default()));
                recs.lock().expect("recordings lock").push(Arc::clone(&rec));
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else { continue };
                {
                    let mut all = socks.lock().expect("sockets lock");
                    all.extend(client.try_clone().ok());
                    all.extend(server.try_clone().ok());
                }
                let rec2 = Arc::clone(&rec);
                std::thread::spawn(move || pump(client, server, rec, true));
                std::thread::spawn(move || pump(s2, c2, rec2, false));
            }
        });
        Proxy { port, recordings, sockets, stop }
    }

    /// What each connection carried so far, in the order they were accepted.
    pub fn recordings(&self) -> Vec<Recording> {
        let all = self.recordings.lock().expect("recordings lock");
        all.iter().map(|r| r.lock().expect("recording lock").clone()).collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept loop
        for s in self
            .sockets
            .lock()
            .map(|s| s.iter().filter_map(|s| s.try_clone().ok()).collect::<Vec<_>>())
            .unwrap_or_default()
        {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}
