//! The `repl-lab` command: `rdb check` and `rdb dump` on good and bad files, its usage errors, and
//! `repl-lab server` refusing to start on a bad option, setting, directory or dump file.

#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

use std::process::Command;

use redis_repl_lab::sim::World;

fn repl_lab(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_repl-lab")).args(args).output().expect("run repl-lab");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn rdb_check_and_dump() {
    let dir = std::env::temp_dir().join(format!("repl-lab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("dump.rdb");
    let mut w = World::new(1);
    w.add_node();
    w.console(0, "HSET h f v");
    w.console(0, "SET k 1");
    std::fs::write(&good, w.node(0).rdb_snapshot()).unwrap();
    let good = good.to_string_lossy().into_owned();
    let (code, text) = repl_lab(&["rdb", "check", &good]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("[info] 2 keys read") && text.contains("RDB looks OK"), "{text}");
    let (code, text) = repl_lab(&["rdb", "dump", &good]);
    assert_eq!(code, 0);
    assert!(text.contains("  hash \"h\" = {\"f\": \"v\"}") && text.contains("  string \"k\" = \"1\""), "{text}");
    let mut bytes = w.node(0).rdb_snapshot();
    let n = bytes.len();
    bytes[n - 3] ^= 0xff;
    let bad = dir.join("bad.rdb");
    std::fs::write(&bad, bytes).unwrap();
    let (code, text) = repl_lab(&["rdb", "check", &bad.to_string_lossy()]);
    assert_eq!(code, 1);
    assert!(text.contains("--- RDB ERROR DETECTED ---") && text.contains("Wrong RDB checksum"), "{text}");
    let (code, text) = repl_lab(&["rdb", "check", "/nonexistent/dump.rdb"]);
    assert_eq!(code, 1);
    assert!(text.contains("Cannot open file"), "{text}");
    let (code, text) = repl_lab(&["rdb"]);
    assert_eq!(code, 2);
    assert!(text.contains("usage: repl-lab rdb dump FILE"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn server_refuses_bad_options_with_redis_words() {
    let (code, text) = repl_lab(&["server", "--bogus"]);
    assert_eq!(code, 2);
    assert!(text.contains("unknown option '--bogus'") && text.contains("[--dir DIR]"), "{text}");
    let (code, text) = repl_lab(&["server", "--port", "0", "--dir", "/nonexistent/repl-lab"]);
    assert_eq!(code, 1);
    assert!(text.contains("Can't chdir to '/nonexistent/repl-lab'"), "{text}");
    let (code, text) = repl_lab(&["server", "--port", "0", "--config", "repl-timeout", "0"]);
    assert_eq!(code, 1);
    assert!(text.contains("argument must be between 1 and 2147483647 inclusive"), "{text}");
    let dir = std::env::temp_dir().join(format!("repl-lab-cli-bad-dump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("dump.rdb"), b"REDIS0010\xfe").unwrap();
    let (code, text) = repl_lab(&["server", "--port", "0", "--dir", &dir.to_string_lossy()]);
    assert_eq!(code, 1);
    assert!(text.contains("Fatal error loading the DB"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
