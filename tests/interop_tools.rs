//! Interop with Redis's own tools and its INFO layout (issue 7, items 5 and 6).
//!
//! - `redis-cli --rdb FILE` against our node (diskless and disk framing) writes a file that
//!   `redis-check-rdb` accepts, with every key.
//! - `redis-cli` used interactively (in a pseudo-terminal made by util-linux's `script`, since
//!   redis-cli only prompts on a terminal): commands typed one by one get their replies.
//! - What interactive redis-cli prints for the replies of a real server, every reply type, raw
//!   mode (INFO, CLIENT INFO, ...) included, is what our `format_reply_for` makes of the same
//!   server's frames.
//! - `INFO replication` from our node and from a real server in the same role (master with an
//!   online replica, with min-replicas set, replica with its link up, replica with its link
//!   down) lists the same field names in the same order; ROLE of a connected replica is the
//!   same reply byte for byte.

#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod common;

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};

use common::{
    free_port, show, split, start_redis, start_repl_lab, tool, wait_link_up, wait_until, write_all, Client,
    ServerGuard, TempDir, Workload, SYNC_WAIT,
};
use redis_repl_lab::resp::format_reply_for;

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

/// Interactive redis-cli on a server's port, in a pseudo-terminal made by util-linux's `script`
/// (redis-cli only prompts, and prints its TTY form, on a terminal). Dropping it stops redis-cli
/// and `script` by their pids.
struct Terminal {
    /// `script`, which runs `sh -c "...; exec redis-cli"` in the pseudo-terminal.
    script: Child,
    /// redis-cli's pid: the shell's, which `exec` hands over to redis-cli.
    cli_pid: u32,
    stdin: Option<ChildStdin>,
    /// Everything the terminal showed so far, escape sequences included.
    output: Arc<Mutex<Vec<u8>>>,
    port: u16,
}

impl Terminal {
    fn start(port: u16) -> Terminal {
        let cli = format!("stty cols 200 rows 50; echo cli-pid=$$; exec {} -p {port}", tool("redis-cli"));
        let mut script = Command::new("script")
            .args(["-qec", &cli, "/dev/null"])
            // A terminal linenoise drives (not "dumb"), and no history or preferences file from
            // the home directory: no ~/.redisclirc can change what redis-cli prints, and the
            // test writes no ~/.rediscli_history.
            .env("TERM", "xterm")
            .env("REDISCLI_HISTFILE", "/dev/null")
            .env("REDISCLI_RCFILE", "/dev/null")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn script (util-linux)");
        let (stdin, Some(mut stdout)) = (script.stdin.take(), script.stdout.take()) else {
            panic!("no pipes to script");
        };
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("output lock").extend_from_slice(&buf[..n]);
            }
        });
        let mut term = Terminal { script, cli_pid: 0, stdin, output, port };
        let prompt = format!("127.0.0.1:{port}> ");
        term.cli_pid = wait_until("redis-cli's pid and first prompt", SYNC_WAIT, || {
            let s = term.screen_from(0);
            let pid = s.lines().find_map(|l| l.strip_prefix("cli-pid=")?.trim().parse::<u32>().ok());
            match pid {
                Some(pid) if s.ends_with(&prompt) => Ok(pid),
                _ => Err(s),
            }
        });
        term
    }

    /// The terminal's text from byte `at` of its output, without escape sequences and `\r`.
    fn screen_from(&self, at: usize) -> String {
        plain(&String::from_utf8_lossy(&self.output.lock().expect("output lock")[at..]))
    }

    /// Types `line` and Enter; returns what redis-cli printed after the line, up to the next
    /// prompt, and that prompt (`127.0.0.1:PORT> `, or `127.0.0.1:PORT(TX)> ` in a MULTI).
    fn type_line(&mut self, line: &str) -> (String, String) {
        // The previous prompt is the last thing printed: what comes after `at` is this line's.
        let at = self.output.lock().expect("output lock").len();
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(format!("{line}\r").as_bytes()).expect("type a line");
        stdin.flush().expect("flush");
        let prompts = [format!("127.0.0.1:{}> ", self.port), format!("127.0.0.1:{}(TX)> ", self.port)];
        // While typing, linenoise redraws the line (and a hint) after every key; once Enter is
        // pressed it draws the line without its hint and moves to the next line.
        let echo = format!("{line}\n");
        wait_until(&format!("the reply to {line:?}"), SYNC_WAIT, || {
            let s = self.screen_from(at);
            let Some((_, after)) = s.split_once(&echo) else { return Err(s) };
            match prompts.iter().find(|p| after.ends_with(p.as_str())) {
                Some(p) => Ok((after[..after.len() - p.len()].to_string(), p.clone())),
                None => Err(s),
            }
        })
    }

    /// Types `quit` and waits for redis-cli, then `script`, to exit with success.
    fn quit(mut self) {
        let mut stdin = self.stdin.take().expect("stdin open");
        stdin.write_all(b"quit\r").expect("quit");
        drop(stdin);
        wait_until("redis-cli to exit", SYNC_WAIT, || match self.script.try_wait() {
            Ok(Some(status)) if status.success() => Ok(()),
            Ok(Some(status)) => Err(format!("exit status {status}")),
            _ => Err("still running".into()),
        });
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if let Ok(None) = self.script.try_wait() {
            // script has not exited, so redis-cli is its child (or its unreaped zombie): the pid
            // is still redis-cli's; check its parent all the same before killing.
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.cli_pid)).unwrap_or_default();
            let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
            if self.cli_pid != 0 && ppid == Some(self.script.id()) {
                let _ = Command::new("kill").args(["-KILL", &self.cli_pid.to_string()]).status();
                // script reaps redis-cli and exits; killed first, it would leave redis-cli to
                // an init that may never reap it.
                let t0 = std::time::Instant::now();
                while matches!(self.script.try_wait(), Ok(None)) && t0.elapsed() < std::time::Duration::from_secs(2) {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            }
            let _ = self.script.kill();
        }
        let _ = self.script.wait();
    }
}

#[test]
fn redis_cli_works_interactively() {
    let ours = start_repl_lab(&[]);
    let mut term = Terminal::start(ours.port);
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
    for (line, reply) in session {
        let (printed, prompt) = term.type_line(line);
        assert_eq!(printed, format!("{reply}\n"), "the reply to {line:?}");
        assert_eq!(prompt, format!("127.0.0.1:{}> ", ours.port), "the prompt after {line:?}");
    }
    term.quit();
    let mut c = ours.client();
    assert_eq!(c.call(&["HGET", "h", "f"]), b"$1\r\n1\r\n", "the commands reached our server");
}

/// What a reply's text may differ in between two calls, and how both texts are normalised.
#[derive(Clone, Copy, Debug)]
enum Norm {
    /// Nothing: the same server answers the same way twice.
    Exact,
    /// INFO server: the fields that follow the clock (`server_time_usec`, `uptime_in_seconds`,
    /// `uptime_in_days`, `lru_clock`) lose their values; every line and field name stays.
    InfoClock,
    /// CLIENT ID: redis-cli's connection and the test's are two clients with two ids, so the
    /// digits go.
    Digits,
    /// CLIENT INFO: the same two connections differ in id, address, fd, age, buffers and last
    /// command, so each `name=value` keeps its name only (their order stays).
    FieldNames,
}

impl Norm {
    fn apply(self, text: &str) -> String {
        match self {
            Norm::Exact => text.to_string(),
            Norm::InfoClock => text
                .split('\n')
                .map(|l| match l.split_once(':') {
                    Some((k, _))
                        if ["server_time_usec", "uptime_in_seconds", "uptime_in_days", "lru_clock"].contains(&k) =>
                    {
                        format!("{k}:<clock>")
                    }
                    _ => l.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Norm::Digits => {
                let mut out = String::new();
                for ch in text.chars() {
                    if !ch.is_ascii_digit() {
                        out.push(ch);
                    } else if !out.ends_with('N') {
                        out.push('N');
                    }
                }
                out
            }
            Norm::FieldNames => text
                .split('\n')
                .map(|l| l.split(' ').map(|kv| kv.split_once('=').map_or(kv, |(k, _)| k)).collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// Takes off the `(0.52s)` redis-cli prints after a reply that took 500 ms or more (a slow
/// machine): it is about time, not about the reply. It follows the reply's text directly, on the
/// same line when a raw reply does not end in a newline.
fn without_elapsed(printed: &str) -> &str {
    let Some(body) = printed.strip_suffix("s)\n") else { return printed };
    let Some(open) = body.rfind('(') else { return printed };
    match body[open + 1..].split_once('.') {
        Some((secs, cents))
            if !secs.is_empty()
                && cents.len() == 2
                && secs.bytes().chain(cents.bytes()).all(|b| b.is_ascii_digit()) =>
        {
            &printed[..open]
        }
        _ => printed,
    }
}

#[test]
fn format_reply_for_prints_what_redis_cli_prints() {
    let real = start_redis(&[]);
    let mut c = real.client();
    // The data the commands read: a 12-element list (two-digit indexes), a hash, a set.
    let items: Vec<String> = (1..=12).map(|i| format!("item {i}")).collect();
    let mut rpush = vec!["RPUSH".to_string(), "l".into()];
    rpush.extend(items.iter().cloned());
    write_all(
        &mut c,
        &[rpush, split_strings("HSET h field1 \"va lue\" field2 \"\\xc3\\xa9\""), split_strings("SADD set 3 1 2")],
    );

    // Lines typed into redis-cli, each sent again by the test's client to the same server. All
    // but the first SET only read, and that SET writes the same value twice: both see the same
    // data. Inside the MULTI both connections queue the same commands.
    let session: &[(&str, Norm)] = &[
        ("PING", Norm::Exact),                                        // status
        (r#"set q "say \"hi\"\x00\xff\n\\end\ttab\r""#, Norm::Exact), // status, after a quoted line
        ("GET q", Norm::Exact),                                       // bulk: quotes, binary, \n
        ("get missing", Norm::Exact),                                 // nil
        ("STRLEN q", Norm::Exact),                                    // integer
        ("TTL q", Norm::Exact),                                       // negative integer
        ("INCR q", Norm::Exact),                                      // error
        ("foo bar", Norm::Exact),                                     // error with a trailing space
        ("LRANGE nolist 0 -1", Norm::Exact),                          // empty array
        ("LRANGE l 0 -1", Norm::Exact),                               // 12 elements
        ("HGETALL h", Norm::Exact),                                   // array with a UTF-8 bulk
        ("BLPOP nolist 0.01", Norm::Exact),                           // null array
        ("ROLE", Norm::Exact),                                        // nested, with an empty array
        ("MULTI", Norm::Exact),                                       // the prompt gets (TX)
        ("LRANGE l 0 -1", Norm::Exact),                               // QUEUED
        ("GET missing", Norm::Exact),
        ("ROLE", Norm::Exact),
        ("INFO keyspace", Norm::Exact), // raw mode: QUEUED without a newline, the prompt after it
        ("INCR q", Norm::Exact),        // fails inside EXEC
        ("HGETALL h", Norm::Exact),
        ("SMEMBERS set", Norm::Exact),
        ("PING", Norm::Exact),
        ("STRLEN q", Norm::Exact),
        ("LRANGE nolist 0 -1", Norm::Exact),
        ("GET q", Norm::Exact),
        ("EXEC", Norm::Exact), // 11 replies, nested three deep, INFO's bulk quoted (TTY)
        ("INFO replication", Norm::Exact), // raw; a master with no replica keeps offset 0
        ("info keyspace", Norm::Exact),
        ("INFO server", Norm::InfoClock),
        ("INFO nosuch", Norm::Exact), // an empty bulk: nothing at all
        ("CLIENT ID", Norm::Digits),
        ("Client Info", Norm::FieldNames),
        ("CLIENT LIST TYPE bogus", Norm::Exact), // raw error: no "(error) "
        ("MEMORY DOCTOR", Norm::Exact),
        ("MEMORY DOCTOR x", Norm::Exact), // raw error
        ("CLUSTER INFO", Norm::Exact),    // raw error (exactly 2 arguments)
        ("CLUSTER INFO x", Norm::Exact),  // 3 arguments: TTY error
        ("LATENCY DOCTOR", Norm::Exact),
        ("LATENCY DOCTOR x", Norm::Exact),      // TTY
        ("LATENCY GRAPH command", Norm::Exact), // raw error (exactly 3 arguments)
        ("LATENCY GRAPH", Norm::Exact),         // TTY
        ("DEBUG HTSTATS 0", Norm::Exact),
        ("DEBUG HTSTATS-KEY nokey", Norm::Exact),
        ("PROXY INFO", Norm::Exact), // raw: an unknown command's error
        ("LOLWUT", Norm::Exact),
    ];
    let mut term = Terminal::start(real.port);
    let (mut raw_seen, mut in_multi) = (0, false);
    for &(line, norm) in session {
        let (printed, prompt) = term.type_line(line);
        let argv = split(line);
        let frame = c.read_frame_of(&argv);
        let ours = format_reply_for(&argv, &frame);
        if ours != redis_repl_lab::resp::format_reply(&frame) {
            raw_seen += 1;
        }
        in_multi = (in_multi || line == "MULTI") && line != "EXEC";
        assert_eq!(prompt.contains("(TX)"), in_multi, "the prompt after {line:?}: {prompt:?}");
        let printed = without_elapsed(&printed);
        if in_multi && line == "INFO keyspace" {
            // Raw mode adds no newline: the next prompt follows QUEUED on the same line.
            assert_eq!(printed, "QUEUED", "INFO in a MULTI");
        }
        // format_reply_for returns the text without its final newline.
        let printed = printed.strip_suffix('\n').unwrap_or(printed);
        assert_eq!(
            norm.apply(printed),
            norm.apply(&ours),
            "{line:?}: redis-cli printed, then ours (frame {})",
            show(&frame.encode())
        );
    }
    assert!(raw_seen >= 15, "the session has raw-mode replies that differ from the TTY form ({raw_seen})");
    term.quit();
}

/// A line split as redis-cli splits it, as strings (for [`write_all`]).
fn split_strings(line: &str) -> Vec<String> {
    split(line).into_iter().map(|a| String::from_utf8(a).expect("UTF-8 argument")).collect()
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
        let row = mc.info_field_opt("replication", "slave0").unwrap_or_default();
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
