//! Interop with Redis's own tools and its INFO layout (issue 7, items 5 and 6).
//!
//! - `redis-cli --rdb FILE` against our node (diskless and disk framing) writes a file that
//!   `redis-check-rdb` accepts, with every key.
//! - `redis-cli` used interactively (in a pseudo-terminal made by util-linux's `script`, since
//!   redis-cli only prompts on a terminal): commands typed one by one get their replies.
//! - `INFO replication` from our node and from a real server in the same role (master with an
//!   online replica, with min-replicas set, replica with its link up, replica with its link
//!   down) lists the same field names in the same order; ROLE of a connected replica is the
//!   same reply byte for byte.

#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use common::{
    free_port, start_redis, start_repl_lab, tool, wait_link_up, wait_until, write_all, Client, ServerGuard, TempDir,
    Workload, SYNC_WAIT,
};

fn run(program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("run {program}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn redis_cli_rdb_gives_a_file_redis_check_rdb_accepts() {
    let dir = TempDir::new("interop-cli-rdb");
    for diskless in ["yes", "no"] {
        let ours =
            start_repl_lab(&["--config", "repl-diskless-sync-delay", "0", "--config", "repl-diskless-sync", diskless]);
        let mut c = ours.client();
        write_all(&mut c, &Workload::new(5, 20).commands(800));
        let keys: i64 =
            c.info("keyspace").iter().filter_map(|(_, v)| v.split(['=', ',']).nth(1)?.parse::<i64>().ok()).sum();
        let file = dir.0.join(format!("dump-{diskless}.rdb"));
        let file = file.to_string_lossy();
        let (ok, text) = run(&tool("redis-cli"), &["-p", &ours.port.to_string(), "--rdb", &file]);
        assert!(ok && text.contains("Transfer finished with success"), "redis-cli --rdb (diskless {diskless}): {text}");
        let (ok, text) = run(&tool("redis-check-rdb"), &[&file]);
        assert!(ok && text.contains("RDB looks OK"), "redis-check-rdb: {text}");
        let read =
            text.lines().find_map(|l| l.strip_prefix("[info] ")?.strip_suffix(" keys read")?.parse::<i64>().ok());
        assert_eq!(read, Some(keys), "every key is in the file: {text}");
    }
}

/// Strips terminal escape sequences (`ESC [ ... letter`) and carriage returns.
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

#[test]
fn redis_cli_works_interactively() {
    let ours = start_repl_lab(&[]);
    let cli = format!("stty cols 200 rows 50; exec {} -p {}", tool("redis-cli"), ours.port);
    let mut child = Command::new("script")
        .args(["-qec", &cli, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn script (util-linux)");
    let output = Arc::new(Mutex::new(String::new()));
    let (Some(mut stdin), Some(mut stdout)) = (child.stdin.take(), child.stdout.take()) else {
        panic!("no pipes to script");
    };
    let sink = Arc::clone(&output);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().expect("output lock").push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let prompt = format!("127.0.0.1:{}> ", ours.port);
    let session = [
        ("set greeting \"hello world\"", "OK"),
        ("get greeting", "\"hello world\""),
        ("rpush list a b", "(integer) 2"),
        ("lrange list 0 -1", "1) \"a\"\n2) \"b\""),
        ("hset h f 1", "(integer) 1"),
        ("incr greeting", "(error) ERR value is not an integer or out of range"),
        ("foo bar", "(error) ERR unknown command 'foo', with args beginning with: 'bar' "),
        ("role", "1) \"master\"\n2) (integer) 0\n3) (empty array)"),
    ];
    let screen = || plain(&output.lock().expect("output lock"));
    wait_until("the first prompt", SYNC_WAIT, || if screen().contains(&prompt) { Ok(()) } else { Err(screen()) });
    for (i, (line, reply)) in session.iter().enumerate() {
        stdin.write_all(format!("{line}\r").as_bytes()).expect("type a line");
        stdin.flush().expect("flush");
        // The reply, then a fresh prompt: the session's i+2-th prompt.
        wait_until(&format!("the reply to {line:?}"), SYNC_WAIT, || {
            let s = screen();
            let after = s.split(&format!("{line}\n")).nth(1).unwrap_or_default().to_string();
            if after.starts_with(&format!("{reply}\n")) && s.matches(&prompt).count() > i + 1 {
                Ok(())
            } else {
                Err(s)
            }
        });
    }
    stdin.write_all(b"quit\r").expect("quit");
    drop(stdin);
    wait_until("redis-cli to exit", SYNC_WAIT, || match child.try_wait() {
        Ok(Some(status)) if status.success() => Ok(()),
        Ok(Some(status)) => Err(format!("exit status {status}")),
        _ => Err("still running".into()),
    });
    let mut c = ours.client();
    assert_eq!(c.call(&["HGET", "h", "f"]), b"$1\r\n1\r\n", "the commands reached our server");
}

/// Field names of INFO replication, in order; `slaveN` rows count as one name each.
fn fields(c: &mut Client) -> Vec<String> {
    c.info("replication").into_iter().map(|(k, _)| k).collect()
}

fn online_replica(master: &ServerGuard) -> ServerGuard {
    let r = start_redis(&[]);
    let mut rc = r.client();
    rc.call(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]);
    wait_link_up(&mut rc);
    let mut mc = master.client();
    wait_until("the replica to be online", SYNC_WAIT, || {
        let row = mc.info_field("replication", "slave0");
        if row.contains("state=online") {
            Ok(())
        } else {
            Err(row)
        }
    });
    r
}

#[test]
fn info_replication_lists_the_same_fields_as_redis() {
    let fast = ["--repl-diskless-sync-delay", "0"];
    let (real, ours) = (start_redis(&fast), start_repl_lab(&["--config", "repl-diskless-sync-delay", "0"]));
    let (mut rc, mut oc) = (real.client(), ours.client());
    assert_eq!(fields(&mut oc), fields(&mut rc), "a master without replicas");
    let _replicas = (online_replica(&real), online_replica(&ours));
    assert_eq!(fields(&mut oc), fields(&mut rc), "a master with an online replica");
    for c in [&mut rc, &mut oc] {
        assert_eq!(c.call(&["CONFIG", "SET", "min-replicas-to-write", "1"]), b"+OK\r\n");
    }
    let with_min = fields(&mut oc);
    assert!(with_min.contains(&"min_slaves_good_slaves".to_string()), "{with_min:?}");
    assert_eq!(with_min, fields(&mut rc), "a master with min-replicas-to-write");

    // Replicas of one real master: link up, then link down (their master points elsewhere).
    let top = start_redis(&fast);
    let (real_r, our_r) = (start_redis(&[]), start_repl_lab(&[]));
    let (mut rr, mut or) = (real_r.client(), our_r.client());
    for c in [&mut rr, &mut or] {
        c.call(&["REPLICAOF", "127.0.0.1", &top.port.to_string()]);
        wait_link_up(c);
    }
    assert_eq!(fields(&mut or), fields(&mut rr), "a replica with its link up");
    let mut tc = top.client();
    let offset = tc.info_int("replication", "master_repl_offset");
    wait_until("both replicas to ACK the whole stream", SYNC_WAIT, || {
        let rows = tc.info("replication");
        let acked = rows.iter().filter(|(k, v)| k.starts_with("slave") && v.contains(&format!(",offset={offset},")));
        if acked.count() == 2 {
            Ok(())
        } else {
            Err(format!("{rows:?}"))
        }
    });
    assert_eq!(or.call(&["ROLE"]), rr.call(&["ROLE"]), "ROLE of a connected replica, byte for byte");
    let nobody = free_port().to_string();
    for c in [&mut rr, &mut or] {
        c.call(&["REPLICAOF", "127.0.0.1", &nobody]);
    }
    let down = fields(&mut or);
    assert!(down.contains(&"master_link_down_since_seconds".to_string()), "{down:?}");
    assert_eq!(down, fields(&mut rr), "a replica with its link down");
}
