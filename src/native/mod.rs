//! The native TCP adapter: one engine node behind real sockets, so redis-cli, any Redis client
//! and real redis-servers can talk to it.
//!
//! It is a thin shell over the same sans-IO [`Node`] the page runs: sockets become inputs, outputs
//! become writes, connects and closes, and the wall clock (read here, never in the engine) is
//! passed in as the node's time. Each socket has a reader thread and a writer thread; the node
//! itself lives on one thread that waits on a channel until the next input or its next deadline.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::node::{ConnId, Micros, Node, NodeConfig, Output};
use crate::replication::ReplConfig;

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
}

enum Msg {
    Accepted(TcpStream),
    Data(ConnId, Vec<u8>),
    Closed(ConnId),
    Connected(ConnId, TcpStream),
    ConnectFailed(ConnId, String),
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

fn log_line(role: char, text: &str) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
    println!("{}:{role} {} {text}", std::process::id(), timestamp(now));
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

fn spawn_writer(mut stream: TcpStream) -> Sender<Vec<u8>> {
    let (tx, rx): (Sender<Vec<u8>>, Receiver<Vec<u8>>) = channel();
    thread::spawn(move || {
        for data in rx {
            if stream.write_all(&data).is_err() {
                break;
            }
        }
        let _ = stream.shutdown(Shutdown::Both);
    });
    tx
}

/// Runs a server until the process is killed (or SHUTDOWN arrives, once implemented).
pub fn run(opts: ServerOptions) -> io::Result<()> {
    let listener = TcpListener::bind((opts.bind.as_str(), opts.port))?;
    let start = Instant::now();
    let epoch = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let cfg = NodeConfig {
        name: format!("{}:{}", opts.bind, opts.port),
        host: opts.bind.clone(),
        port: opts.port,
        repl: ReplConfig::default(),
        epoch_unix_ms: epoch,
    };
    let seed = epoch as u64 ^ ((std::process::id() as u64) << 32);
    let mut node = Node::new(cfg, seed, 0);
    for (name, value) in &opts.configs {
        node.config_set(name, value).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    }
    let (tx, rx) = channel::<Msg>();
    let accept_tx = tx.clone();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if accept_tx.send(Msg::Accepted(stream)).is_err() {
                return;
            }
        }
    });
    let now = || start.elapsed().as_micros() as Micros;
    if let Some((h, p)) = &opts.replicaof {
        node.replicaof_at_startup(h, *p);
    }
    let mut writers: HashMap<ConnId, Sender<Vec<u8>>> = HashMap::new();
    loop {
        // Act on everything the node asked for.
        while let Some(out) = node.poll_output() {
            match out {
                Output::Send { conn, data } => {
                    if let Some(w) = writers.get(&conn) {
                        let _ = w.send(data);
                    }
                }
                Output::Close { conn } => {
                    writers.remove(&conn);
                }
                Output::Connect { conn, host, port } => {
                    let tx = tx.clone();
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
        let role = if node.view().role == "master" { 'M' } else { 'S' };
        while let Some(l) = node.poll_log() {
            log_line(role, &format!("{} {}", l.level, l.text));
            let _ = io::stdout().flush();
        }
        let wait = node.next_deadline().saturating_sub(now());
        let msg = match rx.recv_timeout(Duration::from_micros(wait)) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => {
                node.tick(now());
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        let t = now();
        match msg {
            Msg::Accepted(stream) => {
                let peer = stream.peer_addr()?;
                let _ = stream.set_nodelay(true);
                let conn = node.accept(t, &peer.ip().to_string(), peer.port());
                if let Ok(r) = stream.try_clone() {
                    spawn_reader(conn, r, tx.clone());
                }
                writers.insert(conn, spawn_writer(stream));
            }
            Msg::Data(conn, data) => node.receive(t, conn, &data),
            Msg::Closed(conn) => {
                writers.remove(&conn);
                node.closed(t, conn);
            }
            Msg::Connected(conn, stream) => {
                let _ = stream.set_nodelay(true);
                if let Ok(r) = stream.try_clone() {
                    spawn_reader(conn, r, tx.clone());
                }
                writers.insert(conn, spawn_writer(stream));
                node.connected(t, conn);
            }
            Msg::ConnectFailed(conn, e) => node.connect_failed(t, conn, &e),
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
