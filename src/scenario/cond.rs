//! Conditions: the little expression language of `until`, `check`, answer keys and goals.
//!
//! A condition is written on what Redis shows, never on the engine's insides, so that a learner
//! can read it and check it by hand in a console:
//!
//! ```text
//! B.master_link_status == 'up'                      an INFO field of a node
//! A.master_repl_offset == B.slave_repl_offset       fields compared across nodes
//! reply(B, 'GET k') == 'v'                          the value a command answers
//! reply(C, 'ROLE') starts-with 'slave'
//! replica(A, B).state == 'online'                   A's INFO line for its replica B
//! count(A, 'psync-continue') == 1                   typed trace events, since the step began
//! psync(A).bytes > 0                                A's last PSYNC verdict (of the run)
//! sent(A, B, 'ping') >= 3                           messages by kind, or by text in their label
//! bytes(A, B, 'stream') == 36                       the bytes of those messages
//! first(B, A, 'PSYNC') < first(A, B, 'rdb')         when the first of them left (virtual ms)
//! logged(B, 'MASTER <-> REPLICA sync') > 0          a log line, verbatim
//! up(A) and not up(B)
//! ```
//!
//! Parsing checks every name against the scenario's nodes, the INFO fields the engine knows, the
//! command table and the event kinds, so a typo is an error when the file loads, not a check
//! that silently never holds. Evaluation reads a [`World`] and the part of its trace that
//! belongs to the current step.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::OnceLock;

use crate::node::Micros;
use crate::resp::Frame;
use crate::sim::trace::node_name;
use crate::sim::{Peer, TraceEvent, What, World};

/// The event kinds `count(NODE, 'kind')` knows, with what each counts.
pub const EVENT_KINDS: &[(&str, &str)] = &[
    ("psync-continue", "the node, a master, answered a PSYNC with +CONTINUE"),
    ("psync-full", "the node, a master, answered a PSYNC with +FULLRESYNC"),
    ("connected", "the node's link to its master became connected"),
    ("link-down", "the node's link to its master left the connected state"),
    ("sync", "the node started receiving an RDB from its master"),
    ("role-master", "the node became a master"),
    ("role-slave", "the node became a replica"),
    ("replid", "the node's master_replid changed"),
    ("replica-online", "one of the node's replicas became online"),
    ("replica-gone", "one of the node's replicas is no longer listed"),
    ("backlog-created", "the node created its replication backlog"),
    ("backlog-freed", "the node freed its replication backlog"),
    ("crashed", "the node crashed"),
    ("restarted", "the node restarted"),
    ("not-propagated", "the node ran a write Redis does not propagate (DEBUG POPULATE)"),
    ("propagated", "the node appended a command to its replication stream"),
];

/// How an event kind shows in a Redis log, for replaying a scenario on real servers: a count of
/// `kind` is the number of log lines matching one of the first patterns, less those matching one
/// of the second. A pattern is texts a line must contain (`!text`: must not contain). `None`: no
/// Redis log line says it (the lab's own typed events), so a replay skips the condition.
#[allow(clippy::type_complexity)]
pub fn kind_in_log(kind: &str) -> Option<(&'static [&'static [&'static str]], &'static [&'static [&'static str]])> {
    const ACCEPTED: &[&str] = &["Partial resynchronization request from", "accepted"];
    Some(match kind {
        "psync-continue" => (&[ACCEPTED], &[]),
        // Every SYNC and PSYNC is logged as asked for; those not accepted are full syncs.
        "psync-full" => (&[&["asks for synchronization", "!wrong offset"]], &[ACCEPTED]),
        "connected" => (
            &[
                &["MASTER <-> REPLICA sync: Finished with success"],
                &["MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization."],
            ],
            &[],
        ),
        "link-down" => (&[&["Connection with master lost."]], &[]),
        "sync" => (&[&["MASTER <-> REPLICA sync: receiving"]], &[]),
        "role-master" => (&[&["MASTER MODE enabled"]], &[]),
        "role-slave" => (&[&["REPLICAOF ", " enabled"]], &[]),
        "replica-online" => (&[&["Synchronization with replica", "succeeded"]], &[]),
        "replica-gone" => (&[&["Connection with replica", "lost."]], &[]),
        "backlog-created" => (&[&["Replication backlog created"]], &[]),
        "backlog-freed" => (&[&["Replication backlog freed"]], &[]),
        "restarted" => (&[&["Server initialized"]], &[]),
        _ => return None,
    })
}

/// Whether a log line matches a pattern of [`kind_in_log`].
pub fn line_matches(line: &str, pattern: &[&str]) -> bool {
    pattern.iter().all(|p| match p.strip_prefix('!') {
        Some(not) => !line.contains(not),
        None => line.contains(p),
    })
}

/// The first operand of a condition that only the lab can observe (what travelled on its links,
/// its PSYNC verdicts, typed events no log line records), with why; `None` if real servers show
/// every operand.
pub fn lab_only(e: &Expr) -> Option<String> {
    let mut why = None;
    operands(e, &mut |text, leaf| {
        if why.is_some() {
            return;
        }
        why = match leaf {
            Expr::Sent(..) | Expr::Bytes(..) | Expr::First(..) => Some(format!("{text}: messages on the lab's links")),
            Expr::Psync(..) => Some(format!("{text}: the lab's PSYNC verdict")),
            Expr::Count(_, kind) if kind_in_log(kind).is_none() => {
                Some(format!("{text}: no Redis log line records '{kind}'"))
            }
            _ => None,
        };
    });
    why
}

/// Message kinds `sent(A, B, 'kind')` knows (anything else is text its label contains).
const MESSAGE_KINDS: &[&str] = &["handshake", "reply", "rdb", "stream", "ping", "ack", "keepalive"];

/// Fields of `replica(A, B).field` (the `slaveN` line of A's INFO).
const REPLICA_FIELDS: &[&str] = &["ip", "port", "state", "offset", "lag"];

/// Fields of `psync(NODE).field`.
const PSYNC_FIELDS: &[&str] =
    &["accepted", "bytes", "offset", "id", "reason", "replid", "replid2", "second_offset", "port"];

/// A condition that does not parse or names something that does not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CondError {
    /// Byte offset in the condition's text.
    pub at: usize,
    pub message: String,
}

impl fmt::Display for CondError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.at + 1)
    }
}

/// What a condition's parts evaluate to.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Num(f64),
    Str(String),
    Bool(bool),
    /// An INFO field the node does not show now, a nil reply, no such event.
    Absent,
}

impl Value {
    pub fn num(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Str(s) => s.trim().parse().ok(),
            Value::Bool(_) | Value::Absent => None,
        }
    }

    /// True only for `Bool(true)`.
    pub fn holds(&self) -> bool {
        matches!(self, Value::Bool(true))
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => write!(f, "{}", *n as i64),
            Value::Num(n) => write!(f, "{n}"),
            Value::Str(s) => write!(f, "'{s}'"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Absent => f.write_str("(absent)"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    StartsWith,
}

/// A parsed condition or operand.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Num(f64),
    Str(String),
    /// `true` or `false`.
    Bool(bool),
    /// `A.field`: an INFO field of node `A`.
    Info(usize, String),
    /// `reply(A, 'line')`.
    Reply(usize, String),
    /// `replica(A, B).field`: the `slaveN` line of A's INFO whose port is B's.
    Replica(usize, usize, String),
    /// `count(A, 'kind')`.
    Count(usize, String),
    /// `psync(A).field`.
    Psync(usize, String),
    /// `sent(A, B, 'kind or label text')`.
    Sent(usize, usize, String),
    /// `bytes(A, B, 'kind or label text')`: the bytes of those messages.
    Bytes(usize, usize, String),
    /// `first(A, B, 'kind or label text')`: when the first of them was sent (virtual ms).
    First(usize, usize, String),
    /// `logged(A, 'text')`.
    Logged(usize, String),
    /// `sentinel('text')`: event lines of any sentinel containing the text.
    Sentinel(String),
    /// `up(A)`.
    Up(usize),
    Add(Box<Expr>, Box<Expr>),
    Sub(Box<Expr>, Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// What a condition may name: the scenario's nodes, and whether a command exists.
pub struct Names<'a> {
    /// How many nodes the lab has (A, B, ... in order).
    pub nodes: usize,
    /// Whether a command name is in the engine's table.
    pub command_known: &'a dyn Fn(&str) -> bool,
}

// ----- lexing ------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Word(String),
    Op(&'static str),
}

fn lex(text: &str) -> Result<Vec<(usize, Tok)>, CondError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'\'' || c == b'"' {
            let mut s = String::new();
            i += 1;
            loop {
                let Some(ch) = text[i..].chars().next() else {
                    return Err(CondError { at: start, message: "a string is not closed".into() });
                };
                i += ch.len_utf8();
                if ch as u32 == c as u32 {
                    break;
                }
                if ch == '\\' {
                    if let Some(next) = text[i..].chars().next() {
                        i += next.len_utf8();
                        s.push(next);
                        continue;
                    }
                }
                s.push(ch);
            }
            out.push((start, Tok::Str(s)));
            continue;
        }
        if c.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.' || bytes[i] == b'_') {
                i += 1;
            }
            let digits = text[start..i].replace('_', "");
            let n = digits.parse().map_err(|_| CondError { at: start, message: format!("bad number '{digits}'") })?;
            out.push((start, Tok::Num(n)));
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'-') {
                i += 1;
            }
            out.push((start, Tok::Word(text[start..i].to_string())));
            continue;
        }
        let two = text.get(i..i + 2).unwrap_or("");
        let op = ["==", "!=", "<=", ">="].into_iter().find(|o| *o == two);
        if let Some(op) = op {
            out.push((start, Tok::Op(op)));
            i += 2;
            continue;
        }
        let one = ["<", ">", "(", ")", ",", ".", "+", "-"].into_iter().find(|o| o.as_bytes()[0] == c);
        match one {
            Some(op) => {
                out.push((start, Tok::Op(op)));
                i += 1;
            }
            None => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(CondError { at: start, message: format!("unexpected '{ch}'") });
            }
        }
    }
    Ok(out)
}

// ----- parsing -----------------------------------------------------------------------------

struct Parser<'a> {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
    names: &'a Names<'a>,
}

/// Parses a condition, checking every name it uses.
pub fn parse(text: &str, names: &Names) -> Result<Expr, CondError> {
    // Positions are kept in bytes while parsing and reported in characters.
    parse_bytes(text, names).map_err(|e| CondError { at: text.get(..e.at).map_or(e.at, |s| s.chars().count()), ..e })
}

fn parse_bytes(text: &str, names: &Names) -> Result<Expr, CondError> {
    let toks = lex(text)?;
    let mut p = Parser { toks, pos: 0, end: text.len(), names };
    if p.toks.is_empty() {
        return Err(CondError { at: 0, message: "the condition is empty".into() });
    }
    let e = p.or()?;
    if let Some((at, t)) = p.toks.get(p.pos) {
        return Err(CondError { at: *at, message: format!("unexpected {} after a complete condition", show(t)) });
    }
    Ok(e)
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Num(n) => format!("number {n}"),
        Tok::Str(s) => format!("string '{s}'"),
        Tok::Word(w) => format!("'{w}'"),
        Tok::Op(o) => format!("'{o}'"),
    }
}

impl Parser<'_> {
    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |t| t.0)
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, CondError> {
        Err(CondError { at: self.at(), message: message.into() })
    }

    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some((_, Tok::Word(x))) if x == w)
    }

    fn peek_op(&self, o: &str) -> bool {
        matches!(self.toks.get(self.pos), Some((_, Tok::Op(x))) if *x == o)
    }

    fn expect_op(&mut self, o: &str) -> Result<(), CondError> {
        if self.peek_op(o) {
            self.pos += 1;
            Ok(())
        } else {
            self.err(format!("expected '{o}'"))
        }
    }

    fn or(&mut self) -> Result<Expr, CondError> {
        let mut e = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, CondError> {
        let mut e = self.not()?;
        while self.peek_word("and") {
            self.pos += 1;
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, CondError> {
        if self.peek_word("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr, CondError> {
        let left = self.sum()?;
        let op = match self.toks.get(self.pos) {
            Some((_, Tok::Op("=="))) => CmpOp::Eq,
            Some((_, Tok::Op("!="))) => CmpOp::Ne,
            Some((_, Tok::Op("<"))) => CmpOp::Lt,
            Some((_, Tok::Op("<="))) => CmpOp::Le,
            Some((_, Tok::Op(">"))) => CmpOp::Gt,
            Some((_, Tok::Op(">="))) => CmpOp::Ge,
            Some((_, Tok::Word(w))) if w == "contains" => CmpOp::Contains,
            Some((_, Tok::Word(w))) if w == "starts-with" => CmpOp::StartsWith,
            _ => return Ok(left),
        };
        self.pos += 1;
        let right = self.sum()?;
        Ok(Expr::Cmp(op, Box::new(left), Box::new(right)))
    }

    fn sum(&mut self) -> Result<Expr, CondError> {
        let mut e = self.atom()?;
        loop {
            if self.peek_op("+") {
                self.pos += 1;
                e = Expr::Add(Box::new(e), Box::new(self.atom()?));
            } else if self.peek_op("-") {
                self.pos += 1;
                e = Expr::Sub(Box::new(e), Box::new(self.atom()?));
            } else {
                return Ok(e);
            }
        }
    }

    fn atom(&mut self) -> Result<Expr, CondError> {
        let Some((at, tok)) = self.toks.get(self.pos).cloned() else {
            return self.err("the condition ends too early");
        };
        self.pos += 1;
        match tok {
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Str(s) => Ok(Expr::Str(s)),
            Tok::Op("(") => {
                let e = self.or()?;
                self.expect_op(")")?;
                Ok(e)
            }
            Tok::Word(w) if w == "true" || w == "false" => Ok(Expr::Bool(w == "true")),
            Tok::Word(w) if self.peek_op("(") => self.call(at, &w),
            Tok::Word(w) if self.peek_op(".") => {
                let node = self.node_named(at, &w)?;
                self.pos += 1;
                let field = self.word("an INFO field name")?;
                if !info_field_known(&field) {
                    return Err(CondError {
                        at: self.toks[self.pos - 1].0,
                        message: format!("unknown INFO field '{field}'"),
                    });
                }
                Ok(Expr::Info(node, field))
            }
            Tok::Word(w) => Err(CondError {
                at,
                message: format!("'{w}' is neither a node's field (A.field), a function, nor a quoted string"),
            }),
            Tok::Op(o) => Err(CondError { at, message: format!("unexpected '{o}'") }),
        }
    }

    fn word(&mut self, what: &str) -> Result<String, CondError> {
        match self.toks.get(self.pos) {
            Some((_, Tok::Word(w))) => {
                let w = w.clone();
                self.pos += 1;
                Ok(w)
            }
            _ => self.err(format!("expected {what}")),
        }
    }

    fn string(&mut self, what: &str) -> Result<(usize, String), CondError> {
        match self.toks.get(self.pos) {
            Some((at, Tok::Str(s))) => {
                let r = (*at, s.clone());
                self.pos += 1;
                Ok(r)
            }
            _ => self.err(format!("expected {what} in quotes")),
        }
    }

    fn node_named(&self, at: usize, w: &str) -> Result<usize, CondError> {
        node_index(w, self.names.nodes).map_err(|message| CondError { at, message })
    }

    fn node(&mut self) -> Result<usize, CondError> {
        let at = self.at();
        let w = self.word("a node's name")?;
        self.node_named(at, &w)
    }

    fn call(&mut self, at: usize, name: &str) -> Result<Expr, CondError> {
        self.expect_op("(")?;
        let e = match name {
            "reply" => {
                let n = self.node()?;
                self.expect_op(",")?;
                let (at, line) = self.string("a command line")?;
                check_command(&line, self.names).map_err(|message| CondError { at, message })?;
                Expr::Reply(n, line)
            }
            "count" => {
                let n = self.node()?;
                self.expect_op(",")?;
                let (at, kind) = self.string("an event kind")?;
                if !EVENT_KINDS.iter().any(|(k, _)| *k == kind) {
                    let known: Vec<&str> = EVENT_KINDS.iter().map(|(k, _)| *k).collect();
                    return Err(CondError {
                        at,
                        message: format!("unknown event kind '{kind}' (known: {})", known.join(", ")),
                    });
                }
                Expr::Count(n, kind)
            }
            "sent" | "bytes" | "first" => {
                let a = self.node()?;
                self.expect_op(",")?;
                let b = self.node()?;
                self.expect_op(",")?;
                let (_, what) = self.string("a message kind or label")?;
                match name {
                    "sent" => Expr::Sent(a, b, what),
                    "bytes" => Expr::Bytes(a, b, what),
                    _ => Expr::First(a, b, what),
                }
            }
            "logged" => {
                let n = self.node()?;
                self.expect_op(",")?;
                Expr::Logged(n, self.string("the text of a log line")?.1)
            }
            "sentinel" => Expr::Sentinel(self.string("the text of a sentinel's event")?.1),
            "up" => Expr::Up(self.node()?),
            "psync" | "replica" => {
                let a = self.node()?;
                let b = if name == "replica" {
                    self.expect_op(",")?;
                    Some(self.node()?)
                } else {
                    None
                };
                self.expect_op(")")?;
                self.expect_op(".")?;
                let fat = self.at();
                let field = self.word("a field name")?;
                return match b {
                    None if PSYNC_FIELDS.contains(&field.as_str()) => Ok(Expr::Psync(a, field)),
                    None => Err(CondError {
                        at: fat,
                        message: format!("psync() has no field '{field}' (known: {})", PSYNC_FIELDS.join(", ")),
                    }),
                    Some(b) if REPLICA_FIELDS.contains(&field.as_str()) => Ok(Expr::Replica(a, b, field)),
                    Some(_) => Err(CondError {
                        at: fat,
                        message: format!("replica() has no field '{field}' (known: {})", REPLICA_FIELDS.join(", ")),
                    }),
                };
            }
            _ => {
                return Err(CondError {
                    at,
                    message: format!(
                        "unknown function '{name}' (known: reply, count, sent, bytes, first, logged, sentinel, up, psync, replica)"
                    ),
                })
            }
        };
        self.expect_op(")")?;
        Ok(e)
    }
}

/// The index of node `A`, `B`, ... when the lab has it.
pub fn node_index(name: &str, nodes: usize) -> Result<usize, String> {
    let b = name.as_bytes();
    if b.len() == 1 && b[0].is_ascii_uppercase() && ((b[0] - b'A') as usize) < nodes {
        Ok((b[0] - b'A') as usize)
    } else if nodes == 0 {
        Err(format!("unknown node '{name}': the lab has no nodes"))
    } else {
        Err(format!("unknown node '{name}': the lab's nodes are A to {}", node_name(nodes - 1)))
    }
}

/// Checks that a console line names a command the engine knows.
pub fn check_command(line: &str, names: &Names) -> Result<(), String> {
    let args = crate::resp::split_args(line.as_bytes())
        .map_err(|_| format!("bad command line '{line}': Invalid argument(s)"))?;
    let Some(name) = args.first() else {
        return Err("the command line is empty".into());
    };
    let name = String::from_utf8_lossy(name);
    if (names.command_known)(&name) {
        Ok(())
    } else {
        Err(format!("unknown command '{name}'"))
    }
}

/// Whether INFO shows a field of this name in some role (`slave0`, `slave1`... included).
fn info_field_known(field: &str) -> bool {
    static FIELDS: OnceLock<BTreeSet<String>> = OnceLock::new();
    let fields = FIELDS.get_or_init(|| {
        // The engine's own INFO names them all: a master and its replica, read while the
        // replica connects, waits for the diskless delay, loads, is connected, and is cut off.
        // With min-replicas set (its fields show then), and once more with the link cut.
        let mut w = World::new(1);
        let a = w.add_node();
        let b = w.add_node();
        w.console(a, "CONFIG SET min-replicas-to-write 1");
        w.console(b, "REPLICAOF 127.0.0.1 6379");
        let mut set = BTreeSet::new();
        for ms in [1, 2_000, 5_002, 15_000, 15_500] {
            if ms == 15_500 {
                w.cut(a, b);
            }
            w.run_until(ms * 1_000);
            for i in [a, b] {
                for line in w.node(i).info_text(&["everything"]).lines() {
                    if let Some((k, _)) = line.split_once(':') {
                        set.insert(k.to_string());
                    }
                }
            }
        }
        set
    });
    fields.contains(field)
        || field.strip_prefix("slave").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

// ----- evaluating --------------------------------------------------------------------------

/// What a condition reads: the world now, and the trace since `since` (the step's start).
pub struct Scope<'a> {
    pub world: &'a World,
    pub since: Micros,
}

impl Scope<'_> {
    fn events(&self) -> impl Iterator<Item = &TraceEvent> {
        // The trace is in time order: walk back from its end to the step's start.
        let trace = self.world.trace();
        let first = trace.len() - trace.iter().rev().take_while(|e| e.time >= self.since).count();
        trace.iter().skip(first)
    }

    /// The times and sizes of the segments `a` sent `b` in the scope that are of a kind or
    /// whose label contains a text.
    fn messages<'b>(&'b self, a: usize, b: usize, what: &'b str) -> impl Iterator<Item = (Micros, usize)> + 'b {
        self.events().filter_map(move |e| match &e.what {
            What::Sent { from: Peer::Node(f), to: Peer::Node(t), label, kind, bytes, .. }
                if *f == a && *t == b && message_is(*kind, label, what) =>
            {
                Some((e.time, *bytes))
            }
            _ => None,
        })
    }

    fn info(&self, node: usize, field: &str) -> Value {
        if !self.world.is_present(node) || !self.world.is_up(node) {
            return Value::Absent;
        }
        info_field(&self.world.node(node).info_text(&["everything"]), field)
    }
}

/// Where a condition's operands are read: the simulated world ([`Scope`]) or, for a replay,
/// real servers. [`eval`] does the arithmetic, comparisons and logic; an observer answers the
/// leaves (`A.field`, `reply(...)`, `count(...)`, ...), never a literal or an operator.
pub trait Observe {
    fn leaf(&self, e: &Expr) -> Value;
}

/// Evaluates an expression.
pub fn eval(e: &Expr, s: &dyn Observe) -> Value {
    match e {
        Expr::Num(n) => Value::Num(*n),
        Expr::Str(t) => Value::Str(t.clone()),
        Expr::Bool(b) => Value::Bool(*b),
        Expr::Add(a, b) | Expr::Sub(a, b) => match (eval(a, s).num(), eval(b, s).num()) {
            (Some(x), Some(y)) if matches!(e, Expr::Add(..)) => Value::Num(x + y),
            (Some(x), Some(y)) => Value::Num(x - y),
            _ => Value::Absent,
        },
        Expr::Cmp(op, a, b) => Value::Bool(compare(*op, &eval(a, s), &eval(b, s))),
        Expr::Not(a) => Value::Bool(!eval(a, s).holds()),
        Expr::And(a, b) => Value::Bool(eval(a, s).holds() && eval(b, s).holds()),
        Expr::Or(a, b) => Value::Bool(eval(a, s).holds() || eval(b, s).holds()),
        leaf => s.leaf(leaf),
    }
}

impl Observe for Scope<'_> {
    fn leaf(&self, e: &Expr) -> Value {
        let s = self;
        match e {
            Expr::Info(n, f) => s.info(*n, f),
            Expr::Reply(n, line) => reply_value(s.world, *n, line),
            Expr::Replica(a, b, field) => replica_field(s, *a, *b, field),
            Expr::Count(n, kind) => Value::Num(s.events().filter(|e| e.node == *n && event_is(e, kind)).count() as f64),
            // The last verdict of the whole run: the one that decided how the replica is synced.
            Expr::Psync(n, field) => s
                .world
                .trace()
                .iter()
                .rev()
                .filter(|e| e.node == *n)
                .filter_map(|e| match &e.what {
                    What::Psync(d) => Some(d),
                    _ => None,
                })
                .next()
                .map_or(Value::Absent, |d| psync_field(d, field)),
            Expr::Sent(a, b, what) => Value::Num(s.messages(*a, *b, what).count() as f64),
            Expr::Bytes(a, b, what) => Value::Num(s.messages(*a, *b, what).map(|(_, n)| n).sum::<usize>() as f64),
            Expr::First(a, b, what) => {
                s.messages(*a, *b, what).next().map_or(Value::Absent, |(t, _)| Value::Num(t as f64 / 1000.0))
            }
            Expr::Logged(n, text) => Value::Num(
                s.events()
                    .filter(|e| {
                        e.node == *n && matches!(&e.what, What::Log { text: t, .. } if t.contains(text.as_str()))
                    })
                    .count() as f64,
            ),
            Expr::Sentinel(text) => Value::Num(
                s.events()
                    .filter(|e| matches!(&e.what, What::Sentinel { text: t, .. } if t.contains(text.as_str())))
                    .count() as f64,
            ),
            Expr::Up(n) => Value::Bool(s.world.is_present(*n) && s.world.is_up(*n)),
            _ => Value::Absent,
        }
    }
}

/// Calls `f` with each operand of a condition that reads the lab (not its literals), with the
/// operand written back as text: what a report shows the values of.
pub fn operands(e: &Expr, f: &mut dyn FnMut(&str, &Expr)) {
    match e {
        Expr::Num(_) | Expr::Str(_) | Expr::Bool(_) => {}
        Expr::Add(a, b) | Expr::Sub(a, b) | Expr::Cmp(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
            operands(a, f);
            operands(b, f);
        }
        Expr::Not(a) => operands(a, f),
        leaf => f(&leaf.to_string(), leaf),
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = |i: &usize| node_name(*i);
        match self {
            Expr::Num(x) => write!(f, "{}", Value::Num(*x)),
            Expr::Str(s) => write!(f, "'{s}'"),
            Expr::Bool(b) => write!(f, "{b}"),
            Expr::Info(i, field) => write!(f, "{}.{field}", n(i)),
            Expr::Reply(i, line) => write!(f, "reply({}, '{line}')", n(i)),
            Expr::Replica(a, b, field) => write!(f, "replica({}, {}).{field}", n(a), n(b)),
            Expr::Count(i, kind) => write!(f, "count({}, '{kind}')", n(i)),
            Expr::Psync(i, field) => write!(f, "psync({}).{field}", n(i)),
            Expr::Sent(a, b, what) => write!(f, "sent({}, {}, '{what}')", n(a), n(b)),
            Expr::Bytes(a, b, what) => write!(f, "bytes({}, {}, '{what}')", n(a), n(b)),
            Expr::First(a, b, what) => write!(f, "first({}, {}, '{what}')", n(a), n(b)),
            Expr::Logged(i, text) => write!(f, "logged({}, '{text}')", n(i)),
            Expr::Sentinel(text) => write!(f, "sentinel('{text}')"),
            Expr::Up(i) => write!(f, "up({})", n(i)),
            Expr::Add(a, b) => write!(f, "{a} + {b}"),
            Expr::Sub(a, b) => write!(f, "{a} - {b}"),
            Expr::Cmp(op, a, b) => {
                let op = match op {
                    CmpOp::Eq => "==",
                    CmpOp::Ne => "!=",
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                    CmpOp::Contains => "contains",
                    CmpOp::StartsWith => "starts-with",
                };
                write!(f, "{a} {op} {b}")
            }
            Expr::Not(a) => write!(f, "not ({a})"),
            Expr::And(a, b) => write!(f, "({a}) and ({b})"),
            Expr::Or(a, b) => write!(f, "({a}) or ({b})"),
        }
    }
}

fn compare(op: CmpOp, a: &Value, b: &Value) -> bool {
    if matches!(a, Value::Absent) || matches!(b, Value::Absent) {
        // Nothing to compare (a field not shown, a nil reply, no such event): no comparison
        // holds, `!=` included, so that a choice cannot be right by default.
        return false;
    }
    let text = |v: &Value| match v {
        Value::Str(s) => s.clone(),
        other => other.to_string(),
    };
    match op {
        CmpOp::Contains => return text(a).contains(&text(b)),
        CmpOp::StartsWith => return text(a).starts_with(&text(b)),
        _ => {}
    }
    let ord = match (a.num(), b.num()) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => Some(text(a).cmp(&text(b))),
    };
    let Some(ord) = ord else { return false };
    match op {
        CmpOp::Eq => ord.is_eq(),
        CmpOp::Ne => ord.is_ne(),
        CmpOp::Lt => ord.is_lt(),
        CmpOp::Le => ord.is_le(),
        CmpOp::Gt => ord.is_gt(),
        CmpOp::Ge => ord.is_ge(),
        CmpOp::Contains | CmpOp::StartsWith => false,
    }
}

fn event_is(e: &TraceEvent, kind: &str) -> bool {
    use crate::sim::Change;
    match (&e.what, kind) {
        (What::Psync(d), "psync-continue") => d.accepted,
        (What::Psync(d), "psync-full") => !d.accepted,
        (What::State(Change::ReplState { to, .. }), "connected") => *to == "connected",
        (What::State(Change::ReplState { from, to }), "link-down") => *from == "connected" && *to != "connected",
        (What::State(Change::ReplState { to, .. }), "sync") => *to == "sync",
        (What::State(Change::Role { to, .. }), "role-master") => *to == "master",
        (What::State(Change::Role { to, .. }), "role-slave") => *to == "slave",
        (What::State(Change::Replid { .. }), "replid") => true,
        (What::State(Change::Replica { to, .. }), "replica-online") => *to == "online",
        (What::State(Change::ReplicaGone { .. }), "replica-gone") => true,
        (What::State(Change::BacklogCreated), "backlog-created") => true,
        (What::State(Change::BacklogFreed), "backlog-freed") => true,
        (What::Crashed, "crashed") => true,
        (What::Restarted, "restarted") => true,
        (What::NotPropagated { .. }, "not-propagated") => true,
        (What::Propagated { .. }, "propagated") => true,
        _ => false,
    }
}

fn message_is(kind: crate::sim::wire::Kind, label: &str, what: &str) -> bool {
    if MESSAGE_KINDS.contains(&what) {
        serde_name(kind) == what
    } else {
        label.contains(what)
    }
}

fn serde_name(kind: crate::sim::wire::Kind) -> &'static str {
    use crate::sim::wire::Kind;
    match kind {
        Kind::Handshake => "handshake",
        Kind::Reply => "reply",
        Kind::Rdb => "rdb",
        Kind::Stream => "stream",
        Kind::Ping => "ping",
        Kind::Ack => "ack",
        Kind::Keepalive => "keepalive",
    }
}

fn psync_field(d: &crate::node::replication::master::PsyncDecision, field: &str) -> Value {
    match field {
        "accepted" => Value::Bool(d.accepted),
        "bytes" => Value::Num(d.bytes as f64),
        "offset" => Value::Num(d.offset as f64),
        "id" => Value::Str(d.id.clone()),
        "reason" => Value::Str(reason_name(d.reason).into()),
        "replid" => Value::Str(d.replid.clone()),
        "replid2" => Value::Str(d.replid2.clone()),
        "second_offset" => Value::Num(d.second_offset as f64),
        "port" => Value::Num(d.replica_port as f64),
        _ => Value::Absent,
    }
}

/// A PSYNC verdict's reason as conditions name it.
pub fn reason_name(r: crate::node::replication::master::PsyncReason) -> &'static str {
    use crate::node::replication::master::PsyncReason as R;
    match r {
        R::FullRequested => "full-requested",
        R::IdMismatch => "id-mismatch",
        R::PastSecondOffset => "past-second-offset",
        R::NoBacklog => "no-backlog",
        R::BeforeBacklog => "before-backlog",
        R::AfterBacklog => "after-backlog",
        R::Continue => "continue",
    }
}

fn replica_field(s: &Scope, a: usize, b: usize, field: &str) -> Value {
    if !s.world.is_present(b) || !s.world.is_present(a) || !s.world.is_up(a) {
        return Value::Absent;
    }
    let port = s.world.node(b).addr().1;
    replica_in_info(&s.world.node(a).info_text(&["replication"]), port, field)
}

/// A field of an INFO text (`name:value` lines); absent if the text does not show it.
pub fn info_field(info: &str, field: &str) -> Value {
    info.lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| *k == field).map(|(_, v)| Value::Str(v.trim_end().to_string())))
        .unwrap_or(Value::Absent)
}

/// A field of the `slaveN:ip=...,port=<port>,...` line of an INFO text whose port is `port`.
pub fn replica_in_info(info: &str, port: u16, field: &str) -> Value {
    let port = port.to_string();
    for line in info.lines() {
        let Some((key, rest)) = line.split_once(':') else { continue };
        if !key.starts_with("slave") || !key[5..].bytes().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let pairs: Vec<(&str, &str)> = rest.trim_end().split(',').filter_map(|p| p.split_once('=')).collect();
        if pairs.iter().any(|(k, v)| *k == "port" && *v == port) {
            return pairs.iter().find(|(k, _)| *k == field).map_or(Value::Absent, |(_, v)| Value::Str(v.to_string()));
        }
    }
    Value::Absent
}

/// The value a command answers on node `n`, read on a copy of the world (nothing recorded):
/// a string's text, an integer, an error's message, an array's elements one per line; a nil
/// reply is absent.
fn reply_value(w: &World, n: usize, line: &str) -> Value {
    if !w.is_present(n) || !w.is_up(n) {
        return Value::Absent;
    }
    match w.clone().console_frame(n, line) {
        Some(frame) => frame_value(&frame),
        None => Value::Absent,
    }
}

/// A reply as a condition sees it: a string's text, an integer, an error's message, an array's
/// elements one per line; a nil is absent.
pub fn frame_value(f: &Frame) -> Value {
    match f {
        Frame::Simple(s) | Frame::Error(s) => Value::Str(s.clone()),
        Frame::Integer(i) => Value::Num(*i as f64),
        Frame::Bulk(b) => Value::Str(String::from_utf8_lossy(b).into_owned()),
        Frame::Null | Frame::NullArray => Value::Absent,
        Frame::Array(items) => Value::Str(
            items
                .iter()
                .map(|i| match frame_value(i) {
                    Value::Str(s) => s,
                    Value::Absent => "(nil)".into(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names<'static> {
        Names { nodes: 3, command_known: &|c: &str| crate::node::commands::is_command(c) }
    }

    #[test]
    fn parses_and_names_what_is_wrong() {
        let n = names();
        assert!(parse("A.master_repl_offset == B.slave_repl_offset and up(C)", &n).is_ok());
        assert!(parse("reply(B, 'GET k') == 'v' or not (count(A, 'psync-full') > 0)", &n).is_ok());
        let e = parse("D.role == 'master'", &n).unwrap_err();
        assert_eq!(e.message, "unknown node 'D': the lab's nodes are A to C");
        let e = parse("A.master_repl_ofset > 0", &n).unwrap_err();
        assert_eq!((e.at, e.message.as_str()), (2, "unknown INFO field 'master_repl_ofset'"));
        let e = parse("reply(A, 'GTE k') == 'v'", &n).unwrap_err();
        assert_eq!(e.message, "unknown command 'GTE'");
        let e = parse("count(A, 'psync') > 0", &n).unwrap_err();
        assert!(e.message.starts_with("unknown event kind 'psync'"), "{}", e.message);
        let e = parse("replica(A, B).stat == 'online'", &n).unwrap_err();
        assert!(e.message.starts_with("replica() has no field 'stat'"), "{}", e.message);
        let e = parse("psync(A).verdict", &n).unwrap_err();
        assert!(e.message.starts_with("psync() has no field 'verdict'"), "{}", e.message);
        let e = parse("A.role == master", &n).unwrap_err();
        assert_eq!(e.at, 10);
        let e = parse("reply(A, 'GET 中文键') == 'v' x", &n).unwrap_err();
        assert_eq!(e.at, 27, "characters, not bytes");
        assert!(parse("'unclosed", &n).is_err());
        assert!(parse("A.role == 'master' B", &n).is_err());
        assert!(parse("", &n).is_err());
    }

    #[test]
    fn evaluates_on_the_world() {
        let mut w = World::new(3);
        let a = w.add_node();
        let b = w.add_node();
        w.add_node();
        w.console(b, "REPLICAOF 127.0.0.1 6379");
        w.console(a, "SET k v");
        w.run_for_ms(15_000);
        let s = Scope { world: &w, since: 0 };
        let n = names();
        let holds = |text: &str| eval(&parse(text, &n).unwrap(), &s).holds();
        assert!(holds("B.master_link_status == 'up'"));
        assert!(holds("A.master_repl_offset == B.slave_repl_offset"));
        assert!(holds("A.master_repl_offset > 0"));
        assert!(holds("reply(B, 'GET k') == 'v'"));
        assert!(holds("reply(B, 'ROLE') starts-with 'slave'"));
        assert!(holds("replica(A, B).state == 'online'"));
        assert!(holds("replica(A, B).offset == A.master_repl_offset"));
        assert!(holds("count(A, 'psync-full') == 1 and count(A, 'psync-continue') == 0"));
        assert!(holds("psync(A).reason == 'id-mismatch' and psync(A).accepted == false"));
        assert!(holds("sent(A, B, 'rdb') >= 1 and sent(B, A, 'PSYNC') == 1"));
        assert!(holds("first(B, A, 'PSYNC') < first(A, B, 'rdb') and first(A, B, 'FULLRESYNC') <= first(A, B, 'rdb')"));
        assert!(holds("logged(B, 'MASTER <-> REPLICA sync: Finished with success') == 1"));
        assert!(!holds("reply(C, 'GET k') != 'v'"), "a nil reply is absent: no comparison holds");
        assert!(!holds("reply(C, 'GET k') == 'v'"));
        assert!(holds("not (reply(C, 'GET k') == 'v')"));
        assert!(!holds("C.master_link_status == 'up'"), "a master shows no master_link_status");
        assert!(holds("A.master_repl_offset - B.slave_repl_offset == 0"));
        assert!(holds("up(A) and up(B)"));
        let later = Scope { world: &w, since: w.now() + 1 };
        assert!(
            eval(&parse("count(A, 'psync-full') == 0", &n).unwrap(), &later).holds(),
            "counts since the step began"
        );
    }
}
