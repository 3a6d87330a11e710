//! The native TCP adapter: one engine node behind real sockets, so redis-cli, any Redis client
//! and real redis-servers can talk to it, as master or as replica.
//!
//! It is a thin shell over the same sans-IO [`Node`] the page runs: sockets become inputs, outputs
//! become writes, connects and closes, and the wall clock (read here, never in the engine) is
//! passed in as the node's time. Each socket has a reader thread and a writer thread; the node
//! itself lives on one thread that waits on a channel until the next input or its next deadline.
//!
//! The shell also owns what only a process has: the files in `--dir` (the node's `dump.rdb` is
//! written whenever the engine saves one, by SAVE, BGSAVE, SHUTDOWN or a replica's full sync,
//! and loaded at start-up with its replication id and offset, so a restarted node can PSYNC as
//! REDIS-REPLICATION.md §5.8 describes) and the exit that ends a SHUTDOWN.

pub mod proxy;
pub mod replay;

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::node::replication::ReplConfig;
use crate::node::{ConnId, Micros, Node, NodeConfig, Output, Persisted};

/// How to run a server.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Address to bind (127.0.0.1 unless told otherwise).
    pub bind: String,
    /// Port to listen on.
    pub port: u16,
    /// `--replicaof host port`.
    pub replicaof: Option<(String, u16)>,
    /// `--config name value` pairs, applied as CONFIG SET would.
    pub configs: Vec<(String, String)>,
    /// `--dir DIR`: where `dump.rdb` is loaded from and saved to. Without it the node keeps its
    /// saves in memory only (and SHUTDOWN saves nothing), so tests never litter a directory.
    pub dir: Option<PathBuf>,
}

/// Why a server could not start or had to stop.
#[derive(Debug)]
pub enum ServerError {
    /// The listening socket could not be bound.
    Bind(io::Error),
    /// A `--config` setting was refused (Redis's CONFIG SET wording).
    Config(String),
    /// `--dir` is not a directory we can use.
    Dir(PathBuf, io::Error),
    /// `dump.rdb` exists but could not be read or loaded.
    Load(PathBuf, String),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Bind(e) => write!(f, "Could not create server TCP listening socket: {e}"),
            ServerError::Config(e) => write!(f, "{e}"),
            ServerError::Dir(p, e) => write!(f, "Can't chdir to '{}': {e}", p.display()),
            ServerError::Load(p, e) => write!(f, "Fatal error loading the DB ({}): {e}. Exiting.", p.display()),
        }
    }
}

impl std::error::Error for ServerError {}

enum Msg {
    Accepted(TcpStream),
    Data(ConnId, Vec<u8>),
    Closed(ConnId),
    Connected(ConnId, TcpStream),
    ConnectFailed(ConnId, String),
    /// A writer handed this many bytes of the connection to the kernel.
    Drained(ConnId, usize),
}

/// `25 Nov 2026 06:04:45.713`, as Redis stamps its log lines (UTC here).
fn timestamp(unix_ms: u64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = unix_ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rem / 3600, rem / 60 % 60, rem % 60);
    format!("{day} {} {year} {h:02}:{m:02}:{s:02}.{:03}", MONTHS[(month - 1) as usize], unix_ms % 1000)
}

fn unix_now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

fn spawn_reader(conn: ConnId, mut stream: TcpStream, tx: Sender<Msg>) {
    thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Msg::Closed(conn));
                    return;
                }
                Ok(n) => {
                    if tx.send(Msg::Data(conn, buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

/// A writer thread writes what it is given, in order, and reports each write the kernel took
/// (the node's flow control: a replica that does not read fills its socket, then the shared
/// replication buffer, where the output-buffer limits see it). Dropping its sender closes the
/// socket once everything queued is written. `live` counts the writers still running, so the
/// process can let them finish before it exits.
fn spawn_writer(conn: ConnId, mut stream: TcpStream, live: &Arc<AtomicUsize>, node: Sender<Msg>) -> Sender<Vec<u8>> {
    let (tx, rx): (Sender<Vec<u8>>, Receiver<Vec<u8>>) = channel();
    let live = Arc::clone(live);
    live.fetch_add(1, Ordering::SeqCst);
    thread::spawn(move || {
        for data in rx {
            if stream.write_all(&data).is_err() {
                break;
            }
            // The node thread may be gone at exit; nothing then needs the report.
            let _ = node.send(Msg::Drained(conn, data.len()));
        }
        let _ = stream.shutdown(Shutdown::Both);
        live.fetch_sub(1, Ordering::SeqCst);
    });
    tx
}

/// Writes `dump.rdb` the way Redis does: a temporary file first, then an atomic rename.
fn write_dump(dir: &Path, data: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join("dump.rdb"))
}

/// Bytes a connection's writer thread may hold that the kernel has not taken yet.
const WRITER_QUEUE: usize = 64 * 1024;

/// Builds the node: the `--config` settings are checked on a scratch node first (so the typed
/// replication settings, such as the backlog size, are in place when a loaded RDB creates the
/// backlog), then the node starts from `dump.rdb` if there is one, and the settings are applied.
fn build_node(opts: &ServerOptions, epoch: i64) -> Result<Node, ServerError> {
    let mut cfg = NodeConfig {
        name: format!("{}:{}", opts.bind, opts.port),
        host: opts.bind.clone(),
        port: opts.port,
        repl: ReplConfig::default(),
        epoch_unix_ms: epoch,
    };
    let seed = epoch as u64 ^ (u64::from(std::process::id()) << 32);
    let mut scratch = Node::new(cfg.clone(), seed, 0);
    for (name, value) in &opts.configs {
        scratch.config_set(name, value).map_err(ServerError::Config)?;
    }
    cfg.repl = scratch.cfg.repl.clone();
    let disk = match &opts.dir {
        Some(dir) => {
            std::fs::read_dir(dir).map_err(|e| ServerError::Dir(dir.clone(), e))?;
            let path = dir.join("dump.rdb");
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let file = crate::rdb::read_rdb(&bytes).map_err(|e| ServerError::Load(path.clone(), e.reason))?;
                    Some((Ok(file), bytes))
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(ServerError::Load(path, e.to_string())),
            }
        }
        None => None,
    };
    let mut node = Node::restart_loaded(cfg, seed, 0, disk, opts.replicaof.clone());
    // What the node may have queued in a writer thread beyond what the kernel took; the kernel's
    // own socket buffers come on top, as they do for Redis.
    node.set_socket_buffer(Some(WRITER_QUEUE));
    // Without --dir there is nowhere to write: a plain SHUTDOWN does not save.
    node.persistence.keeps_files = opts.dir.is_some();
    for (name, value) in &opts.configs {
        node.config_set(name, value).map_err(ServerError::Config)?;
    }
    Ok(node)
}

/// One running server: the node and the sockets around it.
struct Server {
    node: Node,
    start: Instant,
    tx: Sender<Msg>,
    writers: HashMap<ConnId, Sender<Vec<u8>>>,
    live_writers: Arc<AtomicUsize>,
    dir: Option<PathBuf>,
    /// The node asked to exit (SHUTDOWN finished).
    exited: bool,
}

impl Server {
    fn now(&self) -> Micros {
        self.start.elapsed().as_micros() as Micros
    }

    /// Acts on everything the node asked for.
    fn drain_outputs(&mut self) {
        while let Some(out) = self.node.poll_output() {
            match out {
                Output::Send { conn, data, .. } => {
                    if let Some(w) = self.writers.get(&conn) {
                        let _ = w.send(data);
                    }
                }
                Output::Close { conn } => {
                    self.writers.remove(&conn);
                }
                // A real server has no learner to tell.
                Output::Note(_) => {}
                Output::Persist { data, .. } => {
                    let answer = match &self.dir {
                        Some(dir) => match write_dump(dir, &data) {
                            Ok(()) => Persisted::Written,
                            Err(e) => Persisted::Failed(e.to_string()),
                        },
                        None => Persisted::Discarded,
                    };
                    self.node.persisted(answer);
                }
                Output::Exit => self.exited = true,
                Output::Connect { conn, host, port } => {
                    let tx = self.tx.clone();
                    thread::spawn(move || {
                        let msg = match TcpStream::connect((host.as_str(), port)) {
                            Ok(s) => Msg::Connected(conn, s),
                            Err(e) => Msg::ConnectFailed(conn, e.to_string()),
                        };
                        let _ = tx.send(msg);
                    });
                }
            }
        }
    }

    /// Prints the node's log lines as Redis prints them: `pid:role date level text`.
    fn flush_logs(&mut self) {
        let role = if self.node.master_addr().is_none() { 'M' } else { 'S' };
        let mut out = io::stdout().lock();
        while let Some(l) = self.node.poll_log() {
            let _ = writeln!(out, "{}:{role} {} {} {}", std::process::id(), timestamp(unix_now_ms()), l.level, l.text);
        }
        let _ = out.flush();
    }

    /// After the node exited: a best-effort flush of what the sockets still hold
    /// (`flushSlavesOutputBuffers`), for at most two seconds.
    fn flush_writers(&mut self) {
        self.writers.clear();
        let t0 = Instant::now();
        while self.live_writers.load(Ordering::SeqCst) > 0 && t0.elapsed() < Duration::from_secs(2) {
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn attach(&mut self, conn: ConnId, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        if let Ok(r) = stream.try_clone() {
            spawn_reader(conn, r, self.tx.clone());
        }
        self.writers.insert(conn, spawn_writer(conn, stream, &self.live_writers, self.tx.clone()));
    }

    fn handle(&mut self, msg: Msg) {
        let t = self.now();
        match msg {
            Msg::Accepted(stream) => {
                let Ok(peer) = stream.peer_addr() else {
                    return; // reset before we looked at it
                };
                let conn = self.node.accept(t, &peer.ip().to_string(), peer.port());
                self.attach(conn, stream);
            }
            Msg::Data(conn, data) => self.node.receive(t, conn, &data),
            Msg::Closed(conn) => {
                self.writers.remove(&conn);
                self.node.closed(t, conn);
            }
            Msg::Connected(conn, stream) => {
                // The node may have given up on this connection meanwhile (REPLICAOF elsewhere).
                if self.node.conns.contains_key(&conn) {
                    self.attach(conn, stream);
                    self.node.connected(t, conn);
                }
            }
            Msg::ConnectFailed(conn, e) => self.node.connect_failed(t, conn, &e),
            Msg::Drained(conn, n) => {
                self.node.drained(t, conn, n);
            }
        }
    }
}

/// Runs a server until SHUTDOWN (or until the process is killed).
pub fn run(opts: ServerOptions) -> Result<(), ServerError> {
    let listener = TcpListener::bind((opts.bind.as_str(), opts.port)).map_err(ServerError::Bind)?;
    let start = Instant::now();
    let epoch = unix_now_ms() as i64;
    let node = build_node(&opts, epoch)?;
    let (tx, rx) = channel::<Msg>();
    let accept_tx = tx.clone();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if accept_tx.send(Msg::Accepted(stream)).is_err() {
                return;
            }
        }
    });
    let mut server = Server {
        node,
        start,
        tx,
        writers: HashMap::new(),
        live_writers: Arc::new(AtomicUsize::new(0)),
        dir: opts.dir.clone(),
        exited: false,
    };
    loop {
        // Crons run on time even when inputs never stop coming.
        let t = server.now();
        if t >= server.node.next_deadline() {
            server.node.tick(t);
        }
        server.drain_outputs();
        server.flush_logs();
        if server.exited {
            server.flush_writers();
            return Ok(());
        }
        let wait = server.node.next_deadline().saturating_sub(server.now());
        match rx.recv_timeout(Duration::from_micros(wait)) {
            Ok(msg) => server.handle(msg),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_read_like_redis_logs() {
        assert_eq!(super::timestamp(1_795_586_685_714), "25 Nov 2026 06:04:45.714");
        assert_eq!(super::timestamp(951_782_400_000), "29 Feb 2000 00:00:00.000");
    }
}
