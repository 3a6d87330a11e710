//! Guided scenarios: a chapter of the course as a data file, run by the engine itself.
//!
//! A scenario is a TOML file (`www/scenarios/<id>.toml`, documented in `docs/scenarios.md`): the
//! starting lab, then steps with narration per language, actions, `until` conditions, checks,
//! questions whose answer keys are conditions, and challenges with a reference solution. The
//! format is data, not code, so a course author writes a chapter without programming, and the
//! runner lives here, in Rust, so that the same file runs headless in `cargo test`, in
//! `repl-lab scenario check`, on wasm32 and in the page, and a chapter can never teach something
//! the engine does not do: every answer key is checked against the run.
//!
//! - [`cond`]: the condition language (`A.master_repl_offset == B.slave_repl_offset`, ...).
//! - [`action`]: the action lines (`A: SET k v`, `cut A B`, `wait 2s`, ...).
//! - [`run`]: the runner, step by step over a [`crate::sim::session::Session`].
//! - [`skeleton`]: a run turned into a scenario file ("save as scenario").
//!
//! Loading validates everything before anything runs, and reports every problem it finds with
//! the file, the place (step, field) and the line.

pub mod action;
pub mod cond;
mod file;
pub mod plan;
pub mod run;
pub mod skeleton;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use toml::Spanned;

use crate::node::Micros;
use action::Census;
use cond::{Expr, Names};
use file::{RawQuestion, RawText};

/// The language every text must have; the others fall back to it.
pub const BASE_LANGUAGE: &str = "en";

/// The views a narration may point at with `{view name}` (the page's view names).
pub const VIEWS: &[&str] =
    &["stage", "inspector", "buffer", "message", "sentinels", "console", "log", "sequence", "timeline"];

/// The default time an `until` or a goal may take, in virtual time.
pub const DEFAULT_TIMEOUT: Micros = 60_000_000;

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioError {
    /// The file (or scenario id) it is in.
    pub file: String,
    /// 1-based line, where the format gives one.
    pub line: Option<usize>,
    /// Where in the scenario: `lab.setup[2]`, `step 3 until`, ...
    pub place: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}: {}", self.file, self.place, self.message),
            None => write!(f, "{}: {}: {}", self.file, self.place, self.message),
        }
    }
}

impl std::error::Error for ScenarioError {}

// ----- the scenario as checked ---------------------------------------------------------------

/// A piece of narration: text with a little markup, already checked.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "t", rename_all = "camelCase")]
pub enum Inline {
    /// Plain text.
    Text { s: String },
    /// `*emphasis*`
    Em { s: String },
    /// `` `code` ``
    Code { s: String },
    /// `{node A}`: the page highlights the node.
    Node { node: usize, s: String },
    /// `{field A master_repl_offset}`: the page highlights the field in the inspector.
    Field { node: usize, field: String },
    /// `{view buffer}`: the page opens the view.
    View { view: String },
    /// A blank line in the text.
    Para,
}

/// A text in every language it was written in (English always).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Text(pub BTreeMap<String, Vec<Inline>>);

impl Text {
    /// The text in `lang`, else in English.
    pub fn get(&self, lang: &str) -> &[Inline] {
        self.0.get(lang).or_else(|| self.0.get(BASE_LANGUAGE)).map_or(&[], Vec::as_slice)
    }

    /// The text in `lang` (else English) as plain text, markup removed.
    pub fn plain(&self, lang: &str) -> String {
        self.get(lang)
            .iter()
            .map(|i| match i {
                Inline::Text { s } | Inline::Em { s } | Inline::Code { s } | Inline::Node { s, .. } => s.clone(),
                Inline::Field { field, .. } => field.clone(),
                Inline::View { view } => view.clone(),
                Inline::Para => "\n\n".into(),
            })
            .collect()
    }
}

/// An action line, parsed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Line {
    /// As written.
    pub text: String,
    #[serde(skip)]
    pub step: action::Step,
    pub line: Option<usize>,
}

/// A condition, parsed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cond {
    /// As written.
    pub text: String,
    #[serde(skip)]
    pub expr: Expr,
    pub line: Option<usize>,
}

/// The lab a scenario starts from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Lab {
    /// Each node's master (None: a master), A first.
    pub masters: Vec<Option<usize>>,
    /// Every link's latency (µs) and bandwidth (bytes/s), as the page's lab starts by default.
    pub links: (Micros, u64),
    pub seed: u64,
    /// CONFIG SET lines typed on each node before the replicas are pointed at their masters.
    pub config: Vec<(usize, String)>,
    pub setup: Vec<Line>,
    pub ready: Option<Cond>,
    pub timeout: Micros,
}

/// A question asked before its step runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Question {
    pub text: Text,
    #[serde(flatten)]
    pub kind: QuestionKind,
    pub explain: Text,
}

/// Multiple choice, each choice true when its condition holds after the step; or a number
/// computed from the run.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum QuestionKind {
    Choice {
        choices: Vec<Choice>,
        /// The right choice, 0-based.
        answer: usize,
    },
    Number {
        expr: Cond,
        answer: f64,
        tolerance: f64,
        unit: Option<Text>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Choice {
    pub text: Text,
    pub when: Cond,
}

/// A goal the learner reaches with their own commands.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Challenge {
    pub goal: Text,
    pub hint: Text,
    pub when: Cond,
    /// What the lab does to test the learner's setup (it runs when they ask for the trial).
    pub trial: Vec<Line>,
    pub timeout: Micros,
    /// A reference solution, replayed by the tests.
    pub solution: Vec<Line>,
}

/// One step of a scenario.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    pub text: Text,
    pub actions: Vec<Line>,
    pub until: Option<Cond>,
    pub timeout: Micros,
    pub checks: Vec<Cond>,
    pub question: Option<Question>,
    pub challenge: Option<Challenge>,
}

/// A checked scenario, ready to run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scenario {
    pub id: String,
    pub title: Text,
    pub summary: Text,
    pub lab: Lab,
    pub steps: Vec<Step>,
}

impl Scenario {
    /// Every text of the scenario, for checking that each language is complete.
    pub fn texts(&self) -> Vec<&Text> {
        let mut out = vec![&self.title, &self.summary];
        for s in &self.steps {
            out.push(&s.text);
            if let Some(q) = &s.question {
                out.extend([&q.text, &q.explain]);
                match &q.kind {
                    QuestionKind::Choice { choices, .. } => out.extend(choices.iter().map(|c| &c.text)),
                    QuestionKind::Number { unit, .. } => out.extend(unit.iter()),
                }
            }
            if let Some(c) = &s.challenge {
                out.extend([&c.goal, &c.hint]);
            }
        }
        out
    }
}

// ----- loading -----------------------------------------------------------------------------

/// Collects problems while a file is checked.
struct Checker<'a> {
    file: &'a str,
    source: &'a str,
    errors: Vec<ScenarioError>,
    census: Census,
}

impl Checker<'_> {
    fn line_of(&self, span: std::ops::Range<usize>) -> Option<usize> {
        self.source.get(..span.start).map(|s| s.bytes().filter(|b| *b == b'\n').count() + 1)
    }

    fn error(&mut self, line: Option<usize>, place: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ScenarioError { file: self.file.into(), line, place: place.into(), message: message.into() });
    }

    fn text(&mut self, raw: &RawText, place: &str) -> Text {
        if !raw.contains_key(BASE_LANGUAGE) {
            self.error(
                None,
                place,
                format!("no '{BASE_LANGUAGE}' text (every text has one; other languages fall back to it)"),
            );
        }
        let mut out = BTreeMap::new();
        for (lang, s) in raw {
            match markup(s, self.census.nodes) {
                Ok(inl) => {
                    out.insert(lang.clone(), inl);
                }
                Err(e) => self.error(None, format!("{place}.{lang}"), e),
            }
        }
        Text(out)
    }

    fn cond(&mut self, raw: &Spanned<String>, place: &str) -> Option<Cond> {
        let line = self.line_of(raw.span());
        let names = Names { nodes: self.census.nodes, command_known: &crate::node::commands::is_command };
        match cond::parse(raw.get_ref(), &names) {
            Ok(expr) => Some(Cond { text: raw.get_ref().clone(), expr, line }),
            Err(e) => {
                self.error(line, place, format!("{e} in '{}'", raw.get_ref()));
                None
            }
        }
    }

    fn lines(&mut self, raw: &[Spanned<String>], place: &str) -> Vec<Line> {
        let mut out = Vec::new();
        for (k, r) in raw.iter().enumerate() {
            let line = self.line_of(r.span());
            match action::parse(r.get_ref(), &mut self.census) {
                Ok(step) => out.push(Line { text: r.get_ref().clone(), step, line }),
                Err(e) => self.error(line, format!("{place}[{}]", k + 1), e),
            }
        }
        out
    }

    fn timeout(&mut self, raw: &Option<Spanned<String>>, place: &str) -> Micros {
        let Some(r) = raw else { return DEFAULT_TIMEOUT };
        match action::duration(r.get_ref()) {
            Ok(t) if t > 0 => t,
            Ok(_) => {
                let line = self.line_of(r.span());
                self.error(line, place, "a timeout must be longer than 0");
                DEFAULT_TIMEOUT
            }
            Err(e) => {
                let line = self.line_of(r.span());
                self.error(line, place, e);
                DEFAULT_TIMEOUT
            }
        }
    }
}

/// Loads and checks a scenario file: every problem in it, or the scenario.
pub fn load(id: &str, source: &str) -> Result<Scenario, Vec<ScenarioError>> {
    let file = format!("{id}.toml");
    let raw = match file::read(source) {
        Ok(r) => r,
        Err(e) => {
            let line =
                e.span.and_then(|s| source.get(..s.start)).map(|s| s.bytes().filter(|b| *b == b'\n').count() + 1);
            return Err(vec![ScenarioError { file, line, place: "file".into(), message: e.message }]);
        }
    };
    let mut c = Checker { file: &file, source, errors: Vec::new(), census: Census::new(0) };
    let masters = match &raw.lab.topology {
        None => vec![None, Some(0), Some(0)],
        Some(t) => match topology(t.get_ref()) {
            Ok(m) => m,
            Err(e) => {
                let line = c.line_of(t.span());
                c.error(line, "lab.topology", e);
                vec![None]
            }
        },
    };
    c.census.nodes = masters.len();
    let title = c.text(&raw.title, "title");
    let summary = c.text(&raw.summary, "summary");
    let mut config = Vec::new();
    for (k, r) in raw.lab.config.iter().enumerate() {
        match config_line(r.get_ref(), masters.len()) {
            Ok(lines) => config.extend(lines),
            Err(e) => {
                let line = c.line_of(r.span());
                c.error(line, format!("lab.config[{}]", k + 1), e);
            }
        }
    }
    let mut links = crate::sim::session::WATCHABLE_LINKS;
    if let Some(r) = &raw.lab.links {
        match action::parse(&format!("links {}", r.get_ref()), &mut c.census) {
            Ok(action::Step::Act(crate::sim::session::Action::Links(l, b))) => links = (l, b),
            Ok(_) => {}
            Err(e) => {
                let line = c.line_of(r.span());
                c.error(line, "lab.links", e);
            }
        }
    }
    let setup = c.lines(&raw.lab.setup, "lab.setup");
    let ready = raw.lab.ready.as_ref().and_then(|r| c.cond(r, "lab.ready"));
    let timeout = c.timeout(&raw.lab.timeout, "lab.timeout");
    let lab = Lab { masters, links, seed: raw.lab.seed.unwrap_or(1), config, setup, ready, timeout };
    if raw.steps.is_empty() {
        c.error(None, "file", "a scenario needs at least one [[step]]");
    }
    let mut steps = Vec::new();
    for (k, s) in raw.steps.iter().enumerate() {
        let place = format!("step {}", k + 1);
        let text = c.text(&s.text, &format!("{place} text"));
        let actions = c.lines(&s.actions, &format!("{place} do"));
        let until = s.until.as_ref().and_then(|u| c.cond(u, &format!("{place} until")));
        let timeout = c.timeout(&s.timeout, &format!("{place} timeout"));
        let checks =
            s.check.iter().enumerate().filter_map(|(j, r)| c.cond(r, &format!("{place} check[{}]", j + 1))).collect();
        let question = s.question.as_ref().and_then(|q| question(&mut c, q, &place));
        let challenge = s.challenge.as_ref().map(|ch| {
            let p = format!("{place} challenge");
            // The solution and then the trial act on the lab as the step left it.
            let solution = c.lines(&ch.solution, &format!("{p} solution"));
            let trial = c.lines(&ch.trial, &format!("{p} trial"));
            let when = c.cond(&ch.when, &format!("{p} when"));
            if ch.solution.is_empty() {
                c.error(None, format!("{p} solution"), "a challenge needs a reference solution");
            }
            Challenge {
                goal: c.text(&ch.goal, &format!("{p} goal")),
                hint: c.text(&ch.hint, &format!("{p} hint")),
                when: when.unwrap_or_else(placeholder_cond),
                trial,
                timeout: c.timeout(&ch.timeout, &format!("{p} timeout")),
                solution,
            }
        });
        steps.push(Step { text, actions, until, timeout, checks, question, challenge });
    }
    if c.errors.is_empty() {
        Ok(Scenario { id: id.to_string(), title, summary, lab, steps })
    } else {
        Err(c.errors)
    }
}

fn placeholder_cond() -> Cond {
    Cond { text: String::new(), expr: Expr::Num(0.0), line: None }
}

fn question(c: &mut Checker, q: &RawQuestion, place: &str) -> Option<Question> {
    let p = format!("{place} question");
    let text = c.text(&q.text, &p);
    let explain = c.text(&q.explain, &format!("{p} explain"));
    let answer = *q.answer.get_ref();
    let answer_line = c.line_of(q.answer.span());
    if !answer.is_finite() || !q.tolerance.is_finite() {
        c.error(answer_line, format!("{p} answer"), "the answer and its tolerance are finite numbers");
        return None;
    }
    let kind = match (&q.number, q.choices.is_empty()) {
        (Some(_), false) => {
            c.error(answer_line, &p, "a question has either choices or a number, not both");
            return None;
        }
        (None, true) => {
            c.error(answer_line, &p, "a question needs choices (with 'when') or a 'number' to compute");
            return None;
        }
        (Some(n), true) => QuestionKind::Number {
            expr: c.cond(n, &format!("{p} number"))?,
            answer,
            tolerance: q.tolerance.abs(),
            unit: q.unit.as_ref().map(|u| c.text(u, &format!("{p} unit"))),
        },
        (None, false) => {
            let choices: Vec<Choice> = q
                .choices
                .iter()
                .enumerate()
                .filter_map(|(k, ch)| {
                    let text = c.text(&ch.text, &format!("{p} choice {}", k + 1));
                    c.cond(&ch.when, &format!("{p} choice {} when", k + 1)).map(|when| Choice { text, when })
                })
                .collect();
            if answer.fract() != 0.0 || answer < 1.0 || answer as usize > q.choices.len() {
                c.error(
                    answer_line,
                    format!("{p} answer"),
                    format!("the answer is a choice's number, 1 to {}", q.choices.len()),
                );
                return None;
            }
            QuestionKind::Choice { choices, answer: answer as usize - 1 }
        }
    };
    Some(Question { text, kind, explain })
}

/// `A;B>A;C>B`: the page's topology attribute (names in order from A; `X>Y`: X replicates Y).
pub fn topology(text: &str) -> Result<Vec<Option<usize>>, String> {
    let mut masters: Vec<Option<usize>> = Vec::new();
    let mut highest = 0;
    let mut seen: BTreeMap<usize, Option<usize>> = BTreeMap::new();
    for item in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, master) = match item.split_once('>') {
            Some((n, m)) => (n.trim(), Some(m.trim())),
            None => (item, None),
        };
        let max = crate::sim::session::MAX_NODES;
        let idx = |n: &str| cond::node_index(n, max).map_err(|_| format!("'{item}': nodes are named A to H"));
        let i = idx(name)?;
        let m = master.map(idx).transpose()?;
        if m == Some(i) {
            return Err(format!("'{item}': a node cannot replicate itself"));
        }
        if seen.insert(i, m).is_some_and(|prev| prev != m) {
            return Err(format!("'{item}': {name} is given two masters"));
        }
        highest = highest.max(i).max(m.unwrap_or(0));
    }
    if seen.is_empty() {
        return Err("the topology is empty".into());
    }
    for i in 0..=highest {
        masters.push(seen.get(&i).copied().flatten());
    }
    Ok(masters)
}

/// `A: repl-backlog-size 1mb` or `*: repl-diskless-sync no`: CONFIG SET lines.
fn config_line(text: &str, nodes: usize) -> Result<Vec<(usize, String)>, String> {
    let Some((target, rest)) = text.split_once(':') else {
        return Err(format!("'{text}': write 'A: parameter value' or '*: parameter value'"));
    };
    let mut words = rest.trim().splitn(2, char::is_whitespace);
    let (Some(param), Some(value)) = (words.next(), words.next()) else {
        return Err(format!("'{text}': a parameter and its value"));
    };
    if !crate::node::commands::config::is_parameter(param) {
        return Err(format!("'{text}': unknown configuration parameter '{param}'"));
    }
    let value = value.trim();
    let arg = if value.contains(char::is_whitespace) {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        value.to_string()
    };
    let line = format!("CONFIG SET {param} {arg}");
    let target = target.trim();
    if target == "*" {
        Ok((0..nodes).map(|i| (i, line.clone())).collect())
    } else {
        Ok(vec![(cond::node_index(target, nodes)?, line)])
    }
}

/// Parses narration markup: `*em*`, `` `code` ``, `{node A}`, `{field A name}`, `{view name}`;
/// a blank line starts a paragraph; a backslash makes the next character plain.
pub fn markup(text: &str, nodes: usize) -> Result<Vec<Inline>, String> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let flush = |plain: &mut String, out: &mut Vec<Inline>| {
        if !plain.is_empty() {
            out.push(Inline::Text { s: std::mem::take(plain) });
        }
    };
    let text = text.trim();
    let mut chars = text.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        match ch {
            '\\' => {
                if let Some((_, next)) = chars.next() {
                    plain.push(next);
                }
            }
            '\n' => {
                // Lines in the file are wrapped text; a blank line is a new paragraph.
                let mut blank = false;
                while let Some((_, c)) = chars.peek() {
                    if *c == '\n' {
                        blank = true;
                    } else if !c.is_whitespace() {
                        break;
                    }
                    chars.next();
                }
                if blank {
                    flush(&mut plain, &mut out);
                    out.push(Inline::Para);
                } else {
                    plain.push(' ');
                }
            }
            '*' | '`' => {
                // The closing mark is the next one not escaped (`*a \* b*` is one emphasis).
                let rest = &text[i + 1..];
                let close = rest.char_indices().find(|&(k, c)| c == ch && !rest[..k].ends_with('\\')).map(|(k, _)| k);
                let Some(len) = close else {
                    return Err(format!("'{ch}' opened at character {} is not closed", text[..i].chars().count() + 1));
                };
                let s = text[i + 1..i + 1 + len].replace(&format!("\\{ch}"), &ch.to_string());
                if s.is_empty() || s.contains('\n') && ch == '`' {
                    return Err(format!("empty or broken '{ch}…{ch}' at character {}", text[..i].chars().count() + 1));
                }
                flush(&mut plain, &mut out);
                out.push(if ch == '*' { Inline::Em { s } } else { Inline::Code { s } });
                for _ in 0..s_len_chars(&text[i + 1..i + 2 + len]) {
                    chars.next();
                }
            }
            '{' => {
                let Some(len) = text[i + 1..].find('}') else {
                    return Err(format!("'{{' at character {} is not closed", text[..i].chars().count() + 1));
                };
                let inner = &text[i + 1..i + 1 + len];
                flush(&mut plain, &mut out);
                out.push(reference(inner, nodes)?);
                for _ in 0..s_len_chars(&text[i + 1..i + 2 + len]) {
                    chars.next();
                }
            }
            _ => plain.push(ch),
        }
    }
    flush(&mut plain, &mut out);
    Ok(out)
}

fn s_len_chars(s: &str) -> usize {
    s.chars().count()
}

fn reference(inner: &str, nodes: usize) -> Result<Inline, String> {
    let words: Vec<&str> = inner.split_whitespace().collect();
    match words.as_slice() {
        ["node", n] => Ok(Inline::Node { node: cond::node_index(n, nodes)?, s: (*n).to_string() }),
        ["field", n, f] => {
            let node = cond::node_index(n, nodes)?;
            let names = Names { nodes, command_known: &|_: &str| true };
            cond::parse(&format!("{n}.{f}"), &names).map_err(|e| e.message)?;
            Ok(Inline::Field { node, field: (*f).to_string() })
        }
        ["view", v] if VIEWS.contains(v) => Ok(Inline::View { view: (*v).to_string() }),
        ["view", v] => Err(format!("unknown view '{v}' (views: {})", VIEWS.join(", "))),
        _ => Err(format!("'{{{inner}}}': write {{node A}}, {{field A name}} or {{view name}}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_inline_pieces() {
        let m =
            markup("Watch {node A}: *its* `PSYNC`\nreply.\n\nThen {field B master_link_status} in {view buffer}.", 2)
                .unwrap();
        assert_eq!(
            m,
            vec![
                Inline::Text { s: "Watch ".into() },
                Inline::Node { node: 0, s: "A".into() },
                Inline::Text { s: ": ".into() },
                Inline::Em { s: "its".into() },
                Inline::Text { s: " ".into() },
                Inline::Code { s: "PSYNC".into() },
                Inline::Text { s: " reply.".into() },
                Inline::Para,
                Inline::Text { s: "Then ".into() },
                Inline::Field { node: 1, field: "master_link_status".into() },
                Inline::Text { s: " in ".into() },
                Inline::View { view: "buffer".into() },
                Inline::Text { s: ".".into() },
            ]
        );
        assert_eq!(markup("a \\*star\\*", 1).unwrap(), vec![Inline::Text { s: "a *star*".into() }]);
        assert_eq!(markup("*a \\* b*", 1).unwrap(), vec![Inline::Em { s: "a * b".into() }]);
        assert!(markup("*open", 1).unwrap_err().contains("not closed"));
        assert!(markup("{node C}", 2).unwrap_err().contains("unknown node 'C'"));
        assert!(markup("{view graph}", 2).unwrap_err().starts_with("unknown view 'graph'"));
        assert!(markup("{field A master_ofset}", 2).unwrap_err().contains("unknown INFO field"));
    }

    #[test]
    fn topologies_and_config_lines() {
        assert_eq!(topology("A;B>A;C>B"), Ok(vec![None, Some(0), Some(1)]));
        assert_eq!(topology("C>A"), Ok(vec![None, None, Some(0)]));
        assert!(topology("A>A").is_err());
        assert!(topology("Z").is_err());
        assert_eq!(
            config_line("*: repl-timeout 10", 2),
            Ok(vec![(0, "CONFIG SET repl-timeout 10".into()), (1, "CONFIG SET repl-timeout 10".into())])
        );
        assert_eq!(
            config_line("B: client-output-buffer-limit replica 1mb 512kb 5", 2),
            Ok(vec![(1, "CONFIG SET client-output-buffer-limit \"replica 1mb 512kb 5\"".into())])
        );
        assert!(config_line("C: repl-timeout 10", 2).is_err());
        assert_eq!(
            config_line("A: repl-backlog-sise 1mb", 2),
            Err("'A: repl-backlog-sise 1mb': unknown configuration parameter 'repl-backlog-sise'".into())
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_place_and_line() {
        let src = r#"
title = { en = "T" }
summary = { zh-CN = "没有英文" }
[lab]
topology = "A;B>A"
setup = ["A: SET k v", "C: GET k"]

[[step]]
text = { en = "go" }
do = ["wait 2"]
until = "B.master_link_status == up"
check = ["reply(B, 'GET k') == 'v'"]
[step.question]
text = { en = "?" }
choices = [{ text = { en = "yes" }, when = "up(A)" }]
answer = 2
explain = { en = "because" }
"#;
        let errs = load("bad", src).unwrap_err();
        let lines: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            vec![
                "bad.toml: summary: no 'en' text (every text has one; other languages fall back to it)",
                "bad.toml:6: lab.setup[2]: unknown node 'C': the lab's nodes are A to B",
                "bad.toml:10: step 1 do[1]: bad duration '2': give a unit (250ms, 2s, 1min)",
                "bad.toml:11: step 1 until: 'up' is neither a node's field (A.field), a function, nor a quoted string (at character 25) in 'B.master_link_status == up'",
                "bad.toml:16: step 1 question answer: the answer is a choice's number, 1 to 1",
            ]
        );
        let errs =
            load("typo", "title = { en = \"T\" }\nsummary = { en = \"S\" }\n[lab]\n[[step]]\ntxt = { en = \"x\" }\n")
                .unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, Some(5));
        assert!(errs[0].message.contains("unknown field `txt`"), "{}", errs[0].message);
        let nan = "title = { en = \"T\" }\nsummary = { en = \"S\" }\n[lab]\n[[step]]\ntext.en = \"x\"\n\
                   [step.question]\ntext.en = \"q\"\nnumber = \"1\"\nanswer = nan\nexplain.en = \"e\"\n";
        let errs = load("nan", nan).unwrap_err();
        assert_eq!(
            errs[0].to_string(),
            "nan.toml:9: step 1 question answer: the answer and its tolerance are finite numbers"
        );
    }
}
