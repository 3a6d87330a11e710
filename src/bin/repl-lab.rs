//! `repl-lab`: the native command.
//!
//! `repl-lab server --port P [--bind H] [--replicaof HOST PORT] [--dir DIR] [--config NAME VALUE]...`
//! runs one engine node on TCP, speaking RESP2 like redis-server, so redis-cli and real Redis
//! servers can talk to it, as its replicas or as its master. `--config` takes the replication
//! settings of REDIS-REPLICATION.md §1 (the CONFIG SET names: `repl-diskless-sync`,
//! `repl-backlog-size`, `repl-timeout`, ...). With `--dir`, the node loads `DIR/dump.rdb` at
//! start-up (with its replication id and offset, so it can PSYNC after a restart) and writes it
//! on SAVE, BGSAVE, SHUTDOWN and a replica's full sync. It runs until SHUTDOWN; exit status 1 if
//! it cannot start (port taken, bad setting, unreadable dump), 2 on bad arguments.
//!
//! `repl-lab sim --seed S --nodes N --virtual-secs T [--faults random] [--writes-per-sec W]` runs
//! one headless simulation (a master and N-1 replicas under a random workload, with random faults
//! if asked), heals, waits for quiescence, checks the invariants and prints a report. It exits 1
//! if an invariant was broken, 2 on bad arguments.
//!
//! `repl-lab export (--log LOG | --scenario FILE) [--at SECONDS] [--port-base P] --out DIR` writes
//! the lab's topology at that virtual time (the end of the run or of the scenario by default) as
//! one `redis.conf` per node, one `sentinel.conf` per sentinel, and `start.sh`/`stop.sh` that run
//! them on real redis-server processes on loopback (nodes on P, P+1, ...; 7000 by default).
//!
//! `repl-lab replay (--scenario FILE | --log LOG) [--engine redis|ours] [--port-base P] [--dir DIR]
//! [--redis-server PATH] [--grace SECONDS]` runs the scenario or shared run in the lab, then does
//! it again on real redis-server (or `repl-lab server`) processes on loopback with a fault proxy
//! per link, and prints each step's checkpoints with the lab's value, the real one and whether
//! they agree; it exits 1 if any differs or the replay cannot be done, 2 on bad arguments.
//!
//! `repl-lab scenario check FILE...` loads each scenario file (errors with file, line, step and
//! field), runs it headless and prints each checkpoint, answer key and challenge with ok/FAIL;
//! it exits 1 if anything failed, 2 on bad arguments.

use std::process::ExitCode;

/// mimalloc, as redis-server links jemalloc: a node's data is millions of small allocations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use redis_repl_lab::native::{run, ServerOptions};
use redis_repl_lab::sim::sweep::{self, SweepConfig};

const USAGE: &str =
    "usage: repl-lab server --port P [--bind HOST] [--replicaof HOST PORT] [--dir DIR] [--config NAME VALUE]...";
const SIM_USAGE: &str =
    "usage: repl-lab sim --seed S --nodes N --virtual-secs T [--faults random|none] [--writes-per-sec W]";

fn parse(args: &[String]) -> Result<ServerOptions, String> {
    let mut opts =
        ServerOptions { bind: "127.0.0.1".into(), port: 6379, replicaof: None, configs: Vec::new(), dir: None };
    let mut it = args.iter();
    let value = |it: &mut std::slice::Iter<String>, flag: &str| {
        it.next().cloned().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
    };
    let port = |s: String| s.parse::<u16>().map_err(|_| format!("Invalid port '{s}'"));
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" => opts.port = port(value(&mut it, "--port")?)?,
            "--bind" => opts.bind = value(&mut it, "--bind")?,
            "--replicaof" => {
                let h = value(&mut it, "--replicaof")?;
                let p = port(value(&mut it, "--replicaof")?)?;
                opts.replicaof = Some((h, p));
            }
            "--dir" => opts.dir = Some(value(&mut it, "--dir")?.into()),
            "--config" => {
                let n = value(&mut it, "--config")?;
                let v = value(&mut it, "--config")?;
                opts.configs.push((n, v));
            }
            other => return Err(format!("unknown option '{other}'\n{USAGE}")),
        }
    }
    Ok(opts)
}

fn parse_sim(args: &[String]) -> Result<SweepConfig, String> {
    let mut cfg = SweepConfig { seed: 1, nodes: 3, virtual_secs: 60, faults: false, writes_per_sec: 50 };
    let mut it = args.iter();
    let value = |it: &mut std::slice::Iter<String>, flag: &str| {
        it.next().cloned().ok_or_else(|| format!("{flag} needs a value\n{SIM_USAGE}"))
    };
    fn num<T: std::str::FromStr + PartialOrd + std::fmt::Display>(s: String, flag: &str, min: T) -> Result<T, String> {
        match s.parse::<T>() {
            Ok(v) if v >= min => Ok(v),
            _ => Err(format!("{flag} wants a whole number of at least {min}, not '{s}'\n{SIM_USAGE}")),
        }
    }
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seed" => cfg.seed = num(value(&mut it, a)?, a, 0)?,
            "--nodes" => cfg.nodes = num(value(&mut it, a)?, a, 1)?,
            "--virtual-secs" => cfg.virtual_secs = num(value(&mut it, a)?, a, 1)?,
            "--writes-per-sec" => cfg.writes_per_sec = num(value(&mut it, a)?, a, 0)?,
            "--faults" => {
                cfg.faults = match value(&mut it, a)?.as_str() {
                    "random" => true,
                    "none" => false,
                    other => return Err(format!("--faults wants 'random' or 'none', not '{other}'\n{SIM_USAGE}")),
                }
            }
            other => return Err(format!("unknown option '{other}'\n{SIM_USAGE}")),
        }
    }
    if cfg.nodes > 26 {
        return Err(format!("--nodes wants at most 26 nodes\n{SIM_USAGE}"));
    }
    Ok(cfg)
}

const RDB_USAGE: &str = "usage: repl-lab rdb dump FILE | repl-lab rdb check FILE";

/// `repl-lab rdb dump FILE` lists a snapshot; `repl-lab rdb check FILE` validates it, in the
/// manner of redis-check-rdb (exit 0 when it loads, 1 with the offset and reason otherwise).
fn rdb_command(args: &[String]) -> ExitCode {
    let (Some(verb), Some(path), None) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("{RDB_USAGE}");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("Cannot open file: {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let file = redis_repl_lab::rdb::read_rdb(&bytes);
    match (verb.as_str(), file) {
        ("dump", Ok(f)) => {
            print!("{}", redis_repl_lab::rdb::describe(&f));
            ExitCode::SUCCESS
        }
        ("check", Ok(f)) => {
            println!("[offset 0] Checking RDB file {path}");
            println!("[info] {} keys read", f.keys);
            let crc = if f.checksum_verified { "verified" } else { "not stored (0): not checked" };
            println!("[info] checksum {crc}");
            println!("\\o/ RDB looks OK! \\o/");
            ExitCode::SUCCESS
        }
        ("dump" | "check", Err(e)) => {
            println!("--- RDB ERROR DETECTED ---");
            println!("[offset {}] {}", e.offset, e.reason);
            ExitCode::FAILURE
        }
        _ => {
            eprintln!("{RDB_USAGE}");
            ExitCode::from(2)
        }
    }
}

const SCENARIO_USAGE: &str = "usage: repl-lab scenario check FILE...";
const EXPORT_USAGE: &str =
    "usage: repl-lab export (--log LOG | --scenario FILE) [--at SECONDS] [--port-base P] --out DIR";

/// A scenario file, loaded and checked; the error lists every problem with its line.
fn load_scenario(path: &str) -> Result<redis_repl_lab::scenario::Scenario, String> {
    let source = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let id = std::path::Path::new(path).file_stem().map_or(path.to_string(), |s| s.to_string_lossy().into_owned());
    redis_repl_lab::scenario::load(&id, &source)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
}

const REPLAY_USAGE: &str =
    "usage: repl-lab replay (--scenario FILE | --log LOG) [--engine redis|ours] [--port-base P] \
[--dir DIR] [--redis-server PATH] [--grace SECONDS]";

/// Reads `--name value` pairs: `take` returns false for a name or a value it does not accept.
/// A bad or lonely option prints the usage and gives the exit status to return (2).
fn option_pairs(args: &[String], usage: &str, mut take: impl FnMut(&str, String) -> bool) -> Result<(), ExitCode> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let Some(v) = it.next().cloned() else {
            eprintln!("{a} needs a value\n{usage}");
            return Err(ExitCode::from(2));
        };
        if !take(a, v) {
            eprintln!("bad option '{a}'\n{usage}");
            return Err(ExitCode::from(2));
        }
    }
    Ok(())
}

/// `repl-lab replay ...`: the plan of a scenario or a shared run, done on real servers.
fn replay_command(args: &[String]) -> ExitCode {
    use redis_repl_lab::native::replay::{replay, Engine, Options};
    use redis_repl_lab::scenario::plan;
    let exe = std::env::current_exe().unwrap_or_else(|_| "repl-lab".into());
    let mut opts = Options::new(Engine::Redis, exe);
    let (mut log, mut scenario) = (None, None);
    let parsed = option_pairs(args, REPLAY_USAGE, |a, v| match a {
        "--log" => log.replace(v).is_none(),
        "--scenario" => scenario.replace(v).is_none(),
        "--engine" => match v.as_str() {
            "redis" => Some(Engine::Redis),
            "ours" => Some(Engine::Ours),
            _ => None,
        }
        .map(|e| opts.engine = e)
        .is_some(),
        "--port-base" => v.parse::<u16>().ok().filter(|p| *p >= 1024).map(|p| opts.port_base = Some(p)).is_some(),
        "--dir" => opts.dir.replace(v.into()).is_none(),
        "--redis-server" => {
            opts.redis_server = v.into();
            true
        }
        "--grace" => v
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| opts.grace = std::time::Duration::from_secs_f64(s))
            .is_some(),
        _ => false,
    });
    if let Err(code) = parsed {
        return code;
    }
    let planned = match (log, scenario) {
        (Some(log), None) => plan::plan_log(&log),
        (None, Some(path)) => load_scenario(&path).and_then(|s| plan::plan(&s)),
        _ => {
            eprintln!("{REPLAY_USAGE}");
            return ExitCode::from(2);
        }
    };
    let outcome = planned.map_err(redis_repl_lab::native::replay::ReplayError::Lab).and_then(|p| replay(&p, &opts));
    match outcome {
        Ok(o) => {
            print!("{}", o.table());
            if o.differences().is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("repl-lab replay: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The session an export starts from: a shared run's log, or a scenario run to its end.
fn export_session(
    log: Option<String>,
    scenario: Option<String>,
) -> Result<redis_repl_lab::sim::session::Session, String> {
    use redis_repl_lab::scenario::run::Runner;
    match (log, scenario) {
        (Some(log), None) => redis_repl_lab::sim::session::Session::from_log(&log).map_err(|e| e.to_string()),
        (None, Some(path)) => {
            let scenario = load_scenario(&path)?;
            let (mut runner, mut session) = Runner::start(scenario.clone())?;
            for i in 0..scenario.steps.len() {
                runner.begin_step(&mut session, i)?;
                runner.finish(&mut session)?;
            }
            Ok(session)
        }
        _ => Err(EXPORT_USAGE.into()),
    }
}

/// `repl-lab export ...`: writes the files of [`redis_repl_lab::export`].
fn export_command(args: &[String]) -> ExitCode {
    let (mut log, mut scenario, mut at, mut port_base, mut out) = (None, None, None, 7000u16, None);
    let parsed = option_pairs(args, EXPORT_USAGE, |a, v| match a {
        "--log" => log.replace(v).is_none(),
        "--scenario" => scenario.replace(v).is_none(),
        "--at" => v.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0).map(|s| at = Some(s)).is_some(),
        "--port-base" => v.parse::<u16>().ok().filter(|p| *p >= 1024).map(|p| port_base = p).is_some(),
        "--out" => out.replace(v).is_none(),
        _ => false,
    });
    if let Err(code) = parsed {
        return code;
    }
    let Some(out) = out else {
        eprintln!("{EXPORT_USAGE}");
        return ExitCode::from(2);
    };
    let mut session = match export_session(log, scenario) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("repl-lab export: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(secs) = at {
        session.seek((secs * 1e6) as u64);
    }
    let sentinel_base = port_base.saturating_add(20_000);
    for f in redis_repl_lab::export::export(session.world(), port_base, sentinel_base) {
        let path = std::path::Path::new(&out).join(&f.path);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, &f.contents))
            .and_then(|()| {
                use std::os::unix::fs::PermissionsExt;
                if f.executable {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                } else {
                    Ok(())
                }
            });
        if let Err(e) = written {
            eprintln!("repl-lab export: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("{}", path.display());
    }
    ExitCode::SUCCESS
}

/// `repl-lab scenario check FILE...`: validates and runs each scenario, printing every item.
fn scenario_command(args: &[String]) -> ExitCode {
    let (Some("check"), files) = (args.first().map(String::as_str), args.get(1..).unwrap_or_default()) else {
        eprintln!("{SCENARIO_USAGE}");
        return ExitCode::from(2);
    };
    if files.is_empty() {
        eprintln!("{SCENARIO_USAGE}");
        return ExitCode::from(2);
    }
    let mut failed = 0;
    for path in files {
        let source = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) => {
                println!("{path}: cannot read: {e}");
                failed += 1;
                continue;
            }
        };
        let id = std::path::Path::new(path).file_stem().map_or(path.clone(), |s| s.to_string_lossy().into_owned());
        let scenario = match redis_repl_lab::scenario::load(&id, &source) {
            Ok(s) => s,
            Err(errors) => {
                for e in errors {
                    println!("{e}");
                }
                failed += 1;
                continue;
            }
        };
        println!("{id}: {}", scenario.title.plain("en"));
        let items = redis_repl_lab::scenario::run::check(&scenario);
        let bad = items.iter().filter(|i| !i.ok).count();
        for item in &items {
            let line = item.line.map_or(String::new(), |l| format!(" (line {l})"));
            println!("  {} {}{line}: {}", if item.ok { "ok  " } else { "FAIL" }, item.place, item.detail);
        }
        println!("  {} items, {} failed", items.len(), bad);
        if bad > 0 {
            failed += 1;
        }
    }
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("server") => match parse(&args[1..]) {
            Ok(opts) => match run(opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("repl-lab server: {e}");
                    ExitCode::FAILURE
                }
            },
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
        Some("sim") => match parse_sim(&args[1..]) {
            Ok(cfg) => {
                let report = sweep::run(cfg);
                print!("{report}");
                if report.ok() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
        Some("rdb") => rdb_command(&args[1..]),
        Some("scenario") => scenario_command(&args[1..]),
        Some("export") => export_command(&args[1..]),
        Some("replay") => replay_command(&args[1..]),
        _ => {
            eprintln!("{USAGE}\n{SIM_USAGE}\n{RDB_USAGE}\n{SCENARIO_USAGE}\n{EXPORT_USAGE}");
            ExitCode::from(2)
        }
    }
}
