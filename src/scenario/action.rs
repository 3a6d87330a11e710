//! Actions: one line each, what a step does to the lab.
//!
//! Every action but `wait` becomes a recorded [`Action`] of the session, exactly as if the
//! learner had done it in the page, so a scenario's run time-travels, forks and shares like any
//! other run. The lines read like what a learner would type or click:
//!
//! ```text
//! A: SET k v                      a console line on node A ({B} is B's "127.0.0.1 6380")
//! B: REPLICAOF {A}
//! S1: SENTINEL MASTERS            a console line on a sentinel
//! wait 2s                         let virtual time run (ms, s, min)
//! cut A B                         reset the connections between A and B
//! partition A B | C               split the nodes into sides (sentinels are on the first); heal
//! crash A / restart A / pause A 5s
//! link A B latency 50ms jitter 5ms bandwidth 1mb
//! links latency 1ms bandwidth 100mb
//! load A 2000                     a write load of 2,000 writes/s on A (0 stops it)
//! add-node / remove-node C
//! sentinel A quorum 2 down-after 5s failover-timeout 60s
//! ```

use crate::node::Micros;
use crate::sim::session::Action;
use crate::sim::trace::node_name;
use crate::sim::BASE_PORT;

use super::cond::{check_command, node_index, Names};

/// A parsed action line.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Let virtual time run.
    Wait(Micros),
    /// A session action, applied now.
    Act(Action),
    /// Link settings between two nodes; a setting not given keeps the link's current one.
    Link { a: usize, b: usize, latency: Option<Micros>, jitter: Option<Micros>, bandwidth: Option<u64> },
}

/// What the lab holds while a scenario's lines are checked in order (nodes and sentinels come
/// and go with `add-node`, `remove-node` and `sentinel`).
#[derive(Clone, Copy, Debug)]
pub struct Census {
    /// Node slots used so far (A, B, ... up to this many are names a line may use).
    pub nodes: usize,
    pub sentinels: usize,
    /// Slots a removed node left, one bit each: the next `add-node` takes the lowest, as the lab
    /// does.
    free: u8,
}

impl Census {
    /// `nodes` nodes, A first, and no sentinel.
    pub fn new(nodes: usize) -> Census {
        Census { nodes, sentinels: 0, free: 0 }
    }

    fn present(&self) -> usize {
        self.nodes - self.free.count_ones() as usize
    }
}

/// Parses a duration: `250ms`, `2s`, `1.5s`, `2min`.
pub fn duration(text: &str) -> Result<Micros, String> {
    let t = text.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1_000.0)
    } else if let Some(n) = t.strip_suffix("min") {
        (n, 60_000_000.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1_000_000.0)
    } else {
        return Err(format!("bad duration '{t}': give a unit (250ms, 2s, 1min)"));
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 && v * scale <= 1e13 => Ok((v * scale).round() as Micros),
        _ => Err(format!("bad duration '{t}'")),
    }
}

/// Parses a size as Redis's configuration takes it: `1000`, `100k` (1000s), `64kb` (1024s),
/// `1mb`, `1gb`.
pub fn size(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_lowercase();
    let units: [(&str, u64); 6] =
        [("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("k", 1_000), ("m", 1_000_000), ("g", 1_000_000_000)];
    let (num, scale) = units.iter().find_map(|(u, s)| t.strip_suffix(u).map(|n| (n, *s))).unwrap_or((t.as_str(), 1));
    num.parse::<u64>().ok().and_then(|n| n.checked_mul(scale)).ok_or_else(|| format!("bad size '{text}'"))
}

/// `127.0.0.1 <port>` of node `i`, as REPLICAOF takes it.
pub fn address(i: usize) -> String {
    format!("127.0.0.1 {}", BASE_PORT as usize + i)
}

/// Replaces `{A}`, `{B}`... in a console line by that node's address; `\{` is a brace.
fn expand(line: &str, census: Census) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(['{', '\\']) {
        out.push_str(&rest[..at]);
        if rest[at..].starts_with("\\{") {
            out.push('{');
            rest = &rest[at + 2..];
            continue;
        }
        if rest[at..].starts_with('\\') {
            out.push('\\');
            rest = &rest[at + 1..];
            continue;
        }
        let Some(close) = rest[at..].find('}') else {
            return Err(format!("'{{' without '}}' in '{line}' (write \\{{ for a brace)"));
        };
        let name = &rest[at + 1..at + close];
        out.push_str(&address(node_index(name, census.nodes)?));
        rest = &rest[at + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Parses one action line, checking its names against the lab as it will be then, and updates
/// the census for the lines after it.
pub fn parse(line: &str, census: &mut Census) -> Result<Step, String> {
    let text = line.trim();
    // "A: ..." or "S1: ..." (a console), else a keyword.
    if let Some((target, rest)) = text.split_once(':') {
        let target = target.trim();
        if let Some(j) = target.strip_prefix('S').and_then(|n| n.parse::<usize>().ok()) {
            if j == 0 || j > census.sentinels {
                return Err(format!("unknown sentinel '{target}': the lab has {} sentinel(s) then", census.sentinels));
            }
            let cmd = rest.trim();
            if cmd.is_empty() {
                return Err(format!("nothing to type on {target}"));
            }
            return Ok(Step::Act(Action::SentinelConsole(j - 1, cmd.to_string())));
        }
        if target.len() == 1 {
            let node = node_index(target, census.nodes)?;
            let cmd = expand(rest.trim(), *census)?;
            let names = Names { nodes: census.nodes, command_known: &crate::node::commands::is_command };
            check_command(&cmd, &names)?;
            return Ok(Step::Act(Action::Console(node, cmd)));
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let node = |k: usize| -> Result<usize, String> {
        words.get(k).ok_or_else(|| format!("'{text}' needs a node")).and_then(|w| node_index(w, census.nodes))
    };
    let arity = |n: usize| -> Result<(), String> {
        if words.len() == n {
            Ok(())
        } else {
            Err(format!("'{text}': expected {} word(s) after '{}'", n - 1, words[0]))
        }
    };
    let Some(&verb) = words.first() else {
        return Err("empty action".into());
    };
    let step = match verb {
        "wait" => {
            arity(2)?;
            Step::Wait(duration(words[1])?)
        }
        "cut" => {
            arity(3)?;
            let (a, b) = (node(1)?, node(2)?);
            if a == b {
                return Err(format!("'{text}': a link joins two different nodes"));
            }
            Step::Act(Action::Cut(a, b))
        }
        "heal" => {
            arity(1)?;
            Step::Act(Action::Heal)
        }
        "crash" | "restart" | "remove-node" => {
            arity(2)?;
            let n = node(1)?;
            if verb == "remove-node" {
                census.free |= 1 << n;
            }
            Step::Act(match verb {
                "crash" => Action::Crash(n),
                "restart" => Action::Restart(n),
                _ => Action::RemoveNode(n),
            })
        }
        "add-node" => {
            arity(1)?;
            if census.present() >= crate::sim::session::MAX_NODES {
                return Err(format!("the lab holds at most {} nodes", crate::sim::session::MAX_NODES));
            }
            if census.free != 0 {
                census.free &= census.free - 1; // the lowest free slot is taken again
            } else {
                census.nodes += 1;
            }
            Step::Act(Action::AddNode)
        }
        "pause" => {
            arity(3)?;
            Step::Act(Action::Pause(node(1)?, duration(words[2])? / 1_000))
        }
        "load" => {
            arity(3)?;
            let rate = words[2].parse::<u64>().map_err(|_| format!("'{text}': writes per second must be a number"))?;
            Step::Act(Action::Load(node(1)?, rate))
        }
        "partition" => partition(text, &words[1..], census.nodes)?,
        "link" | "links" => link(text, verb, &words, census)?,
        "sentinel" => {
            let master = node(1)?;
            let mut cfg = (2u32, 30_000u64, 180_000u64);
            for pair in words[2..].chunks(2) {
                let [key, value] = pair else {
                    return Err(format!("'{text}': '{}' has no value", pair[0]));
                };
                match *key {
                    "quorum" => cfg.0 = value.parse().map_err(|_| format!("'{text}': bad quorum '{value}'"))?,
                    "down-after" => cfg.1 = duration(value)? / 1_000,
                    "failover-timeout" => cfg.2 = duration(value)? / 1_000,
                    other => return Err(format!("'{text}': unknown sentinel setting '{other}'")),
                }
            }
            census.sentinels += 1;
            Step::Act(Action::AddSentinel(master, cfg.0, cfg.1, cfg.2))
        }
        other => {
            return Err(format!(
                "unknown action '{other}' (a console line is 'A: COMMAND ...'; actions: wait, cut, partition, heal, \
                 crash, restart, pause, link, links, load, add-node, remove-node, sentinel)"
            ))
        }
    };
    Ok(step)
}

/// `partition A B | C`: one group number per node, every node on some side, both sides filled.
fn partition(text: &str, words: &[&str], nodes: usize) -> Result<Step, String> {
    let mut groups = vec![u32::MAX; nodes];
    let mut side = 0u32;
    for w in words {
        if *w == "|" {
            side += 1;
            continue;
        }
        let i = node_index(w, nodes)?;
        if groups[i] != u32::MAX {
            return Err(format!("'{text}': {w} is on two sides"));
        }
        groups[i] = side;
    }
    if side == 0 {
        return Err(format!("'{text}': separate the sides with '|'"));
    }
    for g in 0..=side {
        if !groups.contains(&g) {
            return Err(format!("'{text}': every side needs a node"));
        }
    }
    if let Some(i) = groups.iter().position(|g| *g == u32::MAX) {
        return Err(format!("'{text}': {} is on no side", node_name(i)));
    }
    Ok(Step::Act(Action::Partition(groups)))
}

/// `link A B latency 50ms jitter 5ms bandwidth 1mb` or `links latency 1ms bandwidth 100mb`.
fn link(text: &str, verb: &str, words: &[&str], census: &Census) -> Result<Step, String> {
    let (ends, settings) = if verb == "link" {
        if words.len() < 3 {
            return Err(format!("'{text}' needs two nodes"));
        }
        let a = node_index(words[1], census.nodes)?;
        let b = node_index(words[2], census.nodes)?;
        if a == b {
            return Err(format!("'{text}': a link joins two different nodes"));
        }
        (Some((a, b)), &words[3..])
    } else {
        (None, &words[1..])
    };
    let (mut latency, mut jitter, mut bandwidth) = (None, None, None);
    for pair in settings.chunks(2) {
        let [key, value] = pair else {
            return Err(format!("'{text}': '{}' has no value", pair[0]));
        };
        match *key {
            "latency" => latency = Some(duration(value)?),
            "jitter" if ends.is_some() => jitter = Some(duration(value)?),
            "bandwidth" => bandwidth = Some(size(value)?.max(1)),
            other => return Err(format!("'{text}': unknown link setting '{other}'")),
        }
    }
    if latency.is_none() && jitter.is_none() && bandwidth.is_none() {
        return Err(format!("'{text}': say what to set (latency, jitter, bandwidth)"));
    }
    Ok(match ends {
        Some((a, b)) => Step::Link { a, b, latency, jitter, bandwidth },
        None => match (latency, bandwidth) {
            (Some(l), Some(b)) => Step::Act(Action::Links(l, b)),
            _ => return Err(format!("'{text}': 'links' sets both latency and bandwidth")),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_actions() {
        let mut c = Census::new(3);
        assert_eq!(
            parse("B: REPLICAOF {A}", &mut c),
            Ok(Step::Act(Action::Console(1, "REPLICAOF 127.0.0.1 6379".into())))
        );
        assert_eq!(parse("wait 1.5s", &mut c), Ok(Step::Wait(1_500_000)));
        assert_eq!(parse("partition A B | C", &mut c), Ok(Step::Act(Action::Partition(vec![0, 0, 1]))));
        assert_eq!(parse("pause A 5s", &mut c), Ok(Step::Act(Action::Pause(0, 5_000))));
        assert_eq!(
            parse("link A C latency 50ms bandwidth 64kb", &mut c),
            Ok(Step::Link { a: 0, b: 2, latency: Some(50_000), jitter: None, bandwidth: Some(65_536) })
        );
        assert_eq!(
            parse("sentinel A quorum 2 down-after 5s", &mut c),
            Ok(Step::Act(Action::AddSentinel(0, 2, 5_000, 180_000)))
        );
        assert_eq!(
            parse("S1: SENTINEL MASTERS", &mut c),
            Ok(Step::Act(Action::SentinelConsole(0, "SENTINEL MASTERS".into())))
        );
        assert_eq!(parse("add-node", &mut c), Ok(Step::Act(Action::AddNode)));
        assert_eq!(parse("D: GET k", &mut c), Ok(Step::Act(Action::Console(3, "GET k".into()))));
        assert_eq!(parse("A: SET user:\\{1} v", &mut c), Ok(Step::Act(Action::Console(0, "SET user:{1} v".into()))));
        // A removed node's slot is taken by the next node added (E is not a name then).
        assert_eq!(parse("remove-node B", &mut c), Ok(Step::Act(Action::RemoveNode(1))));
        assert_eq!(parse("add-node", &mut c), Ok(Step::Act(Action::AddNode)));
        assert_eq!(c.nodes, 4);
        assert!(parse("E: PING", &mut c).is_err());
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        let mut c = Census::new(2);
        let err = |line: &str, c: &mut Census| parse(line, c).unwrap_err();
        assert_eq!(err("C: GET k", &mut c), "unknown node 'C': the lab's nodes are A to B");
        assert_eq!(err("A: GTE k", &mut c), "unknown command 'GTE'");
        assert_eq!(err("B: REPLICAOF {Z}", &mut c), "unknown node 'Z': the lab's nodes are A to B");
        assert_eq!(err("wait 2", &mut c), "bad duration '2': give a unit (250ms, 2s, 1min)");
        assert_eq!(err("partition A B", &mut c), "'partition A B': separate the sides with '|'");
        assert_eq!(err("partition A B |", &mut c), "'partition A B |': every side needs a node");
        assert_eq!(err("cut A A", &mut c), "'cut A A': a link joins two different nodes");
        assert_eq!(err("S1: PING", &mut c), "unknown sentinel 'S1': the lab has 0 sentinel(s) then");
        assert!(err("explode A", &mut c).starts_with("unknown action 'explode'"));
        assert_eq!(err("links latency 1ms", &mut c), "'links latency 1ms': 'links' sets both latency and bandwidth");
    }

    #[test]
    fn sizes_and_durations_read_as_redis_and_people_write_them() {
        assert_eq!(size("100k"), Ok(100_000));
        assert_eq!(size("1mb"), Ok(1 << 20));
        assert_eq!(size("512"), Ok(512));
        assert!(size("lots").is_err());
        assert_eq!(duration("2min"), Ok(120_000_000));
        assert_eq!(duration("250ms"), Ok(250_000));
        assert!(duration("-1s").is_err());
    }
}
