//! `repl-lab export`: a lab run's topology, written as redis.conf files and scripts, started on
//! real redis-server 7.0.15 processes; each real node's ROLE and settings match the lab's at
//! that time, and stop.sh leaves no process running.

#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{free_ports, wait_until, Client, TempDir, SYNC_WAIT};
use redis_repl_lab::sim::session::{Action, Session};

/// Runs stop.sh when dropped, so the servers go on every exit path.
struct Started(PathBuf);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = Command::new("sh").arg(self.0.join("stop.sh")).status();
    }
}

fn pid_alive(dir: &Path, node: &str) -> bool {
    std::fs::read_to_string(dir.join(node).join("redis.pid"))
        .ok()
        .is_some_and(|pid| Path::new(&format!("/proc/{}", pid.trim())).exists())
}

#[test]
fn an_exported_chain_runs_on_real_servers_as_in_the_lab() {
    // The run: a chain A <- B <- C, A's backlog set to 32 KB.
    let mut s = Session::new(5);
    for _ in 0..3 {
        s.act(Action::AddNode).unwrap();
    }
    s.act(Action::Console(0, "CONFIG SET repl-backlog-size 32kb".into())).unwrap();
    // No diskless delay on A and B: the real chain syncs at once, as it did in the lab.
    s.act(Action::Console(0, "CONFIG SET repl-diskless-sync-delay 0".into())).unwrap();
    s.act(Action::Console(1, "CONFIG SET repl-diskless-sync-delay 0".into())).unwrap();
    s.act(Action::Console(1, "REPLICAOF 127.0.0.1 6379".into())).unwrap();
    s.act(Action::Console(2, "REPLICAOF 127.0.0.1 6380".into())).unwrap();
    s.run_until(20_000_000);
    let log = s.to_log_at(20_000_000);
    let lab_roles: Vec<&str> = (0..3).map(|i| s.world().node(i).view().role).collect();
    assert_eq!(lab_roles, ["master", "slave", "slave"]);

    let dir = TempDir::new("export");
    let out = dir.0.join("lab");
    let base = free_ports(3);
    let status = Command::new(env!("CARGO_BIN_EXE_repl-lab"))
        .args(["export", "--log", &log, "--port-base", &base.to_string(), "--out"])
        .arg(&out)
        .output()
        .expect("run repl-lab export");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let started = Command::new("sh").arg(out.join("start.sh")).output().expect("run start.sh");
    let guard = Started(out.clone());
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    assert_eq!(
        String::from_utf8_lossy(&started.stdout),
        format!("A 127.0.0.1:{base}\nB 127.0.0.1:{}\nC 127.0.0.1:{}\n", base + 1, base + 2)
    );

    // The servers daemonize: each listens a moment after start.sh returns.
    for k in 0..3 {
        wait_until("the server to listen", SYNC_WAIT, || {
            std::net::TcpStream::connect(("127.0.0.1", base + k)).map(|_| ()).map_err(|e| e.to_string())
        });
    }
    let mut c = Client::connect(base + 2);
    wait_until("C in sync through B", SYNC_WAIT, || match c.info_field("replication", "master_link_status").as_str() {
        "up" => Ok(()),
        other => Err(other.to_string()),
    });
    for (i, role) in lab_roles.iter().enumerate() {
        let mut n = Client::connect(base + i as u16);
        assert_eq!(n.info_field("replication", "role"), *role, "node {i}");
        if i > 0 {
            assert_eq!(n.info_field("replication", "master_port"), (base + i as u16 - 1).to_string());
        }
    }
    assert_eq!(
        Client::connect(base).cmd("CONFIG GET repl-backlog-size"),
        b"*2\r\n$17\r\nrepl-backlog-size\r\n$5\r\n32768\r\n"
    );

    // stop.sh ends them all.
    drop(guard);
    wait_until("every server stopped", Duration::from_secs(10), || {
        let alive: Vec<&str> = ["A", "B", "C"].into_iter().filter(|n| pid_alive(&out, n)).collect();
        if alive.is_empty() {
            Ok(())
        } else {
            Err(format!("{alive:?}"))
        }
    });
}

#[test]
fn a_bad_log_or_missing_option_is_refused_with_a_reason() {
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_repl-lab")).args(args).output().expect("run repl-lab");
    let bad = run(&["export", "--log", "RL1;s=x", "--out", "/tmp/never"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).starts_with("repl-lab export: bad action log"), "{bad:?}");
    assert!(!Path::new("/tmp/never").exists());
    let usage = run(&["export", "--log", "RL1;s=1"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).starts_with("usage: repl-lab export"));
}
