//! A recorded run: the seed, every user action with its virtual time, and checkpoints of the
//! world, which together give replay, time travel and shareable runs.
//!
//! The world is a pure function of its seed and the actions applied to it, so a run can be
//! rebuilt from its action log alone. To make seeking cheap, the session keeps a clone of the
//! whole world every [`CHECKPOINT_EVERY`] of virtual time (persistent maps make these clones
//! cheap); seeking back restores the nearest earlier checkpoint and replays the actions that came
//! after it. Acting in the past forks the future: the later actions are dropped.
//!
//! The log serialises compactly enough for a URL:
//! `RL1;s=<seed>;<delta>,<code>[,<arg>...];...[;t=<end>]` where `<delta>` is the time since the
//! previous action in base-36 microseconds, arguments are percent-encoded, and the optional last
//! field is the virtual time the run was shared at (base-36 µs), so an opened link shows the
//! moment it was copied, not only the last action. Sentinels are actions too (`S` adds one, `C`
//! is a line on a sentinel's console, `P` partitions sentinels), so a run with automatic
//! failovers replays, seeks and forks like any other.

use std::fmt;

use super::{LinkParams, World};
use crate::node::Micros;
use crate::sentinel::{SentinelConfig, MAX_SENTINEL_MS};

/// Virtual time between two checkpoints.
pub const CHECKPOINT_EVERY: Micros = 10_000_000;

/// Every link's latency (µs) and bandwidth (bytes/s) when a lab starts in the page: slow enough
/// to watch a handshake and an RDB on their way.
pub const WATCHABLE_LINKS: (Micros, u64) = (250_000, 64 * 1024);

/// The most nodes a lab holds at once (sentinels besides).
pub const MAX_NODES: usize = 8;

/// Something a user did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Adds a node with the default configuration (in the first slot a removed node left).
    AddNode,
    /// Takes a node out of the lab.
    RemoveNode(usize),
    /// A console line on a node.
    Console(usize, String),
    /// Resets the connections between two nodes.
    Cut(usize, usize),
    /// Partition groups, one per node.
    Partition(Vec<u32>),
    /// Removes partitions.
    Heal,
    /// Crashes a node.
    Crash(usize),
    /// Restarts a crashed node.
    Restart(usize),
    /// Pauses a node for some milliseconds.
    Pause(usize, u64),
    /// Latency (µs) and bandwidth (bytes/s) of every link.
    Links(u64, u64),
    /// Latency (µs), jitter (µs) and bandwidth (bytes/s) between two nodes.
    Link(usize, usize, u64, u64, u64),
    /// An RDB file imported into a node (it restarts from it).
    Import(usize, Vec<u8>),
    /// Adds a sentinel monitoring a node: master node, quorum, down-after-milliseconds,
    /// failover-timeout (ms).
    AddSentinel(usize, u32, u64, u64),
    /// A console line on a sentinel.
    SentinelConsole(usize, String),
    /// Partition groups of the sentinels, one per sentinel.
    PartitionSentinels(Vec<u32>),
    /// A write load on a node: writes per second (0 stops it).
    Load(usize, u64),
}

/// A malformed action log: which part, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogError(pub String);

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad action log: {}", self.0)
    }
}

impl std::error::Error for LogError {}

/// Why an action cannot apply to the world as it is; a refused action is not recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionError {
    /// No node in that slot (never added, or removed).
    NoNode(usize),
    /// No sentinel with that index.
    NoSentinel(usize),
    /// The lab already holds [`MAX_NODES`] nodes.
    TooManyNodes,
    /// The same node at both ends of a link.
    SameNode(usize),
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionError::NoNode(i) => write!(f, "node {i} does not exist"),
            ActionError::NoSentinel(j) => write!(f, "sentinel {j} does not exist"),
            ActionError::TooManyNodes => write!(f, "the lab holds at most {MAX_NODES} nodes"),
            ActionError::SameNode(i) => write!(f, "a link joins two different nodes (node {i} twice)"),
        }
    }
}

impl std::error::Error for ActionError {}

#[derive(Clone, Debug)]
struct Checkpoint {
    world: World,
    /// How many actions had been applied when it was taken.
    applied: usize,
}

/// A world with its history.
#[derive(Clone, Debug)]
pub struct Session {
    seed: u64,
    world: World,
    actions: Vec<(Micros, Action)>,
    /// What each applied action answered (a console line's reply; empty for the others).
    replies: Vec<String>,
    /// How many of `actions` the current world has applied (fewer after seeking back).
    applied: usize,
    checkpoints: Vec<Checkpoint>,
    /// Bumped whenever the world is replaced by a checkpoint, so a view can redraw from scratch.
    generation: u64,
    /// The furthest virtual time this timeline has reached (seeking back does not lower it).
    reached: Micros,
}

impl Session {
    /// An empty session.
    pub fn new(seed: u64) -> Session {
        let world = World::new(seed);
        let checkpoints = vec![Checkpoint { world: world.clone(), applied: 0 }];
        Session {
            seed,
            world,
            actions: Vec::new(),
            replies: Vec::new(),
            applied: 0,
            checkpoints,
            generation: 0,
            reached: 0,
        }
    }

    /// The world as it is now.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The world, for reads that drain (trace, late console replies).
    pub fn world_mut(&mut self) -> &mut World {
        &mut self.world
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Every recorded action.
    pub fn actions(&self) -> &[(Micros, Action)] {
        &self.actions
    }

    /// The actions the world has applied so far, with what each answered (a console line's
    /// reply as redis-cli prints it; empty for the other actions).
    pub fn applied(&self) -> impl Iterator<Item = (Micros, &Action, &str)> {
        self.actions[..self.applied].iter().zip(&self.replies).map(|((t, a), r)| (*t, a, r.as_str()))
    }

    /// Changes whenever seeking replaced the world.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The latest virtual time the recorded run has reached.
    pub fn horizon(&self) -> Micros {
        let last_action = self.actions.last().map_or(0, |a| a.0);
        self.world.now().max(last_action).max(self.reached)
    }

    /// Applies a user action now and records it; a console line returns its reply. Acting while
    /// looking at the past drops the recorded future. An action the world cannot take is
    /// refused, and neither applied nor recorded.
    pub fn act(&mut self, action: Action) -> Result<String, ActionError> {
        check_action(&self.world, &action)?;
        let now = self.world.now();
        self.drop_future();
        let reply = apply(&mut self.world, &action);
        self.actions.push((now, action));
        self.replies.push(reply.clone());
        self.applied = self.actions.len();
        Ok(reply)
    }

    /// Forgets the recorded actions after the present (looking at the past, then going another
    /// way): the timeline ends here, and running on replays nothing.
    pub fn drop_future(&mut self) {
        let now = self.world.now();
        if self.applied < self.actions.len() || self.actions.last().is_some_and(|a| a.0 > now) {
            self.actions.truncate(self.applied);
            self.actions.retain(|a| a.0 <= now);
            self.replies.truncate(self.actions.len());
            let keep = (now / CHECKPOINT_EVERY) as usize + 1;
            self.checkpoints.truncate(keep.max(1));
            self.reached = now;
        }
    }

    /// Lets virtual time run until the next trace event, at most `limit` µs from now; returns
    /// true if an event happened. Where nothing is scheduled the clock jumps to the limit.
    pub fn step(&mut self, limit: Micros) -> bool {
        let before = self.world.trace().len();
        let end = self.world.now().saturating_add(limit);
        while self.world.trace().len() == before && self.world.now() < end {
            let now = self.world.now();
            let next_action = self.actions.get(self.applied).map(|a| a.0);
            let next = [self.world.next_time(), next_action].into_iter().flatten().min().unwrap_or(end);
            self.run_until(next.max(now + 1).min(end));
        }
        self.world.trace().len() > before
    }

    /// Lets virtual time run to `t`, taking checkpoints on the way.
    pub fn run_until(&mut self, t: Micros) {
        while self.world.now() < t {
            let next_cp = self.checkpoints.len() as Micros * CHECKPOINT_EVERY;
            let step = t.min(next_cp);
            self.run_world_to(step);
            if self.world.now() == next_cp && self.applied == self.actions.len() {
                self.checkpoints.push(Checkpoint { world: self.world.clone(), applied: self.applied });
            }
        }
    }

    /// Runs the world to `t`, replaying the recorded actions due on the way.
    fn run_world_to(&mut self, t: Micros) {
        while let Some((at, action)) = self.actions.get(self.applied).cloned() {
            if at > t {
                break;
            }
            self.world.run_until(at);
            let reply = apply(&mut self.world, &action);
            self.replies.truncate(self.applied);
            self.replies.push(reply);
            self.applied += 1;
        }
        self.world.run_until(t);
        self.reached = self.reached.max(t);
    }

    /// Moves to virtual time `t`, back or forward: back restores the nearest checkpoint and
    /// replays; forward replays recorded actions (if any) while running.
    pub fn seek(&mut self, t: Micros) {
        if t < self.world.now() {
            let idx = ((t / CHECKPOINT_EVERY) as usize).min(self.checkpoints.len() - 1);
            let cp = &self.checkpoints[idx];
            self.world = cp.world.clone();
            self.applied = cp.applied;
            self.generation += 1;
        }
        self.run_world_to_with_checkpoints(t);
        // Actions recorded at exactly `t` (at time 0, the nodes themselves) are part of it.
        self.run_world_to(t);
    }

    fn run_world_to_with_checkpoints(&mut self, t: Micros) {
        while self.world.now() < t {
            let next_cp = (self.world.now() / CHECKPOINT_EVERY + 1) * CHECKPOINT_EVERY;
            let step = t.min(next_cp);
            self.run_world_to(step);
            let idx = (step / CHECKPOINT_EVERY) as usize;
            if step == next_cp && idx == self.checkpoints.len() {
                self.checkpoints.push(Checkpoint { world: self.world.clone(), applied: self.applied });
            }
        }
    }

    /// The log as text with the time it was shared at: opened, it runs to that moment.
    pub fn to_log_at(&self, end: Micros) -> String {
        encode_log(self.seed, &self.actions, Some(end))
    }

    /// The log as text: seed and actions, compact and URL-safe.
    pub fn to_log(&self) -> String {
        encode_log(self.seed, &self.actions, None)
    }

    /// The log of a run that went wrong at `at`: the actions so far, then `doing` (an action as
    /// [`encode_action`] writes it) if one was being applied then, ending at `at`. Opened, it
    /// does again what failed: a bug report anyone can replay. `doing` comes from another
    /// engine (the one that failed), so the result is checked like any log received.
    pub fn to_report_log(&self, at: Micros, doing: Option<&str>) -> Result<String, LogError> {
        let mut out = self.to_log();
        let last = self.actions.last().map_or(0, |a| a.0);
        let at = at.max(last);
        if let Some(entry) = doing {
            out.push_str(&format!(";{},{entry}", to_base36(at - last)));
        }
        out.push_str(&format!(";t={}", to_base36(at)));
        RunLog::decode(&out)?;
        Ok(out)
    }

    /// Rebuilds a session from its log, replaying every action; it ends at the time the log was
    /// shared at, else at the last action's. A malformed log is refused whole, with the reason.
    pub fn from_log(log: &str) -> Result<Session, LogError> {
        let RunLog { seed, actions, end } = RunLog::decode(log)?;
        let mut s = Session::new(seed);
        for (t, a) in actions {
            s.run_until(t);
            s.act(a).map_err(|e| LogError(e.to_string()))?;
        }
        if let Some(end) = end {
            s.run_until(end);
        }
        Ok(s)
    }
}

/// One action as the log writes it: a letter for what was done, then its arguments, all
/// separated by commas (without the time, which the log writes before it).
pub fn encode_action(a: &Action) -> String {
    let args: Vec<String> = match a {
        Action::AddNode => vec!["n".into()],
        Action::RemoveNode(n) => vec!["d".into(), n.to_string()],
        Action::Console(n, line) => vec!["c".into(), n.to_string(), escape(line)],
        Action::Cut(a, b) => vec!["x".into(), a.to_string(), b.to_string()],
        Action::Partition(g) => vec!["p".into(), groups_text(g)],
        Action::Heal => vec!["h".into()],
        Action::Crash(n) => vec!["k".into(), n.to_string()],
        Action::Restart(n) => vec!["r".into(), n.to_string()],
        Action::Pause(n, ms) => vec!["z".into(), n.to_string(), ms.to_string()],
        Action::Links(l, b) => vec!["l".into(), l.to_string(), b.to_string()],
        Action::Link(a, b, l, j, bw) => {
            vec!["L".into(), a.to_string(), b.to_string(), l.to_string(), j.to_string(), bw.to_string()]
        }
        Action::Import(n, bytes) => vec!["i".into(), n.to_string(), bytes.iter().map(|b| format!("{b:02x}")).collect()],
        Action::AddSentinel(m, q, d, f) => vec!["S".into(), m.to_string(), q.to_string(), d.to_string(), f.to_string()],
        Action::SentinelConsole(j, line) => vec!["C".into(), j.to_string(), escape(line)],
        Action::PartitionSentinels(g) => vec!["P".into(), groups_text(g)],
        Action::Load(n, rate) => vec!["w".into(), n.to_string(), rate.to_string()],
    };
    args.join(",")
}

/// Validates an action against the world it would apply to.
pub fn check_action(w: &World, a: &Action) -> Result<(), ActionError> {
    let node = |i: usize| if w.is_present(i) { Ok(()) } else { Err(ActionError::NoNode(i)) };
    match a {
        Action::AddNode if w.present_nodes().count() >= MAX_NODES => Err(ActionError::TooManyNodes),
        Action::RemoveNode(i)
        | Action::Console(i, _)
        | Action::Crash(i)
        | Action::Restart(i)
        | Action::Pause(i, _)
        | Action::Import(i, _)
        | Action::Load(i, _)
        | Action::AddSentinel(i, ..) => node(*i),
        Action::Cut(a, b) | Action::Link(a, b, ..) if a == b => Err(ActionError::SameNode(*a)),
        Action::Cut(a, b) | Action::Link(a, b, ..) => node(*a).and(node(*b)),
        Action::SentinelConsole(j, _) if *j >= w.sentinel_count() => Err(ActionError::NoSentinel(*j)),
        _ => Ok(()),
    }
}

/// Applies an action that [`check_action`] accepted.
fn apply(w: &mut World, a: &Action) -> String {
    match a {
        Action::AddNode => {
            w.add_node();
        }
        Action::RemoveNode(n) => w.remove_node(*n),
        Action::Console(n, line) => return w.console(*n, line),
        Action::Cut(a, b) => w.cut(*a, *b),
        Action::Partition(g) => w.partition(g),
        Action::Heal => w.heal(),
        Action::Crash(n) => w.crash(*n),
        Action::Restart(n) => w.restart(*n),
        Action::Pause(n, ms) => w.pause_node(*n, *ms),
        Action::Links(l, b) => w.set_link_params(LinkParams { latency: *l, bandwidth: (*b).max(1), jitter: 0 }),
        Action::Link(a, b, l, j, bw) => {
            w.set_pair_params(*a, *b, LinkParams { latency: *l, jitter: *j, bandwidth: (*bw).max(1) })
        }
        Action::Import(n, bytes) => {
            if let Err(e) = w.import_rdb(*n, bytes) {
                return e.to_string();
            }
        }
        Action::AddSentinel(m, q, d, f) => {
            let cfg = SentinelConfig {
                quorum: (*q).max(1),
                // Within what the sentinel's millisecond arithmetic can double and compare.
                down_after_ms: (*d).clamp(1, MAX_SENTINEL_MS),
                failover_timeout_ms: (*f).clamp(1, MAX_SENTINEL_MS),
                ..SentinelConfig::default()
            };
            if w.add_sentinel(*m, cfg).is_none() {
                return "no sentinel added: no such node, or too many sentinels".into();
            }
        }
        Action::SentinelConsole(j, line) => return w.sentinel_console(*j, line),
        Action::PartitionSentinels(g) => w.partition_sentinels(g),
        Action::Load(n, rate) => w.set_load(*n, *rate),
    }
    String::new()
}

fn groups_text(g: &[u32]) -> String {
    g.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
}

fn parse_groups(text: &str, at: &str) -> Result<Vec<u32>, LogError> {
    let g: Result<Vec<u32>, _> = text.split('.').map(str::parse::<u32>).collect();
    g.map_err(|_| LogError(format!("{at}: bad partition groups '{text}'")))
}

fn to_base36(mut n: u64) -> String {
    const D: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(D[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unescape(s: &str, at: &str) -> Result<String, LogError> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(b) = hex else {
                return Err(LogError(format!("{at}: bad percent escape")));
            };
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| LogError(format!("{at}: text is not UTF-8")))
}

/// The seed, the actions and the time the run was shared at, if the log says.
/// A run's log as the decoder reads it, before any replay: the seed, each action at its virtual
/// time, and the time the run was shared at. Decoding checks the text alone; whether each action
/// applies to the world it meets is known only by replaying it ([`Session::from_log`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunLog {
    pub seed: u64,
    pub actions: Vec<(Micros, Action)>,
    pub end: Option<Micros>,
}

impl RunLog {
    /// Reads a log's text; a malformed one is refused whole, with the reason.
    pub fn decode(log: &str) -> Result<RunLog, LogError> {
        parse_log(log)
    }

    /// The log as text, as [`Session::to_log_at`] writes it.
    pub fn encode(&self) -> String {
        encode_log(self.seed, &self.actions, self.end)
    }

    /// The virtual time a replay of the log runs to.
    pub fn span(&self) -> Micros {
        self.end.or(self.actions.last().map(|a| a.0)).unwrap_or(0)
    }
}

fn encode_log(seed: u64, actions: &[(Micros, Action)], end: Option<Micros>) -> String {
    let mut out = format!("RL1;s={seed}");
    let mut prev = 0;
    for (t, a) in actions {
        out.push(';');
        out.push_str(&to_base36(t - prev));
        prev = *t;
        out.push(',');
        out.push_str(&encode_action(a));
    }
    if let Some(end) = end {
        out.push_str(&format!(";t={}", to_base36(end)));
    }
    out
}

/// The longest run a log may describe, in virtual µs (24 hours). Opening a log replays it, and
/// an idle lab replays an hour in about 150 ms in the page: a day stays within seconds, where a
/// log claiming years (found by fuzzing the decoder) kept the tab busy for good.
pub const MAX_LOG_TIME: Micros = 24 * 3_600 * 1_000_000;

fn within_log_time(t: u64, what: &str) -> Result<u64, LogError> {
    if t > MAX_LOG_TIME {
        return Err(LogError(format!("{what}: a shared run lasts at most 24 hours of virtual time")));
    }
    Ok(t)
}

fn parse_log(log: &str) -> Result<RunLog, LogError> {
    let log = log.trim();
    let mut parts = log.split(';');
    if parts.next() != Some("RL1") {
        return Err(LogError("it must start with 'RL1;' (the format version)".into()));
    }
    let seed = parts
        .next()
        .and_then(|p| p.strip_prefix("s="))
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| LogError("the second field must be 's=<seed>' with a number".into()))?;
    let mut actions = Vec::new();
    let mut t: Micros = 0;
    let mut end = None;
    for (i, part) in parts.enumerate() {
        let at = format!("action {}", i + 1);
        if end.is_some() {
            return Err(LogError(format!("{at}: nothing may follow the end time 't='")));
        }
        if let Some(e) = part.strip_prefix("t=") {
            let e = u64::from_str_radix(e, 36).map_err(|_| LogError(format!("bad end time '{e}'")))?;
            if e < t {
                return Err(LogError(format!("the end time {e} µs is before the last action ({t} µs)")));
            }
            end = Some(within_log_time(e, "the end time")?);
            continue;
        }
        let f: Vec<&str> = part.split(',').collect();
        let delta = u64::from_str_radix(f[0], 36).map_err(|_| LogError(format!("{at}: bad time '{}'", f[0])))?;
        t = within_log_time(t.saturating_add(delta), &at)?;
        let num = |k: usize, what: &str| -> Result<u64, LogError> {
            f.get(k)
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| LogError(format!("{at}: {what} missing or not a number")))
        };
        let idx = |k: usize| num(k, "node index").map(|v| v as usize);
        let want = |n: usize| -> Result<(), LogError> {
            if f.len() == n {
                Ok(())
            } else {
                Err(LogError(format!("{at}: expected {} fields, found {}", n, f.len())))
            }
        };
        let action = match f.get(1).copied() {
            Some("n") => want(2).map(|_| Action::AddNode)?,
            Some("d") => {
                want(3)?;
                Action::RemoveNode(idx(2)?)
            }
            Some("c") => {
                want(4)?;
                Action::Console(idx(2)?, unescape(f[3], &at)?)
            }
            Some("x") => {
                want(4)?;
                Action::Cut(idx(2)?, idx(3)?)
            }
            Some("p") => {
                want(3)?;
                Action::Partition(parse_groups(f[2], &at)?)
            }
            Some("P") => {
                want(3)?;
                Action::PartitionSentinels(parse_groups(f[2], &at)?)
            }
            Some("S") => {
                want(6)?;
                let quorum =
                    u32::try_from(num(3, "quorum")?).map_err(|_| LogError(format!("{at}: quorum too large")))?;
                Action::AddSentinel(idx(2)?, quorum, num(4, "down-after")?, num(5, "failover-timeout")?)
            }
            Some("C") => {
                want(4)?;
                let j = num(2, "sentinel index")? as usize;
                Action::SentinelConsole(j, unescape(f[3], &at)?)
            }
            Some("h") => want(2).map(|_| Action::Heal)?,
            Some("w") => {
                want(4)?;
                Action::Load(idx(2)?, num(3, "rate")?)
            }
            Some("k") => {
                want(3)?;
                Action::Crash(idx(2)?)
            }
            Some("r") => {
                want(3)?;
                Action::Restart(idx(2)?)
            }
            Some("z") => {
                want(4)?;
                Action::Pause(idx(2)?, num(3, "duration")?)
            }
            Some("l") => {
                want(4)?;
                Action::Links(num(2, "latency")?, num(3, "bandwidth")?)
            }
            Some("L") => {
                want(7)?;
                Action::Link(idx(2)?, idx(3)?, num(4, "latency")?, num(5, "jitter")?, num(6, "bandwidth")?)
            }
            Some("i") => {
                want(4)?;
                let hex = f[3].as_bytes();
                if hex.len() % 2 != 0 {
                    return Err(LogError(format!("{at}: the RDB bytes must be pairs of hex digits")));
                }
                let bytes: Option<Vec<u8>> = hex
                    .chunks(2)
                    .map(|p| std::str::from_utf8(p).ok().and_then(|h| u8::from_str_radix(h, 16).ok()))
                    .collect();
                let bytes = bytes.ok_or_else(|| LogError(format!("{at}: the RDB bytes must be hex digits")))?;
                Action::Import(idx(2)?, bytes)
            }
            Some(other) => return Err(LogError(format!("{at}: unknown action code '{other}'"))),
            None => return Err(LogError(format!("{at}: no action code"))),
        };
        actions.push((t, action));
    }
    Ok(RunLog { seed, actions, end })
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn scripted() -> Session {
        let mut s = Session::new(11);
        s.act(Action::AddNode).unwrap();
        s.act(Action::AddNode).unwrap();
        s.act(Action::Link(0, 1, 2_000, 3_000, 1_000_000)).unwrap();
        s.act(Action::Console(1, "REPLICAOF 127.0.0.1 6379".into())).unwrap();
        for i in 0..40u64 {
            s.run_until(i * 1_500_000 + 700_000);
            s.act(Action::Console(0, format!("SET \"key {i}\" {i}"))).unwrap();
            if i == 20 {
                s.act(Action::Cut(0, 1)).unwrap();
            }
        }
        s.run_until(70_000_000);
        s
    }

    #[test]
    fn seeking_back_and_forth_gives_the_straight_run() {
        let mut s = scripted();
        let straight = s.world().trace_digest();
        let digest_at_end = s.world().node(1).digest();
        s.seek(23_400_000);
        assert_eq!(s.world().now(), 23_400_000);
        let mid = s.world().trace_digest();
        s.seek(70_000_000);
        assert_eq!(s.world().trace_digest(), straight);
        assert_eq!(s.world().node(1).digest(), digest_at_end);
        // A fresh straight run to the same middle time agrees with the sought state.
        let mut other = scripted();
        other.seek(23_400_000);
        assert_eq!(other.world().trace_digest(), mid);
    }

    #[test]
    fn seeking_to_zero_keeps_the_nodes_and_the_horizon_stays() {
        let mut s = scripted();
        s.seek(0);
        assert_eq!(s.world().node_count(), 2, "actions at t=0 are replayed");
        assert_eq!(s.horizon(), 70_000_000, "looking back does not shorten the run");
        s.seek(5_000_000);
        assert_eq!(s.horizon(), 70_000_000);
    }

    #[test]
    fn acting_in_the_past_forks_the_future() {
        let mut s = scripted();
        let n = s.actions().len();
        s.seek(10_000_000);
        s.act(Action::Console(0, "SET fork 1".into())).unwrap();
        assert!(s.actions().len() < n);
        assert!(s.actions().iter().all(|a| a.0 <= 10_000_000));
        s.run_until(20_000_000);
        assert_eq!(s.world().console_peek(1, "GET fork"), "\"1\"");
    }

    #[test]
    fn the_log_round_trips_and_replays_the_same_run() {
        let s = scripted();
        let log = s.to_log();
        assert!(log.len() < 2_000, "compact enough for a URL: {} bytes", log.len());
        assert!(log.bytes().all(|b| b.is_ascii_alphanumeric() || b";,%._-=".contains(&b)), "{log}");
        let mut r = Session::from_log(&log).unwrap();
        r.run_until(70_000_000);
        assert_eq!(r.world().trace_digest(), s.world().trace_digest());
    }

    #[test]
    fn a_report_log_replays_the_run_then_the_action_that_failed() {
        let s = scripted();
        let failing = Action::Console(1, "SET \"after the end\" 1".into());
        let log = s.to_report_log(71_000_000, Some(&encode_action(&failing))).unwrap();
        let RunLog { actions, end, .. } = RunLog::decode(&log).unwrap();
        assert_eq!(actions[..actions.len() - 1], *s.actions(), "the run as it was");
        assert_eq!(actions.last(), Some(&(71_000_000, failing)), "then what failed, when it failed");
        assert_eq!(end, Some(71_000_000));
        // Failing while time ran on, with no action: the run up to that moment.
        let log = s.to_report_log(75_000_000, None).unwrap();
        assert_eq!(log, s.to_log_at(75_000_000));
        // The action comes from the engine that failed: what it says is checked.
        let bad = s.to_report_log(75_000_000, Some("c,1")).unwrap_err();
        assert!(bad.to_string().contains("action 46"), "{bad}");
    }

    #[test]
    fn a_run_with_sentinels_round_trips_through_its_log_and_seeks() {
        let mut s = Session::new(5);
        for _ in 0..3 {
            s.act(Action::AddNode).unwrap();
        }
        s.act(Action::Console(1, "REPLICAOF 127.0.0.1 6379".into())).unwrap();
        s.act(Action::Console(2, "REPLICAOF 127.0.0.1 6379".into())).unwrap();
        for _ in 0..3 {
            s.act(Action::AddSentinel(0, 2, 3_000, 30_000)).unwrap();
        }
        s.run_until(12_000_000);
        s.act(Action::Crash(0)).unwrap();
        s.run_until(30_000_000);
        let reply = s.act(Action::SentinelConsole(1, "SENTINEL get-master-addr-by-name mymaster".into())).unwrap();
        assert_ne!(reply, "1) \"127.0.0.1\"\n2) \"6379\"", "the sentinels failed over: {reply}");
        let straight = s.world().trace_digest();
        let log = s.to_log();
        assert!(log.contains(",S,0,2,3000,30000;") && log.contains(",C,1,SENTINEL%20get"), "{log}");
        let mut r = Session::from_log(&log).unwrap();
        r.run_until(30_000_000);
        assert_eq!(r.world().trace_digest(), straight);
        // Seeking back before the crash and forward again gives the same run.
        s.seek(11_000_000);
        assert_eq!(s.world().sentinel_count(), 3);
        assert!(!s.world().sentinel_view(0).unwrap().odown);
        s.seek(30_000_000);
        assert_eq!(s.world().trace_digest(), straight);
        assert!(Session::from_log("RL1;s=1;0,n;0,C,0,PING").unwrap_err().0.contains("sentinel 0 does not exist"));
        assert!(Session::from_log("RL1;s=1;0,n;0,S,3,2,1,1").unwrap_err().0.contains("node 3 does not exist"));
    }

    #[test]
    fn malformed_logs_are_refused_with_the_reason() {
        let e = |l: &str| Session::from_log(l).unwrap_err().0;
        assert!(e("hello").contains("must start with 'RL1;'"));
        assert!(e("RL1;seed").contains("s=<seed>"));
        assert!(e("RL1;s=1;0,q").contains("action 1: unknown action code 'q'"));
        assert!(e("RL1;s=1;0,n;zz!,n").contains("action 2: bad time"));
        assert!(e("RL1;s=1;0,n;0,c,3,PING").contains("node 3 does not exist"));
        assert!(e("RL1;s=1;0,n;0,c,0,%G1").contains("bad percent escape"));
        assert!(e("RL1;s=1;0,n;0,k").contains("expected 3 fields"));
        assert!(Session::from_log("RL1;s=1;0,n;0,c,0,PING").is_ok());
        // Times past a day, found by fuzzing (the replay ran for good): refused before any replay.
        let past_a_day = to_base36(MAX_LOG_TIME + 1);
        assert!(e(&format!("RL1;s=1;0,n;t={past_a_day}")).contains("the end time: a shared run lasts at most 24 hours"));
        assert!(
            e(&format!("RL1;s=1;0,n;{past_a_day},c,0,PING")).contains("action 2: a shared run lasts at most 24 hours")
        );
        assert!(e("RL1;s=7;0,n;0,x,0,1;t=230m80m8").contains("24 hours"), "the fuzzer's input");
    }

    #[test]
    fn a_shared_log_runs_to_the_moment_it_was_shared() {
        let s = scripted();
        let log = s.to_log_at(65_432_100);
        assert!(log.ends_with(&format!(";t={}", to_base36(65_432_100))), "{log}");
        let r = Session::from_log(&log).unwrap();
        assert_eq!(r.world().now(), 65_432_100);
        let replies: Vec<&str> =
            r.applied().filter(|(_, a, _)| matches!(a, Action::Console(0, _))).map(|x| x.2).collect();
        assert_eq!(replies.len(), 40);
        assert!(replies.iter().all(|r| *r == "OK"), "{replies:?}");
        let e = |l: &str| Session::from_log(l).unwrap_err().0;
        assert!(e("RL1;s=1;0,n;t=zz!").contains("bad end time"));
        assert!(e("RL1;s=1;5,n;t=1").contains("before the last action"));
        assert!(e("RL1;s=1;0,n;t=5;0,n").contains("nothing may follow the end time"));
    }

    #[test]
    fn the_decoder_reads_a_log_without_replaying_it_and_writes_it_back() {
        let text = scripted().to_log_at(65_432_100);
        let log = RunLog::decode(&text).unwrap();
        assert_eq!(
            (log.actions.len(), log.end, log.span()),
            (scripted().to_log().matches(';').count() - 1, Some(65_432_100), 65_432_100)
        );
        assert_eq!(log.encode(), text);
        let open = RunLog::decode("RL1;s=4;0,n;1a,n").unwrap();
        assert_eq!((open.end, open.span()), (None, 46), "without an end, the last action's time");
        assert_eq!(RunLog::decode("RL1;s=4").unwrap().span(), 0);
        assert_eq!(
            RunLog::decode("RL1;s=4;0,c,7,PING").map(|l| l.actions.len()),
            Ok(1),
            "node 7 is the replay's business"
        );
        assert!(Session::from_log("RL1;s=4;0,c,7,PING").is_err());
    }

    #[test]
    fn removed_nodes_free_their_slot_and_replay() {
        let mut s = Session::new(3);
        for _ in 0..MAX_NODES {
            s.act(Action::AddNode).unwrap();
        }
        assert_eq!(s.world().present_nodes().count(), MAX_NODES);
        assert_eq!(s.act(Action::AddNode), Err(ActionError::TooManyNodes));
        s.act(Action::Console(2, "REPLICAOF 127.0.0.1 6379".into())).unwrap();
        s.run_until(3_000_000);
        s.act(Action::RemoveNode(0)).unwrap();
        assert!(!s.world().is_present(0));
        assert_eq!(s.world().present_nodes().count(), MAX_NODES - 1);
        assert_eq!(s.act(Action::Console(0, "PING".into())), Err(ActionError::NoNode(0)));
        s.run_until(6_000_000);
        assert_eq!(s.world().node(2).view().link_status, Some("down"), "its master is gone");
        s.act(Action::AddNode).unwrap();
        assert!(s.world().is_present(0), "the new node takes the free slot");
        assert_eq!(s.world().node(0).addr(), ("127.0.0.1", 6379));
        s.run_until(20_000_000);
        assert_eq!(s.world().node(2).view().link_status, Some("up"), "a new master at the same address");
        let log = s.to_log();
        assert!(log.contains(",d,0;"), "{log}");
        let mut r = Session::from_log(&log).unwrap();
        r.run_until(20_000_000);
        assert_eq!(r.world().trace_digest(), s.world().trace_digest());
    }

    #[test]
    fn a_step_runs_to_the_next_event() {
        let mut s = Session::new(9);
        s.act(Action::AddNode).unwrap();
        s.act(Action::AddNode).unwrap();
        s.act(Action::Console(1, "REPLICAOF 127.0.0.1 6379".into())).unwrap();
        s.run_until(30_000_000);
        let events = s.world().trace().len();
        let t = s.world().now();
        assert!(s.step(60_000_000));
        assert!(s.world().trace().len() > events);
        assert!(s.world().now() > t && s.world().now() <= t + 1_000_000, "an ACK within a second");
        let mut quiet = Session::new(9);
        quiet.act(Action::AddNode).unwrap();
        quiet.run_until(1_000_000);
        let before = quiet.world().trace().len();
        let happened = quiet.step(5_000_000);
        assert_eq!(happened, quiet.world().trace().len() > before);
        assert!(quiet.world().now() <= 6_000_000);
    }

    #[test]
    fn huge_sentinel_timeouts_from_a_shared_link_are_clamped_not_overflowed() {
        let huge = u64::MAX;
        let log = format!("RL1;s=1;0,n;0,n;0,c,1,REPLICAOF 127.0.0.1 6379;0,S,0,2,{huge},{huge}");
        let mut s = Session::from_log(&log).expect("a valid log");
        s.run_until(60_000_000);
        let w = s.world();
        assert_eq!(w.sentinel_count(), 1);
        assert_eq!(w.node(1).view().link_status, Some("up"), "the world ran on, no overflow");
    }
}
