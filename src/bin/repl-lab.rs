//! `repl-lab`: the native command.
//!
//! `repl-lab server --port P [--bind H] [--replicaof HOST PORT] [--config NAME VALUE]...` runs one
//! engine node on TCP, speaking RESP2 like redis-server, so redis-cli and real Redis servers can
//! talk to it.

use std::process::ExitCode;

use redis_repl_lab::native::{run, ServerOptions};

const USAGE: &str = "usage: repl-lab server --port P [--bind HOST] [--replicaof HOST PORT] [--config NAME VALUE]...";

fn parse(args: &[String]) -> Result<ServerOptions, String> {
    let mut opts = ServerOptions { bind: "127.0.0.1".into(), port: 6379, replicaof: None, configs: Vec::new() };
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
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
