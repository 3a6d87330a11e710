//! Server and replication commands: PING, ECHO, INFO, ROLE, REPLICAOF (SLAVEOF), REPLCONF,
//! SYNC/PSYNC, WAIT, FAILOVER, SAVE/BGSAVE/LASTSAVE, DEBUG, COMMAND COUNT, TIME and AUTH.
//! CONFIG lives in [`super::config`]. Most are thin: the replication they start or answer
//! about is in `crate::node::replication`.

use std::fmt::Write as _;

use super::{flags, syntax_error, wrong_arity, Command, Ctx, NodeFn, Reply};
use crate::node::replication::ReplState;
use crate::node::Node;
use crate::resp::Frame;

/// Server and replication commands.
pub(super) const COMMANDS: &[Command<NodeFn>] = &[
    Command { name: "ping", arity: -1, flags: 0, handler: ping },
    Command { name: "echo", arity: 2, flags: flags::STALE, handler: echo },
    Command { name: "info", arity: -1, flags: flags::STALE, handler: info },
    Command { name: "role", arity: 1, flags: flags::STALE, handler: role },
    Command { name: "replicaof", arity: 3, flags: flags::STALE | flags::ADMIN, handler: replicaof },
    Command { name: "slaveof", arity: 3, flags: flags::STALE | flags::ADMIN, handler: replicaof },
    Command { name: "replconf", arity: -1, flags: flags::STALE | flags::ADMIN, handler: replconf },
    Command { name: "psync", arity: -3, flags: flags::ADMIN, handler: sync },
    Command { name: "sync", arity: 1, flags: flags::ADMIN, handler: sync },
    Command { name: "debug", arity: -2, flags: flags::ADMIN | flags::STALE, handler: debug },
    Command { name: "command", arity: -1, flags: flags::STALE, handler: command },
    Command { name: "time", arity: 1, flags: flags::STALE, handler: time },
    Command { name: "save", arity: 1, flags: flags::ADMIN, handler: save },
    Command { name: "bgsave", arity: -1, flags: flags::ADMIN, handler: bgsave },
    Command { name: "lastsave", arity: 1, flags: flags::STALE, handler: lastsave },
    Command { name: "wait", arity: 3, flags: 0, handler: wait },
    Command { name: "auth", arity: -2, flags: flags::STALE, handler: auth },
    Command { name: "failover", arity: -1, flags: flags::ADMIN | flags::STALE, handler: failover },
];

pub(super) fn ping(_: &mut Node, _: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    match argv.len() {
        1 => Ok(Some(Frame::Simple("PONG".into()))),
        2 => Ok(Some(Frame::Bulk(argv[1].clone()))),
        _ => Err(wrong_arity("ping")),
    }
}

pub(super) fn echo(_: &mut Node, _: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    Ok(Some(Frame::Bulk(argv[1].clone())))
}

pub(super) fn replicaof(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    if node.peer(ctx.conn).is_some() {
        return Err(Frame::error("ERR Command is not valid when client is a replica."));
    }
    let who = node.client_description(ctx.conn);
    if node.failover.is_some() {
        return Err(Frame::error("ERR REPLICAOF not allowed while failing over."));
    }
    if argv[1].eq_ignore_ascii_case(b"no") && argv[2].eq_ignore_ascii_case(b"one") {
        node.replicaof_no_one(&who);
        return Ok(Some(Frame::ok()));
    }
    let port = std::str::from_utf8(&argv[2]).ok().and_then(|p| p.parse::<i64>().ok());
    let Some(port) = port.filter(|p| (0..=65535).contains(p)) else {
        return Err(Frame::error("ERR Invalid master port"));
    };
    let host = String::from_utf8_lossy(&argv[1]).into_owned();
    Ok(Some(Frame::Simple(node.replicaof(&host, port as u16, &who).to_string())))
}

pub(super) fn replconf(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    Ok(node.replconf(ctx.conn, argv))
}

pub(super) fn sync(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    if ctx.from_master {
        return Ok(None);
    }
    Ok(node.sync_command(ctx.conn, argv))
}

pub(super) fn role(node: &mut Node, _: &mut Ctx, _: &[Vec<u8>]) -> Reply {
    Ok(Some(match &node.master {
        None => {
            let rows = node
                .replica_rows()
                .into_iter()
                .filter(|r| r.2 == crate::node::replication::SlaveState::Online)
                .map(|(ip, port, _, off, _)| {
                    Frame::Array(vec![Frame::bulk(ip), Frame::bulk(port.to_string()), Frame::bulk(off.to_string())])
                })
                .collect();
            Frame::Array(vec![Frame::bulk("master"), Frame::Integer(node.master_repl_offset), Frame::Array(rows)])
        }
        Some(l) => Frame::Array(vec![
            Frame::bulk("slave"),
            Frame::bulk(&l.host),
            Frame::Integer(l.port as i64),
            Frame::bulk(l.state.role_name()),
            Frame::Integer(l.client.as_ref().map_or(-1, |c| c.reploff)),
        ]),
    }))
}

pub(super) fn debug(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    match argv[1].to_ascii_lowercase().as_slice() {
        b"digest" => Ok(Some(Frame::Simple(node.digest()))),
        b"panic" => panic!("DEBUG PANIC called at Unix time {}", node.unix_ms() / 1000),
        b"set-active-expire" if argv.len() == 3 => {
            node.active_expire_enabled = argv[2] != b"0";
            Ok(Some(Frame::ok()))
        }
        b"sleep" if argv.len() == 3 => {
            if let Some(micros) = sleep_micros(&argv[2]) {
                let now = node.now;
                node.pause(now, micros);
            }
            Ok(Some(Frame::ok()))
        }
        b"populate" if argv.len() >= 3 && argv.len() <= 5 => populate(node, ctx, argv),
        _ => Err(Frame::error(format!(
            "ERR unknown subcommand '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(&argv[1])
        ))),
    }
}

/// How long `DEBUG SLEEP <seconds>` stops the node, read as Redis 7.0 reads it: `strtod` of the
/// argument with nothing checked (`abc` is 0, `0.5x` is 0.5, `0x10` is 16), times a million
/// converted to a C `long long`, given to `nanosleep`. A value under a microsecond sleeps not at
/// all; a negative one, NaN, infinity or one past the `long long` range (`5e50`) becomes a
/// negative time `nanosleep` refuses, so Redis answers `+OK` at once, and so does the node.
fn sleep_micros(arg: &[u8]) -> Option<u64> {
    let micros = crate::commands::numbers::strtod(arg).0 * 1_000_000.0;
    // `i64::MAX as f64` rounds up to 2^63, the first value out of range.
    (micros >= 1.0 && micros < i64::MAX as f64).then_some(micros as u64)
}

/// The most keys `DEBUG POPULATE` leaves in a node (all its databases). The lab runs in a
/// browser tab, which gives a page's WebAssembly at most 4 GB, and every replica holds a copy:
/// 2,000,000 string keys take about 220 MB in the page (110 bytes each, `cargo bench --bench
/// memory`), so eight nodes holding them, and the RDB files between them, still fit. Redis has
/// no such limit; the README lists it among the differences.
pub const POPULATE_MAX_KEYS: u64 = 2_000_000;

/// The most bytes of values one `DEBUG POPULATE` writes (its `size` times its `count`), for the
/// same reason: 2,000 keys of 1 MB would take the whole tab as surely as millions of small ones.
pub const POPULATE_MAX_BYTES: u64 = 256 << 20;

/// `DEBUG POPULATE count [prefix] [size]`: keys `prefix:N` holding `value:N` (zero-padded to
/// `size`), skipping keys that exist; not propagated, as in Redis. Refused, with nothing added,
/// if it could leave more than [`POPULATE_MAX_KEYS`] keys in the node or write more than
/// [`POPULATE_MAX_BYTES`] of values.
fn populate(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let num = |a: &Vec<u8>| std::str::from_utf8(a).ok().and_then(|s| s.parse::<u64>().ok());
    let Some(count) = num(&argv[2]) else {
        return Err(Frame::error("ERR value is out of range, must be positive"));
    };
    let prefix = argv.get(3).cloned().unwrap_or_else(|| b"key".to_vec());
    let size = match argv.get(4).map(num) {
        None => 0,
        Some(Some(n)) if n <= 1 << 20 => n as usize,
        Some(_) => return Err(Frame::error("ERR value is out of range, must be positive")),
    };
    if (node.keyspace.total_keys() as u64).saturating_add(count) > POPULATE_MAX_KEYS {
        return Err(Frame::error(format!(
            "ERR the lab holds at most {POPULATE_MAX_KEYS} keys per node, to fit in a browser tab (Redis has no such limit)"
        )));
    }
    if count.saturating_mul(size as u64) > POPULATE_MAX_BYTES {
        return Err(Frame::error(format!(
            "ERR the lab writes at most {POPULATE_MAX_BYTES} bytes of values in one DEBUG POPULATE, to fit in a browser tab (Redis has no such limit)"
        )));
    }
    let db = node.keyspace.db_mut(ctx.db);
    let mut added = 0;
    for j in 0..count {
        let mut key = prefix.clone();
        key.extend_from_slice(format!(":{j}").as_bytes());
        if db.get_raw(&key).is_some() {
            continue;
        }
        let mut val = format!("value:{j}").into_bytes();
        if size > 0 {
            val.resize(size, 0);
        }
        db.set(key, crate::keyspace::Value::Str(val));
        added += 1;
    }
    if added > 0 && (node.master.is_some() || !node.serving.replicas.is_empty()) {
        let replicas = node.serving.replicas.len();
        node.note(crate::node::Note::NotPropagated { command: "DEBUG POPULATE".into(), replicas });
    }
    Ok(Some(Frame::ok()))
}

/// `WAIT numreplicas timeout`: how many replicas acknowledged this client's writes, blocking
/// until enough do or the timeout passes (REDIS-REPLICATION.md §7.6).
pub(super) fn wait(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    if node.master.is_some() {
        return Err(Frame::error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."));
    }
    let Some(n) = super::parse_i64(&argv[1]) else {
        return Err(crate::commands::not_an_integer());
    };
    let Some(timeout) = super::parse_i64(&argv[2]) else {
        return Err(Frame::error("ERR timeout is not an integer or out of range"));
    };
    if timeout < 0 {
        return Err(Frame::error("ERR timeout is negative"));
    }
    let in_exec = ctx.in_exec;
    Ok(node.wait_command(ctx.conn, n.max(0) as usize, timeout as u64, in_exec))
}

pub(super) fn failover(node: &mut Node, _: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    Ok(Some(node.failover_command(argv)))
}

/// `AUTH [default] password` against `requirepass` (the lab has only the default user).
pub(super) fn auth(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    if argv.len() > 3 {
        return Err(syntax_error());
    }
    let Some(pass) = node.requirepass().map(str::to_string) else {
        return Err(Frame::error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
    };
    let user_ok = argv.len() == 2 || argv[1] == b"default";
    if user_ok && argv[argv.len() - 1] == pass.as_bytes() {
        if let Some(c) = node.conns.get_mut(&ctx.conn) {
            c.authenticated = true;
        }
        return Ok(Some(Frame::ok()));
    }
    Err(Frame::error("WRONGPASS invalid username-password pair or user is disabled."))
}

/// `BGSAVE`: a forked child writes the RDB while the node keeps serving.
pub(super) fn bgsave(node: &mut Node, _: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    if argv.len() > 2 || (argv.len() == 2 && !argv[1].eq_ignore_ascii_case(b"schedule")) {
        return Err(syntax_error());
    }
    Ok(Some(node.bgsave()))
}

/// `LASTSAVE`: unix seconds of the last successful save.
pub(super) fn lastsave(node: &mut Node, _: &mut Ctx, _: &[Vec<u8>]) -> Reply {
    Ok(Some(Frame::Integer(node.persistence.last_save_ms / 1000)))
}

/// `SAVE`: writes the dataset to the node's (simulated) disk, as `dump.rdb`.
pub(super) fn save(node: &mut Node, _: &mut Ctx, _: &[Vec<u8>]) -> Reply {
    if node.child.is_some() {
        return Err(Frame::error("ERR Background save already in progress"));
    }
    let data = node.rdb_snapshot();
    node.saved_to_disk(data, false);
    node.log('*', "DB saved on disk");
    Ok(Some(Frame::ok()))
}

/// `TIME`: the node's clock (virtual in the lab) as unix seconds and microseconds.
pub(super) fn time(node: &mut Node, _: &mut Ctx, _: &[Vec<u8>]) -> Reply {
    let us = node.cfg.epoch_unix_ms as i128 * 1000 + node.now as i128;
    Ok(Some(Frame::Array(vec![Frame::bulk((us / 1_000_000).to_string()), Frame::bulk((us % 1_000_000).to_string())])))
}

pub(super) fn command(_: &mut Node, _: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    match argv.get(1).map(|a| a.to_ascii_lowercase()) {
        Some(s) if s == b"count" && argv.len() == 2 => Ok(Some(Frame::Integer(super::count() as i64))),
        Some(s) => {
            Err(Frame::error(format!("ERR unknown subcommand '{}'. Try COMMAND HELP.", String::from_utf8_lossy(&s))))
        }
        None => Err(syntax_error()),
    }
}

pub(super) fn info(node: &mut Node, _: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let wanted: Vec<String> = argv[1..].iter().map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).collect();
    Ok(Some(Frame::Bulk(node.info_text(&wanted).into_bytes())))
}

impl Node {
    /// What `INFO <sections>` answers (every section when none is named), read without counting
    /// as a command: the page's inspector looks through it.
    pub fn info_text<S: AsRef<str>>(&self, sections: &[S]) -> String {
        let wanted: Vec<&str> = sections.iter().map(AsRef::as_ref).collect();
        let all = wanted.is_empty() || wanted.iter().any(|w| matches!(*w, "all" | "default" | "everything"));
        let mut out = String::new();
        for (name, f) in SECTIONS {
            if all || wanted.iter().any(|w| w.eq_ignore_ascii_case(name)) {
                if !out.is_empty() {
                    out.push_str("\r\n");
                }
                f(self, &mut out);
            }
        }
        out
    }
}

type Section = fn(&Node, &mut String);
const SECTIONS: &[(&str, Section)] = &[
    ("server", info_server),
    ("clients", info_clients),
    ("persistence", info_persistence),
    ("stats", info_stats),
    ("replication", info_replication),
    ("keyspace", info_keyspace),
];

fn info_persistence(node: &Node, o: &mut String) {
    let p = &node.persistence;
    let running = node.child.as_ref().filter(|c| c.target == crate::node::replication::master::ChildTarget::Disk);
    let current = running.map_or(-1, |c| (node.now.saturating_sub(c.started) / 1_000_000) as i64);
    let (done, total) = running.map_or((0, 0), |c| c.progress());
    let perc = if total > 0 { done as f64 * 100.0 / total as f64 } else { 0.0 };
    let (loading, async_loading) = node.loading_flags();
    let _ = write!(
        o,
        "# Persistence\r\nloading:{}\r\nasync_loading:{}\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\n\
         current_cow_size_age:0\r\ncurrent_fork_perc:{perc:.2}\r\ncurrent_save_keys_processed:0\r\n\
         current_save_keys_total:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\n\
         rdb_last_save_time:{}\r\nrdb_last_bgsave_status:ok\r\nrdb_last_bgsave_time_sec:{}\r\n\
         rdb_current_bgsave_time_sec:{current}\r\nrdb_saves:{}\r\nrdb_last_cow_size:0\r\n\
         rdb_last_load_keys_expired:0\r\nrdb_last_load_keys_loaded:{}\r\naof_enabled:0\r\n\
         aof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\n\
         aof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\n\
         aof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\naof_last_cow_size:0\r\n\
         module_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
        u8::from(loading),
        u8::from(async_loading),
        p.dirty,
        u8::from(running.is_some()),
        p.last_save_ms / 1000,
        p.last_bgsave_secs,
        p.saves,
        p.last_load_keys
    );
    if let Some(lines) = node.info_loading() {
        o.push_str(&lines);
    }
}

fn info_server(node: &Node, o: &mut String) {
    let up = node.now / 1_000_000;
    let _ = write!(
        o,
        "# Server\r\nredis_version:{}\r\nredis_mode:standalone\r\nos:Redis Replication Lab (virtual)\r\narch_bits:64\r\nprocess_id:1\r\nrun_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:10\r\n",
        crate::REDIS_VERSION,
        node.run_id,
        node.cfg.port,
        up,
        up / 86400
    );
}

fn info_clients(node: &Node, o: &mut String) {
    let clients =
        node.conns.values().filter(|c| c.replica.is_none() && c.kind == crate::node::ConnKind::Client).count();
    let _ = write!(o, "# Clients\r\nconnected_clients:{clients}\r\n");
}

fn info_stats(node: &Node, o: &mut String) {
    let s = &node.stats;
    let _ = write!(
        o,
        "# Stats\r\ntotal_commands_processed:{}\r\ntotal_net_repl_input_bytes:{}\r\ntotal_net_repl_output_bytes:{}\r\nexpired_keys:{}\r\nsync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\n",
        s.commands_processed, s.net_repl_input_bytes, s.net_repl_output_bytes, s.expired_keys, s.sync_full, s.sync_partial_ok, s.sync_partial_err
    );
}

fn secs(node: &Node, since: u64) -> u64 {
    (node.now.saturating_sub(since)) / 1_000_000
}

fn info_replication(node: &Node, o: &mut String) {
    o.push_str("# Replication\r\n");
    match &node.master {
        None => o.push_str("role:master\r\n"),
        Some(l) => {
            let (read, applied) = match (&l.client, &l.cached) {
                (Some(c), _) | (None, Some(c)) => (c.read_reploff, c.reploff),
                _ => (1, 1),
            };
            let last_io = l.client.as_ref().map_or(-1, |c| secs(node, c.last_interaction) as i64);
            let _ = write!(
                o,
                "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n",
                l.host,
                l.port,
                if l.state == ReplState::Connected { "up" } else { "down" },
                last_io,
                u8::from(l.state == ReplState::Transfer),
                read,
                applied
            );
            if let (ReplState::Transfer, Some(t)) = (l.state, &l.transfer) {
                // Redis's repl_transfer_size: -1 until the `$` line is read, 0 for an EOF-marked
                // payload (whose size nobody knows), so `left` is negative there.
                let total = match (&t.mark, t.size) {
                    (Some(_), _) => 0,
                    (None, Some(s)) => s as i64,
                    (None, None) => -1,
                };
                let read = t.data.len() as i64;
                let left = total - read;
                let perc = if total != 0 { read as f64 / total as f64 * 100.0 } else { 0.0 };
                let _ = write!(
                    o,
                    "master_sync_total_bytes:{total}\r\nmaster_sync_read_bytes:{read}\r\nmaster_sync_left_bytes:{left}\r\nmaster_sync_perc:{perc:.2}\r\nmaster_sync_last_io_seconds_ago:{}\r\n",
                    secs(node, l.last_io)
                );
            }
            if l.state != ReplState::Connected {
                let down = l.down_since.map_or(-1, |d| secs(node, d) as i64);
                let _ = write!(o, "master_link_down_since_seconds:{down}\r\n");
            }
            let r = &node.cfg.repl;
            let _ = write!(
                o,
                "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:1\r\n",
                r.replica_priority,
                u8::from(r.replica_read_only)
            );
        }
    }
    let rows = node.replica_rows();
    let _ = write!(o, "connected_slaves:{}\r\n", rows.len());
    if node.min_replicas().is_some() {
        let _ = write!(o, "min_slaves_good_slaves:{}\r\n", node.serving.good_replicas);
    }
    for (i, (ip, port, state, off, lag)) in rows.iter().enumerate() {
        let _ = write!(o, "slave{i}:ip={ip},port={port},state={},offset={off},lag={lag}\r\n", state.info_name());
    }
    let (active, first, hist) = match &node.backlog {
        Some(b) => (1, b.first_byte(), b.histlen()),
        None => (0, 0, 0),
    };
    let _ = write!(
        o,
        "master_failover_state:{}\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{active}\r\nrepl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:{first}\r\nrepl_backlog_histlen:{hist}\r\n",
        node.failover_state_name(),
        node.replid,
        node.replid2,
        node.master_repl_offset,
        node.second_replid_offset,
        node.cfg.repl.backlog_size
    );
}

fn info_keyspace(node: &Node, o: &mut String) {
    o.push_str("# Keyspace\r\n");
    for (i, db) in node.keyspace.dbs() {
        if !db.is_empty() {
            let _ = write!(o, "db{i}:keys={},expires={},avg_ttl=0\r\n", db.len(), db.expires_len());
        }
    }
}
