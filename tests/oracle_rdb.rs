//! Oracle: the RDB a node writes for a full sync is accepted by Redis's own tools.
//! `redis-check-rdb` validates it, and a real redis-server 7.0.15 loads it at start-up with the
//! same contents. The test starts that server on a free loopback port and stops it by pid.

#![cfg(not(target_arch = "wasm32"))]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis_repl_lab::sim::World;

fn tool(name: &str) -> String {
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let p = format!("{dir}/{name}");
        if std::path::Path::new(&p).exists() {
            return p;
        }
    }
    panic!("{name} is not installed: run ./scripts/setup --browser (Debian packages redis-server, redis-tools)");
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("repl-lab-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A redis-server child that is killed when dropped, on success and on panic alike.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends several commands on one connection and returns the bytes of all their replies.
fn request_pipeline(port: u16, cmds: &[Vec<&str>]) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for c in cmds {
        s.write_all(&redis_repl_lab::resp::encode_command(c)).unwrap();
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let mut at = 0;
        let mut frames = 0;
        while let Ok(redis_repl_lab::resp::Parsed::Complete(_, n)) = redis_repl_lab::resp::parse_frame(&buf[at..]) {
            at += n;
            frames += 1;
        }
        if frames == cmds.len() {
            return buf;
        }
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn request(port: u16, args: &[&str]) -> Vec<u8> {
    request_pipeline(port, &[args.to_vec()])
}

fn sample_world() -> World {
    let mut w = World::new(5);
    w.add_node();
    w.console(0, "DEBUG POPULATE 300 key 40");
    w.console(0, "SET small 7");
    w.console(0, "SET negative -70000");
    w.console(0, "SET text \"hello world\"");
    w.console(0, &format!("SET long {}", "abc".repeat(50)));
    w.console(0, "SET ttl v EXAT 4102444800");
    w.console(0, "SELECT 3");
    w.console(0, "SET other db3");
    w
}

#[test]
fn redis_check_rdb_accepts_our_file() {
    let w = sample_world();
    let dir = temp_dir("check");
    let path = dir.join("dump.rdb");
    std::fs::write(&path, w.node(0).rdb_snapshot()).unwrap();
    let out = Command::new(tool("redis-check-rdb")).arg(&path).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("RDB looks OK"), "{text}");
    assert!(text.contains("redis-ver = '7.0.15'"), "{text}");
}

#[test]
fn real_redis_loads_our_file_with_the_same_contents() {
    let w = sample_world();
    let dir = temp_dir("load");
    std::fs::write(dir.join("dump.rdb"), w.node(0).rdb_snapshot()).unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(tool("redis-server"))
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(["--enable-debug-command", "yes", "--daemonize", "no"])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(10), "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    while request(port, &["PING"]) != b"+PONG\r\n" {
        std::thread::sleep(Duration::from_millis(20));
    }
    let ours = w.node(0).keyspace();
    for (db, key) in
        [(0, "small"), (0, "negative"), (0, "text"), (0, "long"), (0, "key:0"), (0, "key:299"), (3, "other")]
    {
        let Some(redis_repl_lab::keyspace::Value::Str(v)) = ours.db(db).get_raw(key.as_bytes()) else {
            panic!("{key} missing from our dataset");
        };
        let db_s = db.to_string();
        let got = request_pipeline(port, &[vec!["SELECT", db_s.as_str()], vec!["GET", key]]);
        let mut expected = b"+OK\r\n".to_vec();
        expected.extend(redis_repl_lab::resp::Frame::Bulk(v.clone()).encode());
        assert_eq!(got, expected, "key {key}");
    }
    assert_eq!(request(port, &["DBSIZE"]), b":305\r\n");
    let pttl = String::from_utf8(request(port, &["PEXPIRETIME", "ttl"])).unwrap();
    let at: i64 = pttl.trim_start_matches(':').trim().parse().unwrap();
    assert_eq!(Some(at), ours.db(0).expire_at(b"ttl"));
    assert!(String::from_utf8_lossy(&request(port, &["INFO", "keyspace"])).contains("db3:keys=1,expires=0"));
}
