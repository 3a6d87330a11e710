//! "Save as scenario": a run turned into a scenario file for an author to finish.
//!
//! The run's recorded actions become the steps, one per action, each preceded by the `wait`
//! that separated it from the one before, so the file replays the run as it happened. The author
//! then adds narration, questions and checkpoints. Nodes present from the start are the lab's
//! (all masters: the run's own `REPLICAOF` lines make the replicas, in their steps).

use std::fmt::Write as _;

use super::action::address;
use crate::sim::session::{Action, Session};
use crate::sim::trace::node_name;

/// The action as a scenario line, or None for what a scenario cannot say (an imported RDB,
/// a partition of the sentinels).
fn line(a: &Action) -> Option<String> {
    let n = |i: &usize| node_name(*i);
    let ms = |us: &u64| format!("{}ms", us / 1_000);
    Some(match a {
        Action::AddNode => "add-node".into(),
        Action::RemoveNode(i) => format!("remove-node {}", n(i)),
        Action::Console(i, text) => format!("{}: {}", n(i), with_names(text)),
        Action::Cut(a, b) => format!("cut {} {}", n(a), n(b)),
        Action::Partition(groups) => {
            let sides = groups.iter().copied().max().unwrap_or(0);
            let sides: Vec<String> = (0..=sides)
                .map(|g| {
                    groups
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| **s == g)
                        .map(|(i, _)| n(&i))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            format!("partition {}", sides.join(" | "))
        }
        Action::Heal => "heal".into(),
        Action::Crash(i) => format!("crash {}", n(i)),
        Action::Restart(i) => format!("restart {}", n(i)),
        Action::Pause(i, m) => format!("pause {} {m}ms", n(i)),
        Action::Links(l, b) => format!("links latency {} bandwidth {b}", ms(l)),
        Action::Link(a, b, l, j, bw) => {
            format!("link {} {} latency {} jitter {} bandwidth {bw}", n(a), n(b), ms(l), ms(j))
        }
        Action::AddSentinel(m, q, d, f) => {
            format!("sentinel {} quorum {q} down-after {d}ms failover-timeout {f}ms", n(m))
        }
        Action::SentinelConsole(j, text) => format!("S{}: {text}", j + 1),
        Action::Load(i, rate) => format!("load {} {rate}", n(i)),
        Action::Import(..) | Action::PartitionSentinels(_) => return None,
    })
}

/// `REPLICAOF 127.0.0.1 6380` written back as `REPLICAOF {B}` (a brace of the line's own as `\{`).
fn with_names(text: &str) -> String {
    let mut out = text.replace('{', "\\{");
    for i in 0..crate::sim::session::MAX_NODES {
        out = out.replace(&address(i), &format!("{{{}}}", node_name(i)));
    }
    out
}

/// A duration in ms as a scenario writes it: `1500ms`, `0.001ms` (to the microsecond).
fn millis(us: u64) -> String {
    if us % 1_000 == 0 {
        format!("{}ms", us / 1_000)
    } else {
        let fraction = format!("{:03}", us % 1_000);
        format!("{}.{}ms", us / 1_000, fraction.trim_end_matches('0'))
    }
}

/// A TOML string (basic, escaped).
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The run as a scenario file skeleton.
pub fn skeleton(session: &Session) -> String {
    let actions = session.actions();
    // The lab: the nodes added at the very start, and the links as they were set then; every
    // other action, from the first console line on, is a step.
    let start: Vec<&(u64, Action)> =
        actions.iter().take_while(|(t, a)| *t == 0 && matches!(a, Action::AddNode | Action::Links(..))).collect();
    let nodes = start.iter().filter(|(_, a)| *a == Action::AddNode).count().max(1);
    let topology: Vec<String> = (0..nodes).map(node_name).collect();
    let mut out = String::new();
    let _ = writeln!(out, "# A scenario made from a run in the Redis Replication Lab (seed {}).", session.seed());
    out.push_str("# Add narration to each step, questions before the steps that answer them, and checks.\n");
    out.push_str("# docs/scenarios.md describes the format; `repl-lab scenario check FILE` runs it.\n\n");
    out.push_str("title = { en = \"My scenario\" }\nsummary = { en = \"What this scenario teaches.\" }\n\n[lab]\n");
    let _ = writeln!(out, "topology = {}", quoted(&topology.join(";")));
    let _ = writeln!(out, "seed = {}", session.seed());
    if let Some((_, Action::Links(l, b))) = start.iter().find(|(_, a)| matches!(a, Action::Links(..))) {
        let _ = writeln!(out, "links = {}", quoted(&format!("latency {}ms bandwidth {b}", l / 1_000)));
    }
    let mut prev = 0;
    let mut steps = 0;
    for (t, a) in actions.iter().skip(start.len()) {
        let Some(text) = line(a) else {
            let _ = write!(out, "\n# (not expressible in a scenario: {a:?} at {} ms)\n", t / 1_000);
            continue;
        };
        steps += 1;
        let mut lines = Vec::new();
        if *t > prev {
            lines.push(quoted(&format!("wait {}", millis(t - prev))));
        }
        lines.push(quoted(&text));
        prev = *t;
        let _ = write!(
            out,
            "\n[[step]]\ntext = {{ en = {} }}\ndo = [{}]\n",
            quoted(&format!("Step {steps}.")),
            lines.join(", ")
        );
    }
    if steps == 0 {
        out.push_str("\n[[step]]\ntext = { en = \"Step 1.\" }\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_becomes_a_file_that_loads_and_replays_it() {
        let mut s = Session::new(9);
        s.act(Action::Links(250_000, 65_536)).unwrap();
        for _ in 0..3 {
            s.act(Action::AddNode).unwrap();
        }
        s.run_until(1_000_000);
        s.act(Action::Console(1, "REPLICAOF 127.0.0.1 6379".into())).unwrap();
        s.run_until(9_000_000);
        s.act(Action::Console(0, "SET \"a key\" v".into())).unwrap();
        s.act(Action::Console(0, "SET user:{1} v".into())).unwrap();
        s.act(Action::Partition(vec![0, 1, 1])).unwrap();
        s.run_until(12_000_000);
        s.act(Action::Heal).unwrap();
        let text = skeleton(&s);
        assert!(text.contains("topology = \"A;B;C\""), "{text}");
        assert!(text.contains("do = [\"wait 1000ms\", \"B: REPLICAOF {A}\"]"), "{text}");
        assert!(text.contains("do = [\"partition A | B C\"]"), "{text}");
        assert_eq!((millis(1), millis(1_500), millis(2_000_000)), ("0.001ms".into(), "1.5ms".into(), "2000ms".into()));
        let scenario = super::super::load("saved", &text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        assert_eq!(scenario.steps.len(), 5);
        let items = super::super::run::check(&scenario);
        assert!(items.iter().all(|i| i.ok), "{items:?}");
    }
}
