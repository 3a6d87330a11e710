//! CONFIG GET / CONFIG SET for the settings of REDIS-REPLICATION.md §1, with Redis 7.0's names,
//! aliases (`slave-*`), defaults, validation and error wording.
//!
//! The settings the engine acts on live in typed form in [`ReplConfig`](crate::node::replication::ReplConfig);
//! the others are validated and kept as text so CONFIG GET answers what CONFIG SET stored, as a
//! learner comparing with a real Redis expects.

use super::{flags, Command, Ctx, NodeFn, Reply};
use crate::node::Node;
use crate::resp::Frame;

const I32_MAX: i64 = i32::MAX as i64;

/// How a setting's value is parsed.
#[derive(Clone, Copy)]
enum Kind {
    Bool,
    Int(i64, i64),
    /// A memory value in bytes, with the minimum Redis enforces.
    Memory(u64),
    Enum(&'static [&'static str]),
    Str,
    Immutable,
    /// `client-output-buffer-limit`: class hard soft seconds, repeated.
    OutputBufferLimit,
}

struct Param {
    name: &'static str,
    alias: Option<&'static str>,
    kind: Kind,
    default: &'static str,
}

const fn p(name: &'static str, alias: Option<&'static str>, kind: Kind, default: &'static str) -> Param {
    Param { name, alias, kind, default }
}

const PARAMS: &[Param] = &[
    p("masterauth", None, Kind::Str, ""),
    p("requirepass", None, Kind::Str, ""),
    p("masteruser", None, Kind::Str, ""),
    p("replica-serve-stale-data", Some("slave-serve-stale-data"), Kind::Bool, "yes"),
    p("replica-read-only", Some("slave-read-only"), Kind::Bool, "yes"),
    p("repl-diskless-sync", None, Kind::Bool, "yes"),
    p("repl-diskless-sync-delay", None, Kind::Int(0, I32_MAX), "5"),
    p("repl-diskless-sync-max-replicas", None, Kind::Int(0, I32_MAX), "0"),
    p("repl-diskless-load", None, Kind::Enum(&["disabled", "on-empty-db", "swapdb"]), "disabled"),
    p("repl-ping-replica-period", Some("repl-ping-slave-period"), Kind::Int(1, I32_MAX), "10"),
    p("repl-timeout", None, Kind::Int(1, I32_MAX), "60"),
    p("repl-disable-tcp-nodelay", None, Kind::Bool, "no"),
    p("repl-backlog-size", None, Kind::Memory(1), "1048576"),
    p("repl-backlog-ttl", None, Kind::Int(0, I32_MAX), "3600"),
    p("replica-priority", Some("slave-priority"), Kind::Int(0, I32_MAX), "100"),
    p("replica-announce-ip", Some("slave-announce-ip"), Kind::Str, ""),
    p("replica-announce-port", Some("slave-announce-port"), Kind::Int(0, 65535), "0"),
    p("replica-announced", None, Kind::Bool, "yes"),
    p("min-replicas-to-write", Some("min-slaves-to-write"), Kind::Int(0, I32_MAX), "0"),
    p("min-replicas-max-lag", Some("min-slaves-max-lag"), Kind::Int(0, I32_MAX), "10"),
    p(
        "client-output-buffer-limit",
        None,
        Kind::OutputBufferLimit,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
    p("proto-max-bulk-len", None, Kind::Memory(1 << 20), "536870912"),
    p("client-query-buffer-limit", None, Kind::Memory(1 << 20), "1073741824"),
    p("replica-lazy-flush", Some("slave-lazy-flush"), Kind::Bool, "no"),
    p("replica-ignore-maxmemory", Some("slave-ignore-maxmemory"), Kind::Bool, "yes"),
    p("propagation-error-behavior", None, Kind::Enum(&["ignore", "panic", "panic-on-replicas"]), "ignore"),
    p("replica-ignore-disk-write-errors", None, Kind::Bool, "no"),
    p("rdb-del-sync-files", None, Kind::Bool, "no"),
    p("rdbcompression", None, Kind::Bool, "yes"),
    p("rdbchecksum", None, Kind::Bool, "yes"),
    p("lazyfree-lazy-expire", None, Kind::Bool, "no"),
    p("shutdown-timeout", None, Kind::Int(0, I32_MAX), "10"),
    p("databases", None, Kind::Immutable, "16"),
    p("hz", None, Kind::Int(i64::MIN, i64::MAX), "10"),
    p("lab-rdb-bytes-per-sec", None, Kind::Int(1, i64::MAX), "52428800"),
    p("lab-legacy-sync", None, Kind::Bool, "no"),
];

/// Configuration commands.
pub(super) const COMMANDS: &[Command<NodeFn>] =
    &[Command { name: "config", arity: -2, flags: flags::STALE | flags::ADMIN, handler: config }];

/// The settings of a node that differ from Redis's defaults, as `redis.conf` lines would give
/// them (the lab's own `lab-*` settings left out): what an export of the lab must carry.
pub fn changed_settings(node: &crate::node::Node) -> Vec<(&'static str, String)> {
    PARAMS
        .iter()
        .filter(|p| !p.name.starts_with("lab-"))
        .filter_map(|p| {
            let value = node.config_get_value(p);
            // The default as CONFIG GET prints it (sizes and enums are normalised the same way).
            (value != p.default).then_some((p.name, value))
        })
        .collect()
}

/// Whether CONFIG SET knows a parameter of this name (or alias), in any case.
pub fn is_parameter(name: &str) -> bool {
    find(name).is_some()
}

fn find(name: &str) -> Option<&'static Param> {
    let name = name.to_ascii_lowercase();
    PARAMS.iter().find(|p| p.name == name || p.alias == Some(name.as_str()))
}

/// Glob matching as Redis's `stringmatchlen` does it for config names: `*`, `?`, `[...]`, `\`.
fn glob(pat: &[u8], s: &[u8]) -> bool {
    super::string_match(pat, s, true)
}

/// Parses a memory value the way Redis's `memtoull` does: a number with an optional unit
/// (k, kb, m, mb, g, gb; case-insensitive).
fn parse_memory(v: &str) -> Option<u64> {
    let v = v.to_ascii_lowercase();
    let units: [(&str, u64); 7] = [
        ("gb", 1 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1000),
        ("b", 1),
    ];
    let (num, mul) = units.iter().find_map(|(s, m)| v.strip_suffix(s).map(|n| (n, *m))).unwrap_or((v.as_str(), 1));
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    num.parse::<u64>().ok()?.checked_mul(mul)
}

fn failed(name: &str, why: &str) -> String {
    format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
}

/// Validates a value and returns its canonical text (what CONFIG GET will print).
fn canonical(p: &Param, value: &str) -> Result<String, String> {
    match p.kind {
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err(failed(p.name, "argument must be 'yes' or 'no'")),
        },
        Kind::Int(min, max) => {
            let n: i64 = value.parse().map_err(|_| failed(p.name, "argument couldn't be parsed into an integer"))?;
            if p.name == "hz" {
                return Ok(n.clamp(1, 500).to_string());
            }
            if n < min || n > max {
                return Err(failed(p.name, &format!("argument must be between {min} and {max} inclusive")));
            }
            Ok(n.to_string())
        }
        Kind::Memory(min) => {
            let n = parse_memory(value).ok_or_else(|| failed(p.name, "argument must be a memory value"))?;
            if n < min {
                return Err(failed(p.name, &format!("argument must be between {min} and {} inclusive", i64::MAX)));
            }
            let n = if p.name == "repl-backlog-size" { n.max(16 * 1024) } else { n };
            Ok(n.to_string())
        }
        Kind::Enum(options) => {
            let v = value.to_ascii_lowercase();
            if options.contains(&v.as_str()) {
                Ok(v)
            } else {
                Err(failed(p.name, &format!("argument(s) must be one of the following: {}", options.join(", "))))
            }
        }
        Kind::Str => Ok(value.to_string()),
        Kind::Immutable => Err(failed(p.name, "can't set immutable config")),
        Kind::OutputBufferLimit => Err(failed(p.name, "wrong number of arguments")),
    }
}

/// `client-output-buffer-limit <class> <hard> <soft> <seconds> ...`: updates the classes given.
fn output_buffer_limit(current: &str, value: &str) -> Result<String, String> {
    let name = "client-output-buffer-limit";
    let words: Vec<&str> = value.split_whitespace().collect();
    if words.is_empty() || words.len() % 4 != 0 {
        return Err(failed(name, "wrong number of arguments"));
    }
    let mut classes: Vec<(String, [u64; 3])> = current
        .split_whitespace()
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|c| (c[0].to_string(), [c[1].parse().unwrap_or(0), c[2].parse().unwrap_or(0), c[3].parse().unwrap_or(0)]))
        .collect();
    for c in words.chunks(4) {
        let class = match c[0].to_ascii_lowercase().as_str() {
            "normal" => "normal",
            "replica" | "slave" => "slave",
            "pubsub" => "pubsub",
            _ => return Err(failed(name, "Invalid client class specified in buffer limit configuration.")),
        };
        let hard = parse_memory(c[1]).ok_or_else(|| {
            failed(name, "Error in hard, soft or soft_seconds setting in buffer limit configuration.")
        })?;
        let soft = parse_memory(c[2]).ok_or_else(|| {
            failed(name, "Error in hard, soft or soft_seconds setting in buffer limit configuration.")
        })?;
        let secs: u64 = c[3]
            .parse()
            .map_err(|_| failed(name, "Error in hard, soft or soft_seconds setting in buffer limit configuration."))?;
        if let Some(e) = classes.iter_mut().find(|e| e.0 == class) {
            e.1 = [hard, soft, secs];
        }
    }
    Ok(classes.iter().map(|(c, v)| format!("{c} {} {} {}", v[0], v[1], v[2])).collect::<Vec<_>>().join(" "))
}

/// One class's `hard soft seconds` from a `client-output-buffer-limit` text (zeros if absent).
pub(crate) fn class_limits(text: &str, class: &str) -> [u64; 3] {
    let words: Vec<&str> = text.split_whitespace().collect();
    let found = words.chunks(4).find(|c| c[0] == class);
    let num = |i: usize| found.and_then(|c| c.get(i)).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    [num(1), num(2), num(3)]
}

impl Node {
    /// The current text of a setting, by canonical name.
    fn config_get_value(&self, p: &Param) -> String {
        let r = &self.cfg.repl;
        let yn = |b: bool| if b { "yes" } else { "no" }.to_string();
        match p.name {
            "repl-diskless-sync" => yn(r.diskless_sync),
            "repl-diskless-sync-delay" => r.diskless_sync_delay.to_string(),
            "repl-diskless-sync-max-replicas" => r.diskless_sync_max_replicas.to_string(),
            "repl-ping-replica-period" => r.ping_period.to_string(),
            "repl-timeout" => r.timeout.to_string(),
            "repl-backlog-size" => r.backlog_size.to_string(),
            "repl-backlog-ttl" => r.backlog_ttl.to_string(),
            "replica-read-only" => yn(r.replica_read_only),
            "replica-serve-stale-data" => yn(r.serve_stale_data),
            "replica-priority" => r.replica_priority.to_string(),
            "lab-rdb-bytes-per-sec" => r.rdb_bytes_per_sec.to_string(),
            _ => self.config_text.get(p.name).cloned().unwrap_or_else(|| p.default.to_string()),
        }
    }

    /// Stores a validated value, updating the typed settings the engine acts on.
    fn config_store(&mut self, p: &Param, v: String) {
        let r = &mut self.cfg.repl;
        let n = || v.parse::<u64>().unwrap_or(0);
        match p.name {
            "repl-diskless-sync" => r.diskless_sync = v == "yes",
            "repl-diskless-sync-delay" => r.diskless_sync_delay = n(),
            "repl-diskless-sync-max-replicas" => r.diskless_sync_max_replicas = n() as usize,
            "repl-ping-replica-period" => r.ping_period = n(),
            "repl-timeout" => r.timeout = n(),
            "repl-backlog-size" => {
                r.backlog_size = n() as usize;
                let size = r.backlog_size;
                if let Some(b) = self.backlog.as_mut() {
                    b.resize(size);
                }
            }
            "repl-backlog-ttl" => r.backlog_ttl = n(),
            "replica-read-only" => r.replica_read_only = v == "yes",
            "replica-serve-stale-data" => r.serve_stale_data = v == "yes",
            "replica-priority" => r.replica_priority = n(),
            "lab-rdb-bytes-per-sec" => r.rdb_bytes_per_sec = n(),
            _ => {
                match p.name {
                    "proto-max-bulk-len" => self.limits.proto_max_bulk_len = n(),
                    "client-query-buffer-limit" => self.limits.query_buffer = n(),
                    "client-output-buffer-limit" => self.limits.normal_output = class_limits(&v, "normal"),
                    _ => {}
                }
                self.config_text.insert(p.name, v);
            }
        }
    }

    /// CONFIG SET for several settings at once: all are validated before any is applied.
    pub fn config_set_many(&mut self, pairs: &[(String, String)]) -> Result<(), String> {
        let mut staged = Vec::new();
        for (i, (name, value)) in pairs.iter().enumerate() {
            let Some(p) = find(name) else {
                return Err(format!("ERR Unknown option or number of arguments for CONFIG SET - '{name}'"));
            };
            if pairs[..i].iter().any(|(n, _)| find(n).is_some_and(|q| q.name == p.name)) {
                return Err(failed(name, "duplicate parameter"));
            }
            let v = match p.kind {
                Kind::OutputBufferLimit => output_buffer_limit(&self.config_get_value(p), value)?,
                _ => canonical(p, value)?,
            };
            staged.push((p, v));
        }
        for (p, v) in staged {
            self.config_store(p, v);
        }
        Ok(())
    }

    /// CONFIG SET for one setting, as `repl-lab server --config NAME VALUE` applies it.
    pub fn config_set(&mut self, name: &str, value: &str) -> Result<(), String> {
        self.config_set_many(&[(name.to_string(), value.to_string())])
    }
}

fn config(node: &mut Node, _: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    let text = |a: &Vec<u8>| String::from_utf8_lossy(a).into_owned();
    Ok(Some(match sub.as_str() {
        "get" if argv.len() >= 3 => {
            let mut out = Vec::new();
            for p in PARAMS {
                let shown = if argv[2..].iter().any(|pat| glob(pat, p.name.as_bytes())) {
                    Some(p.name)
                } else {
                    p.alias.filter(|a| argv[2..].iter().any(|pat| glob(pat, a.as_bytes())))
                };
                if let Some(name) = shown {
                    out.push(Frame::bulk(name));
                    out.push(Frame::bulk(node.config_get_value(p)));
                }
            }
            Frame::Array(out)
        }
        "set" if argv.len() >= 4 && argv.len() % 2 == 0 => {
            let pairs: Vec<(String, String)> = argv[2..].chunks(2).map(|c| (text(&c[0]), text(&c[1]))).collect();
            match node.config_set_many(&pairs) {
                Ok(()) => Frame::ok(),
                Err(e) => Frame::error(e),
            }
        }
        "get" | "set" => Frame::error(format!("ERR wrong number of arguments for 'config|{sub}' command")),
        "resetstat" if argv.len() == 2 => {
            node.stats = Default::default();
            Frame::ok()
        }
        _ => Frame::error(format!("ERR unknown subcommand '{}'. Try CONFIG HELP.", text(&argv[1]))),
    }))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::node::commands::testutil::world;

    use crate::sim::World;

    #[test]
    fn errors_and_values_as_redis_words_them() {
        let mut w = world();
        let c = |w: &mut World, l: &str| w.console(0, l);
        assert_eq!(c(&mut w, "CONFIG SET repl-timeout abc"), "(error) ERR CONFIG SET failed (possibly related to argument 'repl-timeout') - argument couldn't be parsed into an integer");
        assert_eq!(c(&mut w, "CONFIG SET repl-timeout 0"), "(error) ERR CONFIG SET failed (possibly related to argument 'repl-timeout') - argument must be between 1 and 2147483647 inclusive");
        assert_eq!(c(&mut w, "CONFIG SET repl-diskless-sync maybe"), "(error) ERR CONFIG SET failed (possibly related to argument 'repl-diskless-sync') - argument must be 'yes' or 'no'");
        assert_eq!(
            c(&mut w, "CONFIG SET foo 1"),
            "(error) ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
        );
        assert_eq!(c(&mut w, "CONFIG SET repl-backlog-size 1x"), "(error) ERR CONFIG SET failed (possibly related to argument 'repl-backlog-size') - argument must be a memory value");
        assert_eq!(c(&mut w, "CONFIG SET repl-backlog-size 100"), "OK");
        assert_eq!(c(&mut w, "CONFIG GET repl-backlog-size"), "1) \"repl-backlog-size\"\n2) \"16384\"");
        assert_eq!(c(&mut w, "CONFIG SET client-output-buffer-limit \"replica 1mb 2mb 3\""), "OK");
        assert_eq!(
            c(&mut w, "CONFIG GET client-output-buffer-limit"),
            "1) \"client-output-buffer-limit\"\n2) \"normal 0 0 0 slave 1048576 2097152 3 pubsub 33554432 8388608 60\""
        );
        assert_eq!(c(&mut w, "CONFIG SET repl-diskless-load bad"), "(error) ERR CONFIG SET failed (possibly related to argument 'repl-diskless-load') - argument(s) must be one of the following: disabled, on-empty-db, swapdb");
        assert_eq!(c(&mut w, "CONFIG GET slave-read-only"), "1) \"slave-read-only\"\n2) \"yes\"");
        assert_eq!(
            c(&mut w, "CONFIG SET databases 3"),
            "(error) ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
        );
        assert_eq!(c(&mut w, "CONFIG SET hz 0"), "OK");
        assert_eq!(c(&mut w, "CONFIG GET hz"), "1) \"hz\"\n2) \"1\"");
        assert_eq!(
            c(&mut w, "CONFIG SET repl-timeout"),
            "(error) ERR wrong number of arguments for 'config|set' command"
        );
        assert_eq!(
            c(&mut w, "CONFIG SET repl-timeout 5 repl-timeout 6"),
            "(error) ERR CONFIG SET failed (possibly related to argument 'repl-timeout') - duplicate parameter"
        );
        assert_eq!(
            c(&mut w, "CONFIG SET repl-timeout 5 bad x"),
            "(error) ERR Unknown option or number of arguments for CONFIG SET - 'bad'"
        );
        assert_eq!(c(&mut w, "CONFIG GET repl-timeout"), "1) \"repl-timeout\"\n2) \"60\"", "all or nothing");
        assert_eq!(
            c(&mut w, "CONFIG GET min-slaves*"),
            "1) \"min-slaves-to-write\"\n2) \"0\"\n3) \"min-slaves-max-lag\"\n4) \"10\""
        );
    }
}
