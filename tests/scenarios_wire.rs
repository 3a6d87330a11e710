//! Scenario tests that drive one sans-IO [`Node`] by hand, playing its master or its clients
//! byte for byte: the replies a replica must understand (keepalive newlines, `-LOADING`,
//! `-NOMASTERLINK`, other errors), the offsets it counts, and a master's blocked clients when it
//! turns replica (REDIS-REPLICATION.md §2.4–§2.6, §5.3).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::collections::BTreeMap;

use redis_repl_lab::node::replication::ReplConfig;
use redis_repl_lab::node::{ConnId, Micros, Node, NodeConfig, Output, Persisted, EPOCH_UNIX_MS};
use redis_repl_lab::rdb::{write_rdb, AuxInfo};
use redis_repl_lab::resp::encode_command;

/// One node and everything it wrote, per connection.
struct Harness {
    node: Node,
    now: Micros,
    out: BTreeMap<ConnId, Vec<u8>>,
    closed: Vec<ConnId>,
    connects: Vec<ConnId>,
    logs: Vec<String>,
}

impl Harness {
    fn new() -> Harness {
        let cfg = NodeConfig {
            name: "R".into(),
            host: "127.0.0.1".into(),
            port: 6380,
            repl: ReplConfig::default(),
            epoch_unix_ms: EPOCH_UNIX_MS,
        };
        Harness {
            node: Node::new(cfg, 7, 0),
            now: 0,
            out: BTreeMap::new(),
            closed: Vec::new(),
            connects: Vec::new(),
            logs: Vec::new(),
        }
    }

    fn pump(&mut self) {
        while let Some(o) = self.node.poll_output() {
            match o {
                Output::Send { conn, data, .. } => self.out.entry(conn).or_default().extend(data),
                Output::Close { conn } => self.closed.push(conn),
                Output::Connect { conn, .. } => self.connects.push(conn),
                // What a node tells a learner (propagations, PSYNC verdicts) is not on the wire.
                Output::Note(_) => {}
                Output::Persist { .. } => self.node.persisted(Persisted::Written),
                Output::Exit => panic!("no scenario here shuts the node down"),
            }
        }
        while let Some(l) = self.node.poll_log() {
            self.logs.push(l.text);
        }
    }

    fn client(&mut self) -> ConnId {
        let c = self.node.accept(self.now, "127.0.0.1", 40_000 + self.out.len() as u16);
        self.out.insert(c, Vec::new());
        c
    }

    fn command(&mut self, conn: ConnId, args: &[&str]) {
        self.bytes(conn, &encode_command(args));
    }

    fn bytes(&mut self, conn: ConnId, data: &[u8]) {
        self.node.receive(self.now, conn, data);
        self.pump();
    }

    fn take(&mut self, conn: ConnId) -> String {
        String::from_utf8_lossy(&std::mem::take(self.out.entry(conn).or_default())).into_owned()
    }

    fn run_ms(&mut self, ms: u64) {
        let end = self.now + ms * 1000;
        loop {
            let d = self.node.next_deadline();
            if d > end {
                break;
            }
            self.now = self.now.max(d);
            self.node.tick(self.now);
            self.pump();
        }
        self.now = end;
    }

    fn logged(&self, needle: &str) -> bool {
        self.logs.iter().any(|l| l.contains(needle))
    }

    /// REPLICAOF a fake master, connect, and answer the handshake up to the PSYNC; returns the
    /// link's connection.
    fn handshake(&mut self, console: ConnId) -> ConnId {
        self.command(console, &["REPLICAOF", "10.0.0.1", "7000"]);
        assert_eq!(self.take(console), "+OK\r\n");
        let link = *self.connects.last().expect("a connection to the master");
        self.node.connected(self.now, link);
        self.pump();
        assert_eq!(self.take(link), "*1\r\n$4\r\nPING\r\n");
        self.bytes(link, b"+PONG\r\n");
        assert!(self.take(link).starts_with("*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n"));
        self.bytes(link, b"+OK\r\n+OK\r\n");
        assert!(self.take(link).starts_with("*3\r\n$5\r\nPSYNC\r\n"));
        link
    }

    fn info_field(&mut self, console: ConnId, section: &str, name: &str) -> String {
        self.command(console, &["INFO", section]);
        let text = self.take(console);
        text.split("\r\n")
            .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_string))
            .unwrap_or_else(|| panic!("INFO {section} has no field {name:?}: {text:?}"))
    }
}

const ID: &str = "0123456789abcdef0123456789abcdef01234567";

/// `$<len>` and an RDB holding `k` = `v` (with the AUX fields a master writes), then `stream`.
fn disk_payload(stream: &[u8]) -> Vec<u8> {
    let file = rdb();
    let mut payload = format!("${}\r\n", file.len()).into_bytes();
    payload.extend(&file);
    payload.extend(stream);
    payload
}

/// An RDB holding `k` = `v`, with the AUX fields a master writes.
fn rdb() -> Vec<u8> {
    let mut ks = redis_repl_lab::keyspace::Keyspace::default();
    ks.db_mut(0).set(b"k".to_vec(), redis_repl_lab::keyspace::Value::Str(b"v".to_vec()));
    write_rdb(&ks, &AuxInfo { ctime_secs: 0, used_mem: 0, repl: Some((0, ID.to_string(), 100)) })
}

#[test]
fn loading_and_nomasterlink_replies_to_psync_mean_try_again_in_a_second() {
    for reply in [
        "-LOADING Redis is loading the dataset in memory",
        "-NOMASTERLINK Can't SYNC while not connected with my master",
    ] {
        let mut h = Harness::new();
        let console = h.client();
        let link = h.handshake(console);
        h.bytes(link, format!("{reply}\r\n").as_bytes());
        assert!(h.logged(&format!("Master is currently unable to PSYNC but should be in the future: {}", &reply[1..])));
        assert_eq!(h.closed, vec![link], "the connection is dropped");
        assert_eq!(h.connects.len(), 1, "no immediate reconnection");
        h.run_ms(1_000);
        assert_eq!(h.connects.len(), 2, "the cron reconnects about a second later");
    }
}

#[test]
fn other_errors_to_psync_fall_back_to_the_legacy_sync_on_the_same_connection() {
    let mut h = Harness::new();
    let console = h.client();
    let link = h.handshake(console);
    h.bytes(link, b"-ERR unknown command 'PSYNC'\r\n");
    assert!(h.logged("Master does not support PSYNC or is in error state (reply: -ERR unknown command 'PSYNC')"));
    assert_eq!(h.take(link), "SYNC\r\n");
    assert!(h.closed.is_empty());
    h.bytes(link, &disk_payload(&encode_command(&["SET", "after", "1"])));
    h.command(console, &["GET", "after"]);
    assert_eq!(h.take(console), "$1\r\n1\r\n");
    h.run_ms(3_000);
    assert!(!h.take(link).contains("REPLCONF"), "no ACKs to a pre-PSYNC master");
}

#[test]
fn keepalive_newlines_then_fullresync_then_an_ack_at_once_after_an_eof_payload() {
    let mut h = Harness::new();
    let console = h.client();
    let link = h.handshake(console);
    h.bytes(link, b"\n\n\n");
    assert_eq!(h.info_field(console, "replication", "master_link_status"), "down");
    h.bytes(link, format!("+FULLRESYNC {ID} 100\r\n").as_bytes());
    assert!(h.logged(&format!("Full resync from master: {ID}:100")));
    let mark = "m".repeat(40);
    let mut payload = format!("$EOF:{mark}\r\n").into_bytes();
    payload.extend(rdb());
    payload.extend(mark.as_bytes());
    h.bytes(link, &payload);
    assert_eq!(h.take(link), "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$3\r\n100\r\n", "REPLCONF ACK at once");
    assert_eq!(h.info_field(console, "replication", "master_replid"), ID);
    assert_eq!(h.info_field(console, "replication", "repl_backlog_first_byte_offset"), "101");
}

#[test]
fn a_newline_in_the_stream_is_read_but_not_applied_and_getack_excludes_itself() {
    let mut h = Harness::new();
    let console = h.client();
    let link = h.handshake(console);
    h.bytes(link, format!("+FULLRESYNC {ID} 100\r\n").as_bytes());
    h.bytes(link, &disk_payload(b""));
    h.take(link);
    h.bytes(link, b"\n");
    assert_eq!(h.info_field(console, "replication", "slave_read_repl_offset"), "101");
    assert_eq!(h.info_field(console, "replication", "slave_repl_offset"), "100");
    let ping = encode_command(&["ping"]);
    h.bytes(link, &ping);
    // As in Redis's commandProcessed, the next command's applied offset takes the newline with it.
    assert_eq!(h.info_field(console, "replication", "slave_repl_offset"), "115", "the newline and 14 bytes of ping");
    h.bytes(link, &encode_command(&["REPLCONF", "GETACK", "*"]));
    assert_eq!(h.take(link), "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$3\r\n115\r\n", "the GETACK is not counted yet");
    assert_eq!(h.info_field(console, "replication", "slave_repl_offset"), "152", "then it is: 37 bytes");
}

#[test]
fn replicaof_answers_wait_blocked_clients_with_unblocked_and_closes_them() {
    let mut h = Harness::new();
    let admin = h.client();
    let replica = h.client();
    // A replica attaches, so WAIT has something to wait for.
    h.command(replica, &["REPLCONF", "listening-port", "7001"]);
    h.command(replica, &["PSYNC", "?", "-1"]);
    let waiter = h.client();
    h.command(waiter, &["SET", "k", "v"]);
    h.command(waiter, &["WAIT", "1", "0"]);
    assert_eq!(h.take(waiter), "+OK\r\n", "WAIT blocks");
    h.command(waiter, &["GET", "k"]);
    assert_eq!(h.take(waiter), "", "a blocked client reads nothing more");
    h.command(admin, &["REPLICAOF", "10.0.0.1", "7000"]);
    assert_eq!(h.take(admin), "+OK\r\n");
    assert_eq!(
        h.take(waiter),
        "-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)\r\n"
    );
    assert!(h.closed.contains(&waiter), "closed after the reply");
}
