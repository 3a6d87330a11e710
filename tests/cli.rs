//! The `repl-lab` command: `rdb check` and `rdb dump` on good and bad files, its usage errors, and
//! `repl-lab server` refusing to start on a bad option, setting, directory or dump file, and
//! `repl-lab replay` with its table, its refusals and its usage errors.

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

#[test]
fn scenario_check_runs_a_chapter_and_names_what_is_wrong_in_a_broken_file() {
    let chapter = concat!(env!("CARGO_MANIFEST_DIR"), "/www/scenarios/01-first-full-sync.toml");
    let (code, text) = repl_lab(&["scenario", "check", chapter]);
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("01-first-full-sync: The first full sync\n"), "{text}");
    assert!(text.contains("  ok   step 1 answer: key: choice 1;"), "{text}");
    assert!(text.contains(" items, 0 failed"), "{text}");

    let dir = std::env::temp_dir().join(format!("repl-lab-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let broken = dir.join("broken.toml");
    let source =
        std::fs::read_to_string(chapter).unwrap().replace("B.master_link_status == 'up'", "B.master_link == 'up'");
    std::fs::write(&broken, source).unwrap();
    let (code, text) = repl_lab(&["scenario", "check", &broken.to_string_lossy()]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.starts_with("broken.toml:28: step 1 until: unknown INFO field 'master_link' (at character 3)"),
        "{text}"
    );

    let wrong = dir.join("wrong.toml");
    let source = std::fs::read_to_string(chapter).unwrap().replace("answer = 59", "answer = 36");
    std::fs::write(&wrong, source).unwrap();
    let (code, text) = repl_lab(&["scenario", "check", &wrong.to_string_lossy()]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("  FAIL step 3 answer: key: 36 ± 0; the run gives bytes(A, B, 'stream') = 59"), "{text}");
    let (code, _) = repl_lab(&["scenario", "check"]);
    assert_eq!(code, 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn replay_prints_a_table_per_step_and_refuses_what_it_cannot_do() {
    let scenarios = concat!(env!("CARGO_MANIFEST_DIR"), "/www/scenarios");
    let (code, text) = repl_lab(&["replay", "--scenario", &format!("{scenarios}/01-first-full-sync.toml")]);
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("replay of 01-first-full-sync on redis-server\n"), "{text}");
    assert!(text.contains("\nstep 1: "), "{text}");
    assert!(text.contains("  step 1 until "), "{text}");
    assert!(text.contains("lab-only (sent(A, B, "), "{text}");
    assert!(text.ends_with("01-first-full-sync: 8 compared: 8 held, 0 differ; 7 lab-only, 0 skipped\n"), "{text}");

    let (code, text) = repl_lab(&["replay", "--scenario", &format!("{scenarios}/17-legacy-sync.toml")]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("the lab's setup: `B: CONFIG SET lab-legacy-sync yes` cannot be replayed"), "{text}");
    let (code, text) =
        repl_lab(&["replay", "--scenario", &format!("{scenarios}/13-sentinel-failover.toml"), "--engine", "ours"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("`sentinel A quorum 2 down-after 5000ms failover-timeout 10000ms` cannot be replayed"),
        "{text}"
    );
    let (code, text) = repl_lab(&["replay", "--log", "RL1;garbage"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.starts_with("repl-lab replay: the lab could not run it: bad action log"), "{text}");

    for bad in [&["replay"][..], &["replay", "--engine", "valkey", "--log", "x"], &["replay", "--grace"]] {
        let (code, text) = repl_lab(bad);
        assert_eq!(code, 2, "{bad:?}: {text}");
        assert!(text.contains("usage: repl-lab replay"), "{text}");
    }
}
