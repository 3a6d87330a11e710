//! Shared helpers for the oracle tests: start a real redis-server and our `repl-lab server` on free
//! loopback ports, stop them by pid whatever happens (a Drop guard), and talk RESP to them with a
//! tiny client that returns each reply as the exact bytes the server wrote.
//!
//! Every oracle test file includes this with `mod common;`; not every file uses every helper.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

/// A server process that is killed (by its pid) when dropped, on success and on panic alike.
pub struct ServerGuard {
    child: Child,
    /// The loopback port it listens on.
    pub port: u16,
    /// What it is, for messages: "redis" or "repl-lab".
    pub name: &'static str,
    dir: Option<PathBuf>,
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
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn wait_until_ready(guard: &mut ServerGuard) {
    let t0 = Instant::now();
    loop {
        if let Ok(Some(status)) = guard.child.try_wait() {
            panic!("{} on port {} exited at start-up: {status}", guard.name, guard.port);
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", guard.port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut reply = [0u8; 7];
            if s.write_all(b"*1\r\n$4\r\nPING\r\n").is_ok()
                && s.read_exact(&mut reply).is_ok()
                && &reply == b"+PONG\r\n"
            {
                return;
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "{} did not start on port {}", guard.name, guard.port);
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts a real redis-server 7.0.15 on a free loopback port with no persistence, DEBUG enabled
/// and a fresh temporary `--dir`; `args` are extra `--name value` options.
pub fn start_redis(args: &[&str]) -> ServerGuard {
    // A port can be taken between free_port and the bind: retry a few times.
    for attempt in 0..5 {
        let port = free_port();
        let dir = temp_dir(&format!("redis-{port}-{attempt}"));
        let child = Command::new(tool("redis-server"))
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--enable-debug-command", "yes", "--daemonize", "no", "--logfile", ""])
            .arg("--dir")
            .arg(&dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        let mut guard = ServerGuard { child, port, name: "redis", dir: Some(dir) };
        if let Ok(Some(_)) = guard.child.try_wait() {
            continue;
        }
        std::thread::sleep(Duration::from_millis(10));
        if let Ok(Some(_)) = guard.child.try_wait() {
            continue;
        }
        wait_until_ready(&mut guard);
        return guard;
    }
    panic!("could not start redis-server");
}

/// Starts our `repl-lab server` (built by cargo for this test) on a free loopback port; `args`
/// are extra options such as `--config NAME VALUE`.
#[cfg(feature = "native")]
pub fn start_repl_lab(args: &[&str]) -> ServerGuard {
    for _ in 0..5 {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_repl-lab"))
            .args(["server", "--port", &port.to_string()])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn repl-lab");
        let mut guard = ServerGuard { child, port, name: "repl-lab", dir: None };
        std::thread::sleep(Duration::from_millis(10));
        if let Ok(Some(_)) = guard.child.try_wait() {
            continue;
        }
        wait_until_ready(&mut guard);
        return guard;
    }
    panic!("could not start repl-lab server");
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
