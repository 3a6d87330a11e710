//! `repl-lab replay`: chapters and a shared run done again on real redis-server 7.0.15
//! processes (and on our own server), with every checkpoint real Redis can show holding there
//! as it did in the lab; and the ways a replay cannot be done, each refused with the step named
//! and no process left running.
//!
//! The replays run in wall-clock time, so they all run at once (threads), and the whole file
//! takes as long as its longest chapter (about a minute) while using little CPU: the test
//! command runs it apart, in the background while the wasm steps compile, by the name of its
//! module (`on_real_servers::`), which the native step skips.

#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod common;

mod on_real_servers {
    use std::net::{TcpListener, TcpStream};
    use std::path::PathBuf;
    use std::thread;

    use super::common::{self, free_ports, TempDir};
    use redis_repl_lab::native::replay::{replay, Engine, Options, Outcome, ReplayError, Verdict};
    use redis_repl_lab::scenario::{self, plan};
    use redis_repl_lab::sim::session::{Action, Session};

    fn options(engine: Engine) -> Options {
        let mut o = Options::new(engine, PathBuf::from(env!("CARGO_BIN_EXE_repl-lab")));
        o.redis_server = PathBuf::from(common::tool("redis-server"));
        o
    }

    fn chapter(id: &str) -> scenario::Scenario {
        let path = format!("{}/www/scenarios/{id}.toml", env!("CARGO_MANIFEST_DIR"));
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        scenario::load(id, &source).unwrap_or_else(|e| panic!("{id}: {e:?}"))
    }

    /// A shared run with a cut, a partition and a restart, as the page's "Copy link" gives it.
    fn shared_run() -> String {
        let mut s = Session::new(11);
        let at = |s: &mut Session, secs: f64, a: Action| {
            s.run_until((secs * 1e6) as u64);
            s.act(a).expect("the lab takes the action");
        };
        at(&mut s, 0.0, Action::Links(2_000, 1024 * 1024));
        for _ in 0..3 {
            at(&mut s, 0.0, Action::AddNode);
        }
        at(&mut s, 0.0, Action::Console(0, "CONFIG SET repl-diskless-sync-delay 0".into()));
        at(&mut s, 0.0, Action::Console(1, "REPLICAOF 127.0.0.1 6379".into()));
        at(&mut s, 0.0, Action::Console(2, "REPLICAOF 127.0.0.1 6379".into()));
        at(&mut s, 2.0, Action::Console(0, "SET a 1".into()));
        at(&mut s, 3.0, Action::Cut(0, 1));
        at(&mut s, 3.0, Action::Console(0, "SET b 2".into()));
        at(&mut s, 5.0, Action::Partition(vec![0, 1, 1]));
        at(&mut s, 5.0, Action::Console(0, "RPUSH list x y z".into()));
        at(&mut s, 7.0, Action::Heal);
        at(&mut s, 8.0, Action::Crash(2));
        at(&mut s, 8.5, Action::Console(0, "INCR counter".into()));
        at(&mut s, 9.0, Action::Restart(2));
        s.run_until(14_000_000);
        s.to_log_at(14_000_000)
    }

    /// What a replay found, as a failure message shows it.
    fn explain(name: &str, o: &Result<Outcome, ReplayError>) -> String {
        match o {
            Ok(o) => format!("{name}:\n{}", o.table()),
            Err(e) => format!("{name}: {e}"),
        }
    }

    /// The six chapters the issue names, a shared run, and chapter 5 a third way (our own server):
    /// every checkpoint real servers show agrees with the lab, and the lab-only ones are named.
    #[test]
    fn chapters_and_a_shared_run_replay_on_real_servers_as_in_the_lab() {
        let mut jobs: Vec<(String, Engine, plan::Plan)> = Vec::new();
        for id in [
            "01-first-full-sync",
            "05-short-disconnect",
            "06-backlog-overflow",
            "09-wait-and-min-replicas",
            "11-chained-replicas",
            "12-promotion",
        ] {
            jobs.push((id.into(), Engine::Redis, plan::plan(&chapter(id)).expect("the lab runs it")));
        }
        let ours = plan::plan(&chapter("05-short-disconnect")).expect("the lab runs it");
        jobs.push(("05-short-disconnect on our server".into(), Engine::Ours, ours));
        jobs.push(("a shared run".into(), Engine::Redis, plan::plan_log(&shared_run()).expect("the log loads")));

        let outcomes: Vec<(String, Result<Outcome, ReplayError>)> = thread::scope(|s| {
            let handles: Vec<_> = jobs
                .iter()
                .map(|(name, engine, p)| (name.clone(), s.spawn(move || replay(p, &options(*engine)))))
                .collect();
            handles.into_iter().map(|(name, h)| (name, h.join().expect("a replay panicked"))).collect()
        });

        let mut report = String::new();
        for (name, o) in &outcomes {
            let ok = o.as_ref().is_ok_and(|o| o.differences().is_empty());
            if !ok {
                report.push_str(&explain(name, o));
            }
        }
        assert!(report.is_empty(), "replays that differ from the lab:\n{report}");
        for (name, o) in &outcomes {
            let o = o.as_ref().expect("checked above");
            let held = o.count(|v| *v == Verdict::Held);
            println!("{name}: {}", o.summary());
            assert!(held >= 4, "{name}: too few checkpoints compared:\n{}", o.table());
        }
        // The shared run's checkpoints are the lab's end state: every node's role, link and
        // dataset, and the master's PSYNC outcomes (the cut and the restart end in +CONTINUE).
        let shared = outcomes.iter().find(|(n, _)| n == "a shared run").and_then(|(_, o)| o.as_ref().ok());
        let texts: Vec<&str> = shared.map(|o| o.rows.iter().map(|r| r.text.as_str()).collect()).unwrap_or_default();
        for want in ["C.master_link_status == 'up'", "reply(C, 'DBSIZE') == 4", "count(A, 'psync-continue') == 2"] {
            assert!(texts.contains(&want), "the shared run checks {want}: {texts:#?}");
        }
    }

    #[test]
    fn a_lab_only_setting_is_refused_before_anything_starts() {
        let dir = TempDir::new("replay-lab-only");
        let mut o = options(Engine::Redis);
        o.dir = Some(dir.0.join("servers"));
        let p = plan::plan(&chapter("17-legacy-sync")).expect("the lab runs it");
        let e = replay(&p, &o).expect_err("refused");
        assert!(matches!(e, ReplayError::Unsupported { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "the lab's setup: `B: CONFIG SET lab-legacy-sync yes` cannot be replayed on real servers: \
             it is a setting of the lab's own, which redis-server does not have"
        );
        assert!(!o.dir.as_ref().is_some_and(|d| d.exists()), "nothing was started, not even a folder");
    }

    /// Whether anything listens on a loopback port.
    fn listening(port: u16) -> bool {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    }

    #[test]
    fn a_port_in_use_is_named_and_the_servers_already_started_are_stopped() {
        let base = free_ports(2);
        // Something else holds node B's port.
        let _taken = TcpListener::bind(("127.0.0.1", base + 1)).expect("bind");
        let mut o = options(Engine::Redis);
        o.port_base = Some(base);
        let p = plan::plan(&chapter("05-short-disconnect")).expect("the lab runs it");
        let e = replay(&p, &o).expect_err("refused");
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("the lab's setup: could not start node B: port {} is in use", base + 1)),
            "{text}"
        );
        assert!(!listening(base), "node A, started before B, was stopped");
    }

    #[test]
    fn a_server_that_will_not_start_is_reported_and_nothing_is_left_running() {
        let dir = TempDir::new("replay-no-start");
        // A redis-server that starts once (node A) and then refuses to (node B).
        let mark = dir.0.join("started-once");
        let script = dir.0.join("redis-server");
        let real = common::tool("redis-server");
        let text = format!(
            "#!/bin/sh\nif [ -e '{m}' ]; then echo 'cannot start' >&2; exit 3; fi\ntouch '{m}'\nexec '{real}' \"$@\"\n",
            m = mark.display()
        );
        std::fs::write(&script, text).expect("write the script");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let base = free_ports(2);
        let mut o = options(Engine::Redis);
        o.redis_server = script.clone();
        o.port_base = Some(base);
        let p = plan::plan(&chapter("05-short-disconnect")).expect("the lab runs it");
        let e = replay(&p, &o).expect_err("refused");
        let text = e.to_string();
        let want = format!(
            "the lab's setup: could not start node B ({}): it exited at start (exit status: 3)",
            script.display()
        );
        assert!(text.starts_with(&want), "{text}");
        assert!(!listening(base), "node A was stopped");
        assert!(!listening(base + 1));
    }
}
