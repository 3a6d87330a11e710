//! The runner: a scenario's lab and steps, over a recorded session.
//!
//! The runner is a small state machine that the caller drives with [`Runner::poll`] as virtual
//! time goes on, so the page can let a step's `wait 30s` play out at the speed the learner
//! watches, and the tests ([`Runner::finish`]) can let it run flat out: same code, same run.
//! Every action it takes is a recorded session action, as if the learner had done it; going
//! back to a step is time travel to the moment before that step's first action, so it is exact.
//!
//! After a step, its checks and its question's answer key are evaluated on the world as it is
//! (and on the trace since the step began); [`check`] runs a whole scenario headless, proves
//! every challenge (not met without its solution, met with it) and reports each item.

use serde::Serialize;

use super::action::Step as LineStep;
use super::cond::{eval, Scope, Value};
use super::{action, Cond, Line, QuestionKind, Scenario};
use crate::node::Micros;
use crate::sim::session::{Action, Session};
use crate::sim::LinkParams;

/// How often (virtual time) an `until` is looked at while nothing else is due.
pub const POLL_EVERY: Micros = 100_000;

/// What a task is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "step", rename_all = "camelCase")]
pub enum Task {
    /// Building the starting lab.
    Setup,
    /// A step's actions and its `until`.
    Step(usize),
    /// A challenge's trial, then its goal.
    Trial(usize),
    /// A challenge's reference solution.
    Solution(usize),
}

/// A task under way.
#[derive(Clone, Debug)]
struct Running {
    task: Task,
    lines: Vec<Line>,
    pos: usize,
    /// When the next line is due.
    due: Micros,
    until: Option<Cond>,
    timeout: Micros,
    deadline: Option<Micros>,
    /// The trace since then is the task's.
    since: Micros,
}

/// A condition's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckResult {
    pub text: String,
    pub line: Option<usize>,
    pub holds: bool,
    /// The values it was decided on (`A.master_repl_offset = 1234, ...`).
    pub values: String,
}

/// A question's answer key against the run.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum AnswerResult {
    /// Which choices hold; the key; whether the key is the one and only choice that holds.
    Choice { holds: Vec<bool>, key: usize, agrees: bool },
    /// The number the run gives (None when it has none); the key; whether they agree.
    Number { value: Option<f64>, key: f64, agrees: bool },
}

impl AnswerResult {
    pub fn agrees(&self) -> bool {
        match self {
            AnswerResult::Choice { agrees, .. } | AnswerResult::Number { agrees, .. } => *agrees,
        }
    }
}

/// What a finished task found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub task: Task,
    /// Virtual µs when it ended.
    pub time: Micros,
    pub checks: Vec<CheckResult>,
    pub answer: Option<AnswerResult>,
    /// For a trial: whether the challenge's goal was reached.
    pub solved: Option<bool>,
}

/// Where a poll left the task.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum Progress {
    /// No task.
    Idle,
    /// Lines still to come or an `until` not yet met.
    Running {
        task: Task,
    },
    Done {
        report: Report,
    },
    Failed {
        task: Task,
        message: String,
    },
}

/// A scenario being run over a session that the caller keeps (the page's lab has one; the
/// tests make one with [`Runner::start`]).
#[derive(Clone, Debug)]
pub struct Runner {
    scenario: Scenario,
    /// The virtual time each step began at, before its first action.
    starts: Vec<Micros>,
    running: Option<Running>,
    /// Console lines the runner typed, with their replies, not yet taken by the page.
    typed: Vec<Typed>,
}

/// A console line the runner typed on a node, and what it answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Typed {
    pub node: usize,
    pub line: String,
    pub reply: String,
}

impl Runner {
    /// A new session with the scenario's starting lab built in it (nodes, links, config,
    /// replicas, setup, then `ready`), headless, and the runner for its steps.
    pub fn start(scenario: Scenario) -> Result<(Runner, Session), String> {
        let mut session = Session::new(scenario.lab.seed);
        let mut r = Runner { starts: Vec::new(), running: None, typed: Vec::new(), scenario };
        let lab = r.scenario.lab.clone();
        let mut lines: Vec<Line> = Vec::new();
        let synth = |text: String, step: LineStep| Line { text, step, line: None };
        let (latency, bandwidth) = lab.links;
        lines.push(synth("links".into(), LineStep::Act(Action::Links(latency, bandwidth))));
        for _ in &lab.masters {
            lines.push(synth("add-node".into(), LineStep::Act(Action::AddNode)));
        }
        for (node, cmd) in &lab.config {
            lines.push(synth(cmd.clone(), LineStep::Act(Action::Console(*node, cmd.clone()))));
        }
        for (i, m) in lab.masters.iter().enumerate() {
            if let Some(m) = m {
                let cmd = format!("REPLICAOF {}", action::address(*m));
                lines.push(synth(cmd.clone(), LineStep::Act(Action::Console(i, cmd))));
            }
        }
        lines.extend(lab.setup.iter().cloned());
        r.start_task(&session, Task::Setup, lines, lab.ready.clone(), lab.timeout);
        r.finish(&mut session)?;
        Ok((r, session))
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The task under way, if any.
    pub fn task(&self) -> Option<Task> {
        self.running.as_ref().map(|r| r.task)
    }

    /// When step `i` began (before its first action), if it has been run.
    pub fn start_of(&self, i: usize) -> Option<Micros> {
        self.starts.get(i).copied()
    }

    /// Starts step `i`: its actions, then its `until`. A step run before is run again from the
    /// moment it began (time travel, so the run's recorded future is dropped when it acts).
    pub fn begin_step(&mut self, session: &mut Session, i: usize) -> Result<(), String> {
        let Some(step) = self.scenario.steps.get(i) else {
            return Err(format!("no step {}", i + 1));
        };
        let (lines, until, timeout) = (step.actions.clone(), step.until.clone(), step.timeout);
        if let Some(&t) = self.starts.get(i) {
            session.seek(t);
        }
        // From here the step goes its own way: what was recorded after this moment is dropped.
        session.drop_future();
        self.starts.truncate(i);
        // One microsecond past the step's start, so that seeking to its start is the moment
        // before its first action (a seek includes the actions at its very time).
        let start = session.world().now();
        self.starts.push(start);
        session.run_until(start + 1);
        self.start_task(session, Task::Step(i), lines, until, timeout);
        Ok(())
    }

    /// The console lines typed since the last call (the page prints them in the consoles, so
    /// the learner sees every command a chapter gives).
    pub fn take_typed(&mut self) -> Vec<Typed> {
        std::mem::take(&mut self.typed)
    }

    /// Drops the task under way (the learner moved in time meanwhile).
    pub fn cancel(&mut self) {
        self.running = None;
    }

    /// Goes back to the moment step `i` began, before its actions (nothing is run).
    pub fn back_to(&mut self, session: &mut Session, i: usize) -> Result<(), String> {
        let t = self.starts.get(i).copied().ok_or_else(|| format!("step {} has not been run", i + 1))?;
        self.running = None;
        session.seek(t);
        // The step will run again from here: what was recorded after this moment (the step's
        // first run) must not replay if the learner plays or scrubs forward before that.
        session.drop_future();
        self.starts.truncate(i);
        Ok(())
    }

    /// Runs challenge `i`'s trial (after the learner's own commands), then waits for its goal.
    pub fn begin_trial(&mut self, session: &Session, i: usize) -> Result<(), String> {
        let ch = self.challenge(i)?;
        let (lines, when, timeout) = (ch.trial.clone(), ch.when.clone(), ch.timeout);
        self.start_task(session, Task::Trial(i), lines, Some(when), timeout);
        Ok(())
    }

    /// Applies challenge `i`'s reference solution.
    pub fn begin_solution(&mut self, session: &Session, i: usize) -> Result<(), String> {
        let lines = self.challenge(i)?.solution.clone();
        self.start_task(session, Task::Solution(i), lines, None, super::DEFAULT_TIMEOUT);
        Ok(())
    }

    /// Whether challenge `i`'s goal holds now (the trace since the step began counts).
    pub fn goal_met(&self, session: &Session, i: usize) -> Result<bool, String> {
        let ch = self.challenge(i)?;
        let since = self.starts.get(i).copied().unwrap_or(0);
        Ok(eval(&ch.when.expr, &Scope { world: session.world(), since }).holds())
    }

    fn challenge(&self, i: usize) -> Result<&super::Challenge, String> {
        self.scenario
            .steps
            .get(i)
            .and_then(|s| s.challenge.as_ref())
            .ok_or_else(|| format!("step {} has no challenge", i + 1))
    }

    fn start_task(&mut self, session: &Session, task: Task, lines: Vec<Line>, until: Option<Cond>, timeout: Micros) {
        let now = session.world().now();
        self.running = Some(Running { task, lines, pos: 0, due: now, until, timeout, deadline: None, since: now });
    }

    /// Takes the lines that are due and looks at the `until`; call it again after virtual time
    /// moved (at [`Runner::wake_at`] at the latest).
    pub fn poll(&mut self, session: &mut Session) -> Progress {
        let Some(mut run) = self.running.take() else {
            return Progress::Idle;
        };
        let now = session.world().now();
        while run.pos < run.lines.len() && now >= run.due {
            let line = run.lines[run.pos].clone();
            run.pos += 1;
            let action = match line.step {
                LineStep::Wait(d) => {
                    run.due = now + d;
                    continue;
                }
                LineStep::Act(a) => a,
                LineStep::Link { a, b, latency, jitter, bandwidth } => {
                    let p: LinkParams = session.world().params_between(a, b);
                    Action::Link(
                        a,
                        b,
                        latency.unwrap_or(p.latency),
                        jitter.unwrap_or(p.jitter),
                        bandwidth.unwrap_or(p.bandwidth),
                    )
                }
            };
            let console = match &action {
                Action::Console(node, text) => Some((*node, text.clone())),
                _ => None,
            };
            match session.act(action) {
                Ok(reply) => {
                    if let Some((node, line)) = console {
                        self.typed.push(Typed { node, line, reply });
                    }
                }
                Err(e) => return Progress::Failed { task: run.task, message: format!("'{}': {e}", line.text) },
            }
        }
        if run.pos < run.lines.len() || now < run.due {
            let task = run.task;
            self.running = Some(run);
            return Progress::Running { task };
        }
        let deadline = *run.deadline.get_or_insert(now + run.timeout);
        let scope = Scope { world: session.world(), since: run.since };
        let met = run.until.as_ref().is_none_or(|c| eval(&c.expr, &scope).holds());
        if !met && matches!(run.task, Task::Trial(_)) && now >= deadline {
            // A trial that does not reach its goal is an answer (not yet), not a failure.
            return Progress::Done { report: self.report(session, &run, Some(false)) };
        }
        if met {
            let solved = matches!(run.task, Task::Trial(_)).then_some(true);
            return Progress::Done { report: self.report(session, &run, solved) };
        }
        if now >= deadline {
            let until = run.until.as_ref().map_or(String::new(), |c| c.text.clone());
            let values = run.until.as_ref().map_or(String::new(), |c| values(c, &scope));
            return Progress::Failed {
                task: run.task,
                message: format!(
                    "'{until}' did not hold within {} s of virtual time ({values})",
                    run.timeout as f64 / 1e6
                ),
            };
        }
        let task = run.task;
        self.running = Some(run);
        Progress::Running { task }
    }

    /// The latest virtual time the caller should poll again at.
    pub fn wake_at(&self, session: &Session) -> Option<Micros> {
        let run = self.running.as_ref()?;
        let now = session.world().now();
        Some(if run.pos < run.lines.len() || now < run.due { run.due.max(now) } else { now + POLL_EVERY })
    }

    /// Runs the task under way to its end, flat out.
    pub fn finish(&mut self, session: &mut Session) -> Result<Report, String> {
        loop {
            match self.poll(session) {
                Progress::Idle => return Err("nothing is running".into()),
                Progress::Done { report } => return Ok(report),
                Progress::Failed { task, message } => return Err(format!("{}: {message}", task_name(task))),
                Progress::Running { .. } => {
                    let t = self.wake_at(session).unwrap_or_else(|| session.world().now() + POLL_EVERY);
                    session.run_until(t);
                }
            }
        }
    }

    fn report(&self, session: &Session, run: &Running, solved: Option<bool>) -> Report {
        let scope = Scope { world: session.world(), since: run.since };
        let verdict = |c: &Cond| CheckResult {
            text: c.text.clone(),
            line: c.line,
            holds: eval(&c.expr, &scope).holds(),
            values: values(c, &scope),
        };
        let (checks, answer) = match run.task {
            Task::Step(i) => {
                let step = &self.scenario.steps[i];
                let answer = step.question.as_ref().map(|q| match &q.kind {
                    QuestionKind::Choice { choices, answer } => {
                        let holds: Vec<bool> = choices.iter().map(|c| eval(&c.when.expr, &scope).holds()).collect();
                        let agrees = holds.iter().enumerate().all(|(k, h)| *h == (k == *answer));
                        AnswerResult::Choice { holds, key: *answer, agrees }
                    }
                    QuestionKind::Number { expr, answer, tolerance, .. } => {
                        let value = match eval(&expr.expr, &scope) {
                            Value::Num(n) => Some(n),
                            Value::Str(s) => s.trim().parse().ok(),
                            _ => None,
                        };
                        let agrees = value.is_some_and(|v| (v - answer).abs() <= *tolerance);
                        AnswerResult::Number { value, key: *answer, agrees }
                    }
                });
                (step.checks.iter().map(verdict).collect(), answer)
            }
            _ => (Vec::new(), None),
        };
        Report { task: run.task, time: session.world().now(), checks, answer, solved }
    }
}

fn task_name(t: Task) -> String {
    match t {
        Task::Setup => "the lab's setup".into(),
        Task::Step(i) => format!("step {}", i + 1),
        Task::Trial(i) => format!("step {} trial", i + 1),
        Task::Solution(i) => format!("step {} solution", i + 1),
    }
}

/// The values of a condition's operands, for a report: `A.master_repl_offset = 1234, ...`.
fn values(c: &Cond, scope: &Scope) -> String {
    let mut out = Vec::new();
    super::cond::operands(&c.expr, &mut |text, e| out.push(format!("{text} = {}", eval(e, scope))));
    out.join(", ")
}

/// A trial's verdict against the one expected (not met without the solution, met with it).
fn proof(place: String, trial: Result<Report, String>, want: bool) -> Item {
    match trial {
        Ok(rep) => {
            let ok = rep.solved == Some(want);
            let detail = match (want, ok) {
                (false, true) => "goal not met, as it should",
                (false, false) => "the goal is met with nothing done: no challenge",
                (true, true) => "goal met",
                (true, false) => "the reference solution does not reach the goal",
            };
            Item { place, line: None, ok, detail: detail.into() }
        }
        Err(e) => Item { place, line: None, ok: false, detail: e },
    }
}

/// One item of a headless run, as `repl-lab scenario check` prints it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Item {
    /// `step 3 check[1]`, `step 3 answer`, `step 5 challenge without its solution`, ...
    pub place: String,
    pub line: Option<usize>,
    pub ok: bool,
    /// What was checked and what the run gave.
    pub detail: String,
}

/// Runs a scenario headless from its lab to its last step: every check and answer key, and
/// every challenge proven (its goal not met by the trial alone, met after the solution).
pub fn check(scenario: &Scenario) -> Vec<Item> {
    let mut items = Vec::new();
    let fail = |place: String, detail: String| Item { place, line: None, ok: false, detail };
    let (mut r, mut session) = match Runner::start(scenario.clone()) {
        Ok(started) => started,
        Err(e) => return vec![fail("lab".into(), e)],
    };
    items.push(Item {
        place: "lab".into(),
        line: None,
        ok: true,
        detail: format!("ready at {} ms", session.world().now() / 1000),
    });
    for (i, step) in scenario.steps.iter().enumerate() {
        let place = format!("step {}", i + 1);
        let report = r.begin_step(&mut session, i).and_then(|()| r.finish(&mut session));
        let report = match report {
            Ok(rep) => rep,
            Err(e) => {
                items.push(fail(place, e));
                return items;
            }
        };
        for (k, c) in report.checks.iter().enumerate() {
            items.push(Item {
                place: format!("{place} check[{}]", k + 1),
                line: c.line,
                ok: c.holds,
                detail: format!("{} ({})", c.text, c.values),
            });
        }
        if let (Some(a), Some(q)) = (&report.answer, &step.question) {
            let detail = match (a, &q.kind) {
                (AnswerResult::Choice { holds, key, .. }, QuestionKind::Choice { choices, .. }) => {
                    let held: Vec<String> =
                        holds.iter().enumerate().filter(|(_, h)| **h).map(|(k, _)| (k + 1).to_string()).collect();
                    let whens: Vec<&str> = choices.iter().map(|c| c.when.text.as_str()).collect();
                    format!("key: choice {}; the run makes true: [{}] of {:?}", key + 1, held.join(", "), whens)
                }
                (AnswerResult::Number { value, key, .. }, QuestionKind::Number { expr, tolerance, .. }) => {
                    let v = value.map_or("no number".to_string(), |v| Value::Num(v).to_string());
                    format!("key: {key} ± {tolerance}; the run gives {} = {v}", expr.text)
                }
                _ => String::new(),
            };
            items.push(Item { place: format!("{place} answer"), line: None, ok: a.agrees(), detail });
        }
        if step.challenge.is_some() {
            // Not met by the trial alone (on a copy of the run)...
            let (mut alone, mut copy) = (r.clone(), session.clone());
            let unsolved = alone.begin_trial(&copy, i).and_then(|()| alone.finish(&mut copy));
            items.push(proof(format!("{place} challenge without its solution"), unsolved, false));
            // ...and met after the solution, which the run then goes on from.
            let solved = r
                .begin_solution(&session, i)
                .and_then(|()| r.finish(&mut session))
                .and_then(|_| r.begin_trial(&session, i))
                .and_then(|()| r.finish(&mut session));
            items.push(proof(format!("{place} challenge with its solution"), solved, true));
        }
    }
    items
}
