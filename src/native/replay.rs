//! `repl-lab replay`: a scenario or a shared run done again on real servers, with the lab's
//! checkpoints evaluated on both.
//!
//! The lab's run gives the [`Plan`]: each task's actions with their virtual times, the `until`
//! it waited for and its checkpoints with the lab's values. Here each lab node becomes a real
//! process on loopback (Debian's `redis-server` 7.0.15, or our own `repl-lab server` with
//! `--engine ours`), each sentinel a `redis-server --sentinel`, in a folder of its own. A
//! replica never connects to its master directly: every `REPLICAOF` a console line gives (and
//! every master a sentinel is told to monitor) goes through a [`Proxy`] of that link, which is
//! where the lab's link faults are done to real TCP: `cut` closes both sides, a partition holds
//! the bytes, `link`/`links` set latency and bandwidth. `pause` is SIGSTOP then SIGCONT,
//! `crash` is SIGKILL, `restart` starts the process again on its port and folder with the
//! settings its console gave it (as the lab keeps them), and `load` is a client writing
//! `SET load:<n mod 100000> <n>` at the same rate.
//!
//! Virtual time maps to wall-clock time one to one, from each task's start: an action due 2 s
//! into a step is done 2 s after the step began. A task then waits for its `until` on the real
//! servers (polling, up to its timeout), and its checkpoints are read there: INFO fields,
//! replies, `replica(...)` lines, and events through the log lines Redis writes for them
//! ([`kind_in_log`]). Real servers do not move in lock step with the lab (a cron runs when it
//! runs), so checkpoints are read again for a short grace until all agree, and what the real
//! servers show is normalised: their ports and the proxies' are shown as the lab's.
//!
//! What only the lab can observe (messages on its links, its PSYNC verdicts, typed events no
//! log line records) is listed as lab-only, never passed silently; what real servers cannot do
//! (a lab-only setting, importing a file, link jitter, partitioning sentinels from each other)
//! is refused before anything starts, naming the step. Every process is stopped by its pid on
//! every way out, an error or a panic included (the harness's `Drop`).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::proxy::{LinkFaults, Proxy};
use crate::node::Micros;
use crate::resp::{encode_command, parse_frame, split_args, Frame, Parsed};
use crate::scenario::cond::{
    eval, frame_value, info_field, kind_in_log, line_matches, replica_in_info, Expr, Observe, Value,
};
use crate::scenario::plan::{Checkpoint, Plan, Segment};
use crate::sim::session::Action;
use crate::sim::trace::node_name;
use crate::sim::BASE_PORT;

/// The lab's first sentinel port (S1 is 26379 in the lab's INFO and logs).
const SENTINEL_BASE_PORT: u16 = 26379;
/// How often a replay looks at an `until` and at checkpoints that do not agree yet.
const POLL: Duration = Duration::from_millis(100);
/// How long a server may take to accept connections after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a probe (INFO, a reply) may take; a paused server does not answer.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// Which server plays the lab's nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Debian's `redis-server`.
    Redis,
    /// Our own engine over TCP (`repl-lab server`).
    Ours,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Redis => "redis-server",
            Engine::Ours => "repl-lab server",
        }
    }
}

/// How to replay.
#[derive(Clone, Debug)]
pub struct Options {
    pub engine: Engine,
    /// The `redis-server` program (also run as `--sentinel` for sentinels).
    pub redis_server: PathBuf,
    /// The `repl-lab` program, for `--engine ours`.
    pub repl_lab: PathBuf,
    /// Node `i` listens on `port_base + i` and sentinel `j` on `port_base + 20 + j`; without it
    /// every server gets a free port.
    pub port_base: Option<u16>,
    /// Where the servers' folders go; without it a temporary folder, removed afterwards.
    pub dir: Option<PathBuf>,
    /// How long checkpoints may take to agree after a task ends.
    pub grace: Duration,
}

impl Options {
    pub fn new(engine: Engine, repl_lab: PathBuf) -> Options {
        Options {
            engine,
            redis_server: PathBuf::from("/usr/bin/redis-server"),
            repl_lab,
            port_base: None,
            dir: None,
            grace: Duration::from_secs(3),
        }
    }
}

/// Why a replay could not be done; each names the task (`step 3`) it happened in.
#[derive(Debug)]
pub enum ReplayError {
    /// The lab could not run the scenario or the log (nothing was started).
    Lab(String),
    /// An action real servers cannot do (nothing was started).
    Unsupported { segment: String, action: String, why: String },
    /// A server or a proxy could not be started (everything started was stopped).
    Start { segment: String, what: String, why: String },
    /// The work folder could not be made.
    Dir(PathBuf, io::Error),
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Lab(e) => write!(f, "the lab could not run it: {e}"),
            ReplayError::Unsupported { segment, action, why } => {
                write!(f, "{segment}: `{action}` cannot be replayed on real servers: {why}")
            }
            ReplayError::Start { segment, what, why } => write!(f, "{segment}: could not start {what}: {why}"),
            ReplayError::Dir(p, e) => write!(f, "cannot use {} for the servers' folders: {e}", p.display()),
        }
    }
}

impl std::error::Error for ReplayError {}

/// A checkpoint's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The real servers agree with the lab.
    Held,
    /// They do not (within the grace).
    Differs,
    /// Only the lab can observe it; the reason.
    LabOnly(String),
    /// The lab checked it in a way a replay cannot; the reason.
    Skipped(String),
}

/// One line of the report.
#[derive(Clone, Debug)]
pub struct Row {
    pub segment: String,
    pub place: String,
    pub text: String,
    pub lab: String,
    pub real: String,
    pub verdict: Verdict,
}

/// What a replay found.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub source: String,
    pub engine: Engine,
    pub rows: Vec<Row>,
    /// Each task's name with its lab and real durations.
    pub timings: Vec<(String, Duration, Duration)>,
}

impl Outcome {
    pub fn count(&self, f: impl Fn(&Verdict) -> bool) -> usize {
        self.rows.iter().filter(|r| f(&r.verdict)).count()
    }

    /// The rows that differ.
    pub fn differences(&self) -> Vec<&Row> {
        self.rows.iter().filter(|r| r.verdict == Verdict::Differs).collect()
    }

    /// `12 compared: 12 held, 0 differ; 3 lab-only, 1 skipped`.
    pub fn summary(&self) -> String {
        let held = self.count(|v| *v == Verdict::Held);
        let differ = self.count(|v| *v == Verdict::Differs);
        let lab = self.count(|v| matches!(v, Verdict::LabOnly(_)));
        let skipped = self.count(|v| matches!(v, Verdict::Skipped(_)));
        format!("{} compared: {held} held, {differ} differ; {lab} lab-only, {skipped} skipped", held + differ)
    }

    /// The report as `repl-lab replay` prints it: a table per task, then the summary.
    pub fn table(&self) -> String {
        let mut out = format!("replay of {} on {}\n", self.source, self.engine.name());
        for (name, lab, real) in &self.timings {
            out.push_str(&format!(
                "\n{name}: {:.1} s in the lab, {:.1} s on real servers\n",
                lab.as_secs_f64(),
                real.as_secs_f64()
            ));
            let rows: Vec<&Row> = self.rows.iter().filter(|r| &r.segment == name).collect();
            if rows.is_empty() {
                continue;
            }
            let w = rows.iter().map(|r| r.text.chars().count()).max().unwrap_or(0).min(60);
            for r in rows {
                let verdict = match &r.verdict {
                    Verdict::Held => "held".to_string(),
                    Verdict::Differs => "DIFFERS".to_string(),
                    Verdict::LabOnly(why) => format!("lab-only ({why})"),
                    Verdict::Skipped(why) => format!("skipped ({why})"),
                };
                out.push_str(&format!("  {:<20} {:<w$}  {verdict}\n", r.place, r.text));
                if matches!(r.verdict, Verdict::Held | Verdict::Differs) {
                    out.push_str(&format!("  {:<20} lab:  {}\n  {:<20} real: {}\n", "", r.lab, "", r.real));
                }
            }
        }
        out.push_str(&format!("\n{}: {}\n", self.source, self.summary()));
        out
    }
}

/// Replays a plan; stops every process it started before returning, whatever happens.
pub fn replay(plan: &Plan, opts: &Options) -> Result<Outcome, ReplayError> {
    check_supported(plan, opts.engine)?;
    let (root, temporary) = match &opts.dir {
        Some(d) => (d.clone(), false),
        None => (std::env::temp_dir().join(format!("repl-lab-replay-{}-{}", std::process::id(), unique())), true),
    };
    fs::create_dir_all(&root).map_err(|e| ReplayError::Dir(root.clone(), e))?;
    let mut h = Harness::new(opts.clone(), root.clone());
    let result = h.run(plan);
    drop(h);
    if temporary {
        let _ = fs::remove_dir_all(&root);
    }
    result
}

/// A number no other replay of this process has used (temporary folder names).
fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

/// Refuses, before anything starts, an action real servers cannot do.
fn check_supported(plan: &Plan, engine: Engine) -> Result<(), ReplayError> {
    for (seg, action) in plan.actions() {
        let why = match action {
            Action::AddSentinel(..) if engine == Engine::Ours => {
                Some("real sentinels find each other through the nodes' pub/sub, which our engine does not have")
            }
            Action::Import(..) => {
                Some("the lab imports a file into a running node; restart it with the file as dump.rdb by hand")
            }
            Action::Link(_, _, _, jitter, _) if *jitter > 0 => Some("the replay's proxies add latency without jitter"),
            Action::PartitionSentinels(_) => Some("sentinels talk to each other directly, with no proxy between them"),
            Action::Console(_, line) if lab_setting(line).is_some() => {
                Some("it is a setting of the lab's own, which redis-server does not have")
            }
            _ => None,
        };
        if let Some(why) = why {
            return Err(ReplayError::Unsupported {
                segment: seg.name.clone(),
                action: describe(action),
                why: why.into(),
            });
        }
    }
    Ok(())
}

/// `CONFIG SET lab-...`: a lab-only setting's name.
fn lab_setting(line: &str) -> Option<String> {
    let argv = split_args(line.as_bytes()).ok()?;
    let word = |i: usize| argv.get(i).map(|a| String::from_utf8_lossy(a).to_ascii_lowercase());
    (word(0)? == "config" && word(1)? == "set")
        .then(|| {
            argv.iter()
                .skip(2)
                .step_by(2)
                .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
                .find(|p| p.starts_with("lab-"))
        })
        .flatten()
}

/// An action as a scenario line says it.
fn describe(a: &Action) -> String {
    let n = |i: &usize| node_name(*i);
    match a {
        Action::AddNode => "add-node".into(),
        Action::RemoveNode(i) => format!("remove-node {}", n(i)),
        Action::Console(i, line) => format!("{}: {line}", n(i)),
        Action::SentinelConsole(j, line) => format!("S{}: {line}", j + 1),
        Action::Cut(a, b) => format!("cut {} {}", n(a), n(b)),
        Action::Partition(groups) | Action::PartitionSentinels(groups) => {
            let mut sides: BTreeMap<u32, Vec<String>> = BTreeMap::new();
            for (i, g) in groups.iter().enumerate() {
                let name = if matches!(a, Action::Partition(_)) { n(&i) } else { format!("S{}", i + 1) };
                sides.entry(*g).or_default().push(name);
            }
            let sides: Vec<String> = sides.into_values().map(|v| v.join(" ")).collect();
            format!("partition {}", sides.join(" | "))
        }
        Action::Heal => "heal".into(),
        Action::Crash(i) => format!("crash {}", n(i)),
        Action::Restart(i) => format!("restart {}", n(i)),
        Action::Pause(i, ms) => format!("pause {} {ms}ms", n(i)),
        Action::Links(lat, bw) => format!("links latency {}ms bandwidth {bw}", lat / 1000),
        Action::Link(a, b, lat, jitter, bw) => {
            format!("link {} {} latency {}ms jitter {}ms bandwidth {bw}", n(a), n(b), lat / 1000, jitter / 1000)
        }
        Action::Import(i, bytes) => format!("import of {} bytes into {}", bytes.len(), n(i)),
        Action::AddSentinel(m, quorum, down, timeout) => {
            format!("sentinel {} quorum {quorum} down-after {down}ms failover-timeout {timeout}ms", n(m))
        }
        Action::Load(i, rate) => format!("load {} {rate}", n(i)),
    }
}

// ----- processes -------------------------------------------------------------------------

/// A lab node as a real process.
struct NodeProc {
    port: u16,
    dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    /// What its console made it (kept for a restart, as the lab keeps a node's settings).
    replicaof: Option<usize>,
    config: BTreeMap<String, String>,
    console: Console,
}

struct SentinelProc {
    port: u16,
    log: PathBuf,
    child: Option<Child>,
    console: Console,
}

/// Who is at the client end of a proxied link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum From {
    Node(usize),
    /// Every sentinel: they must all know a master by the same address, or they cannot agree
    /// that it is down (`SENTINEL is-master-down-by-addr` names it by address).
    Sentinels,
}

struct Harness {
    opts: Options,
    root: PathBuf,
    nodes: Vec<Option<NodeProc>>,
    sentinels: Vec<SentinelProc>,
    /// One proxy per (client end, node it connects to).
    proxies: BTreeMap<(From, usize), Proxy>,
    /// `links` settings, and `link A B` settings per pair of nodes (smaller index first).
    links: LinkFaults,
    pair_links: BTreeMap<(usize, usize), LinkFaults>,
    /// Partition groups of the nodes (empty: none); sentinels are in group 0.
    groups: Vec<u32>,
    loads: HashMap<usize, Load>,
    /// Each node's load's next key number (a load started again goes on where it stopped).
    load_keys: HashMap<usize, Arc<AtomicU64>>,
    /// Paused servers: when to resume them, which node, and the pid that was paused.
    resumes: Vec<(Instant, usize, u32)>,
    /// The task under way, for messages.
    segment: String,
}

impl Drop for Harness {
    fn drop(&mut self) {
        for (_, load) in self.loads.drain() {
            load.stop();
        }
        let children = self.nodes.iter_mut().flatten().filter_map(|n| n.child.take());
        let sentinels = self.sentinels.iter_mut().filter_map(|s| s.child.take());
        for mut child in children.chain(sentinels) {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.proxies.clear();
    }
}

impl Harness {
    fn new(opts: Options, root: PathBuf) -> Harness {
        Harness {
            opts,
            root,
            nodes: Vec::new(),
            sentinels: Vec::new(),
            proxies: BTreeMap::new(),
            links: LinkFaults::default(),
            pair_links: BTreeMap::new(),
            groups: Vec::new(),
            loads: HashMap::new(),
            load_keys: HashMap::new(),
            resumes: Vec::new(),
            segment: String::new(),
        }
    }

    fn run(&mut self, plan: &Plan) -> Result<Outcome, ReplayError> {
        let mut rows = Vec::new();
        let mut timings = Vec::new();
        for seg in &plan.segments {
            self.segment = seg.name.clone();
            let began = Instant::now();
            let marks = self.log_marks();
            for (t, action) in &seg.actions {
                self.wait_until(began + micros(t.saturating_sub(seg.start)));
                self.apply(action)?;
            }
            self.wait_until(began + micros(seg.lines_end.saturating_sub(seg.start)));
            match &seg.until {
                Some(until) if until.lab_only.is_none() => {
                    let deadline =
                        began + micros(seg.lines_end.saturating_sub(seg.start) + seg.timeout) + self.opts.grace;
                    let (met, real) = self.poll(&[until], deadline, &marks);
                    rows.push(row(seg, until, &real[0], met));
                }
                other => {
                    self.wait_until(began + micros(seg.end - seg.start));
                    if let Some(until) = other {
                        rows.push(row(seg, until, "", false));
                    }
                }
            }
            let live: Vec<&Checkpoint> = seg.checks.iter().filter(|c| c.lab_only.is_none()).collect();
            let (_, real) = self.poll(&live, Instant::now() + self.opts.grace, &marks);
            let scope = RealScope { h: self, since: &marks, cache: RefCell::new(HashMap::new()) };
            let mut real = real.into_iter();
            for c in &seg.checks {
                let shown = if c.lab_only.is_none() { real.next().unwrap_or_default() } else { String::new() };
                let met = c.lab_only.is_none() && agrees(c, &scope);
                rows.push(row(seg, c, &shown, met));
            }
            for (place, why) in &seg.skipped {
                rows.push(Row {
                    segment: seg.name.clone(),
                    place: place.clone(),
                    text: String::new(),
                    lab: String::new(),
                    real: String::new(),
                    verdict: Verdict::Skipped(why.clone()),
                });
            }
            timings.push((seg.name.clone(), micros(seg.end - seg.start), began.elapsed()));
        }
        Ok(Outcome { source: plan.source.clone(), engine: self.opts.engine, rows, timings })
    }

    /// Sleeps until `t`, noticing meanwhile the servers that stopped on their own (SHUTDOWN) and
    /// resuming paused ones when their pause ends.
    fn wait_until(&mut self, t: Instant) {
        loop {
            self.reap();
            let now = Instant::now();
            if now >= t {
                return;
            }
            let next_resume = self.resumes.iter().map(|r| r.0).min().unwrap_or(t);
            thread::sleep((t.min(next_resume).max(now) - now).min(POLL));
        }
    }

    /// A server that exited (SHUTDOWN) is down: its links stop listening, as its port did. A
    /// paused server whose pause is over gets SIGCONT, if it is still the same process (one
    /// crashed and restarted meanwhile is not paused any more, and its old pid is not ours).
    fn reap(&mut self) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = self.resumes.drain(..).partition(|r| r.0 <= now);
        self.resumes = later;
        for (_, i, pid) in due {
            let same = self.nodes.get(i).and_then(Option::as_ref).and_then(|n| n.child.as_ref()).map(Child::id);
            if same == Some(pid) {
                signal(pid, "CONT");
            }
        }
        for i in 0..self.nodes.len() {
            let exited = self.nodes[i].as_mut().is_some_and(|n| n.child.is_some() && !alive(&mut n.child));
            if exited {
                self.set_listening(i, false);
            }
        }
    }

    /// Opens or closes the ports of every proxy to node `i`.
    fn set_listening(&self, i: usize, on: bool) {
        for ((_, to), p) in &self.proxies {
            if *to == i {
                p.set_listening(on);
            }
        }
    }

    /// Reads checkpoints until all agree with the lab or the deadline passes; whether they all
    /// did, and each one's operands as the real servers last showed them.
    fn poll(&mut self, cps: &[&Checkpoint], deadline: Instant, since: &Marks) -> (bool, Vec<String>) {
        loop {
            self.reap();
            let s = RealScope { h: self, since, cache: RefCell::new(HashMap::new()) };
            let all = cps.iter().all(|c| agrees(c, &s));
            let shown = cps.iter().map(|c| operand_values(&c.expr, &s)).collect();
            if all || Instant::now() >= deadline {
                return (all, shown);
            }
            thread::sleep(POLL);
        }
    }

    /// Where each log file ends now: a task's events are the lines written after.
    fn log_marks(&self) -> Marks {
        let len = |p: &Path| fs::metadata(p).map_or(0, |m| m.len());
        Marks {
            nodes: self.nodes.iter().map(|n| n.as_ref().map_or(0, |n| len(&n.log))).collect(),
            sentinels: self.sentinels.iter().map(|s| len(&s.log)).collect(),
        }
    }

    fn fail(&self, what: impl Into<String>, why: impl Into<String>) -> ReplayError {
        ReplayError::Start { segment: self.segment.clone(), what: what.into(), why: why.into() }
    }

    fn apply(&mut self, action: &Action) -> Result<(), ReplayError> {
        match action {
            Action::AddNode => {
                let i = self.nodes.iter().position(Option::is_none).unwrap_or(self.nodes.len());
                if i == self.nodes.len() {
                    self.nodes.push(None);
                }
                self.add_node(i)?;
            }
            Action::RemoveNode(i) => {
                if let Some(mut n) = self.nodes.get_mut(*i).and_then(Option::take) {
                    stop(&mut n.child);
                }
                self.proxies.retain(|(from, to), _| *to != *i && *from != From::Node(*i));
                if let Some(load) = self.loads.remove(i) {
                    load.stop();
                }
            }
            Action::Console(i, line) => self.console(*i, line)?,
            Action::SentinelConsole(j, line) => {
                if let Some(s) = self.sentinels.get(*j) {
                    s.console.send(line.clone());
                }
            }
            Action::Cut(a, b) => {
                for key in [(From::Node(*a), *b), (From::Node(*b), *a)] {
                    if let Some(p) = self.proxies.get(&key) {
                        p.cut();
                    }
                }
            }
            Action::Partition(groups) => {
                self.groups = groups.clone();
                self.set_faults();
            }
            Action::Heal => {
                self.groups.clear();
                self.set_faults();
            }
            Action::Crash(i) => {
                if let Some(n) = self.nodes.get_mut(*i).and_then(Option::as_mut) {
                    stop(&mut n.child);
                    self.set_listening(*i, false);
                }
            }
            Action::Restart(i) => {
                let running = self.nodes.get_mut(*i).and_then(Option::as_mut).map(|n| alive(&mut n.child));
                if running == Some(false) {
                    self.start_node(*i)?;
                }
            }
            Action::Pause(i, ms) => {
                if let Some(pid) =
                    self.nodes.get(*i).and_then(Option::as_ref).and_then(|n| n.child.as_ref()).map(Child::id)
                {
                    signal(pid, "STOP");
                    self.resumes.push((Instant::now() + Duration::from_millis(*ms), *i, pid));
                }
            }
            Action::Links(latency, bandwidth) => {
                self.links =
                    LinkFaults { latency: Duration::from_micros(*latency), bandwidth: *bandwidth, hold: false };
                self.pair_links.clear();
                self.set_faults();
            }
            Action::Link(a, b, latency, _, bandwidth) => {
                let f = LinkFaults { latency: Duration::from_micros(*latency), bandwidth: *bandwidth, hold: false };
                self.pair_links.insert(((*a).min(*b), (*a).max(*b)), f);
                self.set_faults();
            }
            Action::AddSentinel(master, quorum, down_after, failover_timeout) => {
                self.add_sentinel(*master, *quorum, *down_after, *failover_timeout)?
            }
            Action::Load(i, rate) => {
                if let Some(load) = self.loads.remove(i) {
                    load.stop();
                }
                if *rate > 0 {
                    let port = self.nodes.get(*i).and_then(Option::as_ref).map(|n| n.port);
                    if let Some(port) = port {
                        let next = Arc::clone(self.load_keys.entry(*i).or_default());
                        self.loads.insert(*i, Load::start(port, *rate, next));
                    }
                }
            }
            Action::Import(..) | Action::PartitionSentinels(_) => {}
        }
        Ok(())
    }
}

/// Where the log files ended when a task began.
struct Marks {
    nodes: Vec<u64>,
    sentinels: Vec<u64>,
}

fn micros(t: Micros) -> Duration {
    Duration::from_micros(t)
}

// ----- starting servers ----------------------------------------------------------------------

impl Harness {
    /// A port for a new server: `port_base + offset`, refused if something listens there; else
    /// a free one.
    fn port(&self, offset: u16, what: &str) -> Result<u16, ReplayError> {
        match self.opts.port_base {
            Some(base) => {
                let port = base.checked_add(offset).ok_or_else(|| self.fail(what, "--port-base is too high"))?;
                TcpListener::bind(("127.0.0.1", port))
                    .map_err(|e| self.fail(what, format!("port {port} is in use ({e})")))?;
                Ok(port)
            }
            None => TcpListener::bind(("127.0.0.1", 0))
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .map_err(|e| self.fail(what, format!("no free port: {e}"))),
        }
    }

    fn add_node(&mut self, i: usize) -> Result<(), ReplayError> {
        let name = node_name(i);
        let port = self.port(i as u16, &format!("node {name}"))?;
        let dir = self.root.join(&name);
        // A node added in a removed node's slot starts afresh, as in the lab.
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| self.fail(format!("node {name}"), format!("{}: {e}", dir.display())))?;
        let log = dir.join(if self.opts.engine == Engine::Redis { "redis.log" } else { "repl-lab.log" });
        let console = Console::start(port);
        self.nodes[i] =
            Some(NodeProc { port, dir, log, child: None, replicaof: None, config: BTreeMap::new(), console });
        self.start_node(i)
    }

    /// Starts node `i`'s process (again) on its port and folder, with what its console set.
    fn start_node(&mut self, i: usize) -> Result<(), ReplayError> {
        let name = node_name(i);
        let replicaof = self.nodes[i].as_ref().and_then(|n| n.replicaof).map(|m| self.proxy_port(From::Node(i), m));
        let replicaof = replicaof.transpose()?;
        let Some(n) = self.nodes[i].as_mut() else { return Ok(()) };
        let port = n.port.to_string();
        let mut cmd = match self.opts.engine {
            Engine::Redis => {
                let mut c = Command::new(&self.opts.redis_server);
                c.args(["--port", &port, "--bind", "127.0.0.1", "--daemonize", "no", "--dir"]).arg(&n.dir);
                c.arg("--logfile").arg(&n.log);
                // SHUTDOWN saves (as in the lab, where a node has somewhere to save to); no
                // periodic save comes due in a replay's minutes.
                c.args(["--save", "3600 1", "--appendonly", "no", "--enable-debug-command", "local"]);
                for (k, v) in &n.config {
                    c.arg(format!("--{k}")).arg(v);
                }
                if let Some(q) = replicaof {
                    c.args(["--replicaof", "127.0.0.1", &q.to_string()]);
                }
                c.stdout(Stdio::null()).stderr(Stdio::null());
                c
            }
            Engine::Ours => {
                let mut c = Command::new(&self.opts.repl_lab);
                c.args(["server", "--port", &port, "--dir"]).arg(&n.dir);
                for (k, v) in &n.config {
                    c.args(["--config", k, v]);
                }
                if let Some(q) = replicaof {
                    c.args(["--replicaof", "127.0.0.1", &q.to_string()]);
                }
                let log = fs::OpenOptions::new().create(true).append(true).open(&n.log);
                let log = log.map_err(|e| ReplayError::Start {
                    segment: self.segment.clone(),
                    what: format!("node {name}"),
                    why: e.to_string(),
                })?;
                let err = log.try_clone().map_err(|e| ReplayError::Start {
                    segment: self.segment.clone(),
                    what: format!("node {name}"),
                    why: e.to_string(),
                })?;
                c.stdout(log).stderr(err);
                c
            }
        };
        let program = cmd.get_program().to_string_lossy().into_owned();
        let child = spawn(&mut cmd).map_err(|e| ReplayError::Start {
            segment: self.segment.clone(),
            what: format!("node {name}"),
            why: format!("{program}: {e}"),
        })?;
        n.child = Some(child);
        let (port, log) = (n.port, n.log.clone());
        wait_ready(&mut n.child, port, &log).map_err(|why| self.fail(format!("node {name} ({program})"), why))?;
        self.set_listening(i, true);
        Ok(())
    }

    fn add_sentinel(
        &mut self,
        master: usize,
        quorum: u32,
        down_after: u64,
        failover_timeout: u64,
    ) -> Result<(), ReplayError> {
        let j = self.sentinels.len();
        let name = format!("S{}", j + 1);
        let port = self.port(20 + j as u16, &format!("sentinel {name}"))?;
        let dir = self.root.join(&name);
        fs::create_dir_all(&dir)
            .map_err(|e| self.fail(format!("sentinel {name}"), format!("{}: {e}", dir.display())))?;
        let via = self.proxy_port(From::Sentinels, master)?;
        let log = dir.join("sentinel.log");
        let conf = dir.join("sentinel.conf");
        let text = format!(
            "port {port}\nbind 127.0.0.1\ndaemonize no\ndir {dir}\nlogfile {log}\n\
             sentinel monitor mymaster 127.0.0.1 {via} {quorum}\n\
             sentinel down-after-milliseconds mymaster {down_after}\n\
             sentinel failover-timeout mymaster {failover_timeout}\n",
            dir = dir.display(),
            log = log.display(),
        );
        fs::write(&conf, text)
            .map_err(|e| self.fail(format!("sentinel {name}"), format!("{}: {e}", conf.display())))?;
        let mut cmd = Command::new(&self.opts.redis_server);
        cmd.arg(&conf).arg("--sentinel").stdout(Stdio::null()).stderr(Stdio::null());
        let child = spawn(&mut cmd).map_err(|e| self.fail(format!("sentinel {name}"), e.to_string()))?;
        self.sentinels.push(SentinelProc { port, log: log.clone(), child: Some(child), console: Console::start(port) });
        let s = &mut self.sentinels[j];
        wait_ready(&mut s.child, port, &log).map_err(|why| self.fail(format!("sentinel {name}"), why))
    }

    /// The port of the proxy from `from` to node `to`, started if need be.
    fn proxy_port(&mut self, from: From, to: usize) -> Result<u16, ReplayError> {
        if let Some(p) = self.proxies.get(&(from, to)) {
            return Ok(p.port());
        }
        let target = self.nodes.get(to).and_then(Option::as_ref).map(|n| n.port);
        let target = target.ok_or_else(|| self.fail("a proxy", format!("there is no node {}", node_name(to))))?;
        let port = free_port().ok_or_else(|| self.fail("a proxy", "no free port between 10000 and 30000"))?;
        let p = Proxy::start_on(port, target).map_err(|e| self.fail("a proxy", e.to_string()))?;
        p.set(self.faults(from, to));
        let port = p.port();
        self.proxies.insert((from, to), p);
        Ok(port)
    }

    /// What the link from `from` to node `to` does now.
    fn faults(&self, from: From, to: usize) -> LinkFaults {
        let group = |i: usize| self.groups.get(i).copied().unwrap_or(0);
        match from {
            From::Node(a) => {
                let mut f = self.pair_links.get(&(a.min(to), a.max(to))).copied().unwrap_or(self.links);
                f.hold = group(a) != group(to);
                f
            }
            From::Sentinels => LinkFaults { hold: group(to) != 0, ..self.links },
        }
    }

    fn set_faults(&mut self) {
        for ((from, to), p) in &self.proxies {
            p.set(self.faults(*from, *to));
        }
    }

    /// A console line on node `i`: a `REPLICAOF` goes through the link's proxy, and what the
    /// line sets is kept for a restart.
    fn console(&mut self, i: usize, line: &str) -> Result<(), ReplayError> {
        let Ok(mut argv) = split_args(line.as_bytes()) else {
            // What redis-cli would refuse to send is not sent (the lab answered it with an error).
            return Ok(());
        };
        let word = |a: &[u8]| String::from_utf8_lossy(a).to_ascii_lowercase();
        let present: Vec<bool> = self.nodes.iter().map(Option::is_some).collect();
        let lab_node = |a: &[u8]| {
            let port = String::from_utf8_lossy(a).parse::<usize>().ok()?;
            port.checked_sub(BASE_PORT as usize).filter(|m| present.get(*m).copied().unwrap_or(false))
        };
        let first = argv.first().map(|a| word(a)).unwrap_or_default();
        let mut replicaof = None;
        if (first == "replicaof" || first == "slaveof") && argv.len() == 3 {
            if word(&argv[1]) == "no" && word(&argv[2]) == "one" {
                replicaof = Some(None);
            } else if let Some(m) = lab_node(&argv[2]) {
                let via = self.proxy_port(From::Node(i), m)?;
                argv[1] = b"127.0.0.1".to_vec();
                argv[2] = via.to_string().into_bytes();
                replicaof = Some(Some(m));
            }
        }
        if first == "failover" {
            // FAILOVER TO names the replica as its master lists it: by its own port.
            let to = argv.iter().position(|a| word(a) == "to");
            if let Some(m) = to.and_then(|k| argv.get(k + 2)).and_then(|a| lab_node(a)) {
                let real = self.nodes[m].as_ref().map_or(0, |n| n.port);
                let k = to.unwrap_or(0) + 2;
                argv[k] = real.to_string().into_bytes();
            }
        }
        let Some(n) = self.nodes.get_mut(i).and_then(Option::as_mut) else { return Ok(()) };
        if let Some(r) = replicaof {
            n.replicaof = r;
        }
        if first == "config" && argv.get(1).is_some_and(|a| word(a) == "set") {
            for pair in argv[2..].chunks(2) {
                if let [k, v] = pair {
                    n.config.insert(word(k), String::from_utf8_lossy(v).into_owned());
                }
            }
        }
        n.console.send_argv(argv);
        Ok(())
    }
}

/// A free loopback port between 10,000 and 30,000, each process going up from its own place.
///
/// Not the kernel's ephemeral ports: a crashed node's port, and the ports of the proxies to it,
/// are free until it restarts, and an ephemeral port handed out meanwhile (to another replay's
/// server or proxy, to any outgoing connection) could take one, and the restarted node's
/// replicas would talk to a stranger. Ports below the ephemeral range are only taken by name.
fn free_port() -> Option<u16> {
    const FIRST: u32 = 10_000;
    const COUNT: u32 = 20_000;
    static NEXT: std::sync::OnceLock<AtomicU64> = std::sync::OnceLock::new();
    let next = NEXT.get_or_init(|| AtomicU64::new(u64::from(std::process::id() % 200) * 100));
    (0..COUNT).find_map(|_| {
        let port = (FIRST + (next.fetch_add(1, Ordering::SeqCst) % u64::from(COUNT)) as u32) as u16;
        TcpListener::bind(("127.0.0.1", port)).ok().map(|_| port)
    })
}

/// Waits until a just started server answers PING; an error says why it did not (it exited,
/// with its log's last lines, or it never answered).
fn wait_ready(child: &mut Option<Child>, port: u16, log: &Path) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(Ok(Some(status))) = child.as_mut().map(Child::try_wait) {
            *child = None;
            let text = fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(3).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!("it exited at start ({status}); its log ends: {}", tail.join(" / ")));
        }
        if let Ok(Frame::Simple(s)) = call(port, &[b"PING".to_vec()]) {
            if s == "PONG" {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            stop(child);
            return Err(format!("it did not answer on port {port} within {} s", START_TIMEOUT.as_secs()));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Spawns a server that the kernel kills if the replay dies first (a Ctrl-C, a kill), so no
/// server outlives it on any way out.
fn spawn(cmd: &mut Command) -> io::Result<Child> {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec and only calls prctl(2),
    // which is async-signal-safe; it touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn()
}

/// Kills a process (SIGKILL works on a paused one too) and reaps it.
fn stop(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// Whether a process still runs (a SHUTDOWN ends it on its own).
fn alive(child: &mut Option<Child>) -> bool {
    match child.as_mut().map(Child::try_wait) {
        Some(Ok(None)) => true,
        Some(_) => {
            *child = None;
            false
        }
        None => false,
    }
}

/// `kill -STOP` / `kill -CONT`.
fn signal(pid: u32, sig: &str) {
    let _ =
        Command::new("kill").args(["-s", sig, &pid.to_string()]).stdout(Stdio::null()).stderr(Stdio::null()).status();
}

/// One command on a fresh connection, with a short timeout; its reply.
fn call(port: u16, argv: &[Vec<u8>]) -> io::Result<Frame> {
    let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), PROBE_TIMEOUT)?;
    s.set_read_timeout(Some(PROBE_TIMEOUT))?;
    s.set_write_timeout(Some(PROBE_TIMEOUT))?;
    s.write_all(&encode_command(argv))?;
    read_frame(&mut s, &mut Vec::new())
}

/// Reads one reply from a connection, keeping what follows it in `buf`.
fn read_frame(s: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Frame> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match parse_frame(buf) {
            Ok(Parsed::Complete(f, used)) => {
                buf.drain(..used);
                return Ok(f);
            }
            Ok(Parsed::Incomplete) => {}
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

// ----- clients -----------------------------------------------------------------------------

/// A node's console: one connection that a thread feeds line by line, as the lab's console
/// is one client (a blocked `WAIT` holds the lines after it, and the steps go on meanwhile).
struct Console {
    tx: Sender<Vec<Vec<u8>>>,
}

impl Console {
    fn start(port: u16) -> Console {
        let (tx, rx) = channel::<Vec<Vec<u8>>>();
        thread::spawn(move || {
            let mut conn: Option<(TcpStream, Vec<u8>)> = None;
            for argv in rx {
                if conn.is_none() {
                    conn = TcpStream::connect(("127.0.0.1", port)).ok().map(|s| (s, Vec::new()));
                }
                let Some((s, buf)) = conn.as_mut() else { continue };
                let sent = s.write_all(&encode_command(&argv)).and_then(|()| read_frame(s, buf));
                if sent.is_err() {
                    // The node went away (crashed, shut down): the next line reconnects.
                    conn = None;
                }
            }
        });
        Console { tx }
    }

    fn send(&self, line: String) {
        if let Ok(argv) = split_args(line.as_bytes()) {
            self.send_argv(argv);
        }
    }

    fn send_argv(&self, argv: Vec<Vec<u8>>) {
        if !argv.is_empty() {
            let _ = self.tx.send(argv);
        }
    }
}

/// A write load: the lab's writes (`SET load:<n mod 100000> <n>`, see
/// [`crate::sim::load::encode_load_write`]) at a steady rate, sent every 10 ms, replies read and
/// dropped.
struct Load {
    stopping: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Load {
    fn start(port: u16, rate: u64, next: Arc<AtomicU64>) -> Load {
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&stopping);
        let thread = thread::spawn(move || {
            let began = Instant::now();
            let first = next.load(Ordering::SeqCst);
            let mut conn: Option<TcpStream> = None;
            while !stop.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(10));
                let due = first + (began.elapsed().as_micros() as u64 * rate / 1_000_000);
                let from = next.load(Ordering::SeqCst);
                if due <= from {
                    continue;
                }
                if conn.is_none() {
                    conn = TcpStream::connect(("127.0.0.1", port)).ok();
                    if let Some(c) = conn.as_ref().and_then(|c| c.try_clone().ok()) {
                        // Replies are read and dropped by a reader of their own.
                        thread::spawn(move || drain(c));
                    }
                }
                let Some(c) = conn.as_mut() else { continue };
                let mut bytes = Vec::new();
                for n in from..due {
                    crate::sim::load::encode_load_write(n, &mut bytes);
                }
                if c.write_all(&bytes).is_ok() {
                    next.store(due, Ordering::SeqCst);
                } else {
                    conn = None;
                }
            }
        });
        Load { stopping, thread: Some(thread) }
    }

    fn stop(mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn drain(mut c: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    while matches!(c.read(&mut buf), Ok(n) if n > 0) {}
}

// ----- observing ---------------------------------------------------------------------------

/// Conditions read on the real servers: INFO and replies over fresh connections, events in
/// the log lines written since the task began; ports shown as the lab's.
struct RealScope<'a> {
    h: &'a Harness,
    since: &'a Marks,
    /// Each node's INFO, read once per evaluation round.
    cache: RefCell<HashMap<usize, Option<String>>>,
}

impl RealScope<'_> {
    /// Real port (a server's or a proxy's) → the lab's port of the same node.
    fn lab_port(&self, port: u16) -> Option<u16> {
        let node = self.h.nodes.iter().enumerate().find(|(_, n)| n.as_ref().is_some_and(|n| n.port == port));
        let node = node
            .map(|(i, _)| i)
            .or_else(|| self.h.proxies.iter().find(|(_, p)| p.port() == port).map(|((_, to), _)| *to));
        node.map(|i| BASE_PORT + i as u16)
            .or_else(|| self.h.sentinels.iter().position(|s| s.port == port).map(|j| SENTINEL_BASE_PORT + j as u16))
    }

    fn info(&self, i: usize) -> Option<String> {
        if let Some(cached) = self.cache.borrow().get(&i) {
            return cached.clone();
        }
        let port = self.h.nodes.get(i).and_then(Option::as_ref).map(|n| n.port);
        let text = port.and_then(|p| match call(p, &[b"INFO".to_vec(), b"everything".to_vec()]) {
            Ok(Frame::Bulk(b)) => Some(self.normalise_info(&String::from_utf8_lossy(&b))),
            _ => None,
        });
        self.cache.borrow_mut().insert(i, text.clone());
        text
    }

    /// Ports in an INFO text as the lab shows them: `master_port`, `tcp_port`, `slaveN:...port=`.
    fn normalise_info(&self, text: &str) -> String {
        let map = |v: &str| v.parse().ok().and_then(|p| self.lab_port(p)).map_or(v.to_string(), |p| p.to_string());
        let mut out = String::with_capacity(text.len());
        for line in text.lines() {
            match line.split_once(':') {
                Some((k @ ("master_port" | "tcp_port"), v)) => out.push_str(&format!("{k}:{}", map(v.trim_end()))),
                Some((k, v))
                    if k.starts_with("slave") && k[5..].bytes().all(|b| b.is_ascii_digit()) && !k[5..].is_empty() =>
                {
                    let pairs: Vec<String> = v
                        .trim_end()
                        .split(',')
                        .map(|p| match p.split_once('=') {
                            Some(("port", port)) => format!("port={}", map(port)),
                            _ => p.to_string(),
                        })
                        .collect();
                    out.push_str(&format!("{k}:{}", pairs.join(",")));
                }
                _ => out.push_str(line),
            }
            out.push('\n');
        }
        out
    }

    /// Ports in a ROLE or SENTINEL reply as the lab's: any element that is a known port.
    fn normalise_reply(&self, f: Frame) -> Frame {
        match f {
            Frame::Array(items) => Frame::Array(items.into_iter().map(|f| self.normalise_reply(f)).collect()),
            Frame::Integer(n) => match u16::try_from(n).ok().and_then(|p| self.lab_port(p)) {
                Some(p) => Frame::Integer(p.into()),
                None => Frame::Integer(n),
            },
            Frame::Bulk(b) => {
                match std::str::from_utf8(&b).ok().and_then(|s| s.parse().ok()).and_then(|p| self.lab_port(p)) {
                    Some(p) => Frame::Bulk(p.to_string().into_bytes()),
                    None => Frame::Bulk(b),
                }
            }
            other => other,
        }
    }

    /// The lines a log file got since the task began.
    fn new_lines(path: &Path, from: u64) -> Vec<String> {
        let mut text = Vec::new();
        if let Ok(mut f) = fs::File::open(path) {
            let _ = io::Seek::seek(&mut f, io::SeekFrom::Start(from));
            let _ = f.read_to_end(&mut text);
        }
        String::from_utf8_lossy(&text).lines().map(str::to_string).collect()
    }

    fn node_lines(&self, i: usize) -> Vec<String> {
        match self.h.nodes.get(i).and_then(Option::as_ref) {
            Some(n) => Self::new_lines(&n.log, self.since.nodes.get(i).copied().unwrap_or(0)),
            None => Vec::new(),
        }
    }
}

impl Observe for RealScope<'_> {
    fn leaf(&self, e: &Expr) -> Value {
        match e {
            Expr::Info(i, field) => self.info(*i).map_or(Value::Absent, |t| info_field(&t, field)),
            Expr::Replica(a, b, field) => {
                self.info(*a).map_or(Value::Absent, |t| replica_in_info(&t, BASE_PORT + *b as u16, field))
            }
            Expr::Reply(i, line) => {
                let port = self.h.nodes.get(*i).and_then(Option::as_ref).map(|n| n.port);
                let argv = split_args(line.as_bytes()).unwrap_or_default();
                let name = argv.first().map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).unwrap_or_default();
                match port.map(|p| call(p, &argv)) {
                    Some(Ok(f)) if name == "role" || name == "sentinel" => frame_value(&self.normalise_reply(f)),
                    Some(Ok(f)) => frame_value(&f),
                    _ => Value::Absent,
                }
            }
            Expr::Count(i, kind) => {
                let Some((plus, minus)) = kind_in_log(kind) else { return Value::Absent };
                let lines = self.node_lines(*i);
                let n =
                    |patterns: &[&[&str]]| lines.iter().filter(|l| patterns.iter().any(|p| line_matches(l, p))).count();
                Value::Num(n(plus) as f64 - n(minus) as f64)
            }
            Expr::Logged(i, text) => {
                Value::Num(self.node_lines(*i).iter().filter(|l| l.contains(text.as_str())).count() as f64)
            }
            Expr::Sentinel(text) => {
                let n: usize = self
                    .h
                    .sentinels
                    .iter()
                    .zip(self.since.sentinels.iter().copied().chain(std::iter::repeat(0)))
                    .map(|(s, from)| Self::new_lines(&s.log, from).iter().filter(|l| l.contains(text.as_str())).count())
                    .sum();
                Value::Num(n as f64)
            }
            Expr::Up(i) => {
                Value::Bool(self.h.nodes.get(*i).and_then(Option::as_ref).is_some_and(|n| n.child.is_some()))
            }
            _ => Value::Absent,
        }
    }
}

/// Whether a checkpoint agrees with the lab on the real servers now.
fn agrees(c: &Checkpoint, scope: &RealScope) -> bool {
    c.met_by(&eval(&c.expr, scope))
}

fn operand_values(e: &Expr, s: &RealScope) -> String {
    let mut out = Vec::new();
    crate::scenario::cond::operands(e, &mut |text, leaf| out.push(format!("{text} = {}", eval(leaf, s))));
    out.join(", ")
}

fn row(seg: &Segment, c: &Checkpoint, real: &str, met: bool) -> Row {
    let verdict = match &c.lab_only {
        Some(why) => Verdict::LabOnly(why.clone()),
        None if met => Verdict::Held,
        None => Verdict::Differs,
    };
    Row {
        segment: seg.name.clone(),
        place: c.place.clone(),
        text: c.text.clone(),
        lab: c.lab.clone(),
        real: real.into(),
        verdict,
    }
}
