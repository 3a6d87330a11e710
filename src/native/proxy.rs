//! A fault proxy for real TCP links: what the simulator's links do, done to real sockets, so a
//! lab run can be replayed on real redis-server processes (issue 15's `repl-lab replay`).
//!
//! A [`Proxy`] listens on a loopback port and relays every connection it accepts to one target
//! port, byte for byte, in both directions, with the lab's link faults applied:
//! - **cut**: every current connection is closed on both sides at once (as `cut A B`): bytes in
//!   flight are lost, both ends see the connection go away, new connections are accepted;
//! - **hold** (a partition): nothing is forwarded and nothing is lost; bytes wait in the proxy
//!   and flow again, in order, when the hold ends (the peers see silence, as across a
//!   partition, and their own timeouts decide what happens);
//! - **latency**: each chunk is delivered that long after it was read;
//! - **bandwidth**: delivery is paced to so many bytes a second.
//!
//! Each direction of each connection is one thread that reads, stamps and queues chunks, and
//! one that delivers them when due; the settings are read at delivery time, so a change applies
//! to bytes already queued.
//!
//! A slow link must push back on its sender as a real one does, or a master would see a whole
//! RDB "sent" at once. So the proxy's sockets have small receive buffers and Ethernet's segment
//! size, and each direction queues at most [`QUEUE_LIMIT`] bytes, after which the sender's
//! writes wait (and its output buffer grows), as in the lab. What the proxy cannot bound is the
//! sender's own kernel buffer: Linux sizes it itself (about 570 KB was measured under a master
//! sending an RDB at 64 KB/s, where the lab's sender buffer is 256 KB), so on real servers a
//! transfer looks finished to the sender sooner than in the lab.
//!
//! A proxy whose target is down ([`Proxy::set_listening`]`(false)`) stops listening, so a
//! replica trying to connect gets *connection refused*, as it would from the stopped server,
//! not a connection that opens and closes.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

/// The most bytes one direction holds before the proxy stops reading from the sender.
pub const QUEUE_LIMIT: usize = 32 * 1024;
/// The receive buffer of the proxy's sockets (the kernel may round it).
const RECEIVE_BUFFER: usize = 16 * 1024;

/// What the proxy does to the bytes it relays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkFaults {
    /// One-way delay.
    pub latency: Duration,
    /// Bytes per second; 0 is unlimited.
    pub bandwidth: u64,
    /// A partition: bytes wait in the proxy until it ends.
    pub hold: bool,
}

impl Default for LinkFaults {
    fn default() -> Self {
        LinkFaults { latency: Duration::ZERO, bandwidth: 0, hold: false }
    }
}

/// One direction's queue: chunks with the time they were read, and whether the sender is done.
#[derive(Default)]
struct Queue {
    chunks: VecDeque<(Instant, Vec<u8>)>,
    /// The bytes in `chunks`.
    bytes: usize,
    ended: bool,
}

struct Pipe {
    queue: Mutex<Queue>,
    ready: Condvar,
}

struct Shared {
    faults: Mutex<LinkFaults>,
    changed: Condvar,
    /// Bumped by each cut: a connection from an older generation closes.
    generation: AtomicU64,
    /// Every connection's two sockets, to close them on a cut.
    sockets: Mutex<Vec<(u64, TcpStream, TcpStream)>>,
    stopped: AtomicBool,
    /// Whether the proxy accepts connections (false while its target is down).
    listening: Mutex<bool>,
    listen_changed: Condvar,
    relayed: AtomicU64,
}

/// A running proxy; dropping it stops it and closes its connections.
pub struct Proxy {
    port: u16,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Listens on `127.0.0.1:<free port>` and relays to `127.0.0.1:target`.
    pub fn start(target: u16) -> io::Result<Proxy> {
        Proxy::start_on(0, target)
    }

    /// Listens on `127.0.0.1:port` (0: a free port) and relays to `127.0.0.1:target`.
    pub fn start_on(port: u16, target: u16) -> io::Result<Proxy> {
        let listener = listen(SocketAddr::from(([127, 0, 0, 1], port)))?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            faults: Mutex::new(LinkFaults::default()),
            changed: Condvar::new(),
            generation: AtomicU64::new(0),
            sockets: Mutex::new(Vec::new()),
            stopped: AtomicBool::new(false),
            listening: Mutex::new(true),
            listen_changed: Condvar::new(),
            relayed: AtomicU64::new(0),
        });
        let s = Arc::clone(&shared);
        thread::spawn(move || accept_loop(listener, port, target, &s));
        Ok(Proxy { port, shared })
    }

    /// Stops listening (clients are refused, as by a stopped server) or listens again on the
    /// same port. Current connections are not touched.
    pub fn set_listening(&self, on: bool) {
        *lock(&self.shared.listening) = on;
        self.shared.listen_changed.notify_all();
        if !on {
            // Wake the accept loop so it closes its socket now.
            let _ = TcpStream::connect(("127.0.0.1", self.port));
        }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sets the faults; bytes already queued are delivered under the new settings.
    pub fn set(&self, faults: LinkFaults) {
        *lock(&self.shared.faults) = faults;
        self.shared.changed.notify_all();
    }

    /// The faults in force.
    pub fn faults(&self) -> LinkFaults {
        *lock(&self.shared.faults)
    }

    /// Closes every current connection on both sides (what `cut` does to a lab link).
    pub fn cut(&self) {
        let generation = self.shared.generation.fetch_add(1, Ordering::SeqCst);
        let mut sockets = lock(&self.shared.sockets);
        for (_, a, b) in sockets.iter().filter(|(g, ..)| *g <= generation) {
            let _ = a.shutdown(Shutdown::Both);
            let _ = b.shutdown(Shutdown::Both);
        }
        sockets.retain(|(g, ..)| *g > generation);
        self.shared.changed.notify_all();
    }

    /// Bytes delivered so far, both directions.
    pub fn relayed(&self) -> u64 {
        self.shared.relayed.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        self.cut();
        self.shared.listen_changed.notify_all();
        // Wake the accept loop so it sees `stopped`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// A small receive buffer, and Ethernet's segment size instead of loopback's 64 KB: the kernel
/// sizes the *sender's* buffer from the segment size, and with 64 KB segments a master's socket
/// would swallow a megabyte of RDB at once (the segment size is agreed when connecting, so it
/// is set on both of the proxy's ends before they connect).
fn small_buffers(socket: &Socket) -> io::Result<()> {
    socket.set_recv_buffer_size(RECEIVE_BUFFER)?;
    socket.set_tcp_mss(1460)
}

/// A listening socket with small receive buffers (inherited by the connections it accepts).
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    small_buffers(&socket)?;
    socket.bind(&addr.into())?;
    socket.listen(128)?;
    Ok(socket.into())
}

/// A connection to the target with a small receive buffer.
fn connect(target: u16) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    small_buffers(&socket)?;
    socket.connect(&SocketAddr::from(([127, 0, 0, 1], target)).into())?;
    Ok(socket.into())
}

/// Accepts and relays until the proxy stops; while it is told not to listen, its port is closed.
fn accept_loop(mut listener: TcpListener, port: u16, target: u16, s: &Arc<Shared>) {
    loop {
        let client = listener.accept();
        if s.stopped.load(Ordering::SeqCst) {
            return;
        }
        if !*lock(&s.listening) {
            drop(listener);
            let mut on = lock(&s.listening);
            while !*on && !s.stopped.load(Ordering::SeqCst) {
                on = s.listen_changed.wait(on).unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            drop(on);
            if s.stopped.load(Ordering::SeqCst) {
                return;
            }
            // The same port again (a client in the middle of retrying must find it).
            listener = match listen(SocketAddr::from(([127, 0, 0, 1], port))) {
                Ok(l) => l,
                Err(_) => return,
            };
            continue;
        }
        let Ok((client, _)) = client else { continue };
        // Refused by the target (it is down): the client sees its connection close.
        let Ok(server) = connect(target) else {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        relay(s, client, server);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts the four threads of one connection.
fn relay(shared: &Arc<Shared>, client: TcpStream, server: TcpStream) {
    let generation = shared.generation.load(Ordering::SeqCst);
    let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else { return };
    lock(&shared.sockets).push((generation, c2, s2));
    for (from, to) in [(client.try_clone(), server.try_clone()), (server.try_clone(), client.try_clone())] {
        let (Ok(from), Ok(to)) = (from, to) else { continue };
        let pipe = Arc::new(Pipe { queue: Mutex::new(Queue::default()), ready: Condvar::new() });
        let (p, s) = (Arc::clone(&pipe), Arc::clone(shared));
        thread::spawn(move || read_side(from, &p, &s, generation));
        let s = Arc::clone(shared);
        thread::spawn(move || deliver_side(to, &pipe, &s, generation));
    }
}

fn read_side(mut from: TcpStream, pipe: &Pipe, shared: &Shared, generation: u64) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => 0,
            Ok(n) => n,
        };
        let mut q = lock(&pipe.queue);
        if n == 0 {
            q.ended = true; // the other side is shut down once the queue drains
            pipe.ready.notify_all();
            shared.changed.notify_all();
            return;
        }
        q.chunks.push_back((Instant::now(), buf[..n].to_vec()));
        q.bytes += n;
        pipe.ready.notify_all();
        // A full queue stops the reading: the sender's socket fills, then its writes wait.
        while q.bytes >= QUEUE_LIMIT && shared.generation.load(Ordering::SeqCst) <= generation {
            q = pipe.ready.wait_timeout(q, Duration::from_millis(50)).map_or_else(|e| e.into_inner().0, |r| r.0);
        }
    }
}

fn deliver_side(mut to: TcpStream, pipe: &Pipe, shared: &Shared, generation: u64) {
    // When the paced sender may write its next byte.
    let mut free_at = Instant::now();
    loop {
        if shared.generation.load(Ordering::SeqCst) > generation {
            return; // cut: the sockets are closed already
        }
        let q = lock(&pipe.queue);
        let faults = *lock(&shared.faults);
        let Some((read_at, _)) = q.chunks.front() else {
            if q.ended {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            let _ = pipe.ready.wait_timeout(q, Duration::from_millis(50));
            continue;
        };
        let due = (*read_at + faults.latency).max(free_at);
        let now = Instant::now();
        if faults.hold || due > now {
            let wait = if faults.hold { Duration::from_millis(20) } else { (due - now).min(Duration::from_millis(20)) };
            drop(q);
            let f = lock(&shared.faults);
            let _ = shared.changed.wait_timeout(f, wait);
            continue;
        }
        let mut q = q;
        let Some((_, chunk)) = q.chunks.pop_front() else { continue };
        q.bytes -= chunk.len();
        pipe.ready.notify_all();
        drop(q);
        if to.write_all(&chunk).is_err() {
            return;
        }
        shared.relayed.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        if faults.bandwidth > 0 {
            let secs = chunk.len() as f64 / faults.bandwidth as f64;
            free_at = Instant::now().max(free_at) + Duration::from_secs_f64(secs);
        }
    }
}
